//! `http://` and `https://` URLs: parsed once, checked strictly, ready for the wire.
//!
//! Everything miodl sends starts as a URL typed by a user, read from a file, built from
//! a pager id or handed back in a redirect's `Location`. This module is the one gate all
//! of them pass through, so that what comes out can be written into a request head
//! without further checks: the host is a plain name or an IPv6 literal, the port is a
//! number, and the target is origin-form (`/path?query`) with every byte outside the
//! RFC 3986 path and query characters percent-encoded.
//!
//! Read RFC 3986 (sections 3 and 5) for the grammar and reference resolution. The rules
//! miodl adds, and why:
//!
//! - Only `http` and, with the `tls` feature, `https` (any case). Every other scheme
//!   is [`UrlError::UnsupportedScheme`], a usage error rather than a crash
//!   (docs/reference.md §3); `https` without the feature is [`UrlError::NeedsTls`].
//! - A CR, LF, NUL, space or any other control character anywhere is an error: these
//!   are how header injection and request smuggling get in (see [`Url::join`] for the one
//!   leniency, spaces in a `Location`).
//! - User info (`http://user:pass@host/`) is rejected, never sent: credentials belong in
//!   `-u`, which is scoped to the hosts named on the command line. The error redacts them.
//! - The fragment is dropped; it is never sent to a server.
//! - Dot segments (`/a/../b`) are removed, as curl does, so the target names the file a
//!   server will actually serve.
//! - The host is lowercased (DNS names are case-insensitive) and an IPv6 literal is kept
//!   in its canonical form, so one server has one [`Authority`] in the connection pool.
//! - A host with non-ASCII characters (`bücher.example`) is mapped by IDNA (UTS #46, the
//!   `idna` crate: case folding, width and compatibility mapping, then punycode) to its
//!   ASCII form (`xn--bcher-kva.example`), which is what DNS, SNI and `Host` get and what
//!   a [`Url`] keeps; [`Url::for_humans`] shows the Unicode form again in messages. What
//!   IDNA refuses is an [`UrlError::InvalidHost`]. ASCII hosts never reach the mapping,
//!   so they cost nothing more (and allocate nothing in [`Url::check`]).
//!
//! Layer: `protocol`; may use nothing else of the crate (see `src/protocol/mod.rs`).

use std::fmt;
use std::net::Ipv6Addr;

mod error;
pub use error::UrlError;

/// How to talk to a server: plain TCP, or TLS on top of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scheme {
    /// `http://`: the HTTP bytes go straight to the socket (default port 80).
    Http,
    /// `https://`: the HTTP bytes go through TLS first (default port 443).
    Https,
}

impl Scheme {
    /// `"http"` or `"https"`.
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }

    /// The port a URL of this scheme means when it names none.
    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }
}

/// An absolute `http://` or `https://` URL, split into what a request needs: how and
/// where to connect, and what to ask for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Url {
    /// `http` or `https`.
    scheme: Scheme,
    /// Lowercase host name, IPv4 address, or canonical IPv6 address without brackets.
    host: String,
    /// The TCP port, the scheme's default (80, 443) when the URL names none.
    port: u16,
    /// Origin-form request target: `/path` plus `?query` if any; never empty.
    target: String,
}

/// What the connection pool keys sockets by and what credentials are scoped to:
/// the scheme, host and port of a URL. The scheme is part of it so that `http://h:8443`
/// and `https://h:8443` never share a socket or a password.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Authority {
    /// `http` or `https`.
    pub scheme: Scheme,
    /// Lowercase host name, or canonical IPv6 address without brackets.
    pub host: String,
    /// The TCP port.
    pub port: u16,
}

impl fmt::Display for Authority {
    /// `scheme://host:port`, with an IPv6 host in brackets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = self.scheme.name();
        if self.host.contains(':') {
            write!(f, "{scheme}://[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{scheme}://{}:{}", self.host, self.port)
        }
    }
}

