//! Message framing as data: how the body of a response ends, and whether the connection
//! can carry another request afterwards.
//!
//! Read with: RFC 9112 §6.3 (message body length, the rules below in order), §6.1
//! (Transfer-Encoding: a client must not pass on a coding it does not decode, so any
//! coding but `chunked` is refused, not saved; `chunked` is applied at most once, so a
//! list naming it twice is refused), §9.3 (persistence), RFC 9110 §8.6
//! (Content-Length). `identity` (RFC 2616's no-op coding, no longer registered) is
//! ignored.
//!
//! ```text
//!  request was HEAD, or status 1xx/204/304 ─────────────► None
//!  Transfer-Encoding present ── only chunked ───────────► Chunked   (Content-Length ignored)
//!                            ├─ another coding (gzip) ──► error UnsupportedTransferCoding
//!                            ├─ chunked twice ──────────► error ChunkedTwice
//!                            └─ no coding (empty) ──────► CloseDelimited
//!  Content-Length: one value (repeats allowed) ─────────► Length(n)
//!                  differing values ────────────────────► error ConflictingContentLength
//!                  not 1*DIGIT / overflows u64 ─────────► error InvalidContentLength
//!  nothing ─────────────────────────────────────────────► CloseDelimited
//! ```
//!
//! Both decisions read a `Framing`: the few header facts they need (whether the transfer
//! codings are only `chunked`, the content length or its error, the `close` and `keep-alive` tokens), noted by
//! [`ResponseHead::parse`] as it walks the headers once. Asking is then a few field reads,
//! not a scan of every header per question.
//!
//! Layer: `protocol`; may use nothing else of the crate (see `src/protocol/mod.rs`).

use super::error::{CodingName, HttpError};
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
#[inline]
pub fn body_mode(method: Method, head: &ResponseHead) -> Result<BodyMode, HttpError> {
    if method == Method::Head || matches!(head.status, 100..=199 | 204 | 304) {
        return Ok(BodyMode::None);
    }
    let framing = head.framing();
    // Transfer-Encoding wins over Content-Length. Only chunked is decoded: the bytes
    // under any other coding (gzip, ...) are not the content, so they are refused.
    match framing.transfer_encoding {
        TransferEncoding::Chunked => return Ok(BodyMode::Chunked),
        TransferEncoding::NoCoding => return Ok(BodyMode::CloseDelimited),
        TransferEncoding::Unsupported => {
            return Err(HttpError::UnsupportedTransferCoding {
                coding: first_unsupported_coding(head),
            })
        }
        TransferEncoding::ChunkedTwice => return Err(HttpError::ChunkedTwice),
        TransferEncoding::Absent => {}
    }
    match framing.content_length {
        ContentLength::Absent => Ok(BodyMode::CloseDelimited),
        ContentLength::Length(n) => Ok(BodyMode::Length(n)),
        ContentLength::Invalid => Err(HttpError::InvalidContentLength),
        ContentLength::Conflicting => Err(HttpError::ConflictingContentLength),
    }
}

/// May the connection carry another request once this response's body is complete?
///
/// Not when we asked for `Connection: close` (`keep_alive_requested == false`), nor when the
/// body runs until close. HTTP/1.1 persists unless the server says `close`; HTTP/1.0 only
/// when it says `keep-alive` and the body length is known. A response with both
/// Transfer-Encoding and Content-Length, or Transfer-Encoding on HTTP/1.0, is read but
/// never reused: RFC 9112 §6.1 and §6.3 call such framing suspect (request smuggling).
pub fn is_reusable(keep_alive_requested: bool, head: &ResponseHead, mode: BodyMode) -> bool {
    let framing = head.framing();
    let has_transfer_encoding = framing.transfer_encoding != TransferEncoding::Absent;
    let has_content_length = framing.content_length != ContentLength::Absent;
    let suspect_framing =
        has_transfer_encoding && (head.version == Version::Http10 || has_content_length);
    keep_alive_requested
        && mode != BodyMode::CloseDelimited
        && !suspect_framing
        && !framing.connection_close
        && (head.version == Version::Http11 || framing.connection_keep_alive)
}

/// The header facts [`body_mode`] and [`is_reusable`] decide by, gathered while the head
/// is parsed: one look at each header, its name compared as bytes, instead of a scan of
/// every header per question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Framing {
    transfer_encoding: TransferEncoding,
    content_length: ContentLength,
    /// Some `Connection` header lists the `close` token.
    connection_close: bool,
    /// Some `Connection` header lists the `keep-alive` token.
    connection_keep_alive: bool,
}

