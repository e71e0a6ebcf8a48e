//! The policy: which job goes next, and what an answer means.
//!
//! The scheduler owns every live job and decides, without touching a socket or a file,
//! and without reading a clock: time comes in as `now`, and the wall-clock time a
//! `Retry-After` date is compared with, and the jitter's seed, come in once with
//! [`Start`]. Engines carry out its decisions (`crate::engine::answer` stages and commits
//! the files it accepts):
//!
//! - **Order.** Page requests of the pager go before queued downloads, so discovery is
//!   never starved by the downloads it feeds ([`Scheduler::next_ready`]).
//! - **The semaphore.** `--max-in-flight` caps requests in flight, whatever the pool:
//!   each job on a socket holds a [`permit::Permit`], given back exactly once.
//!   (The connector limit, `-c`, caps sockets: that is the engines' pool's business.)
//! - **What an answer means.** A 2xx body is saved, a redirect re-queues the job at its
//!   new URL, 429/5xx and broken connections wait out a backoff and try again, anything
//!   else fails with a one-line reason ([`Scheduler::on_head`], [`Scheduler::on_end`],
//!   [`Scheduler::on_error`]). That half lives in [`verdict`].
//!
//! Every engine (reactor, blocking, threads) drives the same scheduler, which is why they
//! produce the same files and the same summary.
//!
//! Layer: `policy`; may use `protocol` and `model` (see `src/policy/mod.rs`).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use slab::Slab;

use crate::model::error::JobError;
use crate::model::event::{Event, Observer, Observers};
use crate::model::job::{ConnId, Job, JobId, JobKind, Phase};
use crate::model::options::TransferOptions;
use crate::model::partial::Partial;
use crate::model::summary::Summary;
use crate::policy::feed::{Feed, NewJob};
use crate::policy::names::safe_header_name;
use crate::policy::rate::Throttle;
use crate::policy::retry::Jitter;
use crate::protocol::http::{self, Method, Request, ResponseHead};
use crate::protocol::proxy::Route;
use crate::protocol::url::{Authority, Scheme, Url};
use permit::{Permit, Semaphore};
use verdict::Verdict;

pub mod permit;
#[cfg(test)]
mod tests;
pub mod verdict;

/// Queued files below which more URLs are read from the input.
const QUEUE_LOW: usize = 256;
/// Jobs sent back for want of a descriptor ([`Scheduler::on_error`]) with no job
/// finishing in between (and none other in flight), past which the next such error counts
/// as a try again: the bound that keeps a run whose every descriptor is taken by
/// something else from spinning.
const MAX_SHORT_IN_A_ROW: usize = 64;
/// Queued jobs [`Scheduler::next_ready`] looks past, at most, whose host must wait
/// (`--per-host-rate`, a `Retry-After` pause), for one of another host: the bound that
/// keeps a long queue for one slow host from costing a scan of it per request.
const MAX_RATE_SKIP: usize = 64;
/// What the engine should do with the rest of a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Keep reading.
    Continue,
    /// Enough was read: the socket is not reusable (`crate::engine::answer` then ends the answer
    /// with [`Scheduler::on_end`]).
    Enough,
}

/// What the engine does with the body of an answer whose head [`Scheduler::on_head`]
/// accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accept {
    /// A file download: stage the body, and commit it under [`Scheduler::file_name`],
    /// then report [`Scheduler::on_saved`].
    File,
    /// Anything else (a list page, an answer read only to be dropped): hand the bytes to
    /// [`Scheduler::on_body`], then report [`Scheduler::on_end`].
    Bytes,
    /// `-C`: a file whose body the engine may keep in a part if it is cut
    /// (`crate::output::partial`); then as [`Accept::File`].
    Keep,
    /// `-C`: a `206` that goes on the part an earlier try or run left: the body goes
    /// after its first [`Scheduler::appending_at`] bytes; then as [`Accept::File`].
    Append,
    /// `-C`: a `416` for a part that already holds the whole length: drop the body and
    /// commit the part as it is; then as [`Accept::File`].
    Whole,
}