/// A URL that passed every check of [`Url::parse`], its parts still borrowed from the
/// text it was read from: what [`Url::check`] returns. Nothing is normalised or
/// encoded yet; [`CheckedUrl::to_url`] does that, and cannot fail.
#[derive(Debug, Clone, Copy)]
pub struct CheckedUrl<'a> {
    /// `http` or `https`.
    scheme: Scheme,
    /// The host as written (a name or IPv4 address), or the IPv6 address it names.
    host: CheckedHost<'a>,
    /// The TCP port, the scheme's default when the URL names none.
    port: u16,
    /// The path as written, fragment dropped; may be empty.
    path: &'a str,
    /// The query as written, without its `?`.
    query: Option<&'a str>,
}

/// The checked `scheme://host:port` of the last URL [`Url::check_with`] checked whole,
/// exactly as written, so that the next URL that starts with the same text is spared the
/// checks of that part (a list's URLs mostly share their server). It holds no verdict
/// about any other text: a URL is spared them only if its first bytes are these, up to a
/// `/`, `?`, `#` or its end, and the checks' outcome depends on nothing else. So it stays
/// right whatever a list holds, and however it changes during a run.
#[derive(Debug, Default)]
pub struct AuthorityMemo {
    /// `scheme://authority` as written; empty when nothing is kept.
    prefix: String,
    /// The parts [`Url::check`] found in it.
    scheme: Option<Scheme>,
    host: MemoHost,
    port: u16,
}

/// The host of an [`AuthorityMemo`].
#[derive(Debug, Default, Clone, Copy)]
enum MemoHost {
    /// Nothing kept.
    #[default]
    None,
    /// A name or IPv4 address: where it lies in the prefix.
    Name { start: usize, end: usize },
    /// An IPv6 literal.
    V6(Ipv6Addr),
}

/// The longest prefix an [`AuthorityMemo`] keeps (a longer authority is checked every time).
const MEMO_MAX: usize = 512;

impl AuthorityMemo {
    /// The parse of `s` when it starts with the kept prefix and the rest passes its checks
    /// (no forbidden character); `None` otherwise, and `s` is to be checked whole.
    fn reuse<'s>(&self, s: &'s str) -> Option<CheckedUrl<'s>> {
        let scheme = self.scheme?;
        let rest = s.strip_prefix(self.prefix.as_str())?;
        // The authority ends where it ended in the prefix, or it is another one.
        if !matches!(rest.bytes().next(), None | Some(b'/' | b'?' | b'#')) {
            return None;
        }
        // The prefix passed this check; the rest must too (else its error is `check`'s).
        if find_forbidden(rest).is_some() {
            return None;
        }
        let host = match self.host {
            MemoHost::None => return None,
            MemoHost::Name { start, end } => CheckedHost::Name(s.get(start..end)?),
            MemoHost::V6(address) => CheckedHost::V6(address),
        };
        let (path, query) = split_path_query(rest);
        Some(CheckedUrl {
            scheme,
            host,
            port: self.port,
            path,
            query,
        })
    }

    /// Keeps the first `prefix` bytes of `s`, its `scheme://authority` checked as
    /// `checked`; an international host (mapped by IDNA each time) or a prefix over
    /// [`MEMO_MAX`] bytes is not kept, and nothing is then.
    fn keep(&mut self, s: &str, prefix: usize, checked: &CheckedUrl<'_>) {
        let host = match checked.host {
            CheckedHost::Name(name) => {
                // The name is a slice of `s`, within its prefix.
                let start = name.as_ptr() as usize - s.as_ptr() as usize;
                MemoHost::Name {
                    start,
                    end: start + name.len(),
                }
            }
            CheckedHost::V6(address) => MemoHost::V6(address),
            CheckedHost::International(_) => MemoHost::None,
        };
        self.prefix.clear();
        self.scheme = None;
        if matches!(host, MemoHost::None) || prefix > MEMO_MAX {
            return;
        }
        self.prefix.push_str(&s[..prefix]);
        self.scheme = Some(checked.scheme);
        self.host = host;
        self.port = checked.port;
    }
}

