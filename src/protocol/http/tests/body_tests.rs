//! The framing decision (RFC 9112 §6.3) and the keep-alive decision (§9.3), as tables.
//!
//! Layer: `protocol`; may use nothing else of the crate (see `src/protocol/mod.rs`).

use crate::protocol::http::{
    body_mode, is_reusable, BodyMode, CodingName, HttpError, Limits, Method, ResponseHead,
};

fn unsupported(coding: &str) -> HttpError {
    HttpError::UnsupportedTransferCoding {
        coding: CodingName::new(coding.as_bytes()),
    }
}

fn head(text: &str) -> ResponseHead {
    let bytes = format!("{text}\r\n\r\n");
    let (head, len) = ResponseHead::parse(bytes.as_bytes(), &Limits::default())
        .unwrap()
        .unwrap();
    assert_eq!(len, bytes.len());
    head
}

#[test]
fn body_mode_follows_rfc_9112_section_6_3() {
    use BodyMode as M;
    let get = Method::Get;
    let cases: [(Method, &str, Result<BodyMode, HttpError>); 25] = [
        (
            Method::Head,
            "HTTP/1.1 200 OK\r\nContent-Length: 9",
            Ok(M::None),
        ),
        (
            Method::Head,
            "HTTP/1.1 200 OK\r\nContent-Length: junk",
            Ok(M::None),
        ),
        (
            get,
            "HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked",
            Ok(M::None),
        ),
        (
            get,
            "HTTP/1.1 304 Not Modified\r\nContent-Length: 9",
            Ok(M::None),
        ),
        (get, "HTTP/1.1 199 Odd", Ok(M::None)),
        (
            get,
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 9",
            Ok(M::Chunked),
        ),
        (
            get,
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: CHUNKED",
            Err(unsupported("gzip")),
        ),
        (
            get,
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked",
            Err(unsupported("gzip")),
        ),
        (
            get,
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip",
            Err(unsupported("gzip")),
        ),
        (
            get,
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked",
            Err(HttpError::ChunkedTwice),
        ),
        (
            get,
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: Chunked",
            Err(HttpError::ChunkedTwice),
        ),
        (
            get,
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked, gzip",
            Err(HttpError::ChunkedTwice),
        ),
        (
            get,
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: deflate\r\nContent-Length: 3",
            Err(unsupported("deflate")),
        ),
        (
            get,
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: identity, x-Gzip, br",
            Err(unsupported("x-Gzip")),
        ),
        (
            get,
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: Identity, chunked",
            Ok(M::Chunked),
        ),
        (
            get,
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: identity",
            Ok(M::CloseDelimited),
        ),
        (
            Method::Head,
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip",
            Ok(M::None),
        ),
        (
            get,
            "HTTP/1.1 200 OK\r\nTransfer-Encoding:",
            Ok(M::CloseDelimited),
        ),
        (
            get,
            "HTTP/1.1 200 OK\r\nContent-Length: 42",
            Ok(M::Length(42)),
        ),
        (
            get,
            "HTTP/1.1 200 OK\r\nContent-Length: 007\r\nContent-Length: 7,7",
            Ok(M::Length(7)),
        ),
        (
            get,
            "HTTP/1.1 200 OK\r\nContent-Length: 7\r\nContent-Length: 8",
            Err(HttpError::ConflictingContentLength),
        ),
        (
            get,
            "HTTP/1.1 200 OK\r\nContent-Length: +7",
            Err(HttpError::InvalidContentLength),
        ),
        (
            get,
            "HTTP/1.1 200 OK\r\nContent-Length: 7,",
            Err(HttpError::InvalidContentLength),
        ),
        (
            get,
            "HTTP/1.1 200 OK\r\nContent-Length:",
            Err(HttpError::InvalidContentLength),
        ),
        (get, "HTTP/1.1 200 OK", Ok(M::CloseDelimited)),
    ];
    for (method, text, expected) in cases {
        assert_eq!(
            body_mode(method, &head(text)),
            expected,
            "{method:?} {text:?}"
        );
    }
}

#[test]
fn reuse_follows_version_connection_header_and_framing() {
    use BodyMode as M;
    let cases: [(bool, &str, BodyMode, bool); 11] = [
        (true, "HTTP/1.1 200 OK", M::Length(1), true),
        (false, "HTTP/1.1 200 OK", M::Length(1), false),
        (true, "HTTP/1.1 200 OK", M::CloseDelimited, false),
        (
            true,
            "HTTP/1.1 200 OK\r\nConnection: keep-alive, CLOSE",
            M::Length(1),
            false,
        ),
        (
            true,
            "HTTP/1.1 200 OK\r\nConnection: upgrade\r\nConnection: close",
            M::Length(1),
            false,
        ),
        (
            true,
            "HTTP/1.1 200 OK\r\nConnection: keep-alive",
            M::Chunked,
            true,
        ),
        (true, "HTTP/1.0 200 OK", M::Length(1), false),
        (
            true,
            "HTTP/1.0 200 OK\r\nConnection: Keep-Alive",
            M::Length(1),
            true,
        ),
        (
            true,
            "HTTP/1.0 200 OK\r\nConnection: keep-alive",
            M::None,
            true,
        ),
        (
            true,
            "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked",
            M::Chunked,
            false,
        ),
        (
            true,
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 1",
            M::Chunked,
            false,
        ),
    ];
    for (keep_alive, text, mode, expected) in cases {
        assert_eq!(
            is_reusable(keep_alive, &head(text), mode),
            expected,
            "{keep_alive} {text:?} {mode:?}"
        );
    }
}

