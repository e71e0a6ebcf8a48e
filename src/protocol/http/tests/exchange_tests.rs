//! The exchange as a story of bytes: every fixture is fed whole, split at every position,
//! and one byte at a time, and must give the same head, body and end each time.
//!
//! Layer: `protocol`; may use nothing else of the crate (see `src/protocol/mod.rs`).

use super::harness::{feed_buffered, run, run_all_splits, Outcome};
use crate::protocol::http::{
    Awaiting, BodyMode, ChunkError, CodingName, EofPhase, Exchange, HttpError, Limits, Method, Part,
};

/// What a fixture must produce.
pub(super) struct Fixture {
    pub(super) name: &'static str,
    pub(super) method: Method,
    pub(super) keep_alive: bool,
    pub(super) bytes: &'static [u8],
    pub(super) eof: bool,
    pub(super) status: Option<u16>,
    pub(super) mode: Option<BodyMode>,
    pub(super) body: &'static [u8],
    pub(super) end: Result<Option<bool>, HttpError>,
    pub(super) leftover: &'static [u8],
}

const GET: Method = Method::Get;

/// A fixture answering a keep-alive GET, without EOF, expecting nothing left over.
const fn fx(
    name: &'static str,
    bytes: &'static [u8],
    status: Option<u16>,
    mode: Option<BodyMode>,
    body: &'static [u8],
    end: Result<Option<bool>, HttpError>,
) -> Fixture {
    Fixture {
        name,
        method: GET,
        keep_alive: true,
        bytes,
        eof: false,
        status,
        mode,
        body,
        end,
        leftover: b"",
    }
}

fn unsupported(coding: &str) -> HttpError {
    HttpError::UnsupportedTransferCoding {
        coding: CodingName::new(coding.as_bytes()),
    }
}

fn eof_at(phase: EofPhase, got: u64, expected: Option<u64>) -> Result<Option<bool>, HttpError> {
    Err(HttpError::UnexpectedEof {
        phase,
        got,
        expected,
    })
}

