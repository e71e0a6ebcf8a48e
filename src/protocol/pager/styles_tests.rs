//! The `GET` paging styles, fed page by page: no sockets. A test server is a closure
//! from the asked URL to a head's extra lines and a body; [`drive`] asks every page the
//! pager allows, answers them in the order given (oldest first or newest first), and
//! collects the ids.
//!
//! Layer: `protocol`; may use [`crate::protocol::http`], [`crate::protocol::url`] (see
//! `src/protocol/mod.rs`).

use serde_json::json;

use super::chain::ChainPager;
use super::cursor::CursorAt;
use super::link::{one_number_apart, parse_links, LinkNext};
use super::next::NextAt;
use super::number::NumberPager;
use super::offset::OffsetPager;
use super::{Items, PageError, Paging, Style};
use crate::protocol::http::{Limits, ResponseHead};
use crate::protocol::url::Url;

fn url(text: &str) -> Url {
    Url::parse(text).unwrap()
}

fn head(lines: &str) -> ResponseHead {
    let text = format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{lines}\r\n");
    ResponseHead::parse(text.as_bytes(), &Limits::default())
        .unwrap()
        .unwrap()
        .0
}

/// A query parameter of `url`.
fn query(url: &Url, name: &str) -> Option<String> {
    let (_, query) = url.target().split_once('?')?;
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

#[derive(Debug, Default)]
struct Run {
    ids: Vec<String>,
    asked: Vec<Url>,
    error: Option<String>,
    /// The most pages outstanding at once.
    peak: usize,
}

/// Asks and answers until the pager is done (bounded), newest answer first if `lifo`.
fn drive(
    pager: &mut dyn Paging,
    mut server: impl FnMut(&Url) -> (String, String),
    lifo: bool,
) -> Run {
    let mut run = Run::default();
    let mut pending = Vec::new();
    for _ in 0..1000 {
        while let Some(ask) = pager.next_page() {
            let at = ask.url.clone().expect("a GET style names each page's URL");
            run.asked.push(at.clone());
            pending.push((ask.id, at));
        }
        run.peak = run.peak.max(pending.len());
        if pending.is_empty() {
            break;
        }
        let (id, at) = if lifo {
            pending.pop().unwrap()
        } else {
            pending.remove(0)
        };
        let (lines, body) = server(&at);
        match pager.on_answer(id, None, &head(&lines), body.as_bytes()) {
            Ok(outcome) => run.ids.extend(outcome.new_ids),
            Err(e) => {
                run.error = Some(e.to_string());
                break;
            }
        }
    }
    run
}

fn catalog(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("id{i:03}")).collect()
}

fn ids_items() -> Items {
    Items {
        items: Some("/results".into()),
        item: Some("/id".into()),
        as_url: false,
    }
}

/// `{"results": [{"id": ...}], ...extra}` for `ids[start..start+n]`.
fn results(ids: &[String], start: usize, n: usize) -> serde_json::Value {
    let page: Vec<_> = ids
        .iter()
        .skip(start)
        .take(n)
        .map(|id| json!({ "id": id }))
        .collect();
    json!({ "results": page })
}

