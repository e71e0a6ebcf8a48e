//! `miodl crawl` against list APIs that misbehave: capped pages, duplicates, no `More`
//! header, an early empty page, hostile and odd ids, malformed JSON. Each story runs
//! once without lookahead and once with `--lookahead 3`; the test's own server
//! (`support::list_server`) counts every download per id and checks every request
//! line that reaches it.

mod support;

use std::collections::HashMap;
use std::fs;

use serde_json::{json, Value};
use support::list_server::{ListServer, Page};
use support::{crawl, names_in, saved, sorted, verify_text, Run};

const LOOKAHEADS: [Option<&str>; 2] = [None, Some("3")];

fn ids(n: usize, seed: u64) -> Vec<String> {
    miodl::serve::catalog(n, seed)
}

fn run_crawl(server: &ListServer, dir: &std::path::Path, lookahead: Option<&str>) -> Run {
    let mut extra = vec!["--retry-delay", "10", "--timeout", "10"];
    if let Some(k) = lookahead {
        extra.extend(["--lookahead", k]);
    }
    crawl(&server.list_url(), dir, &extra)
}

/// The story most tests end with: the crawl exits 0, `verify` passes on 25 files, each id
/// of `catalog` was downloaded exactly once, and the server saw nothing it should not.
fn crawl_saves_every_id(server: &ListServer, catalog: &[String], lookahead: Option<&str>) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let run = run_crawl(server, dir.path(), lookahead);
    assert_eq!(run.status, Some(0), "lookahead {lookahead:?}\n{run}");
    assert_eq!(verify_text(dir.path()), "ok: 25 files", "{run}");
    assert_downloads_exactly(server, catalog, &run);
    assert_no_problems(server, &run);
    run
}

/// Each id in `expected` downloaded exactly once, and nothing else downloaded.
fn assert_downloads_exactly(server: &ListServer, expected: &[String], run: &Run) {
    let downloads = server.downloads();
    let mut wanted: HashMap<String, u64> = HashMap::new();
    for id in expected {
        wanted.insert(id.clone(), 1);
    }
    assert_eq!(
        downloads,
        wanted,
        "downloads per id (left: seen by the server)\npages asked: {:?}\n{run}",
        server.page_asks()
    );
}

fn assert_no_problems(server: &ListServer, run: &Run) {
    assert_eq!(
        server.problems(),
        Vec::<String>::new(),
        "requests the server should never have seen\n{run}"
    );
}

/// `ids[lo..hi]`, clamped to the catalog.
fn slice(ids: &[String], lo: u64, hi: u64) -> &[String] {
    let n = ids.len() as u64;
    &ids[lo.min(n) as usize..hi.min(n) as usize]
}

#[test]
fn a_server_capping_pages_at_3_still_yields_every_id_once() {
    for lookahead in LOOKAHEADS {
        let catalog = ids(25, 11);
        let list = catalog.clone();
        let server = ListServer::start(catalog.clone(), move |start, per_page| {
            let n = per_page.min(3);
            let end = start + n;
            Page::ids(slice(&list, start, end), Page::more(end < 25))
        });
        crawl_saves_every_id(&server, &catalog, lookahead);
        // Asked for 5 at first; once the cap is learned, never more than 3.
        let asks = server.page_asks();
        assert!(asks.contains(&(0, 5)), "{asks:?}");
        if lookahead.is_none() {
            assert!(
                asks[1..].iter().all(|&(_, p)| p <= 3),
                "per_page after the cap was learned: {asks:?}"
            );
        }
    }
}

#[test]
fn duplicates_across_pages_are_downloaded_once() {
    for lookahead in LOOKAHEADS {
        let catalog = ids(25, 12);
        let list = catalog.clone();
        let server = ListServer::start(catalog.clone(), move |start, per_page| {
            // Each page repeats the last id of the page before and the very first id.
            let mut page: Vec<String> =
                slice(&list, start.saturating_sub(1), start + per_page).to_vec();
            if start > 0 {
                page.push(list[0].clone());
            }
            Page::ids(&page, Page::more(start + per_page < 25))
        });
        let run = crawl_saves_every_id(&server, &catalog, lookahead);
        assert_eq!(run.count("ok"), 25, "{run}");
    }
}

