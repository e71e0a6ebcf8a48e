//! Politeness, the third knob: how often requests may start (`--rate`,
//! `--per-host-rate`) and which hosts asked to be left alone for a while (`Retry-After`
//! on a 429 or 503).
//!
//! `-c` caps sockets and `--max-in-flight` caps requests at once; neither says how many
//! requests a second a server sees, which is what its rate limiter counts. A
//! [`Bucket`] is a token bucket with a burst of one: after a request is sent, the next
//! may go one interval (`U / N`) later, never sooner, and an idle spell saves no credit
//! for a burst. [`Throttle`] holds the run's bucket, one per host, and the hosts paused
//! by a `Retry-After`; the scheduler asks it before handing out a job and tells it each
//! time one goes. Nothing here reads a clock: time comes in as `now`.
//!
//! [`bytes`] is the fourth knob beside them: `--limit-rate`, bytes a second over the run.
//!
//! Layer: `policy`; may use `protocol` and `model` (see `src/policy/mod.rs`).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::model::options::Rate;
use crate::protocol::url::Authority;

pub mod bytes;

#[cfg(test)]
mod tests;

/// A token bucket with a burst of one.
#[derive(Debug, Clone)]
pub struct Bucket {
    interval: Duration,
    /// The earliest moment the next request may be sent (`None`: now).
    next: Option<Instant>,
}

impl Bucket {
    /// A bucket for `rate`.
    pub fn new(rate: Rate) -> Bucket {
        Bucket {
            interval: rate.interval(),
            next: None,
        }
    }

    /// When the next request may be sent, if that is after `now`.
    pub fn wait(&self, now: Instant) -> Option<Instant> {
        self.next.filter(|&at| at > now)
    }

    /// A request is sent at `now` (which [`Bucket::wait`] allowed): the next one waits
    /// an interval. Returns what to give back to [`Bucket::refund`].
    pub fn take(&mut self, now: Instant) -> Option<Instant> {
        self.next.replace(now + self.interval)
    }

    /// The request [`Bucket::take`] counted was not sent after all.
    pub fn refund(&mut self, before: Option<Instant>) {
        self.next = before;
    }
}

/// What one host may not do for now.
#[derive(Debug, Default)]
struct HostState {
    /// `--per-host-rate`'s bucket for it.
    bucket: Option<Bucket>,
    /// A `Retry-After` asked that no request start before this.
    paused_until: Option<Instant>,
}

/// What the last [`Throttle::take`] changed, to give back with [`Throttle::refund`].
#[derive(Debug)]
struct Undo {
    /// The job it was counted for (the scheduler's key).
    job: usize,
    global: Option<Instant>,
    host: Option<(Authority, Option<Instant>)>,
}

/// The run's rates and paused hosts.
#[derive(Debug)]
pub struct Throttle {
    global: Option<Bucket>,
    per_host: Option<Rate>,
    hosts: HashMap<Authority, HostState>,
    undo: Option<Undo>,
}

impl Throttle {
    /// The throttle for a run with these rates (either may be absent).
    pub fn new(rate: Option<Rate>, per_host: Option<Rate>) -> Throttle {
        Throttle {
            global: rate.map(Bucket::new),
            per_host,
            hosts: HashMap::new(),
            undo: None,
        }
    }

    /// True when no rate is set and no host is paused: nothing to check or count.
    pub fn is_idle(&self) -> bool {
        self.global.is_none() && !self.watches_hosts()
    }

    /// True when some host may have to wait: a per-host rate, or a paused host. When
    /// false, no job's host needs looking at (nothing to pay on the hot path).
    pub fn watches_hosts(&self) -> bool {
        self.per_host.is_some() || !self.hosts.is_empty()
    }

    /// When the run's rate lets the next request go, if that is after `now`.
    pub fn global_wait(&self, now: Instant) -> Option<Instant> {
        self.global.as_ref().and_then(|b| b.wait(now))
    }

    /// When `host` may be sent its next request, if that is after `now` (its rate, or
    /// its pause).
    pub fn host_wait(&self, host: &Authority, now: Instant) -> Option<Instant> {
        let state = self.hosts.get(host)?;
        let bucket = state.bucket.as_ref().and_then(|b| b.wait(now));
        let paused = state.paused_until.filter(|&at| at > now);
        bucket.max(paused)
    }

    /// True if `host` is paused by a `Retry-After` at `now`.
    pub fn is_paused(&self, host: &Authority, now: Instant) -> bool {
        self.hosts
            .get(host)
            .and_then(|s| s.paused_until)
            .is_some_and(|at| at > now)
    }

    /// The request of job `job` (the scheduler's key) to `host` is handed out at `now`
    /// (`host` is `None` when no host is watched): every bucket it passes counts it.
    pub fn take(&mut self, job: usize, host: Option<&Authority>, now: Instant) {
        let global = self.global.as_mut().and_then(|b| b.take(now));
        let host = match (host, self.per_host) {
            (Some(host), Some(rate)) => {
                let state = self.hosts.entry(host.clone()).or_default();
                let bucket = state.bucket.get_or_insert_with(|| Bucket::new(rate));
                Some((host.clone(), bucket.take(now)))
            }
            _ => None,
        };
        self.undo = Some(Undo { job, global, host });
    }

    /// The request of `job` was not sent (the engine gave it back before a socket took
    /// it): if the last [`Throttle::take`] counted it, that is undone.
    pub fn refund(&mut self, job: usize) {
        let Some(undo) = self.undo.take_if(|undo| undo.job == job) else {
            return;
        };
        if let Some(bucket) = self.global.as_mut() {
            bucket.refund(undo.global);
        }
        if let Some((host, before)) = undo.host {
            if let Some(bucket) = self.hosts.get_mut(&host).and_then(|s| s.bucket.as_mut()) {
                bucket.refund(before);
            }
        }
    }

    /// A `Retry-After` asks that no request start to `host` before `until` (a later
    /// pause already set stays).
    pub fn pause(&mut self, host: Authority, until: Instant) {
        let state = self.hosts.entry(host).or_default();
        state.paused_until = state.paused_until.max(Some(until));
    }

    /// Forgets the pauses over at `now`, and the hosts with nothing left to watch. Only
    /// without a per-host rate, when the hosts kept are the paused ones (a few): with
    /// one, every host keeps its bucket and a pause over is simply past.
    pub fn forget_expired(&mut self, now: Instant) {
        if self.hosts.is_empty() || self.per_host.is_some() {
            return;
        }
        self.hosts.retain(|_, state| {
            if state.paused_until.is_some_and(|at| at <= now) {
                state.paused_until = None;
            }
            state.bucket.is_some() || state.paused_until.is_some()
        });
    }
}