#[test]
fn link_headers_are_parsed_not_searched() {
    let links = parse_links(
        r#"<https://api.example.com/x?page=1>; rel="first", </x?page=3>; title="a, b; c"; REL="prev Next", <p4>; rel=last"#,
    );
    assert_eq!(links.len(), 3, "{links:?}");
    assert_eq!(links[1].target, "/x?page=3");
    assert!(
        links[1].has_rel("next"),
        "rel lists are split, compared without case"
    );
    assert!(links[1].has_rel("prev"));
    assert!(!links[0].has_rel("next"));
    assert!(links[2].has_rel("last"));
    assert_eq!(links[1].params[0], ("title".into(), "a, b; c".into()));
    // A broken link is skipped up to the next comma, not the whole header.
    let links = parse_links(r#"junk; rel="next", <ok>; rel="next""#);
    assert_eq!(links.len(), 1);
    assert_eq!(links[0].target, "ok");
}

#[test]
fn link_follows_relative_next_urls_across_several_headers_to_the_end() {
    let ids = catalog(12);
    let start = url("http://h:1/api/v1/items");
    let mut pager = ChainPager::new(
        LinkNext,
        start,
        Items {
            item: Some("/id".into()),
            ..Items::default()
        },
        Some(("per_page".into(), 5)),
    );
    let run = drive(
        &mut pager,
        |at| {
            let page: usize = query(at, "page").map_or(1, |p| p.parse().unwrap());
            assert_eq!(query(at, "per_page").as_deref(), Some("5"), "{at}");
            let body = results(&ids, (page - 1) * 5, 5)["results"].to_string();
            let mut lines = String::from("Link: <items?page=1>; rel=\"first\"\r\n");
            if page < 3 {
                // Relative to the page's directory; in a second Link header.
                lines.push_str(&format!(
                    "Link: <items?page={}>; rel=\"next\"\r\n",
                    page + 1
                ));
            }
            (lines, body)
        },
        false,
    );
    assert_eq!(run.error, None);
    assert_eq!(run.ids, ids);
    assert_eq!(run.peak, 1, "a chained style asks one page at a time");
    assert_eq!(
        run.asked[1].to_string(),
        "http://h:1/api/v1/items?page=2&per_page=5"
    );
    assert!(pager.is_done() && pager.stats().complete && pager.chained());
}

#[test]
fn a_next_url_seen_before_ends_the_listing_with_an_error() {
    let ids = catalog(6);
    let mut pager = ChainPager::new(
        NextAt {
            pointer: "/next".into(),
        },
        url("http://h:1/list"),
        ids_items(),
        None,
    );
    let run = drive(
        &mut pager,
        |at| {
            let page: usize = query(at, "p").map_or(0, |p| p.parse().unwrap());
            let mut body = results(&ids, page * 3, 3);
            // Page 1 points back at page 0's URL, spelled absolutely.
            body["next"] = json!(if page == 0 {
                "/list?p=1"
            } else {
                "http://h:1/list"
            });
            (String::new(), body.to_string())
        },
        false,
    );
    let error = run.error.expect("a loop is an error");
    assert!(
        error.contains("http://h:1/list") && error.contains("read before"),
        "{error}"
    );
    assert_eq!(run.asked.len(), 2, "no page asked twice");
    assert!(pager.is_done() && !pager.stats().complete);
}

#[test]
fn next_ends_on_null_absent_or_empty_and_refuses_a_non_string() {
    for end in [json!(null), json!(""), json!("absent")] {
        let mut pager = ChainPager::new(
            NextAt {
                pointer: "/meta/next".into(),
            },
            url("http://h:1/list"),
            ids_items(),
            None,
        );
        let run = drive(
            &mut pager,
            |at| {
                let second = at.target().contains("two");
                let mut body = results(&catalog(4), if second { 2 } else { 0 }, 2);
                body["meta"] = if !second {
                    json!({ "next": "two" })
                } else if end == json!("absent") {
                    json!({})
                } else {
                    json!({ "next": end })
                };
                (String::new(), body.to_string())
            },
            false,
        );
        assert_eq!((run.error, run.ids.len()), (None, 4), "end {end}");
        assert_eq!(run.asked[1].to_string(), "http://h:1/two");
    }
    let mut pager = ChainPager::new(
        NextAt {
            pointer: "/next".into(),
        },
        url("http://h:1/list"),
        ids_items(),
        None,
    );
    let run = drive(
        &mut pager,
        |_| {
            (
                String::new(),
                r#"{"results": [], "next": {"href": "x"}}"#.into(),
            )
        },
        false,
    );
    assert!(run.error.unwrap().contains("/next is an object"));
}

#[test]
fn a_cursor_goes_percent_encoded_into_its_parameter_of_the_list_url() {
    let ids = catalog(7);
    let mut pager = ChainPager::new(
        CursorAt {
            pointer: "/response_metadata/next_cursor".into(),
            param: "cursor".into(),
        },
        url("http://h:1/list?cursor=old&limit=3"),
        ids_items(),
        None,
    );
    let run = drive(
        &mut pager,
        |at| {
            let start = match query(at, "cursor").as_deref() {
                Some("old") => 0,
                Some("a%2Bb%2F%3D3") => 3,
                Some("a%2Bb%2F%3D6") => 6,
                other => panic!("cursor {other:?} in {at}"),
            };
            let mut body = results(&ids, start, 3);
            let next = if start + 3 < ids.len() {
                format!("a+b/={}", start + 3)
            } else {
                String::new()
            };
            body["response_metadata"] = json!({ "next_cursor": next });
            (String::new(), body.to_string())
        },
        false,
    );
    assert_eq!((run.error, run.ids), (None, ids));
    assert_eq!(
        run.asked[1].target(),
        "/list?limit=3&cursor=a%2Bb%2F%3D3",
        "the parameter replaced, the others kept"
    );
}

/// A server paging `ids` by page number (`page`, from 1), `cap` a page.
fn numbered(ids: &[String], cap: usize) -> impl FnMut(&Url) -> (String, String) + '_ {
    move |at| {
        let page: usize = query(at, "page").unwrap().parse().unwrap();
        (
            String::new(),
            results(ids, (page - 1) * cap, cap).to_string(),
        )
    }
}