/// The host of a [`CheckedUrl`], not yet in the form a [`Url`] keeps.
#[derive(Debug, Clone, Copy)]
enum CheckedHost<'a> {
    /// A name or an IPv4 address: checked to be ASCII letters, digits, `-`, `.` and
    /// `_`, in the case the user wrote.
    Name(&'a str),
    /// A bracketed IPv6 literal, parsed.
    V6(Ipv6Addr),
    /// A name with non-ASCII characters, as written; IDNA maps it (checked to succeed).
    International(&'a str),
}

impl CheckedHost<'_> {
    /// The host as a [`Url`] keeps it: a lowercase name, or the canonical IPv6 text.
    fn to_normal_form(self) -> String {
        match self {
            CheckedHost::Name(name) => name.to_ascii_lowercase(),
            CheckedHost::V6(address) => address.to_string(),
            // `Url::check` mapped it once already; the mapping is a pure function.
            CheckedHost::International(name) => to_ascii_host(name).unwrap_or_default(),
        }
    }
}

/// Maps a non-ASCII host name to its ASCII form with IDNA (UTS #46 ToASCII, with the
/// URL standard's forbidden characters and DNS length checked); the result must also
/// pass the ASCII host rule. `Err` names what is wrong.
fn to_ascii_host(name: &str) -> Result<String, &'static str> {
    let mapped = idna::uts46::Uts46::new()
        .to_ascii(
            name.as_bytes(),
            idna::AsciiDenyList::URL,
            idna::uts46::Hyphens::Allow,
            idna::uts46::DnsLength::Verify,
        )
        .map_err(|_| "not a valid internationalized domain name (IDNA)")?;
    if mapped.is_empty() || !mapped.bytes().all(|b| is_unreserved(b) && b != b'~') {
        return Err("not a valid internationalized domain name (IDNA)");
    }
    Ok(mapped.into_owned())
}

/// The ASCII form a [`Url`] keeps of a host name written with non-ASCII characters
/// (`bücher.example` → `xn--bcher-kva.example`), for names given outside a URL
/// (`--resolve`); `None` if IDNA refuses it.
pub fn international_host(name: &str) -> Option<String> {
    to_ascii_host(name).ok()
}

/// The Unicode form of an ASCII host with punycode labels (`xn--`), for messages;
/// `None` when it has none (or they do not decode), so the host prints as it is.
fn to_unicode_host(host: &str) -> Option<String> {
    let has_punycode = host
        .split('.')
        .any(|label| label.len() > 4 && label[..4].eq_ignore_ascii_case("xn--"));
    if !has_punycode {
        return None;
    }
    let (unicode, result) = idna::domain_to_unicode(host);
    result.ok().map(|()| unicode)
}

/// A [`Url`] as messages show it: the host in its Unicode form ([`Url::for_humans`]).
pub struct ForHumans<'a>(&'a Url);

impl fmt::Display for ForHumans<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = self.0;
        let Some(host) = to_unicode_host(&url.host) else {
            return fmt::Display::fmt(url, f);
        };
        write!(f, "{}://{host}", url.scheme.name())?;
        if url.port != url.scheme.default_port() {
            write!(f, ":{}", url.port)?;
        }
        f.write_str(&url.target)
    }
}

impl CheckedUrl<'_> {
    /// The owned, normalised [`Url`]: the host lowercased (or an IPv6 address in its
    /// canonical form), dot segments removed and the target percent-encoded.
    pub fn to_url(&self) -> Url {
        Url {
            scheme: self.scheme,
            host: self.host.to_normal_form(),
            port: self.port,
            target: build_target(self.path, self.query),
        }
    }

    /// `http` or `https`.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// Scheme, host and port, as [`Url::authority_key`] gives them (without building
    /// the target).
    pub fn authority_key(&self) -> Authority {
        Authority {
            scheme: self.scheme,
            host: self.host.to_normal_form(),
            port: self.port,
        }
    }
}

impl Url {
    /// Parses an absolute `http://` or `https://` URL. See the module docs for what is
    /// rejected. This is [`Url::check`] followed by [`CheckedUrl::to_url`].
    pub fn parse(s: &str) -> Result<Url, UrlError> {
        Url::check(s).map(|checked| checked.to_url())
    }

