//! The server's event loop: one thread, one `mio::Poll`, a slab of connections, a timer heap.
//!
//! This is the whole of the server's concurrency. A thousand clients waiting out a lag
//! are a thousand slab entries and a thousand heap entries, not a thousand threads.
//!
//! ```text
//!   loop {
//!     poll(timeout = earliest timer)          ── readiness events are hints
//!     progress every connection with an event     ── read/parse/write until WouldBlock
//!     progress every connection whose timer is due
//!     accept new connections                  ── after the old ones, so a client that
//!   }                                            closes one socket and opens another is
//!                                                never counted holding both
//! ```
//!
//! Slab keys are the mio tokens. The timers are the client reactor's lazy heap
//! ([`Timers`]) of `(deadline, key, serial)`: when a key is reused, the stale timers
//! of its previous connection no longer match and are skipped. A connection keeps its
//! true [`Deadline`](super::conn::Deadline) itself; an entry that comes due before it
//! is pushed again at the true one, so each connection has about one entry.
//!
//! Layer: `serve`; may use `protocol`, `model`, `policy`, `output`, `transport`, `engine` and `report` (see `src/serve/mod.rs`).

use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token};
use slab::Slab;

use super::conn::{Next, ServerConn};
use super::gate::{retry_after_seconds, Quota};
use super::request::Request;
use super::response::{render, Outgoing, Reply};
use super::routes::{route, Asked, Catalog};
use super::stats::ServerStats;
use super::ServeConfig;
use crate::engine::reactor::timers::Timers;
use crate::transport::Transport;

/// The server side of TLS, when serving HTTPS.
#[cfg(feature = "tls")]
pub(super) type TlsConfig = Option<Arc<rustls::ServerConfig>>;
/// Without the `tls` feature there is no server side of TLS.
#[cfg(not(feature = "tls"))]
pub(super) type TlsConfig = Option<std::convert::Infallible>;

/// The listening socket's token; connection tokens are slab keys, far below it.
pub(super) const LISTENER: Token = Token(usize::MAX - 1);
/// The waker's token: a stop request.
pub(super) const WAKER: Token = Token(usize::MAX - 2);

/// What every connection needs to answer requests.
pub(crate) struct Context {
    pub catalog: Catalog,
    /// The options the server was started with: `--lag`, `--fault`, `--seed`, ...
    pub config: ServeConfig,
    pub stats: Arc<ServerStats>,
    /// How many times each request identity was seen, for deterministic faults.
    seen: HashMap<String, u64>,
    /// `--rate-limit`'s bucket.
    quota: Option<Quota>,
}

impl Context {
    pub(super) fn new(catalog: Catalog, config: ServeConfig, stats: Arc<ServerStats>) -> Context {
        Context {
            catalog,
            quota: config.rate_limit.map(Quota::new),
            config,
            stats,
            seen: HashMap::new(),
        }
    }

    /// Counts the request, checks its quota and credentials, decides its fault, routes
    /// it and frames the answer. `now` is when the request was read.
    pub(super) fn answer(&mut self, req: &Request, now: Instant) -> Outgoing {
        let path = req
            .target
            .split_once('?')
            .map_or(req.target.as_str(), |(p, _)| p);
        self.stats.request_started(path);
        if let Some(refusal) = self.gate(req, now) {
            self.stats.refused(refusal.status);
            return render(refusal, None, req.persistence(), &req.target);
        }
        let faults = &self.config.faults;
        let fault = if faults.is_empty() {
            None
        } else {
            let mut identity = format!("{} {}", req.method, req.target);
            if !req.body.is_empty() {
                identity.push('?');
                identity.push_str(&String::from_utf8_lossy(&req.body));
            }
            let nth = self.seen.entry(identity.clone()).or_insert(0);
            let fault = faults.decide(self.config.seed, &identity, *nth);
            *nth += 1;
            fault
        };
        if fault.is_some() {
            self.stats.fault_injected();
        }
        let asked = Asked {
            range_from: req.range_from.filter(|_| self.config.ranges),
            if_range: req.if_range.as_deref(),
            etag_salt: &self.config.etag_salt,
        };
        let reply = route(
            &self.catalog,
            self.config.pages,
            self.config.page_cap,
            &req.method,
            &req.target,
            &req.body,
            &asked,
        );
        render(reply, fault, req.persistence(), &req.target)
    }

    /// `--rate-limit` and `--require-auth`: the answer that refuses the request, if one
    /// does (the quota first, as a gateway counts before it looks at credentials).
    fn gate(&mut self, req: &Request, now: Instant) -> Option<Reply> {
        if let Some(quota) = &mut self.quota {
            if let Err(wait) = quota.admit(now) {
                let mut reply = Reply::text(429, "rate limit exceeded\n");
                reply.header("Retry-After", &retry_after_seconds(wait).to_string());
                return Some(reply);
            }
        }
        let required = self.config.require_auth.as_ref()?;
        if required.admits(req.authorization.as_deref()) {
            return None;
        }
        let mut reply = Reply::text(401, "unauthorized\n");
        reply.header(
            "WWW-Authenticate",
            &format!("{} realm=\"miodl\"", required.scheme()),
        );
        Some(reply)
    }
}

