//! The bounds a user sets on one try of a transfer, kept the same way by every engine:
//! `--max-time` (a deadline counted from the moment the try is given a socket) and
//! `--speed-limit` / `--speed-time` (a least average rate over a window), docs/reference.md §3.
//!
//! `--timeout` only bounds the gap between two bytes, so a server that sends one byte a
//! second holds a transfer for as long as it likes; these two bounds end it. Both are
//! plain data with the time passed in (`now`), so an engine decides when to look: the
//! reactor arms the earliest of its idle deadline and [`Bounds::next`] in its timer
//! heap and looks when that fires, the blocking workers look between reads and on each
//! read tick, a disk thread around each wait. Nothing here reads the clock, and with
//! neither option set a [`Bounds`] is two `None`s that no engine looks at.
//!
//! Layer: `engine`; may use `protocol`, `model`, `policy`, `output` and `transport` (see `src/engine/mod.rs`).

use std::time::{Duration, Instant};

use crate::model::error::JobError;
use crate::model::job::Phase;
use crate::model::options::{SpeedLimit, TransferOptions};

/// `--max-time` for one try: when it must be over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    /// When the try fails.
    at: Instant,
    /// `--max-time` itself, for the message.
    limit: Duration,
}

impl Deadline {
    /// The deadline of a try given its socket at `since`; `None` without `--max-time`.
    #[inline]
    pub fn new(options: &TransferOptions, since: Instant) -> Option<Deadline> {
        let limit = options.max_time?;
        Some(Deadline {
            at: since.checked_add(limit)?,
            limit,
        })
    }

    /// When the try fails.
    pub fn at(&self) -> Instant {
        self.at
    }

    /// How long is left at `now` (zero once it passed).
    pub fn left(&self, now: Instant) -> Duration {
        self.at.saturating_duration_since(now)
    }

    /// The failure of a try still running at the deadline, in `phase`.
    pub fn error(&self, phase: Phase) -> JobError {
        JobError::MaxTime(self.limit, phase)
    }
}

/// `--speed-limit` for one try: the window being counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    limit: SpeedLimit,
    /// When the window opened.
    start: Instant,
    /// Bytes received since.
    counted: u64,
}

impl Window {
    /// A window opening at `now`; `None` without `--speed-limit`.
    #[inline]
    pub fn new(options: &TransferOptions, now: Instant) -> Option<Window> {
        let limit = options.speed_limit?;
        Some(Window {
            limit,
            start: now,
            counted: 0,
        })
    }

    /// When the window closes: its rate is checked then.
    pub fn end(&self) -> Instant {
        self.start
            .checked_add(self.limit.window)
            .unwrap_or(self.start)
    }

    /// `n` more bytes arrived.
    #[inline]
    pub fn count(&mut self, n: u64) {
        self.counted = self.counted.saturating_add(n);
    }

    /// At `now`: once the window has closed, fails the try if it brought fewer than
    /// `--speed-limit` bytes a second on average (over the time it really lasted: a
    /// check may come late), or else opens the next window.
    pub fn check(&mut self, now: Instant, phase: Phase) -> Result<(), JobError> {
        if now < self.end() {
            return Ok(());
        }
        let lasted = now.saturating_duration_since(self.start).as_nanos();
        let needed = u128::from(self.limit.bytes_per_second) * lasted;
        if u128::from(self.counted) * 1_000_000_000 < needed {
            return Err(JobError::TooSlow(self.limit, phase));
        }
        self.start = now;
        self.counted = 0;
        Ok(())
    }
}

/// Both bounds of one try (each `None` when its option is not set).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Bounds {
    /// `--max-time`.
    pub max_time: Option<Deadline>,
    /// `--speed-limit` / `--speed-time`.
    pub speed: Option<Window>,
}

impl Bounds {
    /// The bounds of a try given its socket at `since`, its speed counted from `now`.
    #[inline]
    pub fn new(options: &TransferOptions, since: Instant, now: Instant) -> Bounds {
        Bounds {
            max_time: Deadline::new(options, since),
            speed: Window::new(options, now),
        }
    }

    /// Is either bound set?
    #[inline]
    pub fn is_set(&self) -> bool {
        self.max_time.is_some() || self.speed.is_some()
    }

