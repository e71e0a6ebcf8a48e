//! miodl: a downloader on a hand-written, single-threaded mio event loop.
//!
//! The crate is three layers, and the bytes flow through them in this order:
//!
//! ```text
//!  feed (URLs | pager) ──► scheduler + pool ──► reactor / workers ──► http (sans-IO)
//!                          policy: who goes,    transport: sockets,    protocol: bytes
//!                          retries, limits      readiness, timers      in, events out
//!                                 ▲                                        │
//!                                 └──────────── pump: head, body, end ◄────┘ ──► sink
//! ```
//!
//! - [`http`] knows HTTP/1.1 and no socket; [`pager`] knows the list API and no socket.
//! - [`scheduler`] and [`pool`] are the policy: pager first, the `--max-in-flight`
//!   semaphore, the `-c`/`--per-host` connector, retries and redirects.
//! - [`reactor`] is the mio loop; [`engine`] adds the blocking and threaded engines.
//!   Both read and write through [`transport`]: plain TCP, or TLS (`tls` feature).
//! - [`event`] is the one stream every report reads: [`summary`], [`console`],
//!   [`event_lines`], and [`trace`] (`--trace`, drawn by [`timeline`]).
#![warn(missing_docs)]

pub mod cli;
pub mod console;
pub mod demo;
pub mod downloader;
pub mod engine;
pub mod error;
pub mod event;
pub mod event_lines;
pub mod feed;
pub mod http;
pub mod job;
pub mod names;
pub mod options;
pub mod pager;
pub mod pool;
pub mod pump;
pub mod reactor;
pub mod retry;
pub mod run;
pub mod scheduler;
pub mod serve;
pub mod shard;
pub mod sink;
pub mod stop;
pub mod summary;
pub mod timeline;
#[cfg(feature = "tls")]
pub mod tls;
pub mod trace;
pub mod transport;
pub mod url;
pub mod verify;
