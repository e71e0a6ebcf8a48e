//! The seed's job end to end: `miodl crawl` against the reference server over loopback,
//! with each engine, and with the paging options (`--lookahead`, `--per-page`, `--start`).

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use miodl::app::verify::{verify, Problem};
use support::{
    crawl, list_url, names_in, reference, saved, sorted, verify_text, Run, ServerHandle,
};

const FILES: usize = 25;
const LAG: Duration = Duration::from_millis(50);

/// Every catalog id was downloaded exactly once, as the server counted.
fn assert_each_downloaded_once(server: &ServerHandle, ids: &[String], run: &Run) {
    let stats = server.stats();
    for id in ids {
        let n = stats.path_count(&format!("/api/download/{id}"));
        assert_eq!(n, 1, "id {id} downloaded {n} times\n{run}");
    }
}

fn assert_seed_run(run: &Run, engine: &str) {
    assert_eq!(run.status, Some(0), "{run}");
    let json = run.json();
    assert_eq!(json["engine"], engine, "{run}");
    assert_eq!(run.count("ok"), FILES as u64, "{run}");
    assert_eq!(run.count("failed"), 0, "{run}");
    assert_eq!(run.count("pages"), 5, "{run}");
    assert_eq!(run.count("extra_pages"), 0, "{run}");
    assert_eq!(run.count("retries"), 0, "{run}");
    assert_eq!(
        run.count("requests"),
        30,
        "5 pages + 25 files, nothing more\n{run}"
    );
}

#[test]
fn every_engine_saves_the_same_25_files_in_exactly_30_requests() {
    let mut outputs: Vec<(&str, BTreeMap<String, Vec<u8>>)> = Vec::new();
    for engine in ["reactor", "blocking", "threads"] {
        // A fresh server per engine so the per-path counts belong to one run.
        let server = reference().files(FILES).lag(LAG).seed(3).start();
        let dir = tempfile::tempdir().unwrap();
        let run = crawl(&list_url(&server), dir.path(), &["--engine", engine]);
        assert_seed_run(&run, engine);
        assert_eq!(verify_text(dir.path()), "ok: 25 files", "{run}");
        assert_eq!(names_in(dir.path()), sorted(server.ids()), "{run}");
        assert_each_downloaded_once(&server, server.ids(), &run);
        assert_eq!(server.stats().requests(), 30, "the server's count\n{run}");
        outputs.push((engine, saved(dir.path())));
    }
    let (first, reference_files) = &outputs[0];
    for (engine, files) in &outputs[1..] {
        assert_eq!(
            files, reference_files,
            "{engine} saved other names or bytes than {first}"
        );
    }
}

#[test]
fn lookahead_costs_only_its_extra_pages() {
    let server = reference().files(FILES).lag(LAG).seed(4).start();
    let dir = tempfile::tempdir().unwrap();
    let run = crawl(&list_url(&server), dir.path(), &["--lookahead", "8"]);
    assert_eq!(run.status, Some(0), "{run}");
    assert_eq!(verify_text(dir.path()), "ok: 25 files", "{run}");
    assert_eq!(run.count("ok"), 25, "{run}");
    let extra = run.count("extra_pages");
    assert_eq!(run.count("requests"), 30 + extra, "{run}");
    assert_eq!(run.count("pages"), 5 + extra, "{run}");
    assert_each_downloaded_once(&server, server.ids(), &run);
}

#[test]
fn per_page_3_takes_nine_pages() {
    let server = reference().files(FILES).lag(LAG).seed(5).start();
    let dir = tempfile::tempdir().unwrap();
    let run = crawl(&list_url(&server), dir.path(), &["--per-page", "3"]);
    assert_eq!(run.status, Some(0), "{run}");
    assert_eq!(verify_text(dir.path()), "ok: 25 files", "{run}");
    // 0, 3, ..., 24: nine pages, the last with one id and More: False.
    assert_eq!(run.count("pages"), 9, "{run}");
    assert_eq!(run.count("extra_pages"), 0, "{run}");
    assert_eq!(run.count("requests"), 9 + 25, "{run}");
    assert_each_downloaded_once(&server, server.ids(), &run);
}

