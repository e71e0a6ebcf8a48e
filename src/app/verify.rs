//! `miodl verify DIR`: did the crawl save every item exactly once, and nothing else?
//!
//! The reference server's item `n` (0-based) of `N` has the body `"<n+1> of <N>"`, so a
//! complete crawl leaves exactly `N` regular files whose contents are `1 of N` .. `N of N`,
//! each once. Anything else is a bug somewhere upstream and is reported by name: a number
//! missing or saved twice (both files named), a file that does not read `x of N`, files
//! that disagree on `N`, a directory, a hidden temporary file (a `.name.part` left behind
//! is a partial download that should have been cleaned up). The record of saved files
//! that `--skip-existing` keeps (`.miodl-saved`) is not one of them, and neither is a
//! part `-C` kept with its description (`.NAME.miodl-part` and `.NAME.miodl-meta`,
//! `crate::output::partial`): such pairs are counted apart, as resumable.
//!
//! ```text
//!   read_dir ──► per entry: regular? visible? reads "x of N"? ──no──► a Problem
//!                    │ yes
//!                    ▼
//!   the most common N ──► files with another N ──► MixedTotal
//!   x in 1..=N seen once? ──► Duplicate (all names) / Missing / OutOfRange
//! ```
//!
//! Layer: `app`; may use `protocol`, `model`, `policy`, `output`, `transport`, `engine`, `report` and `serve` (see `src/app/mod.rs`).

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io;
use std::path::Path;

use crate::output::partial;
use crate::output::record::RECORD_NAME;

/// A file larger than this cannot read `x of N` and is not read in full.
const MAX_CONTENT: u64 = 64;

/// One thing wrong with a crawl's output. Every variant names the file(s) or number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The directory holds no files at all.
    NoFiles,
    /// A file whose content is not exactly `x of N`.
    NotParsed {
        /// The file name.
        name: String,
        /// What it holds, shortened for display.
        content: String,
    },
    /// A file that could not be read.
    Unreadable {
        /// The file name.
        name: String,
        /// The error's message.
        error: String,
    },
    /// A directory where only files belong.
    Directory {
        /// The directory name.
        name: String,
    },
    /// A hidden file, such as a temporary `.name.part` left by an unfinished download.
    Hidden {
        /// The file name.
        name: String,
    },
    /// Neither a regular file nor a directory (a symlink, a socket, ...).
    NotRegular {
        /// The entry name.
        name: String,
    },
    /// A file whose `N` differs from the one most files agree on.
    MixedTotal {
        /// The file name.
        name: String,
        /// Its `N`.
        total: u64,
        /// The `N` most files say.
        expected: u64,
    },
    /// `x` is 0 or larger than `N`.
    OutOfRange {
        /// The file name.
        name: String,
        /// Its `x`.
        number: u64,
        /// Its `N`.
        total: u64,
    },
    /// Several files hold the same `x`.
    Duplicate {
        /// The number.
        number: u64,
        /// Every file holding it, sorted.
        names: Vec<String>,
    },
    /// No file holds any `x` in `first..=last` (one gap, so a huge `N` stays one line).
    Missing {
        /// The first missing number.
        first: u64,
        /// The last missing number of this gap.
        last: u64,
        /// The `N`.
        total: u64,
    },
    /// Parts kept by `-C` with their descriptions: downloads a rerun with `--continue`
    /// finishes (not strays).
    Resumable {
        /// How many parts.
        count: usize,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::NoFiles => write!(f, "no files"),
            Problem::NotParsed { name, content } => {
                write!(f, "{name}: does not read \"x of N\" (found {content:?})")
            }
            Problem::Unreadable { name, error } => write!(f, "{name}: cannot read: {error}"),
            Problem::Directory { name } => write!(f, "{name}: unexpected directory"),
            Problem::Hidden { name }
                if name.ends_with(".part") || name.ends_with(partial::PART_SUFFIX) =>
            {
                write!(f, "{name}: stray partial download")
            }
            Problem::Hidden { name } => write!(f, "{name}: unexpected hidden file"),
            Problem::NotRegular { name } => write!(f, "{name}: not a regular file"),
            Problem::MixedTotal {
                name,
                total,
                expected,
            } => {
                write!(
                    f,
                    "{name}: says \"of {total}\" but the other files say \"of {expected}\""
                )
            }
            Problem::OutOfRange {
                name,
                number,
                total,
            } => {
                write!(f, "{name}: number {number} is outside 1..{total}")
            }
            Problem::Duplicate { number, names } => {
                write!(
                    f,
                    "number {number} appears {} times: {}",
                    names.len(),
                    names.join(", ")
                )
            }
            Problem::Missing { first, last, total } if first == last => {
                write!(f, "missing number {first} of {total}")
            }
            Problem::Missing { first, last, total } => {
                write!(f, "missing numbers {first} to {last} of {total}")
            }
            Problem::Resumable { count } => {
                let s = if *count == 1 { "" } else { "s" };
                write!(
                    f,
                    "{count} resumable partial file{s} (rerun with --continue)"
                )
            }
        }
    }
}

/// The outcome of [`verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Regular visible files whose content parsed as `x of N`.
    pub files: usize,
    /// The `N` most files agree on, if any file parsed.
    pub total: Option<u64>,
    /// Everything wrong, in a stable order; empty when the output is complete.
    pub problems: Vec<Problem>,
}

