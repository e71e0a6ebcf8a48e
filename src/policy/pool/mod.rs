//! The connector: who gets a socket.
//!
//! This is aiohttp's `TCPConnector(limit=…, limit_per_host=…)` at the socket level. The
//! pool counts open sockets and keeps the idle keep-alive ones per host. A job asks
//! [`Pool::checkout`] for a socket and gets one of these answers:
//!
//! ```text
//!   idle socket to this host? ──yes──► Reuse(slot)        (no connect: the cheap path)
//!        │ no
//!   host at --per-host? ───────yes──► Pipeline(slot), if a busy socket to the host has
//!        │                              room (--pipeline); else EvictAndOpen(own idle
//!        │                              slot), if the job needs a fresh socket and the
//!        │                              host has an idle one; else HostFull (wait;
//!        │                              other hosts may go)
//!        │ no
//!   pool under -c? ────────────yes──► Open                (connect a new socket)
//!        │ no
//!   a busy socket to this host with room? ─yes──► Pipeline(slot) (behind its answers)
//!        │ no
//!   an idle socket to another host? ─yes──► EvictAndOpen(slot)  (close it, open ours)
//!        │ no
//!        └────────────────────────────► Full              (wait for a socket to free)
//! ```
//!
//! A busy socket "has room" when the reactor says so ([`Pool::has_room`]): with
//! `--pipeline N`, one carrying fewer than N requests, all GETs. Pipelining comes late:
//! new sockets first, for parallelism; then a request queued behind others on a busy
//! socket, before another host's idle socket is given away. A job that must go on a
//! fresh socket (a stale resend) is never pipelined.
//!
//! The request-level semaphore (`--max-in-flight`) is not here: it counts requests, not
//! sockets, and lives in the scheduler. Keeping the two apart is the point of miodl.
//!
//! Hosts are interned once ([`HostId`]), with their resolved addresses, so a checkout
//! neither allocates nor resolves. Before its first socket a host needs its addresses:
//! [`Pool::await_addresses`] says whether they are known, or whether a lookup must start
//! (the first job of the host) or is already running (the jobs after it). The jobs wait
//! here, as ids, until the engine's lookup answers ([`Pool::resolved`]): at most one
//! lookup per host at a time, its answer kept for the run. A host is a scheme, a name and a port: `http://h:443`
//! and `https://h:443` are two hosts, and never share a socket.
//!
//! Through an HTTP proxy ([`Pool::intern_route`]) a host is also how it is reached. Plain
//! `http://` URLs are keyed by the proxy (`Hop::Forward`): every origin shares its
//! keep-alive sockets, and `-c` and `--per-host` count sockets to the proxy. An
//! `https://` URL is keyed by its origin (`Hop::Tunnel`, one tunnel is one origin's
//! connection), but its sockets connect to the proxy, so its lookup is the proxy's name.
//! Neither is ever the same host as a direct connection to the same name.
//!
//! Layer: `policy`; may use `protocol` and `model` (see `src/policy/mod.rs`).

use std::collections::HashMap;
use std::net::SocketAddr;

use crate::model::job::{ConnId, JobId};
use crate::protocol::proxy::Route;
use crate::protocol::url::{Scheme, Url};

/// A scheme, host and port, interned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HostId(pub usize);

/// What kind of socket a job may go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Any: an idle one, a new one, or (`--pipeline`, a GET) a busy one with room.
    AnySocket,
    /// An idle or a new socket, never queued behind other requests (not a GET).
    NotPipelined,
    /// A new socket only: the resend after a stale keep-alive socket.
    FreshSocket,
}

/// The answer to "may this job have a socket?".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checkout {
    /// Send on this idle keep-alive socket.
    Reuse(ConnId),
    /// Connect a new socket (then call [`Pool::opened`]).
    Open,
    /// Close this idle socket (to another host), then connect a new one.
    EvictAndOpen(ConnId),
    /// This host has `--per-host` sockets busy; jobs for other hosts may still go.
    HostFull,
    /// Every socket is busy: wait.
    Full,
    /// Send it on this busy socket, behind the requests it carries (`--pipeline`).
    Pipeline(ConnId),
}

