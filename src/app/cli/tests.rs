//! Command lines in, structs or one-line errors out: every option, every default, and
//! each kind of mistake.
//!
//! Layer: `app`; may use `protocol`, `model`, `policy`, `output`, `transport`, `engine`, `report` and `serve` (see `src/app/mod.rs`).

use super::*;
use crate::model::options::{Engine, SpeedLimit};
use std::path::Path;

fn run(args: &[&str]) -> Result<Command, UsageError> {
    parse(
        std::iter::once("miodl")
            .chain(args.iter().copied())
            .map(OsString::from),
    )
}

fn get(args: &[&str]) -> GetTask {
    match run(&[&["get"], args].concat()) {
        Ok(Command::Get(get)) => get,
        other => panic!("{args:?}: {other:?}"),
    }
}

fn crawl(args: &[&str]) -> CrawlTask {
    match run(&[&["crawl"], args].concat()) {
        Ok(Command::Crawl(crawl)) => crawl,
        other => panic!("{args:?}: {other:?}"),
    }
}

fn error(args: &[&str]) -> String {
    match run(args) {
        Err(e) => e.to_string(),
        Ok(command) => panic!("{args:?} parsed as {command:?}"),
    }
}

#[test]
fn top_level_help_and_version() {
    for args in [&["--help"][..], &["-h"], &["help"], &["-h", "ignored"]] {
        assert!(matches!(run(args), Ok(Command::Help(HELP))), "{args:?}");
    }
    assert!(matches!(run(&["--version"]), Ok(Command::Version)));
    assert!(matches!(run(&["-V"]), Ok(Command::Version)));
    assert_eq!(VERSION, format!("miodl {}", env!("CARGO_PKG_VERSION")));
}

#[test]
fn command_help() {
    let cases = [
        ("get", GET_HELP),
        ("crawl", CRAWL_HELP),
        ("serve", SERVE_HELP),
        ("verify", VERIFY_HELP),
        ("demo", DEMO_HELP),
        ("timeline", TIMELINE_HELP),
    ];
    for (command, text) in cases {
        for args in [[command, "--help"], [command, "-h"], ["help", command]] {
            match run(&args) {
                Ok(Command::Help(got)) => assert_eq!(got, text, "{args:?}"),
                other => panic!("{args:?}: {other:?}"),
            }
        }
        assert!(text.contains("Usage: miodl"), "{command}");
        assert!(text.contains("Example"), "{command}");
    }
}

#[test]
fn help_mentions_every_option_by_its_spec_name() {
    let shared = [
        "-o, --output-dir DIR",
        "-c, --connections N",
        "--per-host N",
        "--max-in-flight M",
        "--no-keepalive",
        "--retries N",
        "--retry-delay MS",
        "--connect-timeout SECS",
        "--timeout SECS",
        "--max-time SECS",
        "--speed-limit BYTES",
        "--speed-time SECS",
        "-u, --user USER:PASS",
        "--max-redirects N",
        "--max-filesize BYTES",
        "--engine ENGINE",
        "-q, --quiet",
        "--json",
        "--events",
        "--trace FILE",
    ];
    for option in shared {
        assert!(GET_HELP.contains(option), "get: {option}");
        assert!(CRAWL_HELP.contains(option), "crawl: {option}");
    }
    for option in [
        "--per-page N",
        "--start N",
        "--lookahead K",
        "--item-url TEMPLATE",
    ] {
        assert!(CRAWL_HELP.contains(option), "crawl: {option}");
    }
    for option in [
        "--host",
        "--port",
        "--files",
        "--lag",
        "--seed",
        "--fault PLAN",
    ] {
        assert!(SERVE_HELP.contains(option), "serve: {option}");
    }
    for option in ["--files", "--lag", "-q", "--json"] {
        assert!(DEMO_HELP.contains(option), "demo: {option}");
    }
}

#[test]
fn help_lines_fit_a_terminal() {
    for text in [
        HELP,
        GET_HELP,
        CRAWL_HELP,
        SERVE_HELP,
        VERIFY_HELP,
        DEMO_HELP,
    ] {
        for line in text.lines() {
            assert!(line.chars().count() <= 80, "too long: {line:?}");
        }
    }
}

