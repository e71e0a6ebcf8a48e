//! The reactor: one thread, one `mio::Poll`, a slab of nonblocking sockets.
//!
//! ```text
//!   loop {
//!       dispatch   ── ready jobs get sockets (reuse an idle one, connect, ─────► pool
//!                     or queue behind a busy one with --pipeline)
//!       poll       ── sleep until a socket is ready or the next deadline ──────► mio
//!                     (not at all while a socket is busy: poll(0))
//!       stop?      ── a signal ends the run here, every turn
//!       on_ready   ── each ready socket makes the progress its budget allows ──► conn
//!       busy       ── then each socket that used its whole budget last turn
//!       held       ── then, when --limit-rate's bucket has room, the sockets it held,
//!                     and when a staged file's descriptor is to spare, those waiting for one
//!       expire     ── connects and reads past their deadline fail ─────────────► timers
//!   }
//! ```
//!
//! One socket, one turn: a socket reads at most a budget per turn (`conn::READ_BUDGET`)
//! and, if it may have more, waits on the busy list, served every turn after a `poll`
//! that does not sleep, with no new edge needed. The clock is read again after a socket
//! that used its budget, so the deadlines set after it count from their own reads.
//!
//! `--limit-rate`: a socket the run's byte bucket has nothing for goes on the held list
//! (it stays registered; its events are ignored meanwhile) and the loop wakes when the
//! bucket has room again, to serve the held sockets in turn, first held first served.
//! The kernel's receive buffers fill meanwhile, and TCP's flow control slows the senders.
//!
//! The slab key of a socket is its `mio::Token` (mio's advice), and its [`ConnId`] slot
//! in traces. Sockets are registered once, for both readable and writable, edge-triggered:
//! no re-registration per request (only a socket lent to a disk thread leaves the poll and
//! is registered again when it comes back). Readiness is only a hint (mio's `Poll` docs), so
//! every handler tolerates a spurious wake-up.
//!
//! Files: [`conn`] is the per-socket state machine, [`timers`] the deadlines, [`splice`]
//! the zero-copy path for large bodies, [`disk`] the threads those bodies are lent to
//! (their reports wake `poll` through a `mio::Waker`, token `usize::MAX`), [`resolve`]
//! the threads that look host names up (their answers ring the same waker), and
//! `crate::policy::pool` decides who gets a socket (and keeps the jobs that wait for
//! their host's lookup). Everything else stays on this one thread.
//! Bytes pass through `crate::transport`, which adds TLS for `https://` hosts; a TLS
//! handshake needs no state of its own here: its records ride on the same
//! readable/writable edges as the HTTP bytes.
//!
//! Layer: `engine`; may use `protocol`, `model`, `policy`, `output` and `transport` (see `src/engine/mod.rs`).

pub mod busy;
pub mod conn;
pub mod crew;
pub mod disk;
pub mod resolve;
pub mod splice;
pub mod timers;

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token, Waker};
use slab::Slab;
use socket2::{Domain, Protocol, Socket, Type};

use crate::engine::answer::Landing;
use crate::engine::limit::Limiter;
use crate::model::error::{is_out_of_descriptors, JobError};
use crate::model::event::Event;
use crate::model::job::{ConnId, JobId, Phase};
use crate::model::stop::Stop;
use crate::output::sink::OutputDir;
use crate::policy::pool::{Addresses, Checkout, HostId, Need, Pool};
use crate::policy::scheduler::{Ending, Scheduler};
use crate::transport::Opener;
use busy::BusyList;
use conn::{Action, Conn};
use timers::Timers;

/// The size of the one read buffer all sockets share.
const READ_BUFFER: usize = 256 << 10;
/// Jobs skipped over in one dispatch because their host is at `--per-host`.
const MAX_DEFERRED: usize = 64;
/// New sockets one dispatch connects at most before the loop polls again. On loopback a
/// `connect` runs the whole handshake, the server's half included, in the caller (35 to
/// 50 µs): 10,000 of them in one turn would hold the first socket's request back for a
/// third of a second, and then hand the server all 10,000 requests at once.
const CONNECT_BUDGET: usize = 256;

/// Happy Eyeballs' Connection Attempt Delay (RFC 8305 §5 recommends 250 ms): how long a
/// connect runs alone before one to the host's next address starts beside it.
const ATTEMPT_DELAY: Duration = Duration::from_millis(250);

