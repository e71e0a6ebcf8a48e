//! `miodl crawl --pages STYLE` on loopback: every `GET` paging style against `miodl
//! serve --pages` (both engines, with and without lookahead), and against the test's own
//! list server (`support::list_server`, pages written a few bytes at a time) for the
//! stories real APIs tell: a relative next URL, a last page that is empty, items
//! repeated across pages, a capped page size, a list that loops, malformed JSON, a page
//! of the wrong shape. Each id is downloaded exactly once.

mod support;

use std::collections::HashMap;

use miodl::serve::{self, ServeConfig, ServePages};
use serde_json::json;
use support::list_server::{GetPage, ListServer};
use support::{crawl, names_in, sorted, verify_text, Run};

fn ids(n: usize) -> Vec<String> {
    miodl::serve::catalog(n, 11)
}

/// The query parameter `name` of a request target.
fn param(target: &str, name: &str) -> Option<String> {
    let (_, query) = target.split_once('?')?;
    (query.split('&'))
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

fn number(target: &str, name: &str, default: usize) -> usize {
    param(target, name).map_or(default, |v| v.parse().unwrap())
}

/// The `--pages` and item options that read `miodl serve --pages STYLE`.
fn style_args(style: ServePages) -> Vec<&'static str> {
    match style {
        ServePages::Link => vec!["--pages", "link", "--item", "/url"],
        ServePages::Next => vec![
            "--pages",
            "next=/next",
            "--items",
            "/results",
            "--item",
            "/url",
        ],
        ServePages::Cursor => vec![
            "--pages",
            "cursor=/response_metadata/next_cursor,cursor",
            "--items",
            "/items",
            "--item",
            "/id",
            "--item-url",
            "{origin}/api/download/{id}",
        ],
        ServePages::Number => vec![
            "--pages",
            "number=page",
            "--items",
            "/results",
            "--item",
            "/url",
        ],
        ServePages::Offset => vec![
            "--pages",
            "offset=offset",
            "--page-size",
            "limit=4",
            "--items",
            "/results",
            "--item",
            "/url",
        ],
        ServePages::More => vec![],
    }
}

#[test]
fn every_style_crawls_miodl_serve_completely_on_both_engines() {
    let styles = [
        ServePages::Link,
        ServePages::Next,
        ServePages::Cursor,
        ServePages::Number,
        ServePages::Offset,
    ];
    for style in styles {
        let server = serve::spawn(ServeConfig {
            port: 0,
            files: 23,
            pages: style,
            ..ServeConfig::default()
        })
        .unwrap();
        let list_url = format!("{}/api/list_files", server.base_url());
        for engine in ["reactor", "threads"] {
            for lookahead in ["0", "3"] {
                let dir = tempfile::tempdir().unwrap();
                let mut extra = style_args(style);
                extra.extend(["--engine", engine, "--lookahead", lookahead, "-c", "4"]);
                let run = crawl(&list_url, dir.path(), &extra);
                let what = format!("{style:?} {engine} K={lookahead}");
                assert_eq!(run.status, Some(0), "{what}\n{run}");
                assert_eq!(verify_text(dir.path()), "ok: 23 files", "{what}\n{run}");
                assert_eq!(run.count("ok"), 23, "{what}\n{run}");
                // `link` looks ahead when the server sends rel="last" (it does).
                let chained = matches!(style, ServePages::Next | ServePages::Cursor)
                    || (style == ServePages::Link && lookahead == "0");
                assert_eq!(run.json()["pages_chained"], json!(chained), "{what}\n{run}");
            }
        }
    }
}