/// What the scheduler is given once, at its start, instead of reading clocks: the
/// moment the run starts on both clocks, and the seed of the retry jitter (the
/// application reads the clocks: `crate::app::run`; tests make one up).
#[derive(Debug, Clone, Copy)]
pub struct Start {
    /// The run's start on the monotonic clock (the `now` of the first call).
    pub instant: Instant,
    /// The same moment on the wall clock (to compare `Retry-After` dates with).
    pub wall: SystemTime,
    /// Seeds the retry jitter.
    pub jitter_seed: u64,
}

impl Start {
    /// The wall-clock time at `now`.
    pub fn wall_at(&self, now: Instant) -> SystemTime {
        self.wall + now.saturating_duration_since(self.instant)
    }
}

/// What the scheduler keeps beside a live job while it is on a socket.
#[derive(Debug, Default)]
struct OnSocket {
    /// What the answer's head decided for its body.
    verdict: Option<Verdict>,
    /// Its `--max-in-flight` permit.
    permit: Option<Permit>,
    /// `-J`: the name claimed for its file when its first accepted head was read (kept
    /// across retries, so a retry does not claim a second name).
    named: Option<String>,
    /// `-C`: where this try stands with a part.
    resume: PartMark,
}

/// `-C`: where a try stands with the part of its file.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum PartMark {
    /// No part in play.
    #[default]
    None,
    /// The request asked for the rest after the part's first `N` bytes.
    Asked(u64),
    /// The accepted answer goes on a part of this many bytes (counted when saved).
    Appending(u64),
}

/// How a run ended, for the exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Every job finished.
    Finished,
    /// Output could not be written: the run stopped early (exit status 3).
    OutputFailed,
    /// A signal stopped the run (exit status 128 + signal).
    Interrupted(i32),
}

/// The live jobs of a run and the policy that moves them.
pub struct Scheduler {
    options: TransferOptions,
    feed: Feed,
    jobs: Slab<Job>,
    on_socket: Slab<OnSocket>,
    ready_pages: VecDeque<JobId>,
    ready_files: VecDeque<JobId>,
    backing_off: BinaryHeap<Reverse<(Instant, JobId)>>,
    /// Jobs set aside during one dispatch round ([`Scheduler::defer`]).
    deferred: Vec<JobId>,
    /// `--rate`, `--per-host-rate`, and the hosts a `Retry-After` paused.
    throttle: Throttle,
    /// Jobs looked past in one [`Scheduler::next_ready`] (their host must wait).
    rate_skipped: Vec<JobId>,
    /// When the last [`Scheduler::next_ready`] that held a job back for a rate or a
    /// pause would find one allowed ([`Scheduler::next_deadline`]).
    rate_wake: Option<Instant>,
    semaphore: Semaphore,
    /// Scheme, host and port of the URLs named on the command line (and, as it is
    /// read, on stdin): the only ones that get the credentials.
    trusted_hosts: Vec<Authority>,
    /// The `Host` value of the request being encoded.
    host_scratch: HostScratch,
    authorization: Option<String>,
    /// `-H`, `-A` and `--compressed`, rendered once; `None` when there are none.
    custom: Option<http::CustomHeaders>,
    jitter: Jitter,
    start: Start,
    /// Where every event goes: the counters of the summary, then the observers.
    reports: Reports,
    ending: Ending,
    scratch: Vec<NewJob>,
    /// A job was sent back for want of a descriptor since the engine last asked
    /// ([`Scheduler::take_descriptor_shortage`]).
    short_of_descriptors: bool,
    /// Jobs sent back for want of a descriptor since a job last finished.
    short_in_a_row: usize,
    /// File jobs the feed made so far.
    files_fed: u64,
    /// [`Event::FeedEnded`] was said.
    feed_ended: bool,
    /// Jobs waiting for their host's lookup ([`Scheduler::await_lookup`]): out of the
    /// queues, holding no permit, still alive.
    awaiting_lookup: usize,
    /// `-C`: the parts earlier runs left, by final name ([`Scheduler::resume_parts`]);
    /// empty otherwise, and then no request looks here.
    partials: HashMap<String, Partial>,
}

