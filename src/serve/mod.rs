//! The reference server of docs/reference.md §1, with fault injection (section 5).
//!
//! miodl needs something to download from that behaves exactly like the seed's server,
//! lags on demand, and fails on demand. This module is that server, written the same way
//! as the client: a single-threaded mio loop (the `reactor` module), so it can hold thousands of
//! slow requests on one thread and is never the bottleneck of a client benchmark.
//!
//! ```text
//!   Server::bind(cfg) ──► Server ──run()──► loop until a StopHandle says stop
//!   spawn(cfg) ─────────► ServerHandle ── the same, on a background thread;
//!                                          shutdown() or Drop stops and joins it
//! ```
//!
//! Reading order: `request` (framing a request), `routes` (what each path answers),
//! `response` (framing an answer, honestly or not), `faults` (when not), `conn` (one
//! connection's state machine), `reactor` (the loop), `stats` (what tests check).
//!
//! With `--tls` ([`ServeConfig::tls`]) every accepted socket is wrapped in the server
//! side of rustls (`crate::transport`); `conn` reads and writes plaintext as before.
//!
//! May use: every layer below it (protocol, model, policy, output, transport, engine:
//! the reactor's timer heap), mio, socket2; not the reports or the app.

mod catalog;
mod conn;
mod faults;
pub(crate) use faults::fault_help;
mod gate;
mod pages;
mod reactor;
mod request;
mod response;
mod routes;
mod stats;
#[cfg(test)]
mod tests;

pub use crate::policy::retry::format_http_date as http_date;
pub use catalog::{catalog, fill_pattern, mix64, pattern_byte, splitmix64};
pub use faults::{FaultKind, FaultParseError, FaultPlan, FaultRule, FAULT_HELP};
pub use gate::RequiredAuth;
pub use pages::ServePages;
pub use stats::ServerStats;

use std::io::{self, Write};
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use mio::net::TcpListener;
use mio::{Interest, Poll, Waker};

use reactor::{Context, ServerLoop, LISTENER, WAKER};
use routes::Catalog;

/// How to run the reference server. `miodl serve` parses its options straight into it,
/// so an option is a field here with its default in [`ServeConfig::default`], an arm of
/// the command line's serve parser, and a line of its help.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Address to listen on (`--host`).
    pub host: String,
    /// Port to listen on; 0 picks a free one (`--port`).
    pub port: u16,
    /// How many ids the catalog holds (`--files`).
    pub files: usize,
    /// Delay before every response (`--lag`).
    pub lag: Duration,
    /// Seed for the ids and the fault dice (`--seed`).
    pub seed: u64,
    /// Faults to inject (`--fault`).
    pub faults: FaultPlan,
    /// `--pages STYLE`: how `GET /api/list_files` pages [default: `more`].
    pub pages: ServePages,
    /// `--page-cap N`: the most items a `GET` page holds [default: 5].
    pub page_cap: usize,
    /// `GET /bytes/<n>` answers `Range: bytes=N-` with a `206` (`false`:
    /// `--no-ranges`, every answer is the whole body, as some servers do).
    pub ranges: bool,
    /// `--etag-salt WORD`: goes into every `ETag`, so that a server started with
    /// another word serves "changed" bodies (empty: none).
    pub etag_salt: String,
    /// `--rate-limit N/U`: the server's quota; past it, `429` with `Retry-After`.
    pub rate_limit: Option<crate::model::options::Rate>,
    /// `--require-auth VALUE`: every request must send `Authorization: VALUE`, else `401`.
    pub require_auth: Option<gate::RequiredAuth>,
    /// `--tls`: serve HTTPS with this certificate.
    #[cfg(feature = "tls")]
    pub tls: Option<crate::transport::tls::SelfSigned>,
}