#[test]
fn get_defaults() {
    let args = get(&["http://h/a"]);
    assert_eq!(args.urls, ["http://h/a"]);
    assert!(args.input_files.is_empty());
    let t = args.transfer;
    let d = TransferOptions::default();
    assert_eq!(t.output_dir, None);
    assert_eq!(t.connections, Some(100));
    assert_eq!(t.per_host, None);
    assert_eq!(t.max_in_flight, None);
    assert!(t.keep_alive);
    assert_eq!(t.retries, 3);
    assert_eq!(t.retry_delay, Duration::from_millis(200));
    assert_eq!(t.connect_timeout, Duration::from_secs(10));
    assert_eq!(t.timeout, Duration::from_secs(30));
    assert_eq!(t.max_time, None);
    assert_eq!(t.speed_limit, None);
    assert_eq!(t.credentials, None);
    assert_eq!(t.max_redirects, 10);
    assert_eq!(t.max_filesize, None);
    assert_eq!(t.engine, Engine::Reactor);
    assert!(!t.quiet && !t.json && !t.events);
    assert_eq!(t.trace, None);
    assert_eq!(format!("{t:?}"), format!("{d:?}"));
}

#[test]
fn get_every_option() {
    let args = get(&[
        "http://h/a",
        "-o",
        "out",
        "-c",
        "7",
        "--per-host",
        "2",
        "--max-in-flight",
        "5",
        "--rate",
        "10/s",
        "--per-host-rate",
        "3/m",
        "--no-keepalive",
        "--retries",
        "0",
        "--retry-delay",
        "50",
        "--connect-timeout",
        "0.5",
        "--timeout",
        "2.25",
        "-u",
        "alice:pa:ss",
        "--max-redirects",
        "0",
        "--max-filesize",
        "1048576",
        "--engine",
        "threads",
        "-q",
        "--json",
        "--events",
        "--trace",
        "t.json",
        "-i",
        "urls.txt",
        "--input-file=-",
        "http://h/b",
    ]);
    assert_eq!(args.urls, ["http://h/a", "http://h/b"]);
    assert_eq!(
        args.input_files,
        [PathBuf::from("urls.txt"), PathBuf::from("-")]
    );
    let t = args.transfer;
    assert_eq!(t.output_dir, Some(PathBuf::from("out")));
    assert_eq!(t.connections, Some(7));
    assert_eq!(t.per_host, Some(2));
    assert_eq!(t.max_in_flight, Some(5));
    assert!(!t.keep_alive);
    assert_eq!(t.retries, 0);
    assert_eq!(t.retry_delay, Duration::from_millis(50));
    assert_eq!(t.connect_timeout, Duration::from_millis(500));
    assert_eq!(t.timeout, Duration::from_millis(2250));
    let credentials = t.credentials.unwrap();
    assert_eq!(
        (credentials.user.as_str(), credentials.password.as_str()),
        ("alice", "pa:ss")
    );
    assert_eq!(t.max_redirects, 0);
    assert_eq!(t.max_filesize, Some(1_048_576));
    assert_eq!(t.engine, Engine::Threads);
    assert!(t.quiet && t.json && t.events);
    assert_eq!(t.trace, Some(PathBuf::from("t.json")));
}

#[test]
fn lexopt_spellings() {
    // Attached values, `=`, clustered shorts, `--` ending the options, last one wins.
    let t = get(&["-c5", "--per-host=3", "-qc", "9", "--", "-not-an-option"]).transfer;
    assert_eq!(t.connections, Some(9));
    assert_eq!(t.per_host, Some(3));
    assert!(t.quiet);
    assert_eq!(get(&["--", "-not-an-option"]).urls, ["-not-an-option"]);
    let t = get(&["x", "-uuser:", "--user=a:b"]).transfer;
    assert_eq!(t.credentials.unwrap().user, "a");
    let t = get(&["x", "-u", ":"]).transfer;
    let c = t.credentials.unwrap();
    assert_eq!((c.user.as_str(), c.password.as_str()), ("", ""));
}

#[test]
fn zero_means_unlimited_and_engines() {
    let t = get(&["x", "-c", "0", "--per-host", "0", "--max-in-flight", "0"]).transfer;
    assert_eq!(
        (t.connections, t.per_host, t.max_in_flight),
        (None, None, None)
    );
    for (name, engine) in [
        ("reactor", Engine::Reactor),
        ("blocking", Engine::Blocking),
        ("threads", Engine::Threads),
    ] {
        assert_eq!(get(&["x", "--engine", name]).transfer.engine, engine);
    }
    let t = get(&["x", "--timeout", "1", "--connect-timeout", ".25"]).transfer;
    assert_eq!(t.timeout, Duration::from_secs(1));
    assert_eq!(t.connect_timeout, Duration::from_millis(250));
}