    /// Checks `s` by every rule of [`Url::parse`], with the same errors, but builds no
    /// owned [`Url`]: the parts stay borrowed from `s`, so a URL that passes costs no
    /// allocation. This is the one parser; [`Url::parse`] only copies its result out.
    pub fn check(s: &str) -> Result<CheckedUrl<'_>, UrlError> {
        Url::check_split(s).map(|(checked, _)| checked)
    }

    /// [`Url::check`], for a URL of a list whose URLs mostly share their `scheme://host:port`:
    /// when `s` starts with the one `memo` holds, the text that every check of the scheme
    /// and authority was made on in this run, those checks are not made again, only the
    /// ones of the rest of `s`; otherwise `s` is checked whole, and `memo` keeps its
    /// authority. The result and the errors are [`Url::check`]'s in either case.
    pub fn check_with<'s>(
        s: &'s str,
        memo: &mut AuthorityMemo,
    ) -> Result<CheckedUrl<'s>, UrlError> {
        if let Some(checked) = memo.reuse(s) {
            return Ok(checked);
        }
        let (checked, prefix) = Url::check_split(s)?;
        memo.keep(s, prefix, &checked);
        Ok(checked)
    }

    /// [`Url::parse`] through [`Url::check_with`].
    pub fn parse_with(s: &str, memo: &mut AuthorityMemo) -> Result<Url, UrlError> {
        Url::check_with(s, memo).map(|checked| checked.to_url())
    }

    /// [`Url::check`], and the length of the `scheme://authority` that starts `s`.
    fn check_split(s: &str) -> Result<(CheckedUrl<'_>, usize), UrlError> {
        if let Some((position, character)) = find_forbidden(s) {
            return Err(UrlError::ForbiddenCharacter {
                character,
                position,
                url: s.to_string(),
            });
        }
        let Some((scheme, rest)) = split_scheme(s) else {
            return Err(UrlError::MissingScheme { url: s.to_string() });
        };
        let scheme_kind = if scheme.eq_ignore_ascii_case("http") {
            Scheme::Http
        } else if scheme.eq_ignore_ascii_case("https") {
            if !cfg!(feature = "tls") {
                return Err(UrlError::NeedsTls { url: s.to_string() });
            }
            Scheme::Https
        } else {
            // `localhost:8080/x` looks like scheme "localhost"; it is a missing scheme.
            if rest.starts_with(|c: char| c.is_ascii_digit()) {
                return Err(UrlError::MissingScheme { url: s.to_string() });
            }
            return Err(UrlError::UnsupportedScheme {
                scheme: scheme.to_ascii_lowercase(),
                url: s.to_string(),
            });
        };
        let Some(rest) = rest.strip_prefix("//") else {
            return Err(UrlError::MissingSlashes { url: s.to_string() });
        };
        let authority_end = rest
            .bytes()
            .position(|b| matches!(b, b'/' | b'?' | b'#'))
            .unwrap_or(rest.len());
        let (authority, path_and_more) = rest.split_at(authority_end);
        if let Some(at) = authority.bytes().rposition(|b| b == b'@') {
            let redacted = format!("{}://***@{}", scheme, &rest[at + 1..]);
            return Err(UrlError::UserInfo { url: redacted });
        }
        let (host, port) = parse_authority(authority, s, scheme_kind.default_port())?;
        let (path, query) = split_path_query(path_and_more);
        let checked = CheckedUrl {
            scheme: scheme_kind,
            host,
            port,
            path,
            query,
        };
        Ok((checked, s.len() - path_and_more.len()))
    }

    /// `http` or `https`.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The host: a lowercase name, an IPv4 address, or an IPv6 address without brackets.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The TCP port (the scheme's default, 80 or 443, unless the URL names another).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The origin-form request target: `/path` and `?query`, percent-encoded, never empty.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The value of the `Host` header: `host`, or `host:port` when the port is not the
    /// scheme's default (80, 443); an IPv6 host is bracketed.
    pub fn host_header(&self) -> String {
        let mut value = String::new();
        self.write_host_header(&mut value);
        value
    }

    /// Appends the `Host` header value to `out` (no allocation when `out` has room).
    /// Every request writes one, so the port's digits are written by hand, not through
    /// `std::fmt` (which cost some 600 instructions a request).
    pub fn write_host_header(&self, out: &mut String) {
        if self.host.as_bytes().contains(&b':') {
            out.push('[');
            out.push_str(&self.host);
            out.push(']');
        } else {
            out.push_str(&self.host);
        }
        if self.port != self.scheme.default_port() {
            out.push(':');
            push_decimal(out, self.port);
        }
    }

    /// The URL as messages show it: an internationalized host in its Unicode form
    /// (`http://bücher.example/x`), everything else as [`Url`]'s `Display` has it.
    pub fn for_humans(&self) -> ForHumans<'_> {
        ForHumans(self)
    }

    /// `host:port` as messages show it (the Unicode form of an internationalized name,
    /// an IPv6 host in brackets), e.g. for a proxy's `CONNECT`.
    pub fn authority_for_humans(&self) -> String {
        let host = to_unicode_host(&self.host).unwrap_or_else(|| self.host.clone());
        if host.contains(':') {
            format!("[{host}]:{}", self.port)
        } else {
            format!("{host}:{}", self.port)
        }
    }

    /// `scheme://host[:port]`, as used for `{origin}` in `--item-url`.
    pub fn origin(&self) -> String {
        format!("{}://{}", self.scheme.name(), self.host_header())
    }

    /// Scheme, host and port: what the pool keys sockets by and what `-u` credentials
    /// are scoped to.
    pub fn authority_key(&self) -> Authority {
        Authority {
            scheme: self.scheme,
            host: self.host.clone(),
            port: self.port,
        }
    }

    /// Resolves a redirect `Location` against this URL (RFC 3986 section 5.2): an
    /// absolute `http://` or `https://` URL, a scheme-relative `//host/x` (this URL's
    /// scheme), an absolute path `/x`, a
    /// query `?q`, or a relative path `x` merged with this URL's directory, with dot
    /// segments removed. The fragment is dropped.
    ///
    /// One leniency over [`Url::parse`]: a space in a path or query is percent-encoded
    /// (servers do send them), where every other control character is still an error.
    pub fn join(&self, location: &str) -> Result<Url, UrlError> {
        if let Some((position, character)) = location
            .char_indices()
            .find(|&(_, c)| c != ' ' && forbidden(c))
        {
            return Err(UrlError::ForbiddenCharacter {
                character,
                position,
                url: location.to_string(),
            });
        }
        let location = location.replace(' ', "%20");
        let location = location.as_str();
        if split_scheme(location).is_some() {
            return Url::parse(location);
        }
        if location.starts_with("//") {
            return Url::parse(&format!("{}:{location}", self.scheme.name()));
        }
        let (ref_path, ref_query) = split_path_query(location);
        let (base_path, base_query) = split_path_query(&self.target);
        let (path, query) = if ref_path.is_empty() {
            (base_path.to_string(), ref_query.or(base_query))
        } else if ref_path.starts_with('/') {
            (ref_path.to_string(), ref_query)
        } else {
            let directory = &base_path[..base_path.rfind('/').map_or(0, |i| i + 1)];
            (format!("{directory}{ref_path}"), ref_query)
        };
        Ok(Url {
            scheme: self.scheme,
            host: self.host.clone(),
            port: self.port,
            target: build_target(&path, query),
        })
    }
}