impl Default for ServeConfig {
    /// `127.0.0.1:5000`, 25 files, no lag, seed 0, no faults: docs/reference.md §2's defaults.
    fn default() -> Self {
        ServeConfig {
            host: "127.0.0.1".to_string(),
            port: 5000,
            files: 25,
            lag: Duration::ZERO,
            seed: 0,
            faults: FaultPlan::none(),
            pages: ServePages::More,
            page_cap: pages::DEFAULT_PAGE_CAP,
            ranges: true,
            etag_salt: String::new(),
            rate_limit: None,
            require_auth: None,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}

/// Stops a running [`Server`] from any thread: sets a flag and wakes the loop.
#[derive(Debug, Clone)]
pub struct StopHandle {
    flag: Arc<AtomicBool>,
    waker: Arc<Waker>,
}

impl StopHandle {
    /// Asks the loop to stop; it closes every connection and `run` returns.
    pub fn stop(&self) {
        self.flag.store(true, Ordering::SeqCst);
        let _ = self.waker.wake();
    }
}

/// A bound, not yet running reference server.
pub struct Server {
    poll: Poll,
    listener: TcpListener,
    stop: StopHandle,
    addr: SocketAddr,
    ids: Vec<String>,
    stats: Arc<ServerStats>,
    cfg: ServeConfig,
}

impl Server {
    /// Resolves `host:port`, listens (backlog 4096, `SO_REUSEADDR`) and builds the catalog.
    pub fn bind(cfg: ServeConfig) -> io::Result<Server> {
        let addr = (cfg.host.as_str(), cfg.port)
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("cannot resolve {}", cfg.host),
                )
            })?;
        let socket = socket2::Socket::new(
            socket2::Domain::for_address(addr),
            socket2::Type::STREAM,
            None,
        )?;
        socket.set_reuse_address(true)?;
        socket.set_nonblocking(true)?;
        socket.bind(&addr.into())?;
        socket.listen(4096)?;
        let mut listener = TcpListener::from_std(socket.into());
        let addr = listener.local_addr()?;
        let poll = Poll::new()?;
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let stop = StopHandle {
            flag: Arc::new(AtomicBool::new(false)),
            waker,
        };
        let ids = catalog(cfg.files, cfg.seed);
        Ok(Server {
            poll,
            listener,
            stop,
            addr,
            ids,
            stats: Arc::new(ServerStats::default()),
            cfg,
        })
    }

    /// The address actually bound (the real port when `port` was 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http` or `https`.
    pub fn scheme(&self) -> &'static str {
        scheme_of(&self.cfg)
    }

    /// The catalog's ids, in list order.
    pub fn ids(&self) -> &[String] {
        &self.ids
    }

    /// The live counters.
    pub fn stats(&self) -> Arc<ServerStats> {
        Arc::clone(&self.stats)
    }

    /// A handle that stops [`Server::run`] from another thread (or a signal handler's
    /// helper thread; the server installs no signal handlers itself).
    pub fn stop_handle(&self) -> StopHandle {
        self.stop.clone()
    }

    /// Serves until a [`StopHandle`] is used, on the calling thread.
    pub fn run(self) -> io::Result<()> {
        #[cfg(feature = "tls")]
        let tls = self.cfg.tls.as_ref().map(|t| Arc::clone(&t.config));
        #[cfg(not(feature = "tls"))]
        let tls = None;
        let ctx = Context::new(Catalog::new(self.ids), self.cfg, self.stats);
        ServerLoop::new(self.poll, self.listener, self.stop.flag, ctx, tls).run()
    }
}

/// A server running on a background thread; stops and joins on [`ServerHandle::shutdown`]
/// or drop.
pub struct ServerHandle {
    addr: SocketAddr,
    scheme: &'static str,
    ids: Vec<String>,
    stats: Arc<ServerStats>,
    stop: StopHandle,
    thread: Option<JoinHandle<io::Result<()>>>,
}

/// Binds on the calling thread (so bind errors return here) and serves on a new one.
pub fn spawn(cfg: ServeConfig) -> io::Result<ServerHandle> {
    let server = Server::bind(cfg)?;
    let scheme = server.scheme();
    let (addr, ids, stats, stop) = (
        server.local_addr(),
        server.ids().to_vec(),
        server.stats(),
        server.stop_handle(),
    );
    let thread = std::thread::Builder::new()
        .name("miodl-serve".into())
        .spawn(move || server.run())?;
    Ok(ServerHandle {
        addr,
        scheme,
        ids,
        stats,
        stop,
        thread: Some(thread),
    })
}

impl ServerHandle {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://HOST:PORT` (`https://` with TLS), with no trailing slash.
    pub fn base_url(&self) -> String {
        format!("{}://{}", self.scheme, self.addr)
    }

    /// The catalog's ids, in list order.
    pub fn ids(&self) -> &[String] {
        &self.ids
    }

    /// The live counters.
    pub fn stats(&self) -> Arc<ServerStats> {
        Arc::clone(&self.stats)
    }

    /// Stops the loop, waits for the thread, and returns the loop's result.
    pub fn shutdown(mut self) -> io::Result<()> {
        self.stop_and_join()
    }

    fn stop_and_join(&mut self) -> io::Result<()> {
        self.stop.stop();
        match self.thread.take() {
            Some(thread) => thread
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("server thread panicked"))),
            None => Ok(()),
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        let _ = self.stop_and_join();
    }
}

/// `miodl serve`: binds, prints `listening on http://HOST:PORT` as the first stdout line
/// (with TLS: `https://`, and then `certificate: PATH`, the PEM file a client passes as
/// `--cacert`), and serves until the process is stopped.
///
/// No signal handlers are installed: SIGINT and SIGTERM keep their default action and end
/// the process, which is right for a server with nothing to flush. A caller that wants a
/// clean stop uses [`Server::bind`], [`Server::stop_handle`] and [`Server::run`] instead.
pub fn run_cli(cfg: ServeConfig) -> io::Result<()> {
    let server = Server::bind(cfg)?;
    let mut out = io::stdout().lock();
    writeln!(
        out,
        "listening on {}://{}",
        server.scheme(),
        server.local_addr()
    )?;
    #[cfg(feature = "tls")]
    if let Some(tls) = &server.cfg.tls {
        let path = write_certificate(&tls.cert_pem, server.local_addr())?;
        writeln!(out, "certificate: {}", path.display())?;
    }
    out.flush()?;
    drop(out);
    server.run()
}

/// `http`, or `https` when the server has a certificate.
fn scheme_of(cfg: &ServeConfig) -> &'static str {
    #[cfg(feature = "tls")]
    if cfg.tls.is_some() {
        return "https";
    }
    #[cfg(not(feature = "tls"))]
    let _ = cfg;
    "http"
}

/// Writes the PEM certificate to `$TMPDIR/miodl-serve-PORT-PID.pem` and returns the path.
#[cfg(feature = "tls")]
fn write_certificate(pem: &str, addr: SocketAddr) -> io::Result<std::path::PathBuf> {
    let name = format!("miodl-serve-{}-{}.pem", addr.port(), std::process::id());
    let path = std::env::temp_dir().join(name);
    std::fs::write(&path, pem)?;
    Ok(path)
}
