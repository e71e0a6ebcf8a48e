//! The library's face, seen from another crate, through the crate root alone: a run
//! that cannot start says why as a [`StartError`] an embedder can match on (and nothing
//! is downloaded or created), and a run that does hands each file to the handler.

use std::fs;
use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use miodl::app::run::{execute, prepare_crawl, prepare_get, CrawlTask, GetTask, Stderr};
use miodl::serve::{self, ServeConfig};
use miodl::{
    CrawlOptions, Downloader, Ending, FileHandler, JobError, SavedFile, StartError, Stop,
    TransferOptions, Url, UrlError,
};

fn get_task(urls: &[&str], input_files: Vec<PathBuf>) -> GetTask {
    GetTask {
        urls: urls.iter().map(|u| u.to_string()).collect(),
        input_files,
        transfer: TransferOptions::default(),
    }
}

#[test]
fn a_url_miodl_cannot_fetch_is_a_url_error_and_nothing_is_created() {
    let scratch = tempfile::tempdir().unwrap();
    let out = scratch.path().join("out");
    let err = Downloader::new(&out)
        .get(["http://127.0.0.1:9/a", "ftp://host/file"])
        .unwrap_err();
    match &err {
        StartError::Url(UrlError::UnsupportedScheme { scheme, url }) => {
            assert_eq!((scheme.as_str(), url.as_str()), ("ftp", "ftp://host/file"));
        }
        other => panic!("{other:?}"),
    }
    assert!(
        err.to_string().starts_with("unsupported scheme \"ftp\""),
        "{err}"
    );
    assert!(std::error::Error::source(&err).is_some());
    assert!(!out.exists(), "a usage error creates no output directory");
}

#[test]
fn a_missing_input_file_names_the_file() {
    let scratch = tempfile::tempdir().unwrap();
    let missing = scratch.path().join("no-such-list.txt");
    let Err(err) = prepare_get(get_task(&[], vec![missing.clone()])) else {
        panic!("a missing list must not prepare");
    };
    match &err {
        StartError::InputFile { path, error } => {
            assert_eq!(path, &missing);
            assert_eq!(error.kind(), io::ErrorKind::NotFound);
        }
        other => panic!("{other:?}"),
    }
    assert!(
        err.to_string()
            .starts_with(&format!("cannot read {}: ", missing.display())),
        "{err}"
    );
}

#[test]
fn a_bad_line_of_an_input_file_names_the_file_and_the_line() {
    let scratch = tempfile::tempdir().unwrap();
    let list = scratch.path().join("urls.txt");
    fs::write(
        &list,
        "http://127.0.0.1:9/a\n\n# a comment\nexample.com/b\n",
    )
    .unwrap();
    let Err(err) = prepare_get(get_task(&["http://127.0.0.1:9/z"], vec![list.clone()])) else {
        panic!("a bad line must not prepare");
    };
    match &err {
        StartError::InputLine { file, line, error } => {
            assert_eq!((file, *line), (&list, 4));
            assert!(matches!(error, UrlError::MissingScheme { .. }), "{error:?}");
        }
        other => panic!("{other:?}"),
    }
    assert!(
        err.to_string()
            .starts_with(&format!("{}:4: missing scheme", list.display())),
        "{err}"
    );
}