impl fmt::Display for Url {
    /// The full URL: `scheme://host[:port]/target`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.origin(), self.target)
    }
}

/// Percent-encodes an arbitrary string (a pager id) for use as one path segment:
/// every byte outside RFC 3986's unreserved set (`A-Z a-z 0-9 - . _ ~`) becomes `%XX`,
/// and a segment that is exactly `.` or `..` has its dots encoded too. So `/`, `..`,
/// `?`, `#`, `%`, CR, LF, NUL and spaces never reach the wire raw, and the segment
/// cannot climb out of its directory.
pub fn percent_encode_segment(s: &str) -> String {
    if s == "." || s == ".." {
        return "%2E".repeat(s.len());
    }
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if is_unreserved(b) {
            out.push(b as char);
        } else {
            push_encoded(&mut out, b);
        }
    }
    out
}

/// Characters no URL may contain: all controls (C0, DEL, C1) and the space.
fn forbidden(c: char) -> bool {
    c.is_control() || c == ' '
}

/// The first [`forbidden`] character of `s` and its byte offset.
fn find_forbidden(s: &str) -> Option<(usize, char)> {
    // Nearly every URL is printable ASCII, which holds no forbidden character: one pass
    // over the bytes settles it without decoding characters.
    if s.bytes().all(|b| b.is_ascii_graphic()) {
        return None;
    }
    s.char_indices().find(|&(_, c)| forbidden(c))
}

