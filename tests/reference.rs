//! docs/reference.md against the binary's own `--help` texts.
//!
//! For every command, the options its `--help` defines (the lines of its option
//! sections, not its examples) must be exactly the option rows of the reference's
//! tables for that command, with the same short form, and every default the help
//! states in `[default: ...]` must open that row's default cell. Every `--name` the
//! help mentions anywhere must be an option the reference documents for some command.
//! The exit statuses the reference lists must be the ones `miodl --help` and
//! `src/main.rs` name, and the usage-error and output-error statuses are checked by
//! running the binary. No test opens a socket.
//!
//! How the reference marks its tables: a line `<!-- options: CMD [CMD...] -->` just
//! above a table gives the commands it belongs to (`miodl` is the top level), and an
//! option row starts with ``| `--long`` or ``| `-s, --long``. A line
//! `<!-- exit-statuses -->` marks the table of exit statuses, one ``| `N` |`` per row.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Output};

const REFERENCE: &str = include_str!("../docs/reference.md");

/// The commands, by the name the reference's markers use; `miodl` is the top level.
const COMMANDS: &[&str] = &[
    "miodl", "get", "crawl", "serve", "verify", "demo", "timeline",
];

fn miodl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_miodl"))
        .args(args)
        .output()
        .expect("run miodl")
}

/// `miodl [COMMAND] --help`, checked to succeed.
fn help(command: &str) -> String {
    let args: Vec<&str> = if command == "miodl" {
        vec!["--help"]
    } else {
        vec![command, "--help"]
    };
    let out = miodl(&args);
    assert!(out.status.success(), "miodl {args:?} failed: {out:?}");
    let text = String::from_utf8(out.stdout).expect("help is UTF-8");
    assert!(!text.trim().is_empty(), "miodl {args:?} printed nothing");
    text
}

/// One option as a help text or a reference row defines it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct OptionDef {
    short: Option<char>,
    /// The help's `[default: ...]`, whitespace collapsed (help only).
    default: Option<String>,
    /// The row's default cell, backticks dropped, whitespace collapsed (reference only).
    cell: Option<String>,
}

fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The `--name` at the start of `text` (after `--`), if any.
fn long_name(text: &str) -> Option<String> {
    let rest = text.strip_prefix("--")?;
    let name: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    (!name.is_empty() && name.starts_with(|c: char| c.is_ascii_alphabetic())).then_some(name)
}

/// Parses `-s, --long ...` or `--long ...` into (short, long).
fn option_head(text: &str) -> Option<(Option<char>, String)> {
    if let Some(long) = long_name(text) {
        return Some((None, long));
    }
    let mut chars = text.chars();
    let (Some('-'), Some(short)) = (chars.next(), chars.next()) else {
        return None;
    };
    let rest = chars.as_str().strip_prefix(", ")?;
    (short.is_ascii_alphanumeric())
        .then(|| long_name(rest).map(|long| (Some(short), long)))
        .flatten()
}

/// Ends the description of the option being read: notes its `[default: ...]`.
fn close(current: &mut Option<(String, String)>, options: &mut BTreeMap<String, OptionDef>) {
    if let Some((long, description)) = current.take() {
        let description = collapse(&description);
        let default = description.find("[default: ").map(|at| {
            let rest = &description[at + "[default: ".len()..];
            rest[..rest.find(']').expect("a closed [default: ...]")].to_string()
        });
        options.get_mut(&long).expect("option seen").default = default;
    }
}

/// The options a help text defines: indented lines that start with an option, outside
/// the `Example(s):` sections, each with the `[default: ...]` of its description.
fn help_options(text: &str) -> BTreeMap<String, OptionDef> {
    let mut options: BTreeMap<String, OptionDef> = BTreeMap::new();
    let mut in_examples = false;
    // The option whose description is being read, and that description so far.
    let mut current: Option<(String, String)> = None;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.is_empty() {
            close(&mut current, &mut options);
            continue;
        }
        if trimmed.len() == line.len() {
            // A section heading.
            close(&mut current, &mut options);
            in_examples = trimmed.starts_with("Example");
            continue;
        }
        if in_examples {
            continue;
        }
        match option_head(trimmed) {
            Some((short, long)) => {
                close(&mut current, &mut options);
                let previous = options.insert(
                    long.clone(),
                    OptionDef {
                        short,
                        default: None,
                        cell: None,
                    },
                );
                assert!(previous.is_none(), "--{long} is defined twice in one help");
                current = Some((long, trimmed.to_string()));
            }
            None => {
                if let Some((_, description)) = current.as_mut() {
                    description.push(' ');
                    description.push_str(trimmed);
                }
            }
        }
    }
    close(&mut current, &mut options);
    options
}

