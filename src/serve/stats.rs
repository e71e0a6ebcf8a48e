//! Counters the server keeps so a client's tests can prove its limits held.
//!
//! miodl promises "at most `-c` sockets" and "at most `--max-in-flight` requests". The
//! only honest witness is the other end of the wire, so the reference server counts what
//! it sees and keeps the high-water marks:
//!
//! ```text
//!   accept ──► open_connections += 1 ─────────────────────────────► close: -= 1
//!   request head+body parsed ──► in_flight += 1 ──► last response byte written: -= 1
//! ```
//!
//! A request is in flight on the server from the moment it is parsed until its last
//! response byte is handed to the kernel, a span that lies inside the client's own
//! "sent, not yet answered" span; so the server's maximum can never exceed the client's.
//! Connections are counted from `accept` to `close`. The loop handles events on existing
//! connections before it accepts new ones in the same turn, so a client that closes one
//! socket and then opens another is not seen holding both.
//!
//! Everything is an atomic (or one small mutex for per-path counts) so a test thread can
//! read the numbers while the server thread runs.
//!
//! Layer: `serve`; may use `protocol`, `model`, `policy`, `output`, `transport`, `engine` and `report` (see `src/serve/mod.rs`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Live counters of one server, shared with any thread through an `Arc`.
#[derive(Debug, Default)]
pub struct ServerStats {
    connections_accepted: AtomicU64,
    open_connections: AtomicU64,
    max_open_connections: AtomicU64,
    requests: AtomicU64,
    in_flight_requests: AtomicU64,
    max_in_flight_requests: AtomicU64,
    faults_injected: AtomicU64,
    rate_limited: AtomicU64,
    unauthorized: AtomicU64,
    per_path: Mutex<HashMap<String, u64>>,
}

impl ServerStats {
    /// Connections accepted since the server started.
    pub fn connections_accepted(&self) -> u64 {
        self.connections_accepted.load(Ordering::SeqCst)
    }

    /// Connections open right now.
    pub fn open_connections(&self) -> u64 {
        self.open_connections.load(Ordering::SeqCst)
    }

    /// The most connections that were open at one time.
    pub fn max_open_connections(&self) -> u64 {
        self.max_open_connections.load(Ordering::SeqCst)
    }

    /// Requests parsed since the server started (malformed ones included).
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }

    /// Requests parsed but not yet answered: waiting out the lag, being written, or
    /// stalled on purpose by a fault.
    pub fn in_flight_requests(&self) -> u64 {
        self.in_flight_requests.load(Ordering::SeqCst)
    }

    /// The most requests that were in flight at one time.
    pub fn max_in_flight_requests(&self) -> u64 {
        self.max_in_flight_requests.load(Ordering::SeqCst)
    }

    /// Requests answered with an injected fault instead of the normal response.
    pub fn faults_injected(&self) -> u64 {
        self.faults_injected.load(Ordering::SeqCst)
    }

    /// How many requests named `path` (the request target without its query), any method.
    pub fn path_count(&self, path: &str) -> u64 {
        let map = self.per_path.lock().unwrap_or_else(|e| e.into_inner());
        map.get(path).copied().unwrap_or(0)
    }

    pub(crate) fn connection_opened(&self) {
        self.connections_accepted.fetch_add(1, Ordering::SeqCst);
        let now = self.open_connections.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_open_connections.fetch_max(now, Ordering::SeqCst);
    }

    pub(crate) fn connection_closed(&self) {
        self.open_connections.fetch_sub(1, Ordering::SeqCst);
    }

    pub(crate) fn request_started(&self, path: &str) {
        self.requests.fetch_add(1, Ordering::SeqCst);
        let now = self.in_flight_requests.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight_requests.fetch_max(now, Ordering::SeqCst);
        let mut map = self.per_path.lock().unwrap_or_else(|e| e.into_inner());
        match map.get_mut(path) {
            Some(n) => *n += 1,
            None => {
                map.insert(path.to_string(), 1);
            }
        }
    }

    pub(crate) fn requests_finished(&self, n: u64) {
        if n > 0 {
            self.in_flight_requests.fetch_sub(n, Ordering::SeqCst);
        }
    }

    pub(crate) fn fault_injected(&self) {
        self.faults_injected.fetch_add(1, Ordering::SeqCst);
    }

    /// Requests answered `429` because `--rate-limit`'s quota was spent.
    pub fn rate_limited(&self) -> u64 {
        self.rate_limited.load(Ordering::SeqCst)
    }

    /// Requests answered `401` because `--require-auth` was not met.
    pub fn unauthorized(&self) -> u64 {
        self.unauthorized.load(Ordering::SeqCst)
    }

    pub(crate) fn refused(&self, status: u16) {
        let counter = if status == 429 {
            &self.rate_limited
        } else {
            &self.unauthorized
        };
        counter.fetch_add(1, Ordering::SeqCst);
    }
}
