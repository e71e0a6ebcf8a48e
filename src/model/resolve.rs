//! How host names become addresses: the resolver a run uses, `--resolve` pins and
//! `-4`/`-6`, as plain data and one trait.
//!
//! The engines do the looking up (the reactor on its resolver threads, the blocking
//! workers on their own thread); what they look names up with is chosen here, once,
//! by the command line or the library's [`Downloader`](crate::Downloader). The default,
//! [`SystemResolver`], is the C library's `getaddrinfo` (through std's
//! `ToSocketAddrs`), so `/etc/hosts`, `/etc/resolv.conf` and `nsswitch.conf` are
//! respected. A program (or a test) may supply its own [`Resolve`].
//!
//! Layer: `model`; may use `protocol` (see `src/model/mod.rs`).

use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::Arc;

/// Looks a host name up. Called on a thread of its own (never on the reactor's), once
/// per host and port for a run of the reactor; it may block as long as it needs.
///
/// An error of kind [`io::ErrorKind::NotFound`] says the name does not exist (the jobs
/// fail for good); any other error is a temporary failure (the jobs may try again).
pub trait Resolve: Send + Sync {
    /// Every address of `host` (a name, never an IP literal), with `port` set.
    fn resolve(&self, host: &str, port: u16) -> io::Result<Vec<SocketAddr>>;
}

/// The system's resolver: `getaddrinfo`, with its configuration.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemResolver;

impl Resolve for SystemResolver {
    fn resolve(&self, host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
        match (host, port).to_socket_addrs() {
            Ok(addrs) => Ok(addrs.collect()),
            Err(e) if names_no_host(&e) => Err(io::Error::new(io::ErrorKind::NotFound, e)),
            Err(e) => Err(e),
        }
    }
}

/// True when `getaddrinfo` said the name does not exist (`EAI_NONAME`): std reports
/// every `EAI_*` code with one error kind, and its message is the C library's text.
fn names_no_host(error: &io::Error) -> bool {
    // SAFETY: gai_strerror returns a pointer to a static, NUL-terminated string.
    let text = unsafe { std::ffi::CStr::from_ptr(libc::gai_strerror(libc::EAI_NONAME)) };
    text.to_str()
        .is_ok_and(|text| error.to_string().ends_with(text))
}

/// The resolver of a run: the system's unless a program gave its own.
#[derive(Clone)]
pub struct Resolver(pub Arc<dyn Resolve>);

impl Default for Resolver {
    fn default() -> Self {
        Resolver(Arc::new(SystemResolver))
    }
}

impl fmt::Debug for Resolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Resolver")
    }
}

/// `--resolve HOST:PORT:ADDR[,ADDR...]`: these addresses for this host and port, no
/// lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    /// The host name, lowercase (as a URL keeps it).
    pub host: String,
    /// The port.
    pub port: u16,
    /// The addresses, in the order given (tried in that order).
    pub addrs: Vec<IpAddr>,
}

/// `-4` / `-6`: which address family a run may connect to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Family {
    /// Any (the default).
    #[default]
    Any,
    /// `-4`: IPv4 only.
    V4,
    /// `-6`: IPv6 only.
    V6,
}

impl Family {
    /// Does this family allow `addr`?
    pub fn allows(self, addr: &SocketAddr) -> bool {
        match self {
            Family::Any => true,
            Family::V4 => addr.is_ipv4(),
            Family::V6 => addr.is_ipv6(),
        }
    }

    /// The words for "no address of this family".
    fn none_left(self) -> &'static str {
        match self {
            Family::Any => "no address found",
            Family::V4 => "no IPv4 address (-4)",
            Family::V6 => "no IPv6 address (-6)",
        }
    }
}

/// How a run turns names into addresses: the resolver, the pins and the family.
#[derive(Debug, Clone, Default)]
pub struct Naming {
    /// Who looks names up.
    pub resolver: Resolver,
    /// `--resolve`, in the order given (the first match wins, as in curl).
    pub pins: Vec<Pin>,
    /// `-4` / `-6`.
    pub family: Family,
}

impl Naming {
    /// The addresses of `host:port` known without a lookup: an IP literal, or a
    /// `--resolve` pin. `None`: the name must be looked up.
    pub fn known(&self, host: &str, port: u16) -> Option<Vec<SocketAddr>> {
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Some(vec![SocketAddr::new(ip, port)]);
        }
        let pin = self
            .pins
            .iter()
            .find(|p| p.port == port && p.host.eq_ignore_ascii_case(host))?;
        Some(
            pin.addrs
                .iter()
                .map(|&ip| SocketAddr::new(ip, port))
                .collect(),
        )
    }

    /// Looks `host:port` up with the resolver, on the caller's thread (it may block).
    pub fn look_up(&self, host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
        self.resolver.0.resolve(host, port)
    }

    /// Keeps the addresses of the family asked for, in order; an error naming the host
    /// (for `JobError::Resolve`) when none is left or the lookup failed.
    pub fn finish(
        &self,
        host: &str,
        found: io::Result<Vec<SocketAddr>>,
    ) -> io::Result<Vec<SocketAddr>> {
        let mut addrs = found.map_err(|e| io::Error::new(e.kind(), format!("{host}: {e}")))?;
        addrs.retain(|a| self.family.allows(a));
        if addrs.is_empty() {
            let why = self.family.none_left();
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{host}: {why}"),
            ));
        }
        Ok(addrs)
    }
}