/// The loop's state: everything the server thread owns.
pub(super) struct ServerLoop {
    pub poll: Poll,
    pub listener: TcpListener,
    pub stop: Arc<AtomicBool>,
    pub ctx: Context,
    conns: Slab<ServerConn>,
    timers: Timers,
    /// The `(key, serial)` of the timers due this turn (kept for its capacity).
    due: Vec<(usize, u64)>,
    next_serial: u64,
    /// Every accepted socket speaks TLS with this configuration, if any.
    tls: TlsConfig,
}

impl ServerLoop {
    pub(super) fn new(
        poll: Poll,
        listener: TcpListener,
        stop: Arc<AtomicBool>,
        ctx: Context,
        tls: TlsConfig,
    ) -> ServerLoop {
        ServerLoop {
            poll,
            listener,
            stop,
            ctx,
            conns: Slab::new(),
            timers: Timers::default(),
            due: Vec::new(),
            next_serial: 0,
            tls,
        }
    }

    /// Runs until the stop flag is set (and the waker fires), then closes everything.
    pub(super) fn run(mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(4096);
        while !self.stop.load(Ordering::SeqCst) {
            let timeout = self
                .timers
                .next()
                .map(|at| at.saturating_duration_since(Instant::now()));
            match self.poll.poll(&mut events, timeout) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            let now = Instant::now();
            let mut accept = false;
            for event in events.iter() {
                match event.token() {
                    LISTENER => accept = true,
                    WAKER => {} // the loop condition reads the stop flag
                    Token(key) => self.progress(key, now),
                }
            }
            self.expire(now);
            if accept {
                self.accept(now)?;
            }
        }
        for key in self.conns.iter().map(|(key, _)| key).collect::<Vec<_>>() {
            self.close(key, Next::Close);
        }
        Ok(())
    }

    /// Pumps the connections whose deadline has come, and re-arms those whose deadline
    /// moved past the entry that came due.
    fn expire(&mut self, now: Instant) {
        // Take the due timers first: a connection may ask to be woken "now" again (its write
        // budget ran out), and that must wait for the next turn, after other sockets.
        let mut due = std::mem::take(&mut self.due);
        due.clear();
        while let Some(entry) = self.timers.pop_due(now) {
            due.push(entry);
        }
        for &(key, serial) in &due {
            let Some(conn) = self.conns.get_mut(key).filter(|c| c.serial == serial) else {
                continue;
            };
            conn.armed = None;
            if conn.deadline.is_some_and(|d| d.at <= now) {
                self.progress(key, now);
            } else {
                self.arm(key);
            }
        }
        self.due = due;
    }

    /// Accepts until `WouldBlock`. Errors such as EMFILE leave the rest in the backlog.
    fn accept(&mut self, now: Instant) -> io::Result<()> {
        loop {
            let (mut stream, _) = match self.listener.accept() {
                Ok(pair) => pair,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return Ok(()),
            };
            let _ = stream.set_nodelay(true);
            let entry = self.conns.vacant_entry();
            let key = entry.key();
            self.poll.registry().register(
                &mut stream,
                Token(key),
                Interest::READABLE | Interest::WRITABLE,
            )?;
            let Some(transport) = wrap(&self.tls, stream) else {
                continue; // rustls refused to start: drop the socket, keep serving
            };
            self.next_serial += 1;
            entry.insert(ServerConn::new(transport, self.next_serial));
            self.ctx.stats.connection_opened();
            self.progress(key, now);
        }
    }

    /// Lets one connection make progress, then files its wish: a timer, or a close.
    fn progress(&mut self, key: usize, now: Instant) {
        let Some(conn) = self.conns.get_mut(key) else {
            return;
        };
        match conn.progress(now, &mut self.ctx) {
            Next::Keep => self.arm(key),
            next => self.close(key, next),
        }
    }

    /// Makes sure the heap wakes connection `key` by its deadline.
    fn arm(&mut self, key: usize) {
        let conn = &mut self.conns[key];
        if let Some(deadline) = conn.deadline {
            if conn.armed.is_none_or(|armed| deadline.at < armed) {
                conn.armed = Some(deadline.at);
                self.timers.schedule(deadline.at, key, conn.serial);
            }
        }
    }

    fn close(&mut self, key: usize, how: Next) {
        let mut conn = self.conns.remove(key);
        let _ = self.poll.registry().deregister(conn.transport.socket_mut());
        if how == Next::Reset {
            // SO_LINGER 0: close() sends RST and discards anything unsent.
            let _ =
                socket2::SockRef::from(conn.transport.socket()).set_linger(Some(Duration::ZERO));
        }
        self.ctx.stats.requests_finished(conn.unanswered);
        self.ctx.stats.connection_closed();
    }
}

/// Plain, or the server side of TLS when serving HTTPS.
fn wrap(tls: &TlsConfig, stream: mio::net::TcpStream) -> Option<Transport<mio::net::TcpStream>> {
    match tls {
        None => Some(Transport::Plain(stream)),
        #[cfg(feature = "tls")]
        Some(config) => {
            let tls = rustls::ServerConnection::new(Arc::clone(config)).ok()?;
            Some(Transport::tls(stream, rustls::Connection::Server(tls)))
        }
        #[cfg(not(feature = "tls"))]
        Some(never) => match *never {},
    }
}
