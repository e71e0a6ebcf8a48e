//! Responses: a route's [`Reply`] framed into bytes, honestly or (with a fault) not.
//!
//! [`render`] turns a reply, the client's keep-alive wish and an optional [`FaultKind`]
//! into an [`Outgoing`]: a small byte buffer plus a [`Source`] that refills it on demand,
//! so `/bytes/<n>` of any size is streamed from a few kilobytes of memory, and a [`Then`]
//! saying what happens to the socket once the last byte is out. A fault acts in one
//! place, its arm of `misbehave`, which turns it into a `Shape` (how much of the head
//! and body go out, framed how, and what then); `head_bytes` and `body` carry it out.
//!
//! ```text
//!   Reply ──render(fault)──► Outgoing { buf ◄─refill── Source, then: Then }
//!                                 │ pending() / consume(n) until empty
//!                                 ▼
//!        Then::KeepAlive  next response  │ Then::Close  FIN (lingering close)
//!        Then::Reset      RST            │ Then::Stall  keep the socket, send nothing
//! ```
//!
//! Layer: `serve`; may use `protocol`, `model`, `policy`, `output`, `transport`, `engine` and `report` (see `src/serve/mod.rs`).

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use super::catalog::fill_pattern;
use super::faults::FaultKind;
use super::request::Persistence;
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
    /// The pattern's bytes `start..end` (the answer to a `Range`).
    PatternRange {
        start: u64,
        end: u64,
    },
}

