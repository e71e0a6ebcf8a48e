//! Responses: a route's [`Reply`] framed into bytes, honestly or (with a fault) not.
//!
//! [`render`] turns a reply, the client's keep-alive wish and an optional [`FaultKind`]
//! into an [`Outgoing`]: a small byte buffer plus a [`Source`] that refills it on demand,
//! so `/bytes/<n>` of any size is streamed from a few kilobytes of memory, and a [`Then`]
//! saying what happens to the socket once the last byte is out.
//!
//! ```text
//!   Reply ──render(fault)──► Outgoing { buf ◄─refill── Source, then: Then }
//!                                 │ pending() / consume(n) until empty
//!                                 ▼
//!        Then::KeepAlive  next response  │ Then::Close  FIN (lingering close)
//!        Then::Reset      RST            │ Then::Stall  keep the socket, send nothing
//! ```

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use super::catalog::fill_pattern;
use super::faults::FaultKind;
use crate::policy::retry::format_http_date as http_date;

/// What a route answers with, before framing.
#[derive(Debug)]
pub(super) struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Body,
    /// Send the body with `Transfer-Encoding: chunked` instead of `Content-Length`.
    pub chunked: bool,
}

/// A response body: small bytes in memory, or the checkable pattern of any length.
#[derive(Debug)]
pub(super) enum Body {
    Static(Vec<u8>),
    /// `n` bytes of [`super::catalog::pattern_byte`], generated while writing.
    Pattern(u64),
}

impl Body {
    fn len(&self) -> u64 {
        match self {
            Body::Static(b) => b.len() as u64,
            Body::Pattern(n) => *n,
        }
    }
}

impl Reply {
    pub(super) fn new(status: u16, body: Body) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body,
            chunked: false,
        }
    }

    pub(super) fn text(status: u16, text: &str) -> Reply {
        let mut reply = Reply::new(status, Body::Static(text.as_bytes().to_vec()));
        reply.header("Content-Type", "text/plain; charset=UTF-8");
        reply
    }

    pub(super) fn json(value: &serde_json::Value) -> Reply {
        let mut reply = Reply::new(200, Body::Static(value.to_string().into_bytes()));
        reply.header("Content-Type", "application/json");
        reply
    }

    pub(super) fn header(&mut self, name: &str, value: &str) {
        self.headers.push((name.to_string(), value.to_string()));
    }
}

/// What happens to the connection after a response's last byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Then {
    /// Read and answer the next request.
    KeepAlive,
    /// Send FIN, discard whatever the client still sends, then close.
    Close,
    /// Abort with RST (SO_LINGER 0).
    Reset,
    /// Hold the socket open and never send another byte.
    Stall,
}

/// Where more body bytes come from once the buffer is written.
#[derive(Debug)]
pub(super) enum Source {
    /// Nothing more.
    Done,
    /// Pattern bytes `next..end`, sent as they are.
    Raw { next: u64, end: u64 },
    /// Pattern bytes `next..end` as chunks, then the last chunk if `terminate`.
    Chunked {
        next: u64,
        end: u64,
        terminate: bool,
    },
    /// Pattern chunks forever.
    Endless { next: u64 },
}

/// Body bytes generated per refill (a chunk's size in chunked mode).
const REFILL: u64 = 16 * 1024;

/// One response being written: `buf[pos..]` is due next, then whatever `source` makes.
#[derive(Debug)]
pub(super) struct Outgoing {
    buf: Vec<u8>,
    pos: usize,
    source: Source,
    pub then: Then,
}

impl Outgoing {
    /// The bytes due next; empty once the whole response is written.
    pub(super) fn pending(&mut self) -> &[u8] {
        if self.pos == self.buf.len() {
            self.refill();
        }
        &self.buf[self.pos..]
    }

    /// Marks `n` bytes of [`Outgoing::pending`] as written.
    pub(super) fn consume(&mut self, n: usize) {
        self.pos += n;
    }

