//! The three engines tell a user the same story about every failure.
//!
//! Each row of the table below makes one thing go wrong on 127.0.0.1 — a fault of the
//! reference server (`miodl serve --fault KIND`), or a port nobody listens on — and runs
//! the same `miodl get --retries 0 --json` against it under `--engine reactor`,
//! `blocking` and `threads`, each with a fresh server. What the user sees must be the
//! same whatever the engine:
//!
//! - the exit status;
//! - the lines on stderr (the one-line error per failed file), with the port written
//!   `PORT`, since every run has its own server;
//! - the `ok` and `failed` counts of the `--json` summary.
//!
//! A mismatch fails the row and prints each engine's side of what differs. Before the
//! engines shared one answer reader (`src/engine/answer/`), a reset after some answer
//! bytes (`reset_mid_head`, `reset_mid_body`, `reset_mid_body_large`) was "while reading
//! the body" for the reactor and "while waiting for the response" for the blocking
//! workers; both now name the phase the answer's framing is in.
//!
//! Every run is bounded by `--timeout` (a short one where the server stalls, so a stall
//! costs [`STALL`] per row and no more) and by the runner's watchdog; the three engines of
//! a row run side by side.

mod support;

use std::collections::HashSet;
use std::path::Path;

use miodl::serve::{FaultKind, FaultPlan};
use support::{dead_port, get_args, miodl, out_dir, reference, Run, ENGINES};

/// The body size of most rows: big enough to be cut in half.
const SMALL: usize = 100_000;
/// The body size of the large rows: the reactor moves a plain body of 256 KiB or more
/// from socket to file with splice(2), on a disk thread, not with its read buffer.
const LARGE: usize = 3_000_000;
/// `--timeout` of the rows where the server goes silent.
const STALL: &str = "0.5";
/// `--timeout` of the other rows: the server never goes silent there, so this only
/// bounds a run whose engine missed a close or a reset (and says so in its message).
const IDLE: &str = "5";

/// What a row fetches from.
#[derive(Clone, Copy, Debug)]
enum Target {
    /// The reference server with this `--fault` plan.
    Fault(&'static str),
    /// A port on 127.0.0.1 nobody listens on.
    Refused,
}
use Target::{Fault, Refused};

/// One row: what goes wrong, and the `miodl get` run against it.
struct Case {
    /// The row's test name.
    name: &'static str,
    target: Target,
    /// The `/bytes/N` files fetched, in this order, over one socket (`-c 1`).
    sizes: &'static [usize],
    /// Options added to `get -q --json -o DIR --retries 0 -c 1`.
    options: &'static [&'static str],
}

/// The table, and one test per row (named after it).
macro_rules! cases {
    ($($name:ident: $target:expr, $sizes:expr, $options:expr;)*) => {
        const CASES: &[Case] = &[$(Case {
            name: stringify!($name),
            target: $target,
            sizes: $sizes,
            options: $options,
        }),*];
        $(
            #[test]
            fn $name() {
                engines_agree(stringify!($name));
            }
        )*
    };
}

cases! {
    // name                          target                              sizes            options
    connection_refused:              Refused,                            &[SMALL],        &[];
    reset_before_the_head:           Fault("reset-head"),                &[SMALL],        &[];
    reset_mid_head:                  Fault("reset-mid-head"),            &[SMALL],        &[];
    eof_mid_head:                    Fault("eof-head"),                  &[SMALL],        &[];
    reset_mid_body:                  Fault("reset-body"),                &[SMALL],        &[];
    reset_mid_body_large:            Fault("reset-body"),                &[LARGE],        &[];
    eof_mid_body:                    Fault("eof-body"),                  &[SMALL],        &[];
    eof_mid_body_large:              Fault("eof-body"),                  &[LARGE],        &[];
    // The second file's request meets a reset on the reused socket, is resent on a
    // fresh one (not a try), and meets it again there.
    reset_on_a_reused_socket:        Fault("reset-head=/bytes/100001"),  &[SMALL, 100_001], &[];
    // Every answer is followed by a close: each reuse finds a dead socket.
    close_idle_keep_alive:           Fault("close-idle"),                &[SMALL, 100_001, 100_002], &[];
    status_503_retry_after_seconds:  Fault("503"),                       &[SMALL],        &[];
    status_503_retry_after_date:     Fault("503-date"),                  &[SMALL],        &[];
    status_429_retry_after_seconds:  Fault("429"),                       &[SMALL],        &[];
    status_429_retry_after_date:     Fault("429-date"),                  &[SMALL],        &[];
    status_500_no_retry_after:       Fault("500"),                       &[SMALL],        &[];
    status_502_no_retry_after:       Fault("502"),                       &[SMALL],        &[];
    status_504_no_retry_after:       Fault("504"),                       &[SMALL],        &[];
    stall_before_the_head:           Fault("stall"),                     &[SMALL],        &["--timeout", STALL];
    stall_mid_body:                  Fault("stall-body"),                &[SMALL],        &["--timeout", STALL];
    stall_mid_body_large:            Fault("stall-body"),                &[LARGE],        &["--timeout", STALL];
    truncated_chunked_body:          Fault("truncated-chunked"),         &[SMALL],        &[];
    garbage_status_line:             Fault("garbage"),                   &[SMALL],        &[];
    huge_head:                       Fault("huge-head"),                 &[SMALL],        &[];
    short_body:                      Fault("short-body"),                &[SMALL],        &[];
    long_body:                       Fault("long-body"),                 &[SMALL],        &[];
    endless_chunked_body:            Fault("endless-chunked"),           &[SMALL],        &["--max-filesize", "1000000"];
    redirect_loop:                   Fault("redirect-loop"),             &[SMALL],        &["--max-redirects", "3"];
}

