//! Response head parsing: status line and header fields, through httparse, into an owned
//! [`ResponseHead`].
//!
//! Read with: RFC 9112 §4 (status line), §5 (field lines), §2.2 (robustness: leading empty
//! lines), and httparse's `Status::Partial` contract ("not enough bytes yet" is not an error).
//!
//! httparse borrows the caller's buffer. The facts we keep must outlive that buffer (the
//! caller drains it as soon as the head is consumed), so the head bytes are copied once
//! into one `Vec<u8>`, and where each header lies in them is written right after, in the
//! same `Vec`: a table of four `u32` offsets per header (name start and end, value start
//! and end, little-endian):
//!
//! ```text
//!  raw:  HTTP/1.1 200 OK\r\nContent-Length: 5\r\nMore: True\r\n\r\n│17 31 33 34│36 40 42 46│
//!                     └┘    └─────┬──────┘  ┬    └┬─┘  └┬─┘         └header 0┘  └header 1┘
//!                     reason     name     value  name  value        16 bytes each
//!        └─────────────────────── head_len ───────────────────────┘
//! ```
//!
//! One buffer per head, sized exactly, whatever the number of headers; and none at all
//! when the caller hands back the buffer of the head before
//! ([`ResponseHead::parse_reusing`], [`ResponseHead::into_storage`]: the engines keep one
//! per thread, so a download's head costs no allocation). The
//! alternatives cost more somewhere: a `Vec` of spans beside the bytes is a second
//! allocation; spans in an inline array (say 32 headers of 8 bytes) spare it only up to
//! that count and make every `ResponseHead` (and the `Part` carrying it) 256 bytes larger
//! to move. The price here is that offsets are decoded from bytes on each header lookup
//! (a few instructions), and that a head must stay under 4 GiB to be indexed by `u32`.
//!
//! While walking the headers, the parse also hands each one to `body::Framing::note`, so
//! [`crate::protocol::http::body_mode`] and [`crate::protocol::http::is_reusable`] never scan them again.
//!
//! Layer: `protocol`; may use nothing else of the crate (see `src/protocol/mod.rs`).

use std::mem::MaybeUninit;
use std::ops::Range;

use super::body::Framing;
use super::error::HttpError;

/// Bounds on a response's heads and trailers, so a hostile or broken server cannot make
/// us buffer, or read framing, without end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest response head accepted, status line and blank line included. Default 64 KiB.
    pub max_head_bytes: usize,
    /// Most header fields accepted in one head. Default 100.
    pub max_headers: usize,
    /// Largest total of all the heads of one response: the interim 1xx answers (`100
    /// Continue`, `103 Early Hints`, ...) and the final head. Without it a server could
    /// send interim answers forever. Default 300 KiB (curl's bound).
    pub max_total_head_bytes: usize,
    /// Largest trailer section accepted after the last chunk of a chunked body (trailer
    /// lines and their line ends). Trailers are read and discarded; without a bound a
    /// server could send them forever. Default 64 KiB
    /// ([`crate::protocol::http::chunked::MAX_TRAILER_BYTES`]).
    pub max_trailer_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_head_bytes: 64 * 1024,
            max_headers: 100,
            max_total_head_bytes: 300 * 1024,
            max_trailer_bytes: super::chunked::MAX_TRAILER_BYTES,
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
    /// The head's bytes, then the header table (see the module doc).
    raw: Vec<u8>,
    /// How many bytes of `raw` are the head; the table follows them.
    head_len: usize,
    reason: Range<usize>,
    framing: Framing,
}

/// Header slots httparse gets on the stack; larger [`Limits::max_headers`] use the heap.
/// The slots start uninitialized (`MaybeUninit`): httparse writes only those it fills, so a
/// head with 9 headers costs 9 slots of work, not 128.
const STACK_HEADERS: usize = 128;

/// Bytes a header takes in the table after the head: four `u32` offsets.
const ENTRY: usize = 16;

impl ResponseHead {
    /// Parses a response head at the start of `buf`.
    ///
    /// Returns `Ok(None)` when `buf` holds only part of a head (buffer more and call
    /// again), or the head and the number of bytes it took (blank line included).
    /// Leading empty lines are skipped, as RFC 9112 §2.2 allows. The size limit is the
    /// caller's to enforce ([`crate::protocol::http::Exchange`] does).
    pub fn parse(buf: &[u8], limits: &Limits) -> Result<Option<(ResponseHead, usize)>, HttpError> {
        ResponseHead::parse_reusing(buf, limits, &mut Vec::new())
    }