/// What starting a connect to one of a host's addresses gave.
enum Dialed {
    /// A connect is under way, to the address with this number.
    Started(TcpStream, usize),
    /// Every address left failed at once (the last error).
    NoneLeft(io::Error),
    /// No descriptor could be made for a socket.
    NoDescriptor(io::Error),
}

/// Runs the scheduler's jobs to the end on this thread.
pub fn run(scheduler: &mut Scheduler, output: &OutputDir, stop: &Stop) -> io::Result<()> {
    let mut reactor = Reactor::new(scheduler, output)?;
    let mut events = Events::with_capacity(1024);
    loop {
        reactor.dispatch(scheduler, Instant::now());
        if scheduler.is_finished() {
            break;
        }
        let timeout = reactor.poll_timeout(scheduler, Instant::now());
        if let Err(e) = reactor.poll.poll(&mut events, timeout) {
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
        if let Some(signal) = stop.requested() {
            scheduler.stop(Ending::Interrupted(signal));
            reactor.abort(scheduler, Instant::now());
            break;
        }
        let due = reactor.busy.begin_turn();
        let mut now = Instant::now();
        for event in events.iter() {
            match event.token() {
                disk::WAKE_TOKEN => {
                    reactor.on_disk_reports(scheduler, now);
                    reactor.on_lookups(scheduler, now);
                }
                Token(key) => {
                    let peer_closed = event.is_read_closed() || event.is_error();
                    now = reactor.on_ready(ConnId(key), peer_closed, scheduler, now);
                }
            }
        }
        now = reactor.serve_busy(due, scheduler, now);
        if reactor.limit.is_some() {
            now = reactor.serve_held(scheduler, now);
        }
        if !reactor.awaiting_file.is_empty() {
            now = reactor.serve_awaiting_file(scheduler, now);
        }
        reactor.expire(scheduler, now);
    }
    reactor.close_all(scheduler, Instant::now());
    Ok(())
}

/// The reactor's state between polls.
struct Reactor<'o> {
    poll: Poll,
    conns: Slab<Conn>,
    pool: Pool,
    timers: Timers,
    read_buffer: Box<[u8]>,
    /// The pipe of the zero-copy path (`None` where `splice(2)` is not available).
    pipe: Option<splice::Pipe>,
    /// The threads large bodies are lent to (`None` with `--disk-threads 0` or no pipe).
    disk: Option<disk::DiskThreads>,
    /// The threads host names are looked up on.
    resolvers: resolve::Resolvers,
    /// The poll's one waker when there are no disk threads to keep it.
    waker: Option<Arc<Waker>>,
    next_serial: u64,
    spare_out: Vec<Vec<u8>>,
    /// `--pipeline`: requests a socket may carry at once (1: no pipelining).
    pipeline_depth: usize,
    /// Sockets with pipelined requests queued in this dispatch, not yet written.
    unflushed: Vec<ConnId>,
    /// Sockets that used their whole read budget and may still have bytes.
    busy: BusyList,
    /// The last dispatch stopped at [`CONNECT_BUDGET`] with jobs that could open more.
    connects_left: bool,
    /// Plain or TLS, by scheme; one TLS configuration for the run.
    opener: Opener,
    /// Where file bodies land.
    landing: Landing<'o>,
    /// `--limit-rate`'s bucket (shared with the disk threads), if set.
    limit: Option<Arc<Limiter>>,
    /// The sockets `--limit-rate` held back, in the order they were held, and when the
    /// bucket has room for the first of them.
    held: VecDeque<busy::Entry>,
    held_until: Option<Instant>,
    /// The sockets held until a descriptor for a staged file is to spare (the open-file
    /// limit's share for files, [`Landing::no_file_to_spare`]), in the order they were held.
    awaiting_file: VecDeque<busy::Entry>,
}

