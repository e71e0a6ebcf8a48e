//! The pager against a simulated list server: stories for each rule, then an exhaustive
//! loop over list sizes, page sizes, server caps, lookahead and answer orders.
//!
//! Layer: `protocol`; may use nothing else of the crate (see `src/protocol/mod.rs`).

use super::*;
use crate::protocol::pager::check_id;
use serde_json::json;
use std::collections::HashSet;

/// Whether the simulated server sends the `More` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MoreMode {
    /// `More: True|False` as the reference server does (capitalised).
    Explicit,
    /// No `More` header at all.
    Omitted,
}

/// In which order the outstanding pages are answered.
#[derive(Debug, Clone, Copy)]
enum Order {
    Fifo,
    Reversed,
    /// A deterministic shuffle from this seed.
    Shuffled(u64),
}

/// The reference list server of docs/reference.md §1, positional: the page at `S` asked for
/// `P` gets the entries `S .. min(S + min(P, cap), N)` and `More: True` iff `S + min(P,
/// cap) < N`. It records how often each position was served.
struct Server {
    /// Each entry of the list as JSON text, encoded once.
    list: Vec<String>,
    cap: u32,
    more: MoreMode,
    /// The first page asked at or beyond this offset answers empty with `More: True`.
    glitch_at: Option<u64>,
    /// The start of the page that glitched, once it did.
    glitched: Option<u64>,
    served: Vec<u32>,
}

impl Server {
    fn new(list: &[Value], cap: u32, more: MoreMode) -> Server {
        Server {
            list: list.iter().map(Value::to_string).collect(),
            served: vec![0; list.len()],
            cap,
            more,
            glitch_at: None,
            glitched: None,
        }
    }

