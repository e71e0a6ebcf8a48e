//! Request head encoding: a [`Request`] in, the exact bytes for the socket out.
//!
//! Read with: RFC 9112 §3 (request line), RFC 9110 §7.2 (Host), §10.1.5 (User-Agent),
//! RFC 9112 §9.3 (`Connection: close`), RFC 7617 (Basic authentication).
//!
//! ```text
//!  GET /api/download/ab12 HTTP/1.1\r\n     request line: METHOD SP target SP version
//!                                         (through an HTTP proxy the target is absolute:
//!                                         GET http://127.0.0.1:5000/api/… HTTP/1.1)
//!  Host: 127.0.0.1:5000\r\n
//!  User-Agent: miodl/0.1.0\r\n
//!  Accept: */*\r\n
//!  Connection: close\r\n                   only when keep-alive is off
//!  Authorization: Basic dXNlcjpwYXNz\r\n   only when given
//!  Proxy-Authorization: Basic …\r\n      only to an HTTP proxy that has credentials
//!  Range: bytes=N-\r\n                    -C resuming a part of N bytes, with
//!  If-Range: "etag"\r\n                   its validator (RFC 9110 §14.2, §13.1.5)
//!  X-Custom: value\r\n                    -H lines, rendered once (see [`custom`](super::custom))
//!  Content-Type: application/x-www-form-urlencoded\r\n   only with a form body
//!  Content-Length: 17\r\n                  with a form body, and 0 for a bare POST
//!  \r\n
//!  start=0&per_page=5                      the form body, if any
//! ```
//!
//! Every field is checked before a single byte is written: a CR or LF smuggled into the
//! target, host or credentials would let a URL inject headers (response splitting's twin),
//! so such a request is refused with [`HttpError::InvalidRequest`] and `out` is untouched.
//!
//! Layer: `protocol`; may use nothing else of the crate (see `src/protocol/mod.rs`).

use super::custom::CustomHeaders;
use super::error::{HttpError, RequestField};

/// The request methods miodl sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// `GET`: downloads and the list API's debugging view.
    Get,
    /// `POST`: the list API's pages, with a form body.
    Post,
    /// `HEAD`: the head of a GET without its body (RFC 9110 §9.3.2).
    Head,
}

impl Method {
    /// The method as it appears on the request line, e.g. `"GET"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Head => "HEAD",
        }
    }
}

/// One request, borrowed from the caller: everything [`encode`] needs, nothing it owns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request<'a> {
    /// The method.
    pub method: Method,
    /// Origin-form target, `"/path?query"`, already percent-encoded.
    pub target: &'a str,
    /// The `Host` header value, e.g. `"127.0.0.1:5000"` or `"[::1]:8080"`.
    pub host: &'a str,
    /// `false` sends `Connection: close`; `true` relies on HTTP/1.1's default persistence.
    pub keep_alive: bool,
    /// The full `Authorization` value, e.g. `"Basic dXNlcjpwYXNz"` (see
    /// [`basic_authorization`]).
    pub authorization: Option<&'a str>,
    /// A body sent as `application/x-www-form-urlencoded`, with its `Content-Length`.
    pub form_body: Option<&'a [u8]>,
    /// The run's custom headers (`-H`, `-A`, `--compressed`), rendered once at start;
    /// `None` when there are none.
    pub custom: Option<&'a CustomHeaders>,
    /// Does this request go to a trusted host, so that the custom `Authorization` and
    /// `Cookie` lines go with it? (The caller decides, as for `authorization`.)
    pub trusted: bool,
    /// Sent to an HTTP proxy (an `http://` URL through `-x`): the target goes in
    /// absolute form, `http://` + `host` + `target` (RFC 9112 §3.2.2).
    pub absolute: bool,
    /// The full `Proxy-Authorization` value for that proxy, if it has credentials.
    pub proxy_authorization: Option<&'a str>,
    /// `-C`: resume a body after its first `N` bytes if it is still the one `validator`
    /// (a strong `ETag` or a `Last-Modified` date) names: `Range: bytes=N-` and
    /// `If-Range: validator`.
    pub range: Option<(u64, &'a str)>,
}

/// `User-Agent` value: the crate name and version.
const USER_AGENT: &str = concat!("miodl/", env!("CARGO_PKG_VERSION"));