impl<'o> Reactor<'o> {
    fn new(scheduler: &Scheduler, output: &'o OutputDir) -> io::Result<Reactor<'o>> {
        let options = scheduler.options();
        let pipe = splice::Pipe::new().ok();
        let disk_threads = options.disk_threads;
        Ok(Reactor {
            poll: Poll::new()?,
            conns: Slab::new(),
            pool: Pool::new(options.connections, options.per_host),
            timers: Timers::default(),
            read_buffer: vec![0; READ_BUFFER].into_boxed_slice(),
            disk: (pipe.is_some() && disk_threads > 0)
                .then(|| disk::DiskThreads::new(disk_threads)),
            pipe,
            resolvers: resolve::Resolvers::new(options.naming.clone()),
            waker: None,
            next_serial: 0,
            spare_out: Vec::new(),
            pipeline_depth: if options.keep_alive {
                options.pipeline
            } else {
                1
            },
            unflushed: Vec::new(),
            busy: BusyList::default(),
            connects_left: false,
            opener: Opener::new(options)?,
            landing: Landing::new(output).with_staged_limit(options.staged_files),
            limit: Limiter::for_run(options),
            held: VecDeque::new(),
            held_until: None,
            awaiting_file: VecDeque::new(),
        })
    }

    /// Hands ready jobs to sockets until the semaphore or the pool says stop.
    fn dispatch(&mut self, scheduler: &mut Scheduler, now: Instant) {
        if scheduler.take_descriptor_shortage() {
            // A staged file found no descriptor (its job went back to the queue): hold
            // no more sockets than are open now.
            self.pool.shrink_to_open();
        }
        let mut deferred = 0;
        let mut connects = 0;
        self.connects_left = false;
        while let Some(job) = scheduler.next_ready(now) {
            let (url, route) = scheduler.url_and_route(job);
            let host = self.pool.intern_route(url, route);
            match self.pool.await_addresses(host, job) {
                Addresses::Known => {}
                wait => {
                    // The job waits in the pool, without a permit or a socket.
                    scheduler.await_lookup(job);
                    if wait == Addresses::StartLookup {
                        self.start_lookup(host, scheduler, now);
                    }
                    continue;
                }
            }
            let need = if scheduler.needs_fresh_socket(job) {
                Need::FreshSocket
            } else if scheduler.is_get(job) {
                Need::AnySocket
            } else {
                Need::NotPipelined
            };
            match self.pool.checkout(host, need) {
                Checkout::Reuse(slot) => self.reuse(slot, job, scheduler, now),
                Checkout::Pipeline(slot) => self.pipeline(slot, job, scheduler, now),
                Checkout::Open | Checkout::EvictAndOpen(_) if connects == CONNECT_BUDGET => {
                    // The rest after this turn's events: poll returns at once.
                    scheduler.put_back(job);
                    self.connects_left = true;
                    break;
                }
                Checkout::Open => {
                    connects += 1;
                    self.open(host, job, scheduler, now);
                }
                Checkout::EvictAndOpen(idle) => {
                    connects += 1;
                    self.close(idle, scheduler, now);
                    self.open(host, job, scheduler, now);
                }
                Checkout::HostFull if deferred < MAX_DEFERRED => {
                    scheduler.defer(job);
                    deferred += 1;
                }
                Checkout::HostFull | Checkout::Full => {
                    scheduler.put_back(job);
                    break;
                }
            }
        }
        scheduler.restore_deferred();
        while let Some(slot) = self.unflushed.pop() {
            let after = self.conns[slot.0].flush(scheduler, now);
            self.settle(slot, after, scheduler, now);
        }
    }

    /// Sends `job` on the idle socket `slot`.
    fn reuse(&mut self, slot: ConnId, job: JobId, scheduler: &mut Scheduler, now: Instant) {
        let conn = &mut self.conns[slot.0];
        match scheduler.encode_request(job, conn.out_for_next(), now) {
            Ok(method) => {
                scheduler.emit(Event::ConnectionReused { slot }, now);
                let after = conn.start(job, method, slot, scheduler, now);
                self.settle(slot, after, scheduler, now);
            }
            Err(e) => {
                self.pool.release(conn.host(), slot);
                scheduler.on_error(job, e, now);
            }
        }
    }

    /// Queues `job` on the busy socket `slot`, behind the requests it carries
    /// (`--pipeline`; the pool took the socket out of its room list). The socket is
    /// written once, at the end of the dispatch, for all the requests queued on it.
    fn pipeline(&mut self, slot: ConnId, job: JobId, scheduler: &mut Scheduler, now: Instant) {
        let conn = &mut self.conns[slot.0];
        conn.leave_room();
        // The first request queued since the socket was last written whole: flush it at
        // the end of the dispatch. (Bytes still unwritten from before go out with the
        // socket's next writable edge, the new ones with them.)
        let first = conn.all_written();
        match scheduler.encode_request(job, conn.out_for_next(), now) {
            Ok(method) => {
                scheduler.emit(Event::ConnectionReused { slot }, now);
                conn.pipeline(job, method, slot, scheduler, now);
                if first {
                    self.unflushed.push(slot);
                }
            }
            Err(e) => scheduler.on_error(job, e, now),
        }
        // Back on the room list if it can take more.
        self.settle(slot, Action::Wait, scheduler, now);
    }

    /// Connects a new socket to `host` for `job`.
    fn open(&mut self, host: HostId, job: JobId, scheduler: &mut Scheduler, now: Instant) {
        let mut out = self.spare_out.pop().unwrap_or_default();
        match scheduler.encode_request(job, &mut out, now) {
            Ok(method) => {
                let request = conn::Redial {
                    host,
                    next_address: 0,
                    job,
                    method,
                    out,
                    until: now + scheduler.options().connect_timeout,
                };
                self.connect_to(request, None, scheduler, now);
            }
            Err(e) => scheduler.on_error(job, e, now),
        }
    }

    /// Starts a connect to the host's address `request.next_address`, or to the next ones
    /// while a connect fails at once (`localhost` is often `::1` first, where nothing
    /// listens). `failed` is the error of the address before, reported if none is left.
    /// If another address follows, a connect to it starts beside this one after the
    /// attempt delay (Happy Eyeballs, [`Reactor::race`]).
    fn connect_to(
        &mut self,
        request: conn::Redial,
        failed: Option<io::Error>,
        scheduler: &mut Scheduler,
        now: Instant,
    ) {
        let (host, job) = (request.host, request.job);
        let (stream, index) = match self.dial(host, request.next_address, failed) {
            Dialed::Started(stream, index) => (stream, index),
            Dialed::NoneLeft(e) => {
                let error = scheduler.connect_error(job, JobError::Connect(e));
                return scheduler.on_error(job, error, now);
            }
            Dialed::NoDescriptor(e) => {
                // Backpressure, not this address's fault: the pool holds no more
                // sockets than are open now, and the job waits for one of them to
                // close, without counting a try (`Scheduler::on_error`).
                self.pool.shrink_to_open();
                let mut out = request.out;
                out.clear();
                self.spare_out.push(out);
                return scheduler.on_error(job, JobError::Connect(e), now);
            }
        };
        let next = index + 1;
        let racing = conn::Racing {
            next_address: next,
            start_next_at: self
                .pool
                .address(host, next)
                .map(|_| now + ATTEMPT_DELAY)
                .filter(|at| *at < request.until),
            until: request.until,
            rival: None,
        };
        if let Err(e) = self.install(stream, request, racing, scheduler, now) {
            scheduler.on_error(job, e, now);
        }
    }

    /// Starts a nonblocking connect to the host's address number `first`, or to the
    /// next ones while a connect fails at once.
    fn dial(&mut self, host: HostId, first: usize, mut failed: Option<io::Error>) -> Dialed {
        let mut index = first;
        loop {
            let Some(addr) = self.pool.address(host, index) else {
                return Dialed::NoneLeft(failed.unwrap_or_else(|| io::ErrorKind::NotFound.into()));
            };
            match connect(addr) {
                Ok(stream) => return Dialed::Started(stream, index),
                Err(e) if is_out_of_descriptors(&e) => return Dialed::NoDescriptor(e),
                Err(e) => (failed, index) = (Some(e), index + 1),
            }
        }
    }

    /// Puts a socket whose connect has started in the poll and the slab, carrying
    /// `request`'s job. Returns its slot.
    fn install(
        &mut self,
        mut stream: TcpStream,
        request: conn::Redial,
        racing: conn::Racing,
        scheduler: &mut Scheduler,
        now: Instant,
    ) -> Result<ConnId, JobError> {
        let entry = self.conns.vacant_entry();
        let slot = ConnId(entry.key());
        let interest = Interest::READABLE | Interest::WRITABLE;
        let registry = self.poll.registry();
        registry
            .register(&mut stream, Token(slot.0), interest)
            .map_err(JobError::Connect)?;
        self.next_serial += 1;
        let host = request.host;
        let (scheme, name) = self.pool.name(host);
        let transport = self.opener.open(scheme, name, stream)?;
        let dial = conn::Dial {
            host,
            racing,
            serial: self.next_serial,
            max_time: crate::engine::bounds::Deadline::new(scheduler.options(), now),
        };
        let (job, method) = (request.job, request.method);
        entry.insert(Conn::connecting(transport, dial, job, method, request.out));
        self.pool.opened(host);
        scheduler.emit(Event::ConnectionOpened { slot }, now);
        if racing.rival.is_none() {
            // (A racer's job is connecting already.)
            scheduler.set_phase(job, Phase::Connecting, Some(slot), now);
        }
        self.settle(slot, Action::Wait, scheduler, now);
        Ok(slot)
    }

    /// Happy Eyeballs (RFC 8305 §5): the connecting socket `from` has not connected
    /// within the attempt delay, or its rival failed. Starts a connect to the host's next
    /// address beside it, for the same job (a copy of its request); at most two race at
    /// once. With no address left, `from` goes on alone.
    fn race(&mut self, from: ConnId, scheduler: &mut Scheduler, now: Instant) {
        let conn = &mut self.conns[from.0];
        let (Some((job, method, out)), racing) = (conn.request_copy(), *conn.racing()) else {
            return;
        };
        if racing.rival.is_some() {
            return;
        }
        let (host, from_serial) = (conn.host(), conn.serial());
        let (stream, index) = match self.dial(host, racing.next_address, None) {
            Dialed::Started(stream, index) => (stream, index),
            Dialed::NoneLeft(_) => return,
            Dialed::NoDescriptor(_) => {
                self.pool.shrink_to_open();
                return;
            }
        };
        let next = index + 1;
        let theirs = conn::Racing {
            next_address: next,
            start_next_at: None,
            until: racing.until,
            rival: Some((from, from_serial)),
        };
        let request = conn::Redial {
            host,
            next_address: next,
            job,
            method,
            out,
            until: racing.until,
        };
        // A racer that cannot be set up leaves `from` to go on alone.
        if let Ok(slot) = self.install(stream, request, theirs, scheduler, now) {
            let serial = self.conns[slot.0].serial();
            let ours = self.conns[from.0].racing();
            ours.next_address = next;
            ours.rival = Some((slot, serial));
            scheduler.emit(Event::HappyEyeballsRace { slot }, now);
        }
    }

    /// Ends the pairing of `slot` with its rival, if it races one: the rival's slot, to
    /// close or to carry on alone.
    fn unlink_rival(&mut self, slot: ConnId) -> Option<ConnId> {
        let (rival, serial) = self.conns[slot.0].racing().rival.take()?;
        let conn = self
            .conns
            .get_mut(rival.0)
            .filter(|c| c.serial() == serial)?;
        conn.racing().rival = None;
        Some(rival)
    }

    /// A socket is ready: let it progress, then settle what it asks for.
    /// `peer_closed`: the event says the peer shut its side, so read until EOF.
    /// Returns the time to go on with: `now`, or the clock's if the socket used its
    /// whole budget (the one way a socket's turn takes long).
    fn on_ready(
        &mut self,
        slot: ConnId,
        peer_closed: bool,
        scheduler: &mut Scheduler,
        now: Instant,
    ) -> Instant {
        // A socket closed earlier in this batch may still have an event queued.
        let Some(conn) = self.conns.get_mut(slot.0) else {
            return now;
        };
        if conn.is_held() {
            // --limit-rate holds it: it is served from the held list, in its turn.
            return now;
        }
        let path = conn::ReadPath {
            buf: &mut self.read_buffer[..],
            pipe: self.pipe.as_mut(),
            disk: self.disk.as_mut().map(|d| (d, self.poll.registry())),
            landing: &mut self.landing,
            limit: self.limit.as_ref(),
        };
        let after = conn.on_ready(slot, peer_closed, path, scheduler, now);
        if let Some((rival, serial)) = conn.won_race() {
            // Happy Eyeballs: this one connected first and carries the job.
            if self
                .conns
                .get(rival.0)
                .is_some_and(|c| c.serial() == serial)
            {
                self.conns[rival.0].racing().rival = None;
                self.close(rival, scheduler, now);
            }
        }
        let busy = matches!(after, Action::Busy);
        self.settle(slot, after, scheduler, now);
        if busy {
            Instant::now()
        } else {
            now
        }
    }

    /// Serves again the sockets that used their whole budget in the last turn and have
    /// not been served since. No edge announced them, so a short read is not taken as
    /// drained: each reads until `WouldBlock` or its budget.
    fn serve_busy(
        &mut self,
        (due, marked_in): (Vec<busy::Entry>, u64),
        scheduler: &mut Scheduler,
        mut now: Instant,
    ) -> Instant {
        for &(slot, serial) in &due {
            let waiting = self
                .conns
                .get(slot.0)
                .is_some_and(|conn| conn.serial() == serial && conn.is_busy_since(marked_in));
            if waiting {
                now = self.on_ready(slot, true, scheduler, now);
            }
        }
        self.busy.done(due);
        now
    }

    /// `--limit-rate`: when the bucket has room, serves the sockets it held, first held
    /// first, until one is held again (the bucket is empty: it goes to the back of the
    /// list, behind those that waited longer). No edge announced them, so each reads
    /// until `WouldBlock`, its budget or its grant.
    fn serve_held(&mut self, scheduler: &mut Scheduler, mut now: Instant) -> Instant {
        if self.held_until.is_some_and(|at| at > now) {
            return now;
        }
        self.held_until = None;
        let timeout = scheduler.options().timeout;
        for _ in 0..self.held.len() {
            let Some((slot, serial)) = self.held.pop_front() else {
                break;
            };
            let Some(conn) = (self.conns.get_mut(slot.0)).filter(|c| c.serial() == serial) else {
                continue;
            };
            if !conn.is_held() {
                continue;
            }
            conn.resume(now, timeout);
            now = self.on_ready(slot, true, scheduler, now);
            if self.held_until.is_some() {
                // Held again: the bucket has nothing left for the others either.
                break;
            }
        }
        now
    }

    /// The open-file limit: while a descriptor for a staged file is to spare, serves the
    /// sockets held for one, first held first, until one is held again (none is left).
    /// No edge announced them, so each reads until `WouldBlock` or its budget.
    fn serve_awaiting_file(&mut self, scheduler: &mut Scheduler, mut now: Instant) -> Instant {
        let timeout = scheduler.options().timeout;
        for _ in 0..self.awaiting_file.len() {
            if self.landing.no_file_to_spare() {
                break;
            }
            let Some((slot, serial)) = self.awaiting_file.pop_front() else {
                break;
            };
            let Some(conn) = (self.conns.get_mut(slot.0)).filter(|c| c.serial() == serial) else {
                continue;
            };
            if conn.is_held() {
                conn.resume(now, timeout);
                now = self.on_ready(slot, true, scheduler, now);
            }
        }
        now
    }

    /// The disk threads rang: take their progress and give back the sockets they are
    /// done with.
    fn on_disk_reports(&mut self, scheduler: &mut Scheduler, now: Instant) {
        while let Some(report) = self.disk.as_mut().and_then(|d| d.next_report()) {
            let (disk::Report::Progress { loan, .. } | disk::Report::Done { loan, .. }) = report;
            // A socket closed meanwhile (a stopped run) has nothing to hear.
            let Some(conn) = self
                .conns
                .get_mut(loan.key)
                .filter(|c| c.serial() == loan.serial)
            else {
                continue;
            };
            match report {
                disk::Report::Progress { moved, .. } => conn.lent_progress(moved, scheduler, now),
                disk::Report::Done { moved, outcome, .. } => {
                    let after = conn.lent_back(
                        ConnId(loan.key),
                        self.poll.registry(),
                        moved,
                        outcome,
                        (&mut self.read_buffer, &mut self.landing),
                        scheduler,
                        now,
                    );
                    self.settle(ConnId(loan.key), after, scheduler, now);
                }
            }
        }
    }

    /// Starts the lookup of `host`'s addresses: answered at once when they are known
    /// without one (an IP literal, `--resolve`), else on a resolver thread.
    fn start_lookup(&mut self, host: HostId, scheduler: &mut Scheduler, now: Instant) {
        let (name, port) = self.pool.lookup_key(host);
        if let Some(found) = self.resolvers.known(name, port) {
            return self.on_answer(host, found, scheduler, now);
        }
        let waker = match &mut self.disk {
            Some(disk) => disk.waker(self.poll.registry()),
            None => match &self.waker {
                Some(waker) => Ok(Arc::clone(waker)),
                None => Waker::new(self.poll.registry(), disk::WAKE_TOKEN).map(Arc::new),
            },
        };
        let (name, port) = self.pool.lookup_key(host);
        let asked = waker.and_then(|waker| {
            self.resolvers.ask(host, name, port, &waker)?;
            self.waker.get_or_insert(waker);
            Ok(())
        });
        if let Err(e) = asked {
            let e = io::Error::new(e.kind(), format!("{name}: {e}"));
            self.on_answer(host, Err(e), scheduler, now);
        }
    }

    /// The resolver threads rang: hand each answer to the jobs that waited for it.
    fn on_lookups(&mut self, scheduler: &mut Scheduler, now: Instant) {
        while let Some(answer) = self.resolvers.next_answer() {
            let (host, took) = (self.pool.lookup_key(answer.host).0, answer.took);
            let found = answer.found.as_ref().map(Vec::len);
            scheduler.emit(Event::Lookup { host, took, found }, now);
            self.on_answer(answer.host, answer.found, scheduler, now);
        }
    }

    /// `host`'s lookup answered: its jobs go back to the queue, first, or fail (that
    /// host's jobs only).
    fn on_answer(
        &mut self,
        host: HostId,
        found: io::Result<Vec<SocketAddr>>,
        scheduler: &mut Scheduler,
        now: Instant,
    ) {
        match found {
            Ok(addrs) => {
                for job in self.pool.resolved(host, Some(addrs)).into_iter().rev() {
                    scheduler.lookup_done(job);
                }
            }
            Err(e) => {
                for job in self.pool.resolved(host, None) {
                    let error = io::Error::new(e.kind(), e.to_string());
                    scheduler.lookup_failed(job, JobError::Resolve(error), now);
                }
            }
        }
    }

    /// Carries out a socket's [`Action`], and keeps its deadline in the heap.
    fn settle(&mut self, slot: ConnId, after: Action, scheduler: &mut Scheduler, now: Instant) {
        match after {
            Action::Close => {
                // A connect that timed out ends its race: the rival goes too.
                if let Some(rival) = self.unlink_rival(slot) {
                    self.close(rival, scheduler, now);
                }
                self.close(slot, scheduler, now);
            }
            Action::ConnectFailed(error) => {
                if let Some(rival) = self.unlink_rival(slot) {
                    // The rival carries the job on, and a failed attempt makes way for
                    // the next one at once (RFC 8305 §5).
                    let next = self.conns[slot.0].racing().next_address;
                    self.close(slot, scheduler, now);
                    let theirs = self.conns[rival.0].racing();
                    theirs.next_address = theirs.next_address.max(next);
                    return self.race(rival, scheduler, now);
                }
                // Try the host's next address with the same request bytes.
                let redial = self.conns[slot.0].take_request();
                self.close(slot, scheduler, now);
                self.connect_to(redial, Some(error), scheduler, now);
            }
            Action::Race => {
                self.race(slot, scheduler, now);
                // Its own timer again, at the connect deadline.
                self.settle(slot, Action::Wait, scheduler, now);
            }
            Action::Release if scheduler.wants_no_socket() => {
                // Nothing left to carry: closed now, between answers, not in a row of
                // 10,000 closes (a FIN each) after the last one.
                self.close(slot, scheduler, now);
            }
            Action::Release => {
                let conn = &mut self.conns[slot.0];
                if conn.leave_room() {
                    self.pool.no_room(conn.host(), slot);
                }
                self.pool.release(conn.host(), slot);
            }
            Action::Wait | Action::Busy | Action::Held | Action::AwaitFile => {
                let conn = &mut self.conns[slot.0];
                if matches!(after, Action::Busy) && conn.mark_busy(self.busy.turn()) {
                    self.busy.mark((slot, conn.serial()));
                }
                if matches!(after, Action::Held) {
                    if conn.hold() {
                        self.held.push_back((slot, conn.serial()));
                    }
                    if let Some(limit) = &self.limit {
                        self.held_until = Some(limit.ready_at(READ_BUFFER, now));
                    }
                }
                if matches!(after, Action::AwaitFile) && conn.hold() {
                    self.awaiting_file.push_back((slot, conn.serial()));
                }
                // Keep the pool's list of sockets with room for a pipelined request true.
                match conn.room_change(self.pipeline_depth) {
                    Some(true) => self.pool.has_room(conn.host(), slot),
                    Some(false) => self.pool.no_room(conn.host(), slot),
                    None => {}
                }
                if let Some(deadline) = conn.deadline_to_arm() {
                    self.timers.schedule(deadline, slot.0, conn.serial());
                }
            }
        }
    }

    /// Fails the jobs of sockets past their deadline.
    fn expire(&mut self, scheduler: &mut Scheduler, now: Instant) {
        while let Some((key, serial)) = self.timers.pop_due(now) {
            let Some(conn) = self.conns.get_mut(key).filter(|c| c.serial() == serial) else {
                continue;
            };
            let after = if conn.timer_fired(now) {
                conn.on_timeout(scheduler, now)
            } else {
                // Activity moved the deadline (or cleared it): settle re-arms if needed.
                Action::Wait
            };
            self.settle(ConnId(key), after, scheduler, now);
        }
    }

    /// How long `poll` may sleep: until the next socket deadline or backoff end; not at
    /// all while a socket waits on the busy list.
    fn poll_timeout(&self, scheduler: &Scheduler, now: Instant) -> Option<Duration> {
        if self.busy.has_marked() || self.connects_left {
            return Some(Duration::ZERO);
        }
        let next = match (self.timers.next(), scheduler.next_deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        // --limit-rate: wake when the bucket has room for the sockets it held.
        let next = match (next, self.held_until.filter(|_| !self.held.is_empty())) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        // A signal that lands just before `poll` sleeps is seen within a second.
        let bound = Duration::from_secs(1);
        Some(next.map_or(bound, |at| at.saturating_duration_since(now).min(bound)))
    }

    fn close(&mut self, slot: ConnId, scheduler: &mut Scheduler, now: Instant) {
        // Closing the socket removes it from the poll: no `deregister` syscall needed.
        let mut conn = self.conns.remove(slot.0);
        self.pool.closed(conn.host(), slot);
        conn.give_back_queued(scheduler, now);
        let mut out = conn.take_out();
        out.clear();
        self.spare_out.push(out);
        scheduler.emit(Event::ConnectionClosed { slot }, now);
    }

    /// Stops every job in flight (a signal arrived).
    fn abort(&mut self, scheduler: &mut Scheduler, now: Instant) {
        // A job racing two connects is stopped once: one of the pair goes first.
        let racing: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, c)| c.rival().is_some())
            .map(|(key, _)| ConnId(key))
            .collect();
        for slot in racing {
            if !self.conns.contains(slot.0) {
                continue; // The rival of one closed already.
            }
            if let Some(rival) = self.unlink_rival(slot) {
                self.close(rival, scheduler, now);
            }
        }
        for (_, conn) in self.conns.iter_mut() {
            conn.abort(scheduler, now);
        }
    }