/// Where a host's addresses are.
#[derive(Debug)]
enum Lookup {
    /// Not asked for yet (or the last lookup failed).
    Unknown,
    /// A lookup runs; these jobs wait for it, in their order.
    Running(Vec<JobId>),
    /// Known for the run, in the order they are tried.
    Known(Vec<SocketAddr>),
}

/// The answer to "are this host's addresses known?" ([`Pool::await_addresses`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Addresses {
    /// Known: go on to a socket.
    Known,
    /// Not known: the job waits here; start the host's lookup.
    StartLookup,
    /// A lookup runs: the job waits here for it.
    Waiting,
}

/// How a host's sockets reach it (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Hop {
    /// Straight to it.
    Direct,
    /// It is an HTTP proxy, carrying `http://` requests in absolute form.
    Forward,
    /// A `CONNECT` tunnel through a proxy.
    Tunnel,
}

#[derive(Debug)]
struct Host {
    scheme: Scheme,
    name: String,
    port: u16,
    hop: Hop,
    /// Where its sockets connect when not to itself (a tunnel's proxy): what is looked up.
    dial: Option<(String, u16)>,
    lookup: Lookup,
    open: usize,
    /// Idle sockets, the most recently used last (reused first: its window is warm).
    idle: Vec<ConnId>,
    /// Busy sockets that can take one more pipelined request.
    room: Vec<ConnId>,
}

/// Open and idle sockets, per host, under the connector limits.
#[derive(Debug)]
pub struct Pool {
    limit: Option<usize>,
    per_host: Option<usize>,
    hosts: Vec<Host>,
    by_name: HashMap<String, Vec<HostId>>,
    /// The host interned last: a list's URLs mostly share one, and comparing it costs
    /// less than hashing the name (SipHash) for `by_name`.
    last: Option<HostId>,
    open: usize,
}

impl Pool {
    /// A pool of at most `limit` sockets (`None`: unlimited), `per_host` to one host.
    pub fn new(limit: Option<usize>, per_host: Option<usize>) -> Pool {
        Pool {
            limit,
            per_host,
            hosts: Vec::new(),
            by_name: HashMap::new(),
            last: None,
            open: 0,
        }
    }

    /// The id of `scheme://host:port`, reached directly, interning it on first sight.
    pub fn intern(&mut self, scheme: Scheme, name: &str, port: u16) -> HostId {
        self.intern_hop(scheme, name, port, Hop::Direct, None)
    }

    /// The id of the host `url`'s request goes to by `route`: its origin, the proxy
    /// (an `http://` URL through it), or its origin through a tunnel.
    #[inline]
    pub fn intern_route(&mut self, url: &Url, route: Route<'_>) -> HostId {
        let ((scheme, name, port), hop) = hop_key(url, route);
        let dial = match route {
            Route::Tunnel(proxy) => Some((proxy.host(), proxy.port())),
            Route::Direct | Route::Forward(_) => None,
        };
        self.intern_hop(scheme, name, port, hop, dial)
    }

    /// The id of `scheme://host:port` reached by `hop`, its sockets connecting to `dial`
    /// when that is not the host itself (a tunnel's proxy), interning it on first sight.
    pub fn intern_hop(
        &mut self,
        scheme: Scheme,
        name: &str,
        port: u16,
        hop: Hop,
        dial: Option<(&str, u16)>,
    ) -> HostId {
        let same = |id: HostId| {
            let host = &self.hosts[id.0];
            host.port == port && host.scheme == scheme && host.hop == hop && host.name == name
        };
        if let Some(id) = self.last.filter(|&id| same(id)) {
            return id;
        }
        if let Some(ids) = self.by_name.get(name) {
            if let Some(&id) = ids.iter().find(|&&id| same(id)) {
                self.last = Some(id);
                return id;
            }
        }
        let id = HostId(self.hosts.len());
        self.last = Some(id);
        self.hosts.push(Host {
            scheme,
            name: name.to_string(),
            port,
            hop,
            dial: dial.map(|(name, port)| (name.to_string(), port)),
            lookup: Lookup::Unknown,
            open: 0,
            idle: Vec::new(),
            room: Vec::new(),
        });
        self.by_name.entry(name.to_string()).or_default().push(id);
        id
    }

