//! HTTP proxies, sans-IO: the proxy's URL, which URLs go through it, the `CONNECT`
//! request, and the proxy's answer to it.
//!
//! Read with: RFC 9110 §9.3.6 (`CONNECT`), RFC 9112 §3.2.2 (absolute-form targets),
//! RFC 9110 §11.7.2 (`Proxy-Authorization`), and curl's documentation of `-x`,
//! `--noproxy` and the `*_proxy` variables, whose rules these are.
//!
//! ```text
//!   http://host/x  ── Route::Forward ──►  GET http://host/x HTTP/1.1     (to the proxy,
//!                                         Proxy-Authorization if given    keep-alive)
//!   https://host/x ── Route::Tunnel ───►  CONNECT host:443 HTTP/1.1  ──► 200 ──► TLS with
//!                                         (ConnectReply reads the answer)         host
//!   a --noproxy host ─ Route::Direct ──►  as without a proxy
//! ```
//!
//! Only `http://` proxies are spoken to. Every other proxy scheme (`socks5://`,
//! `socks4://`, `https://`) is [`ProxyUrlError::Scheme`], refused at start rather than
//! ignored: a user who set one expects their traffic to take it. A proxy's credentials
//! (`http://user:pass@proxy:3128`) become a [`Proxy::authorization`] and appear in no
//! message: [`Proxy`]'s `Display` and `Debug` show `host:port` only.
//!
//! Layer: `protocol`; may use nothing else of the crate (see `src/protocol/mod.rs`).

use std::fmt;
use std::net::IpAddr;

use super::http::{basic_authorization, HttpError, Limits, ResponseHead};
use super::url::{Scheme, Url};

/// The port of a proxy URL that names none (curl's default).
pub const DEFAULT_PROXY_PORT: u16 = 1080;

/// An `http://` proxy: where to connect, and the `Proxy-Authorization` it gets.
#[derive(Clone, PartialEq, Eq)]
pub struct Proxy {
    /// The host as a URL keeps it (lowercase, IDNA-mapped, IPv6 without brackets).
    host: String,
    port: u16,
    /// `Basic …` from the URL's `user:pass@`, if any. Never printed.
    authorization: Option<String>,
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Proxy({self})")
    }
}

impl fmt::Display for Proxy {
    /// `host:port` (an IPv6 host in brackets): no scheme, no credentials.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_authority(f, &self.host, self.port)
    }
}

/// Why a proxy URL was refused. `Display` shows the URL without its credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProxyUrlError {
    /// A scheme miodl does not speak to a proxy (`socks5`, `socks4`, `https`, …).
    Scheme {
        /// The scheme, lowercase.
        scheme: String,
        /// The URL, credentials removed.
        url: String,
    },
    /// Not a host and port miodl can connect to.
    Invalid {
        /// The URL, credentials removed.
        url: String,
        /// What is wrong with it.
        why: String,
    },
}

impl fmt::Display for ProxyUrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProxyUrlError::Scheme { scheme, url } => write!(
                f,
                "'{url}': {scheme}:// proxies are not supported (only http:// proxies)"
            ),
            ProxyUrlError::Invalid { url, why } => write!(f, "'{url}': {why}"),
        }
    }
}

impl std::error::Error for ProxyUrlError {}