impl Scheduler {
    /// A scheduler for a run. `trusted` are the hosts of the URLs given on the command
    /// line: they, and only they, receive the `-u` credentials.
    pub fn new(
        options: TransferOptions,
        mut feed: Feed,
        trusted: Vec<Authority>,
        observers: Observers,
        start: Start,
    ) -> Scheduler {
        let custom = http::CustomHeaders::new(
            options
                .headers
                .0
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str())),
            options.compressed,
        );
        // A custom `Authorization` (or `-H 'Authorization:'`) stands in for `-u`'s.
        let authorization = options
            .credentials
            .as_ref()
            .filter(|_| !custom.replaces_authorization())
            .map(|c| http::basic_authorization(&c.user, &c.password));
        let custom = (!custom.is_empty()).then_some(custom);
        if options.remote_header_name {
            feed.name_after_answer();
        }
        let throttle = Throttle::new(options.rate, options.per_host_rate);
        let mut scheduler = Scheduler {
            throttle,
            semaphore: Semaphore::new(options.max_in_flight),
            options,
            feed,
            jobs: Slab::new(),
            on_socket: Slab::new(),
            ready_pages: VecDeque::new(),
            ready_files: VecDeque::new(),
            backing_off: BinaryHeap::new(),
            deferred: Vec::new(),
            rate_skipped: Vec::new(),
            rate_wake: None,
            trusted_hosts: trusted,
            host_scratch: HostScratch::default(),
            authorization,
            custom,
            jitter: Jitter::new(start.jitter_seed),
            start,
            reports: Reports {
                summary: Summary::default(),
                observers,
            },
            ending: Ending::Finished,
            scratch: Vec::new(),
            short_of_descriptors: false,
            short_in_a_row: 0,
            files_fed: 0,
            feed_ended: false,
            awaiting_lookup: 0,
            partials: HashMap::new(),
        };
        scheduler.refill(start.instant);
        scheduler
    }

    /// The options of the run.
    pub fn options(&self) -> &TransferOptions {
        &self.options
    }

    /// The counters so far.
    pub fn summary(&self) -> &Summary {
        &self.reports.summary
    }

    /// The feed (for the pager's statistics at the end).
    pub fn feed(&self) -> &Feed {
        &self.feed
    }

    /// Jobs still alive: at the end of a stopped run, those never finished.
    pub fn unfinished(&self) -> usize {
        self.jobs.len()
    }

    /// How the run ended (or is ending).
    pub fn ending(&self) -> Ending {
        self.ending
    }

    /// Tells the observers the run is over (the console ends its status line).
    pub fn finish_observers(&mut self, now: Instant) {
        self.say_feed_ended(now);
        self.reports.observers.finish();
    }

    /// Reports an event to the summary and every observer.
    pub fn emit(&mut self, event: Event<'_>, now: Instant) {
        self.reports.emit(&event, now);
    }

    /// The next job that may go on a socket now, pages first. It holds a request permit
    /// until [`Scheduler::on_saved`], [`Scheduler::on_end`], [`Scheduler::on_error`],
    /// [`Scheduler::on_stale`], [`Scheduler::put_back`] or [`Scheduler::defer`].
    pub fn next_ready(&mut self, now: Instant) -> Option<JobId> {
        if self.ending != Ending::Finished {
            return None;
        }
        self.rate_wake = None;
        let permit = self.semaphore.try_acquire()?;
        while let Some(&Reverse((due, job))) = self.backing_off.peek() {
            if due > now {
                break;
            }
            self.backing_off.pop();
            self.set_phase(job, Phase::Queued, None, now);
            self.queue_for(job).push_back(job);
        }
        if self.ready_pages.is_empty() {
            self.refill(now);
        }
        let Some(job) = self.pop_allowed(now) else {
            self.semaphore.release(permit);
            return None;
        };
        let held = self.on_socket[job.0].permit.replace(permit);
        debug_assert!(held.is_none(), "a queued job held a permit");
        Some(job)
    }

    /// The next queued job (pages first) whose request the rates and pauses allow at
    /// `now`, counted by them; `None` if there is none, with [`Scheduler::next_deadline`]
    /// then saying when to ask again. Looks past at most [`MAX_RATE_SKIP`] jobs whose host
    /// must wait, so that they do not hold up other hosts.
    fn pop_allowed(&mut self, now: Instant) -> Option<JobId> {
        if self.throttle.is_idle() {
            return self.pop_queued();
        }
        if let Some(at) = self.throttle.global_wait(now) {
            self.rate_wake = Some(at);
            return None;
        }
        if !self.throttle.watches_hosts() {
            let job = self.pop_queued()?;
            self.throttle.take(job.0, None, now);
            return Some(job);
        }
        self.throttle.forget_expired(now);
        let found = loop {
            let Some(job) = self.pop_queued() else {
                break None;
            };
            let host = self.jobs[job.0].url().authority_key();
            let Some(at) = self.throttle.host_wait(&host, now) else {
                self.throttle.take(job.0, Some(&host), now);
                break Some(job);
            };
            self.rate_wake = Some(self.rate_wake.map_or(at, |t| t.min(at)));
            self.rate_skipped.push(job);
            if self.rate_skipped.len() >= MAX_RATE_SKIP {
                break None;
            }
        };
        // Those looked past go back first, in their order.
        while let Some(job) = self.rate_skipped.pop() {
            self.queue_for(job).push_front(job);
        }
        found
    }

    fn pop_queued(&mut self) -> Option<JobId> {
        self.ready_pages
            .pop_front()
            .or_else(|| self.ready_files.pop_front())
    }

    /// Gives back the job's permit: a job that holds none (reported twice) gives back
    /// nothing.
    #[inline]
    fn release(&mut self, job: JobId) {
        let permit = self.on_socket[job.0].permit.take();
        debug_assert!(permit.is_some(), "job {} released twice", job.0);
        if let Some(permit) = permit {
            self.semaphore.release(permit);
        }
    }

    /// Gives back a job [`Scheduler::next_ready`] handed out that could not be placed on
    /// a socket (the pool is full): it goes first next time.
    pub fn put_back(&mut self, job: JobId) {
        self.release(job);
        self.throttle.refund(job.0);
        self.queue_for(job).push_front(job);
    }

    /// Sets a job aside for the rest of a dispatch round (its host is at `--per-host`),
    /// giving its permit back so jobs for other hosts can still go.
    pub fn defer(&mut self, job: JobId) {
        self.release(job);
        self.throttle.refund(job.0);
        self.deferred.push(job);
    }

    /// Ends a dispatch round: the jobs set aside go back first, in their order.
    pub fn restore_deferred(&mut self) {
        while let Some(job) = self.deferred.pop() {
            self.queue_for(job).push_front(job);
        }
    }

    /// A job [`Scheduler::next_ready`] handed out waits for its host's name lookup
    /// (the engine's pool keeps its id): it gives its permit back, so that jobs of other
    /// hosts go on, and holds no socket. [`Scheduler::lookup_done`] or
    /// [`Scheduler::lookup_failed`] brings it back.
    pub fn await_lookup(&mut self, job: JobId) {
        self.release(job);
        self.throttle.refund(job.0);
        self.awaiting_lookup += 1;
    }

    /// The lookup `job` waited for found its host: it goes first next time.
    pub fn lookup_done(&mut self, job: JobId) {
        self.awaiting_lookup -= 1;
        self.queue_for(job).push_front(job);
    }

    /// True when no job is left: nothing queued, waiting, in flight, or still to come.
    pub fn is_finished(&self) -> bool {
        self.semaphore.held() == 0 && self.wants_no_socket()
    }

    /// True when no job waits for a socket and none is still to come: nothing queued,
    /// backing off or waiting for a lookup, the feed exhausted (jobs may still be in
    /// flight). A socket that goes idle then has nothing to carry, and the engine closes
    /// it at once, while answers still arrive, rather than at the end of the run.
    pub fn wants_no_socket(&self) -> bool {
        self.ending != Ending::Finished
            || (self.awaiting_lookup == 0
                && self.ready_pages.is_empty()
                && self.ready_files.is_empty()
                && self.backing_off.is_empty()
                && self.feed.is_exhausted())
    }

    /// The earliest moment a backing-off job becomes ready, or a job the rates or a
    /// paused host held back at the last [`Scheduler::next_ready`] may go: when `poll`
    /// (or a waiting worker) wakes.
    pub fn next_deadline(&self) -> Option<Instant> {
        let backoff = self.backing_off.peek().map(|Reverse((due, _))| *due);
        match (backoff, self.rate_wake) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Stops the run: nothing new is handed out. In-flight jobs end when the engine
    /// reports them (as [`JobError::Interrupted`] when it cuts them short).
    pub fn stop(&mut self, ending: Ending) {
        if self.ending == Ending::Finished {
            self.ending = ending;
        }
    }

    /// The job's current URL.
    pub fn url(&self, job: JobId) -> &Url {
        self.jobs[job.0].url()
    }

    /// How the job's request reaches its server: directly, or through an HTTP proxy
    /// (`-x`, `--noproxy`; [`Route::Direct`] at once when none is set).
    #[inline]
    pub fn route(&self, job: JobId) -> Route<'_> {
        self.options.proxy.route(self.jobs[job.0].url())
    }

    /// An error met while connecting `job`'s socket, naming the proxy when the socket
    /// goes to one ([`JobError::via_proxy`]).
    pub fn connect_error(&self, job: JobId, error: JobError) -> JobError {
        match self.route(job) {
            Route::Forward(proxy) | Route::Tunnel(proxy) => error.via_proxy(proxy),
            Route::Direct => error,
        }
    }

    /// The job's URL and how it goes: what the engines key a socket by
    /// ([`Pool::intern_route`](crate::policy::pool::Pool::intern_route)).
    #[inline]
    pub fn url_and_route(&self, job: JobId) -> (&Url, Route<'_>) {
        let url = self.jobs[job.0].url();
        (url, self.options.proxy.route(url))
    }

    /// True if the job's next request must go on a new socket (after a stale one).
    pub fn needs_fresh_socket(&self, job: JobId) -> bool {
        self.jobs[job.0].needs_fresh_socket
    }

    /// The name a file job's body is committed under (its `-o` directory's entry).
    pub fn file_name(&self, job: JobId) -> &str {
        if let Some(named) = &self.on_socket[job.0].named {
            return named;
        }
        self.planned_name(job)
    }

    /// The name a file job was made with: its final name, or with `-J` the fallback.
    fn planned_name(&self, job: JobId) -> &str {
        match &self.jobs[job.0].kind {
            JobKind::File { name } => name,
            JobKind::Page { .. } => unreachable!("only file jobs are accepted as files"),
        }
    }

    /// `--skip-existing`: what the record of saved files keys a file job's line by, the
    /// URL as first given (get) or the id (crawl); `None` without the option, when
    /// nothing is recorded.
    pub fn record_key(&self, job: JobId) -> Option<String> {
        if !self.options.skip_existing {
            return None;
        }
        Some(if self.feed.keys_are_ids() {
            self.planned_name(job).to_string()
        } else {
            self.jobs[job.0].original_url.to_string()
        })
    }

    /// `-C`: the parts an earlier run left in the output directory. A file job whose
    /// name and URL (as given) match one asks for the rest of it.
    pub fn resume_parts(&mut self, parts: Vec<Partial>) {
        self.partials = parts.into_iter().map(|p| (p.name.clone(), p)).collect();
    }

    /// `-C`: what names a file job's part and its description: the name it was made
    /// with (with `-J`, the fallback: the part is found before the answer names the
    /// file) and its URL as given.
    pub fn part_of(&self, job: JobId) -> (&str, &Url) {
        (self.planned_name(job), &self.jobs[job.0].original_url)
    }

    /// `-C`: the bytes already in the part an [`Accept::Append`] answer goes on.
    pub fn appending_at(&self, job: JobId) -> u64 {
        match self.on_socket[job.0].resume {
            PartMark::Appending(at) => at,
            _ => 0,
        }
    }

    /// `-C`: the part this run just opened for `job` from byte 0 (it may resume it on
    /// a retry).
    pub fn part_kept(&mut self, part: Partial) {
        self.partials.insert(part.name.clone(), part);
    }

    /// `-C`: where the part `job` appends to stores its size when dropped (made on
    /// first ask).
    pub fn part_progress(&mut self, job: JobId) -> Option<Arc<AtomicU64>> {
        let JobKind::File { name } = &self.jobs[job.0].kind else {
            return None;
        };
        let part = self.partials.get_mut(name.as_str())?;
        let have = part.have;
        let progress = part
            .progress
            .get_or_insert_with(|| Arc::new(AtomicU64::new(have)));
        Some(Arc::clone(progress))
    }

    /// `-C`: the part `job` may resume, if there is one for its name and URL.
    fn part_to_resume(&self, job: JobId) -> Option<&Partial> {
        let entry = &self.jobs[job.0];
        let JobKind::File { name } = &entry.kind else {
            return None;
        };
        let part = self.partials.get(name.as_str())?;
        (entry.method == Method::Get && part.url == entry.original_url.to_string()).then_some(part)
    }

    /// `-C`: forgets the part of `job`, if the run knew one: `true` when it did (the
    /// engine then removes it: a body that cannot be kept replaces it).
    pub fn drop_part(&mut self, job: JobId) -> bool {
        if self.partials.is_empty() {
            return false;
        }
        let JobKind::File { name } = &self.jobs[job.0].kind else {
            return false;
        };
        self.partials.remove(name.as_str()).is_some()
    }

    /// `-C`: the `Range` start and `If-Range` value of `job`'s request, if it resumes a
    /// part (out of line: without parts it is never called).
    #[cold]
    #[inline(never)]
    fn range_of(&self, job: JobId) -> Option<(u64, &str)> {
        self.part_to_resume(job)
            .map(|part| (part.have_now(), part.validator.as_str()))
    }

    /// `-C`: the part of `job` is not to be resumed any more (its answer starts over,
    /// or it is saved).
    pub(super) fn forget_part(&mut self, job: JobId) {
        if let JobKind::File { name } = &self.jobs[job.0].kind {
            self.partials.remove(name.as_str());
        }
    }

    /// `-J`: claims the file's name from the answer's `Content-Disposition`, made safe,
    /// or (when it has none usable) the name the job was made with; once per job.
    fn name_from_answer(&mut self, job: JobId, head: &ResponseHead) {
        if self.on_socket[job.0].named.is_some() {
            return;
        }
        let suggested = head
            .header("content-disposition")
            .and_then(http::disposition_filename)
            .and_then(|raw| safe_header_name(&raw));
        let name = suggested.unwrap_or_else(|| self.planned_name(job).to_string());
        let name = self.feed.names().claim(name);
        self.on_socket[job.0].named = Some(name);
    }

    /// Reports the files the feed skipped since the last call (`--skip-existing`), and
    /// how many.
    fn report_skipped(&mut self, now: Instant) -> usize {
        if !self.options.skip_existing {
            // Nothing is ever skipped: no per-refill work for the common run.
            return 0;
        }
        let skipped = self.feed.take_skipped();
        for file in &skipped {
            let event = Event::Skipped {
                url: &file.url,
                name: &file.name,
            };
            self.emit(event, now);
        }
        // A skipped file is one of the run's files: the progress line's total counts it.
        self.files_fed += skipped.len() as u64;
        skipped.len()
    }

    /// The wall-clock time at `now` (for `Retry-After` dates).
    fn wall_at(&self, now: Instant) -> SystemTime {
        self.start.wall_at(now)
    }

    /// Requests in flight now (permits held): for the tests (engines ask `next_ready`).
    #[cfg(test)]
    pub fn in_flight(&self) -> usize {
        self.semaphore.held()
    }

    /// Is the job's request a GET (one that may be pipelined, RFC 9112 §9.3.2)?
    pub fn is_get(&self, job: JobId) -> bool {
        self.jobs[job.0].method == Method::Get
    }

    /// Are there credentials (`-u`, a custom `Authorization` or `Cookie`) that only the
    /// trusted hosts may get?
    fn sends_secrets(&self) -> bool {
        self.authorization.is_some() || self.custom.as_ref().is_some_and(|c| c.has_secret())
    }

    /// Appends the job's request to `out` and returns its method (nothing is appended
    /// on an error).
    pub fn encode_request(
        &mut self,
        id: JobId,
        out: &mut Vec<u8>,
        now: Instant,
    ) -> Result<Method, JobError> {
        let job = &self.jobs[id.0];
        let url = job.url();
        let (scheme, host, port) = (url.scheme(), url.host(), url.port());
        // The credentials (`-u`, a custom `Authorization` or `Cookie`) go only to the
        // hosts named on the command line; asked only when there are some.
        let trusted = self.sends_secrets()
            && self
                .trusted_hosts
                .iter()
                .any(|t| t.scheme == scheme && t.host == host && t.port == port);
        let authorization = self.authorization.as_deref().filter(|_| trusted);
        // Through an HTTP proxy, a plain URL goes in absolute form with the proxy's
        // credentials; a tunnelled one is written as to the origin (inside TLS).
        let forward = match self.options.proxy.route(url) {
            Route::Forward(proxy) => Some(proxy.authorization()),
            Route::Direct | Route::Tunnel(_) => None,
        };
        self.host_scratch.write_for(url);
        // A page's body goes with its POST; a redirect that made it a GET drops it.
        let (method, form_body) = match &job.kind {
            JobKind::Page {
                body: Some(body), ..
            } if job.method == Method::Post => (Method::Post, Some(body.as_slice())),
            _ => (job.method, None),
        };
        // `-C`: the rest of a part an earlier run left (a map lookup only when there are).
        let range = if self.partials.is_empty() {
            None
        } else {
            self.range_of(id)
        };
        let ranged = range.map(|(from, _)| from);
        let request = Request {
            range,
            method,
            target: url.target(),
            host: self.host_scratch.as_str(),
            keep_alive: self.options.keep_alive,
            authorization,
            form_body,
            custom: self.custom.as_ref(),
            trusted,
            absolute: forward.is_some(),
            proxy_authorization: forward.flatten(),
        };
        let before = out.len();
        if let Err(e) = http::encode(&request, out) {
            out.truncate(before);
            return Err(JobError::Http(e));
        }
        if self.options.resume {
            self.on_socket[id.0].resume = ranged.map_or(PartMark::None, PartMark::Asked);
        }
        if self.options.verbose {
            self.report_sent_head(id, &out[before..], now);
        }
        Ok(method)
    }

    /// `-v`: the head of a request just encoded (`sent`), to its blank line (a page's
    /// form body is not a head).
    fn report_sent_head(&mut self, id: JobId, sent: &[u8], now: Instant) {
        let end = sent
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map_or(sent.len(), |at| at + 4);
        let event = Event::WireHead {
            job: id,
            outgoing: true,
            head: &sent[..end],
        };
        self.reports.emit(&event, now);
    }

    /// Moves a job to `to`, reporting the change: the one place phases change.
    pub fn set_phase(&mut self, job: JobId, to: Phase, slot: Option<ConnId>, now: Instant) {
        let entry = &mut self.jobs[job.0];
        let from = std::mem::replace(&mut entry.phase, to);
        let is_page = matches!(entry.kind, JobKind::Page { .. });
        let event = Event::Phase {
            job,
            url: entry.url(),
            is_page,
            from,
            to,
            slot,
        };
        self.reports.emit(&event, now);
    }

    /// Asks the feed for work: more URLs (or a crawl's found ids) while fewer than
    /// [`QUEUE_LOW`] files wait (so a long list is read as it goes, never whole), and the
    /// pager's next pages while the crawl's bound of waiting files allows.
    fn refill(&mut self, now: Instant) {
        let queued = self.ready_files.len();
        let want = QUEUE_LOW.saturating_sub(queued);
        let mut new_jobs = std::mem::take(&mut self.scratch);
        loop {
            self.feed.refill(want, queued, &mut new_jobs);
            for bad in self.feed.take_bad_lines() {
                let event = Event::BadInput {
                    origin: &bad.origin,
                    message: &bad.message,
                };
                self.emit(event, now);
            }
            let skipped = self.report_skipped(now);
            // A feed that stopped at its bound of skipped files, with no job yet, is
            // asked again: skipped files are reported a batch at a time, never held all.
            if !new_jobs.is_empty() || skipped == 0 || self.feed.is_exhausted() {
                break;
            }
        }
        self.add_jobs(&mut new_jobs, now);
        self.scratch = new_jobs;
        self.say_feed_ended(now);
    }

    /// Says [`Event::FeedEnded`] once, when the feed will find no more files (the
    /// progress line's total for a list read as it goes, and a crawl's end of list).
    fn say_feed_ended(&mut self, now: Instant) {
        if self.feed_ended {
            return;
        }
        if let Some(left) = self.feed.files_left_when_ended() {
            self.feed_ended = true;
            let files = self.files_fed + left;
            self.emit(Event::FeedEnded { files }, now);
        }
    }

    fn add_jobs(&mut self, new_jobs: &mut Vec<NewJob>, now: Instant) {
        for NewJob {
            kind,
            url,
            method,
            trust_host,
        } in new_jobs.drain(..)
        {
            self.files_fed += u64::from(matches!(kind, JobKind::File { .. }));
            if trust_host && self.sends_secrets() {
                let host = url.authority_key();
                if !self.trusted_hosts.contains(&host) {
                    self.trusted_hosts.push(host);
                }
            }
            let key = self.jobs.insert(Job {
                kind,
                original_url: url,
                redirected: None,
                method,
                failures: 0,
                throttled: 0,
                redirects: 0,
                discarded: 0,
                needs_fresh_socket: false,
                phase: Phase::Queued,
            });
            let verdict_key = self.on_socket.insert(OnSocket::default());
            debug_assert_eq!(key, verdict_key);
            let job = JobId(key);
            self.set_phase(job, Phase::Queued, None, now);
            self.queue_for(job).push_back(job);
        }
    }

    /// True once after a job was sent back because no descriptor could be made
    /// ([`Scheduler::on_error`]): the engine then holds fewer sockets open (the
    /// reactor's pool lowers its limit to the sockets open now).
    pub fn take_descriptor_shortage(&mut self) -> bool {
        std::mem::take(&mut self.short_of_descriptors)
    }

    /// Forgets a finished job, handing back its record for the last report.
    fn remove(&mut self, job: JobId) -> Job {
        // A job finished: whatever it held is closed or about to be.
        self.short_in_a_row = 0;
        self.on_socket.remove(job.0);
        self.jobs.remove(job.0)
    }

    fn queue_for(&mut self, job: JobId) -> &mut VecDeque<JobId> {
        match self.jobs[job.0].kind {
            JobKind::Page { .. } => &mut self.ready_pages,
            JobKind::File { .. } => &mut self.ready_files,
        }
    }
}

/// The summary and the observers: every event reaches both, in this order, from here
/// alone (a field of its own, so an event can borrow a job while it is reported).
struct Reports {
    summary: Summary,
    observers: Observers,
}

impl Reports {
    fn emit(&mut self, event: &Event<'_>, now: Instant) {
        self.summary.on_event(event, now);
        self.observers.emit(event, now);
    }
}

/// The `Host` value of the last request encoded, reused as it is by the next request to
/// the same scheme, host and port (no allocation, nor any writing, per request).
#[derive(Debug, Default)]
struct HostScratch {
    /// The value.
    text: String,
    /// What it was written for.
    scheme: Option<Scheme>,
    port: u16,
    host: String,
}

impl HostScratch {
    /// Makes it the `Host` value for `url`, written again only if it is another host's.
    fn write_for(&mut self, url: &Url) {
        let (scheme, port) = (Some(url.scheme()), url.port());
        if self.scheme != scheme || self.port != port || self.host != url.host() {
            self.text.clear();
            url.write_host_header(&mut self.text);
            (self.scheme, self.port) = (scheme, port);
            self.host.clear();
            self.host.push_str(url.host());
        }
    }

    /// The value.
    fn as_str(&self) -> &str {
        &self.text
    }
}
