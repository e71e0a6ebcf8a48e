//! The recording half of `--trace`: an observer that turns phase changes into spans.
//!
//! A span closes when its job leaves the phase, so the recorder remembers, per live job,
//! the phase it is in, since when, and the last socket it was on (a `Phase` event names
//! the slot only when the phase starts on a socket). Records stay small (numbers and an
//! occasional error text, no JSON values) until `finish()` writes them out.
//!
//! Layer: `report`; may use `protocol`, `model`, `policy`, `output`, `transport` and `engine` (see `src/report/mod.rs`).

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::{PAGER_TID, QUEUE_TID, SOCKET_TID_BASE};
use crate::model::event::{Event, Observer};
use crate::model::job::{ConnId, JobId, Phase};

mod write;

/// An [`Observer`] that writes the run as a Chrome trace-event JSON file when it ends.
pub struct TraceRecorder {
    path: PathBuf,
    started: Instant,
    /// Everything that will become a trace event, in the order it happened.
    records: Vec<Record>,
    /// Per job incarnation (a `JobId` is a slab key and comes back for a later job):
    /// whether it is a page, and its URL once an event names it.
    jobs: Vec<JobMeta>,
    /// Live jobs, by id.
    live: HashMap<JobId, Live>,
    /// Every slot that carried a span or a mark.
    slots: BTreeSet<usize>,
    counts: Counts,
    /// The latest event time, in microseconds since `started`.
    last_us: u64,
}

/// What the recorder knows of one job incarnation.
struct JobMeta {
    job: usize,
    is_page: bool,
    url: Option<Box<str>>,
}

/// A job between its first phase and its end.
struct Live {
    serial: u32,
    phase: Phase,
    since_us: u64,
    /// The last socket it was on.
    last_slot: Option<ConnId>,
    /// The socket of the phase it just left, if that phase was on a socket.
    left_slot: Option<ConnId>,
}

/// What [`Live::change_phase`] reports of the phase a job left.
struct LeftPhase {
    phase: Phase,
    since_us: u64,
    serial: u32,
    /// The socket it was on, if any.
    slot: Option<ConnId>,
}

/// Which of a job's URLs an event names.
#[derive(Clone, Copy, PartialEq, Eq)]
enum WhichUrl {
    /// The URL of the current attempt (a redirect's target, once followed).
    Current,
    /// The URL as first given (saved, failed): it wins over the current one.
    Original,
}

/// Where an event is drawn.
#[derive(Clone, Copy)]
enum Track {
    Socket(usize),
    Queue,
    Pager,
}

impl Track {
    /// The thread id the track is written on.
    fn tid(self) -> u64 {
        match self {
            Track::Socket(n) => SOCKET_TID_BASE + n as u64,
            Track::Queue => QUEUE_TID,
            Track::Pager => PAGER_TID,
        }
    }
}

/// One counter series' new values.
#[derive(Clone, Copy)]
enum Sample {
    /// `sockets {open}`.
    Sockets { open: u32 },
    /// `requests {in flight}`.
    InFlight { requests: u32 },
    /// `jobs {queued, retry-wait}`.
    Jobs { queued: u32, retry_wait: u32 },
}

impl Sample {
    /// True if both are values of the same series.
    fn same_series(self, other: Sample) -> bool {
        std::mem::discriminant(&self) == std::mem::discriminant(&other)
    }
}

/// One future trace event.
enum Record {
    /// A job's phase on a socket (`ph: "X"`).
    Span {
        slot: usize,
        phase: &'static str,
        serial: u32,
        ts: u64,
        dur: u64,
    },
    /// A job waiting, queued or backing off (an async `b`/`e` pair).
    Wait {
        phase: &'static str,
        serial: u32,
        ts: u64,
        dur: u64,
    },
    /// Something that happened at one moment (`ph: "i"`).
    Mark {
        name: &'static str,
        track: Track,
        serial: Option<u32>,
        ts: u64,
        detail: Detail,
    },
    /// A counter's new values (`ph: "C"`).
    Count { ts: u64, sample: Sample },
    /// A host name's lookup (an async `b`/`e` pair on the "dns" track; lookups of
    /// different hosts overlap).
    Lookup {
        /// Its number among the run's lookups (the pair's id).
        serial: u32,
        host: Box<str>,
        ts: u64,
        dur: u64,
        /// How many addresses it found, or why it failed.
        found: Result<usize, Box<str>>,
    },
}