#[test]
fn max_time_and_speed_limit_take_curls_defaults() {
    let t = get(&["x", "--max-time", ".5"]).transfer;
    assert_eq!(t.max_time, Some(Duration::from_millis(500)));
    assert_eq!(t.speed_limit, None);
    let limit = |bytes_per_second, secs: f64| {
        Some(SpeedLimit {
            bytes_per_second,
            window: Duration::from_secs_f64(secs),
        })
    };
    // Only --speed-limit: --speed-time is 30 s; only --speed-time: the limit is 1 B/s.
    let t = get(&["x", "--speed-limit", "500"]).transfer;
    assert_eq!(t.speed_limit, limit(500, 30.0));
    let t = get(&["x", "--speed-time", "2"]).transfer;
    assert_eq!(t.speed_limit, limit(1, 2.0));
    // Both, in either order; given twice, the last wins.
    let t = get(&["x", "--speed-limit", "9", "--speed-time", "1.5"]).transfer;
    assert_eq!(t.speed_limit, limit(9, 1.5));
    let t = get(&["x", "--speed-time", "1.5", "--speed-limit", "9"]).transfer;
    assert_eq!(t.speed_limit, limit(9, 1.5));
    let argv = [
        "x",
        "--speed-limit",
        "9",
        "--speed-time",
        "4",
        "--speed-limit",
        "7",
    ];
    assert_eq!(get(&argv).transfer.speed_limit, limit(7, 4.0));
    let crawl = crawl(&["http://h/l", "--max-time", "3", "--speed-time", "5"]);
    assert_eq!(crawl.transfer.max_time, Some(Duration::from_secs(3)));
    assert_eq!(crawl.transfer.speed_limit, limit(1, 5.0));
}

#[test]
fn get_reads_only_input_files() {
    let args = get(&["-i", "-"]);
    assert!(args.urls.is_empty());
    assert_eq!(args.input_files, [PathBuf::from("-")]);
}

#[test]
fn crawl_defaults_and_options() {
    let args = crawl(&["http://h:5000/api/list_files"]);
    assert_eq!(args.crawl.list_url, "http://h:5000/api/list_files");
    assert_eq!(args.crawl.per_page, 5);
    assert_eq!(args.crawl.start, 0);
    assert_eq!(args.crawl.lookahead, 0);
    assert_eq!(args.crawl.item_url, "{origin}/api/download/{id}");
    assert_eq!(args.transfer.connections, Some(100));

    let args = crawl(&[
        "--per-page",
        "3",
        "--start",
        "10",
        "--lookahead",
        "2",
        "--item-url",
        "{origin}/get?id={id}",
        "http://h/list",
        "-c",
        "4",
        "--max-in-flight",
        "2",
        "--engine",
        "blocking",
    ]);
    assert_eq!(args.crawl.list_url, "http://h/list");
    assert_eq!(args.crawl.per_page, 3);
    assert_eq!(args.crawl.start, 10);
    assert_eq!(args.crawl.lookahead, 2);
    assert_eq!(args.crawl.item_url, "{origin}/get?id={id}");
    assert_eq!(args.transfer.connections, Some(4));
    assert_eq!(args.transfer.max_in_flight, Some(2));
    assert_eq!(args.transfer.engine, Engine::Blocking);

    // A GET style: its own default template unless one is given, wherever it is given.
    let args = crawl(&[
        "--pages",
        "cursor=/meta/next,after",
        "--items",
        "/data",
        "--item",
        "/links/self",
        "--page-size",
        "limit=50",
        "http://h/list",
    ]);
    assert_eq!(
        args.crawl.pages,
        crate::protocol::pager::Style::Cursor {
            pointer: "/meta/next".into(),
            param: "after".into()
        }
    );
    assert_eq!(args.crawl.item_url, "{url}");
    assert_eq!(args.crawl.items.as_deref(), Some("/data"));
    assert_eq!(args.crawl.item.as_deref(), Some("/links/self"));
    assert_eq!(args.crawl.page_size, Some(("limit".to_string(), 50)));
    let args = crawl(&[
        "--item-url",
        "{origin}/f/{id}",
        "--pages",
        "link",
        "http://h/list",
    ]);
    assert_eq!(args.crawl.item_url, "{origin}/f/{id}");
}

fn serve(args: &[&str]) -> ServeArgs {
    match run(&[&["serve"], args].concat()) {
        Ok(Command::Serve(serve)) => serve,
        other => panic!("{args:?}: {other:?}"),
    }
}

/// Equal configurations: `ServeConfig` has no `PartialEq` (a certificate has none), and
/// its `Debug` shows every field.
fn same(a: &ServeArgs, b: &ServeArgs) -> bool {
    format!("{a:?}") == format!("{b:?}")
}

