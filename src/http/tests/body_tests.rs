//! The framing decision (RFC 9112 §6.3) and the keep-alive decision (§9.3), as tables.

use crate::http::{body_mode, is_reusable, BodyMode, HttpError, Limits, Method, ResponseHead};

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
    let cases: [(Method, &str, Result<BodyMode, HttpError>); 16] = [
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
            Ok(M::Chunked),
        ),
        (
            get,
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip",
            Ok(M::CloseDelimited),
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
