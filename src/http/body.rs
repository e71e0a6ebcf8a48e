//! Message framing as data: how the body of a response ends, and whether the connection
//! can carry another request afterwards.
//!
//! Read with: RFC 9112 §6.3 (message body length, the rules below in order), §6.1
//! (Transfer-Encoding), §9.3 (persistence), RFC 9110 §8.6 (Content-Length).
//!
//! ```text
//!  request was HEAD, or status 1xx/204/304 ─────────────► None
//!  Transfer-Encoding present ── last coding chunked ────► Chunked   (Content-Length ignored)
//!                            └─ otherwise ──────────────► CloseDelimited
//!  Content-Length: one value (repeats allowed) ─────────► Length(n)
//!                  differing values ────────────────────► error ConflictingContentLength
//!                  not 1*DIGIT / overflows u64 ─────────► error InvalidContentLength
//!  nothing ─────────────────────────────────────────────► CloseDelimited
//! ```

use super::error::HttpError;
use super::request::Method;
use super::response::{ResponseHead, Version};

/// How the body of one response is delimited (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BodyMode {
    /// No body at all: a HEAD response, or status 1xx, 204 or 304.
    None,
    /// Exactly this many bytes follow the head.
    Length(u64),
    /// `Transfer-Encoding: chunked`: chunks until a zero-size chunk and trailers.
    Chunked,
    /// Everything until the server closes the connection.
    CloseDelimited,
}

/// Decides how the body of `head`, the answer to a `method` request, is framed.
pub fn body_mode(method: Method, head: &ResponseHead) -> Result<BodyMode, HttpError> {
    if method == Method::Head || matches!(head.status, 100..=199 | 204 | 304) {
        return Ok(BodyMode::None);
    }
    if has_header(head, "transfer-encoding") {
        // The final coding decides; earlier ones (gzip, ...) are left in the body bytes.
        let last = head
            .header_all("transfer-encoding")
            .flat_map(list_elements)
            .last();
        return Ok(match last {
            Some(coding) if coding.eq_ignore_ascii_case(b"chunked") => BodyMode::Chunked,
            _ => BodyMode::CloseDelimited,
        });
    }
    let mut length = None;
    for element in head
        .header_all("content-length")
        .flat_map(|v| v.split(|&b| b == b','))
    {
        let n = parse_decimal(trim_ows(element)).ok_or(HttpError::InvalidContentLength)?;
        match length {
            Some(seen) if seen != n => return Err(HttpError::ConflictingContentLength),
            _ => length = Some(n),
        }
    }
    Ok(length.map_or(BodyMode::CloseDelimited, BodyMode::Length))
}

/// May the connection carry another request once this response's body is complete?
///
/// Not when we asked for `Connection: close` (`keep_alive_requested == false`), nor when the
/// body runs until close. HTTP/1.1 persists unless the server says `close`; HTTP/1.0 only
/// when it says `keep-alive` and the body length is known. A response with both
/// Transfer-Encoding and Content-Length, or Transfer-Encoding on HTTP/1.0, is read but
/// never reused: RFC 9112 §6.1 and §6.3 call such framing suspect (request smuggling).
pub fn is_reusable(keep_alive_requested: bool, head: &ResponseHead, mode: BodyMode) -> bool {
    let tokens = || head.header_all("connection").flat_map(list_elements);
    let says = |token: &str| tokens().any(|t| t.eq_ignore_ascii_case(token.as_bytes()));
    let suspect_framing = has_header(head, "transfer-encoding")
        && (head.version == Version::Http10 || has_header(head, "content-length"));
    keep_alive_requested
        && mode != BodyMode::CloseDelimited
        && !suspect_framing
        && !says("close")
        && (head.version == Version::Http11 || says("keep-alive"))
}

fn has_header(head: &ResponseHead, name: &str) -> bool {
    head.header_all(name).next().is_some()
}

/// The non-empty elements of a comma-separated field value (RFC 9110 §5.6.1), trimmed.
fn list_elements(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(trim_ows)
        .filter(|e| !e.is_empty())
}

/// `value` without surrounding optional whitespace (spaces and tabs).
fn trim_ows(value: &[u8]) -> &[u8] {
    let is_ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = value.iter().position(|b| !is_ows(b)).unwrap_or(value.len());
    let end = value
        .iter()
        .rposition(|b| !is_ows(b))
        .map_or(start, |i| i + 1);
    &value[start..end]
}

/// `1*DIGIT` as a u64; `None` for anything else, an empty string, or an overflow.
fn parse_decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &d| {
        let d = (d as char).to_digit(10)?;
        n.checked_mul(10)?.checked_add(u64::from(d))
    })
}