#[test]
fn number_asks_ahead_within_lookahead_and_ends_at_the_first_empty_page() {
    let ids = catalog(23);
    for (lookahead, lifo) in [(0, false), (3, false), (3, true)] {
        let mut pager = NumberPager::new(
            url("http://h:1/list"),
            "page".into(),
            Some(("size".into(), 5)),
            lookahead,
            ids_items(),
        );
        let run = drive(&mut pager, numbered(&ids, 5), lifo);
        let mut got = run.ids.clone();
        got.sort();
        assert_eq!((run.error, got), (None, ids.clone()), "K={lookahead}");
        assert_eq!(run.peak, 1 + lookahead as usize);
        assert!(pager.stats().complete);
        assert_eq!(pager.stats().end, Some(6), "page 6 is the first empty one");
        assert!(run
            .asked
            .iter()
            .all(|u| query(u, "size").as_deref() == Some("5")));
        if lookahead == 0 {
            assert_eq!(run.asked.len(), 6);
        }
    }
}

#[test]
fn a_server_that_ignores_the_page_number_ends_after_three_pages_without_a_new_id() {
    let ids = catalog(5);
    let mut pager = NumberPager::new(url("http://h:1/list"), "page".into(), None, 0, ids_items());
    let run = drive(
        &mut pager,
        |_| (String::new(), results(&ids, 0, 5).to_string()),
        false,
    );
    let error = run.error.expect("barren pages end the listing");
    assert!(error.contains("3rd in a row"), "{error}");
    assert_eq!(run.asked.len(), 4);
    assert_eq!(run.ids, ids, "each id once");
}

/// A server paging `ids` by offset, at most `cap` a page.
fn offsets(ids: &[String], cap: usize) -> impl FnMut(&Url) -> (String, String) + '_ {
    move |at| {
        let offset: usize = query(at, "offset").unwrap().parse().unwrap();
        (String::new(), results(ids, offset, cap).to_string())
    }
}

