//! Response head parsing: status line and header fields, through httparse, into an owned
//! [`ResponseHead`].
//!
//! Read with: RFC 9112 §4 (status line), §5 (field lines), §2.2 (robustness: leading empty
//! lines), and httparse's `Status::Partial` contract ("not enough bytes yet" is not an error).
//!
//! httparse borrows the caller's buffer. The facts we keep must outlive that buffer (the
//! caller drains it as soon as the head is consumed), so the head bytes are copied once
//! into one `Vec<u8>` and each header is kept as a pair of index spans into it:
//!
//! ```text
//!  raw:   HTTP/1.1 200 OK\r\nContent-Length: 5\r\nMore: True\r\n\r\n
//!                      └┬┘   └─────┬──────┘  └┘ └┬─┘  └─┬┘
//!  spans:            reason      name      value name  value
//! ```
//!
//! Two allocations per head (the bytes, the spans), whatever the number of headers.

use std::mem::MaybeUninit;
use std::ops::Range;

use super::body::Framing;
use super::error::HttpError;

/// Bounds on a response head, so a hostile or broken server cannot make us buffer without
/// end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest response head accepted, status line and blank line included. Default 64 KiB.
    pub max_head_bytes: usize,
    /// Most header fields accepted in one head. Default 100.
    pub max_headers: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_head_bytes: 64 * 1024,
            max_headers: 100,
        }
    }
}

/// The HTTP version of a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Version {
    /// HTTP/1.0: connections close after each response unless `keep-alive` is announced.
    Http10,
    /// HTTP/1.1: connections persist unless `close` is announced.
    Http11,
}

/// A parsed response head, owning its bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct ResponseHead {
    /// The status code, 100..=999.
    pub status: u16,
    /// The protocol version from the status line.
    pub version: Version,
    raw: Vec<u8>,
    reason: Range<usize>,
    headers: Box<[(Range<usize>, Range<usize>)]>,
    framing: Framing,
}

/// Header slots httparse gets on the stack; larger [`Limits::max_headers`] use the heap.
/// The slots start uninitialized (`MaybeUninit`): httparse writes only those it fills, so a
/// head with 9 headers costs 9 slots of work, not 128.
const STACK_HEADERS: usize = 128;

impl ResponseHead {
    /// Parses a response head at the start of `buf`.
    ///
    /// Returns `Ok(None)` when `buf` holds only part of a head (buffer more and call
    /// again), or the head and the number of bytes it took (blank line included).
    /// Leading empty lines are skipped, as RFC 9112 §2.2 allows. The size limit is the
    /// caller's to enforce ([`crate::http::Exchange`] does).
    pub fn parse(buf: &[u8], limits: &Limits) -> Result<Option<(ResponseHead, usize)>, HttpError> {
        let mut stack = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; STACK_HEADERS];
        let mut heap;
        let slots: &mut [MaybeUninit<httparse::Header<'_>>] = if limits.max_headers <= STACK_HEADERS
        {
            &mut stack[..limits.max_headers]
        } else {
            heap = vec![MaybeUninit::uninit(); limits.max_headers];
            &mut heap
        };
        let mut resp = httparse::Response::new(&mut []);
        let parsed = httparse::ParserConfig::default()
            .parse_response_with_uninit_headers(&mut resp, buf, slots);
        let len = match parsed {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(httparse::Error::TooManyHeaders) => {
                return Err(HttpError::TooManyHeaders {
                    limit: limits.max_headers,
                })
            }
            Err(httparse::Error::Version) if skip_empty_lines(buf).starts_with(b"HTTP/") => {
                return Err(HttpError::UnsupportedVersion)
            }
            Err(e) => return Err(HttpError::Malformed(e)),
        };
        // A complete parse fills all three; anything else would be an httparse bug.
        let (Some(version), Some(status), Some(reason)) = (resp.version, resp.code, resp.reason)
        else {
            return Err(HttpError::Malformed(httparse::Error::Status));
        };
        let version = if version == 0 {
            Version::Http10
        } else {
            Version::Http11
        };
        if status < 100 {
            return Err(HttpError::Malformed(httparse::Error::Status));
        }
        // Where a part httparse handed back lies in `buf`. Empty parts (httparse answers a
        // missing reason phrase with a static "") become an empty span.
        let base = buf.as_ptr() as usize;
        let span = |part: &[u8]| match (part.as_ptr() as usize).checked_sub(base) {
            Some(start) if !part.is_empty() && start + part.len() <= len => {
                start..start + part.len()
            }
            _ => 0..0,
        };
        let mut framing = Framing::default();
        let headers = resp
            .headers
            .iter()
            .map(|h| {
                framing.note(h.name.as_bytes(), h.value);
                (span(h.name.as_bytes()), span(h.value))
            })
            .collect();
        let head = ResponseHead {
            status,
            version,
            reason: span(reason.as_bytes()),
            headers,
            framing,
            raw: buf[..len].to_vec(),
        };
        Ok(Some((head, len)))
    }

    /// The reason phrase, e.g. `"Not Found"`; empty when the server sent none.
    pub fn reason(&self) -> &str {
        std::str::from_utf8(&self.raw[self.reason.clone()]).unwrap_or("")
    }

    /// The value of the first header named `name` (ASCII case-insensitive), if it is
    /// UTF-8. Use [`ResponseHead::header_bytes`] for other values.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.header_bytes(name)
            .and_then(|v| std::str::from_utf8(v).ok())
    }

    /// The raw value of the first header named `name` (ASCII case-insensitive).
    pub fn header_bytes(&self, name: &str) -> Option<&[u8]> {
        self.headers()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// The raw values of every header named `name` (ASCII case-insensitive), in order.
    /// (The values borrow no longer than `name` does: Rust 1.80 has no precise capturing.)
    pub fn header_all<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s [u8]> + 's {
        self.headers()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// Every header as (name, raw value), in the order received. Names keep their case.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &[u8])> + '_ {
        self.headers.iter().map(|(name, value)| {
            // Names were validated as tokens by httparse: ASCII, so UTF-8.
            let name = std::str::from_utf8(&self.raw[name.clone()]).unwrap_or("");
            (name, &self.raw[value.clone()])
        })
    }

    /// The framing facts noted while parsing, for [`crate::http::body_mode`] and
    /// [`crate::http::is_reusable`].
    pub(crate) fn framing(&self) -> &Framing {
        &self.framing
    }

    /// The head exactly as received, status line to blank line.
    pub fn as_bytes(&self) -> &[u8] {
        &self.raw
    }
}

impl std::fmt::Debug for ResponseHead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let headers: Vec<_> = self
            .headers()
            .map(|(n, v)| (n, String::from_utf8_lossy(v)))
            .collect();
        f.debug_struct("ResponseHead")
            .field("status", &self.status)
            .field("version", &self.version)
            .field("reason", &self.reason())
            .field("headers", &headers)
            .finish()
    }
}

/// `buf` without the empty lines httparse skips before a status line.
pub(crate) fn skip_empty_lines(buf: &[u8]) -> &[u8] {
    let start = buf
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(buf.len());
    &buf[start..]
}