    fn close_all(&mut self, scheduler: &mut Scheduler, now: Instant) {
        self.pool.retire();
        let slots: Vec<usize> = self.conns.iter().map(|(key, _)| key).collect();
        for slot in slots {
            self.close(ConnId(slot), scheduler, now);
        }
    }
}

/// Starts a nonblocking connect with socket2: `TCP_NODELAY` set before the first byte,
/// and `EINPROGRESS` is the normal answer. Where `socket(2)` can make the socket
/// nonblocking itself (`SOCK_NONBLOCK`: Linux, the BSDs), it does, instead of two
/// `fcntl` after it: three syscalls before the connect's own, not five.
fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
    let (kind, nonblocking) = stream_type();
    let socket = Socket::new(Domain::for_address(addr), kind, Some(Protocol::TCP))?;
    if !nonblocking {
        socket.set_nonblocking(true)?;
    }
    socket.set_tcp_nodelay(true)?;
    match socket.connect(&addr.into()) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
        Err(e) => return Err(e),
    }
    Ok(TcpStream::from_std(socket.into()))
}

/// A stream socket's type, nonblocking from its creation where the system allows, and
/// whether it is.
fn stream_type() -> (Type, bool) {
    #[cfg(any(
        target_os = "linux",
        target_os = "android",
        target_os = "freebsd",
        target_os = "netbsd",
        target_os = "openbsd",
        target_os = "dragonfly",
        target_os = "illumos",
        target_os = "fuchsia"
    ))]
    return (Type::STREAM.nonblocking(), true);
    #[allow(unreachable_code)]
    (Type::STREAM, false)
}