/// The "why" of a mark.
enum Detail {
    /// A retry: which try comes next, after how long, and why.
    Retry {
        attempt: u32,
        delay_ms: u64,
        error: Box<str>,
    },
    /// A redirect's target.
    Redirect { to: Box<str> },
    /// A `Retry-After` pause of the job's host, in milliseconds.
    Throttled { delay_ms: u64 },
    /// Why the job failed.
    Error(Box<str>),
    /// Nothing to add (a stale resend).
    None,
}

impl Detail {
    /// A retry's detail: the next try, its backoff in milliseconds, the error.
    fn retry(attempt: u32, delay: Duration, error: &dyn fmt::Display) -> Detail {
        Detail::Retry {
            attempt,
            delay_ms: delay.as_millis() as u64,
            error: error.to_string().into_boxed_str(),
        }
    }

    /// A failure's detail: its error text.
    fn error(error: &dyn fmt::Display) -> Detail {
        Detail::Error(error.to_string().into_boxed_str())
    }
}

/// Running totals: the counters' current values and the run's numbers.
#[derive(Default)]
struct Counts {
    sockets_open: u32,
    /// Jobs per waiting or in-flight phase.
    phases: PhaseCounts,
    requests: u64,
    sockets_opened: u64,
    saved: u64,
    failed: u64,
    retries: u64,
    stale_resends: u64,
    redirects: u64,
    proxy_tunnels: u64,
    lookups: u64,
    throttled: u64,
    happy_eyeballs_races: u64,
}

/// How many jobs are in flight, queued, and backing off.
#[derive(Default, Clone, Copy, PartialEq, Eq)]
struct PhaseCounts {
    in_flight: u32,
    queued: u32,
    retry_wait: u32,
}

impl TraceRecorder {
    /// A recorder that writes to `path` when the run ends; times count from `started`.
    pub fn new(path: PathBuf, started: Instant) -> Self {
        TraceRecorder {
            path,
            started,
            records: Vec::new(),
            jobs: Vec::new(),
            live: HashMap::new(),
            slots: BTreeSet::new(),
            counts: Counts::default(),
            last_us: 0,
        }
    }

    /// The time of `now` in microseconds since the start; moves `last_us` up to it.
    fn event_time_us(&mut self, now: Instant) -> u64 {
        let us = now.saturating_duration_since(self.started).as_micros() as u64;
        self.last_us = self.last_us.max(us);
        us
    }

    /// A job changed phase: close the span of the phase it left, open the next.
    fn on_phase(
        &mut self,
        job: JobId,
        is_page: bool,
        from: Phase,
        to: Phase,
        slot: Option<ConnId>,
        ts: u64,
    ) {
        let before = self.counts.phases;
        // A new job enters as Queued -> Queued; a reused id is a new incarnation.
        let known = self.live.contains_key(&job);
        if (from == Phase::Queued && to == Phase::Queued) || !known {
            self.start_incarnation(job, is_page, to, slot, ts);
        } else if let Some(live) = self.live.get_mut(&job) {
            let left = live.change_phase(to, slot, ts);
            self.close_span(&left, ts);
            self.leave_phase(left.phase);
            self.enter_phase(to);
        }
        self.record_phase_counts(before, ts);
    }

    /// A new incarnation of `job` enters `to`.
    fn start_incarnation(
        &mut self,
        job: JobId,
        is_page: bool,
        to: Phase,
        slot: Option<ConnId>,
        ts: u64,
    ) {
        let serial = self.add_incarnation(job, is_page);
        self.live.insert(
            job,
            Live {
                serial,
                phase: to,
                since_us: ts,
                last_slot: slot,
                left_slot: None,
            },
        );
        self.enter_phase(to);
    }