/// `miodl serve --page-cap 10` pages its `GET` list 10 items at a time: 23 ids are 3
/// pages, and `link` still looks ahead from the first page's rel="last".
#[test]
fn serve_page_cap_sets_the_page_size_of_the_get_styles() {
    let server = serve::spawn(ServeConfig {
        port: 0,
        files: 23,
        pages: ServePages::Link,
        page_cap: 10,
        ..ServeConfig::default()
    })
    .unwrap();
    let list_url = format!("{}/api/list_files", server.base_url());
    let dir = tempfile::tempdir().unwrap();
    let mut extra = style_args(ServePages::Link);
    extra.extend(["--lookahead", "3", "-c", "4"]);
    let run = crawl(&list_url, dir.path(), &extra);
    assert_eq!(run.status, Some(0), "{run}");
    assert_eq!(verify_text(dir.path()), "ok: 23 files", "{run}");
    assert_eq!(run.json()["pages"], json!(3), "{run}");
    assert_eq!(run.json()["pages_chained"], json!(false), "{run}");
}

/// Runs the crawl and checks the story most tests end with: exit 0, every id of
/// `catalog` downloaded exactly once, nothing else, and no careless request.
fn crawl_once_each(server: &ListServer, extra: &[&str]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec!["--retry-delay", "10", "--timeout", "10"];
    args.extend_from_slice(extra);
    let run = crawl(&server.list_url(), dir.path(), &args);
    assert_eq!(
        run.status,
        Some(0),
        "pages asked: {:?}\n{run}",
        server.get_asks()
    );
    let wanted: HashMap<String, u64> = server.catalog().iter().map(|id| (id.clone(), 1)).collect();
    assert_eq!(
        server.downloads(),
        wanted,
        "pages asked: {:?}\n{run}",
        server.get_asks()
    );
    assert_eq!(server.problems(), Vec::<String>::new(), "{run}");
    assert_eq!(
        verify_text(dir.path()),
        format!("ok: {} files", server.catalog().len()),
        "{run}"
    );
    run
}

fn crawl_fails(server: &ListServer, extra: &[&str]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec!["--retry-delay", "10", "--timeout", "10"];
    args.extend_from_slice(extra);
    let run = crawl(&server.list_url(), dir.path(), &args);
    assert_eq!(
        run.status,
        Some(1),
        "pages asked: {:?}\n{run}",
        server.get_asks()
    );
    run
}

/// A page of `{"id": .., "url": "/api/download/<id>"}` items.
fn items(catalog: &[String], start: usize, n: usize) -> Vec<serde_json::Value> {
    (catalog.iter().skip(start).take(n))
        .map(|id| json!({ "id": id, "url": format!("/api/download/{id}") }))
        .collect()
}

#[test]
fn link_with_relative_urls_and_an_empty_last_page() {
    for lookahead in ["0", "3"] {
        for engine in ["reactor", "threads"] {
            link_story(lookahead, engine);
        }
    }
}

fn link_story(lookahead: &str, engine: &str) {
    let catalog = ids(11);
    let served = catalog.clone();
    let server = ListServer::start_get(catalog, move |target| {
        let page = number(target, "page", 1);
        // Pages 1..=3 hold items; page 4 is empty and has no next. Every URL relative.
        let mut headers = String::from("Link: <list_files?page=1>; rel=\"first\", ");
        if page < 4 {
            headers.push_str(&format!(
                "<list_files?page={}>; title=\"more, please\"; rel=\"next\"",
                page + 1
            ));
        } else {
            headers.push_str("<list_files?page=1>; rel=\"prev\"");
        }
        headers.push_str("\r\n");
        GetPage {
            headers,
            body: json!(items(&served, (page - 1) * 4, 4)).to_string(),
        }
    });
    {
        let run = crawl_once_each(
            &server,
            &[
                "--pages",
                "link",
                "--item",
                "/url",
                "--lookahead",
                lookahead,
                "--engine",
                engine,
            ],
        );
        assert_eq!(run.json()["pages_chained"], json!(true));
        assert_eq!(run.count("pages"), 4, "{run}");
    }
}