    /// The scheme and name of a host (the name is what TLS checks the certificate for).
    pub fn name(&self, host: HostId) -> (Scheme, &str) {
        let entry = &self.hosts[host.0];
        (entry.scheme, &entry.name)
    }

    /// The name and port its lookup asks for: its own, or its tunnel's proxy's.
    pub fn lookup_key(&self, host: HostId) -> (&str, u16) {
        let entry = &self.hosts[host.0];
        match &entry.dial {
            Some((name, port)) => (name, *port),
            None => (&entry.name, entry.port),
        }
    }

    /// True when its sockets go through an HTTP proxy (forwarded or tunnelled).
    pub fn via_proxy(&self, host: HostId) -> bool {
        self.hosts[host.0].hop != Hop::Direct
    }

    /// True when its sockets are `CONNECT` tunnels through a proxy.
    pub fn is_tunnel(&self, host: HostId) -> bool {
        self.hosts[host.0].hop == Hop::Tunnel
    }

    /// Are the host's addresses known? If not, `job` waits in the pool for them (the
    /// engine gives the job's permit back and starts the lookup on `StartLookup`).
    #[inline]
    pub fn await_addresses(&mut self, host: HostId, job: JobId) -> Addresses {
        let entry = &mut self.hosts[host.0];
        match &mut entry.lookup {
            Lookup::Known(_) => Addresses::Known,
            Lookup::Running(waiting) => {
                waiting.push(job);
                Addresses::Waiting
            }
            Lookup::Unknown => {
                entry.lookup = Lookup::Running(vec![job]);
                Addresses::StartLookup
            }
        }
    }

    /// The host's lookup answered: its addresses are kept for the run (a failure is
    /// not: a later job asks again). Returns the jobs that waited for it, in their order.
    pub fn resolved(&mut self, host: HostId, found: Option<Vec<SocketAddr>>) -> Vec<JobId> {
        let entry = &mut self.hosts[host.0];
        let next = match found {
            Some(addrs) if !addrs.is_empty() => Lookup::Known(interleave_families(addrs)),
            _ => Lookup::Unknown,
        };
        match std::mem::replace(&mut entry.lookup, next) {
            Lookup::Running(waiting) => waiting,
            _ => Vec::new(),
        }
    }

    /// The host's address number `index` (in the order [`interleave_families`] gave) (once its addresses are known); `None` past
    /// the last one.
    pub fn address(&self, host: HostId, index: usize) -> Option<SocketAddr> {
        match &self.hosts[host.0].lookup {
            Lookup::Known(addrs) => addrs.get(index).copied(),
            _ => None,
        }
    }

    /// May one more socket to `host` be opened under `--per-host`? (The one copy of
    /// that rule: the reactor asks through [`Pool::checkout`], the blocking workers,
    /// which keep one socket each, ask directly.)
    pub fn host_may_open(&self, host: HostId) -> bool {
        self.per_host.is_none_or(|n| self.hosts[host.0].open < n)
    }

    /// May a job for `host` have a socket of the kind it needs?
    pub fn checkout(&mut self, host: HostId, need: Need) -> Checkout {
        let host_full = !self.host_may_open(host);
        let entry = &mut self.hosts[host.0];
        if need != Need::FreshSocket {
            if let Some(slot) = entry.idle.pop() {
                return Checkout::Reuse(slot);
            }
        }
        // A socket with room is taken off the list only when it is given out.
        let may_queue = need == Need::AnySocket;
        if host_full {
            if let Some(slot) = entry.room.last().copied().filter(|_| may_queue) {
                entry.room.pop();
                return Checkout::Pipeline(slot);
            }
            // An idle socket of our own host can make room for a fresh one.
            return match entry.idle.first() {
                Some(&slot) => Checkout::EvictAndOpen(slot),
                None => Checkout::HostFull,
            };
        }
        if self.limit.is_none_or(|n| self.open < n) {
            return Checkout::Open;
        }
        if let Some(slot) = entry.room.last().copied().filter(|_| may_queue) {
            entry.room.pop();
            return Checkout::Pipeline(slot);
        }
        match self.hosts.iter().find_map(|h| h.idle.first()) {
            Some(&slot) => Checkout::EvictAndOpen(slot),
            None => Checkout::Full,
        }
    }

