//! Reruns after SIGKILL: a crawl of 5,000 ids is killed at three random moments and run
//! again with `--skip-existing` each time. In the end every id is saved exactly once and
//! byte-right, and the server saw at most 5,000 download requests plus the ones in
//! flight at each kill (at most `--max-in-flight` per kill): nothing saved is fetched
//! again, whatever moment the kill came.

mod support;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use support::{crawl, list_url, names_in, reference, start, verify_text, PATIENCE};

const FILES: usize = 5_000;
const IN_FLIGHT: u64 = 8;

/// A number in `0..n`, different each run (the moments are printed on failure).
fn random_below(n: usize, salt: usize) -> usize {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as usize;
    (nanos ^ salt.wrapping_mul(0x9e37_79b9)).wrapping_mul(2654435761) % n
}

fn killed_three_times_then_finished(engine: &str) {
    let server = reference()
        .files(FILES)
        .lag(Duration::from_millis(1))
        .start();
    let out = tempfile::tempdir().unwrap();
    let url = list_url(&server);
    let out_s = out.path().to_str().unwrap();
    let in_flight = IN_FLIGHT.to_string();
    let args = [
        "crawl",
        &url,
        "-q",
        "-o",
        out_s,
        "--skip-existing",
        "--engine",
        engine,
        "-c",
        &in_flight,
        "--max-in-flight",
        &in_flight,
        "--lookahead",
        "4",
    ];
    let saved = || {
        names_in(out.path())
            .iter()
            .filter(|n| !n.starts_with('.'))
            .count()
    };
    let mut moments = Vec::new();
    for kill in 0..3 {
        // Somewhere in the kill's own quarter of the ids, so each run has work to do.
        let quarter = FILES / 4;
        let target = quarter * kill + quarter / 5 + random_below(quarter * 3 / 5, kill);
        let mut running = start(&args);
        let since = Instant::now();
        while saved() < target {
            assert!(
                since.elapsed() < PATIENCE * 3,
                "{engine}: never reached {target} files ({} saved)",
                saved()
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        running.kill();
        let _ = running.wait(PATIENCE);
        let now = saved();
        moments.push((target, now));
        assert!(
            now < FILES,
            "{engine}: the kill came too late to test anything: {moments:?}"
        );
    }

    let last = crawl(&url, out.path(), &["--skip-existing", "--engine", engine]);
    assert_eq!(last.status, Some(0), "{last}");
    assert_eq!(verify_text(out.path()), format!("ok: {FILES} files"));
    let stats = server.stats();
    let mut total = 0;
    for id in server.ids() {
        let n = stats.path_count(&format!("/api/download/{id}"));
        assert!((1..=4).contains(&n), "{id} downloaded {n} times");
        total += n;
    }
    assert!(
        total <= FILES as u64 + 3 * IN_FLIGHT,
        "{engine}: {total} downloads for {FILES} files, killed at {moments:?} (saved counts)"
    );
    server.shutdown().unwrap();
}

#[test]
fn a_crawl_killed_three_times_saves_every_id_once_on_the_reactor() {
    killed_three_times_then_finished("reactor");
}

#[test]
fn a_crawl_killed_three_times_saves_every_id_once_on_threads() {
    killed_three_times_then_finished("threads");
}