/// What a user sees of one run, field by field, as compared across engines.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    exit: String,
    stderr: Vec<String>,
    counts: String,
}

impl Seen {
    fn of(run: &Run) -> Seen {
        let exit = match run.status {
            Some(code) => code.to_string(),
            None => "killed by a signal".to_string(),
        };
        let stderr = run.stderr_lines().into_iter().map(without_port).collect();
        let counts = match run.summary() {
            Ok(json) => format!("ok {}, failed {}", json["ok"], json["failed"]),
            Err(why) => why,
        };
        Seen {
            exit,
            stderr,
            counts,
        }
    }
}

/// `127.0.0.1:PORT` for every `127.0.0.1:<digits>` in `line`.
fn without_port(line: &str) -> String {
    const HOST: &str = "127.0.0.1:";
    let mut out = String::new();
    let mut rest = line;
    while let Some(at) = rest.find(HOST) {
        out.push_str(&rest[..at + HOST.len()]);
        rest = &rest[at + HOST.len()..];
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits > 0 {
            out.push_str("PORT");
        }
        rest = &rest[digits..];
    }
    out.push_str(rest);
    out
}

/// The `get` arguments of a row (the same for every engine but `--engine`), with
/// `base` standing for `http://127.0.0.1:PORT`.
fn get_line<'a>(case: &'a Case, dir: &'a Path, base: &str, engine: &'a str) -> Vec<String> {
    let mut extra = vec!["--retries", "0", "-c", "1", "--engine", engine];
    if !case.options.contains(&"--timeout") {
        extra.extend(["--timeout", IDLE]);
    }
    extra.extend_from_slice(case.options);
    let mut args: Vec<String> = (get_args(dir, &extra).into_iter())
        .map(String::from)
        .collect();
    args.extend(case.sizes.iter().map(|n| format!("{base}/bytes/{n}")));
    args
}

/// Runs a row under one engine, against a server of its own.
fn run_with(case: &Case, engine: &str) -> Seen {
    let dir = out_dir();
    let run = match case.target {
        Fault(spec) => {
            let server = reference().faults(spec).start();
            miodl(&get_line(case, dir.path(), &server.base_url(), engine))
        }
        Refused => {
            let base = format!("http://127.0.0.1:{}", dead_port());
            miodl(&get_line(case, dir.path(), &base, engine))
        }
    };
    Seen::of(&run)
}

/// Runs the row `name` under every engine and fails with a readable diff if they differ.
fn engines_agree(name: &str) {
    let case = (CASES.iter().find(|c| c.name == name)).expect("a row of the table");
    let seen: Vec<Seen> = std::thread::scope(|scope| {
        let runs: Vec<_> = (ENGINES.iter())
            .map(|engine| scope.spawn(move || run_with(case, engine)))
            .collect();
        runs.into_iter().map(|r| r.join().unwrap()).collect()
    });
    if seen.iter().all(|s| *s == seen[0]) {
        return;
    }
    panic!("{}", disagreement(case, &seen));
}

/// The report of a row where the engines differ: every field, the differing ones with
/// each engine's value.
fn disagreement(case: &Case, seen: &[Seen]) -> String {
    let dir = Path::new("DIR");
    let line = get_line(case, dir, "http://127.0.0.1:PORT", "ENGINE").join(" ");
    let mut out = format!(
        "the engines disagree on {} ({:?})\n  miodl {line}\n",
        case.name, case.target
    );
    let fields: [(&str, Vec<String>); 3] = [
        ("exit status", seen.iter().map(|s| s.exit.clone()).collect()),
        ("stderr", seen.iter().map(|s| s.stderr.join("\n")).collect()),
        ("summary", seen.iter().map(|s| s.counts.clone()).collect()),
    ];
    for (field, values) in fields {
        let same = values.iter().all(|v| *v == values[0]);
        let verdict = if same { "the same" } else { "DIFFERS" };
        out.push_str(&format!("  {field}: {verdict}\n"));
        let rows: Vec<(&str, &String)> = if same {
            vec![("all", &values[0])]
        } else {
            ENGINES.iter().copied().zip(&values).collect()
        };
        for (who, value) in rows {
            let mut lines: Vec<&str> = value.lines().collect();
            if lines.is_empty() {
                lines.push("(nothing)");
            }
            for (i, text) in lines.into_iter().enumerate() {
                let label = if i == 0 { who } else { "" };
                out.push_str(&format!("    {label:<8} | {text}\n"));
            }
        }
    }
    out
}

/// Every fault the reference server can inject has a row.
#[test]
fn every_fault_kind_has_a_row() {
    let covered: HashSet<FaultKind> = (CASES.iter())
        .filter_map(|c| match c.target {
            Fault(spec) => Some(spec),
            Refused => None,
        })
        .flat_map(|spec| FaultPlan::parse(spec).expect("a valid spec").rules)
        .map(|rule| rule.kind)
        .collect();
    let missing: Vec<&str> = (FaultKind::ALL.iter())
        .filter(|k| !covered.contains(k))
        .map(|k| k.name())
        .collect();
    assert!(missing.is_empty(), "fault kinds without a row: {missing:?}");
}

#[test]
fn ports_are_normalised_and_nothing_else() {
    assert_eq!(
        without_port("error: http://127.0.0.1:40123/bytes/7: 127.0.0.1: x 127.0.0.1:9"),
        "error: http://127.0.0.1:PORT/bytes/7: 127.0.0.1: x 127.0.0.1:PORT"
    );
}