    /// The next moment [`Bounds::check`] has something to decide: the deadline or the
    /// window's end, whichever comes first.
    pub fn next(&self) -> Option<Instant> {
        match (self.max_time, self.speed) {
            (Some(d), Some(w)) => Some(d.at.min(w.end())),
            (d, w) => d.map(|d| d.at).or(w.map(|w| w.end())),
        }
    }

    /// `until`, or earlier if a bound comes first.
    #[inline]
    pub fn earliest(&self, until: Instant) -> Instant {
        self.next().map_or(until, |at| at.min(until))
    }

    /// `n` more bytes arrived.
    #[inline]
    pub fn count(&mut self, n: u64) {
        if let Some(window) = &mut self.speed {
            window.count(n);
        }
    }

    /// At `now`, in `phase`: the failure if the deadline has passed or a window closed
    /// too slow (a window that was fast enough makes way for the next).
    pub fn check(&mut self, now: Instant, phase: Phase) -> Result<(), JobError> {
        if let Some(deadline) = self.max_time.filter(|d| d.at <= now) {
            return Err(deadline.error(phase));
        }
        match &mut self.speed {
            Some(window) => window.check(now, phase),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(max_time: Option<f64>, speed: Option<(u64, f64)>) -> TransferOptions {
        TransferOptions {
            max_time: max_time.map(Duration::from_secs_f64),
            speed_limit: speed.map(|(bytes_per_second, window)| SpeedLimit {
                bytes_per_second,
                window: Duration::from_secs_f64(window),
            }),
            ..TransferOptions::default()
        }
    }

    #[test]
    fn unset_bounds_never_fire() {
        let t0 = Instant::now();
        let mut bounds = Bounds::new(&options(None, None), t0, t0);
        assert!(!bounds.is_set());
        assert_eq!(bounds.next(), None);
        let later = t0 + Duration::from_secs(3600);
        assert_eq!(bounds.earliest(later), later);
        assert!(bounds.check(later, Phase::ReceivingBody).is_ok());
    }

    #[test]
    fn max_time_counts_from_the_socket() {
        let t0 = Instant::now();
        let since = t0 - Duration::from_millis(500);
        let mut bounds = Bounds::new(&options(Some(2.0), None), since, t0);
        assert_eq!(bounds.next(), Some(since + Duration::from_secs(2)));
        let before = since + Duration::from_millis(1999);
        assert!(bounds.check(before, Phase::AwaitingHead).is_ok());
        let error = bounds
            .check(since + Duration::from_secs(2), Phase::AwaitingHead)
            .unwrap_err();
        assert!(error.is_retryable());
        assert_eq!(
            error.to_string(),
            "took longer than --max-time 2 s while waiting for the response"
        );
    }

    #[test]
    fn a_window_fast_enough_opens_the_next() {
        let t0 = Instant::now();
        let mut bounds = Bounds::new(&options(None, Some((1000, 1.0))), t0, t0);
        bounds.count(999);
        assert!(bounds
            .check(t0 + Duration::from_millis(999), Phase::ReceivingBody)
            .is_ok());
        bounds.count(1);
        let t1 = t0 + Duration::from_secs(1);
        assert!(bounds.check(t1, Phase::ReceivingBody).is_ok());
        assert_eq!(bounds.next(), Some(t1 + Duration::from_secs(1)));
        // The next window brings too little.
        bounds.count(10);
        let error = bounds
            .check(t1 + Duration::from_secs(1), Phase::ReceivingBody)
            .unwrap_err();
        assert!(error.is_retryable());
        assert_eq!(
            error.to_string(),
            "slower than --speed-limit 1000 bytes/s over --speed-time 1 s while reading the body"
        );
    }

    #[test]
    fn a_late_check_averages_over_the_time_the_window_lasted() {
        let t0 = Instant::now();
        let mut bounds = Bounds::new(&options(None, Some((1000, 1.0))), t0, t0);
        bounds.count(1500);
        // Checked 2 s in: 1500 bytes in 2 s is 750 B/s, too slow.
        assert!(bounds
            .check(t0 + Duration::from_secs(2), Phase::ReceivingBody)
            .is_err());
    }

    #[test]
    fn the_earliest_bound_is_next() {
        let t0 = Instant::now();
        let bounds = Bounds::new(&options(Some(5.0), Some((1, 2.0))), t0, t0);
        assert_eq!(bounds.next(), Some(t0 + Duration::from_secs(2)));
        assert_eq!(
            bounds.earliest(t0 + Duration::from_secs(1)),
            t0 + Duration::from_secs(1)
        );
    }
}
