//! Response heads: what is kept, how headers are found, and how errors read.
//!
//! Layer: `protocol`; may use nothing else of the crate (see `src/protocol/mod.rs`).

use std::error::Error as _;

use crate::protocol::http::{
    ChunkError, EofPhase, HttpError, Limits, RequestField, ResponseHead, Version,
};

fn parse(bytes: &[u8]) -> Result<Option<(ResponseHead, usize)>, HttpError> {
    ResponseHead::parse(bytes, &Limits::default())
}

#[test]
fn a_head_owns_its_facts() {
    let bytes =
        b"HTTP/1.0 404 Not Found\r\nContent-Type: text/plain\r\nX-Empty:\r\nset-cookie: a\r\n\
        Set-Cookie: b\r\nX-Latin1: caf\xe9\r\n\r\nbody";
    let (head, len) = parse(bytes).unwrap().unwrap();
    assert_eq!(len, bytes.len() - 4);
    assert_eq!(
        (head.status, head.version, head.reason()),
        (404, Version::Http10, "Not Found")
    );
    assert_eq!(head.header("content-type"), Some("text/plain"));
    assert_eq!(head.header("CONTENT-TYPE"), Some("text/plain"));
    assert_eq!(head.header("x-empty"), Some(""));
    assert_eq!(head.header("Set-Cookie"), Some("a"), "first match");
    assert_eq!(
        head.header_all("set-cookie").collect::<Vec<_>>(),
        [b"a", b"b"]
    );
    assert_eq!(head.header("x-latin1"), None, "not UTF-8");
    assert_eq!(head.header_bytes("x-latin1"), Some(&b"caf\xe9"[..]));
    assert_eq!(head.header("missing"), None);
    let names: Vec<_> = head.headers().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        [
            "Content-Type",
            "X-Empty",
            "set-cookie",
            "Set-Cookie",
            "X-Latin1"
        ]
    );
    assert_eq!(head.as_bytes(), &bytes[..len]);
    let debug = format!("{head:?}");
    assert!(
        debug.contains("404") && debug.contains("Content-Type"),
        "{debug}"
    );
}

#[test]
fn a_missing_reason_phrase_is_empty() {
    let (head, _) = parse(b"HTTP/1.1 200\r\n\r\n").unwrap().unwrap();
    assert_eq!(
        (head.status, head.version, head.reason()),
        (200, Version::Http11, "")
    );
    assert_eq!(head.headers().count(), 0);
}

#[test]
fn partial_heads_are_not_errors() {
    let bytes = b"HTTP/1.1 200 OK\r\nA: b\r\n\r\n";
    for end in 0..bytes.len() {
        assert_eq!(parse(&bytes[..end]), Ok(None), "prefix of {end} bytes");
    }
}

#[test]
fn errors_read_as_phrases_a_user_can_act_on() {
    let cases = [
        (
            HttpError::HeadTooLarge { limit: 65536 },
            "response head larger than 65536 bytes",
        ),
        (
            HttpError::TooManyHeaders { limit: 100 },
            "response head has more than 100 header fields",
        ),
        (
            HttpError::UnexpectedEof {
                phase: EofPhase::Body,
                got: 120,
                expected: Some(500),
            },
            "connection closed after 120 of 500 body bytes",
        ),
        (
            HttpError::UnexpectedEof {
                phase: EofPhase::BeforeResponse,
                got: 0,
                expected: None,
            },
            "connection closed before any response byte",
        ),
        (
            HttpError::UnexpectedEof {
                phase: EofPhase::Head,
                got: 25,
                expected: None,
            },
            "connection closed after 25 bytes of the response head",
        ),
        (
            HttpError::UnexpectedEof {
                phase: EofPhase::ChunkedBody,
                got: 7,
                expected: None,
            },
            "connection closed after 7 body bytes, before the last chunk",
        ),
        (
            HttpError::BadChunk {
                reason: ChunkError::SizeOverflow,
            },
            "bad chunked body: chunk size does not fit in 64 bits",
        ),
        (
            HttpError::InvalidRequest {
                field: RequestField::Authorization,
            },
            "authorization value contains a line break or control character",
        ),
        (
            HttpError::ConflictingContentLength,
            "response has conflicting content-length values",
        ),
        (
            HttpError::BadChunk {
                reason: ChunkError::TrailersTooLong { limit: 65536 },
            },
            "bad chunked body: trailer fields after the last chunk longer than 65536 bytes",
        ),
        (
            HttpError::HeadsTooLarge { limit: 307200 },
            "response heads, interim 1xx answers included, larger than 307200 bytes in total",
        ),
    ];
    for (error, text) in cases {
        assert_eq!(error.to_string(), text);
    }
    let malformed = HttpError::Malformed(httparse::Error::HeaderName);
    assert!(malformed.to_string().starts_with("malformed response head"));
    let source = malformed.source().expect("the parser error is kept");
    assert_eq!(
        source.downcast_ref::<httparse::Error>(),
        Some(&httparse::Error::HeaderName)
    );
    assert!(HttpError::UnsupportedVersion.source().is_none());
}

#[test]
fn only_truncation_is_retryable() {
    let eof = HttpError::UnexpectedEof {
        phase: EofPhase::Body,
        got: 1,
        expected: Some(2),
    };
    assert!(eof.is_retryable());
    for error in [
        HttpError::Malformed(httparse::Error::Version),
        HttpError::HeadTooLarge { limit: 1 },
        HttpError::HeadsTooLarge { limit: 1 },
        HttpError::TooManyHeaders { limit: 1 },
        HttpError::UnsupportedVersion,
        HttpError::ConflictingContentLength,
        HttpError::InvalidContentLength,
        HttpError::BadChunk {
            reason: ChunkError::InvalidSize,
        },
        HttpError::InvalidRequest {
            field: RequestField::Target,
        },
        HttpError::UnexpectedUpgrade,
    ] {
        assert!(!error.is_retryable(), "{error}");
    }
}