#[test]
fn serve_defaults_and_options() {
    let defaults = ServeArgs {
        config: ServeConfig::default(),
        tls: false,
    };
    let d = &defaults.config;
    assert_eq!(
        (
            d.host.as_str(),
            d.port,
            d.files,
            d.lag,
            d.seed,
            d.faults.is_empty()
        ),
        ("127.0.0.1", 5000, 25, Duration::ZERO, 0, true),
        "docs/reference.md's defaults"
    );
    assert!(same(&serve(&[]), &defaults));
    let got = serve(&[
        "--host",
        "::1",
        "--port",
        "0",
        "--files",
        "0",
        "--lag",
        "0.3",
        "--seed",
        "42",
        "--fault",
        "503:0.5",
        "--fault",
        "reset-body",
    ]);
    // Without the tls feature these are all of the fields.
    #[allow(clippy::needless_update)]
    let expected = ServeArgs {
        config: ServeConfig {
            host: "::1".into(),
            port: 0,
            files: 0,
            lag: Duration::from_millis(300),
            seed: 42,
            faults: FaultPlan::parse("503:0.5,reset-body").unwrap(),
            ..Default::default()
        },
        tls: false,
    };
    assert!(same(&got, &expected), "{got:?}");
    #[cfg(feature = "tls")]
    assert!(serve(&["--tls"]).tls);
}

#[test]
fn verify_demo_timeline() {
    assert!(matches!(
        run(&["verify", "out/dir"]),
        Ok(Command::Verify(v)) if v.dir == Path::new("out/dir")
    ));
    let defaults = DemoOptions {
        files: 25,
        lag: Duration::from_millis(300),
        quiet: false,
        json: false,
        tls: false,
    };
    assert!(matches!(run(&["demo"]), Ok(Command::Demo(d)) if d == defaults));
    let expected = DemoOptions {
        files: 100,
        lag: Duration::ZERO,
        quiet: true,
        json: true,
        tls: false,
    };
    assert!(matches!(
        run(&["demo", "--files", "100", "--lag", "0", "-q", "--json"]),
        Ok(Command::Demo(d)) if d == expected
    ));
    let expected = TimelineArgs {
        trace: "run.json".into(),
        output: "run.svg".into(),
    };
    assert!(matches!(run(&["timeline", "run.json"]), Ok(Command::Timeline(t)) if t == expected));
    let expected = TimelineArgs {
        trace: "run.json".into(),
        output: "x.svg".into(),
    };
    assert!(matches!(
        run(&["timeline", "-o", "x.svg", "run.json"]),
        Ok(Command::Timeline(t)) if t == expected
    ));
}

