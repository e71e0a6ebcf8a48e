//! `--max-in-flight` as values: a [`Permit`] is the right of one request to be in flight.
//!
//! This is `asyncio.Semaphore` at the request level. The scheduler takes a permit when it
//! hands a job to an engine and keeps it with the job; every way a job leaves the
//! sockets gives it back by moving it into [`Semaphore::release`]. A permit is not
//! `Copy` or `Clone`, and the job holds it in an `Option` that giving back empties, so a
//! job reported twice cannot give back twice and the count can never wrap.
//!
//! Layer: `policy`; may use `protocol` and `model` (see `src/policy/mod.rs`).

/// The right of one request to be in flight; given back by [`Semaphore::release`].
#[derive(Debug)]
#[must_use = "a permit not given back holds a place of --max-in-flight for ever"]
pub struct Permit(());

/// At most `limit` requests in flight (`None`: no limit), and how many are now.
#[derive(Debug)]
pub struct Semaphore {
    limit: Option<usize>,
    held: usize,
}

impl Semaphore {
    /// A semaphore of `limit` permits (`None`: as many as asked for).
    pub fn new(limit: Option<usize>) -> Semaphore {
        Semaphore { limit, held: 0 }
    }

    /// A permit, if one is free.
    pub fn try_acquire(&mut self) -> Option<Permit> {
        if self.limit.is_some_and(|limit| self.held >= limit) {
            return None;
        }
        self.held += 1;
        Some(Permit(()))
    }

    /// Gives a permit back.
    pub fn release(&mut self, permit: Permit) {
        let Permit(()) = permit;
        self.held -= 1;
    }

    /// Permits out now: requests in flight.
    pub fn held(&self) -> usize {
        self.held
    }
}

#[cfg(test)]
mod tests;
