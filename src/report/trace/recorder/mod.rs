//! The recording half of `--trace`: an observer that turns phase changes into spans.
//!
//! A span closes when its job leaves the phase, so the recorder remembers, per live job,
//! the phase it is in, since when, and the last socket it was on (a `Phase` event names
//! the slot only when the phase starts on a socket). Records stay small (numbers and an
//! occasional error text, no JSON values) until `finish()` writes them out.

use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

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
    slot: Option<ConnId>,
    /// The socket of the phase it just left, if that phase was on a socket.
    left_socket: Option<ConnId>,
}

/// Where an event is drawn.
#[derive(Clone, Copy)]
enum Track {
    Socket(usize),
    Queue,
    Pager,
}

impl Track {
    fn tid(self) -> u64 {
        match self {
            Track::Socket(n) => SOCKET_TID_BASE + n as u64,
            Track::Queue => QUEUE_TID,
            Track::Pager => PAGER_TID,
        }
    }
}

/// The counter series.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Counter {
    Sockets,
    InFlight,
    Queued,
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
    Count {
        counter: Counter,
        ts: u64,
        a: u32,
        b: u32,
    },
}

/// The "why" of a mark.
enum Detail {
    Retry {
        attempt: u32,
        delay_ms: u64,
        error: Box<str>,
    },
    Redirect {
        to: Box<str>,
    },
    Error(Box<str>),
    None,
}

/// Running totals: the counters' current values and the run's numbers.
#[derive(Default)]
struct Counts {
    sockets_open: u32,
    in_flight: u32,
    queued: u32,
    retry_wait: u32,
    requests: u64,
    sockets_opened: u64,
    saved: u64,
    failed: u64,
    retries: u64,
    stale_resends: u64,
    redirects: u64,
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

    fn micros(&mut self, now: Instant) -> u64 {
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
        let counts_before = (
            self.counts.in_flight,
            self.counts.queued,
            self.counts.retry_wait,
        );
        // A new job enters as Queued -> Queued; a reused id is a new incarnation.
        let known = self.live.contains_key(&job);
        if (from == Phase::Queued && to == Phase::Queued) || !known {
            let serial = self.new_job(job, is_page);
            self.live.insert(
                job,
                Live {
                    serial,
                    phase: to,
                    since_us: ts,
                    slot,
                    left_socket: None,
                },
            );
            self.enter(to, 1);
        } else if let Some(live) = self.live.get_mut(&job) {
            let (left, since, serial, last_slot) =
                (live.phase, live.since_us, live.serial, live.slot);
            live.left_socket = if left.is_in_flight() { last_slot } else { None };
            live.phase = to;
            live.since_us = ts;
            if slot.is_some() {
                live.slot = slot;
            }
            let dur = ts.saturating_sub(since);
            match left {
                Phase::Connecting | Phase::Sending | Phase::AwaitingHead | Phase::ReceivingBody => {
                    if let Some(ConnId(n)) = last_slot {
                        self.slots.insert(n);
                        self.records.push(Record::Span {
                            slot: n,
                            phase: left.name(),
                            serial,
                            ts: since,
                            dur,
                        });
                    }
                }
                Phase::Queued | Phase::RetryWait { .. } => self.records.push(Record::Wait {
                    phase: left.name(),
                    serial,
                    ts: since,
                    dur,
                }),
                Phase::Saved | Phase::Failed => {}
            }
            self.enter(left, -1);
            self.enter(to, 1);
        }
        let counts_after = (
            self.counts.in_flight,
            self.counts.queued,
            self.counts.retry_wait,
        );
        if counts_after.0 != counts_before.0 {
            self.count(Counter::InFlight, ts, counts_after.0, 0);
        }
        if (counts_after.1, counts_after.2) != (counts_before.1, counts_before.2) {
            self.count(Counter::Queued, ts, counts_after.1, counts_after.2);
        }
    }

    /// Keeps the counters of jobs per phase: `delta` is +1 on entering, -1 on leaving.
    fn enter(&mut self, phase: Phase, delta: i32) {
        let counter = match phase {
            Phase::Queued => &mut self.counts.queued,
            Phase::RetryWait { .. } => &mut self.counts.retry_wait,
            p if p.is_in_flight() => &mut self.counts.in_flight,
            _ => return,
        };
        *counter = counter.saturating_add_signed(delta);
    }