    /// The record of the phase a job left at `ts`: a span on its socket, or a wait.
    fn close_span(&mut self, left: &LeftPhase, ts: u64) {
        let dur = ts.saturating_sub(left.since_us);
        match left.phase {
            Phase::Connecting | Phase::Sending | Phase::AwaitingHead | Phase::ReceivingBody => {
                if let Some(ConnId(n)) = left.slot {
                    self.slots.insert(n);
                    self.records.push(Record::Span {
                        slot: n,
                        phase: left.phase.name(),
                        serial: left.serial,
                        ts: left.since_us,
                        dur,
                    });
                }
            }
            Phase::Queued | Phase::RetryWait { .. } => self.records.push(Record::Wait {
                phase: left.phase.name(),
                serial: left.serial,
                ts: left.since_us,
                dur,
            }),
            Phase::Saved | Phase::Failed => {}
        }
    }

    /// The counter records for a phase change: those whose values moved since `before`.
    fn record_phase_counts(&mut self, before: PhaseCounts, ts: u64) {
        let after = self.counts.phases;
        if after.in_flight != before.in_flight {
            let requests = after.in_flight;
            self.record_sample(Sample::InFlight { requests }, ts);
        }
        if (after.queued, after.retry_wait) != (before.queued, before.retry_wait) {
            let (queued, retry_wait) = (after.queued, after.retry_wait);
            self.record_sample(Sample::Jobs { queued, retry_wait }, ts);
        }
    }

    /// The counter of jobs in `phase`, if the phase has one.
    fn phase_counter(&mut self, phase: Phase) -> Option<&mut u32> {
        let phases = &mut self.counts.phases;
        match phase {
            Phase::Queued => Some(&mut phases.queued),
            Phase::RetryWait { .. } => Some(&mut phases.retry_wait),
            p if p.is_in_flight() => Some(&mut phases.in_flight),
            _ => None,
        }
    }

    /// One more job in `phase`.
    fn enter_phase(&mut self, phase: Phase) {
        if let Some(counter) = self.phase_counter(phase) {
            *counter = counter.saturating_add(1);
        }
    }

    /// One job fewer in `phase`.
    fn leave_phase(&mut self, phase: Phase) {
        if let Some(counter) = self.phase_counter(phase) {
            *counter = counter.saturating_sub(1);
        }
    }

    /// Remembers a new job incarnation; returns its serial, its index in `jobs`.
    fn add_incarnation(&mut self, job: JobId, is_page: bool) -> u32 {
        self.jobs.push(JobMeta {
            job: job.0,
            is_page,
            url: None,
        });
        (self.jobs.len() - 1) as u32
    }

    /// A counter's new values; several changes at one moment make one record.
    fn record_sample(&mut self, sample: Sample, ts: u64) {
        let same = |r: &Record| matches!(*r, Record::Count { sample: s, ts: t } if s.same_series(sample) && t == ts);
        if let Some(last) = self.records.last_mut().filter(|r| same(r)) {
            *last = Record::Count { ts, sample };
        } else {
            self.records.push(Record::Count { ts, sample });
        }
    }

    /// Where a mark about `job` goes: the socket it is on (or just left), else its queue.
    fn mark_track(&self, job: JobId) -> (Track, Option<u32>) {
        let Some(live) = self.live.get(&job) else {
            return (Track::Queue, None);
        };
        let socket = if live.phase.is_in_flight() {
            live.last_slot
        } else if live.phase.is_final() {
            live.left_slot
        } else {
            None
        };
        let track = match socket {
            Some(ConnId(n)) => Track::Socket(n),
            None if self.jobs[live.serial as usize].is_page => Track::Pager,
            None => Track::Queue,
        };
        (track, Some(live.serial))
    }

    /// A mark about `job`, on the track [`Self::mark_track`] picks.
    fn mark(&mut self, name: &'static str, job: JobId, ts: u64, detail: Detail) {
        let (track, serial) = self.mark_track(job);
        if let Track::Socket(n) = track {
            self.slots.insert(n);
        }
        self.records.push(Record::Mark {
            name,
            track,
            serial,
            ts,
            detail,
        });
    }