    fn refill(&mut self) {
        self.buf.clear();
        self.pos = 0;
        match &mut self.source {
            Source::Done => {}
            Source::Raw { next, end } => {
                let n = (*end - *next).min(REFILL);
                push_pattern(&mut self.buf, *next, n);
                *next += n;
                if *next == *end {
                    self.source = Source::Done;
                }
            }
            Source::Chunked {
                next,
                end,
                terminate,
            } => {
                let n = (*end - *next).min(REFILL);
                if n > 0 {
                    let _ = write!(Hex(&mut self.buf), "{n:x}\r\n");
                    push_pattern(&mut self.buf, *next, n);
                    self.buf.extend_from_slice(b"\r\n");
                    *next += n;
                }
                if *next == *end {
                    if *terminate {
                        self.buf.extend_from_slice(b"0\r\n\r\n");
                    }
                    self.source = Source::Done;
                }
            }
            Source::Endless { next } => {
                let _ = write!(Hex(&mut self.buf), "{REFILL:x}\r\n");
                push_pattern(&mut self.buf, *next, REFILL);
                self.buf.extend_from_slice(b"\r\n");
                *next += REFILL;
            }
        }
    }
}

/// `fmt::Write` into a byte vector, for chunk-size lines.
struct Hex<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for Hex<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

fn push_pattern(buf: &mut Vec<u8>, start: u64, n: u64) {
    let old = buf.len();
    buf.resize(old + n as usize, 0);
    fill_pattern(start, &mut buf[old..]);
}

/// How the head announces the body's end.
enum Framing {
    Length(u64),
    Chunked,
}

/// Frames `reply` for a client that asked for `keep_alive` (HTTP/1.0 if `http10`),
/// misbehaving as `fault` says. `path` is the request target, for `redirect-loop`.
pub(super) fn render(
    reply: Reply,
    fault: Option<FaultKind>,
    keep_alive: bool,
    http10: bool,
    path: &str,
) -> Outgoing {
    use FaultKind::*;
    let reply = match fault {
        Some(Status503) => status_reply(503, Some(RetryAfter::Seconds)),
        Some(Status503Date) => status_reply(503, Some(RetryAfter::Date)),
        Some(Status429) => status_reply(429, Some(RetryAfter::Seconds)),
        Some(Status429Date) => status_reply(429, Some(RetryAfter::Date)),
        Some(Status500) => status_reply(500, None),
        Some(Status502) => status_reply(502, None),
        Some(Status504) => status_reply(504, None),
        Some(RedirectLoop) => {
            let mut r = Reply::text(302, "redirecting to myself\n");
            r.header("Location", path);
            r
        }
        _ => reply,
    };
    let len = reply.body.len();
    let half = len / 2;
    let normal_framing = if reply.chunked {
        Framing::Chunked
    } else {
        Framing::Length(len)
    };
    let then_normal = if keep_alive {
        Then::KeepAlive
    } else {
        Then::Close
    };
    // (framing, body bytes to send, send the last chunk?, what happens after)
    let (framing, upto, terminate, then) = match fault {
        Some(ResetHead) => return bare(Vec::new(), Then::Reset),
        Some(ResetMidHead | EofHead) => {
            let mut partial = head(&reply, &normal_framing, keep_alive, http10);
            partial.truncate(partial.len() / 2);
            let then = if fault == Some(EofHead) {
                Then::Close
            } else {
                Then::Reset
            };
            return bare(partial, then);
        }
        Some(Stall) => return bare(Vec::new(), Then::Stall),
        Some(Garbage) => return bare(GARBAGE.to_vec(), Then::Close),
        Some(ResetBody) => (normal_framing, half, false, Then::Reset),
        Some(EofBody) => (normal_framing, half, false, Then::Close),
        Some(StallBody) => (normal_framing, half, false, Then::Stall),
        Some(TruncatedChunked) => (Framing::Chunked, half, false, Then::Close),
        Some(ShortBody) => (Framing::Length(2 * len + 10), len, false, Then::Close),
        Some(LongBody) => (
            Framing::Length(len),
            len + EXTRA.len() as u64,
            false,
            Then::Close,
        ),
        Some(HugeHead | CloseIdle) => (normal_framing, len, true, Then::Close),
        Some(EndlessChunked) => (Framing::Chunked, len, false, Then::KeepAlive),
        _ => (normal_framing, len, true, then_normal),
    };
    // The head says what the client asked for: the abrupt faults look like healthy
    // keep-alive answers until the moment they break.
    let mut buf = head(&reply, &framing, keep_alive, http10);
    if fault == Some(HugeHead) {
        // Insert the padding before the blank line that ends the head.
        buf.truncate(buf.len() - 2);
        buf.extend_from_slice(b"X-Padding: ");
        buf.resize(buf.len() + HUGE_HEAD, b'a');
        buf.extend_from_slice(b"\r\n\r\n");
    }
    let source = match (&reply.body, &framing) {
        _ if fault == Some(EndlessChunked) => Source::Endless { next: 0 },
        (Body::Static(bytes), Framing::Length(_)) => {
            // Past the body's end (`long-body` only) come the EXTRA bytes.
            buf.extend_from_slice(&bytes[..upto.min(len) as usize]);
            buf.extend_from_slice(&EXTRA[..upto.saturating_sub(len) as usize]);
            Source::Done
        }
        (Body::Static(bytes), Framing::Chunked) => {
            if upto > 0 {
                let _ = write!(Hex(&mut buf), "{upto:x}\r\n");
                buf.extend_from_slice(&bytes[..upto as usize]);
                buf.extend_from_slice(b"\r\n");
            }
            if terminate {
                buf.extend_from_slice(b"0\r\n\r\n");
            }
            Source::Done
        }
        (Body::Pattern(_), Framing::Length(_)) => Source::Raw { next: 0, end: upto },
        (Body::Pattern(_), Framing::Chunked) => Source::Chunked {
            next: 0,
            end: upto,
            terminate,
        },
    };
    Outgoing {
        buf,
        pos: 0,
        source,
        then,
    }
}