#[test]
fn next_relative_to_the_page_and_repeated_items_count_once() {
    let catalog = ids(10);
    let served = catalog.clone();
    let server = ListServer::start_get(catalog, move |target| {
        let page = number(target, "p", 0);
        // Pages overlap by one item; the next URL is relative to the page ("?p=N").
        let next = (page < 3).then(|| format!("?p={}", page + 1));
        GetPage::body(
            json!({ "data": { "next": next, "rows": items(&served, page * 3, 4) } }).to_string(),
        )
    });
    let run = crawl_once_each(
        &server,
        &[
            "--pages",
            "next=/data/next",
            "--items",
            "/data/rows",
            "--item",
            "/id",
            "--item-url",
            "{origin}/api/download/{id}",
        ],
    );
    assert_eq!(
        server.get_asks(),
        [
            "/api/list_files",
            "/api/list_files?p=1",
            "/api/list_files?p=2",
            "/api/list_files?p=3"
        ]
    );
    // {id} items with safe ids are named by id.
    assert_eq!(run.count("ok"), 10);
}

#[test]
fn a_next_url_seen_before_ends_the_crawl_with_an_error_not_a_spin() {
    let catalog = ids(6);
    let served = catalog.clone();
    let server = ListServer::start_get(catalog, move |target| {
        let page = number(target, "page", 1);
        // Page 2 points back at page 1.
        let next = if page == 1 {
            "/api/list_files?page=2"
        } else {
            "/api/list_files?page=1"
        };
        GetPage::body(
            json!({ "next": next, "results": items(&served, (page - 1) * 3, 3) }).to_string(),
        )
    });
    let run = crawl_fails(
        &server,
        &[
            "--pages",
            "next=/next",
            "--items",
            "/results",
            "--item",
            "/url",
        ],
    );
    assert!(run.stderr.contains("read before"), "{run}");
    assert!(run.stderr.contains("/api/list_files?page=1"), "{run}");
    assert!(
        server.get_asks().len() <= 3,
        "asks: {:?}",
        server.get_asks()
    );
    // The first page's ids are still fetched, each once.
    assert!(
        server.downloads().values().all(|&n| n == 1),
        "{:?}",
        server.downloads()
    );
}

