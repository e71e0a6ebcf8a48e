//! Unit tests of the server's sans-IO parts: catalog, request framing, forms, faults, responses.
//!
//! Layer: `serve`; may use `protocol`, `model`, `policy`, `output`, `transport`, `engine` and `report` (see `src/serve/mod.rs`).

use super::catalog::*;
use super::faults::*;
use super::request::{parse, Parsed, Persistence};
use super::response::{render, Body, Outgoing, Reply};
use super::routes::{parse_form, route, url_decode, Asked, Catalog};
#[test]
fn ids_are_uuid4_shaped_distinct_and_reproducible() {
    let a = catalog(100, 7);
    assert_eq!(a, catalog(100, 7));
    assert_ne!(a, catalog(100, 8));
    let unique: std::collections::HashSet<_> = a.iter().collect();
    assert_eq!(unique.len(), 100);
    for id in &a {
        assert_eq!(id.len(), 32);
        assert!(id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        assert_eq!(&id[12..13], "4");
        assert!("89ab".contains(&id[16..17]), "{id}");
    }
}

#[test]
fn pattern_is_the_documented_formula() {
    assert_eq!(pattern_byte(0), 7);
    assert_eq!(pattern_byte(1), 38);
    assert_eq!(pattern_byte(251), 7);
    assert_eq!(pattern_byte(u64::MAX), pattern_byte(u64::MAX % 251));
    let mut buf = [0u8; 4];
    fill_pattern(250, &mut buf);
    assert_eq!(buf, [pattern_byte(250), 7, 38, pattern_byte(2)]);
}

#[test]
fn a_request_is_partial_at_every_prefix_and_whole_at_the_end() {
    let raw = b"POST /api/list_files HTTP/1.1\r\nHost: x\r\nContent-Length: 18\r\n\r\nstart=5&per_page=2GET /next";
    let whole = raw.len() - "GET /next".len();
    for cut in 0..whole {
        assert_eq!(parse(&raw[..cut]), Parsed::Partial, "cut at {cut}");
    }
    let Parsed::Request(req) = parse(raw) else {
        panic!("not parsed")
    };
    assert_eq!(req.consumed, whole);
    assert_eq!(
        (req.method.as_str(), req.target.as_str()),
        ("POST", "/api/list_files")
    );
    assert_eq!(req.body, b"start=5&per_page=2");
    assert!(req.keep_alive && !req.http10);
}

#[test]
fn keep_alive_follows_version_and_connection_header() {
    let ka = |raw: &[u8]| match parse(raw) {
        Parsed::Request(r) => r.keep_alive,
        other => panic!("{other:?}"),
    };
    assert!(ka(b"GET / HTTP/1.1\r\n\r\n"));
    assert!(!ka(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n"));
    assert!(!ka(b"GET / HTTP/1.0\r\n\r\n"));
    assert!(ka(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"));
    assert!(!ka(b"GET / HTTP/1.1\r\nConnection: foo, Close\r\n\r\n"));
}

#[test]
fn bad_requests_get_a_status() {
    assert_eq!(
        parse(b"GARBAGE\x01 / HTTP/1.1\r\n\r\n"),
        Parsed::Invalid(400, "Bad Request")
    );
    assert_eq!(
        parse(b"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n"),
        Parsed::Invalid(400, "Bad Request")
    );
    assert_eq!(
        parse(b"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
        Parsed::Invalid(400, "Bad Request")
    );
    assert!(matches!(
        parse(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"),
        Parsed::Invalid(501, _)
    ));
    assert!(matches!(
        parse(b"POST / HTTP/1.1\r\nContent-Length: 999999\r\n\r\n"),
        Parsed::Invalid(413, _)
    ));
    let long = format!("GET /{} HTTP/1.1\r\n", "a".repeat(20_000));
    assert!(matches!(parse(long.as_bytes()), Parsed::Invalid(431, _)));
    let many = format!("GET / HTTP/1.1\r\n{}\r\n", "X: y\r\n".repeat(100));
    assert!(matches!(parse(many.as_bytes()), Parsed::Invalid(431, _)));
}

#[test]
fn forms_are_url_decoded() {
    let form = parse_form(b"start=1%30&per_page=+2&x=a%2&empty=&flag");
    assert_eq!(form["start"], "10");
    assert_eq!(form["per_page"], " 2");
    assert_eq!(form["x"], "a%2");
    assert_eq!(form["empty"], "");
    assert_eq!(form["flag"], "");
    assert_eq!(url_decode(b"%41%zz%"), "A%zz%");
}

#[test]
fn fault_specs_parse_with_defaults_and_options() {
    let plan = FaultPlan::parse("503:1@1, reset-body:25%=/api/download/,status-429-date").unwrap();
    assert_eq!(plan.rules.len(), 3);
    assert_eq!(
        plan.rules[0],
        FaultRule {
            kind: FaultKind::Status503,
            rate: 1.0,
            first: Some(1),
            prefix: None
        }
    );
    assert_eq!(plan.rules[1].kind, FaultKind::ResetBody);
    assert_eq!(plan.rules[1].rate, 0.25);
    assert_eq!(plan.rules[1].prefix.as_deref(), Some("/api/download/"));
    assert_eq!(plan.rules[2].kind, FaultKind::Status429Date);
    assert!(FaultPlan::parse("").unwrap().is_empty());
    for kind in FaultKind::ALL {
        assert_eq!(kind.name().parse::<FaultKind>(), Ok(kind));
        assert!(FAULT_HELP.contains(kind.name()), "{kind} undocumented");
    }
}

#[test]
fn fault_parse_errors_name_the_bad_token() {
    let err = |s: &str| FaultPlan::parse(s).unwrap_err().to_string();
    assert!(err("503,bogus:0.5").contains("'bogus'"));
    assert!(err("503:1.5").contains("'1.5'"));
    assert!(err("503:x").contains("'x'"));
    assert!(err("503@0").contains("'@0'"));
    assert!(err("503@-1").contains("'@-1'"));
    assert!(err("503,,stall").contains("empty"));
    assert!(!err("bogus").contains('\n'));
}

#[test]
fn fault_decisions_are_deterministic_and_respect_first_and_prefix() {
    let plan = FaultPlan::parse("503@1=/api/download/").unwrap();
    assert_eq!(
        plan.decide(9, "GET /api/download/a", 0),
        Some(FaultKind::Status503)
    );
    assert_eq!(plan.decide(9, "GET /api/download/a", 1), None);
    assert_eq!(plan.decide(9, "POST /api/list_files?start=0", 0), None);

    let half = FaultPlan::parse("reset-head:0.5").unwrap();
    let pick = |seed| {
        (0..1000)
            .map(|n| {
                half.decide(seed, &format!("GET /t{}", n % 10), n / 10)
                    .is_some()
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(pick(1), pick(1));
    assert_ne!(pick(1), pick(2));
    let hits = pick(1).iter().filter(|&&b| b).count();
    assert!((400..600).contains(&hits), "{hits} of 1000 at rate 0.5");
    assert_eq!(
        FaultPlan::parse("stall:0").unwrap().decide(1, "GET /", 0),
        None
    );
}

#[test]
fn http_dates_are_imf_fixdate() {
    use std::time::{Duration, UNIX_EPOCH};
    assert_eq!(
        super::http_date(UNIX_EPOCH),
        "Thu, 01 Jan 1970 00:00:00 GMT"
    );
    let t = UNIX_EPOCH + Duration::from_secs(784_111_777);
    assert_eq!(super::http_date(t), "Sun, 06 Nov 1994 08:49:37 GMT");
    let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
    assert_eq!(super::http_date(leap), "Tue, 29 Feb 2000 00:00:00 GMT");
}

/// Every byte of `out` (at most `cap`), and what happens after.
fn drain(mut out: Outgoing, cap: usize) -> (Vec<u8>, String) {
    let mut bytes = Vec::new();
    while bytes.len() < cap {
        let n = out.pending().len();
        if n == 0 {
            break;
        }
        bytes.extend_from_slice(out.pending());
        out.consume(n);
    }
    (bytes, format!("{:?}", out.then))
}

#[test]
fn every_fault_kind_changes_the_bytes_or_the_ending() {
    let bodies: [fn() -> Body; 2] = [
        || Body::Static(b"hello, world".to_vec()),
        || Body::Pattern(40_000),
    ];
    for chunked in [false, true] {
        for body in bodies {
            let reply = || Reply {
                chunked,
                ..Reply::new(200, body())
            };
            let expected = drain(render(reply(), None, Persistence::KeepOpen, "/x"), 1 << 20);
            assert!(expected.0.starts_with(b"HTTP/1.1 200 OK\r\n"));
            assert_eq!(expected.1, "KeepAlive");
            for kind in FaultKind::ALL {
                let got = drain(
                    render(reply(), Some(kind), Persistence::KeepOpen, "/x"),
                    1 << 22,
                );
                assert_ne!(got, expected, "{kind} (chunked: {chunked}) changes nothing");
            }
        }
    }
}

#[test]
fn the_connection_header_follows_what_the_request_asked() {
    let head_of = |persistence| {
        let reply = Reply::new(200, Body::Static(b"hello".to_vec()));
        let (bytes, _) = drain(render(reply, None, persistence, "/x"), 1 << 20);
        let text = String::from_utf8_lossy(&bytes).into_owned();
        text.split("\r\n\r\n").next().unwrap().to_string()
    };
    assert!(head_of(Persistence::Close).contains("\r\nConnection: close"));
    assert!(head_of(Persistence::KeepOpen10).contains("\r\nConnection: keep-alive"));
    assert!(!head_of(Persistence::KeepOpen).contains("Connection:"));
    assert!(Persistence::KeepOpen10.keeps_open() && !Persistence::Close.keeps_open());
}

/// `/bytes/<n>` and `Range: bytes=N-`: a `206` from N, a `416` past the end, and the
/// whole body when `If-Range` names another `ETag` (or `--no-ranges` dropped the range).
#[test]
fn bytes_answer_ranges_if_the_etag_is_theirs() {
    let catalog = Catalog::new(Vec::new());
    let answer = |asked: &Asked<'_>| {
        let reply = route(
            &catalog,
            Default::default(),
            5,
            "GET",
            "/bytes/10",
            b"",
            asked,
        );
        let (bytes, _) = drain(render(reply, None, Persistence::KeepOpen, "/x"), 1 << 20);
        (String::from_utf8_lossy(&bytes).into_owned(), bytes)
    };
    let from = |n, if_range| Asked {
        range_from: Some(n),
        if_range,
        etag_salt: "",
    };
    let (whole, _) = answer(&Asked::default());
    assert!(whole.starts_with("HTTP/1.1 200 OK\r\n") && whole.contains("ETag: \"10\"\r\n"));
    let (part, raw) = answer(&from(4, Some("\"10\"")));
    assert!(
        part.starts_with("HTTP/1.1 206 Partial Content\r\n"),
        "{part}"
    );
    assert!(part.contains("Content-Range: bytes 4-9/10\r\nETag: \"10\"\r\nContent-Length: 6\r\n"));
    let mut expected = [0u8; 6];
    fill_pattern(4, &mut expected);
    assert!(raw.ends_with(&expected));
    assert!(answer(&from(4, None)).0.starts_with("HTTP/1.1 206"));
    let (past, _) = answer(&from(10, None));
    assert!(
        past.starts_with("HTTP/1.1 416 Range Not Satisfiable\r\n"),
        "{past}"
    );
    assert!(past.contains("Content-Range: bytes */10\r\n"));
    assert!(answer(&from(4, Some("\"old\"")))
        .0
        .starts_with("HTTP/1.1 200 OK"));
    let salted = Asked {
        etag_salt: "v2",
        ..from(4, Some("\"10\""))
    };
    let (changed, _) = answer(&salted);
    assert!(changed.starts_with("HTTP/1.1 200") && changed.contains("ETag: \"10-v2\""));
}