#[test]
fn start_10_saves_exactly_the_ids_from_10_on() {
    let server = reference().files(FILES).lag(LAG).seed(6).start();
    let dir = tempfile::tempdir().unwrap();
    let run = crawl(&list_url(&server), dir.path(), &["--start", "10"]);
    assert_eq!(run.status, Some(0), "{run}");
    let tail = &server.ids()[10..];
    assert_eq!(names_in(dir.path()), sorted(tail), "{run}");
    assert_each_downloaded_once(&server, tail, &run);
    for id in &server.ids()[..10] {
        let n = server.stats().path_count(&format!("/api/download/{id}"));
        assert_eq!(n, 0, "{id} lies before --start but was downloaded\n{run}");
    }
    // Pages 10, 15, 20, then 15 files.
    assert_eq!(run.count("pages"), 3, "{run}");
    assert_eq!(run.count("requests"), 3 + 15, "{run}");
    let report = verify(dir.path()).unwrap();
    assert_eq!(
        report.problems,
        vec![Problem::Missing {
            first: 1,
            last: 10,
            total: 25
        }],
        "verify should miss exactly 1..10"
    );
}

#[test]
fn the_library_reports_the_same_crawl_in_process() {
    use miodl::app::run::CrawlOptions;
    use miodl::app::run::CrawlTask;
    use miodl::model::options::TransferOptions;
    let server = reference().files(FILES).seed(7).start();
    let dir = tempfile::tempdir().unwrap();
    let plan = miodl::app::run::prepare_crawl(CrawlTask {
        crawl: CrawlOptions::new(list_url(&server)),
        transfer: TransferOptions {
            output_dir: Some(dir.path().to_path_buf()),
            quiet: true,
            ..TransferOptions::default()
        },
    })
    .expect("a valid plan");
    let report = miodl::app::run::execute(
        plan,
        &miodl::model::stop::Stop::new(),
        miodl::app::run::Stderr::Silent,
    )
    .expect("run");
    assert_eq!(report.exit_code(), 0, "{report:?}");
    assert!(report.listing_complete, "{report:?}");
    assert_eq!(report.extra_pages, Some(0), "{report:?}");
    assert_eq!(report.summary.ok, 25, "{report:?}");
    assert_eq!(report.summary.requests, 30, "{report:?}");
    assert_eq!(report.summary.pages, 5, "{report:?}");
    assert_eq!(report.unfinished, 0, "{report:?}");
    assert_eq!(verify_text(dir.path()), "ok: 25 files");
    let json: serde_json::Value = serde_json::from_str(&report.json()).unwrap();
    assert_eq!(json["ok"], 25);
    assert_eq!(json["engine"], "reactor");
}

#[test]
fn the_pager_and_the_downloads_share_tight_limits_without_deadlock() {
    for (args, max_sockets, max_in_flight) in [
        (&["-c", "1"][..], 1, 1),
        (&["-c", "2", "--lookahead", "3"][..], 2, 2),
        (&["--max-in-flight", "2"][..], 100, 2),
        (&["--per-host", "3", "--lookahead", "8"][..], 3, 3),
    ] {
        let server = reference()
            .files(FILES)
            .lag(Duration::from_millis(10))
            .seed(8)
            .start();
        let dir = tempfile::tempdir().unwrap();
        let run = crawl(&list_url(&server), dir.path(), args);
        assert_eq!(run.status, Some(0), "{args:?}\n{run}");
        assert_eq!(verify_text(dir.path()), "ok: 25 files", "{args:?}\n{run}");
        assert_eq!(
            run.count("requests"),
            30 + run.count("extra_pages"),
            "{args:?}\n{run}"
        );
        assert_each_downloaded_once(&server, server.ids(), &run);
        let stats = server.stats();
        assert!(
            stats.max_open_connections() <= max_sockets,
            "{args:?}: the server saw {} sockets at once\n{run}",
            stats.max_open_connections()
        );
        assert!(
            stats.max_in_flight_requests() <= max_in_flight,
            "{args:?}: the server saw {} requests at once\n{run}",
            stats.max_in_flight_requests()
        );
    }
}

#[test]
fn no_keepalive_opens_one_socket_per_request() {
    let server = reference().files(FILES).seed(9).start();
    let dir = tempfile::tempdir().unwrap();
    let run = crawl(
        &list_url(&server),
        dir.path(),
        &["--no-keepalive", "-c", "5"],
    );
    assert_eq!(run.status, Some(0), "{run}");
    assert_eq!(verify_text(dir.path()), "ok: 25 files", "{run}");
    assert_eq!(run.count("requests"), 30, "{run}");
    assert_eq!(run.count("connections_opened"), 30, "{run}");
    assert_eq!(run.count("connections_reused"), 0, "{run}");
    assert_eq!(server.stats().connections_accepted(), 30, "{run}");
}