impl Body {
    fn len(&self) -> u64 {
        match self {
            Body::Static(b) => b.len() as u64,
            Body::Pattern(n) => *n,
            Body::PatternRange { start, end } => end - start,
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

/// Appends pattern bytes `start..start + n` to `buf`.
fn push_pattern(buf: &mut Vec<u8>, start: u64, n: u64) {
    let old = buf.len();
    buf.resize(old + n as usize, 0);
    fill_pattern(start, &mut buf[old..]);
}

/// How the head announces the body's end.
#[derive(Debug, Clone, Copy)]
enum Framing {
    Length(u64),
    Chunked,
}

/// How much of the head goes out, and in what form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HeadPart {
    /// The whole head, then the body.
    Whole,
    /// The whole head with `huge-head`'s padding header before its blank line.
    Padded,
    /// The first half of the head, and nothing after it.
    Half,
    /// [`GARBAGE`] instead of a head, and nothing after it.
    Garbage,
    /// Not a byte.
    Nothing,
}

/// How a response goes out: what [`misbehave`] decides and [`render`] carries out.
#[derive(Debug, Clone, Copy)]
struct Shape {
    head: HeadPart,
    /// What the head says about the body's end.
    framing: Framing,
    /// Body bytes to send; past a static body's end come [`EXTRA`]'s bytes.
    upto: u64,
    /// Send the last chunk of a chunked body.
    terminate: bool,
    /// Pattern chunks forever instead of the body.
    endless: bool,
    /// What happens to the socket after the last byte.
    then: Then,
}

impl Shape {
    /// The honest shape of `reply` for a client that asked for `keep_alive`.
    fn honest(reply: &Reply, keep_alive: bool) -> Shape {
        let len = reply.body.len();
        Shape {
            head: HeadPart::Whole,
            framing: if reply.chunked {
                Framing::Chunked
            } else {
                Framing::Length(len)
            },
            upto: len,
            terminate: true,
            endless: false,
            then: if keep_alive {
                Then::KeepAlive
            } else {
                Then::Close
            },
        }
    }

    /// Only `head` goes out, then `then`.
    fn cut(self, head: HeadPart, then: Then) -> Shape {
        Shape {
            head,
            upto: 0,
            ..self.unterminated(then)
        }
    }

    /// The head and the first half of the body, then `then`.
    fn half_body(self, then: Then) -> Shape {
        Shape {
            upto: self.upto / 2,
            ..self.unterminated(then)
        }
    }

    /// No last chunk (a chunked body stays open), then `then`.
    fn unterminated(self, then: Then) -> Shape {
        Shape {
            terminate: false,
            then,
            ..self
        }
    }

    /// What the head says about the body's end, whatever the body is.
    fn framed(self, framing: Framing) -> Shape {
        Shape { framing, ..self }
    }

    /// The whole response, then `then`.
    fn ending(self, then: Then) -> Shape {
        Shape { then, ..self }
    }
}

/// Frames `reply` for a client that asked `persistence` of its connection, misbehaving
/// as `fault` says. `path` is the request target, for `redirect-loop`.
pub(super) fn render(
    reply: Reply,
    fault: Option<FaultKind>,
    persistence: Persistence,
    path: &str,
) -> Outgoing {
    let keep_alive = persistence.keeps_open();
    let (reply, shape) = match fault {
        Some(fault) => misbehave(fault, reply, keep_alive, path),
        None => honestly(reply, keep_alive),
    };
    let mut buf = head_bytes(&reply, &shape, persistence);
    let source = match shape.head {
        HeadPart::Whole | HeadPart::Padded => body(&reply, &shape, &mut buf),
        HeadPart::Half | HeadPart::Garbage | HeadPart::Nothing => Source::Done,
    };
    Outgoing {
        buf,
        pos: 0,
        source,
        then: shape.then,
    }
}

/// `reply` with its honest shape.
fn honestly(reply: Reply, keep_alive: bool) -> (Reply, Shape) {
    let shape = Shape::honest(&reply, keep_alive);
    (reply, shape)
}

/// What `fault` does to a response: the one match on [`FaultKind`]. The status faults and
/// `redirect-loop` replace the route's reply and frame theirs honestly; the others keep
/// the reply and bend its framing.
fn misbehave(fault: FaultKind, reply: Reply, keep_alive: bool, path: &str) -> (Reply, Shape) {
    use FaultKind::*;
    let replaced = |reply: Reply| honestly(reply, keep_alive);
    let len = reply.body.len();
    let honest = Shape::honest(&reply, keep_alive);
    let shape = match fault {
        Status503 => return replaced(status_reply(503, Some(RetryAfter::Seconds))),
        Status503Date => return replaced(status_reply(503, Some(RetryAfter::Date))),
        Status429 => return replaced(status_reply(429, Some(RetryAfter::Seconds))),
        Status429Date => return replaced(status_reply(429, Some(RetryAfter::Date))),
        Status500 => return replaced(status_reply(500, None)),
        Status502 => return replaced(status_reply(502, None)),
        Status504 => return replaced(status_reply(504, None)),
        RedirectLoop => {
            let mut r = Reply::text(302, "redirecting to myself\n");
            r.header("Location", path);
            return replaced(r);
        }
        ResetHead => honest.cut(HeadPart::Nothing, Then::Reset),
        ResetMidHead => honest.cut(HeadPart::Half, Then::Reset),
        EofHead => honest.cut(HeadPart::Half, Then::Close),
        Stall => honest.cut(HeadPart::Nothing, Then::Stall),
        Garbage => honest.cut(HeadPart::Garbage, Then::Close),
        ResetBody => honest.half_body(Then::Reset),
        EofBody => honest.half_body(Then::Close),
        StallBody => honest.half_body(Then::Stall),
        TruncatedChunked => honest.half_body(Then::Close).framed(Framing::Chunked),
        ShortBody => (honest.unterminated(Then::Close)).framed(Framing::Length(2 * len + 10)),
        LongBody => Shape {
            upto: len + EXTRA.len() as u64,
            ..honest
                .unterminated(Then::Close)
                .framed(Framing::Length(len))
        },
        HugeHead => Shape {
            head: HeadPart::Padded,
            ..honest.ending(Then::Close)
        },
        CloseIdle => honest.ending(Then::Close),
        EndlessChunked => Shape {
            endless: true,
            ..honest
                .unterminated(Then::KeepAlive)
                .framed(Framing::Chunked)
        },
    };
    (reply, shape)
}

/// The bytes before the body as `shape.head` says. The head says what the client asked
/// for: the abrupt faults look like healthy keep-alive answers until they break.
fn head_bytes(reply: &Reply, shape: &Shape, persistence: Persistence) -> Vec<u8> {
    match shape.head {
        HeadPart::Nothing => Vec::new(),
        HeadPart::Garbage => GARBAGE.to_vec(),
        HeadPart::Half => {
            let mut partial = head(reply, &shape.framing, persistence);
            partial.truncate(partial.len() / 2);
            partial
        }
        HeadPart::Whole => head(reply, &shape.framing, persistence),
        HeadPart::Padded => {
            let mut buf = head(reply, &shape.framing, persistence);
            // Insert the padding before the blank line that ends the head.
            buf.truncate(buf.len() - 2);
            buf.extend_from_slice(b"X-Padding: ");
            buf.resize(buf.len() + HUGE_HEAD, b'a');
            buf.extend_from_slice(b"\r\n\r\n");
            buf
        }
    }
}

/// Appends what fits in memory of the body to `buf` and returns where the rest comes from.
fn body(reply: &Reply, shape: &Shape, buf: &mut Vec<u8>) -> Source {
    let (upto, terminate) = (shape.upto, shape.terminate);
    match (&reply.body, shape.framing) {
        _ if shape.endless => Source::Endless { next: 0 },
        (Body::Static(bytes), Framing::Length(_)) => {
            // Past the body's end (`long-body` only) come the EXTRA bytes.
            let len = bytes.len() as u64;
            buf.extend_from_slice(&bytes[..upto.min(len) as usize]);
            buf.extend_from_slice(&EXTRA[..upto.saturating_sub(len) as usize]);
            Source::Done
        }
        (Body::Static(bytes), Framing::Chunked) => {
            if upto > 0 {
                let _ = write!(Hex(buf), "{upto:x}\r\n");
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
        (Body::PatternRange { start, .. }, Framing::Length(_)) => Source::Raw {
            next: *start,
            end: start + upto,
        },
        (Body::PatternRange { start, .. }, Framing::Chunked) => Source::Chunked {
            next: *start,
            end: start + upto,
            terminate,
        },
    }
}

/// What `garbage` sends instead of a status line.
const GARBAGE: &[u8] = b"SSH-2.0-miodl_garbage\r\nthis is not an HTTP response\r\n\r\n";
/// Bytes `long-body` sends past the announced end of a small body.
const EXTRA: &[u8] = b"EXTRA BYTES BEYOND CONTENT-LENGTH\n";
/// The size of `huge-head`'s padding header.
const HUGE_HEAD: usize = 2 * 1024 * 1024;

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

/// The head of `reply` framed as `framing` says.
fn head(reply: &Reply, framing: &Framing, persistence: Persistence) -> Vec<u8> {
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
    match persistence {
        Persistence::Close => head.push_str("Connection: close\r\n"),
        Persistence::KeepOpen10 => head.push_str("Connection: keep-alive\r\n"),
        Persistence::KeepOpen => {}
    }
    head.push_str("\r\n");
    head.into_bytes()
}

/// The reason phrase of the statuses this server sends.
pub(super) fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        206 => "Partial Content",
        302 => "Found",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Content Too Large",
        416 => "Range Not Satisfiable",
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