/// Every `--name` a text mentions, anywhere.
fn mentioned_options(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (at, _) in text.match_indices("--") {
        let before = text[..at].chars().next_back();
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '-') {
            continue;
        }
        if let Some(name) = long_name(&text[at..]) {
            found.insert(name);
        }
    }
    found
}

/// The cells of a table row, without the outer pipes.
fn cells(row: &str) -> Vec<&str> {
    let inner = row.trim().trim_start_matches('|').trim_end_matches('|');
    inner.split(" | ").map(str::trim).collect()
}

/// The reference's option tables: for each command, its options by long name.
fn reference_options() -> BTreeMap<String, BTreeMap<String, OptionDef>> {
    let mut tables: BTreeMap<String, BTreeMap<String, OptionDef>> = BTreeMap::new();
    let mut owners: Option<Vec<String>> = None;
    let mut stray = Vec::new();
    for line in REFERENCE.lines() {
        if let Some(rest) = line.strip_prefix("<!-- options:") {
            let names = rest.trim_end().trim_end_matches("-->");
            let names: Vec<String> = names.split_whitespace().map(str::to_string).collect();
            for name in &names {
                assert!(COMMANDS.contains(&name.as_str()), "unknown command {name}");
                tables.entry(name.clone()).or_default();
            }
            owners = Some(names);
            continue;
        }
        if !line.starts_with('|') {
            // A table ends at its first line that is not a row.
            owners = None;
            continue;
        }
        let Some(first) = line.strip_prefix("| `") else {
            continue;
        };
        let Some((short, long)) = option_head(first) else {
            continue;
        };
        let Some(owners) = &owners else {
            stray.push(line.to_string());
            continue;
        };
        let row = cells(line);
        assert_eq!(row.len(), 3, "an option row has 3 cells: {line}");
        let cell = collapse(&row[2].replace('`', ""));
        for owner in owners {
            let def = OptionDef {
                short,
                default: None,
                cell: Some(cell.clone()),
            };
            let previous = tables.get_mut(owner).unwrap().insert(long.clone(), def);
            assert!(
                previous.is_none(),
                "--{long} has two rows for {owner} in docs/reference.md"
            );
        }
    }
    assert!(
        stray.is_empty(),
        "option rows outside a table marked <!-- options: ... -->: {stray:#?}"
    );
    tables
}

fn show(short: Option<char>, long: &str) -> String {
    match short {
        Some(c) => format!("-{c}, --{long}"),
        None => format!("--{long}"),
    }
}