/// Splits `scheme:rest` when `s` starts with a syntactically valid scheme
/// (`ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )` followed by `:`).
fn split_scheme(s: &str) -> Option<(&str, &str)> {
    // The scheme runs to the first byte that cannot be in one; `:` is such a byte, so
    // when that byte is `:` it is the first `:` of `s`.
    let end = s
        .bytes()
        .position(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.')))?;
    let bytes = s.as_bytes();
    let valid = end > 0 && bytes[0].is_ascii_alphabetic() && bytes[end] == b':';
    valid.then(|| (&s[..end], &s[end + 1..]))
}

/// Splits the authority (`host[:port]`) into a checked host and a port
/// (`default_port` when none is written).
fn parse_authority<'a>(
    authority: &'a str,
    url: &str,
    default_port: u16,
) -> Result<(CheckedHost<'a>, u16), UrlError> {
    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        let Some(close) = bracketed.find(']') else {
            return Err(invalid_host(authority, "missing \"]\"", url));
        };
        let literal = &bracketed[..close];
        let Ok(address) = literal.parse::<Ipv6Addr>() else {
            return Err(invalid_host(literal, "not an ipv6 address", url));
        };
        let after = &bracketed[close + 1..];
        let port = match after.strip_prefix(':') {
            Some(port) => Some(port),
            None if after.is_empty() => None,
            None => return Err(invalid_host(authority, "text after \"]\"", url)),
        };
        (CheckedHost::V6(address), port)
    } else {
        let (host, port) = match authority.bytes().position(|b| b == b':') {
            Some(colon) => (&authority[..colon], Some(&authority[colon + 1..])),
            None => (authority, None),
        };
        if host.is_empty() {
            return Err(UrlError::EmptyHost {
                url: url.to_string(),
            });
        }
        if !host.is_ascii() {
            // The one path that allocates: only non-ASCII hosts take it.
            return match to_ascii_host(host) {
                Ok(_) => parse_port_of(CheckedHost::International(host), port, url, default_port),
                Err(reason) => Err(invalid_host(host, reason, url)),
            };
        }
        if !host.bytes().all(|b| is_unreserved(b) && b != b'~') {
            let reason = "only letters, digits, \"-\", \".\" and \"_\" are allowed";
            return Err(invalid_host(host, reason, url));
        }
        (CheckedHost::Name(host), port)
    };
    parse_port_of(host, port, url, default_port)
}

/// The host with its port: `default_port` when none is written.
fn parse_port_of<'a>(
    host: CheckedHost<'a>,
    port: Option<&str>,
    url: &str,
    default_port: u16,
) -> Result<(CheckedHost<'a>, u16), UrlError> {
    let port = match port {
        None => default_port,
        Some(text) => parse_port(text, url)?,
    };
    Ok((host, port))
}

fn invalid_host(host: &str, reason: &'static str, url: &str) -> UrlError {
    UrlError::InvalidHost {
        host: host.to_string(),
        reason,
        url: url.to_string(),
    }
}

/// A port is 1 to 5 digits naming 1..=65535; empty and 0 are refused.
fn parse_port(text: &str, url: &str) -> Result<u16, UrlError> {
    let reason = if text.is_empty() {
        "empty port"
    } else if !text.bytes().all(|b| b.is_ascii_digit()) {
        "not a number"
    } else {
        match text.parse::<u16>() {
            Ok(0) | Err(_) => "out of range 1-65535",
            Ok(port) => return Ok(port),
        }
    };
    Err(UrlError::InvalidPort {
        port: text.to_string(),
        reason,
        url: url.to_string(),
    })
}