/// What the `Transfer-Encoding` headers say, all of them read as one list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum TransferEncoding {
    /// No `Transfer-Encoding` header.
    #[default]
    Absent,
    /// `chunked` is listed once, and no coding but `identity`.
    Chunked,
    /// Present, but lists no coding (empty, or only `identity`).
    NoCoding,
    /// Some coding listed is neither `chunked` nor `identity` (`gzip`, ...), before
    /// any second `chunked`.
    Unsupported,
    /// `chunked` is listed twice (in one header or across several), before any coding
    /// we do not decode: RFC 9112 §6.1 forbids applying it more than once.
    ChunkedTwice,
}

/// What the `Content-Length` headers say, all of them read as one list, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum ContentLength {
    /// No `Content-Length` header.
    #[default]
    Absent,
    /// One length, maybe repeated (`7, 7` or two headers of `7`).
    Length(u64),
    /// An element that is not `1*DIGIT` or overflows u64, seen before any conflict.
    Invalid,
    /// Two differing lengths, seen before any invalid element.
    Conflicting,
}

impl Framing {
    /// Takes note of one header field, if it is one framing depends on.
    ///
    /// Inlined into the parse loop: most headers are none of the three, and their name
    /// length alone says so, without a call.
    #[inline]
    pub(crate) fn note(&mut self, name: &[u8], value: &[u8]) {
        let is = |wanted: &str| name.eq_ignore_ascii_case(wanted.as_bytes());
        match name.len() {
            17 if is("transfer-encoding") => self.note_transfer_encoding(value),
            14 if is("content-length") => self.note_content_length(value),
            10 if is("connection") => self.note_connection(value),
            _ => {}
        }
    }

    fn note_transfer_encoding(&mut self, value: &[u8]) {
        use TransferEncoding::*;
        // An empty header lists no coding, but it is there.
        if self.transfer_encoding == Absent {
            self.transfer_encoding = NoCoding;
        }
        for coding in list_elements(value) {
            self.transfer_encoding = match (self.transfer_encoding, coding_kind(coding)) {
                // The first error found is the one reported.
                (done @ (Unsupported | ChunkedTwice), _) => done,
                (_, Coding::Other) => Unsupported,
                (Chunked, Coding::Chunked) => ChunkedTwice,
                (_, Coding::Chunked) => Chunked,
                (seen, Coding::Identity) => seen,
            };
        }
    }

    fn note_content_length(&mut self, value: &[u8]) {
        // Unlike other lists, empty elements are errors here: `7,` is not a length.
        for element in value.split(|&b| b == b',') {
            let n = parse_decimal(trim_ows(element));
            self.content_length = match (self.content_length, n) {
                // The first error found is the one reported; later elements change nothing.
                (done @ (ContentLength::Invalid | ContentLength::Conflicting), _) => done,
                (_, None) => ContentLength::Invalid,
                (ContentLength::Length(seen), Some(n)) if seen != n => ContentLength::Conflicting,
                (_, Some(n)) => ContentLength::Length(n),
            };
        }
    }

    fn note_connection(&mut self, value: &[u8]) {
        // Nearly every value is one of the two tokens, alone: the list needs no splitting.
        if value.eq_ignore_ascii_case(b"keep-alive") {
            self.connection_keep_alive = true;
            return;
        }
        if value.eq_ignore_ascii_case(b"close") {
            self.connection_close = true;
            return;
        }
        for token in list_elements(value) {
            self.connection_close |= token.eq_ignore_ascii_case(b"close");
            self.connection_keep_alive |= token.eq_ignore_ascii_case(b"keep-alive");
        }
    }
}

/// What a transfer coding means to us.
enum Coding {
    Chunked,
    Identity,
    Other,
}

fn coding_kind(coding: &[u8]) -> Coding {
    if coding.eq_ignore_ascii_case(b"chunked") {
        Coding::Chunked
    } else if coding.eq_ignore_ascii_case(b"identity") {
        Coding::Identity
    } else {
        Coding::Other
    }
}

/// The first coding `Transfer-Encoding` lists that we do not decode, for the error (the
/// framing only noted that there is one): a second look, on the error path only.
#[cold]
fn first_unsupported_coding(head: &ResponseHead) -> CodingName {
    let coding = head
        .header_all("transfer-encoding")
        .flat_map(list_elements)
        .find(|c| matches!(coding_kind(c), Coding::Other));
    CodingName::new(coding.unwrap_or_default())
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
