//! miodl: a downloader on a hand-written, single-threaded mio event loop.
//!
//! The source tree is the architecture: one folder per layer, and every `use` runs down
//! this list (a module may use the layers below it, never one above):
//!
//! ```text
//!  app/        the commands, the library builder      cli, run, downloader, verify, demo
//!  serve/      the reference server (tests, demo)     its own mio loop, faults, routes
//!  report/     what a run tells                       console, --events, --trace, timeline
//!  engine/     who waits, and how                     reactor (mio), blocking workers, answer
//!  transport/  one socket's bytes, plain or TLS       Transport, Opener, tls
//!  output/     bodies become whole files              sink
//!  policy/     who goes, what an answer means         scheduler, pool, retry, feed, names
//!  model/      the words every layer shares           job and phase, event, error, options,
//!                                                     shard, stop, summary
//!  protocol/   what bytes mean (sans-IO)              http, url, pager (paging styles), tls
//! ```
//!
//! The bytes flow through them in this order:
//!
//! ```text
//!  feed (URLs | pager) ──► scheduler + pool ──► reactor / workers ──► http (sans-IO)
//!                          policy: who goes,    engine: sockets,       protocol: bytes
//!                          retries, limits      readiness, timers      in, events out
//!                                 ▲                                        │
//!                                 └───────── answer: head, body, end ◄─────┘ ──► sink
//! ```
//!
//! - [`protocol`] knows HTTP/1.1, URLs and the list API, and no socket.
//! - [`policy`] is the trade-off: pager first, the `--max-in-flight` semaphore, the
//!   `-c`/`--per-host` connector, retries and redirects.
//! - [`engine`] holds the mio loop and the blocking and threaded workers; all of them
//!   read and write through [`transport`]: plain TCP, or TLS (`tls` feature).
//! - [`model::event`] is the one stream every report in [`report`] reads.
//!
//! # The client API
//!
//! For a program that embeds miodl, the face is re-exported here, at the crate root:
//!
//! - [`Downloader`], the builder with a method for every transfer option of the command
//!   line, and [`FileHandler`], called with a [`SavedFile`] (or a [`Url`] and a
//!   [`JobError`]) as each file finishes (see [`app::downloader`]);
//! - the options as plain data: [`TransferOptions`], [`CrawlOptions`], [`Credentials`],
//!   [`Engine`], [`Shard`];
//! - what a run returns: a [`Report`] (its [`Summary`] and [`Ending`]), or a
//!   [`StartError`] when it could not start; a [`Stop`] ends it from another thread;
//! - the errors inside those, to match on: [`UrlError`], [`HttpError`], [`PageError`],
//!   `TlsError` (feature `tls`), and the [`Phase`] a socket error happened in. Every
//!   error enum is `#[non_exhaustive]`: a `match` needs a `_` arm.
//!
//! [`app::run`] is the same run one step lower (check, then execute, as the command line
//! does). [`serve`] is the reference server the tests, examples and the demo run
//! against, not part of the client API.
#![warn(missing_docs)]

pub mod app;
pub mod engine;
pub mod model;
pub mod output;
pub mod policy;
pub mod protocol;
pub mod report;
pub mod serve;
pub mod transport;

pub use app::downloader::{Downloader, FileHandler, SavedFile};
pub use app::run::CrawlOptions;
pub use app::run::{Report, StartError};
pub use model::error::JobError;
pub use model::job::Phase;
pub use model::options::{Credentials, Engine, Headers, SpeedLimit, TransferOptions};
pub use model::resolve::{Family, Resolve};
pub use model::shard::Shard;
pub use model::stop::Stop;
pub use model::summary::Summary;
pub use policy::scheduler::Ending;
pub use protocol::http::HttpError;
pub use protocol::pager::{PageError, Style};
#[cfg(feature = "tls")]
pub use protocol::tls::TlsError;
pub use protocol::url::{Url, UrlError};