/// Drops the fragment and splits `path?query`; the query keeps no `?`.
fn split_path_query(s: &str) -> (&str, Option<&str>) {
    let s = match s.bytes().position(|b| b == b'#') {
        Some(hash) => &s[..hash],
        None => s,
    };
    match s.bytes().position(|b| b == b'?') {
        Some(question) => (&s[..question], Some(&s[question + 1..])),
        None => (s, None),
    }
}

/// The origin-form target: dot segments removed, `/` when empty, and every byte that
/// may not appear raw percent-encoded.
fn build_target(path: &str, query: Option<&str>) -> String {
    let mut target = String::with_capacity(path.len() + query.map_or(0, |q| q.len() + 1) + 1);
    // Most paths have no dot segment: no second copy for them.
    let cleaned;
    let path = if has_dot_segment(path) {
        cleaned = remove_dot_segments(path);
        cleaned.as_str()
    } else {
        path
    };
    if !path.starts_with('/') {
        target.push('/');
    }
    encode_into(&mut target, path, false);
    if let Some(query) = query {
        target.push('?');
        encode_into(&mut target, query, true);
    }
    target
}

/// True if `path` has a `.` or `..` segment for [`remove_dot_segments`] to remove.
fn has_dot_segment(path: &str) -> bool {
    path.as_bytes()
        .split(|&b| b == b'/')
        .any(|segment| segment == b"." || segment == b"..")
}

/// RFC 3986 section 5.2.4, on a path that may start with `/`.
fn remove_dot_segments(path: &str) -> String {
    let mut input = path;
    let mut output = String::with_capacity(path.len());
    while !input.is_empty() {
        if let Some(rest) = input.strip_prefix("../") {
            input = rest;
        } else if let Some(rest) = input.strip_prefix("./") {
            input = rest;
        } else if input.starts_with("/./") {
            input = &input[2..];
        } else if input == "/." {
            input = "/";
        } else if input.starts_with("/../") {
            input = &input[3..];
            pop_segment(&mut output);
        } else if input == "/.." {
            input = "/";
            pop_segment(&mut output);
        } else if input == "." || input == ".." {
            input = "";
        } else {
            // Move the first segment, with its leading "/", to the output.
            let start = usize::from(input.starts_with('/'));
            let end = input[start..].find('/').map_or(input.len(), |i| i + start);
            output.push_str(&input[..end]);
            input = &input[end..];
        }
    }
    output
}

/// Removes the last segment and its leading `/` from `output`.
fn pop_segment(output: &mut String) {
    let cut = output.rfind('/').unwrap_or(0);
    output.truncate(cut);
}

/// Appends `s`, percent-encoding every byte outside RFC 3986 `pchar` and `/` (and `?`
/// in a query). A `%` already followed by two hex digits is kept as an escape.
fn encode_into(out: &mut String, s: &str, query: bool) {
    let bytes = s.as_bytes();
    // Bytes that may stay raw are copied a run at a time. They are all ASCII, so a run
    // starts and ends on character boundaries.
    let mut run_start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let allowed = match b {
            b'%' => {
                bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                    && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
            }
            b'/' | b':' | b'@' => true,
            b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'=' => true,
            b'?' => query,
            b => is_unreserved(b),
        };
        if !allowed {
            if run_start < i {
                out.push_str(&s[run_start..i]);
            }
            push_encoded(out, b);
            run_start = i + 1;
        }
    }
    if run_start < bytes.len() {
        out.push_str(&s[run_start..]);
    }
}

/// Appends `n` in decimal.
fn push_decimal(out: &mut String, n: u16) {
    let mut digits = [0u8; 5];
    let mut start = digits.len();
    let mut rest = n;
    loop {
        start -= 1;
        digits[start] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    // ASCII digits: always UTF-8.
    out.push_str(std::str::from_utf8(&digits[start..]).unwrap_or_default());
}

/// RFC 3986 unreserved: `ALPHA / DIGIT / "-" / "." / "_" / "~"`.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

fn push_encoded(out: &mut String, b: u8) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.push('%');
    out.push(HEX[usize::from(b >> 4)] as char);
    out.push(HEX[usize::from(b & 15)] as char);
}

#[cfg(test)]
mod tests;