impl Proxy {
    /// Parses `[http://][user[:password]@]host[:port][/]`, as curl reads `-x`: no scheme
    /// means `http`, no port means [`DEFAULT_PROXY_PORT`], and the user and password are
    /// percent-decoded.
    pub fn parse(text: &str) -> Result<Proxy, ProxyUrlError> {
        let (scheme, rest) = match text.split_once("://") {
            Some((scheme, rest)) => (scheme.to_ascii_lowercase(), rest),
            None => ("http".to_string(), text),
        };
        let (userinfo, hostport) = match rest.rsplit_once('@') {
            Some((userinfo, hostport)) => (Some(userinfo), hostport),
            None => (None, rest),
        };
        let shown = if userinfo.is_some() {
            format!("{scheme}://***@{hostport}")
        } else {
            format!("{scheme}://{hostport}")
        };
        if scheme != "http" {
            return Err(ProxyUrlError::Scheme { scheme, url: shown });
        }
        let invalid = |why: &str| ProxyUrlError::Invalid {
            url: shown.clone(),
            why: why.to_string(),
        };
        let hostport = hostport.strip_suffix('/').unwrap_or(hostport);
        if hostport.is_empty() || hostport.contains(['/', '?', '#']) {
            return Err(invalid("expected http://[user:pass@]host[:port]"));
        }
        let explicit_port = match hostport.rfind(':') {
            Some(colon) => !hostport[colon..].contains(']'),
            None => false,
        };
        let url =
            Url::parse(&format!("http://{hostport}/")).map_err(|e| invalid(&e.to_string()))?;
        let port = if explicit_port {
            url.port()
        } else {
            DEFAULT_PROXY_PORT
        };
        let authorization = userinfo.map(|userinfo| {
            let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
            basic_authorization(&percent_decode(user), &percent_decode(password))
        });
        Ok(Proxy {
            host: url.host().to_string(),
            port,
            authorization,
        })
    }

    /// The host to connect to (and to look up).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port to connect to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The `Proxy-Authorization` value (`Basic …`), if the URL had credentials.
    pub fn authorization(&self) -> Option<&str> {
        self.authorization.as_deref()
    }
}

/// `--noproxy` / `no_proxy`: the hosts that never go through a proxy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum NoProxy {
    /// Every host goes through the proxy (the default).
    #[default]
    Nobody,
    /// `*`: no host does.
    Everybody,
    /// These names, domain suffixes and IP addresses (lowercase, no leading dot).
    Hosts(Vec<String>),
}

impl NoProxy {
    /// Parses curl's list: names, domain suffixes (`example.com` also covers
    /// `a.example.com`; a leading `.` is the same), IP addresses (IPv6 with or without
    /// brackets), separated by commas and spaces; `*` alone means every host.
    pub fn parse(list: &str) -> NoProxy {
        let entries: Vec<String> = list
            .split([',', ' ', '\t'])
            .map(|entry| entry.trim().trim_start_matches('.'))
            .map(|entry| {
                entry
                    .strip_prefix('[')
                    .and_then(|e| e.strip_suffix(']'))
                    .unwrap_or(entry)
            })
            .filter(|entry| !entry.is_empty())
            .map(|entry| entry.to_ascii_lowercase())
            .collect();
        if entries.iter().any(|e| e == "*") {
            return NoProxy::Everybody;
        }
        if entries.is_empty() {
            return NoProxy::Nobody;
        }
        NoProxy::Hosts(entries)
    }

    /// Does `host` (as a [`Url`] keeps it) bypass the proxy?
    pub fn covers(&self, host: &str) -> bool {
        match self {
            NoProxy::Nobody => false,
            NoProxy::Everybody => true,
            NoProxy::Hosts(entries) => entries.iter().any(|entry| covers(entry, host)),
        }
    }
}

/// One `no_proxy` entry against one host: the same IP address, the same name, or a
/// name in the entry's domain.
fn covers(entry: &str, host: &str) -> bool {
    if let (Ok(a), Ok(b)) = (entry.parse::<IpAddr>(), host.parse::<IpAddr>()) {
        return a == b;
    }
    match host.strip_suffix(entry) {
        Some("") => true,
        Some(before) => before.ends_with('.'),
        None => false,
    }
}

/// The proxies of a run, one per scheme, and the hosts that bypass them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Proxies {
    /// For `http://` URLs (`-x`, `http_proxy`, `all_proxy`).
    pub http: Option<Proxy>,
    /// For `https://` URLs (`-x`, `https_proxy`, `all_proxy`).
    pub https: Option<Proxy>,
    /// `--noproxy`, `no_proxy`.
    pub no_proxy: NoProxy,
}

