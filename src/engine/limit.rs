//! `--limit-rate` as the engines see it: the run's one [`ByteBucket`], shared.
//!
//! The bucket itself is policy (`crate::policy::rate::bytes`: what may be read, on a
//! clock passed in). Here it gets a lock, because more than one thread reads: the
//! reactor and its disk threads, or the workers of the threads engine. Every reader
//! takes its grant before it reads, reads at most that, and gives back what it did not
//! use, so two readers never spend the same bytes. Without the option there is no
//! `Limiter` at all, and a read pays one `Option` test.
//!
//! Layer: `engine`; may use `protocol`, `model`, `policy`, `output` and `transport` (see `src/engine/mod.rs`).

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use crate::model::options::TransferOptions;
use crate::policy::rate::bytes::ByteBucket;

/// The run's byte bucket behind a lock.
#[derive(Debug)]
pub struct Limiter(Mutex<ByteBucket>);

impl Limiter {
    /// The run's limiter, if `--limit-rate` is set.
    pub fn for_run(options: &TransferOptions) -> Option<Arc<Limiter>> {
        let rate = options.limit_rate?;
        Some(Arc::new(Limiter(Mutex::new(ByteBucket::new(rate)))))
    }

    fn bucket(&self) -> MutexGuard<'_, ByteBucket> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Up to `want` bytes may be read now: the grant (0: wait until [`Limiter::ready_at`]).
    pub fn take(&self, want: usize, now: Instant) -> usize {
        self.bucket().take(want as u64, now) as usize
    }

    /// `granted` bytes were granted and `used` of them read: the rest goes back.
    pub fn settle(&self, granted: usize, used: usize) {
        if used < granted {
            self.bucket().give_back((granted - used) as u64);
        }
    }

    /// When a grant for `want` bytes comes (`now` or later).
    pub fn ready_at(&self, want: usize, now: Instant) -> Instant {
        self.bucket().ready_at(want as u64, now)
    }
}

/// One read (or splice) of at most `want` bytes under `limit`: `io(n)` moves at most `n`
/// bytes and says how many it moved. Returns the `n` it was given and what it returned,
/// or `None` when the bucket has nothing now (nothing was tried). Without a limit, `io`
/// gets `want`.
#[inline]
pub fn limited<E>(
    limit: Option<&Limiter>,
    want: usize,
    now: Instant,
    io: impl FnOnce(usize) -> Result<usize, E>,
) -> Option<(usize, Result<usize, E>)> {
    let Some(limit) = limit else {
        return Some((want, io(want)));
    };
    let grant = limit.take(want, now);
    if grant == 0 {
        return None;
    }
    let moved = io(grant);
    limit.settle(grant, *moved.as_ref().unwrap_or(&0));
    Some((grant, moved))
}