    /// A socket to `host` was opened.
    pub fn opened(&mut self, host: HostId) {
        self.open += 1;
        self.hosts[host.0].open += 1;
    }

    /// A socket finished its request and may be reused.
    pub fn release(&mut self, host: HostId, slot: ConnId) {
        self.hosts[host.0].idle.push(slot);
    }

    /// The busy socket `slot` can take one more pipelined request. The reactor says so
    /// once per opening; a `Pipeline` answer takes it back.
    pub fn has_room(&mut self, host: HostId, slot: ConnId) {
        self.hosts[host.0].room.push(slot);
    }

    /// `slot` no longer takes pipelined requests (it went idle).
    pub fn no_room(&mut self, host: HostId, slot: ConnId) {
        self.hosts[host.0].room.retain(|&s| s != slot);
    }

    /// A socket to `host` was closed (idle or busy).
    pub fn closed(&mut self, host: HostId, slot: ConnId) {
        let entry = &mut self.hosts[host.0];
        entry.idle.retain(|&s| s != slot);
        entry.room.retain(|&s| s != slot);
        entry.open -= 1;
        self.open -= 1;
    }

    /// The run is over: no socket will be given out again, so the idle and room lists
    /// are dropped at once, and closing each socket after it ([`Pool::closed`]) does not
    /// search them (with 10,000 idle sockets to one host, those searches were 50 million
    /// comparisons at the end of the run).
    pub fn retire(&mut self) {
        for entry in &mut self.hosts {
            entry.idle.clear();
            entry.room.clear();
        }
    }

    /// Sockets open now.
    pub fn open(&self) -> usize {
        self.open
    }

    /// No descriptor could be made (`EMFILE`/`ENFILE`): from now on the pool holds at
    /// most the sockets open now (at least one), so the job that could not have its
    /// descriptor waits for one of them to close, as any job waits at `-c`.
    ///
    /// The open-file limit was raised and `-c` sized to fit it at start (the application),
    /// so this is the rare case where something else took descriptors (a library's
    /// caller, a lent body's duplicates). Lowering the limit to what demonstrably fits is
    /// what the connector can know for sure; it is not raised again, because a limit
    /// hit once is likely to be hit again (nginx instead stops accepting for half a
    /// second and tries again; curl and aiohttp report the error as the transfer's).
    /// Returns the new limit.
    pub fn shrink_to_open(&mut self) -> usize {
        let limit = self.open.max(1);
        self.limit = Some(self.limit.map_or(limit, |n| n.min(limit)));
        limit
    }
}

/// The scheme, name and port a socket for `url` is keyed by when it goes by `route`, and
/// how it gets there: the origin's, or the proxy's for a forwarded `http://` URL.
#[inline]
pub fn hop_key<'a>(url: &'a Url, route: Route<'a>) -> ((Scheme, &'a str, u16), Hop) {
    match route {
        Route::Direct => ((url.scheme(), url.host(), url.port()), Hop::Direct),
        Route::Forward(proxy) => ((Scheme::Http, proxy.host(), proxy.port()), Hop::Forward),
        Route::Tunnel(_) => ((url.scheme(), url.host(), url.port()), Hop::Tunnel),
    }
}

/// A host's addresses in the order they are tried (RFC 8305 §4): the families take
/// turns, IPv6 first, each family in the order the lookup gave, so that a family that
/// does not answer costs one attempt delay, not one per address. Allocates nothing when
/// the host has one family (the usual case).
pub fn interleave_families(addrs: Vec<SocketAddr>) -> Vec<SocketAddr> {
    let v6 = addrs.iter().filter(|a| a.is_ipv6()).count();
    if v6 == 0 || v6 == addrs.len() {
        return addrs;
    }
    let (six, four): (Vec<_>, Vec<_>) = addrs.into_iter().partition(SocketAddr::is_ipv6);
    let mut turns = Vec::with_capacity(six.len() + four.len());
    let (mut six, mut four) = (six.into_iter(), four.into_iter());
    loop {
        match (six.next(), four.next()) {
            (None, None) => return turns,
            (a, b) => turns.extend(a.into_iter().chain(b)),
        }
    }
}

#[cfg(test)]
mod tests;