#[test]
fn without_a_more_header_a_full_last_page_is_followed_by_one_probe() {
    for lookahead in LOOKAHEADS {
        let catalog = ids(25, 13);
        let list = catalog.clone();
        let server = ListServer::start(catalog.clone(), move |start, per_page| {
            Page::ids(slice(&list, start, start + per_page), None)
        });
        let run = crawl_saves_every_id(&server, &catalog, lookahead);
        let asks = server.page_asks();
        assert!(
            asks.iter().any(|&(s, _)| s == 25),
            "the empty page at 25 proves the end: {asks:?}"
        );
        if lookahead.is_none() {
            // 0, 5, 10, 15, 20 and the probe at 25.
            assert_eq!(asks.len(), 6, "{asks:?}");
            assert_eq!(run.count("requests"), 6 + 25, "{run}");
        }
    }
}

#[test]
fn an_early_empty_page_ends_the_listing_even_with_more_true() {
    for lookahead in LOOKAHEADS {
        let catalog = ids(25, 14);
        let list = catalog.clone();
        let server = ListServer::start(catalog.clone(), move |start, per_page| {
            // The list "ends" at 10 but the server keeps saying More: True.
            let page = if start >= 10 {
                &[][..]
            } else {
                slice(&list, start, start + per_page)
            };
            Page::ids(page, Page::more(true))
        });
        let dir = tempfile::tempdir().unwrap();
        let run = run_crawl(&server, dir.path(), lookahead);
        assert_eq!(run.status, Some(0), "lookahead {lookahead:?}\n{run}");
        assert_eq!(names_in(dir.path()), sorted(&catalog[..10]), "{run}");
        assert_downloads_exactly(&server, &catalog[..10], &run);
        assert_no_problems(&server, &run);
        let asks = server.page_asks();
        if lookahead.is_none() {
            assert_eq!(asks, vec![(0, 5), (5, 5), (10, 5)], "{run}");
        } else {
            assert!(
                asks.len() <= 3 + 3,
                "at most the lookahead beyond the empty page: {asks:?}"
            );
        }
    }
}

/// Entries no careful client may turn into a file name or a request line, with the
/// number of stderr warnings each should cause (one).
fn hostile_entries() -> Vec<Value> {
    vec![
        json!("a/b"),
        json!(".."),
        json!("."),
        json!(""),
        json!("x\u{0}y"),
        json!("x\r\nHost: evil"),
        json!("z".repeat(300)),
        json!("../escaped"),
        json!("/etc/passwd"),
        json!("back\\slash"),
        json!(".hidden"),
        json!(42),
        json!(null),
        json!({"id": "0123"}),
        json!(["nested"]),
        json!(true),
    ]
}

#[test]
fn hostile_ids_are_refused_and_the_good_ones_saved() {
    for lookahead in LOOKAHEADS {
        let good = ids(12, 15);
        let bad = hostile_entries();
        // Interleave: good, bad, good, bad, ... then the rest.
        let mut entries: Vec<Value> = Vec::new();
        let (mut g, mut b) = (good.iter(), bad.iter());
        loop {
            let (x, y) = (g.next(), b.next());
            if x.is_none() && y.is_none() {
                break;
            }
            entries.extend(x.map(|s| json!(s)));
            entries.extend(y.cloned());
        }
        let total = entries.len() as u64;
        let server = ListServer::start(good.clone(), move |start, per_page| {
            let lo = start.min(total) as usize;
            let hi = (start + per_page).min(total) as usize;
            Page::of(&entries[lo..hi], Page::more(start + per_page < total))
        });
        let parent = tempfile::tempdir().unwrap();
        let out = parent.path().join("out");
        let run = run_crawl(&server, &out, lookahead);
        assert!(
            matches!(run.status, Some(0 | 1)),
            "refused ids are not a crash or a usage error\n{run}"
        );
        // The good ones, each once, under their own names, and nothing else anywhere.
        assert_downloads_exactly(&server, &good, &run);
        assert_no_problems(&server, &run);
        assert_eq!(names_in(&out), sorted(&good), "{run}");
        assert_eq!(verify_text(&out), "ok: 12 files", "{run}");
        assert_eq!(
            names_in(parent.path()),
            vec!["out".to_string()],
            "something was written beside the output directory\n{run}"
        );
        assert!(fs::metadata("/etc/passwd").is_ok_and(|m| m.len() > 0));
        // Each bad entry named once on stderr, escaped: no raw control bytes.
        let warnings: Vec<&str> = (run.stderr_lines().into_iter())
            .filter(|l| l.contains("skipped id") || l.contains("rejected id"))
            .collect();
        assert_eq!(
            warnings.len(),
            bad.len(),
            "one warning per bad entry\n{run}"
        );
        assert!(
            !run.stderr.contains(['\r', '\0']),
            "raw control bytes on stderr\n{run}"
        );
        assert_eq!(run.count("rejected_ids"), bad.len() as u64, "{run}");
        assert_eq!(run.count("ok"), 12, "{run}");
    }
}

