//! Why a job failed, as a type.
//!
//! Every failure a job can meet, from a refused connect to a full disk, is one variant
//! here. The variant decides two things the policy needs: whether another try may help
//! ([`JobError::is_retryable`]) and whether the run must end with exit status 3
//! ([`JobError::is_output_error`]). `Display` is the lowercase phrase a user reads after
//! the URL: `error: http://host/file: connection reset by peer while reading the body`.
//!
//! Layer: `model`; may use `protocol` (see `src/model/mod.rs`).

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

use crate::model::job::Phase;
use crate::model::options::SpeedLimit;
use crate::protocol::http::HttpError;
use crate::protocol::pager::PageError;
use crate::protocol::proxy::Proxy;
use crate::protocol::url::UrlError;

/// Why one attempt of a job failed.
///
/// `#[non_exhaustive]`: a later version may add causes, so a `match` outside miodl
/// needs a `_` arm (or asks [`JobError::is_retryable`] and [`JobError::is_output_error`]).
#[derive(Debug)]
#[non_exhaustive]
pub enum JobError {
    /// The host name did not resolve to an address (the message names the host). A
    /// temporary failure may be tried again; a name that does not exist
    /// ([`io::ErrorKind::NotFound`]) may not.
    Resolve(io::Error),
    /// The TCP connect failed (refused, unreachable, reset).
    Connect(io::Error),
    /// The TCP connect did not finish within `--connect-timeout`.
    ConnectTimeout(Duration),
    /// A read or write on the socket failed (reset, broken pipe) in the given phase.
    Io(io::Error, Phase),
    /// No byte arrived within `--timeout` in the given phase.
    IdleTimeout(Duration, Phase),
    /// The try took longer than `--max-time` (the duration); it was in the given phase.
    MaxTime(Duration, Phase),
    /// Fewer bytes than `--speed-limit` a second arrived, on average over a `--speed-time`
    /// window, in the given phase.
    TooSlow(SpeedLimit, Phase),
    /// The response broke HTTP/1.1 (garbage, truncation, bad framing).
    Http(HttpError),
    /// The server answered with a status that is not a success.
    Status(u16),
    /// More redirects than `--max-redirects`.
    TooManyRedirects(u32),
    /// A redirect status without a usable `Location`.
    BadRedirect(String),
    /// A redirect to a URL miodl cannot fetch.
    RedirectTarget(UrlError),
    /// The body is larger than `--max-filesize` (announced or counted).
    TooLarge(u64),
    /// A page of the list API is larger than miodl keeps in memory.
    PageTooLarge(u64),
    /// Writing the output failed (disk full, permission): the run ends with exit status 3.
    Output {
        /// What could not be written: the file being named, or the output directory a
        /// body was being written into.
        path: PathBuf,
        /// Why.
        error: io::Error,
    },
    /// A page of the list API could not be read.
    Page(PageError),
    /// The run was interrupted (SIGINT/SIGTERM) before the job finished.
    Interrupted,
    /// The HTTP proxy refused the request or the tunnel, could not be reached, or did
    /// not speak HTTP (the message names the proxy, never its credentials).
    Proxy(ProxyError),
    /// TLS failed: an untrusted or wrong certificate, a server that does not speak TLS,
    /// a stream cut without `close_notify`.
    #[cfg(feature = "tls")]
    Tls(crate::protocol::tls::TlsError),
}

impl JobError {
    /// True when another try may succeed: connection trouble, timeouts, truncated
    /// answers, and the statuses 429/500/502/503/504 (docs/reference.md §5).
    pub fn is_retryable(&self) -> bool {
        match self {
            JobError::Resolve(e) => e.kind() != io::ErrorKind::NotFound,
            JobError::Connect(_) | JobError::ConnectTimeout(_) => true,
            JobError::Io(..) | JobError::IdleTimeout(..) => true,
            JobError::MaxTime(..) | JobError::TooSlow(..) => true,
            JobError::Http(e) => e.is_retryable(),
            JobError::Status(s) => matches!(s, 429 | 500 | 502 | 503 | 504),
            JobError::Proxy(e) => e.is_retryable(),
            JobError::TooManyRedirects(_)
            | JobError::BadRedirect(_)
            | JobError::RedirectTarget(_)
            | JobError::TooLarge(_)
            | JobError::PageTooLarge(_)
            | JobError::Output { .. }
            | JobError::Page(_)
            | JobError::Interrupted => false,
            #[cfg(feature = "tls")]
            JobError::Tls(e) => e.is_retryable(),
        }
    }

    /// A socket error in `phase`; one that TLS caused becomes [`JobError::Tls`], so the
    /// user reads the TLS cause ("certificate expired"), not an I/O error kind.
    pub fn io(error: io::Error, phase: Phase) -> JobError {
        #[cfg(feature = "tls")]
        if let Some(tls) = crate::protocol::tls::TlsError::from_io(&error) {
            return JobError::Tls(tls);
        }
        JobError::Io(error, phase)
    }

    /// True when the failure is ours to write, not the server's to send (exit status 3).
    pub fn is_output_error(&self) -> bool {
        matches!(self, JobError::Output { .. })
    }

    /// True when a descriptor could not be made (a socket, the staged file, a lookup's
    /// file): the process or the system is out of open files, [`is_out_of_descriptors`].
    /// Not the server's fault nor the disk's: the scheduler waits for a socket to close
    /// and sends the job again (`Scheduler::on_error`).
    pub fn is_out_of_descriptors(&self) -> bool {
        match self {
            JobError::Resolve(e) | JobError::Connect(e) | JobError::Io(e, _) => {
                is_out_of_descriptors(e)
            }
            JobError::Output { error, .. } => is_out_of_descriptors(error),
            _ => false,
        }
    }
}

