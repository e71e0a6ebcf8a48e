//! Request framing for the server: bytes in, one whole request (head and body) out.
//!
//! Sans-IO, like the client's protocol layer: [`parse`] looks at the connection's input
//! buffer and answers "not yet" ([`Parsed::Partial`]), "here is a request and how many
//! bytes it used" ([`Parsed::Request`]), or "this is not HTTP we accept" ([`Parsed::Invalid`],
//! answered with that status and then a close). Heads go through `httparse::Request` with
//! a bounded header count; heads and bodies have size caps so a hostile client cannot make
//! the buffer grow without limit. Read RFC 9112 sections 2 to 6 for the rules.
//!
//! ```text
//!   input ──► httparse ──Partial, under cap──► Partial (read more)
//!               │        Partial, over cap ──► Invalid(431)
//!               │        Err ───────────────► Invalid(400)
//!               ▼ Complete(head_len)
//!         framing headers ──bad──► Invalid(400 / 413 / 501)
//!               ▼ ok
//!         head_len + Content-Length bytes here? ──no──► Partial
//!               ▼ yes
//!            Request { consumed, ... }
//! ```
//!
//! Layer: `serve`; may use `protocol`, `model`, `policy`, `output`, `transport`, `engine` and `report` (see `src/serve/mod.rs`).

/// The largest request head accepted, in bytes.
pub(super) const MAX_HEAD: usize = 16 * 1024;
/// The largest request body accepted, in bytes.
pub(super) const MAX_BODY: usize = 64 * 1024;
/// The most header lines accepted in one request.
const MAX_HEADERS: usize = 64;

/// What the input buffer holds, as far as requests go.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Parsed {
    /// Not a whole request yet; read more.
    Partial,
    /// One whole request, owning copies of the facts the server needs.
    Request(Request),
    /// Not acceptable: answer with this status and reason, then close.
    Invalid(u16, &'static str),
}

/// What a request asked of its connection (RFC 9112 §9.3), which decides whether the
/// server keeps it open and what its `Connection` header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Persistence {
    /// HTTP/1.1, open by default: no `Connection` header needed.
    KeepOpen,
    /// HTTP/1.0 that asked for `Connection: keep-alive`: the answer says so too.
    KeepOpen10,
    /// `Connection: close`, or HTTP/1.0 that did not ask: the answer says `close`.
    Close,
}

impl Persistence {
    /// Does the connection stay open after the answer?
    pub(super) fn keeps_open(self) -> bool {
        self != Persistence::Close
    }
}

/// The owned facts of one request, copied out of the borrowed parse at once.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Request {
    /// Bytes of input this request used (head and body).
    pub consumed: usize,
    /// The method, e.g. `GET`.
    pub method: String,
    /// The request target as sent, e.g. `/api/download/abc?x=1`.
    pub target: String,
    /// `HTTP/1.0` rather than `HTTP/1.1`.
    pub http10: bool,
    /// Whether the client wants the connection kept open after the response.
    pub keep_alive: bool,
    /// The body, `Content-Length` bytes.
    pub body: Vec<u8>,
    /// `Range: bytes=N-`: the N (other ranges are not read: answered whole).
    pub range_from: Option<u64>,
    /// The `If-Range` value, when sent with a `Range`.
    pub if_range: Option<String>,
    /// The `Authorization` value, for `--require-auth` to compare.
    pub authorization: Option<String>,
}

impl Request {
    /// What the request asked of its connection.
    pub(super) fn persistence(&self) -> Persistence {
        match (self.keep_alive, self.http10) {
            (false, _) => Persistence::Close,
            (true, true) => Persistence::KeepOpen10,
            (true, false) => Persistence::KeepOpen,
        }
    }
}

/// Looks for one whole request at the start of `input`.
pub(super) fn parse(input: &[u8]) -> Parsed {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let head_len = match req.parse(input) {
        Ok(httparse::Status::Complete(n)) if n > MAX_HEAD => {
            return Parsed::Invalid(431, "Request Header Fields Too Large")
        }
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) if input.len() > MAX_HEAD => {
            return Parsed::Invalid(431, "Request Header Fields Too Large")
        }
        Ok(httparse::Status::Partial) => return Parsed::Partial,
        Err(httparse::Error::TooManyHeaders) => {
            return Parsed::Invalid(431, "Request Header Fields Too Large")
        }
        Err(_) => return Parsed::Invalid(400, "Bad Request"),
    };
    let http10 = req.version == Some(0);
    let mut keep_alive = !http10;
    let mut content_length: Option<usize> = None;
    for h in req.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            let Some(n) = std::str::from_utf8(h.value)
                .ok()
                .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|v| v.parse::<usize>().ok())
            else {
                return Parsed::Invalid(400, "Bad Request");
            };
            if content_length.is_some_and(|old| old != n) {
                return Parsed::Invalid(400, "Bad Request");
            }
            content_length = Some(n);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            // Chunked request bodies are legal HTTP but no route needs one.
            return Parsed::Invalid(501, "Not Implemented");
        } else if h.name.eq_ignore_ascii_case("connection") {
            for token in h.value.split(|&b| b == b',') {
                let token = token.trim_ascii();
                if token.eq_ignore_ascii_case(b"close") {
                    keep_alive = false;
                } else if token.eq_ignore_ascii_case(b"keep-alive") && http10 {
                    keep_alive = true;
                }
            }
        }
    }
    let body_len = content_length.unwrap_or(0);
    if body_len > MAX_BODY {
        return Parsed::Invalid(413, "Content Too Large");
    }
    let consumed = head_len + body_len;
    if input.len() < consumed {
        return Parsed::Partial;
    }
    let (range_from, if_range) = conditional(req.headers);
    let authorization = header_value(req.headers, "authorization").map(str::to_string);
    Parsed::Request(Request {
        consumed,
        // httparse has checked both are tokens / visible ASCII when it said Complete.
        method: req.method.unwrap_or_default().to_string(),
        target: req.path.unwrap_or_default().to_string(),
        http10,
        keep_alive,
        body: input[head_len..consumed].to_vec(),
        range_from,
        if_range,
        authorization,
    })
}

/// `Range: bytes=N-` (its N; other ranges are not read) and, with it, `If-Range`.
fn conditional(headers: &[httparse::Header<'_>]) -> (Option<u64>, Option<String>) {
    let value = |name: &str| header_value(headers, name);
    let from = value("range")
        .and_then(|v| v.strip_prefix("bytes="))
        .and_then(|v| v.strip_suffix('-'))
        .and_then(|n| n.parse().ok());
    let if_range = from.and_then(|_| value("if-range")).map(str::to_string);
    (from, if_range)
}

/// The first `name` header's value, trimmed, if it is text.
fn header_value<'h>(headers: &[httparse::Header<'h>], name: &str) -> Option<&'h str> {
    let h = headers.iter().find(|h| h.name.eq_ignore_ascii_case(name))?;
    std::str::from_utf8(h.value).ok().map(str::trim)
}