/// Appends the request head (and form body, if any) to `out`.
///
/// Fails with [`HttpError::InvalidRequest`], leaving `out` as it was, when the target or
/// host is empty or holds a space, control character or non-ASCII byte, or when the
/// authorization value holds a control character other than horizontal tab.
pub fn encode(req: &Request<'_>, out: &mut Vec<u8>) -> Result<(), HttpError> {
    check(req)?;

    let body = req.form_body;
    let secret_len = |c: &CustomHeaders| c.secret_lines().len() * usize::from(req.trusted);
    let custom_len = req
        .custom
        .map_or(0, |c| c.open_lines().len() + secret_len(c));
    out.reserve(160 + req.target.len() + custom_len + body.map_or(0, <[u8]>::len));
    let mut line = |parts: &[&[u8]]| {
        parts.iter().for_each(|p| out.extend_from_slice(p));
        out.extend_from_slice(b"\r\n");
    };
    let (method, target, host) = (
        req.method.as_str().as_bytes(),
        req.target.as_bytes(),
        req.host.as_bytes(),
    );
    if req.absolute {
        line(&[method, b" http://", host, target, b" HTTP/1.1"]);
    } else {
        line(&[method, b" ", target, b" HTTP/1.1"]);
    }
    line(&[b"Host: ", host]);
    let custom = req.custom;
    if !custom.is_some_and(|c| c.omit_user_agent) {
        line(&[b"User-Agent: ", USER_AGENT.as_bytes()]);
    }
    if !custom.is_some_and(|c| c.omit_accept) {
        line(&[b"Accept: */*"]);
    }
    if !req.keep_alive {
        line(&[b"Connection: close"]);
    }
    if let Some(auth) = req.authorization {
        line(&[b"Authorization: ", auth.as_bytes()]);
    }
    if let Some(auth) = req.proxy_authorization {
        line(&[b"Proxy-Authorization: ", auth.as_bytes()]);
    }
    if let Some((from, validator)) = req.range {
        range_lines(from, validator, &mut line);
    }
    if let Some(custom) = custom {
        // Complete lines, each with its CRLF: copied as they are (the last CRLF is
        // `line`'s).
        if let Some(lines) = custom.open_lines().strip_suffix(b"\r\n") {
            line(&[lines]);
        }
        if let Some(lines) = custom.secret_lines().strip_suffix(b"\r\n") {
            if req.trusted {
                line(&[lines]);
            }
        }
    }
    if body.is_some() {
        line(&[b"Content-Type: application/x-www-form-urlencoded"]);
    }
    if body.is_some() || req.method == Method::Post {
        let mut digits = [0u8; 20];
        let len = body.map_or(0, <[u8]>::len) as u64;
        line(&[b"Content-Length: ", decimal(len, &mut digits)]);
    }
    line(&[]);
    if let Some(body) = body {
        out.extend_from_slice(body);
    }
    Ok(())
}

/// `Range: bytes=FROM-` and `If-Range: VALIDATOR` (`-C` only: out of line).
#[cold]
#[inline(never)]
fn range_lines(from: u64, validator: &str, line: &mut impl FnMut(&[&[u8]])) {
    let mut digits = [0u8; 20];
    line(&[b"Range: bytes=", decimal(from, &mut digits), b"-"]);
    line(&[b"If-Range: ", validator.as_bytes()]);
}

/// Every field that comes from a URL or the command line, checked before a byte is
/// written (the custom headers were checked once, when they were given).
fn check(req: &Request<'_>) -> Result<(), HttpError> {
    let bad = |field| Err(HttpError::InvalidRequest { field });
    if !is_visible_ascii(req.target) {
        return bad(RequestField::Target);
    }
    if !is_visible_ascii(req.host) {
        return bad(RequestField::Host);
    }
    let bad_value = |auth: Option<&str>| auth.is_some_and(|auth| !is_field_value(auth));
    if bad_value(req.authorization) || bad_value(req.proxy_authorization) {
        return bad(RequestField::Authorization);
    }
    if req
        .range
        .is_some_and(|(_, v)| v.is_empty() || !is_field_value(v))
    {
        return bad(RequestField::IfRange);
    }
    Ok(())
}

/// The `Authorization` value for HTTP Basic authentication (RFC 7617):
/// `"Basic " + base64(user ":" password)`.
pub fn basic_authorization(user: &str, password: &str) -> String {
    let mut credentials = Vec::with_capacity(user.len() + 1 + password.len());
    credentials.extend_from_slice(user.as_bytes());
    credentials.push(b':');
    credentials.extend_from_slice(password.as_bytes());
    let mut value = String::from("Basic ");
    super::base64::encode_into(&credentials, &mut value);
    value
}

/// Non-empty, and only `!`..=`~`: no space, no control character, nothing beyond ASCII.
fn is_visible_ascii(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic())
}

/// A field value (RFC 9110 §5.5) without obsolete line folding: any byte but controls,
/// except horizontal tab.
fn is_field_value(s: &str) -> bool {
    s.bytes().all(|b| b == b'\t' || !(b.is_ascii_control()))
}

/// Writes `n` in decimal into `buf`, returning the digits. No allocation.
pub fn decimal(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut start = buf.len();
    loop {
        start -= 1;
        buf[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[start..];
        }
    }
}
