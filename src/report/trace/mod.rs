//! `--trace FILE`: the run as a Chrome trace-event JSON, to open in Perfetto
//! (<https://ui.perfetto.dev>) or `chrome://tracing`, and to draw with `miodl timeline`.
//!
//! A run's story is who held which socket, and for how long: that is what a limit
//! (`-c`, `--max-in-flight`, keep-alive) changes. So the trace has one track per
//! connection slot, and a bar per request phase spent on it. [`TraceRecorder`] is an
//! [`crate::model::event::Observer`] of the one event stream; it keeps compact records while the
//! run goes and writes the file once, in `finish()`. [`parse_trace`] reads the file back
//! into a [`Trace`] for the timeline.
//!
//! The format (the "JSON Object Format" of the Trace Event Format document), one event
//! per line, times in microseconds since the run started:
//!
//! ```text
//!  {"traceEvents": [
//!   ph "M"  process_name "miodl"; thread_name "dns" (tid 3), "queue" (tid 1),
//!           "pager" (tid 2), "socket N" (tid 100+N), with thread_sort_index to keep
//!           that order
//!   ph "X"  name connect | send | wait | body    on "socket N"      one job's phase
//!           cat file | page, args {job, url, kind}                   on that socket
//!   ph "b"/"e"  name queued | retry-wait          on "queue" (files) waiting time, as an
//!           cat queue | pager, id = a serial       or "pager" (pages) async pair (they overlap)
//!   ph "b"/"e"  name lookup, cat dns, id = a serial    on "dns": one host name's
//!           args {host, addresses: N} or {host, error}  lookup (overlapping ones stack)
//!   ph "i"  name retry | stale-resend | redirect | failed | throttled  on the socket where
//!           args {job, url, kind, ...why}                            it happened, else the
//!                                                                    queue / pager track
//!           (a retry's {attempt, delay_ms, error}, a redirect's {to}, a failure's
//!           {error}, throttled's {delay_ms}: the host's Retry-After pause)
//!   ph "i"  name happy-eyeballs, no args        on "socket N": the socket of a connect
//!                                               that races a slow one (RFC 8305)
//!   ph "C"  name sockets {open}, requests {in flight}, jobs {queued, retry-wait}
//!  ],
//!  "displayTimeUnit": "ms",
//!  "otherData": {"tool": "miodl", "version", "wall_us", "requests", "sockets_opened",
//!                "saved", "failed", "retries", "stale_resends", "redirects",
//!                "proxy_tunnels", "dns_lookups", "throttled", "happy_eyeballs_races"}}
//! ```
//!
//! URLs in the trace never carry credentials: miodl keeps `--user` apart from the URL.
//! A page's URL appears only when a later event names it (a retry or failure), since a
//! phase change does not carry the URL.
//!
//! Layer: `report`; may use `protocol`, `model`, `policy`, `output`, `transport` and `engine` (see `src/report/mod.rs`).

mod parse;
mod recorder;

pub use parse::{
    parse_trace, LookupSpan, Mark, MarkKind, SlotTrack, Span, SpanPhase, Trace, TraceError, TrackId,
};
pub use recorder::TraceRecorder;

/// The thread id of the "queue" track: file jobs waiting for a permit and a socket.
pub const QUEUE_TID: u64 = 1;
/// The thread id of the "pager" track: page jobs waiting.
pub const PAGER_TID: u64 = 2;
/// The thread id of the "dns" track: host name lookups.
pub const DNS_TID: u64 = 3;
/// Socket `N` is drawn on thread id `SOCKET_TID_BASE + N`.
pub const SOCKET_TID_BASE: u64 = 100;
/// The one process id of the trace.
pub const PID: u64 = 1;

/// The thread name of connection slot `n`'s track.
pub fn socket_track_name(n: usize) -> String {
    format!("socket {n}")
}

#[cfg(test)]
mod tests;