#[test]
fn malformed_json_and_a_page_of_the_wrong_shape_fail_with_a_hint() {
    let server = ListServer::start_get(ids(3), |target| match number(target, "page", 1) {
        1 => GetPage::body(r#"{"results": [{"id": "a"}], "meta": {"pages": []}}"#),
        _ => GetPage::body(r#"{"results": [{"id": "#),
    });
    let run = crawl_fails(&server, &["--pages", "number=page"]);
    assert!(
        run.stderr
            .contains("the page is an object; arrays are at /results, /meta/pages: give --items"),
        "{run}"
    );
    let run = crawl_fails(&server, &["--pages", "number=page", "--items", "/results"]);
    assert!(run.stderr.contains("give --item, e.g. --item /id"), "{run}");
    let run = crawl_fails(
        &server,
        &[
            "--pages",
            "number=page",
            "--items",
            "/results",
            "--item",
            "/id",
        ],
    );
    assert!(run.stderr.contains("not json"), "{run}");
}

#[test]
fn number_with_lookahead_ends_at_the_empty_page() {
    for lookahead in ["0", "4"] {
        number_story(lookahead);
    }
}

fn number_story(lookahead: &str) {
    let catalog = ids(17);
    let served = catalog.clone();
    let server = ListServer::start_get(catalog, move |target| {
        let page = number(target, "page", 1);
        let size = number(target, "size", 3);
        GetPage::body(json!(items(&served, (page - 1) * size, size)).to_string())
    });
    {
        let run = crawl_once_each(
            &server,
            &[
                "--pages",
                "number=page",
                "--page-size",
                "size=5",
                "--item",
                "/url",
                "--lookahead",
                lookahead,
            ],
        );
        assert_eq!(run.json()["pages_chained"], json!(false));
        let asks = server.get_asks();
        assert!(
            asks.iter()
                .all(|t| param(t, "size").as_deref() == Some("5")),
            "{asks:?}"
        );
    }
}

#[test]
fn offset_against_a_capped_server_with_and_without_lookahead() {
    for lookahead in ["0", "3"] {
        for engine in ["reactor", "threads"] {
            offset_story(lookahead, engine);
        }
    }
}

fn offset_story(lookahead: &str, engine: &str) {
    let catalog = ids(22);
    let served = catalog.clone();
    let server = ListServer::start_get(catalog, move |target| {
        let offset = number(target, "start", 0);
        let limit = number(target, "limit", 10).min(4);
        GetPage::body(json!({ "results": items(&served, offset, limit) }).to_string())
    });
    {
        let run = crawl_once_each(
            &server,
            &[
                "--pages",
                "offset=start",
                "--page-size",
                "limit=10",
                "--items",
                "/results",
                "--item",
                "/url",
                "--lookahead",
                lookahead,
                "--engine",
                engine,
            ],
        );
        assert!(run.count("pages") >= 6, "{run}");
    }
}

#[test]
fn a_cursor_is_sent_back_percent_encoded() {
    let catalog = ids(9);
    let served = catalog.clone();
    let server = ListServer::start_get(catalog, move |target| {
        let start = match param(target, "after").as_deref() {
            None => 0,
            Some(c) => c
                .trim_start_matches("k%2B")
                .trim_end_matches("%3D%3D")
                .parse()
                .unwrap(),
        };
        let next = if start + 4 < served.len() {
            format!("k+{}==", start + 4)
        } else {
            String::new()
        };
        GetPage::body(json!({ "data": items(&served, start, 4), "next_cursor": next }).to_string())
    });
    crawl_once_each(
        &server,
        &[
            "--pages",
            "cursor=/next_cursor,after",
            "--items",
            "/data",
            "--item",
            "/url",
        ],
    );
    assert_eq!(
        param(&server.get_asks()[1], "after").as_deref(),
        Some("k%2B4%3D%3D")
    );
}

#[test]
fn url_items_are_named_as_get_names_them_and_unsafe_ids_too() {
    let catalog = vec!["a b".to_string(), "x/y".to_string(), "plain".to_string()];
    let served = catalog.clone();
    let server = ListServer::start_get(catalog, move |target| {
        let page = number(target, "page", 1);
        let ids: Vec<&String> = if page == 1 {
            served.iter().collect()
        } else {
            vec![]
        };
        GetPage::body(json!(ids).to_string())
    });
    let dir = tempfile::tempdir().unwrap();
    let run = crawl(
        &server.list_url(),
        dir.path(),
        &[
            "--pages",
            "number=page",
            "--item-url",
            "{origin}/api/download/{id}",
        ],
    );
    assert_eq!(run.status, Some(0), "{run}");
    assert_eq!(run.count("ok"), 3, "{run}");
    let names = names_in(dir.path());
    assert!(names.contains(&"plain".to_string()), "{names:?}");
    assert_eq!(names.len(), 3, "{names:?}");
    assert!(names.iter().all(|n| !n.contains('/')), "{names:?}");
    assert_eq!(
        sorted(&server.downloads().keys().collect::<Vec<_>>()),
        sorted(&["a b", "plain", "x/y"])
    );
}

#[test]
fn options_that_do_not_fit_the_style_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &str); 5] = [
        (&["--items", "/x"], "--items applies to --pages link"),
        (&["--item-url", "{url}"], "{url} applies to --pages link"),
        (
            &["--pages", "number=page", "--item-url", "{url}/{id}"],
            "not both",
        ),
        (&["--pages", "next=next"], "starts with '/'"),
        (
            &["--pages", "number=page", "--page-size", "20"],
            "expected PARAM=N",
        ),
    ];
    for (extra, wanted) in cases {
        let run = crawl("http://127.0.0.1:9/api/list_files", dir.path(), extra);
        assert_eq!(run.status, Some(2), "{run}");
        assert!(run.stderr.contains(wanted), "{wanted}\n{run}");
        assert_eq!(run.stderr.lines().count(), 1, "{run}");
    }
}