#[test]
fn usage_errors_name_what_was_wrong() {
    let cases: &[(&[&str], &str)] = &[
        (&[], "missing command"),
        (&["fetch"], "unknown command 'fetch'"),
        (&["help", "fetch"], "unknown command 'fetch'"),
        (&["--bogus"], "unknown option '--bogus'"),
        (
            &["get", "x", "--bogus"],
            "unknown option '--bogus'; try 'miodl get --help'",
        ),
        (&["get", "x", "-Z"], "unknown option '-Z'"),
        (&["get"], "missing URL"),
        (&["get", "-q"], "missing URL"),
        (&["get", "x", "-c"], "missing value for -c"),
        (
            &["get", "x", "--connections"],
            "missing value for --connections",
        ),
        (
            &["get", "x", "-c", "abc"],
            "invalid value for --connections: 'abc' is not a whole number",
        ),
        (
            &["get", "x", "-c", "-1"],
            "invalid value for --connections: '-1' is negative",
        ),
        (
            &["get", "x", "-c", "1.5"],
            "--connections: '1.5' is not a whole number",
        ),
        (
            &["get", "x", "-c", ""],
            "--connections: '' is not a whole number",
        ),
        (
            &["get", "x", "-c", "99999999999999999999999"],
            "--connections: '99999999999999999999999' is too large",
        ),
        (
            &["get", "x", "--retries", "4294967296"],
            "--retries: '4294967296' is too large",
        ),
        (
            &["get", "x", "--retries", "+1"],
            "--retries: '+1' is not a whole number",
        ),
        (&["get", "x", "--per-host", "x"], "--per-host"),
        (
            &["get", "x", "--max-in-flight", "-5"],
            "--max-in-flight: '-5' is negative",
        ),
        (
            &["get", "x", "--retry-delay", "0.5"],
            "--retry-delay: '0.5' is not a whole number",
        ),
        (
            &["get", "x", "--retry-delay", "18446744073709551615"],
            "--retry-delay: '18446744073709551615' is more than 3600000 (1 hour)",
        ),
        (
            &["get", "x", "--retry-delay", "3600001"],
            "--retry-delay: '3600001' is more than 3600000 (1 hour)",
        ),
        (
            &["get", "x", "--timeout", "abc"],
            "--timeout: 'abc' is not a number of seconds",
        ),
        (
            &["get", "x", "--timeout", "-1"],
            "--timeout: '-1' is negative",
        ),
        (
            &["get", "x", "--timeout", "0"],
            "--timeout: must be more than 0 seconds",
        ),
        (
            &["get", "x", "--timeout", "nan"],
            "--timeout: 'nan' is not a number of seconds",
        ),
        (
            &["get", "x", "--timeout", "inf"],
            "is not a number of seconds",
        ),
        (
            &["get", "x", "--timeout", "1e3"],
            "is not a number of seconds",
        ),
        (
            &["get", "x", "--timeout", "1.2.3"],
            "is not a number of seconds",
        ),
        (
            &["get", "x", "--timeout", "."],
            "is not a number of seconds",
        ),
        (
            &["get", "x", "--timeout", "1".repeat(400).leak()],
            "is too large",
        ),
        (
            &["get", "x", "--connect-timeout", "0.0"],
            "--connect-timeout: must be more than 0",
        ),
        (
            &["get", "x", "--max-time", "0"],
            "invalid value for --max-time: must be more than 0 seconds",
        ),
        (
            &["get", "x", "--max-time", "-2"],
            "--max-time: '-2' is negative",
        ),
        (
            &["crawl", "http://h/l", "--max-time", "soon"],
            "--max-time: 'soon' is not a number of seconds",
        ),
        (&["get", "x", "--max-time"], "--max-time"),
        (
            &["get", "x", "--speed-limit", "0"],
            "invalid value for --speed-limit: must be at least 1",
        ),
        (
            &["get", "x", "--speed-limit", "1.5"],
            "--speed-limit: '1.5' is not a whole number",
        ),
        (
            &["get", "x", "--speed-limit", "1k"],
            "--speed-limit: '1k' is not a whole number",
        ),
        (
            &["get", "x", "--speed-time", "0"],
            "invalid value for --speed-time: must be more than 0 seconds",
        ),
        (
            &["get", "x", "--speed-time", "1e3"],
            "--speed-time: '1e3' is not a number of seconds",
        ),
        (&["get", "x", "--max-redirects", "many"], "--max-redirects"),
        (
            &["get", "x", "--max-filesize", "1M"],
            "--max-filesize: '1M' is not a whole number",
        ),
        (
            &["get", "x", "--engine", "async"],
            "--engine: 'async' is not one of reactor, blocking, threads",
        ),
        (&["get", "x", "--engine"], "missing value for --engine"),
        (&["get", "x", "-o", ""], "--output-dir: it is empty"),
        (
            &["get", "x", "--no-keepalive=yes"],
            "--no-keepalive does not take a value",
        ),
        (&["get", "x", "--json=1"], "--json does not take a value"),
        (
            &["get", "x", "--per-page", "3"],
            "unknown option '--per-page'",
        ),
        (&["get", "x", "-i"], "missing value for -i"),
        (&["crawl"], "missing LIST_URL"),
        (&["crawl", "-c", "4"], "missing LIST_URL"),
        (
            &["crawl", "a", "b"],
            "unexpected argument 'b'; try 'miodl crawl --help'",
        ),
        (
            &["crawl", "a", "--per-page", "0"],
            "--per-page: must be at least 1",
        ),
        (
            &["crawl", "a", "--per-page", "4294967296"],
            "--per-page: '4294967296' is too large",
        ),
        (
            &["crawl", "a", "--start", "-3"],
            "--start: '-3' is negative",
        ),
        (
            &["crawl", "a", "--lookahead", "x"],
            "--lookahead: 'x' is not a whole number",
        ),
        (
            &["crawl", "a", "--item-url", "{origin}/x"],
            "--item-url: '{origin}/x' contains neither {id} nor {url}",
        ),
        (
            &["crawl", "a", "--pages", "page=2"],
            "--pages: 'page=2' is not one of more, link",
        ),
        (
            &["crawl", "a", "--pages", "cursor=/next"],
            "cursor needs POINTER,PARAM",
        ),
        (
            &["crawl", "a", "--items", "results"],
            "--items: \"results\" is not a JSON Pointer",
        ),
        (
            &["crawl", "a", "--page-size", "n=0"],
            "--page-size: 'n=0' expected PARAM=N",
        ),
        (
            &["serve", "--pages", "pages"],
            "--pages: \"pages\" is not one of more, link",
        ),
        (&["crawl", "a", "-i", "f"], "unknown option '-i'"),
        (&["serve", "extra"], "unexpected argument 'extra'"),
        (
            &["serve", "--port", "65536"],
            "--port: '65536' is too large",
        ),
        (&["serve", "--port", "-1"], "--port: '-1' is negative"),
        (
            &["serve", "--lag", "0,3"],
            "--lag: '0,3' is not a number of seconds",
        ),
        (
            &["serve", "--seed", "s"],
            "--seed: 's' is not a whole number",
        ),
        (&["serve", "--host", ""], "--host: it is empty"),
        (&["serve", "--fault"], "missing value for --fault"),
        (&["serve", "--fault", ""], "--fault: it is empty"),
        (
            &["serve", "--fault", "503,bogus"],
            "invalid value for --fault: unknown fault kind 'bogus'",
        ),
        (&["serve", "--fault", "503:2"], "bad fault rate '2'"),
        (&["serve", "-c", "3"], "unknown option '-c'"),
        (&["verify"], "missing DIR"),
        (&["verify", "a", "b"], "unexpected argument 'b'"),
        (&["demo", "--files", "0"], "--files: must be at least 1"),
        (
            &["demo", "--lag", "x"],
            "--lag: 'x' is not a number of seconds",
        ),
        (&["demo", "x"], "unexpected argument 'x'"),
        (&["timeline"], "missing TRACE"),
        (
            &["timeline", "a.svg"],
            "--output: it would overwrite the TRACE file",
        ),
        (&["timeline", "a", "b"], "unexpected argument 'b'"),
        (&["timeline", "a", "-o"], "missing value for -o"),
    ];
    for (args, expected) in cases {
        let message = error(args);
        assert!(
            message.contains(expected),
            "{args:?}: {message:?} lacks {expected:?}"
        );
        assert!(!message.contains('\n'), "{args:?}: {message:?}");
    }
}

