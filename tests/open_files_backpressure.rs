//! `EMFILE` in the middle of a run is backpressure (docs/reference.md, "Bounds"): a job
//! whose socket or staged file finds no descriptor waits for a socket to close and goes
//! again, without counting a try, and is never reported as a broken output.
//!
//! To meet the limit for real, the run and the server share this process (its own test
//! binary, so no other test feels the limit): the open-file limit is lowered to a few
//! hundred, soft and hard, and the test's server is in-process, so each of miodl's
//! sockets costs a second descriptor (the server's end) that miodl's sizing at start
//! cannot see. Sized for two descriptors per transfer, the pool meets `EMFILE` and must
//! shrink as it goes, for the reactor and for the threads engine.

mod support;

use std::time::Duration;

use miodl::{Downloader, Ending, Engine};
use support::scripted::*;
use support::*;

/// Files fetched by each engine.
const FILES: usize = 600;
/// The open-file limit of this process, soft and hard (above what it holds at start).
const LIMIT: u64 = 320;

/// Sets this process's open-file limit, soft and hard (it cannot be raised back).
fn lower_open_file_limit(limit: u64) {
    let limits = libc::rlimit {
        rlim_cur: limit,
        rlim_max: limit,
    };
    // SAFETY: setrlimit reads the struct it is given.
    let done = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limits) };
    assert_eq!(done, 0, "setrlimit: {}", std::io::Error::last_os_error());
}

#[test]
fn out_of_descriptors_mid_run_every_file_is_still_saved() {
    lower_open_file_limit(LIMIT);
    // The body comes in two parts, so each staged file stays open for a while.
    let server = Server::start(|req| {
        let answer = response(200, &[], req.path.as_bytes());
        let (first, rest) = answer.split_at(answer.len() - 2);
        (Script::new().write(first))
            .sleep(Duration::from_millis(20))
            .write(rest)
    });
    for engine in [Engine::Reactor, Engine::Threads] {
        let dir = out_dir();
        let urls: Vec<String> = (0..FILES)
            .map(|i| server.url(&format!("/f/{i}.txt")))
            .collect();
        let report = Downloader::new(dir.path())
            .engine(engine)
            .connections(1000)
            .retries(0)
            .get(urls.iter().map(String::as_str))
            .expect("the run starts");
        let summary = &report.summary;
        assert_eq!(report.ending, Ending::Finished, "{engine:?}: {summary:?}");
        assert_eq!(
            (summary.ok, summary.failed),
            (FILES as u64, 0),
            "{engine:?}"
        );
        assert_eq!(summary.retries, 0, "{engine:?}: waiting is not a try");
        assert_eq!(report.exit_code(), 0);
        assert_eq!(saved(dir.path()).len(), FILES, "{engine:?}");
        assert_no_temp_files(dir.path());
    }
}