#[test]
fn offset_advances_by_the_items_received_and_refills_gaps_when_looking_ahead() {
    let ids = catalog(23);
    for (lookahead, lifo) in [(0, false), (2, false), (4, true)] {
        let mut pager = OffsetPager::new(
            url("http://h:1/list"),
            "offset".into(),
            None,
            lookahead,
            ids_items(),
        );
        let run = drive(&mut pager, offsets(&ids, 4), lifo);
        let mut got = run.ids.clone();
        got.sort();
        assert_eq!((run.error, got), (None, ids.clone()), "K={lookahead}");
        assert!(pager.stats().complete, "K={lookahead}");
        assert!(run.peak <= 1 + lookahead as usize);
        let asked: Vec<String> = (run.asked.iter())
            .map(|u| query(u, "offset").unwrap())
            .collect();
        if lookahead == 0 {
            assert_eq!(asked, ["0", "4", "8", "12", "16", "20", "23"]);
        } else {
            assert!(
                asked.contains(&"23".to_string()),
                "the gap at 23: {asked:?}"
            );
        }
    }
}

#[test]
fn a_page_that_is_not_what_the_options_say_gets_a_hint() {
    let cases = [
        (
            Items::default(),
            r#"{"results": [1], "meta": {"links": []}}"#,
            "the page is an object; arrays are at /results, /meta/links: give --items",
        ),
        (
            Items::default(),
            r#"[{"id": 1, "url": "/x"}]"#,
            "the items are objects (keys: id, url): give --item, e.g. --item /id",
        ),
        (
            Items {
                items: Some("/data".into()),
                ..Items::default()
            },
            r#"{"results": []}"#,
            "the page has nothing at /data; arrays are at /results: check --items",
        ),
        (
            Items::default(),
            r#"{"results": [1"#,
            "list page is not json",
        ),
    ];
    for (items, body, wanted) in cases {
        let mut pager = NumberPager::new(url("http://h:1/l"), "p".into(), None, 0, items);
        let run = drive(&mut pager, |_| (String::new(), body.to_string()), false);
        let error = run.error.expect("an error");
        assert!(error.starts_with(wanted), "{error}");
        assert!(pager.is_done() && !pager.stats().complete);
    }
}

#[test]
fn url_values_resolve_against_the_page_and_count_once_whatever_the_spelling() {
    let mut pager = NumberPager::new(
        url("http://h:1/api/list"),
        "page".into(),
        None,
        0,
        Items {
            as_url: true,
            ..Items::default()
        },
    );
    let run = drive(
        &mut pager,
        |at| {
            let body = match query(at, "page").as_deref() {
                Some("1") => r#"["a/1", "/api/a/1", "http://other:2/b", 7, null]"#,
                _ => "[]",
            };
            (String::new(), body.to_string())
        },
        false,
    );
    assert_eq!(
        run.ids,
        ["http://h:1/api/a/1", "http://other:2/b", "http://h:1/api/7"]
    );
    assert_eq!(pager.stats().duplicates, 1);
    assert_eq!(pager.stats().rejected, 1, "null is not a value");
}

#[test]
fn styles_parse_with_one_line_errors() {
    assert_eq!(Style::parse("more"), Ok(Style::More));
    assert_eq!(
        Style::parse("cursor=/meta/next,after"),
        Ok(Style::Cursor {
            pointer: "/meta/next".into(),
            param: "after".into()
        })
    );
    assert!(Style::parse("next=next")
        .unwrap_err()
        .0
        .contains("starts with '/'"));
    assert!(Style::parse("number")
        .unwrap_err()
        .0
        .contains("number=page"));
    assert!(Style::parse("pages")
        .unwrap_err()
        .0
        .contains("is not one of"));
    assert!(Style::parse("offset=a b").is_err());
    assert!(Style::parse("link=x").is_err());
}

#[test]
fn an_answer_for_a_page_not_asked_is_refused() {
    let mut pager = OffsetPager::new(url("http://h:1/l"), "o".into(), None, 0, Items::default());
    let ask = pager.next_page().unwrap();
    let wrong = super::PageId(ask.id.0 + 5);
    assert!(matches!(
        pager.on_answer(wrong, None, &head(""), b"[]"),
        Err(PageError::UnknownPage(_))
    ));
    pager.on_failed(ask.id);
    assert!(pager.is_done() && !pager.stats().complete);
}