#[test]
fn the_library_crawls_a_get_style_with_the_same_options() {
    let server = serve::spawn(ServeConfig {
        port: 0,
        files: 12,
        pages: ServePages::Offset,
        ..ServeConfig::default()
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut options = miodl::CrawlOptions::new(format!("{}/api/list_files", server.base_url()))
        .pages(miodl::Style::Offset {
            param: "offset".into(),
        });
    options.items = Some("/results".into());
    options.item = Some("/url".into());
    options.lookahead = 2;
    let report = miodl::Downloader::new(dir.path()).crawl(options).unwrap();
    assert_eq!(report.exit_code(), 0, "{}", report.json());
    assert_eq!(report.summary.ok, 12);
    assert_eq!(report.pages_chained, Some(false));
    assert_eq!(verify_text(dir.path()), "ok: 12 files");
}

/// A list at `/list` that moved: every page request is redirected (`code`) to
/// `/v2/list?page=N`, whose URLs are all relative to the page that answered: the next
/// page `list?page=N+1` (in the body, or in a `Link` header), and items `files/ID`. Read
/// against the URL asked (`/list...`), they would name `/list?page=2` and `/files/ID`,
/// which answer 404.
fn moved_list_server(code: u16) -> support::scripted::Server {
    use support::scripted::{Script, Server};
    Server::start(move |request| {
        let target = request.path.as_str();
        if let Some(query) = target.strip_prefix("/list") {
            let page = number(query, "page", 1);
            return Script::redirect(code, &format!("/v2/list?page={page}"));
        }
        if target.starts_with("/v2/list") {
            let page = number(target, "page", 1);
            let next = (page < 3).then(|| format!("list?page={}", page + 1));
            let results: Vec<_> = (0..2)
                .map(|i| json!({ "url": format!("files/p{page}-{i}") }))
                .collect();
            let body = json!({ "next": next, "results": results }).to_string();
            let link = next.map(|n| format!("<{n}>; rel=\"next\""));
            let headers: Vec<(&str, &str)> = link.iter().map(|l| ("Link", l.as_str())).collect();
            return Script::status(200, &headers, body);
        }
        if let Some(name) = target.strip_prefix("/v2/files/") {
            return Script::ok(format!("file {name}\n"));
        }
        Script::not_found()
    })
}

#[test]
fn urls_on_a_redirected_page_are_relative_to_where_it_moved() {
    for (code, style) in [(301, "next"), (302, "link"), (307, "next"), (308, "link")] {
        for engine in ["reactor", "threads"] {
            let server = moved_list_server(code);
            let dir = tempfile::tempdir().unwrap();
            let pages = match style {
                "next" => "next=/next",
                _ => "link",
            };
            let args = [
                "--pages",
                pages,
                "--items",
                "/results",
                "--item",
                "/url",
                "--engine",
                engine,
                "--retries",
                "0",
            ];
            let run = crawl(&server.url("/list"), dir.path(), &args);
            let what = format!("{code} {style} {engine}");
            assert_eq!(run.status, Some(0), "{what}: {run}");
            assert_eq!(run.count("ok"), 6, "{what}: {run}");
            assert_eq!(run.count("pages"), 3, "{what}: {run}");
            let stats = server.stats();
            for page in 2..=3 {
                let asked = stats.requests_for(&format!("/v2/list?page={page}"));
                assert_eq!(asked.len(), 1, "{what}: page {page}");
            }
            let mut names = names_in(dir.path());
            names.sort();
            assert_eq!(
                names,
                ["p1-0", "p1-1", "p2-0", "p2-1", "p3-0", "p3-1"],
                "{what}"
            );
        }
    }
}
