//! The fault matrix of `docs/reliability.md`, run for real.
//!
//! Each row names a way a server or the network can misbehave, makes it happen on
//! 127.0.0.1 (the reference server's `--fault`, or a socket the test arranges), runs the
//! `miodl` binary against it, and records what a user sees: the exit status, how many
//! tries it took, and either "saved, right bytes" or the one-line error. The rows are
//! then printed as the markdown table of `docs/reliability.md` and compared with it, so
//! the document cannot drift from the behaviour. After a deliberate change of behaviour,
//! rewrite the table with `MIODL_BLESS=1 cargo test --test reliability`.

mod support;

use std::net::TcpListener;
use std::path::Path;

use support::{miodl, pattern, reference, ServerHandle};

/// The body size of the rows that fetch one file: big enough to be cut in half.
const SIZE: u64 = 100_000;
/// The body size of the rows for the zero-copy path.
const LARGE: u64 = 3_000_000;

/// One row of the matrix.
struct Case {
    /// What goes wrong.
    fault: &'static str,
    /// How the test makes it happen.
    made_by: &'static str,
    /// Options added to the defaults of every row.
    options: &'static [&'static str],
    /// Where the file comes from.
    target: Target,
}

/// What a row fetches.
enum Target {
    /// `/bytes/SIZE` from a reference server with this `--fault` plan.
    Served(&'static str),
    /// The same with files of `LARGE` bytes, which the reactor moves from socket to file
    /// with `splice(2)` on Linux (bodies of known length over 256 KiB).
    ServedLarge(&'static str),
    /// A URL the test makes (a dead port, a full backlog).
    Socket(fn() -> (String, Box<dyn std::any::Any + Send>)),
    /// 1,000 good files and one missing one, from a healthy server.
    ManyWithOne404,
}

fn cases() -> Vec<Case> {
    let served = |fault, made_by, options, spec| Case {
        fault,
        made_by,
        options,
        target: Target::Served(spec),
    };
    vec![
        Case {
            fault: "connection refused",
            made_by: "a port nobody listens on",
            options: &["--retries", "1"],
            target: Target::Socket(refused),
        },
        Case {
            fault: "connect never completes",
            made_by: "a listener whose accept queue is full",
            options: &["--connect-timeout", "0.3", "--retries", "0"],
            target: Target::Socket(full_backlog),
        },
        served(
            "reset before the first byte",
            "`reset-head@1`",
            &[],
            "reset-head@1",
        ),
        served(
            "reset mid-head",
            "`reset-mid-head@1`",
            &[],
            "reset-mid-head@1",
        ),
        served("EOF mid-head", "`eof-head@1`", &[], "eof-head@1"),
        served("reset mid-body", "`reset-body@1`", &[], "reset-body@1"),
        served("EOF mid-body", "`eof-body@1`", &[], "eof-body@1"),
        Case {
            fault: "reset mid-body, large file",
            made_by: "`reset-body@1`, 3 MB (zero-copy path)",
            options: &[],
            target: Target::ServedLarge("reset-body@1"),
        },
        Case {
            fault: "EOF mid-body, large file",
            made_by: "`eof-body@1`, 3 MB (zero-copy path)",
            options: &[],
            target: Target::ServedLarge("eof-body@1"),
        },
        Case {
            fault: "body shorter than announced, large file",
            made_by: "`short-body@1`, 3 MB (zero-copy path)",
            options: &[],
            target: Target::ServedLarge("short-body@1"),
        },
        served(
            "stale keep-alive socket",
            "`close-idle` (every answer, then close)",
            &["-c", "1"],
            "close-idle",
        ),
        served(
            "stall after the head",
            "`stall-body@1`",
            &["--timeout", "0.3"],
            "stall-body@1",
        ),
        served(
            "stall, every try",
            "`stall`",
            &["--timeout", "0.3", "--retries", "1"],
            "stall",
        ),
        served("503, Retry-After in seconds", "`503@1`", &[], "503@1"),
        served(
            "429, Retry-After as an HTTP date",
            "`429-date@1`",
            &[],
            "429-date@1",
        ),
        served("500", "`500@1`", &[], "500@1"),
        served("502", "`502@1`", &[], "502@1"),
        served("504", "`504@1`", &[], "504@1"),
        served("503 on every try", "`503`", &["--retries", "2"], "503"),
        served(
            "truncated chunked body",
            "`truncated-chunked@1`",
            &[],
            "truncated-chunked@1",
        ),
        served(
            "body shorter than announced",
            "`short-body@1`",
            &[],
            "short-body@1",
        ),
        served(
            "body longer than announced",
            "`long-body`",
            &[],
            "long-body",
        ),
        served(
            "garbage instead of a status line",
            "`garbage`",
            &[],
            "garbage",
        ),
        served("a 2 MiB header", "`huge-head`", &[], "huge-head"),
        served(
            "endless chunked body",
            "`endless-chunked`",
            &["--max-filesize", "1000000"],
            "endless-chunked",
        ),
        served(
            "redirect loop",
            "`redirect-loop`",
            &["--max-redirects", "3"],
            "redirect-loop",
        ),
        Case {
            fault: "a 404 among 1,000 good files",
            made_by: "1,000 `/bytes/N` URLs and one unknown path",
            options: &["-c", "16"],
            target: Target::ManyWithOne404,
        },
    ]
}

/// A port that refuses connections: bound, then closed.
fn refused() -> (String, Box<dyn std::any::Any + Send>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    (format!("http://{addr}/bytes/{SIZE}"), Box::new(()))
}

/// A listener that never accepts, its queue filled ([`support::silent_listener`]).
fn full_backlog() -> (String, Box<dyn std::any::Any + Send>) {
    let any = "127.0.0.1:0".parse().unwrap();
    let (addr, held) = support::silent_listener(any).expect("a loopback port");
    (format!("http://{addr}/bytes/{SIZE}"), held)
}

/// What a row produced, as the table shows it.
struct Outcome {
    result: String,
    tries: String,
    exit: i32,
}

fn run(case: &Case) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let mut server: Option<ServerHandle> = None;
    let mut _keep: Box<dyn std::any::Any + Send> = Box::new(());
    let mut args: Vec<String> = vec![
        "get".into(),
        "-q".into(),
        "--json".into(),
        "--retry-delay".into(),
        "10".into(),
        "-o".into(),
        out.display().to_string(),
    ];
    args.extend(case.options.iter().map(|s| s.to_string()));
    match &case.target {
        Target::Served(spec) | Target::ServedLarge(spec) => {
            let size = match case.target {
                Target::ServedLarge(_) => LARGE,
                _ => SIZE,
            };
            let handle = reference().faults(spec).start();
            // Several files, so a socket is reused (the stale row needs that).
            for i in 0..3 {
                args.push(format!("{}/bytes/{}", handle.base_url(), size + i));
            }
            server = Some(handle);
        }
        Target::Socket(make) => {
            let (url, keep) = make();
            args.push(url);
            _keep = keep;
        }
        Target::ManyWithOne404 => {
            let handle = reference().start();
            let list = dir.path().join("urls.txt");
            let mut text = String::new();
            for i in 0..1000 {
                text.push_str(&format!("{}/bytes/{}\n", handle.base_url(), 1000 + i));
                if i == 500 {
                    text.push_str(&format!("{}/no/such/file\n", handle.base_url()));
                }
            }
            std::fs::write(&list, text).unwrap();
            args.push("-i".into());
            args.push(list.display().to_string());
            server = Some(handle);
        }
    }
    let run = miodl(&args);
    drop(server);
    let exit = run.status.unwrap_or(-1);
    assert_eq!(
        run.stdout.lines().count(),
        1,
        "stdout is the summary alone\n{run}"
    );
    let summary = run.json();
    let stderr = &run.stderr;
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect();
    assert_no_partials(&out);
    let ok = summary["ok"].as_u64().unwrap();
    let failed = summary["failed"].as_u64().unwrap();
    // Tries after the first: retries, and the tries again after a throttled answer (a
    // 429 or 503 with Retry-After, which does not use one of --retries).
    let retries = summary["retries"].as_u64().unwrap() + summary["throttled"].as_u64().unwrap();
    assert_eq!(
        errors.len() as u64,
        failed,
        "one line per failure: {stderr}"
    );
    let result = if failed == 0 {
        check_bytes(&out);
        format!("saved, right bytes ({ok} files)")
    } else {
        // "error: URL: cause": the cause is what the table shows (URLs differ per run).
        let cause = errors[0].splitn(3, ": ").nth(2).unwrap_or_default();
        if ok > 0 {
            check_bytes(&out);
            format!("{ok} saved; {failed} failed: {cause}")
        } else {
            format!("failed: {cause}")
        }
    };
    let files = ok + failed;
    let tries = if retries == 0 {
        "1 each".to_string()
    } else if retries % files == 0 {
        format!("{} each", 1 + retries / files)
    } else {
        format!("{} retries", retries)
    };
    Outcome {
        result,
        tries,
        exit,
    }
}

/// Every saved `/bytes/N` file holds exactly the server's pattern of N bytes.
fn check_bytes(dir: &Path) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        let size: usize = name.parse().expect("files are named by their size");
        assert!(
            std::fs::read(entry.path()).unwrap() == pattern(size),
            "bytes of {name}"
        );
    }
}

