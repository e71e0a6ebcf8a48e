//! The numbers of a run: what `--json` prints and `demo` tabulates.
//!
//! [`Summary`] is an [`Observer`] like the others; it only counts. `requests` counts every
//! request written to a socket (pages, retries and stale resends included), so a reader
//! can compare it with the number of files and see the cost of the strategy.
//!
//! Layer: `model`; may use `protocol` (see `src/model/mod.rs`).

use std::time::{Duration, Instant};

use serde_json::json;

use crate::model::event::{Event, Observer};

/// Counters over one run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Files saved under their final names.
    pub ok: u64,
    /// Files not requested because an earlier run saved them (`--skip-existing`; not
    /// part of `ok`).
    pub skipped: u64,
    /// `-C`: files that went on a part an earlier run left (part of `ok`).
    pub resumed: u64,
    /// `-C`: bytes of those parts, not fetched again.
    pub bytes_resumed: u64,
    /// Files (and list pages) that failed for good.
    pub failed: u64,
    /// Requests written, every kind.
    pub requests: u64,
    /// Of those, list pages.
    pub pages: u64,
    /// Retries scheduled after retryable failures.
    pub retries: u64,
    /// Requests resent at once after a stale keep-alive socket (not counted as tries).
    pub stale_resends: u64,
    /// Answers (429 or 503 with `Retry-After`) that paused their host.
    pub throttled: u64,
    /// Redirects followed.
    pub redirects: u64,
    /// Sockets opened.
    pub connections_opened: u64,
    /// Requests that went on an already open keep-alive socket.
    pub connections_reused: u64,
    /// TLS handshakes finished (resumed ones included).
    pub tls_handshakes: u64,
    /// Of those, resumed sessions (no certificate exchange).
    pub tls_resumed: u64,
    /// Host names looked up (IP literals and `--resolve` pins need none).
    pub dns_lookups: u64,
    /// The longest of those lookups.
    pub dns_slowest: Duration,
    /// Happy Eyeballs races: second connects started beside a first one.
    pub happy_eyeballs_races: u64,
    /// `CONNECT` tunnels opened through an HTTP proxy.
    pub proxy_tunnels: u64,
    /// Bytes saved in files.
    pub bytes: u64,
    /// Body bytes received, kept or not.
    pub bytes_received: u64,
    /// Jobs in flight stopped by a signal.
    pub stopped: u64,
    /// Ids from the list API refused as unsafe.
    pub rejected_ids: u64,
    /// Most sockets open at once.
    pub peak_connections: u64,
    /// Sockets open now.
    open_connections: u64,
    /// Most requests in flight at once.
    pub peak_in_flight: u64,
    /// Requests in flight now.
    in_flight: u64,
}

impl Summary {
    /// The `--json` object (docs/reference.md §4), with the engine's name, the wall time, and
    /// the pager's extra pages when there was a pager.
    pub fn to_json(&self, engine: &str, elapsed: Duration, extra_pages: Option<u64>) -> String {
        let mut value = json!({
            "ok": self.ok,
            "skipped": self.skipped,
            "resumed": self.resumed,
            "bytes_resumed": self.bytes_resumed,
            "failed": self.failed,
            "requests": self.requests,
            "pages": self.pages,
            "retries": self.retries,
            "stale_resends": self.stale_resends,
            "throttled": self.throttled,
            "redirects": self.redirects,
            "connections_opened": self.connections_opened,
            "connections_reused": self.connections_reused,
            "tls_handshakes": self.tls_handshakes,
            "tls_resumed": self.tls_resumed,
            "dns_lookups": self.dns_lookups,
            "dns_slowest_ms": self.dns_slowest.as_millis() as u64,
            "happy_eyeballs_races": self.happy_eyeballs_races,
            "proxy_tunnels": self.proxy_tunnels,
            "peak_connections": self.peak_connections,
            "peak_in_flight": self.peak_in_flight,
            "bytes": self.bytes,
            "bytes_received": self.bytes_received,
            "rejected_ids": self.rejected_ids,
            "stopped": self.stopped,
            "elapsed_s": (elapsed.as_secs_f64() * 1000.0).round() / 1000.0,
            "engine": engine,
        });
        if let Some(extra) = extra_pages {
            value["extra_pages"] = extra.into();
        }
        value.to_string()
    }
}

impl Observer for Summary {
    fn on_event(&mut self, event: &Event<'_>, _now: Instant) {
        match event {
            Event::Phase { from, to, .. } => {
                if to.is_in_flight() && !from.is_in_flight() {
                    self.in_flight += 1;
                    self.peak_in_flight = self.peak_in_flight.max(self.in_flight);
                } else if from.is_in_flight() && !to.is_in_flight() {
                    self.in_flight -= 1;
                }
            }
            Event::ConnectionOpened { .. } => {
                self.connections_opened += 1;
                self.open_connections += 1;
                self.peak_connections = self.peak_connections.max(self.open_connections);
            }
            Event::ConnectionClosed { .. } => self.open_connections -= 1,
            Event::ConnectionReused { .. } => self.connections_reused += 1,
            Event::TlsHandshake { resumed, .. } => {
                self.tls_handshakes += 1;
                self.tls_resumed += u64::from(*resumed);
            }
            Event::Lookup { took, .. } => {
                self.dns_lookups += 1;
                self.dns_slowest = self.dns_slowest.max(*took);
            }
            Event::HappyEyeballsRace { .. } => self.happy_eyeballs_races += 1,
            Event::ProxyTunnel { .. } => self.proxy_tunnels += 1,
            Event::RequestSent { .. } => self.requests += 1,
            Event::BodyBytes { len } => self.bytes_received += *len as u64,
            Event::StaleResend { .. } => self.stale_resends += 1,
            Event::Retry { .. } => self.retries += 1,
            Event::Throttled { .. } => self.throttled += 1,
            Event::Redirect { .. } => self.redirects += 1,
            Event::FileSaved { bytes, .. } => {
                self.ok += 1;
                self.bytes += bytes;
            }
            Event::Skipped { .. } => self.skipped += 1,
            Event::Resumed { bytes, .. } => {
                self.resumed += 1;
                self.bytes_resumed += bytes;
            }
            Event::PageRead { .. } => self.pages += 1,
            Event::Failed { .. } | Event::BadInput { .. } => self.failed += 1,
            Event::IdRejected { .. } => self.rejected_ids += 1,
            Event::Stopped { .. } => self.stopped += 1,
            Event::ResponseHead { .. } | Event::WireHead { .. } | Event::FeedEnded { .. } => {}
        }
    }
}
