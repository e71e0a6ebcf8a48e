//! Why a string is not a URL miodl can fetch.
//!
//! Kept apart from the parser so the list of failure causes reads on one screen. Every
//! variant keeps the URL it is about; user info is redacted before it gets here.
//!
//! Layer: `protocol`; may use nothing else of the crate (see `src/protocol/mod.rs`).

use std::fmt;

/// Why a string is not a URL miodl can fetch. Each variant keeps the offending URL
/// (user info redacted); `Display` is one lowercase line with control characters
/// escaped, fit for a report. `#[non_exhaustive]`: a later version may add causes, so a
/// `match` outside miodl needs a `_` arm.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UrlError {
    /// There is no `scheme:` at the start (`example.com/x`, `localhost:8080/`).
    MissingScheme {
        /// The URL as given.
        url: String,
    },
    /// The scheme is not `http` or `https`, e.g. `ftp` (lowercased here).
    UnsupportedScheme {
        /// The scheme, lowercased.
        scheme: String,
        /// The URL as given.
        url: String,
    },
    /// An `https://` URL, but miodl was built without the `tls` feature.
    NeedsTls {
        /// The URL as given.
        url: String,
    },
    /// A character that must never reach the wire: a control character or a space.
    ForbiddenCharacter {
        /// The character.
        character: char,
        /// Its byte offset in the URL.
        position: usize,
        /// The URL as given.
        url: String,
    },
    /// `http:` is not followed by `//` and an authority.
    MissingSlashes {
        /// The URL as given.
        url: String,
    },
    /// The authority has no host (`http:///x`, `http://:80/`).
    EmptyHost {
        /// The URL as given.
        url: String,
    },
    /// The host is not a DNS name, an IPv4 address or a bracketed IPv6 address.
    InvalidHost {
        /// The host part as written.
        host: String,
        /// What is wrong with it.
        reason: &'static str,
        /// The URL as given.
        url: String,
    },
    /// The port is empty, not a number, 0, or above 65535.
    InvalidPort {
        /// The port part as written.
        port: String,
        /// What is wrong with it.
        reason: &'static str,
        /// The URL as given.
        url: String,
    },
    /// The URL carries `user:password@`; use `-u USER:PASS` instead.
    UserInfo {
        /// The URL with the user info replaced by `***`.
        url: String,
    },
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UrlError::MissingScheme { url } => write!(
                f,
                "missing scheme in url \"{}\": write it as http://host/path",
                url.escape_debug()
            ),
            UrlError::UnsupportedScheme { scheme, url } => write!(
                f,
                "unsupported scheme \"{}\" in url \"{}\": only http:// and https:// are supported",
                scheme.escape_debug(),
                url.escape_debug()
            ),
            UrlError::NeedsTls { url } => write!(
                f,
                "https:// needs the tls feature (this miodl was built without it): \"{}\"",
                url.escape_debug()
            ),
            UrlError::ForbiddenCharacter {
                character,
                position,
                url,
            } => write!(
                f,
                "forbidden {} at byte {} of url \"{}\"",
                character_name(*character),
                position,
                url.escape_debug()
            ),
            UrlError::MissingSlashes { url } => write!(
                f,
                "expected \"//\" after \"http:\" in url \"{}\"",
                url.escape_debug()
            ),
            UrlError::EmptyHost { url } => {
                write!(f, "empty host in url \"{}\"", url.escape_debug())
            }
            UrlError::InvalidHost { host, reason, url } => write!(
                f,
                "invalid host \"{}\" in url \"{}\": {}",
                host.escape_debug(),
                url.escape_debug(),
                reason
            ),
            UrlError::InvalidPort { port, reason, url } => write!(
                f,
                "invalid port \"{}\" in url \"{}\": {}",
                port.escape_debug(),
                url.escape_debug(),
                reason
            ),
            UrlError::UserInfo { url } => write!(
                f,
                "user name or password in url \"{}\" is not supported: use -u USER:PASS",
                url.escape_debug()
            ),
        }
    }
}

impl std::error::Error for UrlError {}

/// A human name for a character [`UrlError::ForbiddenCharacter`] reports.
fn character_name(c: char) -> String {
    match c {
        '\r' => "carriage return".to_string(),
        '\n' => "line feed".to_string(),
        '\0' => "nul byte".to_string(),
        '\t' => "tab".to_string(),
        ' ' => "space".to_string(),
        c => format!("control character U+{:04X}", c as u32),
    }
}