/// No temporary and no partial file is ever left behind.
fn assert_no_partials(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let name = entry.unwrap().file_name().into_string().unwrap();
        assert!(!name.starts_with('.'), "left behind: {name}");
    }
}

fn table(cases: &[Case], outcomes: &[Outcome]) -> String {
    let mut text = String::from(
        "| fault | how the test makes it | options | what the user gets | tries | exit |\n\
         | --- | --- | --- | --- | --- | --- |\n",
    );
    for (case, outcome) in cases.iter().zip(outcomes) {
        let options = if case.options.is_empty() {
            String::new()
        } else {
            format!("`{}`", case.options.join(" "))
        };
        text.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            case.fault,
            case.made_by,
            options,
            outcome.result.replace('|', "\\|"),
            outcome.tries,
            outcome.exit
        ));
    }
    text
}

const START: &str = "<!-- matrix:start -->\n";
const END: &str = "<!-- matrix:end -->";

#[test]
fn the_fault_matrix_holds_and_matches_the_docs() {
    let cases = cases();
    // Rows are independent (each has its own server): run them side by side.
    let outcomes: Vec<Outcome> = std::thread::scope(|scope| {
        let handles: Vec<_> = cases.iter().map(|c| scope.spawn(move || run(c))).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    // The behaviour itself, asserted whatever the document says.
    for (case, outcome) in cases.iter().zip(&outcomes) {
        let saved = outcome.result.starts_with("saved");
        assert_eq!(outcome.exit, if saved { 0 } else { 1 }, "{}", case.fault);
    }
    let recoverable = |fault: &str| {
        outcomes[cases.iter().position(|c| c.fault == fault).unwrap()]
            .result
            .starts_with("saved")
    };
    for fault in [
        "reset before the first byte",
        "reset mid-head",
        "EOF mid-head",
        "reset mid-body",
        "EOF mid-body",
        "reset mid-body, large file",
        "EOF mid-body, large file",
        "body shorter than announced, large file",
        "stale keep-alive socket",
        "stall after the head",
        "503, Retry-After in seconds",
        "429, Retry-After as an HTTP date",
        "truncated chunked body",
        "body shorter than announced",
        "body longer than announced",
    ] {
        assert!(recoverable(fault), "{fault} must end with the right bytes");
    }

    let generated = table(&cases, &outcomes);
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/reliability.md");
    let doc = std::fs::read_to_string(&path).unwrap();
    let start = doc.find(START).expect("the matrix start marker") + START.len();
    let end = doc.find(END).expect("the matrix end marker");
    if std::env::var_os("MIODL_BLESS").is_some() {
        let updated = format!("{}{}{}", &doc[..start], generated, &doc[end..]);
        std::fs::write(&path, updated).unwrap();
    } else {
        assert_eq!(
            &doc[start..end],
            generated,
            "docs/reliability.md is out of date: rerun with MIODL_BLESS=1 after checking the change"
        );
    }
}
