//! Usage errors of `miodl crawl`: exit status 2, one line naming the problem, and
//! nothing downloaded (the server sees no connection, no output directory appears).

mod support;

use support::{list_url, miodl, reference, Run};

/// Runs `miodl crawl ARGS... -o <fresh dir>/out` against a live server and checks the
/// usage error; returns the run for more checks.
fn assert_usage_error(args: &[&str], names: &str) -> Run {
    let server = reference().files(5).seed(41).start();
    let parent = tempfile::tempdir().unwrap();
    let out = parent.path().join("out");
    let url = list_url(&server);
    let mut argv: Vec<String> = vec!["crawl".into()];
    for a in args {
        argv.push(
            a.replace("{list}", &url)
                .replace("{addr}", &server.addr().to_string()),
        );
    }
    argv.extend(["-o".into(), out.to_str().unwrap().into(), "-q".into()]);
    let run = miodl(&argv);
    assert_eq!(run.status, Some(2), "{run}");
    assert_eq!(run.stdout, "", "{run}");
    let lines = run.stderr_lines();
    assert_eq!(lines.len(), 1, "one line on stderr\n{run}");
    assert!(
        lines[0].contains(names),
        "the error should name {names:?}\n{run}"
    );
    assert!(
        !out.exists(),
        "a usage error created the output directory\n{run}"
    );
    let stats = server.stats();
    assert_eq!(stats.connections_accepted(), 0, "{run}");
    assert_eq!(stats.requests(), 0, "{run}");
    run
}

#[test]
fn a_missing_list_url_is_a_usage_error() {
    assert_usage_error(&["--per-page", "3"], "LIST_URL");
}

#[cfg(not(feature = "tls"))]
#[test]
fn an_https_list_url_is_a_usage_error() {
    let run = assert_usage_error(&["https://{addr}/api/list_files"], "https");
    assert!(!run.stderr.contains("panicked"), "{run}");
}

#[test]
fn other_schemes_are_usage_errors_too() {
    assert_usage_error(&["ftp://{addr}/api/list_files"], "ftp");
}

#[test]
fn per_page_0_is_a_usage_error() {
    assert_usage_error(&["{list}", "--per-page", "0"], "--per-page");
}

#[test]
fn a_lookahead_that_is_not_a_number_is_a_usage_error() {
    assert_usage_error(&["{list}", "--lookahead", "abc"], "--lookahead");
}

#[test]
fn a_missing_option_value_is_a_usage_error() {
    assert_usage_error(&["{list}", "--start"], "--start");
}

#[test]
fn an_unknown_option_is_a_usage_error() {
    assert_usage_error(&["{list}", "--pages-per-minute", "3"], "--pages-per-minute");
}

#[test]
fn a_second_list_url_is_a_usage_error() {
    assert_usage_error(&["{list}", "{list}"], "unexpected argument");
}
