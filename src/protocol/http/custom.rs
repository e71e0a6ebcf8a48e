//! Custom request headers (`-H 'Name: value'`, `-A`, `--compressed`), checked once and
//! rendered once.
//!
//! Why a file of its own: a header from the command line is foreign text that ends up on
//! the wire of every request. It is checked when it is given (a token for the name, no
//! control character in the value, never a header that decides where or how a message
//! ends), then rendered into ready `Name: value\r\n` lines at the start of the run, so
//! [`encode`](super::encode) only copies bytes: no allocation, no check per request.
//!
//! The rules, curl's where curl has one:
//!
//! - A custom header replaces miodl's own of the same name (`User-Agent`, `Accept`,
//!   `Accept-Encoding`, `Authorization`); names compare without regard to case.
//! - An empty value (`-H 'X-Foo:'`) sends nothing of that name, and so removes miodl's
//!   own (`-H 'Accept:'` sends no `Accept`).
//! - `Host`, `Content-Length`, `Transfer-Encoding` and `Connection` are refused: they
//!   name the server or frame the message, which miodl must decide itself.
//! - `Authorization` and `Cookie` are secrets: rendered apart, and sent only where `-u`'s
//!   credentials would be (the caller decides, per request).
//!
//! Layer: `protocol`; may use nothing else of the crate (see `src/protocol/mod.rs`).

use std::fmt;

/// Headers a user may not set: where the request goes and how it is framed.
const RESERVED: [&str; 4] = ["host", "content-length", "transfer-encoding", "connection"];

/// Headers whose values are secrets: sent only to the hosts trusted with `-u`.
const SECRET: [&str; 2] = ["authorization", "cookie"];

/// What is wrong with a `-H` value. The message never quotes the value (it may be a
/// secret), only the name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderArgError {
    /// No `:` between name and value.
    NoColon,
    /// The name is empty or not an RFC 9110 token (no spaces, no separators).
    BadName,
    /// The value holds a control character (CR, LF, NUL, ...; a tab is allowed).
    BadValue(String),
    /// The header is one miodl sets itself (`Host`, `Content-Length`, ...).
    Reserved(String),
}

impl fmt::Display for HeaderArgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeaderArgError::NoColon => f.write_str("expected 'Name: value', found no ':'"),
            HeaderArgError::BadName => f.write_str(
                "the header name is empty or not a token (letters, digits and !#$%&'*+-.^_`|~)",
            ),
            HeaderArgError::BadValue(name) => write!(
                f,
                "the value of {name} holds a control character (CR, LF, NUL, ...)"
            ),
            HeaderArgError::Reserved(name) => {
                write!(f, "{name} is set by miodl itself and may not be given")?;
                if name.eq_ignore_ascii_case("connection") {
                    f.write_str(" (see --no-keepalive)")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for HeaderArgError {}

/// Splits `Name: value` at the first `:`, trims the spaces and tabs around the value,
/// and checks both. Returns `(name, value)`; an empty value is allowed (it removes).
pub fn parse_header(arg: &str) -> Result<(&str, &str), HeaderArgError> {
    let (name, value) = arg.split_once(':').ok_or(HeaderArgError::NoColon)?;
    if name.is_empty() || !name.bytes().all(is_token_byte) {
        return Err(HeaderArgError::BadName);
    }
    let value = value.trim_matches([' ', '\t']);
    if value.bytes().any(|b| b != b'\t' && b.is_ascii_control()) {
        return Err(HeaderArgError::BadValue(name.to_string()));
    }
    if RESERVED.iter().any(|r| name.eq_ignore_ascii_case(r)) {
        return Err(HeaderArgError::Reserved(name.to_string()));
    }
    Ok((name, value))
}

/// `tchar` of RFC 9110 §5.6.2.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// The custom headers of a run, rendered: what [`encode`](super::encode) adds to and
/// leaves out of every request.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct CustomHeaders {
    /// Lines for every request, each `Name: value\r\n`.
    open: Vec<u8>,
    /// Lines for the trusted hosts only (`Authorization`, `Cookie`).
    secret: Vec<u8>,
    /// miodl's own `User-Agent` is replaced or removed.
    pub(super) omit_user_agent: bool,
    /// miodl's own `Accept` is replaced or removed.
    pub(super) omit_accept: bool,
    /// A custom `Authorization` was given (or removed): `-u`'s is not sent.
    replaces_authorization: bool,
}

impl fmt::Debug for CustomHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CustomHeaders")
            .field("open", &String::from_utf8_lossy(&self.open))
            .field("secret", &"<hidden>")
            .finish()
    }
}

