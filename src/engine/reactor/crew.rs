//! A crew of helper threads the reactor hands work to: what the disk threads
//! ([`super::disk`]) and the resolver threads ([`super::resolve`]) share.
//!
//! The reactor pushes work on a [`WorkQueue`]; each thread takes the next item, blocking
//! while there is none, and sends its answer back on its own channel, ringing the poll's
//! one `mio::Waker`. Threads start on demand ([`Crew::before_queueing`]): one more only
//! when every running thread already has work, up to a maximum. Dropping the queue's
//! owner [`WorkQueue::stop`]s it: idle threads exit at once, busy ones when their item is
//! done (or sooner, if their work looks at [`WorkQueue::stop_flag`]).
//!
//! ```text
//!   reactor ── push ──► WorkQueue ── next ──► thread 1..max ── answer + wake ──► poll
//! ```
//!
//! Layer: `engine`; may use nothing else of the crate (see `src/engine/mod.rs`).

use std::collections::VecDeque;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};

/// The items the reactor queued and no thread took yet, and the stop flag.
#[derive(Debug)]
pub struct WorkQueue<T> {
    items: Mutex<VecDeque<T>>,
    ready: Condvar,
    stop: AtomicBool,
}

impl<T> Default for WorkQueue<T> {
    fn default() -> WorkQueue<T> {
        WorkQueue {
            items: Mutex::new(VecDeque::new()),
            ready: Condvar::new(),
            stop: AtomicBool::new(false),
        }
    }
}

impl<T> WorkQueue<T> {
    /// Queues an item and wakes one idle thread.
    pub fn push(&self, item: T) {
        self.lock().push_back(item);
        self.ready.notify_one();
    }

    /// The next item, waiting for one; `None` once the queue is stopped.
    pub fn next(&self) -> Option<T> {
        let mut items = self.lock();
        loop {
            if self.stop.load(Ordering::Relaxed) {
                return None;
            }
            if let Some(item) = items.pop_front() {
                return Some(item);
            }
            items = self.ready.wait(items).expect("work queue");
        }
    }

    /// Stops the queue: what waits in it is dropped, and every thread is woken to exit.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
        self.lock().clear();
        self.ready.notify_all();
    }

    /// Set once the queue is stopped: long work checks it to give up early.
    pub fn stop_flag(&self) -> &AtomicBool {
        &self.stop
    }

    fn lock(&self) -> MutexGuard<'_, VecDeque<T>> {
        self.items.lock().expect("work queue")
    }
}

/// How many threads run, at most how many, and how many items are out (queued or being
/// worked on, their answers not yet taken).
#[derive(Debug)]
pub struct Crew {
    max: usize,
    started: usize,
    outstanding: usize,
}

impl Crew {
    /// No thread runs yet; at most `max` will.
    pub fn new(max: usize) -> Crew {
        Crew {
            max,
            started: 0,
            outstanding: 0,
        }
    }

    /// Call before queueing one more item: starts a thread with `spawn` if every running
    /// thread has an item and fewer than `max` run, then counts the item as out. Fails
    /// only when no thread runs and none could be started (the item must then not be
    /// queued: nobody would take it).
    pub fn before_queueing(&mut self, spawn: impl FnOnce() -> io::Result<()>) -> io::Result<()> {
        if self.outstanding + 1 > self.started && self.started < self.max {
            match spawn() {
                Ok(()) => self.started += 1,
                Err(e) if self.started == 0 => return Err(e),
                // The running threads take it, in turn.
                Err(_) => {}
            }
        }
        self.outstanding += 1;
        Ok(())
    }

    /// An item's answer was taken: it is no longer out.
    pub fn answered(&mut self) {
        self.outstanding -= 1;
    }

    /// Items out, their answers not yet taken.
    pub fn outstanding(&self) -> usize {
        self.outstanding
    }
}