impl VerifyReport {
    /// True when there is nothing to report.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

impl fmt::Display for VerifyReport {
    /// `ok: N files`, or one problem per line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_ok() {
            return write!(f, "ok: {} files", self.files);
        }
        for (i, problem) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

/// Checks a crawl's output directory. Fails only if `dir` itself cannot be listed;
/// everything wrong inside it is a [`Problem`] in the report.
pub fn verify(dir: &Path) -> io::Result<VerifyReport> {
    let mut problems = Vec::new();
    // (name, x, N) of every file that parsed.
    let mut items: Vec<(String, u64, u64)> = Vec::new();
    let mut entries: Vec<fs::DirEntry> = fs::read_dir(dir)?.collect::<io::Result<_>>()?;
    entries.sort_by_key(|e| e.file_name());
    let mut resumable = 0;
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        // The record of saved files (`--skip-existing`) is miodl's own, not a stray.
        if name == RECORD_NAME && entry.file_type().is_ok_and(|kind| kind.is_file()) {
            continue;
        }
        // `-C`'s parts with their descriptions: resumable, counted once per part.
        match resumable_pair(dir, &name) {
            Some(true) => {
                resumable += 1;
                continue;
            }
            Some(false) => continue,
            None => {}
        }
        match check_entry(&entry, &name) {
            Ok(item) => items.push(item),
            Err(problem) => problems.push(problem),
        }
    }
    if resumable > 0 {
        problems.push(Problem::Resumable { count: resumable });
    }
    let total = most_common_total(&items);
    if let Some(expected) = total {
        check_numbers(&items, expected, &mut problems);
    } else if problems.is_empty() {
        problems.push(Problem::NoFiles);
    }
    Ok(VerifyReport {
        files: items.len(),
        total,
        problems,
    })
}

/// `-C`: is `name` half of a resumable pair (a part whose description reads)? `Some(true)`
/// for the part, `Some(false)` for its description, `None` for anything else.
fn resumable_pair(dir: &Path, name: &str) -> Option<bool> {
    let (base, is_part) = match (partial::name_of_part(name), partial::name_of_meta(name)) {
        (Some(base), _) => (base, true),
        (_, Some(base)) => (base, false),
        _ => return None,
    };
    partial::read_pair(dir, base).map(|_| is_part)
}

/// One directory entry: `(name, x, N)` or the problem with it.
fn check_entry(entry: &fs::DirEntry, name: &str) -> Result<(String, u64, u64), Problem> {
    let name = name.to_string();
    let kind = entry.file_type().map_err(|e| Problem::Unreadable {
        name: name.clone(),
        error: e.to_string(),
    })?;
    if kind.is_dir() {
        return Err(Problem::Directory { name });
    }
    if !kind.is_file() {
        return Err(Problem::NotRegular { name });
    }
    if name.starts_with('.') {
        return Err(Problem::Hidden { name });
    }
    let unreadable = |e: io::Error| Problem::Unreadable {
        name: name.clone(),
        error: e.to_string(),
    };
    let len = entry.metadata().map_err(unreadable)?.len();
    if len > MAX_CONTENT {
        let content = format!("{len} bytes");
        return Err(Problem::NotParsed { name, content });
    }
    let bytes = fs::read(entry.path()).map_err(unreadable)?;
    match parse_item(&bytes) {
        Some((x, n)) => Ok((name, x, n)),
        None => {
            let content = String::from_utf8_lossy(&bytes).into_owned();
            Err(Problem::NotParsed { name, content })
        }
    }
}

/// Parses exactly `x of N`: decimal numbers without sign or leading zeros.
pub fn parse_item(bytes: &[u8]) -> Option<(u64, u64)> {
    let text = std::str::from_utf8(bytes).ok()?;
    let (x, n) = text.split_once(" of ")?;
    Some((parse_number(x)?, parse_number(n)?))
}

fn parse_number(s: &str) -> Option<u64> {
    let canonical =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    canonical.then(|| s.parse().ok()).flatten()
}

/// The `N` most files say; ties go to the smaller `N`.
fn most_common_total(items: &[(String, u64, u64)]) -> Option<u64> {
    let mut counts: BTreeMap<u64, usize> = BTreeMap::new();
    for (_, _, n) in items {
        *counts.entry(*n).or_default() += 1;
    }
    let best = counts.values().copied().max()?;
    counts.into_iter().find(|&(_, c)| c == best).map(|(n, _)| n)
}

fn check_numbers(items: &[(String, u64, u64)], expected: u64, problems: &mut Vec<Problem>) {
    let mut holders: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    for (name, x, n) in items {
        if *n != expected {
            problems.push(Problem::MixedTotal {
                name: name.clone(),
                total: *n,
                expected,
            });
        } else if *x == 0 || *x > expected {
            problems.push(Problem::OutOfRange {
                name: name.clone(),
                number: *x,
                total: *n,
            });
        } else {
            holders.entry(*x).or_default().push(name.clone());
        }
    }
    for (number, names) in &holders {
        if names.len() > 1 {
            problems.push(Problem::Duplicate {
                number: *number,
                names: names.clone(),
            });
        }
    }
    // Walk the gaps between the numbers present, in O(files) even for a huge N.
    let mut gap = |first: u64, last: u64| {
        if first <= last {
            problems.push(Problem::Missing {
                first,
                last,
                total: expected,
            });
        }
    };
    let mut next = Some(1u64);
    for &number in holders.keys() {
        if let Some(first) = next {
            gap(first, number - 1);
        }
        next = number.checked_add(1);
    }
    if let Some(first) = next {
        gap(first, expected);
    }
}