/// How a URL's request reaches its server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route<'a> {
    /// Straight to the server, as without a proxy.
    Direct,
    /// An `http://` URL: the request goes to the proxy, in absolute form.
    Forward(&'a Proxy),
    /// An `https://` URL: a `CONNECT` tunnel through the proxy, TLS inside it.
    Tunnel(&'a Proxy),
}

impl Proxies {
    /// How `url` goes: [`Route::Direct`] at once when no proxy is set (the usual case:
    /// one test, nothing else).
    #[inline]
    pub fn route(&self, url: &Url) -> Route<'_> {
        if self.http.is_none() && self.https.is_none() {
            return Route::Direct;
        }
        self.route_slow(url)
    }

    fn route_slow(&self, url: &Url) -> Route<'_> {
        let proxy = match url.scheme() {
            Scheme::Http => self.http.as_ref(),
            Scheme::Https => self.https.as_ref(),
        };
        match proxy {
            Some(_) if self.no_proxy.covers(url.host()) => Route::Direct,
            Some(proxy) if url.scheme() == Scheme::Http => Route::Forward(proxy),
            Some(proxy) => Route::Tunnel(proxy),
            None => Route::Direct,
        }
    }

    /// Is any proxy set?
    pub fn is_set(&self) -> bool {
        self.http.is_some() || self.https.is_some()
    }
}

/// Appends `CONNECT host:port HTTP/1.1` with its `Host` and, if given,
/// `Proxy-Authorization` (the host as a [`Url`] keeps it: ASCII, IPv6 in brackets).
pub fn encode_connect(host: &str, port: u16, authorization: Option<&str>, out: &mut Vec<u8>) {
    let mut authority = String::with_capacity(host.len() + 8);
    let _ = write_authority(&mut authority, host, port);
    for part in [
        "CONNECT ",
        &authority,
        " HTTP/1.1\r\nHost: ",
        &authority,
        "\r\n",
    ] {
        out.extend_from_slice(part.as_bytes());
    }
    if let Some(value) = authorization {
        out.extend_from_slice(b"Proxy-Authorization: ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// `host:port`, an IPv6 host in brackets.
pub fn write_authority(out: &mut impl fmt::Write, host: &str, port: u16) -> fmt::Result {
    if host.contains(':') {
        write!(out, "[{host}]:{port}")
    } else {
        write!(out, "{host}:{port}")
    }
}

/// What the proxy answered to a `CONNECT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// A 2xx: the tunnel is open; `used` bytes of the last feed were its head.
    Open {
        /// Bytes of the last slice fed that belonged to the head.
        used: usize,
    },
    /// Anything else: the proxy refused, with this status and reason phrase.
    Refused {
        /// The status code.
        status: u16,
        /// The reason phrase (shortened, control characters dropped).
        reason: String,
    },
}

/// Reads the proxy's answer head to a `CONNECT`, fed in pieces of any size (sans-IO).
/// Interim 1xx answers are skipped. The head is bounded by [`Limits::max_head_bytes`].
#[derive(Debug, Default)]
pub struct ConnectReply {
    buf: Vec<u8>,
}

impl ConnectReply {
    /// Feeds the next bytes read from the proxy: `Ok(None)` while the head is not
    /// whole, else the [`Reply`].
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Option<Reply>, HttpError> {
        self.buf.extend_from_slice(bytes);
        let limits = Limits::default();
        loop {
            let Some((head, len)) = ResponseHead::parse(&self.buf, &limits)? else {
                if self.buf.len() > limits.max_head_bytes {
                    return Err(HttpError::HeadTooLarge {
                        limit: limits.max_head_bytes,
                    });
                }
                return Ok(None);
            };
            if (100..200).contains(&head.status) {
                self.buf.drain(..len);
                continue;
            }
            if (200..300).contains(&head.status) {
                // Bytes after the head came in this feed (an earlier one ended short).
                let used = bytes.len() - (self.buf.len() - len).min(bytes.len());
                return Ok(Some(Reply::Open { used }));
            }
            let reason: String = head
                .reason()
                .chars()
                .filter(|c| !c.is_control())
                .take(80)
                .collect();
            return Ok(Some(Reply::Refused {
                status: head.status,
                reason,
            }));
        }
    }
}

/// Percent-decodes a proxy URL's user or password (`%40` is `@`); a `%` not followed by
/// two hex digits stays as it is.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests;