#[test]
fn link_looks_ahead_when_last_and_next_differ_in_one_number() {
    let plan = one_number_apart(
        "http://h/x?page=2&per_page=5",
        "http://h/x?page=14&per_page=5",
    )
    .expect("one number apart");
    assert_eq!((plan.next, plan.last), (2, 14));
    assert_eq!(plan.prefix, "http://h/x?page=");
    assert_eq!(plan.suffix, "&per_page=5");
    assert_eq!(
        one_number_apart("http://h/x?page=12", "http://h/x?page=19").map(|p| p.next),
        Some(12)
    );
    assert!(one_number_apart("http://h/x?after=abc", "http://h/x?after=xyz").is_none());
    assert!(one_number_apart("http://h/x?page=2&a=1", "http://h/x?page=9&a=2").is_none());
    assert!(one_number_apart("http://h/x?page=9", "http://h/x?page=2").is_none());

    let ids = catalog(23);
    for (lookahead, lifo) in [(0, false), (3, false), (3, true)] {
        let mut pager = ChainPager::with_lookahead(
            LinkNext,
            url("http://h:1/api/items"),
            Items {
                item: Some("/id".into()),
                ..Items::default()
            },
            None,
            lookahead,
        );
        let run = drive(
            &mut pager,
            |at| {
                let page: usize = query(at, "page").map_or(1, |p| p.parse().unwrap());
                let mut links = vec![String::from("<items?page=5>; rel=\"last\"")];
                if page < 5 {
                    links.push(format!("<items?page={}>; rel=\"next\"", page + 1));
                }
                let lines = format!("Link: {}\r\n", links.join(", "));
                (
                    lines,
                    results(&ids, (page - 1) * 5, 5)["results"].to_string(),
                )
            },
            lifo,
        );
        let mut got = run.ids.clone();
        got.sort();
        let mut want = ids.clone();
        want.sort();
        assert_eq!((run.error, got), (None, want), "K={lookahead}");
        assert_eq!(
            run.asked.len(),
            5,
            "no page asked twice, none past the last"
        );
        assert_eq!(run.peak, 1 + lookahead as usize, "K={lookahead}");
        assert_eq!(pager.chained(), lookahead == 0);
        assert!(pager.stats().complete);
    }
}

#[test]
fn a_moved_page_names_its_urls_relative_to_where_it_answered() {
    // Asked at /list, answered at /v2/list?page=1 (a redirect): "list?page=2" is
    // /v2/list?page=2, and the item "files/a" is /v2/files/a.
    let mut pager = ChainPager::new(
        NextAt {
            pointer: "/next".into(),
        },
        url("http://h:1/list"),
        Items {
            items: Some("/results".into()),
            item: Some("/url".into()),
            as_url: true,
        },
        None,
    );
    let first = pager.next_page().unwrap();
    assert_eq!(first.url.unwrap().to_string(), "http://h:1/list");
    let moved = url("http://h:1/v2/list?page=1");
    let body = json!({ "next": "list?page=2", "results": [{ "url": "files/a" }] });
    let outcome = (pager.on_answer(
        first.id,
        Some(&moved),
        &head(""),
        body.to_string().as_bytes(),
    ))
    .unwrap();
    assert_eq!(outcome.new_ids, ["http://h:1/v2/files/a"]);
    let second = pager.next_page().unwrap();
    assert_eq!(second.url.unwrap().to_string(), "http://h:1/v2/list?page=2");
    // Not moved: relative to the URL asked.
    let body = json!({ "next": "list?page=3", "results": [{ "url": "files/b" }] });
    let outcome =
        (pager.on_answer(second.id, None, &head(""), body.to_string().as_bytes())).unwrap();
    assert_eq!(outcome.new_ids, ["http://h:1/v2/files/b"]);
    assert_eq!(
        pager.next_page().unwrap().url.unwrap().to_string(),
        "http://h:1/v2/list?page=3"
    );
}
