//! A crawl's bounds (docs/reference.md, "Bounds"): `--max-pages N` ends a crawl normally
//! after N pages; three pages in a row without a new id end it with exit 1 and a line
//! naming the page; and pages are asked for only while few found files wait, so a list of
//! huge pages is not read ahead of its downloads. Against the test's own list server
//! (`support::list_server`), which records every page ask and how many downloads it had
//! answered by then.

mod support;

use support::list_server::{ListServer, Page};
use support::{crawl, names_in, Run};

fn ids(n: usize, seed: u64) -> Vec<String> {
    miodl::serve::catalog(n, seed)
}

/// A list that never ends: page `start` holds `per_page` ids of `catalog` from `start`,
/// `More: True` always (the catalog is long enough for the pages a test asks).
fn endless(catalog: &[String]) -> ListServer {
    let list = catalog.to_vec();
    ListServer::start(catalog.to_vec(), move |start, per_page| {
        let n = list.len() as u64;
        let (lo, hi) = (start.min(n) as usize, (start + per_page).min(n) as usize);
        Page::ids(&list[lo..hi], Page::more(true))
    })
}

fn lines_with<'r>(run: &'r Run, needle: &str) -> Vec<&'r str> {
    run.stderr_lines()
        .into_iter()
        .filter(|line| line.contains(needle))
        .collect()
}

#[test]
fn max_pages_ends_the_crawl_normally_and_says_so_once() {
    for engine in ["reactor", "threads"] {
        for lookahead in ["0", "3"] {
            let catalog = ids(100, 31);
            let server = endless(&catalog);
            let dir = tempfile::tempdir().unwrap();
            let extra = [
                "--per-page",
                "5",
                "--max-pages",
                "4",
                "--lookahead",
                lookahead,
                "--engine",
                engine,
            ];
            let run = crawl(&server.list_url(), dir.path(), &extra);
            let case = format!("--engine {engine} --lookahead {lookahead}");
            assert_eq!(run.status, Some(0), "{case}\n{run}");
            assert_eq!(
                lines_with(&run, "--max-pages"),
                ["miodl: stopped after --max-pages 4 pages; the list may have more"],
                "{case}\n{run}"
            );
            let mut asks = server.page_asks();
            asks.sort();
            assert_eq!(
                asks,
                [(0, 5), (5, 5), (10, 5), (15, 5)],
                "four pages, whatever the lookahead ({case})"
            );
            let names = names_in(dir.path());
            assert_eq!(names.len(), 20, "{case}\n{run}");
            for id in &catalog[..20] {
                assert!(names.contains(id), "{id} missing ({case})\n{run}");
            }
            let summary: serde_json::Value = serde_json::from_str(run.stdout.trim()).unwrap();
            assert_eq!(summary["pages"], 4, "{case}\n{run}");
            assert_eq!(summary["ok"], 20, "{case}\n{run}");
        }
    }
}

#[test]
fn max_pages_beyond_the_end_of_the_list_says_nothing() {
    let catalog = ids(7, 32);
    let list = catalog.clone();
    let server = ListServer::start(catalog.clone(), move |start, per_page| {
        let end = (start + per_page).min(7);
        let lo = start.min(7) as usize;
        Page::ids(&list[lo..end as usize], Page::more(end < 7))
    });
    let dir = tempfile::tempdir().unwrap();
    let run = crawl(&server.list_url(), dir.path(), &["--max-pages", "2"]);
    assert_eq!(run.status, Some(0), "{run}");
    assert_eq!(lines_with(&run, "--max-pages"), Vec::<&str>::new(), "{run}");
    assert_eq!(names_in(dir.path()).len(), 7, "{run}");
}

#[test]
fn a_server_repeating_the_same_page_with_more_true_ends_with_exit_1_naming_the_page() {
    for engine in ["reactor", "threads"] {
        let catalog = ids(5, 33);
        let list = catalog.clone();
        // Every page is the first page, and says there is more: forever.
        let server = ListServer::start(catalog.clone(), move |_, _| {
            Page::ids(&list, Page::more(true))
        });
        let dir = tempfile::tempdir().unwrap();
        let run = crawl(
            &server.list_url(),
            dir.path(),
            &["--per-page", "5", "--engine", engine, "--timeout", "10"],
        );
        assert_eq!(run.status, Some(1), "--engine {engine}\n{run}");
        let errors = lines_with(&run, "brought no new id");
        assert_eq!(errors.len(), 1, "--engine {engine}\n{run}");
        assert!(
            errors[0].contains(
                "page 4 (start=15) brought no new id, the 3rd in a row: the list may be going round in circles"
            ),
            "{}",
            errors[0]
        );
        assert!(errors[0].contains(&server.list_url()), "{}", errors[0]);
        assert_eq!(
            server.page_asks().len(),
            4,
            "bounded: the first page and three more"
        );
        // The files the first page found are still downloaded.
        let names = names_in(dir.path());
        assert_eq!(names.len(), 5, "--engine {engine}\n{run}");
    }
}

#[test]
fn with_huge_pages_the_next_page_waits_until_the_found_files_are_nearly_done() {
    // -c 2 and pages of 3,000 ids: the crawl may keep at most 1024 files waiting
    // (docs/reference.md), so page k is asked only once most of the files of the pages
    // before it were downloaded. Without the bound every page is asked at once.
    const PAGE: u64 = 3_000;
    let catalog = ids(3 * PAGE as usize, 34);
    let list = catalog.clone();
    let server = ListServer::start(catalog.clone(), move |start, per_page| {
        let n = list.len() as u64;
        let (lo, hi) = (start.min(n), (start + per_page).min(n));
        Page::ids(&list[lo as usize..hi as usize], Page::more(hi < n))
    });
    let dir = tempfile::tempdir().unwrap();
    let per_page = PAGE.to_string();
    let run = crawl(
        &server.list_url(),
        dir.path(),
        &["-c", "2", "--per-page", &per_page, "--timeout", "20"],
    );
    assert_eq!(run.status, Some(0), "{run}");
    assert_eq!(names_in(dir.path()).len(), 3 * PAGE as usize, "{run}");
    let at_asks = server.downloads_at_page_asks();
    assert_eq!(at_asks.len(), 3, "{at_asks:?}");
    for (k, &done) in at_asks.iter().enumerate().skip(1) {
        // Page k is asked with fewer than 1024 files waiting: at least k pages' worth of
        // files less 1024, less the two on the sockets (generous: 1100).
        let least = (k as u64 * PAGE).saturating_sub(1100);
        assert!(
            done >= least,
            "page {k} asked after only {done} downloads (expected at least {least}): {at_asks:?}"
        );
    }
}