#[test]
fn odd_but_safe_ids_are_percent_encoded_and_saved_under_their_own_names() {
    for lookahead in LOOKAHEADS {
        let mut catalog: Vec<String> = [
            "a b",
            "q?x=1",
            "h#frag",
            "100%",
            "plus+sign",
            "amp&er",
            "colon:semi;",
            "é-ü",
            "日本語",
            "emoji-🦀",
            "tilde~dash-dot.under_",
            "UPPER",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        catalog.extend(ids(3, 16));
        let list = catalog.clone();
        let n = catalog.len() as u64;
        let server = ListServer::start(catalog.clone(), move |start, per_page| {
            Page::ids(
                slice(&list, start, start + per_page),
                Page::more(start + per_page < n),
            )
        });
        let dir = tempfile::tempdir().unwrap();
        let run = run_crawl(&server, dir.path(), lookahead);
        assert_eq!(run.status, Some(0), "lookahead {lookahead:?}\n{run}");
        // The server decodes each target and found exactly these ids, each once; any
        // raw space, ?, # or non-ASCII byte in a target is one of its problems.
        assert_downloads_exactly(&server, &catalog, &run);
        assert_no_problems(&server, &run);
        let files = saved(dir.path());
        assert_eq!(names_in(dir.path()), sorted(&catalog), "{run}");
        for (i, id) in catalog.iter().enumerate() {
            let want = format!("{} of {}", i + 1, catalog.len());
            assert_eq!(files[id], want.as_bytes(), "content of {id:?}");
        }
    }
}

#[test]
fn malformed_json_fails_the_listing_with_one_line_naming_the_list_url() {
    for lookahead in LOOKAHEADS {
        let catalog = ids(25, 17);
        let list = catalog.clone();
        let server = ListServer::start(catalog.clone(), move |start, per_page| {
            if start == 5 {
                return Page {
                    body: "{\"urls\": [\"abc\", ".to_string(),
                    more: Page::more(true),
                };
            }
            Page::ids(
                slice(&list, start, start + per_page),
                Page::more(start + per_page < 25),
            )
        });
        let dir = tempfile::tempdir().unwrap();
        let run = run_crawl(&server, dir.path(), lookahead);
        assert_eq!(run.status, Some(1), "lookahead {lookahead:?}\n{run}");
        let url = server.list_url();
        let errors: Vec<&str> = (run.stderr_lines().into_iter())
            .filter(|l| l.contains(&url))
            .collect();
        assert_eq!(errors.len(), 1, "one line naming {url}\n{run}");
        assert!(
            errors[0].to_ascii_lowercase().contains("json"),
            "the line says what was wrong: {}",
            errors[0]
        );
        // The first page's ids were saved; nothing of the broken page; no retry of it.
        let names = names_in(dir.path());
        for id in &catalog[..5] {
            assert!(names.contains(id), "{id} from page 1 missing\n{run}");
        }
        for id in &catalog[5..10] {
            assert!(
                !names.contains(id),
                "{id} from the broken page saved\n{run}"
            );
        }
        let asks_of_5 = server.page_asks().iter().filter(|a| a.0 == 5).count();
        assert_eq!(asks_of_5, 1, "a malformed page is not retried\n{run}");
        if lookahead.is_none() {
            assert_eq!(sorted(&names), sorted(&catalog[..5]), "{run}");
        }
        assert!(
            names.iter().all(|n| !n.starts_with('.')),
            "temp files left: {names:?}"
        );
        assert_no_problems(&server, &run);
    }
}
