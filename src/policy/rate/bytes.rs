//! `--limit-rate BYTES`: a cap on the bytes a whole run receives per second, as curl's
//! option of that name.
//!
//! A [`ByteBucket`] is a token bucket counted in bytes. It fills at the rate and holds at
//! most its burst: a tenth of a second of the rate, at most 256 KiB (one read of the
//! reactor's buffer) and at least one byte. So over any window of `w` seconds at most
//! `burst + rate × w` bytes are granted: over one second, the rate and a tenth.
//!
//! The engine asks before it reads ([`ByteBucket::take`]) and reads no more than it was
//! granted, then gives back what the read did not use ([`ByteBucket::give_back`]). A
//! grant is all or nothing below a burst: nothing is granted until the bucket holds a
//! whole burst (or all that was asked for, when less), so a capped run reads in chunks of
//! about a tenth of a second, not in a trickle of tiny reads. [`ByteBucket::ready_at`]
//! says when the next grant can come, for the engine's timer. The engine holds the bucket
//! behind a lock when several threads read (disk threads, the threads engine): taking
//! before the read, not after, is what keeps two readers from spending the same bytes.
//!
//! Nothing here reads a clock: time comes in as `now`.
//!
//! Layer: `policy`; may use `protocol` and `model` (see `src/policy/mod.rs`).

use std::time::{Duration, Instant};

/// The largest burst: one read of the reactor's shared buffer.
pub const MAX_BURST: u64 = 256 << 10;

/// A token bucket of bytes: `--limit-rate`.
#[derive(Debug, Clone)]
pub struct ByteBucket {
    /// Bytes per second (at least 1).
    rate: u64,
    /// The most it holds.
    burst: u64,
    /// What it holds, as of `counted_at`.
    tokens: u64,
    /// When `tokens` was last brought up to date (`None`: never; it starts full).
    counted_at: Option<Instant>,
}

impl ByteBucket {
    /// A full bucket for `rate` bytes a second.
    pub fn new(rate: u64) -> ByteBucket {
        let rate = rate.max(1);
        let burst = (rate / 10).clamp(1, MAX_BURST);
        ByteBucket {
            rate,
            burst,
            tokens: burst,
            counted_at: None,
        }
    }

    /// The rate, in bytes a second.
    pub fn rate(&self) -> u64 {
        self.rate
    }

    /// The most one grant can be.
    pub fn burst(&self) -> u64 {
        self.burst
    }

    /// Adds what the time since the last count brought, up to the burst.
    fn refill(&mut self, now: Instant) {
        let Some(at) = self.counted_at else {
            self.counted_at = Some(now);
            return;
        };
        let elapsed = now.saturating_duration_since(at).as_nanos();
        let gained = elapsed * u128::from(self.rate) / 1_000_000_000;
        if gained == 0 {
            // Keep the time: the fraction of a byte goes on counting.
            return;
        }
        self.tokens = (u128::from(self.tokens) + gained).min(u128::from(self.burst)) as u64;
        self.counted_at = Some(now);
    }

    /// How many bytes the next grant needs for `want` asked: a whole burst, or `want`
    /// when that is less.
    fn threshold(&self, want: u64) -> u64 {
        want.min(self.burst)
    }

    /// Up to `want` bytes may be read at `now`: the grant (0: wait until
    /// [`ByteBucket::ready_at`]). What is granted is spent; give back what goes unread.
    pub fn take(&mut self, want: u64, now: Instant) -> u64 {
        if want == 0 {
            return 0;
        }
        self.refill(now);
        if self.tokens < self.threshold(want) {
            return 0;
        }
        let granted = self.tokens.min(want);
        self.tokens -= granted;
        granted
    }

    /// `n` bytes of a grant were not read: they go back in (up to the burst).
    pub fn give_back(&mut self, n: u64) {
        self.tokens = self.tokens.saturating_add(n).min(self.burst);
    }

    /// When a [`ByteBucket::take`] of `want` bytes would be granted: `now` or later.
    pub fn ready_at(&mut self, want: u64, now: Instant) -> Instant {
        self.refill(now);
        let need = self.threshold(want.max(1));
        if self.tokens >= need {
            return now;
        }
        let at = self.counted_at.unwrap_or(now);
        let missing = u128::from(need - self.tokens);
        // Rounded up, so that a grant is due at that moment, not a nanosecond after.
        let nanos = (missing * 1_000_000_000).div_ceil(u128::from(self.rate));
        at + Duration::from_nanos(nanos.min(u128::from(u64::MAX)) as u64)
    }
}