    /// Names the job's URL: [`WhichUrl::Original`] ones win over the current one.
    fn learn_url(&mut self, job: JobId, url: &dyn fmt::Display, which: WhichUrl) {
        if let Some(live) = self.live.get(&job) {
            let meta = &mut self.jobs[live.serial as usize];
            if which == WhichUrl::Original || meta.url.is_none() {
                meta.url = Some(url.to_string().into_boxed_str());
            }
        }
    }

    /// Closes the spans of jobs still live (a stopped run) at the last event time.
    fn close_live(&mut self) {
        let end = self.last_us;
        let mut live: Vec<(JobId, Phase)> = self
            .live
            .iter()
            .filter(|(_, l)| !l.phase.is_final())
            .map(|(job, l)| (*job, l.phase))
            .collect();
        live.sort_by_key(|(job, _)| *job);
        for (job, phase) in live {
            let is_page = self.jobs[self.live[&job].serial as usize].is_page;
            self.on_phase(job, is_page, phase, Phase::Failed, None, end);
        }
    }
}

impl Live {
    /// Moves the job to `to` at `ts` (on `slot`, if given); returns the phase it left.
    fn change_phase(&mut self, to: Phase, slot: Option<ConnId>, ts: u64) -> LeftPhase {
        let left = LeftPhase {
            phase: self.phase,
            since_us: self.since_us,
            serial: self.serial,
            slot: self.last_slot,
        };
        self.left_slot = if left.phase.is_in_flight() {
            left.slot
        } else {
            None
        };
        self.phase = to;
        self.since_us = ts;
        if slot.is_some() {
            self.last_slot = slot;
        }
        left
    }
}

impl TraceRecorder {
    /// A socket opened: one more open, one more opened.
    fn on_socket_opened(&mut self, ts: u64) {
        self.counts.sockets_opened += 1;
        self.counts.sockets_open += 1;
        let open = self.counts.sockets_open;
        self.record_sample(Sample::Sockets { open }, ts);
    }

    /// A socket closed: one fewer open.
    fn on_socket_closed(&mut self, ts: u64) {
        self.counts.sockets_open = self.counts.sockets_open.saturating_sub(1);
        let open = self.counts.sockets_open;
        self.record_sample(Sample::Sockets { open }, ts);
    }

    /// A line of input that is not a URL: a failure mark on the queue, with no job.
    fn on_bad_input(&mut self, origin: &str, message: &str, ts: u64) {
        self.counts.failed += 1;
        self.records.push(Record::Mark {
            name: "failed",
            track: Track::Queue,
            serial: None,
            ts,
            detail: Detail::Error(format!("{origin}: {message}").into_boxed_str()),
        });
    }

    /// A reused socket was found closed: the job is resent at once.
    fn on_stale_resend(&mut self, job: JobId, url: &dyn fmt::Display, ts: u64) {
        self.counts.stale_resends += 1;
        self.learn_url(job, url, WhichUrl::Current);
        self.mark("stale-resend", job, ts, Detail::None);
    }

    /// A retryable failure: the job backs off; `detail` from [`Detail::retry`].
    fn on_retry(&mut self, job: JobId, url: &dyn fmt::Display, detail: Detail, ts: u64) {
        self.counts.retries += 1;
        self.learn_url(job, url, WhichUrl::Current);
        self.mark("retry", job, ts, detail);
    }

    /// A redirect was followed, to `to`.
    fn on_redirect(&mut self, job: JobId, to: &dyn fmt::Display, ts: u64) {
        self.counts.redirects += 1;
        let to = to.to_string().into_boxed_str();
        self.mark("redirect", job, ts, Detail::Redirect { to });
    }

    /// A file is saved: the job is over.
    fn on_saved(&mut self, job: JobId, url: &dyn fmt::Display) {
        self.counts.saved += 1;
        self.learn_url(job, url, WhichUrl::Original);
        self.forget(job);
    }

    /// A job failed for good: a mark, and the job is over.
    fn on_failed(&mut self, job: JobId, url: &dyn fmt::Display, error: Detail, ts: u64) {
        self.counts.failed += 1;
        self.learn_url(job, url, WhichUrl::Original);
        self.mark("failed", job, ts, error);
        self.forget(job);
    }