pub(super) fn fixtures() -> Vec<Fixture> {
    use BodyMode as M;
    let bad_chunk = |reason| Err(HttpError::BadChunk { reason });
    vec![
        fx("content-length", b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
            Some(200), Some(M::Length(5)), b"hello", Ok(Some(true))),
        fx("content-length zero", b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
            Some(200), Some(M::Length(0)), b"", Ok(Some(true))),
        fx("no reason phrase, bare LF lines", b"HTTP/1.1 404\nContent-Length: 2\n\nno",
            Some(404), Some(M::Length(2)), b"no", Ok(Some(true))),
        fx("leading empty line before the status line", b"\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx",
            Some(200), Some(M::Length(1)), b"x", Ok(Some(true))),
        fx("server says close", b"HTTP/1.1 200 OK\r\nConnection: Close\r\nContent-Length: 2\r\n\r\nok",
            Some(200), Some(M::Length(2)), b"ok", Ok(Some(false))),
        Fixture { keep_alive: false, ..fx("we asked for close", b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
            Some(200), Some(M::Length(2)), b"ok", Ok(Some(false))) },
        fx("chunked with extensions and trailers",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;name=\"v\"\r\nhello\r\n6 ; x\r\n world\r\n\
              0;last\r\nExpires: never\r\nX-Trailer: 1\r\n\r\n",
            Some(200), Some(M::Chunked), b"hello world", Ok(Some(true))),
        fx("chunked, upper-case hex, leading zeros, bare LF",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n00A\n0123456789\n000\n\n",
            Some(200), Some(M::Chunked), b"0123456789", Ok(Some(true))),
        fx("chunked and content-length: chunked wins, connection not reused",
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
            Some(200), Some(M::Chunked), b"hello", Ok(Some(false))),
        fx("conflicting content-length fields",
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
            None, None, b"", Err(HttpError::ConflictingContentLength)),
        fx("conflicting content-length list", b"HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\nhello!",
            None, None, b"", Err(HttpError::ConflictingContentLength)),
        fx("identical duplicate content-length", b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\ncontent-length: 5 , 5\r\n\r\nhello",
            Some(200), Some(M::Length(5)), b"hello", Ok(Some(true))),
        fx("negative content-length", b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            None, None, b"", Err(HttpError::InvalidContentLength)),
        fx("content-length overflow", b"HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551616\r\n\r\n",
            None, None, b"", Err(HttpError::InvalidContentLength)),
        Fixture { eof: true, ..fx("close-delimited", b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end",
            Some(200), Some(M::CloseDelimited), b"until the end", Ok(Some(false))) },
        fx("close-delimited still open", b"HTTP/1.1 200 OK\r\n\r\nso far",
            Some(200), Some(M::CloseDelimited), b"so far", Ok(None)),
        Fixture { eof: true, ..fx("a transfer coding other than chunked is refused", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 2\r\n\r\nzzz",
            None, None, b"", Err(unsupported("gzip"))) },
        fx("gzip before chunked is refused, not saved", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\n\x1f\x8b\x08\r\n0\r\n\r\n",
            None, None, b"", Err(unsupported("gzip"))),
        fx("chunked not last is refused", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n3\r\n\x1f\x8b\x08\r\n0\r\n\r\n",
            None, None, b"", Err(unsupported("gzip"))),
        fx("chunked applied twice is refused", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n8\r\n3\r\nabc\r\n\r\n0\r\n\r\n0\r\n\r\n",
            None, None, b"", Err(HttpError::ChunkedTwice)),
        fx("chunked on two header lines is refused", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: b\r\ntransfer-encoding: identity, CHUNKED\r\n\r\n1\r\nx\r\n0\r\n\r\n",
            None, None, b"", Err(HttpError::ChunkedTwice)),
        Fixture { eof: true, ..fx("transfer-encoding listing no coding: until close", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\n\r\nzzz",
            Some(200), Some(M::CloseDelimited), b"zzz", Ok(Some(false))) },
        fx("HTTP/1.0 without keep-alive", b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi",
            Some(200), Some(M::Length(2)), b"hi", Ok(Some(false))),
        fx("HTTP/1.0 with keep-alive", b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nhi",
            Some(200), Some(M::Length(2)), b"hi", Ok(Some(true))),
        Fixture { eof: true, ..fx("HTTP/1.0 keep-alive but close-delimited", b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\nhi",
            Some(200), Some(M::CloseDelimited), b"hi", Ok(Some(false))) },
        fx("HTTP/1.0 chunked is decoded but not reused",
            b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
            Some(200), Some(M::Chunked), b"hi", Ok(Some(false))),
        fx("100 Continue then 200", b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
            Some(200), Some(M::Length(2)), b"ok", Ok(Some(true))),
        fx("103 Early Hints then 200",
            b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n\
              HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
            Some(200), Some(M::Length(2)), b"ok", Ok(Some(true))),
        fx("101 Switching Protocols", b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n",
            None, None, b"", Err(HttpError::UnexpectedUpgrade)),
        fx("204 ignores content-length", b"HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n",
            Some(204), Some(M::None), b"", Ok(Some(true))),
        fx("304 ignores content-length", b"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\nTransfer-Encoding: chunked\r\n\r\n",
            Some(304), Some(M::None), b"", Ok(Some(false))),
        Fixture { method: Method::Head, ..fx("HEAD has no body", b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n",
            Some(200), Some(M::None), b"", Ok(Some(true))) },
        fx("garbage instead of a status line", b"garbage\r\n\r\n",
            None, None, b"", Err(HttpError::Malformed(httparse::Error::Version))),
        fx("an SSH banner", b"SSH-2.0-OpenSSH_9.6\r\n",
            None, None, b"", Err(HttpError::Malformed(httparse::Error::Version))),
        fx("a TLS record", b"\x16\x03\x01\x00\xa5\x01\x00\x00",
            None, None, b"", Err(HttpError::Malformed(httparse::Error::Version))),
        fx("bad status code", b"HTTP/1.1 2x0 OK\r\n\r\n",
            None, None, b"", Err(HttpError::Malformed(httparse::Error::Status))),
        fx("status below 100", b"HTTP/1.1 099 Odd\r\n\r\n",
            None, None, b"", Err(HttpError::Malformed(httparse::Error::Status))),
        fx("bad header name", b"HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
            None, None, b"", Err(HttpError::Malformed(httparse::Error::HeaderName))),
        fx("HTTP/2 status line", b"HTTP/2.0 200 OK\r\n\r\n",
            None, None, b"", Err(HttpError::UnsupportedVersion)),
        Fixture { eof: true, ..fx("truncated body", b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello",
            Some(200), Some(M::Length(10)), b"hello", eof_at(EofPhase::Body, 5, Some(10))) },
        Fixture { eof: true, ..fx("truncated chunked body",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3\r\nab",
            Some(200), Some(M::Chunked), b"helloab", eof_at(EofPhase::ChunkedBody, 7, None)) },
        Fixture { eof: true, ..fx("truncated in the trailers",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\nX-T",
            Some(200), Some(M::Chunked), b"hi", eof_at(EofPhase::ChunkedBody, 2, None)) },
        Fixture { eof: true, ..fx("closed before any byte", b"",
            None, None, b"", eof_at(EofPhase::BeforeResponse, 0, None)) },
        Fixture { eof: true, ..fx("closed mid head", b"HTTP/1.1 200 OK\r\nContent-",
            None, None, b"", eof_at(EofPhase::Head, 25, None)) },
        Fixture { eof: true, ..fx("closed after an interim response", b"HTTP/1.1 100 Continue\r\n\r\n",
            None, None, b"", eof_at(EofPhase::Head, 0, None)) },
        Fixture { leftover: b"EXTRA", ..fx("bytes after End are left unconsumed",
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloEXTRA",
            Some(200), Some(M::Length(5)), b"hello", Ok(Some(true))) },
        Fixture { leftover: b"HTTP/1.1", ..fx("bytes after a chunked End are left unconsumed",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\nHTTP/1.1",
            Some(200), Some(M::Chunked), b"x", Ok(Some(true))) },
        fx("chunk size not hex", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            Some(200), Some(M::Chunked), b"", bad_chunk(ChunkError::InvalidSize)),
        fx("chunk size overflow", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n",
            Some(200), Some(M::Chunked), b"", bad_chunk(ChunkError::SizeOverflow)),
        fx("chunk data without CRLF", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n",
            Some(200), Some(M::Chunked), b"abc", bad_chunk(ChunkError::MissingLineFeed)),
    ]
}