    fn new_job(&mut self, job: JobId, is_page: bool) -> u32 {
        self.jobs.push(JobMeta {
            job: job.0,
            is_page,
            url: None,
        });
        (self.jobs.len() - 1) as u32
    }

    /// A counter's new values; several changes at one moment make one record.
    fn count(&mut self, counter: Counter, ts: u64, a: u32, b: u32) {
        let same = |r: &Record| matches!(*r, Record::Count { counter: c, ts: t, .. } if c == counter && t == ts);
        if let Some(last) = self.records.last_mut().filter(|r| same(r)) {
            *last = Record::Count { counter, ts, a, b };
        } else {
            self.records.push(Record::Count { counter, ts, a, b });
        }
    }

    /// Where a mark about `job` goes: the socket it is on (or just left), else its queue.
    fn mark_track(&self, job: JobId) -> (Track, Option<u32>) {
        let Some(live) = self.live.get(&job) else {
            return (Track::Queue, None);
        };
        let socket = if live.phase.is_in_flight() {
            live.slot
        } else if live.phase.is_final() {
            live.left_socket
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

    /// Names the job's URL: `original` ones (saved, failed) win over the current one.
    fn learn_url(&mut self, job: JobId, url: &dyn std::fmt::Display, original: bool) {
        if let Some(live) = self.live.get(&job) {
            let meta = &mut self.jobs[live.serial as usize];
            if original || meta.url.is_none() {
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

impl Observer for TraceRecorder {
    fn on_event(&mut self, event: &Event<'_>, now: Instant) {
        let ts = self.micros(now);
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
                self.learn_url(job, url, false);
            }
            Event::ConnectionOpened { .. } => {
                self.counts.sockets_opened += 1;
                self.counts.sockets_open += 1;
                self.count(Counter::Sockets, ts, self.counts.sockets_open, 0);
            }
            Event::ConnectionClosed { .. } => {
                self.counts.sockets_open = self.counts.sockets_open.saturating_sub(1);
                self.count(Counter::Sockets, ts, self.counts.sockets_open, 0);
            }
            Event::RequestSent { .. } => self.counts.requests += 1,
            Event::StaleResend { job, url } => {
                self.counts.stale_resends += 1;
                self.learn_url(job, url, false);
                self.mark("stale-resend", job, ts, Detail::None);
            }
            Event::Retry {
                job,
                url,
                attempt,
                delay,
                error,
            } => {
                self.counts.retries += 1;
                self.learn_url(job, url, false);
                let detail = Detail::Retry {
                    attempt,
                    delay_ms: delay.as_millis() as u64,
                    error: error.to_string().into_boxed_str(),
                };
                self.mark("retry", job, ts, detail);
            }
            Event::Redirect { job, to } => {
                self.counts.redirects += 1;
                let to = to.to_string().into_boxed_str();
                self.mark("redirect", job, ts, Detail::Redirect { to });
            }
            Event::FileSaved { job, url, .. } => {
                self.counts.saved += 1;
                self.learn_url(job, url, true);
                self.live.remove(&job);
            }
            Event::PageRead { job, .. } => {
                self.live.remove(&job);
            }
            Event::Failed {
                job, url, error, ..
            } => {
                self.counts.failed += 1;
                self.learn_url(job, url, true);
                let error = Detail::Error(error.to_string().into_boxed_str());
                self.mark("failed", job, ts, error);
                self.live.remove(&job);
            }
            Event::BadInput { origin, message } => {
                self.counts.failed += 1;
                self.records.push(Record::Mark {
                    name: "failed",
                    track: Track::Queue,
                    serial: None,
                    ts,
                    detail: Detail::Error(format!("{origin}: {message}").into_boxed_str()),
                });
            }
            Event::Stopped { job } => {
                self.mark("failed", job, ts, Detail::Error("interrupted".into()));
                self.live.remove(&job);
            }
            Event::ConnectionReused { .. }
            | Event::TlsHandshake { .. }
            | Event::ResponseHead { .. }
            | Event::BodyBytes { .. }
            | Event::IdRejected { .. } => {}
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
