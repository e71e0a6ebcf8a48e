//! Deadlines of the reactor's sockets (connect timeouts and idle timeouts), and of the
//! reference server's connections (`crate::serve`'s lag, pacing and lingering close).
//!
//! A binary heap of `(deadline, slot, serial)`, where the serial tells a socket apart from
//! a later one that reuses its slab slot. Pushing on every read would grow the heap with
//! every packet, so the heap is lazy: a socket keeps its true deadline itself, and when an
//! entry comes due before it, the caller pushes it again at the true deadline.
//! Each socket then has about one entry in the heap, whatever its traffic. The earliest
//! entry bounds the wait of `Poll::poll` (quinn's `poll_timeout`).
//!
//! Layer: `engine`; may use `protocol`, `model`, `policy`, `output` and `transport` (see `src/engine/mod.rs`).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

/// A lazy min-heap of socket deadlines.
#[derive(Debug, Default)]
pub struct Timers {
    heap: BinaryHeap<Reverse<(Instant, usize, u64)>>,
}

impl Timers {
    /// Wakes `(slot, serial)` at `at` (or earlier; see the module doc).
    pub fn schedule(&mut self, at: Instant, slot: usize, serial: u64) {
        self.heap.push(Reverse((at, slot, serial)));
    }

    /// The earliest entry's time.
    pub fn next(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((at, _, _))| *at)
    }

    /// Pops one entry due at `now`, if any, as `(slot, serial)`.
    pub fn pop_due(&mut self, now: Instant) -> Option<(usize, u64)> {
        match self.heap.peek() {
            Some(Reverse((at, _, _))) if *at <= now => {
                let Reverse((_, slot, serial)) = self.heap.pop()?;
                Some((slot, serial))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