/// What `garbage` sends instead of a status line.
const GARBAGE: &[u8] = b"SSH-2.0-miodl_garbage\r\nthis is not an HTTP response\r\n\r\n";
/// Bytes `long-body` sends past the announced end of a small body.
const EXTRA: &[u8] = b"EXTRA BYTES BEYOND CONTENT-LENGTH\n";
/// The size of `huge-head`'s padding header.
const HUGE_HEAD: usize = 2 * 1024 * 1024;

fn bare(buf: Vec<u8>, then: Then) -> Outgoing {
    Outgoing {
        buf,
        pos: 0,
        source: Source::Done,
        then,
    }
}

enum RetryAfter {
    Seconds,
    Date,
}

fn status_reply(status: u16, retry_after: Option<RetryAfter>) -> Reply {
    let mut reply = Reply::text(
        status,
        &format!("{status} {} (injected fault)\n", reason(status)),
    );
    match retry_after {
        Some(RetryAfter::Seconds) => reply.header("Retry-After", "1"),
        Some(RetryAfter::Date) => {
            let when = SystemTime::now() + Duration::from_secs(1);
            reply.header("Retry-After", &http_date(when))
        }
        None => {}
    }
    reply
}

fn head(reply: &Reply, framing: &Framing, keep_alive: bool, http10: bool) -> Vec<u8> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nServer: miodl-serve\r\n",
        reply.status,
        reason(reply.status)
    );
    for (name, value) in &reply.headers {
        let _ = write!(head, "{name}: {value}\r\n");
    }
    let _ = match framing {
        Framing::Length(n) => write!(head, "Content-Length: {n}\r\n"),
        Framing::Chunked => write!(head, "Transfer-Encoding: chunked\r\n"),
    };
    if !keep_alive {
        head.push_str("Connection: close\r\n");
    } else if http10 {
        head.push_str("Connection: keep-alive\r\n");
    }
    head.push_str("\r\n");
    head.into_bytes()
}

/// The reason phrase of the statuses this server sends.
pub(super) fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        302 => "Found",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Content Too Large",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Unknown",
    }
}