impl CustomHeaders {
    /// Renders `headers` (already checked by [`parse_header`]), in order; a later header
    /// of a name replaces an earlier one. `accept_encoding` (`--compressed`) adds
    /// `Accept-Encoding: gzip, deflate` unless a header of that name was given.
    pub fn new<'a>(
        headers: impl IntoIterator<Item = (&'a str, &'a str)>,
        accept_encoding: bool,
    ) -> CustomHeaders {
        let mut kept: Vec<(&str, &str)> = Vec::new();
        for (name, value) in headers {
            kept.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
            kept.push((name, value));
        }
        let given = |wanted: &str| kept.iter().any(|(n, _)| n.eq_ignore_ascii_case(wanted));
        let mut rendered = CustomHeaders {
            omit_user_agent: given("user-agent"),
            omit_accept: given("accept"),
            replaces_authorization: given("authorization"),
            ..CustomHeaders::default()
        };
        if accept_encoding && !given("accept-encoding") {
            rendered
                .open
                .extend_from_slice(b"Accept-Encoding: gzip, deflate\r\n");
        }
        for (name, value) in kept.iter().filter(|(_, v)| !v.is_empty()) {
            let out = if SECRET.iter().any(|s| name.eq_ignore_ascii_case(s)) {
                &mut rendered.secret
            } else {
                &mut rendered.open
            };
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        rendered
    }

    /// Nothing custom at all: requests are exactly miodl's own.
    pub fn is_empty(&self) -> bool {
        *self == CustomHeaders::default()
    }

    /// Are there secret lines, so that the trusted hosts must be known?
    pub fn has_secret(&self) -> bool {
        !self.secret.is_empty()
    }

    /// Does a custom `Authorization` (given or removed) stand in for `-u`'s?
    pub fn replaces_authorization(&self) -> bool {
        self.replaces_authorization
    }

    /// The lines every request carries.
    pub fn open_lines(&self) -> &[u8] {
        &self.open
    }

    /// The lines only the trusted hosts get.
    pub fn secret_lines(&self) -> &[u8] {
        &self.secret
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_is_split_trimmed_and_checked() {
        assert_eq!(parse_header("X-A:  b c \t"), Ok(("X-A", "b c")));
        assert_eq!(parse_header("X-Empty:"), Ok(("X-Empty", "")));
        assert_eq!(parse_header("nocolon"), Err(HeaderArgError::NoColon));
        assert_eq!(parse_header("X A: b"), Err(HeaderArgError::BadName));
        assert_eq!(parse_header(": b"), Err(HeaderArgError::BadName));
        assert!(matches!(
            parse_header("X-A: b\r\nHost: evil"),
            Err(HeaderArgError::BadValue(_))
        ));
        assert!(matches!(
            parse_header("host: x"),
            Err(HeaderArgError::Reserved(_))
        ));
        assert!(matches!(
            parse_header("Content-Length: 1"),
            Err(HeaderArgError::Reserved(_))
        ));
    }

    #[test]
    fn headers_are_rendered_secrets_apart_later_ones_win_empty_ones_remove() {
        let h = CustomHeaders::new(
            [
                ("X-A", "1"),
                ("Authorization", "Bearer S"),
                ("x-a", "2"),
                ("Accept", ""),
                ("Cookie", "c=1"),
            ],
            true,
        );
        assert_eq!(
            h.open_lines(),
            b"Accept-Encoding: gzip, deflate\r\nx-a: 2\r\n"
        );
        assert_eq!(
            h.secret_lines(),
            b"Authorization: Bearer S\r\nCookie: c=1\r\n"
        );
        assert!(h.omit_accept && !h.omit_user_agent && h.replaces_authorization());
        assert!(!format!("{h:?}").contains("Bearer"));
        assert!(CustomHeaders::new([], false).is_empty());
    }
}