#[test]
fn every_fixture_parses_the_same_however_it_is_split() {
    for f in fixtures() {
        let out = run_all_splits(f.method, f.keep_alive, Limits::default(), f.bytes, f.eof);
        let status = out.head.as_ref().map(|h| h.status);
        assert_eq!(status, f.status, "{}: status", f.name);
        assert_eq!(out.mode, f.mode, "{}: body mode", f.name);
        assert_eq!(out.body, f.body, "{}: body", f.name);
        assert_eq!(out.end, f.end, "{}: end", f.name);
        assert_eq!(out.leftover, f.leftover, "{}: leftover", f.name);
    }
}

#[test]
fn a_two_mebibyte_header_fails_at_the_limit_not_at_the_end() {
    let mut bytes = b"HTTP/1.1 200 OK\r\nX-Big: ".to_vec();
    bytes.resize(bytes.len() + 2 * 1024 * 1024, b'a');
    bytes.extend_from_slice(b"\r\n\r\n");
    let limit = Limits::default().max_head_bytes;
    let too_large = Err(HttpError::HeadTooLarge { limit });
    assert_eq!(
        run(GET, true, Limits::default(), [&bytes[..]], false).end,
        too_large
    );

    let mut ex = Exchange::new(GET, true, Limits::default());
    let mut buf = Vec::new();
    for piece in bytes.chunks(4096) {
        buf.extend_from_slice(piece);
        match ex.feed(&buf) {
            Ok((0, None)) => assert!(buf.len() <= limit, "kept buffering past the limit"),
            Ok(other) => panic!("unexpected {other:?}"),
            Err(e) => {
                assert_eq!(Err(e), too_large);
                assert!(buf.len() <= limit + 4096);
                return;
            }
        }
    }
    panic!("never failed");
}

#[test]
fn a_head_exactly_at_the_limit_is_accepted() {
    let bytes = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    let head_len = bytes.len() - 2;
    let limits = Limits {
        max_head_bytes: head_len,
        ..Limits::default()
    };
    assert_eq!(
        run_all_splits(GET, true, limits, bytes, false).end,
        Ok(Some(true))
    );
    let limits = Limits {
        max_head_bytes: head_len - 1,
        ..Limits::default()
    };
    let out = run_all_splits(GET, true, limits, bytes, false);
    assert_eq!(
        out.end,
        Err(HttpError::HeadTooLarge {
            limit: head_len - 1
        })
    );
}

