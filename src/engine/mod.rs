//! The three engines behind `--engine`, all driving the same [`Scheduler`].
//!
//! - `reactor`: the mio event loop ([`crate::engine::reactor`]), one thread, many sockets (large
//!   bodies are lent to disk threads).
//! - `blocking`: one request after another on `std::net`, the seed's `requests` script.
//! - `threads`: a pool of blocking workers, the seed's thread "executor".
//!
//! They share the protocol layer (`crate::protocol::http`), the policy
//! (`crate::policy::scheduler`) and the seam between them, [`answer`] (one copy of how
//! an answer is read off a socket: framing, the keep-alive race, kept bytes, files), so
//! they save the same files, report the same failures the same way and print the same
//! summary; only the waiting differs, which is what the comparison is about. A
//! `CONNECT` tunnel through an HTTP proxy is [`tunnel`], shared the same way.
//!
//! May use: every layer below (protocol, model, policy, output, transport), mio, socket2.

pub mod answer;
pub mod bounds;
pub mod limit;
pub mod reactor;
pub mod tunnel;
pub mod workers;

use std::io;

use crate::model::options::{Engine, TransferOptions};
use crate::model::stop::Stop;
use crate::output::sink::OutputDir;
use crate::policy::scheduler::Scheduler;

/// Runs every job of `scheduler` with the engine its options name.
pub fn run(scheduler: &mut Scheduler, output: &OutputDir, stop: &Stop) -> io::Result<()> {
    match scheduler.options().engine {
        Engine::Reactor => reactor::run(scheduler, output, stop),
        Engine::Blocking => workers::run(scheduler, output, 1, stop),
        Engine::Threads => {
            let workers = thread_workers(scheduler.options());
            workers::run(scheduler, output, workers, stop)
        }
    }
}

/// How many workers the `threads` engine starts for `options`. A worker holds at most
/// one socket and one request: the pool and the semaphore both bound their number.
pub fn thread_workers(options: &TransferOptions) -> usize {
    [options.max_in_flight, options.connections]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(100)
        .clamp(1, workers::MAX_WORKERS)
}