#[test]
fn values_are_escaped_and_shortened_in_errors() {
    let message = error(&["get", "x", "-c", "1\n2"]);
    assert!(message.contains("'1\\n2'"), "{message}");
    let long = "9x".repeat(100);
    let message = error(&["get", "x", "-c", &long]);
    assert!(message.contains("...'"), "{message}");
    assert!(message.len() < 200, "{message}");
}

#[test]
fn passwords_never_appear_in_errors() {
    let cases: &[&[&str]] = &[
        &["get", "x", "-u", "hunter2"],
        &["get", "x", "--user", "hunter2"],
        &["get", "x", "--user=hunter2"],
        &["get", "x", "-uhunter2"],
    ];
    for args in cases {
        let message = error(args);
        assert!(message.contains("--user"), "{message}");
        assert!(message.contains("expected USER:PASS"), "{message}");
        assert!(!message.contains("hunter2"), "{message}");
    }
    // The error after a good -u does not echo it either.
    let message = error(&["get", "x", "-u", "a:hunter2", "--bogus"]);
    assert!(!message.contains("hunter2"), "{message}");
    // Debug of the parsed options hides it.
    let t = get(&["x", "-u", "a:hunter2"]).transfer;
    assert!(!format!("{t:?}").contains("hunter2"));
}

#[cfg(unix)]
#[test]
fn non_utf8_arguments() {
    use std::os::unix::ffi::OsStringExt;
    let bad = || OsString::from_vec(vec![b'a', 0xff, b'b']);
    let parse_with = |args: Vec<OsString>| {
        let argv = std::iter::once(OsString::from("miodl")).chain(args);
        parse(argv)
    };
    let cases = [
        (vec![bad()], "command 'a\u{fffd}b' is not valid UTF-8"),
        (
            vec!["get".into(), bad()],
            "URL 'a\u{fffd}b' is not valid UTF-8",
        ),
        (
            vec!["crawl".into(), bad()],
            "LIST_URL 'a\u{fffd}b' is not valid UTF-8",
        ),
        (
            vec!["get".into(), "x".into(), "--engine".into(), bad()],
            "--engine: 'a\u{fffd}b' is not valid UTF-8",
        ),
        (
            vec!["get".into(), "x".into(), "-u".into(), bad()],
            "--user: it is not valid UTF-8",
        ),
    ];
    for (args, expected) in cases {
        let message = parse_with(args).unwrap_err().to_string();
        assert!(message.contains(expected), "{message:?} lacks {expected:?}");
    }
    // Paths may be any bytes the OS allows.
    let got = parse_with(vec!["get".into(), "x".into(), "-o".into(), bad()]);
    assert!(
        matches!(got, Ok(Command::Get(g)) if g.transfer.output_dir == Some(PathBuf::from(bad())))
    );
    let got = parse_with(vec!["verify".into(), bad()]);
    assert!(matches!(got, Ok(Command::Verify(v)) if v.dir.as_os_str() == bad()));
}