#[test]
fn header_count_is_bounded() {
    let head = |n: usize| {
        let mut h = b"HTTP/1.1 200 OK\r\n".to_vec();
        for i in 0..n {
            h.extend_from_slice(format!("X-H{i}: {i}\r\n").as_bytes());
        }
        h.extend_from_slice(b"Content-Length: 0\r\n\r\n");
        h
    };
    let ok = run(GET, true, Limits::default(), [&head(99)[..]], false);
    assert_eq!(ok.end, Ok(Some(true)));
    assert_eq!(ok.head.unwrap().headers().count(), 100);
    let too_many = run_all_splits(GET, true, Limits::default(), &head(100), false);
    assert_eq!(too_many.end, Err(HttpError::TooManyHeaders { limit: 100 }));
    // More slots than fit on the stack use the heap.
    let limits = Limits {
        max_headers: 300,
        ..Limits::default()
    };
    assert_eq!(
        run(GET, true, limits, [&head(250)[..]], false).end,
        Ok(Some(true))
    );
}

#[test]
fn two_pipelined_responses_parse_as_two_exchanges() {
    let bytes: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none\
        HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nMore: True\r\n\r\n3\r\ntwo\r\n0\r\n\r\n";
    let run_two = |pieces: &[&[u8]]| {
        let mut buf = Vec::new();
        let mut exchanges = [
            Exchange::new(GET, true, Limits::default()),
            Exchange::new(GET, true, Limits::default()),
        ];
        let mut outs: Vec<Outcome> = (0..2).map(|_| Outcome::new()).collect();
        let mut current = 0;
        for piece in pieces {
            buf.extend_from_slice(piece);
            while current < 2
                && feed_buffered(&mut exchanges[current], &mut buf, &mut outs[current])
            {
                current += 1;
            }
        }
        assert!(buf.is_empty());
        outs
    };
    let whole = run_two(&[bytes]);
    assert_eq!(whole[0].body, b"one");
    assert_eq!(whole[1].body, b"two");
    assert_eq!(whole[1].head.as_ref().unwrap().header("more"), Some("True"));
    assert!(whole.iter().all(|o| o.end == Ok(Some(true))));
    for i in 0..=bytes.len() {
        assert_eq!(run_two(&[&bytes[..i], &bytes[i..]]), whole, "split at {i}");
    }
}

#[test]
fn phases_and_response_bytes_follow_the_story() {
    let mut ex = Exchange::new(GET, true, Limits::default());
    assert_eq!(
        (ex.awaiting(), ex.has_response_bytes(), ex.body_mode()),
        (Awaiting::Head, false, None)
    );
    assert_eq!(ex.feed(b""), Ok((0, None)));
    assert!(
        !ex.has_response_bytes(),
        "an empty feed is not a response byte"
    );
    assert_eq!(ex.feed(b"HTTP/1.1 2"), Ok((0, None)));
    assert!(ex.has_response_bytes(), "buffered bytes count");
    let full = b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbody";
    let (used, event) = ex.feed(full).unwrap();
    assert_eq!(used, full.len() - 4);
    assert!(matches!(event, Some(Part::Head(ref h)) if h.status == 200));
    assert_eq!(
        (ex.awaiting(), ex.body_mode()),
        (Awaiting::Body, Some(BodyMode::Length(4)))
    );
    assert_eq!(ex.feed(b"bo"), Ok((2, Some(Part::Body(b"bo")))));
    assert_eq!(ex.feed(b""), Ok((0, None)));
    assert_eq!(ex.feed(b"dyX"), Ok((2, Some(Part::Body(b"dy")))));
    assert!(!ex.is_done(), "End comes on the next call");
    assert_eq!(ex.feed(b"X"), Ok((0, Some(Part::End { reusable: true }))));
    assert!(ex.is_done());
    assert_eq!(ex.feed(b"X"), Ok((0, None)));
    assert_eq!(ex.feed_eof(), Ok(None));
    assert_eq!(ex.awaiting().to_string(), "response complete");
}