/// The list is read twice: checked whole before the run, read again as it goes. Lines
/// that change in between, into ones that no longer check (some sharing the checked
/// `scheme://host:port` text up to where they go wrong), are failures of their own, in
/// every engine; the good lines are fetched.
#[test]
fn a_list_changed_after_its_check_fails_its_bad_lines_and_fetches_the_rest() {
    let server = serve::spawn(ServeConfig {
        port: 0,
        ..ServeConfig::default()
    })
    .unwrap();
    let base = server.base_url();
    for engine in [
        miodl::Engine::Reactor,
        miodl::Engine::Threads,
        miodl::Engine::Blocking,
    ] {
        let dir = tempfile::tempdir().unwrap();
        let list = dir.path().join("list.txt");
        let good: Vec<String> = (10..15).map(|n| format!("{base}/bytes/{n}")).collect();
        fs::write(&list, good.join("\n")).unwrap();
        let mut task = get_task(&[], vec![list.clone()]);
        task.transfer.output_dir = Some(dir.path().join("out"));
        task.transfer.engine = engine;
        task.transfer.retries = 0;
        let plan = prepare_get(task).expect("every line checks");
        let changed = [
            format!("{base}/bytes/10"),
            format!("{base}/bytes/1 1"),
            format!("{base}@evil.test/bytes/12"),
            format!("{base}0/bytes/13"),
            format!("{base}/bytes/14#a b"),
            format!("{base}/bytes/15"),
        ];
        fs::write(&list, changed.join("\n")).unwrap();
        let report = execute(plan, &Stop::new(), Stderr::Silent).expect("the run starts");
        let summary = &report.summary;
        assert_eq!((summary.ok, summary.failed), (2, 4), "{engine:?}");
        let mut saved: Vec<_> = fs::read_dir(dir.path().join("out"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        saved.sort();
        assert_eq!(saved, ["10", "15"], "{engine:?}");
    }
}

#[test]
fn a_bad_list_url_does_not_crawl() {
    let task = CrawlTask {
        crawl: CrawlOptions::new("localhost:5000/api/list_files"),
        transfer: TransferOptions::default(),
    };
    let Err(err) = prepare_crawl(task) else {
        panic!("a bad list URL must not prepare");
    };
    assert!(
        matches!(err, StartError::Url(UrlError::MissingScheme { .. })),
        "{err:?}"
    );
}

#[test]
fn an_output_directory_that_cannot_be_made_is_an_output_dir_error() {
    let scratch = tempfile::tempdir().unwrap();
    let file = scratch.path().join("a-file");
    fs::write(&file, "not a directory").unwrap();
    let out = file.join("out");
    let err = Downloader::new(&out)
        .get(["http://127.0.0.1:9/a"])
        .unwrap_err();
    match &err {
        StartError::OutputDir { path, .. } => assert_eq!(path, &out),
        other => panic!("{other:?}"),
    }
    assert!(
        err.to_string().starts_with(&format!(
            "cannot create output directory {}: ",
            out.display()
        )),
        "{err}"
    );
}

#[cfg(feature = "tls")]
#[test]
fn a_cacert_that_is_not_there_is_a_tls_error_before_any_byte() {
    use miodl::TlsError;
    let scratch = tempfile::tempdir().unwrap();
    let mut task = get_task(&["https://127.0.0.1:9/a"], Vec::new());
    task.transfer.cacert = Some(scratch.path().join("missing.pem"));
    let Err(err) = prepare_get(task) else {
        panic!("a missing --cacert must not prepare");
    };
    assert!(
        matches!(err, StartError::Tls(TlsError::CaFile { .. })),
        "{err:?}"
    );
    assert!(err.to_string().starts_with("cannot use --cacert "), "{err}");
}

/// What a handler saw: `(url, bytes)` saved, `(url, error)` failed.
#[derive(Default)]
struct Seen {
    saved: Vec<(String, u64)>,
    failed: Vec<(String, String)>,
}

struct Recorder(Arc<Mutex<Seen>>);

impl FileHandler for Recorder {
    fn saved(&mut self, file: &SavedFile<'_>) {
        assert!(
            file.path.is_file(),
            "{} is not there yet",
            file.path.display()
        );
        let mut seen = self.0.lock().unwrap();
        seen.saved.push((file.url.to_string(), file.bytes));
    }

    fn failed(&mut self, url: &Url, error: &JobError) {
        // The enum is non-exhaustive: outside the crate a match needs its `_` arm.
        let cause = match error {
            JobError::TooLarge(limit) => format!("too large: {limit}"),
            other => other.to_string(),
        };
        self.0.lock().unwrap().failed.push((url.to_string(), cause));
    }
}

#[test]
fn the_builder_runs_with_the_command_lines_options_and_the_handler_sees_each_file() {
    let server = serve::spawn(ServeConfig {
        port: 0,
        ..ServeConfig::default()
    })
    .unwrap();
    let small = format!("{}/bytes/10", server.base_url());
    let large = format!("{}/bytes/5000", server.base_url());
    let dir = tempfile::tempdir().unwrap();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let report = Downloader::new(dir.path())
        .connections(1)
        .retries(0)
        .max_filesize(1000)
        .max_redirects(0)
        .on_file(Recorder(Arc::clone(&seen)))
        .get([small.as_str(), large.as_str()])
        .expect("the run starts");
    assert_eq!(report.ending, Ending::Finished);
    assert_eq!((report.summary.ok, report.summary.failed), (1, 1));
    assert_eq!(report.exit_code(), 1);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.saved, [(small, 10)]);
    assert_eq!(seen.failed, [(large, "too large: 1000".to_string())]);
}