    /// [`ResponseHead::parse`], with the head's bytes copied into `storage` (taken, and
    /// left empty, only when a head is complete): a buffer given back by
    /// [`ResponseHead::into_storage`] of an earlier head, so a head that fits in it costs
    /// no allocation.
    pub fn parse_reusing(
        buf: &[u8],
        limits: &Limits,
        storage: &mut Vec<u8>,
    ) -> Result<Option<(ResponseHead, usize)>, HttpError> {
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
            Err(e) => return Err(head_error(e, buf, limits)),
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
        // Offsets into the head are stored as u32 (see the module doc).
        if u32::try_from(len).is_err() {
            return Err(HttpError::HeadTooLarge {
                limit: u32::MAX as usize,
            });
        }
        let head = &buf[..len];
        let (raw, framing) = own_head(head, resp.headers, std::mem::take(storage));
        let head = ResponseHead {
            status,
            version,
            raw,
            head_len: len,
            reason: span_in(head, reason.as_bytes()),
            framing,
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
        self.fields()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v)
    }

    /// The raw values of every header named `name` (ASCII case-insensitive), in order.
    /// (The values borrow no longer than `name` does: Rust 1.80 has no precise capturing.)
    pub fn header_all<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s [u8]> + 's {
        self.fields()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v)
    }

    /// Every header as (name, raw value), in the order received. Names keep their case.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &[u8])> + '_ {
        // Names were validated as tokens by httparse: ASCII, so UTF-8.
        self.fields()
            .map(|(name, value)| (std::str::from_utf8(name).unwrap_or(""), value))
    }

    /// Every header as (name, value) bytes, read from the table after the head.
    fn fields(&self) -> impl Iterator<Item = (&[u8], &[u8])> + '_ {
        let (head, table) = self.raw.split_at(self.head_len);
        table.chunks_exact(ENTRY).map(move |entry| {
            let offset = |i: usize| {
                let mut word = [0; 4];
                word.copy_from_slice(&entry[4 * i..4 * i + 4]);
                u32::from_le_bytes(word) as usize
            };
            (&head[offset(0)..offset(1)], &head[offset(2)..offset(3)])
        })
    }

    /// The framing facts noted while parsing, for [`crate::protocol::http::body_mode`] and
    /// [`crate::protocol::http::is_reusable`].
    pub(crate) fn framing(&self) -> &Framing {
        &self.framing
    }

    /// The head exactly as received, status line to blank line.
    pub fn as_bytes(&self) -> &[u8] {
        &self.raw[..self.head_len]
    }

    /// The head's buffer, for the next [`ResponseHead::parse_reusing`]: its capacity is
    /// what is reused, its bytes are overwritten.
    pub fn into_storage(self) -> Vec<u8> {
        self.raw
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

/// `buf` without the empty lines httparse skips before a status line: `\r\n` or a bare
/// `\n`, as httparse does (a lone `\r` is not an empty line). A `\r` at the very end
/// may be the start of one, so it is not judged yet.
pub(crate) fn skip_empty_lines(buf: &[u8]) -> &[u8] {
    let mut rest = buf;
    loop {
        match rest {
            [b'\r', b'\n', tail @ ..] | [b'\n', tail @ ..] => rest = tail,
            [b'\r'] => return &rest[1..],
            _ => return rest,
        }
    }
}

/// What a failed `httparse` parse of `buf` means, in the exchange's terms.
fn head_error(error: httparse::Error, buf: &[u8], limits: &Limits) -> HttpError {
    match error {
        httparse::Error::TooManyHeaders => HttpError::TooManyHeaders {
            limit: limits.max_headers,
        },
        httparse::Error::Version if skip_empty_lines(buf).starts_with(b"HTTP/") => {
            HttpError::UnsupportedVersion
        }
        e => HttpError::Malformed(e),
    }
}

/// Where a part httparse handed back lies in `head`. Empty parts (httparse answers a
/// missing reason phrase with a static "") become an empty span.
fn span_in(head: &[u8], part: &[u8]) -> Range<usize> {
    let base = head.as_ptr() as usize;
    match (part.as_ptr() as usize).checked_sub(base) {
        Some(start) if !part.is_empty() && start + part.len() <= head.len() => {
            start..start + part.len()
        }
        _ => 0..0,
    }
}

/// The owned copy of a parsed head, in `raw` (cleared; it grows only when too small): its
/// bytes, then one entry of offsets per header (see the module doc), and the framing
/// headers noted on the way.
fn own_head(head: &[u8], headers: &[httparse::Header<'_>], mut raw: Vec<u8>) -> (Vec<u8>, Framing) {
    raw.clear();
    raw.reserve_exact(head.len() + headers.len() * ENTRY);
    raw.extend_from_slice(head);
    let mut framing = Framing::default();
    for h in headers {
        framing.note(h.name.as_bytes(), h.value);
        let (name, value) = (span_in(head, h.name.as_bytes()), span_in(head, h.value));
        let mut entry = [0; ENTRY];
        for (word, offset) in
            entry
                .chunks_exact_mut(4)
                .zip([name.start, name.end, value.start, value.end])
        {
            // Lossless: every offset is at most the head's length, checked to fit a u32.
            word.copy_from_slice(&(offset as u32).to_le_bytes());
        }
        raw.extend_from_slice(&entry);
    }
    (raw, framing)
}