#[test]
fn eof_with_an_end_still_pending_ends_the_response_but_not_the_connection() {
    let mut ex = Exchange::new(GET, true, Limits::default());
    let (_, event) = ex.feed(b"HTTP/1.1 204 No Content\r\n\r\n").unwrap();
    assert!(matches!(event, Some(Part::Head(_))));
    assert_eq!(ex.feed_eof(), Ok(Some(Part::End { reusable: false })));
    assert!(ex.is_done());
}

const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

#[test]
fn endless_interim_answers_fail_after_a_bounded_number_of_bytes() {
    let limits = Limits::default();
    let too_large = Err(HttpError::HeadsTooLarge {
        limit: limits.max_total_head_bytes,
    });
    let mut ex = Exchange::new(GET, true, limits);
    let mut out = Outcome::new();
    let mut buf = Vec::new();
    let mut sent = 0;
    // A server sending `100 Continue` forever, a few heads per read.
    while !feed_buffered(&mut ex, &mut buf, &mut out) {
        buf.extend_from_slice(&CONTINUE.repeat(7));
        sent += 7 * CONTINUE.len();
        assert!(
            sent <= limits.max_total_head_bytes + limits.max_head_bytes,
            "kept reading interim answers past the limit"
        );
    }
    assert_eq!(out.end, too_large);
    assert!(sent > limits.max_total_head_bytes - 7 * CONTINUE.len());
}

#[test]
fn the_total_of_heads_counts_interim_and_final_heads() {
    let fin: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    let heads_len = 3 * CONTINUE.len() + fin.len() - 2;
    let bytes = [CONTINUE, CONTINUE, CONTINUE, fin].concat();
    let limits = |max_total_head_bytes| Limits {
        max_total_head_bytes,
        ..Limits::default()
    };
    let at_limit = run_all_splits(GET, true, limits(heads_len), &bytes, false);
    assert_eq!(
        (at_limit.end, at_limit.body),
        (Ok(Some(true)), b"ok".to_vec())
    );
    // One byte less: the final head passes it.
    let out = run_all_splits(GET, true, limits(heads_len - 1), &bytes, false);
    let too_large = Err(HttpError::HeadsTooLarge {
        limit: heads_len - 1,
    });
    assert_eq!((out.head, out.end), (None, too_large));
    // Interim answers alone pass it: the third is refused, the final head never read.
    let out = run_all_splits(GET, true, limits(2 * CONTINUE.len() + 1), &bytes, false);
    let too_large = Err(HttpError::HeadsTooLarge {
        limit: 2 * CONTINUE.len() + 1,
    });
    assert_eq!((out.head, out.end), (None, too_large));
}

#[test]
fn endless_trailers_fail_at_the_trailer_limit() {
    let head: &[u8] = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n";
    let trailers = b"X-T: 1\r\n".repeat(4); // 32 bytes
    let limits = |max_trailer_bytes| Limits {
        max_trailer_bytes,
        ..Limits::default()
    };
    let bytes = [head, &trailers, b"\r\n"].concat();
    let at_limit = run_all_splits(GET, true, limits(32), &bytes, false);
    assert_eq!(
        (at_limit.end, at_limit.body),
        (Ok(Some(true)), b"hi".to_vec())
    );
    let over = run_all_splits(GET, true, limits(31), &bytes, false);
    let too_long = Err(HttpError::BadChunk {
        reason: ChunkError::TrailersTooLong { limit: 31 },
    });
    assert_eq!((over.end, over.body), (too_long, b"hi".to_vec()));

    // A server sending trailers forever, with the default limit.
    let limits = Limits::default();
    let mut ex = Exchange::new(GET, true, limits);
    let mut out = Outcome::new();
    let mut buf = head.to_vec();
    let mut sent = 0;
    while !feed_buffered(&mut ex, &mut buf, &mut out) {
        buf.extend_from_slice(&trailers);
        sent += trailers.len();
        assert!(
            sent <= limits.max_trailer_bytes + trailers.len(),
            "kept reading"
        );
    }
    let too_long = Err(HttpError::BadChunk {
        reason: ChunkError::TrailersTooLong {
            limit: limits.max_trailer_bytes,
        },
    });
    assert_eq!((out.end, out.body), (too_long, b"hi".to_vec()));
}