#[test]
fn every_option_of_every_help_has_its_row_and_every_row_its_help() {
    let tables = reference_options();
    let documented: BTreeSet<String> = tables.values().flat_map(|t| t.keys().cloned()).collect();
    let mut problems = Vec::new();
    for &command in COMMANDS {
        let text = help(command);
        let in_help = help_options(&text);
        let Some(in_reference) = tables.get(command) else {
            problems.push(format!("{command}: no <!-- options: {command} --> table"));
            continue;
        };
        for (long, def) in &in_help {
            let Some(row) = in_reference.get(long) else {
                problems.push(format!(
                    "{command}: `{}` is in --help but has no row in docs/reference.md",
                    show(def.short, long)
                ));
                continue;
            };
            if row.short != def.short {
                problems.push(format!(
                    "{command}: --help says `{}`, docs/reference.md says `{}`",
                    show(def.short, long),
                    show(row.short, long)
                ));
            }
            if let (Some(default), Some(cell)) = (&def.default, &row.cell) {
                let opens = cell.strip_prefix(default.as_str()).is_some_and(|rest| {
                    !rest.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '.')
                });
                if !opens {
                    problems.push(format!(
                        "{command}: --{long}: --help says [default: {default}], \
                         docs/reference.md's default cell says `{cell}`"
                    ));
                }
            }
        }
        for (long, row) in in_reference {
            if !in_help.contains_key(long) {
                problems.push(format!(
                    "{command}: `{}` has a row in docs/reference.md but is not in --help",
                    show(row.short, long)
                ));
            }
        }
        for long in mentioned_options(&text) {
            if !documented.contains(&long) {
                problems.push(format!(
                    "{command}: --help mentions --{long}, which docs/reference.md documents nowhere"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn each_command_has_a_nonempty_table_except_verify() {
    let tables = reference_options();
    for &command in COMMANDS {
        let count = tables.get(command).map_or(0, BTreeMap::len);
        if command == "verify" {
            assert_eq!(count, 0, "verify takes no options: {tables:?}");
        } else {
            assert!(
                count > 0,
                "{command} has no option rows in docs/reference.md"
            );
        }
    }
    // get and crawl share the transfer options: one table, both commands.
    assert!(REFERENCE.contains("<!-- options: get crawl -->"));
}

#[test]
fn help_command_prints_the_same_pages_as_dash_dash_help() {
    for &command in &COMMANDS[1..] {
        let out = miodl(&["help", command]);
        assert!(out.status.success(), "miodl help {command}: {out:?}");
        assert_eq!(String::from_utf8(out.stdout).unwrap(), help(command));
    }
}

/// The whole numbers in `text`.
fn numbers(text: &str) -> BTreeSet<u32> {
    text.split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect()
}

/// The statuses of the reference's `<!-- exit-statuses -->` table.
fn reference_exit_statuses() -> BTreeSet<u32> {
    let (_, after) = REFERENCE
        .split_once("<!-- exit-statuses -->")
        .expect("docs/reference.md marks its exit-status table");
    let mut statuses = BTreeSet::new();
    for line in after.lines().skip(1) {
        if !line.starts_with('|') {
            break;
        }
        let first = cells(line)[0];
        if let Some(status) = first.strip_prefix('`').and_then(|s| s.strip_suffix('`')) {
            statuses.insert(status.parse().expect("a status is a number"));
        }
    }
    statuses
}

#[test]
fn exit_statuses_match_the_top_level_help_and_main() {
    let documented = reference_exit_statuses();
    assert_eq!(documented, BTreeSet::from([0, 1, 2, 3, 130, 143]));

    let top = help("miodl");
    let (_, paragraph) = top
        .split_once("Exit status:")
        .expect("miodl --help names the exit statuses");
    let paragraph = paragraph.split("\n\n").next().unwrap();
    assert_eq!(numbers(paragraph), documented, "miodl --help: {paragraph}");

    let main = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/main.rs"))
        .expect("read src/main.rs");
    let doc: String = main
        .lines()
        .filter_map(|l| l.strip_prefix("//!"))
        .collect::<Vec<_>>()
        .join(" ");
    let at = doc
        .find("exit status")
        .expect("src/main.rs's doc comment names the exit statuses");
    let from = &doc[at..];
    let list = &from[from.find(':').expect("a list after the colon") + 1..];
    let list = &list[..list.find(')').unwrap_or(list.len())];
    assert_eq!(numbers(list), documented, "src/main.rs: {list}");
}

#[test]
fn the_binary_exits_with_the_documented_statuses() {
    let documented = reference_exit_statuses();
    let code = |out: &Output| out.status.code().expect("exited, not killed");

    let usage = miodl(&["get", "--no-such-option", "http://127.0.0.1:9/x"]);
    assert_eq!(code(&usage), 2, "{usage:?}");
    let usage = miodl(&["get", "ftp://127.0.0.1/x"]);
    assert_eq!(code(&usage), 2, "{usage:?}");

    // The output directory cannot be made (a file is in the way), so the run stops
    // before any connection is opened.
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, b"").unwrap();
    let out_dir = blocker.join("out");
    let unwritable = miodl(&[
        "get",
        "-q",
        "-o",
        out_dir.to_str().unwrap(),
        "http://127.0.0.1:9/x",
    ]);
    assert_eq!(code(&unwritable), 3, "{unwritable:?}");

    for status in [code(&usage), code(&unwritable)] {
        assert!(documented.contains(&(status as u32)));
    }
}
