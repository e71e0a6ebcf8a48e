//! A job is one thing to fetch: a page of the list API or a file. This file names the
//! steps of its life.
//!
//! Every engine moves a job through the same phases, and every change of phase goes
//! through [`crate::policy::scheduler::Scheduler::set_phase`], the one place that reports it (so
//! `--trace` draws a span per phase and the docs can name each one):
//!
//! ```text
//!            ┌──────────────────────────── stale keep-alive socket: resend at once ──┐
//!            ▼                                                                       │
//!  Queued ──► Connecting ──► Sending ──► AwaitingHead ──► ReceivingBody ──► Saved    │
//!    ▲          │  (or reuse ─┘)  │            │                 │                   │
//!    │          └─────────────────┴────────────┴─────────────────┴── error ──────────┤
//!    │                                                                               ▼
//!    └──────────────── RetryWait (backoff, Retry-After) ◄──── retryable? ──── yes / no ──► Failed
//! ```
//!
//! A redirect sends the job back to `Queued` with its new URL.
//!
//! Layer: `model`; may use `protocol` (see `src/model/mod.rs`).

use std::fmt;
use std::time::Instant;

use crate::protocol::http::Method;
use crate::protocol::pager::PageId;
use crate::protocol::url::Url;

/// The identity of a job: its key in the scheduler's slab.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobId(pub usize);

/// The identity of a connection slot: its key in the engine's table of sockets. The
/// reactor's slab key (which is also the `mio::Token`), a worker's index in the threads
/// engine, 0 in the blocking engine. `--trace` draws one track per slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub usize);

/// What a job fetches, and so where its body goes.
#[derive(Debug, Clone)]
pub enum JobKind {
    /// A page of the list API, as its paging style asked for it; the answer is kept in
    /// memory and fed back to the pager.
    Page {
        /// The page's identity, the pager's own.
        page: PageId,
        /// The request body the style asked for (a form), if any.
        body: Option<Vec<u8>>,
    },
    /// A file, saved under `name` in the output directory.
    File {
        /// The final file name, already unique within the run and safe.
        name: String,
    },
}

/// Where a job is in its life. Variants are named for what the job waits on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for a request permit and a connection slot.
    Queued,
    /// Waiting for a new socket's connect to finish.
    Connecting,
    /// Writing the request.
    Sending,
    /// Request sent; waiting for the first byte of the answer.
    AwaitingHead,
    /// Head read; streaming the body.
    ReceivingBody,
    /// A retryable failure: waiting for the backoff to end.
    RetryWait {
        /// When the job may be queued again.
        until: Instant,
    },
    /// Done: the body is saved (a file given its final name, a page handed to the pager).
    Saved,
    /// Done: failed for good.
    Failed,
}

impl Phase {
    /// A short name for traces and docs.
    pub fn name(&self) -> &'static str {
        match self {
            Phase::Queued => "queued",
            Phase::Connecting => "connect",
            Phase::Sending => "send",
            Phase::AwaitingHead => "wait",
            Phase::ReceivingBody => "body",
            Phase::RetryWait { .. } => "retry-wait",
            Phase::Saved => "saved",
            Phase::Failed => "failed",
        }
    }

    /// True for the two phases a job never leaves.
    pub fn is_final(&self) -> bool {
        matches!(self, Phase::Saved | Phase::Failed)
    }

    /// True while the job holds a request permit (it is on a socket).
    pub fn is_in_flight(&self) -> bool {
        matches!(
            self,
            Phase::Connecting | Phase::Sending | Phase::AwaitingHead | Phase::ReceivingBody
        )
    }
}

impl Job {
    /// The URL of the next attempt: the redirect's target, or the original.
    pub fn url(&self) -> &Url {
        self.redirected.as_ref().unwrap_or(&self.original_url)
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One thing to fetch, with everything its retries and redirects need.
#[derive(Debug)]
pub struct Job {
    /// Page or file.
    pub kind: JobKind,
    /// The URL as first given (for reports).
    pub original_url: Url,
    /// Where a redirect sent it, if anywhere: the URL of the next attempt.
    pub redirected: Option<Url>,
    /// The method of the next attempt (a page's POST becomes GET after a 303).
    pub method: Method,
    /// Attempts that failed in a retryable way so far.
    pub failures: u32,
    /// Answers that paused the job's host (429 or 503 with `Retry-After`), retried
    /// without counting as failures, up to a bound.
    pub throttled: u32,
    /// Redirects followed so far.
    pub redirects: u32,
    /// Body bytes of the current answer read and dropped (error pages, redirects).
    pub discarded: u64,
    /// After a stale keep-alive socket, the resend must go on a fresh socket.
    pub needs_fresh_socket: bool,
    /// Where the job is.
    pub phase: Phase,
}