    /// A host name was looked up: it started `took` before `ts`.
    fn on_lookup(&mut self, host: &str, took: Duration, found: Result<usize, String>, ts: u64) {
        let serial = self.counts.lookups as u32;
        self.counts.lookups += 1;
        let dur = took.as_micros() as u64;
        self.records.push(Record::Lookup {
            serial,
            host: host.into(),
            ts: ts.saturating_sub(dur),
            dur: dur.min(ts),
            found: found.map_err(String::into_boxed_str),
        });
    }

    /// A `Retry-After` paused the job's host: a mark where the job is.
    fn on_throttled(&mut self, job: JobId, url: &dyn fmt::Display, delay: Duration, ts: u64) {
        self.counts.throttled += 1;
        self.learn_url(job, url, WhichUrl::Current);
        let delay_ms = delay.as_millis() as u64;
        self.mark("throttled", job, ts, Detail::Throttled { delay_ms });
    }

    /// Happy Eyeballs: a second connect races a slow one, on socket `slot`.
    fn on_race(&mut self, ConnId(n): ConnId, ts: u64) {
        self.counts.happy_eyeballs_races += 1;
        self.slots.insert(n);
        self.records.push(Record::Mark {
            name: "happy-eyeballs",
            track: Track::Socket(n),
            serial: None,
            ts,
            detail: Detail::None,
        });
    }

    /// A job in flight was stopped: marked as failed, not counted as one.
    fn on_stopped(&mut self, job: JobId, ts: u64) {
        self.mark("failed", job, ts, Detail::Error("interrupted".into()));
        self.forget(job);
    }

    /// The job is over: it is no longer live (its spans are closed).
    fn forget(&mut self, job: JobId) {
        self.live.remove(&job);
    }
}

impl Observer for TraceRecorder {
    fn on_event(&mut self, event: &Event<'_>, now: Instant) {
        let ts = self.event_time_us(now);
        match *event {
            Event::Phase {
                job,
                url,
                is_page,
                from,
                to,
                slot,
            } => {
                self.on_phase(job, is_page, from, to, slot, ts);
                // Known from the job's first phase on (page requests included).
                self.learn_url(job, url, WhichUrl::Current);
            }
            Event::ConnectionOpened { .. } => self.on_socket_opened(ts),
            Event::ConnectionClosed { .. } => self.on_socket_closed(ts),
            Event::RequestSent { .. } => self.counts.requests += 1,
            Event::ProxyTunnel { .. } => self.counts.proxy_tunnels += 1,
            Event::StaleResend { job, url } => self.on_stale_resend(job, url, ts),
            Event::Retry {
                job,
                url,
                attempt,
                delay,
                error,
            } => self.on_retry(job, url, Detail::retry(attempt, delay, error), ts),
            Event::Redirect { job, to } => self.on_redirect(job, to, ts),
            Event::FileSaved { job, url, .. } => self.on_saved(job, url),
            Event::PageRead { job, .. } => self.forget(job),
            Event::Failed {
                job, url, error, ..
            } => self.on_failed(job, url, Detail::error(error), ts),
            Event::BadInput { origin, message } => self.on_bad_input(origin, message, ts),
            Event::Stopped { job } => self.on_stopped(job, ts),
            Event::Lookup { host, took, found } => {
                let found = found.map_err(|e| e.to_string());
                self.on_lookup(host, took, found, ts);
            }
            Event::Throttled { job, url, delay } => self.on_throttled(job, url, delay, ts),
            Event::HappyEyeballsRace { slot } => self.on_race(slot, ts),
            Event::ConnectionReused { .. }
            | Event::TlsHandshake { .. }
            | Event::ResponseHead { .. }
            | Event::BodyBytes { .. }
            | Event::IdRejected { .. }
            | Event::Skipped { .. }
            | Event::Resumed { .. }
            | Event::WireHead { .. }
            | Event::FeedEnded { .. } => {}
        }
    }

    fn finish(&mut self) {
        self.close_live();
        let written = File::create(&self.path).and_then(|file| {
            let mut out = BufWriter::new(file);
            self.write(&mut out)?;
            out.flush()
        });
        if let Err(e) = written {
            eprintln!("miodl: cannot write trace {}: {e}", self.path.display());
        }
    }
}