/// The library's builder has a method for every transfer option `get` and `crawl` parse,
/// and each one sets the same field to the same value the option does.
#[test]
fn the_downloader_has_a_method_for_every_transfer_option() {
    use crate::app::downloader::Downloader;
    let argv = [
        "http://h/a",
        "--output-dir",
        "out",
        "--connections",
        "7",
        "--per-host",
        "2",
        "--max-in-flight",
        "5",
        "--rate",
        "10/s",
        "--per-host-rate",
        "3/m",
        "--limit-rate",
        "200k",
        "--no-keepalive",
        "--retries",
        "0",
        "--retry-delay",
        "50",
        "--connect-timeout",
        "0.5",
        "--timeout",
        "2.25",
        "--max-time",
        "1.5",
        "--speed-limit",
        "1000",
        "--speed-time",
        "2.5",
        "--user",
        "alice:pa:ss",
        "--max-redirects",
        "0",
        "--max-filesize",
        "1048576",
        "--engine",
        "threads",
        "--quiet",
        "--json",
        "--events",
        "--trace",
        "t.json",
        "--verbose",
        "--failed",
        "failed.txt",
        "--shard",
        "1/4",
        "--cacert",
        "ca.pem",
        "--insecure",
        "--disk-threads",
        "3",
        "--pipeline",
        "8",
        "--remote-header-name",
        "--skip-existing",
        "--continue",
        "--resolve",
        "A.test:80:127.0.0.1,[::1]",
        "--ipv4",
        "--ipv6",
        "--input-file",
        "urls.txt",
        "--header",
        "X-Probe: 1",
        "--user-agent",
        "probe/2",
        "--compressed",
        "--proxy",
        "http://u:p@proxy.test:3128",
        "--noproxy",
        "local.test,10.0.0.1",
    ];
    for (_, long) in TRANSFER_OPTIONS {
        let option = format!("--{long}");
        assert!(
            argv.contains(&option.as_str()),
            "{option}: not in this test"
        );
    }
    let parsed = get(&argv);
    let built = Downloader::new("out")
        .connections(7)
        .per_host(2)
        .max_in_flight(5)
        .rate(10, Duration::from_secs(1))
        .per_host_rate(3, Duration::from_secs(60))
        .limit_rate(200 << 10)
        .keep_alive(false)
        .retries(0)
        .retry_delay(Duration::from_millis(50))
        .connect_timeout(Duration::from_millis(500))
        .timeout(Duration::from_millis(2250))
        .max_time(Duration::from_millis(1500))
        .speed_limit(1000, Duration::from_millis(2500))
        .credentials("alice", "pa:ss")
        .max_redirects(0)
        .max_filesize(1_048_576)
        .engine(Engine::Threads)
        .quiet(true)
        .json(true)
        .events(true)
        .trace("t.json")
        .verbose(true)
        .failed("failed.txt")
        .shard(1, 4)
        .cacert("ca.pem")
        .insecure(true)
        .disk_threads(3)
        .pipeline(8)
        .remote_header_name(true)
        .skip_existing(true)
        .resume(true)
        .resolve(
            "a.test",
            80,
            &[[127, 0, 0, 1].into(), std::net::Ipv6Addr::LOCALHOST.into()],
        )
        .ip_family(crate::model::resolve::Family::V6)
        .input_file("urls.txt")
        .header("X-Probe", "1")
        .user_agent("probe/2")
        .compressed(true)
        .proxy(crate::protocol::proxy::Proxy::parse("http://u:p@proxy.test:3128").unwrap())
        .noproxy("local.test,10.0.0.1");
    let (options, input_files) = built.planned();
    assert_eq!(options.headers, parsed.transfer.headers);
    assert_eq!(format!("{options:?}"), format!("{:?}", parsed.transfer));
    assert_eq!(options.credentials, parsed.transfer.credentials);
    assert_eq!(input_files, parsed.input_files);
    // And the defaults are the command line's, but for the output directory.
    let plain = Downloader::new("out");
    let (options, input_files) = plain.planned();
    let defaults = get(&["x", "-o", "out"]);
    assert_eq!(format!("{options:?}"), format!("{:?}", defaults.transfer));
    assert!(input_files.is_empty());
}

