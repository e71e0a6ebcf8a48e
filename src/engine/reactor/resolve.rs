//! Resolver threads: name lookups off the reactor's thread.
//!
//! `getaddrinfo` blocks, for as long as the network and `/etc/resolv.conf` make it (5 s a
//! try is glibc's default timeout), and the reactor is one thread: a lookup on it would
//! freeze every socket and timer of the run. So lookups go to a few threads, as curl's
//! threaded resolver and aiohttp's `ThreadedResolver` do:
//!
//! ```text
//!   reactor thread                            resolver thread (one of 64, on demand)
//!   first job of a host: the pool parks it,
//!   ask (host id, name, port)       ───────►  resolver.resolve(name, port)   (blocks)
//!   ... serves every other socket ...
//!   answer                          ◄───────  (a channel, and the one mio::Waker)
//!   the pool keeps the addresses, the host's parked jobs go back to the queue
//! ```
//!
//! The answers ring the same `mio::Waker` as the disk threads ([`super::disk::WAKE_TOKEN`]):
//! mio allows one waker per `Poll`, so the reactor makes it once and both kinds of
//! threads share it; on that token the reactor drains both channels (a `try_recv` on an
//! empty one costs nothing). What a lookup asks is the run's [`Naming`]: the system's
//! `getaddrinfo` unless the library was given another [`Resolve`](crate::model::resolve::Resolve).
//!
//! Layer: `engine`; may use `protocol`, `model`, `policy`, `output` and `transport` (see `src/engine/mod.rs`).

use std::io;
use std::net::SocketAddr;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use mio::Waker;

use crate::model::resolve::Naming;
use crate::policy::pool::HostId;

use super::crew::{Crew, WorkQueue};

/// Lookups that may run at once. A lookup mostly waits, but a slow one holds its
/// thread for as long as the DNS server takes: with N threads, N slow names at once
/// stall the lookup of every other host behind them (benches/many-hosts.sh: with 4
/// threads, 20 names answered after 1 s cost a run of 200 names 5 s, not 1 s). So the
/// cap is as high as the sockets a run commonly opens (`-c 64`), as curl starts a
/// thread per lookup; a thread starts only when every running one is busy (a burst of
/// new hosts starts them all), and a blocked one costs a stack and no CPU.
pub const RESOLVER_THREADS: usize = 64;

/// A finished lookup.
#[derive(Debug)]
pub struct Answer {
    /// Whose.
    pub host: HostId,
    /// The addresses (of the family asked for), or why there are none (naming the host).
    pub found: io::Result<Vec<SocketAddr>>,
    /// How long the lookup took.
    pub took: Duration,
}

/// One lookup to run.
struct Ask {
    host: HostId,
    name: String,
    port: u16,
}

/// The resolver threads of one reactor, started on demand, at most [`RESOLVER_THREADS`].
pub struct Resolvers {
    naming: Naming,
    /// The threads, and the lookups asked for and not yet answered.
    crew: Crew,
    queue: Arc<WorkQueue<Ask>>,
    answers: Receiver<Answer>,
    answer_to: Sender<Answer>,
}

impl Resolvers {
    /// No thread is started before the first lookup.
    pub fn new(naming: Naming) -> Resolvers {
        let (answer_to, answers) = mpsc::channel();
        Resolvers {
            naming,
            crew: Crew::new(RESOLVER_THREADS),
            queue: Arc::new(WorkQueue::default()),
            answers,
            answer_to,
        }
    }

    /// The addresses of `name:port` known without a lookup (an IP literal, a
    /// `--resolve` pin), of the family asked for: answered at once, on this thread.
    pub fn known(&self, name: &str, port: u16) -> Option<io::Result<Vec<SocketAddr>>> {
        let addrs = self.naming.known(name, port)?;
        Some(self.naming.finish(name, Ok(addrs)))
    }

    /// Queues a lookup of `name:port` for `host`, starting a thread if every thread has
    /// one and fewer than [`RESOLVER_THREADS`] run. `waker` rings `poll` when it answers.
    pub fn ask(
        &mut self,
        host: HostId,
        name: &str,
        port: u16,
        waker: &Arc<Waker>,
    ) -> io::Result<()> {
        self.crew.before_queueing(|| {
            let queue = Arc::clone(&self.queue);
            let (naming, answer_to) = (self.naming.clone(), self.answer_to.clone());
            let waker = Arc::clone(waker);
            thread::Builder::new()
                .name("miodl-resolve".into())
                .spawn(move || resolver_thread(&naming, &queue, &answer_to, &waker))
                .map(drop)
        })?;
        self.queue.push(Ask {
            host,
            name: name.to_string(),
            port,
        });
        Ok(())
    }

    /// The next answer, if any (after the waker rang).
    pub fn next_answer(&mut self) -> Option<Answer> {
        if self.crew.outstanding() == 0 {
            return None;
        }
        let answer = self.answers.try_recv().ok()?;
        self.crew.answered();
        Some(answer)
    }
}

impl Drop for Resolvers {
    /// Tells the threads to stop: an idle one exits at once, one in a lookup when the
    /// lookup returns (its answer goes nowhere).
    fn drop(&mut self) {
        self.queue.stop();
    }
}

/// A resolver thread: takes lookups one at a time.
fn resolver_thread(
    naming: &Naming,
    queue: &WorkQueue<Ask>,
    answer_to: &Sender<Answer>,
    waker: &Waker,
) {
    while let Some(ask) = queue.next() {
        let started = Instant::now();
        let found = naming.look_up(&ask.name, ask.port);
        let answer = Answer {
            host: ask.host,
            found: naming.finish(&ask.name, found),
            took: started.elapsed(),
        };
        // The reactor is gone only when the run is over: nobody to tell.
        if answer_to.send(answer).is_err() {
            return;
        }
        let _ = waker.wake();
    }
}