impl JobError {
    /// This error met on the way to `proxy`: a connect that failed or timed out is the
    /// proxy's ([`ProxyCause::Connect`]), so the message names it; others stay as
    /// they are.
    pub fn via_proxy(self, proxy: &Proxy) -> JobError {
        let cause = match self {
            JobError::Connect(e) => ProxyCause::Connect(e),
            JobError::ConnectTimeout(d) => ProxyCause::Connect(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("connect timed out after {:.1} s", d.as_secs_f64()),
            )),
            other => return other,
        };
        JobError::Proxy(ProxyError {
            proxy: proxy.to_string(),
            cause,
        })
    }
}

/// What went wrong with an HTTP proxy ([`JobError::Proxy`]).
#[derive(Debug)]
pub struct ProxyError {
    /// The proxy, `host:port` (no credentials).
    pub proxy: String,
    /// What happened.
    pub cause: ProxyCause,
}

/// Why a proxy did not carry a request.
#[derive(Debug)]
pub enum ProxyCause {
    /// It answered `asked` (`CONNECT host:port`, or the request through it) with a
    /// status that is not a success (407, 403, 502, …).
    Refused {
        /// What was asked of it, as messages show it.
        asked: String,
        /// Its status code.
        status: u16,
        /// Its reason phrase.
        reason: String,
    },
    /// It could not be connected to.
    Connect(io::Error),
    /// Its answer to `CONNECT` was not HTTP.
    Answer(HttpError),
}

impl ProxyError {
    /// A 502, 503 or 504 may pass, and so may a proxy that was not reachable; a 407 or
    /// a 403 will not.
    pub fn is_retryable(&self) -> bool {
        match &self.cause {
            ProxyCause::Refused { status, .. } => matches!(status, 502..=504),
            ProxyCause::Connect(_) => true,
            ProxyCause::Answer(e) => e.is_retryable(),
        }
    }
}

impl fmt::Display for ProxyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let proxy = &self.proxy;
        match &self.cause {
            ProxyCause::Refused {
                asked,
                status,
                reason,
            } => write!(f, "proxy {proxy} refused {asked}: {status} {reason}"),
            ProxyCause::Connect(e) => write!(f, "proxy {proxy}: connect failed: {e}"),
            ProxyCause::Answer(e) => write!(f, "proxy {proxy}: bad answer to CONNECT: {e}"),
        }
    }
}

/// True for `EMFILE` (this process has its `RLIMIT_NOFILE` open) and `ENFILE` (the
/// whole system is out of open files): no descriptor could be made.
pub fn is_out_of_descriptors(error: &io::Error) -> bool {
    matches!(error.raw_os_error(), Some(libc::EMFILE | libc::ENFILE))
}

fn phase_words(phase: &Phase) -> &'static str {
    match phase {
        Phase::Connecting => "while connecting",
        Phase::Sending => "while sending the request",
        Phase::AwaitingHead => "while waiting for the response",
        Phase::ReceivingBody => "while reading the body",
        _ => "",
    }
}

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JobError::Resolve(e) => write!(f, "could not resolve host: {e}"),
            JobError::Connect(e) => write!(f, "connect failed: {e}"),
            JobError::ConnectTimeout(d) => {
                write!(f, "connect timed out after {:.1} s", d.as_secs_f64())
            }
            JobError::Io(e, phase) => write!(f, "{e} {}", phase_words(phase)),
            JobError::IdleTimeout(d, phase) => write!(
                f,
                "no data for {:.1} s {}",
                d.as_secs_f64(),
                phase_words(phase)
            ),
            // Seconds as given (`2`, `0.5`): f64's shortest form, no trailing zeros.
            JobError::MaxTime(d, phase) => write!(
                f,
                "took longer than --max-time {} s {}",
                d.as_secs_f64(),
                phase_words(phase)
            ),
            JobError::TooSlow(limit, phase) => write!(
                f,
                "slower than --speed-limit {} bytes/s over --speed-time {} s {}",
                limit.bytes_per_second,
                limit.window.as_secs_f64(),
                phase_words(phase)
            ),
            JobError::Http(e) => write!(f, "bad response: {e}"),
            JobError::Status(s) => write!(f, "server answered HTTP {s}"),
            JobError::TooManyRedirects(n) => write!(f, "more than {n} redirects"),
            JobError::BadRedirect(why) => write!(f, "bad redirect: {why}"),
            JobError::RedirectTarget(e) => write!(f, "redirect to {e}"),
            JobError::TooLarge(limit) => write!(f, "body larger than --max-filesize {limit} bytes"),
            JobError::PageTooLarge(limit) => write!(f, "list page larger than {limit} bytes"),
            JobError::Output { path, error } => {
                // Escaped: a newline in a directory's name must not break the line.
                let path = path.display().to_string();
                write!(f, "could not write output {}: {error}", path.escape_debug())
            }
            JobError::Page(e) => write!(f, "bad list page: {e}"),
            JobError::Interrupted => write!(f, "interrupted"),
            JobError::Proxy(e) => write!(f, "{e}"),
            #[cfg(feature = "tls")]
            JobError::Tls(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for JobError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            JobError::Resolve(e) | JobError::Connect(e) => Some(e),
            JobError::Proxy(ProxyError {
                cause: ProxyCause::Connect(e),
                ..
            }) => Some(e),
            JobError::Output { error, .. } => Some(error),
            JobError::Io(e, _) => Some(e),
            JobError::Http(e) => Some(e),
            JobError::RedirectTarget(e) => Some(e),
            JobError::Page(e) => Some(e),
            #[cfg(feature = "tls")]
            JobError::Tls(e) => Some(e),
            _ => None,
        }
    }
}