/// The framing facts noted at parse time answer exactly as a scan of every header would.
/// The oracle below is that scan, written the slow, obvious way over the public header API.
#[test]
fn noted_framing_agrees_with_a_scan_of_every_header() {
    fn elements(value: &[u8]) -> impl Iterator<Item = &[u8]> {
        value
            .split(|&b| b == b',')
            .map(trim)
            .filter(|e| !e.is_empty())
    }
    fn trim(value: &[u8]) -> &[u8] {
        let text = std::str::from_utf8(value).unwrap();
        text.trim_matches([' ', '\t']).as_bytes()
    }
    fn scanned_mode(head: &ResponseHead) -> Result<BodyMode, HttpError> {
        if head.header_all("transfer-encoding").next().is_some() {
            let codings: Vec<&[u8]> = head
                .header_all("transfer-encoding")
                .flat_map(elements)
                .filter(|c| !c.eq_ignore_ascii_case(b"identity"))
                .collect();
            // The first error in list order: a coding other than chunked, or a
            // second chunked.
            let is_chunked = |c: &&[u8]| c.eq_ignore_ascii_case(b"chunked");
            let first_other = codings.iter().position(|c| !is_chunked(c));
            let second_chunked = codings
                .iter()
                .enumerate()
                .filter(|(_, c)| is_chunked(c))
                .nth(1)
                .map(|(i, _)| i);
            match (first_other, second_chunked) {
                (Some(o), s) if s.is_none_or(|s| o < s) => {
                    return Err(HttpError::UnsupportedTransferCoding {
                        coding: CodingName::new(codings[o]),
                    })
                }
                (_, Some(_)) => return Err(HttpError::ChunkedTwice),
                _ => {}
            }
            return Ok(if codings.is_empty() {
                BodyMode::CloseDelimited
            } else {
                BodyMode::Chunked
            });
        }
        let mut length = None;
        for element in head
            .header_all("content-length")
            .flat_map(|v| v.split(|&b| b == b','))
        {
            let digits = std::str::from_utf8(trim(element)).unwrap();
            let valid = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
            let n: u64 = match digits.parse() {
                Ok(n) if valid => n,
                _ => return Err(HttpError::InvalidContentLength),
            };
            match length {
                Some(seen) if seen != n => return Err(HttpError::ConflictingContentLength),
                _ => length = Some(n),
            }
        }
        Ok(length.map_or(BodyMode::CloseDelimited, BodyMode::Length))
    }
    fn scanned_reuse(head: &ResponseHead, mode: BodyMode) -> bool {
        let says = |token: &[u8]| {
            head.header_all("connection")
                .flat_map(elements)
                .any(|t| t.eq_ignore_ascii_case(token))
        };
        let has = |name| head.header_all(name).next().is_some();
        let suspect = has("transfer-encoding")
            && (head.version == crate::protocol::http::Version::Http10 || has("content-length"));
        mode != BodyMode::CloseDelimited
            && !suspect
            && !says(b"close")
            && (head.version == crate::protocol::http::Version::Http11 || says(b"keep-alive"))
    }

    let fields = [
        "Transfer-Encoding: chunked",
        "transfer-encoding: gzip",
        "Transfer-Encoding:",
        "TRANSFER-ENCODING: chunked, gzip",
        "Transfer-Encoding: identity, Chunked, chunked",
        "Content-Length: 7",
        "content-length: 8",
        "Content-Length: 7, 7",
        "Content-Length: junk",
        "Content-Length: 7,",
        "Content-Length: 99999999999999999999",
        "Content-Length: 18446744073709551616",
        "Connection: close",
        "Connection: keep-alive, close",
        "connection: Keep-Alive",
        "Connection: upgrade, CLOSE",
        "Connection:",
        "X-Other: chunked",
    ];
    let mut heads = 0;
    for version in ["HTTP/1.0", "HTTP/1.1"] {
        for a in 0..=fields.len() {
            for b in 0..=fields.len() {
                for c in 0..=fields.len() {
                    let mut text = format!("{version} 200 OK");
                    for i in [a, b, c].into_iter().filter(|&i| i < fields.len()) {
                        text = format!("{text}\r\n{}", fields[i]);
                    }
                    let head = head(&text);
                    let mode = body_mode(Method::Get, &head);
                    assert_eq!(mode, scanned_mode(&head), "{text:?}");
                    if let Ok(mode) = mode {
                        assert_eq!(
                            is_reusable(true, &head, mode),
                            scanned_reuse(&head, mode),
                            "{text:?}"
                        );
                    }
                    heads += 1;
                }
            }
        }
    }
    assert_eq!(heads, 2 * 19 * 19 * 19);
}

#[test]
fn an_unsupported_coding_is_named_in_the_error() {
    assert_eq!(
        unsupported("gzip").to_string(),
        "unsupported transfer coding gzip"
    );
    assert!(!unsupported("gzip").is_retryable());
    assert_eq!(
        HttpError::ChunkedTwice.to_string(),
        "Transfer-Encoding lists chunked more than once (it may be applied only once)"
    );
    assert!(!HttpError::ChunkedTwice.is_retryable());
    let long = CodingName::new(b"a-very-long-coding-name");
    assert_eq!(long.as_bytes(), b"a-very-long-codi");
    assert_eq!(long.to_string(), "a-very-long-codi...");
    assert_eq!(CodingName::new(b"x\xffy").to_string(), "x\\xffy");
}
