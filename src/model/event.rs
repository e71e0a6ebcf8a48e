//! What happened during a run, as one stream of events.
//!
//! The engines and the scheduler report everything they do as an [`Event`]; the summary
//! (`--json`), the progress display, the `--events` lines and the `--trace` file are all
//! [`Observer`]s of that one stream, so they can never disagree. This is quinn's habit:
//! results leave the core as an enum that every consumer reads.
//!
//! Layer: `model`; may use `protocol` (see `src/model/mod.rs`).

use std::path::Path;
use std::time::{Duration, Instant};

use crate::model::error::JobError;
use crate::model::job::{ConnId, JobId, Phase};
use crate::protocol::url::Url;

/// One thing that happened. Borrowed data lives only for the call to the observers.
#[derive(Debug)]
pub enum Event<'a> {
    /// A job changed phase; `slot` is the connection it is on, if any.
    Phase {
        /// The job.
        job: JobId,
        /// Its current URL.
        url: &'a Url,
        /// True for a page of the list API, false for a file.
        is_page: bool,
        /// The phase it left.
        from: Phase,
        /// The phase it entered.
        to: Phase,
        /// The connection slot it is on (for on-socket phases).
        slot: Option<ConnId>,
    },
    /// A new socket was opened (its connect started).
    ConnectionOpened {
        /// The slot.
        slot: ConnId,
    },
    /// An open keep-alive socket was given a new request (an idle one, or with
    /// `--pipeline` a busy one it is queued on).
    ConnectionReused {
        /// The slot.
        slot: ConnId,
    },
    /// A socket was closed.
    ConnectionClosed {
        /// The slot.
        slot: ConnId,
    },
    /// A TLS handshake finished on a socket.
    TlsHandshake {
        /// The slot.
        slot: ConnId,
        /// True when the session was resumed from an earlier socket's.
        resumed: bool,
    },
    /// A host name was looked up (not an IP literal, not a `--resolve` pin): by the
    /// reactor once per host, by the blocking engines before each connect.
    Lookup {
        /// The name.
        host: &'a str,
        /// How long the lookup took (it started `took` before the event).
        took: Duration,
        /// How many addresses it found (of every family), or why it failed.
        found: Result<usize, &'a std::io::Error>,
    },
    /// Happy Eyeballs (RFC 8305): a job's connect had not finished within the attempt
    /// delay, or failed while another ran, so a second connect to the host's next
    /// address races it (the reactor only; the first to connect carries the job).
    HappyEyeballsRace {
        /// The socket of the new attempt.
        slot: ConnId,
    },
    /// A `CONNECT` tunnel through an HTTP proxy was opened on a socket (the proxy
    /// answered 2xx; TLS to the origin starts inside it).
    ProxyTunnel {
        /// The slot.
        slot: ConnId,
    },
    /// A request was written to a socket (retries and pages included).
    RequestSent {
        /// The job.
        job: JobId,
    },
    /// A response head arrived.
    ResponseHead {
        /// The job.
        job: JobId,
        /// Its status code.
        status: u16,
    },
    /// With `-v` only: a request head about to be written (`outgoing`), or a response
    /// head as it arrived, as its bytes (credentials in it are the printer's to redact).
    WireHead {
        /// The job.
        job: JobId,
        /// True for the request, false for the response.
        outgoing: bool,
        /// The head, status or request line to the blank line (a request's body left off).
        head: &'a [u8],
    },
    /// The feed will find no more files: the URL lists are read to their end, or the
    /// crawl's list has ended (its found ids may still wait to become jobs). Said once.
    FeedEnded {
        /// Files the feed made and will make, in all (the run's total).
        files: u64,
    },
    /// Body bytes arrived (counted whether kept or discarded).
    BodyBytes {
        /// How many.
        len: usize,
    },
    /// A reused keep-alive socket turned out to be closed by the server before it
    /// answered: the request is resent at once on a fresh socket, not counted as a try.
    StaleResend {
        /// The job.
        job: JobId,
        /// Its URL.
        url: &'a Url,
    },
    /// A retryable failure: the job waits `delay`, then tries again.
    Retry {
        /// The job.
        job: JobId,
        /// Its URL.
        url: &'a Url,
        /// Which try comes next (2 for the first retry).
        attempt: u32,
        /// The backoff before it.
        delay: Duration,
        /// Why.
        error: &'a JobError,
    },
    /// A 429 or 503 with `Retry-After` paused its host until `delay` has passed: the
    /// job tries again then, without using up one of `--retries`.
    Throttled {
        /// The job.
        job: JobId,
        /// Its URL.
        url: &'a Url,
        /// How long its host is paused.
        delay: Duration,
    },
    /// A redirect was followed.
    Redirect {
        /// The job.
        job: JobId,
        /// Where it pointed.
        to: &'a Url,
    },
    /// A file is complete under its final name.
    FileSaved {
        /// The job.
        job: JobId,
        /// The URL as first given.
        url: &'a Url,
        /// The final path.
        path: &'a Path,
        /// Its size.
        bytes: u64,
    },
    /// `-C`: the file about to be saved went on a part an earlier run (or try) left.
    Resumed {
        /// The job.
        job: JobId,
        /// Bytes of the part: not fetched again.
        bytes: u64,
    },
    /// A file was not requested: an earlier run saved it (`--skip-existing`).
    Skipped {
        /// The URL it would have been fetched from.
        url: &'a Url,
        /// The name it was saved under.
        name: &'a str,
    },
    /// A page of the list API was read.
    PageRead {
        /// The job.
        job: JobId,
        /// New ids it brought.
        new_ids: usize,
    },
    /// A job failed for good.
    Failed {
        /// The job.
        job: JobId,
        /// The URL as first given.
        url: &'a Url,
        /// True for a page of the list API.
        is_page: bool,
        /// Why.
        error: &'a JobError,
    },
    /// A job in flight was stopped by SIGINT/SIGTERM (its temporary removed).
    Stopped {
        /// The job.
        job: JobId,
    },
    /// A line of URL input that is not a URL miodl can fetch (counted as a failure).
    BadInput {
        /// Where the line came from (`FILE:LINE`).
        origin: &'a str,
        /// Why it was refused.
        message: &'a str,
    },
    /// The list API handed out an id that is not safe to use; it is skipped.
    IdRejected {
        /// The id, escaped for printing.
        id: &'a str,
        /// Why.
        reason: &'a str,
    },
}

/// A consumer of the event stream.
pub trait Observer {
    /// Called for each event, at `now`.
    fn on_event(&mut self, event: &Event<'_>, now: Instant);

    /// Called once when the run is over.
    fn finish(&mut self) {}
}

/// The fan-out: every observer of a run, called in order.
#[derive(Default)]
pub struct Observers {
    list: Vec<Box<dyn Observer + Send>>,
}

impl Observers {
    /// Adds an observer.
    pub fn push(&mut self, observer: Box<dyn Observer + Send>) {
        self.list.push(observer);
    }

    /// Hands an event to every observer.
    pub fn emit(&mut self, event: &Event<'_>, now: Instant) {
        for observer in &mut self.list {
            observer.on_event(event, now);
        }
    }

    /// Tells every observer the run is over.
    pub fn finish(&mut self) {
        for observer in &mut self.list {
            observer.finish();
        }
    }
}