    fn answer(&mut self, req: PageRequest) -> (Vec<u8>, Option<&'static str>) {
        if self.glitched.is_none() && self.glitch_at.is_some_and(|at| req.start >= at) {
            self.glitched = Some(req.start);
            return (br#"{"urls": []}"#.to_vec(), Some("True"));
        }
        let n = self.list.len() as u64;
        let p = u64::from(req.per_page.min(self.cap));
        let range = req.start.min(n)..(req.start + p).min(n);
        for i in range.clone() {
            self.served[i as usize] += 1;
        }
        let urls = &self.list[range.start as usize..range.end as usize];
        let body = format!("{{\"urls\": [{}]}}", urls.join(", ")).into_bytes();
        let more = match self.more {
            MoreMode::Explicit if req.start + p < n => Some("True"),
            MoreMode::Explicit => Some("False"),
            MoreMode::Omitted => None,
        };
        (body, more)
    }
}

/// A 32-hex-digit id for position `i`, like the reference server's.
fn id(i: u64) -> String {
    format!("{:032x}", i.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0xabcd)
}

/// `n` distinct ids.
fn clean_list(n: u64) -> Vec<Value> {
    (0..n).map(|i| Value::String(id(i))).collect()
}

/// `n` positions with noise: some repeat an earlier id (across or within pages), some
/// are not acceptable ids.
fn noisy_list(n: u64) -> Vec<Value> {
    (0..n)
        .map(|i| match i {
            _ if i % 13 == 12 => {
                [json!(42), json!("../x"), Value::Null][(i / 13 % 3) as usize].clone()
            }
            _ if i % 7 == 6 => Value::String(id(i - 3)),
            _ if i % 11 == 10 => Value::String(id(i - 1)),
            _ => Value::String(id(i)),
        })
        .collect()
}

/// What a driven run saw.
#[derive(Debug, Default)]
struct Run {
    requests: Vec<PageRequest>,
    ids: Vec<String>,
    rejected: usize,
    /// Requests handed out after the glitched empty page was answered.
    after_glitch: Vec<PageRequest>,
    stats: PagerStats,
}

/// Drives `pager` against `server` until it is done, answering in `order`; checks the
/// outstanding limit at every step and that the loop terminates.
fn drive(pager: &mut MorePager, server: &mut Server, lookahead: u32, order: Order) -> Run {
    let mut run = Run::default();
    let mut pending: Vec<PageRequest> = Vec::new();
    let mut rng = match order {
        Order::Shuffled(seed) => seed.wrapping_mul(0x2545_f491_4f6c_dd1d) | 1,
        _ => 1,
    };
    for _ in 0..10_000 {
        while let Some(req) = pager.next_request() {
            assert!(req.per_page >= 1, "empty page asked: {req:?}");
            pending.push(req);
            run.requests.push(req);
            if server.glitched.is_some() {
                run.after_glitch.push(req);
            }
        }
        assert!(
            pending.len() <= 1 + lookahead as usize,
            "too many outstanding"
        );
        if pending.is_empty() {
            assert!(
                pager.is_done(),
                "nothing to ask and nothing outstanding, yet not done"
            );
            run.stats = pager.stats();
            return run;
        }
        assert!(!pager.is_done(), "done with pages outstanding");
        let i = match order {
            Order::Fifo => 0,
            Order::Reversed => pending.len() - 1,
            Order::Shuffled(_) => {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                (rng % pending.len() as u64) as usize
            }
        };
        let req = pending.remove(i);
        let (body, more) = server.answer(req);
        let outcome = pager.on_page(req, &body, parse_more(more)).unwrap();
        run.ids.extend(outcome.new_ids);
        run.rejected += outcome.rejected.len();
    }
    panic!("the pager did not finish within 10000 answers");
}

/// Runs a clean list of `n` ids with the given knobs, FIFO.
fn crawl(n: u64, per_page: u32, cap: u32, lookahead: u32, more: MoreMode) -> Run {
    let mut server = Server::new(&clean_list(n), cap, more);
    let mut pager = MorePager::new(0, per_page, lookahead);
    drive(&mut pager, &mut server, lookahead, Order::Fifo)
}

fn starts(run: &Run) -> Vec<u64> {
    run.requests.iter().map(|r| r.start).collect()
}

fn page(ids: &[&str]) -> Vec<u8> {
    serde_json::to_vec(&json!({ "urls": ids })).unwrap()
}

#[test]
fn form_body_is_the_seed_form() {
    let req = PageRequest {
        start: 10,
        per_page: 5,
    };
    assert_eq!(req.form_body(), "start=10&per_page=5");
}

#[test]
fn more_header_is_read_case_insensitively() {
    for yes in ["True", "true", "TRUE", " tRuE ", "1"] {
        assert_eq!(parse_more(Some(yes)), Some(true), "{yes:?}");
    }
    for no in ["False", "false", "FALSE", "0", "false\t"] {
        assert_eq!(parse_more(Some(no)), Some(false), "{no:?}");
    }
    for unknown in ["", "yes", "maybe", "2", "truee"] {
        assert_eq!(parse_more(Some(unknown)), None, "{unknown:?}");
    }
    assert_eq!(parse_more(None), None);
}

#[test]
fn the_seed_crawl_makes_exactly_five_requests() {
    let run = crawl(25, 5, 5, 0, MoreMode::Explicit);
    assert_eq!(starts(&run), [0, 5, 10, 15, 20]);
    assert_eq!(run.ids.len(), 25);
    assert_eq!(run.stats.pages_requested, 5);
    assert_eq!(run.stats.extra_pages, 0);
    assert_eq!(run.stats.end, Some(25));
    assert!(run.stats.complete);
}

#[test]
fn an_empty_list_takes_one_request() {
    let run = crawl(0, 5, 5, 0, MoreMode::Explicit);
    assert_eq!(starts(&run), [0]);
    assert!(run.ids.is_empty());
    assert_eq!(
        run.stats.extra_pages, 0,
        "the one probe is needed, not extra"
    );
    assert!(run.stats.complete);
}

#[test]
fn without_lookahead_the_next_page_starts_where_the_ids_ended() {
    // Asked for 10, the server caps at 5: continue at 5, and ask for 5 from then on.
    let mut pager = MorePager::new(0, 10, 0);
    let first = pager.next_request().unwrap();
    assert_eq!(pager.next_request(), None, "one page at a time");
    let ids: Vec<String> = (0..5).map(id).collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    pager.on_page(first, &page(&ids), Some(true)).unwrap();
    let second = pager.next_request().unwrap();
    assert_eq!(
        second,
        PageRequest {
            start: 5,
            per_page: 5
        }
    );
    assert_eq!(pager.stats().per_page, 5);

    let run = crawl(25, 10, 5, 0, MoreMode::Explicit);
    assert_eq!(
        starts(&run),
        [0, 5, 10, 15, 20],
        "no wasted page after learning the cap"
    );
}

#[test]
fn with_lookahead_a_capped_page_leaves_a_gap_that_is_asked_again() {
    let mut pager = MorePager::new(0, 4, 2);
    let reqs: Vec<_> = std::iter::from_fn(|| pager.next_request()).collect();
    assert_eq!(
        starts(&Run {
            requests: reqs.clone(),
            ..Run::default()
        }),
        [0, 4, 8]
    );
    // The server caps at 3: page 0 brings 0..3, so [3, 4) is missing.
    pager
        .on_page(reqs[0], &page(&["a", "b", "c"]), Some(true))
        .unwrap();
    assert_eq!(
        pager.next_request(),
        Some(PageRequest {
            start: 3,
            per_page: 1
        })
    );
    assert_eq!(pager.next_request(), None, "three outstanding");
    pager
        .on_page(reqs[1], &page(&["e", "f", "g"]), Some(true))
        .unwrap();
    // The gap [7, 8) is asked for first.
    assert_eq!(
        pager.next_request(),
        Some(PageRequest {
            start: 7,
            per_page: 1
        })
    );
    pager
        .on_page(reqs[2], &page(&["i", "j", "k"]), Some(true))
        .unwrap();
    // Nothing was laid beyond page 8: the frontier simply moves back to where its ids ended.
    assert_eq!(
        pager.next_request(),
        Some(PageRequest {
            start: 11,
            per_page: 3
        })
    );
    pager
        .on_page(
            PageRequest {
                start: 3,
                per_page: 1,
            },
            &page(&["d"]),
            Some(true),
        )
        .unwrap();
    assert_eq!(
        pager.next_request(),
        Some(PageRequest {
            start: 14,
            per_page: 3
        })
    );
    assert_eq!(pager.stats().per_page, 3);
}

#[test]
fn an_empty_page_ends_the_list_even_if_more_says_true() {
    let mut pager = MorePager::new(0, 2, 3);
    let reqs: Vec<_> = std::iter::from_fn(|| pager.next_request()).collect();
    assert_eq!(reqs.len(), 4);
    pager.on_page(reqs[1], &page(&[]), Some(true)).unwrap();
    pager
        .on_page(reqs[0], &page(&["a", "b"]), Some(true))
        .unwrap();
    assert_eq!(
        pager.next_request(),
        None,
        "nothing at or after offset 2 is asked"
    );
    // A page beyond the end that still brings genuine ids: they are handed out, and it is extra.
    let late = pager
        .on_page(reqs[3], &page(&["g", "a"]), Some(true))
        .unwrap();
    assert_eq!(late.new_ids, ["g"]);
    assert_eq!(late.duplicates, 1);
    pager.on_page(reqs[2], &page(&[]), Some(false)).unwrap();
    assert!(pager.is_done());
    let stats = pager.stats();
    assert_eq!(stats.end, Some(2));
    assert_eq!(
        stats.extra_pages, 2,
        "pages at 4 and 6; the probe at 2 was needed"
    );
    assert!(stats.complete);
}

#[test]
fn more_false_ends_the_list_and_outstanding_pages_beyond_are_extra() {
    let run = crawl(25, 5, 5, 3, MoreMode::Explicit);
    assert_eq!(run.ids.len(), 25);
    assert_eq!(starts(&run), [0, 5, 10, 15, 20, 25, 30, 35]);
    assert_eq!(run.stats.end, Some(25));
    assert_eq!(run.stats.extra_pages, 3);
    assert!(run.stats.complete);
}

#[test]
fn without_more_a_full_page_means_more_and_a_short_page_means_the_end() {
    // 24 ids: the page at 20 is short, so it is the last.
    let run = crawl(24, 5, 5, 0, MoreMode::Omitted);
    assert_eq!(starts(&run), [0, 5, 10, 15, 20]);
    assert_eq!(run.stats.extra_pages, 0);
    // 25 ids: the page at 20 is full, so an empty probe at 25 finds the end; it is needed.
    let run = crawl(25, 5, 5, 0, MoreMode::Omitted);
    assert_eq!(starts(&run), [0, 5, 10, 15, 20, 25]);
    assert_eq!(run.stats.extra_pages, 0);
    assert_eq!(run.ids.len(), 25);
    assert!(run.stats.complete);
    // A capping server that does not say More cannot be told from the end: we stop.
    let run = crawl(25, 10, 5, 0, MoreMode::Omitted);
    assert_eq!(starts(&run), [0]);
    assert_eq!(run.ids.len(), 5);
}

#[test]
fn bad_entries_are_rejected_with_a_reason_and_good_ones_kept() {
    let long = "x".repeat(256);
    let body = serde_json::to_vec(&json!({ "urls": [
        "good1", 7, null, {"id": "x"}, "", ".", "..", "a/b", "a\\b", "a\u{0}b", "a\rb",
        "a\nb", "a\u{7f}b", "a\u{85}b", long, "x".repeat(255), "a\u{202e}b", "\u{feff}a",
        "a\u{200b}", "a\u{2069}b", "good2",
    ]}))
    .unwrap();
    let mut pager = MorePager::new(0, 21, 0);
    let req = pager.next_request().unwrap();
    let outcome = pager.on_page(req, &body, Some(false)).unwrap();
    assert_eq!(
        outcome.new_ids,
        ["good1".to_string(), "x".repeat(255), "good2".to_string()]
    );
    let reasons: Vec<&str> = outcome.rejected.iter().map(|r| r.reason).collect();
    assert_eq!(
        reasons,
        [
            "not a string",
            "not a string",
            "not a string",
            "empty",
            "a dot segment (\".\" or \"..\")",
            "a dot segment (\".\" or \"..\")",
            "contains a path separator",
            "contains a path separator",
            "contains a control character",
            "contains a control character",
            "contains a control character",
            "contains a control character",
            "contains a control character",
            "longer than 255 bytes",
            "contains an invisible or bidirectional control character",
            "contains an invisible or bidirectional control character",
            "contains an invisible or bidirectional control character",
            "contains an invisible or bidirectional control character",
        ]
    );
    assert_eq!(pager.stats().rejected, 18);
    assert_eq!(
        pager.stats().end,
        Some(21),
        "rejected entries still hold positions"
    );
}

#[test]
fn rejected_entries_print_escaped_and_short() {
    let body = serde_json::to_vec(&json!({ "urls": [
        "a\nb\u{0}/", 3.5, "\u{202e}evil/", "/".repeat(300), {"k": "\u{1b}[31m"},
    ]}))
    .unwrap();
    let mut pager = MorePager::new(0, 5, 0);
    let req = pager.next_request().unwrap();
    let rejected = pager.on_page(req, &body, None).unwrap().rejected;
    let raws: Vec<&str> = rejected.iter().map(|r| r.raw.as_str()).collect();
    assert_eq!(raws[0], r#""a\nb\0/""#);
    assert_eq!(raws[1], "3.5");
    assert_eq!(raws[2], r#""\u{202e}evil/""#);
    assert_eq!(raws[3], format!("\"{}...", "/".repeat(63)));
    assert_eq!(raws[4], r#"{"k":"\u001b[31m"}"#);
    for raw in raws {
        assert!(!raw.chars().any(char::is_control), "{raw:?}");
    }
    assert_eq!(rejected[1].to_string(), "rejected id 3.5: not a string");
}

#[test]
fn duplicates_within_and_across_pages_are_dropped_and_counted() {
    let mut pager = MorePager::new(0, 3, 1);
    let a = pager.next_request().unwrap();
    let b = pager.next_request().unwrap();
    let first = pager
        .on_page(b, &page(&["x", "y", "x"]), Some(true))
        .unwrap();
    assert_eq!(first.new_ids, ["x", "y"]);
    assert_eq!(first.duplicates, 1);
    let second = pager
        .on_page(a, &page(&["y", "z", "x"]), Some(true))
        .unwrap();
    assert_eq!(second.new_ids, ["z"]);
    assert_eq!(second.duplicates, 2);
    assert_eq!(pager.stats().duplicates, 3);
    assert_eq!(pager.stats().ids, 3);
}

#[test]
fn a_malformed_page_is_an_error_and_fails_the_listing() {
    for (body, want) in [
        (&b"<html>not found</html>"[..], "list page is not json"),
        (&b"{\"urls\": [\"a\""[..], "list page is not json"),
        (&b"{\"data\": []}"[..], "list page has no \"urls\" array"),
        (&b"{\"urls\": \"a\"}"[..], "list page has no \"urls\" array"),
        (&b"[\"a\"]"[..], "list page has no \"urls\" array"),
    ] {
        let mut pager = MorePager::new(0, 5, 1);
        let a = pager.next_request().unwrap();
        let b = pager.next_request().unwrap();
        let err = pager.on_page(a, body, Some(true)).unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with(want), "{text}");
        // Our words are lowercase; serde_json's own message (in parentheses) is quoted as is.
        let ours = text.split('(').next().unwrap();
        assert!(
            !text.contains('\n') && ours == ours.to_lowercase(),
            "{text}"
        );
        assert_eq!(
            pager.next_request(),
            None,
            "a failed listing asks nothing more"
        );
        assert!(!pager.is_done(), "page b is still out");
        // The page still out may answer: its ids are genuine.
        let outcome = pager.on_page(b, &page(&["q"]), Some(true)).unwrap();
        assert_eq!(outcome.new_ids, ["q"]);
        assert!(pager.is_done());
        let stats = pager.stats();
        assert!(!stats.complete);
        assert_eq!(stats.pages_failed, 1);
        assert_eq!(stats.pages_answered, 1);
        // Reporting the errored page as failed as well is harmless.
        pager.on_page_failed(a);
        assert_eq!(pager.stats().pages_failed, 1);
    }
    let err = serde_json::from_slice::<Value>(b"x").unwrap_err();
    assert!(std::error::Error::source(&PageError::NotJson(err)).is_some());
}

#[test]
fn a_page_that_failed_for_good_stops_the_pager_incomplete() {
    let mut pager = MorePager::new(0, 5, 0);
    let a = pager.next_request().unwrap();
    pager
        .on_page(a, &page(&["a", "b", "c", "d", "e"]), Some(true))
        .unwrap();
    let b = pager.next_request().unwrap();
    pager.on_page_failed(b);
    assert_eq!(pager.next_request(), None);
    assert!(pager.is_done());
    let stats = pager.stats();
    assert!(!stats.complete);
    assert_eq!(stats.pages_failed, 1);
    assert_eq!(stats.end, None);
}

#[test]
fn an_answer_to_a_page_not_asked_for_is_refused_and_changes_nothing() {
    let mut pager = MorePager::new(0, 5, 0);
    let a = pager.next_request().unwrap();
    let stranger = PageRequest {
        start: 5,
        per_page: 5,
    };
    let err = pager
        .on_page(stranger, &page(&["x"]), Some(false))
        .unwrap_err();
    assert!(matches!(err, PageError::NotOutstanding(r) if r == stranger));
    assert_eq!(
        err.to_string(),
        "answer for page start=5 per_page=5 that was not asked for (a bug in the engine)"
    );
    pager.on_page_failed(stranger);
    assert_eq!(pager.stats().pages_failed, 0);
    assert!(
        pager
            .on_page(a, &page(&["x"]), Some(false))
            .unwrap()
            .new_ids
            == ["x"]
    );
    assert!(pager.stats().complete);
}

#[test]
fn a_zero_page_size_is_taken_as_one() {
    let mut pager = MorePager::new(7, 0, 0);
    assert_eq!(
        pager.next_request(),
        Some(PageRequest {
            start: 7,
            per_page: 1
        })
    );
}

#[test]
fn lookahead_lays_consecutive_pages_up_to_the_limit() {
    for k in [0u32, 1, 3, 8] {
        let mut pager = MorePager::new(10, 5, k);
        let reqs: Vec<_> = std::iter::from_fn(|| pager.next_request()).collect();
        let want: Vec<_> = (0..=u64::from(k))
            .map(|i| PageRequest {
                start: 10 + 5 * i,
                per_page: 5,
            })
            .collect();
        assert_eq!(reqs, want);
    }
}

/// The minimal number of requests a one-page-at-a-time client needs to read `r` items
/// with `e` items a page: one probe for an empty list; one more without `More` when the
/// last page is full.
fn minimal_requests(r: u64, e: u64, more: MoreMode) -> u64 {
    if r == 0 {
        return 1;
    }
    let pages = r.div_ceil(e);
    match more {
        MoreMode::Omitted if r % e == 0 => pages + 1,
        _ => pages,
    }
}

/// What the simulated server does besides serving the list faithfully.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Twist {
    /// Nothing: distinct, valid ids.
    None,
    /// Duplicates (within and across pages) and unacceptable entries in the list.
    Noisy,
    /// The first page asked at or beyond `n / 2` answers empty with `More: True`.
    EarlyEmptyPage,
}

/// One combination of the exhaustive loop.
#[derive(Debug, Clone, Copy)]
struct Case {
    n: u64,
    start: u64,
    per_page: u32,
    cap: u32,
    lookahead: u32,
    order: Order,
    more: MoreMode,
    twist: Twist,
}

#[test]
fn every_id_exactly_once_for_every_size_page_cap_lookahead_and_order() {
    let mut runs = 0;
    for n in [0u64, 1, 4, 5, 6, 24, 25, 26, 100] {
        // The long list is the slow one: two orders are enough there.
        let orders: &[Order] = if n > 26 {
            &[Order::Fifo, Order::Shuffled(7)]
        } else {
            &[
                Order::Fifo,
                Order::Reversed,
                Order::Shuffled(1),
                Order::Shuffled(7),
            ]
        };
        for start in [0u64, 3] {
            for per_page in [1u32, 3, 5, 7] {
                for cap in [1u32, 3, 5, 100] {
                    for lookahead in [0u32, 1, 3, 8] {
                        for &order in orders {
                            for more in [MoreMode::Explicit, MoreMode::Omitted] {
                                for twist in [Twist::None, Twist::Noisy, Twist::EarlyEmptyPage] {
                                    check_one(Case {
                                        n,
                                        start,
                                        per_page,
                                        cap,
                                        lookahead,
                                        order,
                                        more,
                                        twist,
                                    });
                                    runs += 1;
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    assert_eq!(runs, (8 * 4 + 2) * 2 * 4 * 4 * 4 * 2 * 3);
}

/// Drives one case and checks every rule that applies to it.
fn check_one(c: Case) {
    let case = format!("{c:?}");
    let Case {
        n,
        start,
        per_page,
        cap,
        lookahead,
        order,
        more,
        twist,
    } = c;
    let list = match twist {
        Twist::Noisy => noisy_list(n),
        _ => clean_list(n),
    };
    let mut server = Server::new(&list, cap, more);
    if twist == Twist::EarlyEmptyPage {
        server.glitch_at = Some(n / 2);
    }
    // A noisy list of tiny pages, answered out of order, can bring three pages of only
    // duplicates and rejects in a row: the rule that ends such a listing is told apart
    // (`three_pages_in_a_row_without_a_new_id_end_the_listing_naming_the_page`).
    let mut pager = MorePager::new(start, per_page, lookahead).barren_limit(u32::MAX);
    let run = drive(&mut pager, &mut server, lookahead, order);
    let stats = run.stats;

    // Never an id twice, never an id the list does not hold, never a position twice.
    let got: HashSet<&str> = run.ids.iter().map(String::as_str).collect();
    assert_eq!(got.len(), run.ids.len(), "an id twice: {case}");
    let listed: HashSet<&str> = list.iter().filter_map(Value::as_str).collect();
    assert!(got.is_subset(&listed), "an id not listed: {case}");
    assert!(
        server.served.iter().all(|&s| s <= 1),
        "a position served twice: {case}"
    );
    assert!(stats.complete, "{case}");
    if cap >= per_page {
        // All pages are laid at the frontier, so all those wasted were out at once with the
        // page that told the end. (With a cap, a gap page laid below a first, too high end
        // can turn out to be beyond the real one: more waste, still counted exactly below.)
        assert!(
            stats.extra_pages <= u64::from(lookahead),
            "{case}: {stats:?}"
        );
    }
    assert_eq!(stats.pages_requested, run.requests.len() as u64, "{case}");
    assert_eq!(stats.pages_answered, run.requests.len() as u64, "{case}");

    // Which positions the pager had to read: all of them, unless the server cannot be told
    // from the end (a cap without More) or glitched with an empty page.
    let cap_hidden = more == MoreMode::Omitted && cap < per_page;
    let mut read_up_to = n;
    if cap_hidden {
        read_up_to = read_up_to.min(start + u64::from(cap));
    }
    if let Some(g) = server.glitched {
        assert!(
            run.after_glitch.iter().all(|r| r.start < g),
            "asked at or beyond the empty page at {g}: {case}"
        );
        read_up_to = read_up_to.min(g);
    }
    let must_read = start.min(read_up_to)..read_up_to;
    for i in must_read.clone() {
        assert_eq!(
            server.served[i as usize], 1,
            "position {i} never read: {case}"
        );
        if let Some(id) = list[i as usize].as_str() {
            if check_id(id).is_ok() {
                assert!(got.contains(id), "id at {i} missing: {case}");
            }
        }
    }
    if server.glitched.is_some() || cap_hidden {
        return;
    }

    // The whole list was read: exact counts.
    let good: Vec<&str> = list[start.min(n) as usize..]
        .iter()
        .filter_map(Value::as_str)
        .filter(|id| check_id(id).is_ok())
        .collect();
    let distinct: HashSet<&str> = good.iter().copied().collect();
    assert_eq!(got, distinct, "{case}");
    assert_eq!(stats.ids, distinct.len() as u64, "{case}");
    assert_eq!(
        stats.duplicates,
        (good.len() - distinct.len()) as u64,
        "{case}"
    );
    let bad = (n.saturating_sub(start)) as usize - good.len();
    assert_eq!(stats.rejected, bad as u64, "{case}");
    assert_eq!(run.rejected, bad, "{case}");
    let end = n.max(start);
    assert_eq!(stats.end, Some(end), "{case}");

    // Extra pages: every page at or beyond the end, except a probe the end needed.
    let probe_needed = n <= start
        || (more == MoreMode::Omitted
            && (n - start) % u64::from(per_page.min(cap)) == 0
            && cap >= per_page);
    let beyond = run.requests.iter().filter(|r| r.start >= end).count() as u64;
    assert_eq!(
        stats.extra_pages,
        beyond - u64::from(probe_needed),
        "{case}"
    );

    if lookahead == 0 {
        let e = u64::from(per_page.min(cap));
        assert_eq!(stats.extra_pages, 0, "{case}");
        assert_eq!(
            stats.pages_requested,
            minimal_requests(n.saturating_sub(start), e, more),
            "{case}: {:?}",
            starts(&run)
        );
    }
}

/// A response head with these extra header lines, parsed as the exchange would.
fn head_with(lines: &str) -> ResponseHead {
    let text = format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{lines}\r\n");
    let limits = crate::protocol::http::Limits::default();
    ResponseHead::parse(text.as_bytes(), &limits)
        .unwrap()
        .unwrap()
        .0
}

#[test]
fn as_a_paging_style_it_posts_its_form_and_reads_more_from_the_head() {
    let mut pager = MorePager::new(0, 2, 0);
    let style: &mut dyn Paging = &mut pager;
    let first = style.next_page().expect("a first page");
    assert_eq!(first.method, Method::Post);
    assert_eq!(first.url, None, "the list URL itself");
    assert_eq!(first.body.as_deref(), Some(&b"start=0&per_page=2"[..]));
    assert!(
        style.next_page().is_none(),
        "one page at a time without lookahead"
    );

    let body = json!({"urls": ["a", "b"]}).to_string();
    let outcome = style
        .on_answer(
            first.id,
            None,
            &head_with("More: True\r\n"),
            body.as_bytes(),
        )
        .unwrap();
    assert_eq!(outcome.new_ids, ["a", "b"]);
    let second = style.next_page().expect("More: True asks on");
    assert_ne!(second.id, first.id, "every page has its own id");
    assert_eq!(second.body.as_deref(), Some(&b"start=2&per_page=2"[..]));

    let body = json!({"urls": ["c"]}).to_string();
    style
        .on_answer(
            second.id,
            None,
            &head_with("more: false\r\n"),
            body.as_bytes(),
        )
        .unwrap();
    assert!(style.next_page().is_none());
    assert!(style.is_done());
    assert!(style.stats().complete);
}

#[test]
fn as_a_paging_style_it_refuses_an_unknown_page_and_stops_on_a_failed_one() {
    let mut pager = MorePager::new(0, 5, 1);
    let style: &mut dyn Paging = &mut pager;
    let first = style.next_page().unwrap();
    let _second = style.next_page().unwrap();
    let body = json!({"urls": []}).to_string();
    let stranger = PageId(first.id.0 + 100);
    let err = style
        .on_answer(stranger, None, &head_with(""), body.as_bytes())
        .unwrap_err();
    assert!(matches!(err, PageError::UnknownPage(p) if p == stranger));
    assert!(err.to_string().contains("not outstanding"), "{err}");
    style.on_failed(first.id);
    assert!(
        style.next_page().is_none(),
        "a failed page stops the listing"
    );
    // The same page reported again is ignored, and cannot be answered any more.
    style.on_failed(first.id);
    let err = style
        .on_answer(first.id, None, &head_with(""), body.as_bytes())
        .unwrap_err();
    assert!(matches!(err, PageError::UnknownPage(_)));
    assert!(!style.stats().complete);
}

// ----------------------------------------------------------------------------------
// Pages without a new id.

#[test]
fn three_pages_in_a_row_without_a_new_id_end_the_listing_naming_the_page() {
    // A server that answers every page with the same ids and `More: True`.
    let mut pager = MorePager::new(0, 2, 0);
    let mut answers = Vec::new();
    for _ in 0..10 {
        let Some(req) = pager.next_request() else {
            break;
        };
        answers.push(pager.on_page(req, &page(&["a", "b"]), Some(true)));
    }
    assert_eq!(
        answers.len(),
        4,
        "the first page, then three without a new id"
    );
    assert_eq!(answers[0].as_ref().unwrap().new_ids, ["a", "b"]);
    assert_eq!(answers[1].as_ref().unwrap().duplicates, 2);
    assert!(answers[2].as_ref().unwrap().new_ids.is_empty());
    let err = answers[3].as_ref().unwrap_err();
    assert!(matches!(
        err,
        PageError::NoNewIds {
            page: 4,
            start: 6,
            in_a_row: 3
        }
    ));
    assert_eq!(
        err.to_string(),
        "page 4 (start=6) brought no new id, the 3rd in a row: the list may be going round in circles"
    );
    assert_eq!(pager.next_request(), None);
    assert!(pager.is_done());
    let stats = pager.stats();
    assert!(!stats.complete);
    assert_eq!(stats.pages_failed, 1);
}

#[test]
fn a_page_with_a_new_id_breaks_the_row_and_the_end_of_the_list_is_not_counted() {
    let mut pager = MorePager::new(0, 1, 0);
    // Duplicates, two in a row, a new id, two more duplicates: never three in a row.
    for ids in [["a"], ["a"], ["a"], ["b"], ["b"], ["a"]] {
        let req = pager.next_request().unwrap();
        pager.on_page(req, &page(&ids), Some(true)).unwrap();
    }
    // The end: an empty page and pages beyond it bring no new id, and end nothing badly.
    let req = pager.next_request().unwrap();
    pager.on_page(req, &page(&[]), Some(true)).unwrap();
    assert!(pager.is_done());
    assert!(pager.stats().complete);
}

#[test]
fn pages_beyond_a_known_end_are_not_counted_as_pages_without_a_new_id() {
    // Lookahead 3: the last page says `More: False`, the three asked beyond it repeat ids.
    let mut pager = MorePager::new(0, 1, 3);
    let reqs: Vec<PageRequest> = std::iter::from_fn(|| pager.next_request()).collect();
    assert_eq!(reqs.len(), 4);
    pager.on_page(reqs[0], &page(&["a"]), Some(false)).unwrap();
    for &req in &reqs[1..] {
        pager.on_page(req, &page(&["a"]), Some(true)).unwrap();
    }
    assert!(pager.is_done());
    let stats = pager.stats();
    assert!(stats.complete);
    assert_eq!(stats.extra_pages, 3);
}
