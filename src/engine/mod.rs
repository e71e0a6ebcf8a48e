//! The three engines behind `--engine`, all driving the same [`Scheduler`].
//!
//! - `reactor`: the mio event loop ([`crate::engine::reactor`]), one thread, many sockets (large
//!   bodies are lent to disk threads).
//! - `blocking`: one request after another on `std::net`, the seed's `requests` script.
//! - `threads`: a pool of blocking workers, the seed's thread "executor".
//!
//! They share the protocol layer (`crate::protocol::http`), the policy (`crate::policy::scheduler`) and the
//! seam between them (`crate::engine::pump`), so they save the same files and report the same
//! summary; only the waiting differs, which is what the comparison is about.

pub mod pump;
pub mod reactor;

pub mod workers;

use std::io;

use crate::model::options::Engine;
use crate::model::stop::Stop;
use crate::policy::scheduler::Scheduler;

/// Runs every job of `scheduler` with the engine its options name.
pub fn run(scheduler: &mut Scheduler, stop: &Stop) -> io::Result<()> {
    match scheduler.options().engine {
        Engine::Reactor => crate::engine::reactor::run(scheduler, stop),
        Engine::Blocking => workers::run(scheduler, 1, stop),
        Engine::Threads => {
            let options = scheduler.options();
            // A worker holds at most one socket and one request: the pool and the
            // semaphore both bound the number of workers.
            let workers = [options.max_in_flight, options.connections]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(100)
                .clamp(1, workers::MAX_WORKERS);
            workers::run(scheduler, workers, stop)
        }
    }
}