#[test]
fn dash_c_is_continue() {
    assert!(get(&["x", "-C"]).transfer.resume);
    assert!(!get(&["x"]).transfer.resume);
}

#[test]
fn dash_j_and_skip_existing_are_switches() {
    let parsed = get(&["x", "-J", "--skip-existing"]);
    assert!(parsed.transfer.remote_header_name);
    assert!(parsed.transfer.skip_existing);
    let plain = get(&["x"]);
    assert!(!plain.transfer.remote_header_name && !plain.transfer.skip_existing);
}

#[test]
fn limit_rate_takes_bytes_with_curls_suffixes() {
    for (text, bytes) in [
        ("1", 1u64),
        ("2000", 2000),
        ("200k", 200 << 10),
        ("200K", 200 << 10),
        ("2m", 2 << 20),
        ("2M", 2 << 20),
        ("1G", 1 << 30),
    ] {
        let parsed = get(&["x", "--limit-rate", text]);
        assert_eq!(parsed.transfer.limit_rate, Some(bytes), "{text}");
    }
    assert_eq!(get(&["x"]).transfer.limit_rate, None);
}

#[test]
fn proxies_come_from_the_command_line_or_the_environment_as_curl_reads_them() {
    use crate::protocol::proxy::{NoProxy, Proxy};
    let parsed = get(&["x", "-x", "127.0.0.1:3128", "--noproxy", "a.test"]);
    let p = Proxy::parse("http://127.0.0.1:3128").unwrap();
    assert_eq!(parsed.transfer.proxy.http.as_ref(), Some(&p));
    assert_eq!(parsed.transfer.proxy.https.as_ref(), Some(&p));
    assert!(parsed.transfer.proxy.no_proxy.covers("b.a.test"));
    for bad in ["socks5://u:secret@h:1080", "https://h", "socks4://h"] {
        let e = error(&["get", "x", "-x", bad]);
        assert!(
            e.contains("invalid value for --proxy") && e.contains("only http://"),
            "{e}"
        );
        assert!(!e.contains("secret"), "{e}");
    }

    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |name: &str| {
            pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        }
    };
    let from = |given: proxy_env::Given, pairs| {
        let mut t = TransferOptions::default();
        proxy_env::apply_env(&mut t, given, env(pairs)).map(|()| t.proxy)
    };
    let none = proxy_env::Given::default();
    let proxies = from(
        none,
        &[
            ("HTTP_PROXY", "http://upper:1"),
            ("HTTPS_PROXY", "http://secure:2"),
            ("ALL_PROXY", "http://all:3"),
            ("NO_PROXY", "*"),
        ],
    )
    .unwrap();
    // HTTP_PROXY is not read (curl's rule); all_proxy fills in.
    assert_eq!(proxies.http.unwrap().to_string(), "all:3");
    assert_eq!(proxies.https.unwrap().to_string(), "secure:2");
    assert_eq!(proxies.no_proxy, NoProxy::Everybody);
    let proxies = from(
        none,
        &[
            ("http_proxy", "plain:8"),
            ("https_proxy", ""),
            ("no_proxy", "x.test"),
            ("NO_PROXY", "*"),
        ],
    )
    .unwrap();
    assert_eq!(proxies.http.unwrap().to_string(), "plain:8");
    assert!(proxies.https.is_none(), "an empty variable is unset");
    assert_eq!(proxies.no_proxy, NoProxy::parse("x.test"));
    let e = from(none, &[("https_proxy", "socks5://u:secret@h:1080")]).unwrap_err();
    let e = e.to_string();
    assert!(
        e.contains("invalid proxy in https_proxy") && !e.contains("secret"),
        "{e}"
    );
    // -x and --noproxy beat the environment.
    let mut given = proxy_env::Given::default();
    given.note("proxy");
    given.note("noproxy");
    let mut t = TransferOptions::default();
    proxy_env::apply_env(
        &mut t,
        given,
        env(&[("http_proxy", "socks5://h"), ("no_proxy", "*")]),
    )
    .unwrap();
    assert!(t.proxy.http.is_none() && t.proxy.no_proxy == NoProxy::Nobody);
    // -x '' turns the proxy off.
    let parsed = get(&["x", "-x", "127.0.0.1:3128", "-x", ""]);
    assert!(!parsed.transfer.proxy.is_set());
}
