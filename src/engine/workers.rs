//! The blocking engines: workers that each do one request at a time on `std::net`.
//!
//! One worker on the calling thread is the `blocking` engine; N workers on their own
//! threads are the `threads` engine. A worker takes a job from the shared scheduler (a
//! `Mutex`, locked for each call and never held across a socket call or a file write),
//! connects or reuses its one keep-alive socket, writes the request, and reads until the
//! answer ends, handing every buffer to the same [`Answer`] the reactor uses (so a
//! failure is reported in the same words and phase). Workers that find no ready job
//! wait on a `Condvar` until another finishes one, or until the next backoff ends.
//!
//! Each worker keeps at most one socket, so there are never more sockets than workers
//! (and the engine starts no more workers than `-c` and `--max-in-flight` allow, `-c`
//! sized at start to the open-file limit by the application). A worker whose
//! socket or staged file found no descriptor (`EMFILE`) stops taking jobs, unless it is
//! the last; its job goes back to the queue without counting a try. With
//! `--per-host`, a worker takes a job for a host only if it already holds a socket there
//! or the host has fewer open sockets than the limit.
//! Reads time out every `TICK` (100 ms) so a worker sees a stop request promptly; the idle
//! timeout (`--timeout`) is counted across those ticks, and the try's bounds
//! (`--max-time`, `--speed-limit`: [`crate::engine::bounds`]) are checked on each tick and
//! after each read, so they need no socket option of their own. Sockets are a
//! [`Transport`] in blocking mode, so `https://` goes through the same TLS code as the
//! reactor's (the handshake runs inside the first write and read). Through an HTTP
//! proxy, a worker connects to the proxy: `http://` requests go to it in absolute form
//! on a socket kept for every origin, an `https://` socket first opens a `CONNECT`
//! tunnel ([`Tunnel::establish`], the reactor's code in blocking form).
//! With `--limit-rate` the workers share one byte bucket ([`Limiter`]): each read takes
//! its grant first and reads no more, and a worker the bucket has nothing for sleeps
//! until it has (a tick at most, then it looks at the stop flag); that sleep is not
//! counted as the server's silence.
//!
//! Layer: `engine`; may use `protocol`, `model`, `policy`, `output` and `transport` (see `src/engine/mod.rs`).

use std::cell::Cell;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::engine::answer::{Answer, Broken, Landing, Policy, Progress, Unread};
use crate::engine::bounds::{Bounds, Deadline, Window};
use crate::engine::limit::{limited, Limiter};
use crate::engine::tunnel::Tunnel;
use crate::model::error::JobError;
use crate::model::event::Event;
use crate::model::job::{ConnId, JobId, Phase};
use crate::model::options::TransferOptions;
use crate::model::stop::Stop;
use crate::output::sink::OutputDir;
use crate::policy::pool::{hop_key, Hop, HostId, Pool};
use crate::policy::scheduler::{Ending, Scheduler};
use crate::protocol::http::Method;
use crate::protocol::proxy::Route;
use crate::protocol::url::{Scheme, Url};
use crate::transport::{Opener, Transport};

/// The most worker threads the `threads` engine starts.
pub const MAX_WORKERS: usize = 1024;
/// How often a blocked worker looks at the stop flag.
const TICK: Duration = Duration::from_millis(100);
/// A worker's read buffer.
const READ_BUFFER: usize = 64 << 10;

/// A scheme, host and port, and how it is reached (directly, or the HTTP proxy that
/// forwards `http://` URLs, or a tunnel through it): what `--per-host` counts sockets by,
/// and what a kept socket may be reused for.
type HostKey = (Scheme, String, u16, Hop);

/// The key of a URL's host by its route (an allocation: made only for a new socket or
/// `--per-host`).
fn host_of(url: &Url, route: Route<'_>) -> HostKey {
    let ((scheme, name, port), hop) = hop_key(url, route);
    (scheme, name.to_string(), port, hop)
}

/// True if `url` by `route` goes to the host of `key` (no allocation: the per-request
/// check).
fn is_host(key: &HostKey, url: &Url, route: Route<'_>) -> bool {
    let ((scheme, name, port), hop) = hop_key(url, route);
    key.0 == scheme && key.1 == name && key.2 == port && key.3 == hop
}

/// `--per-host`: the connector's count of the sockets open to each host, the same
/// [`Pool`] the reactor uses (workers keep their sockets between requests, so a kept
/// socket counts too). Locked after the scheduler, never before.
struct PerHost(Mutex<Pool>);

impl PerHost {
    fn pool(&self) -> MutexGuard<'_, Pool> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The pool's id of the host of `key` (interned on first sight; only counted, never
/// looked up, so a tunnel's proxy need not be known here).
fn host_id(pool: &mut Pool, key: &HostKey) -> HostId {
    pool.intern_hop(key.0, &key.1, key.2, key.3, None)
}

/// The scheduler and the condition workers wait on, and the per-host socket count.
struct Shared<'a> {
    scheduler: Mutex<&'a mut Scheduler>,
    changed: Condvar,
    /// Only with `--per-host`: without it nothing is counted.
    per_host: Option<PerHost>,
    /// Plain or TLS, with one TLS configuration (and session cache) for every worker.
    opener: Opener,
    /// Workers still taking jobs ([`Shared::retire`]).
    working: AtomicUsize,
    /// `--limit-rate`'s bucket, if set.
    limit: Option<Arc<Limiter>>,
}

impl<'a> Shared<'a> {
    fn lock(&self) -> MutexGuard<'_, &'a mut Scheduler> {
        // A worker that panicked leaves the data as it was between two calls.
        self.scheduler.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// May a worker whose socket goes to `kept` take a job for `url`? If it will need a
    /// new socket under `--per-host`, the socket is counted now, under the same lock as
    /// the check, so two workers cannot both take the last place: [`Claim::Counted`].
    /// [`Claim::None`]: nothing was counted (no limit, or it keeps using its own socket).
    /// `None`: the host is full.
    fn claim(&self, (url, route): (&Url, Route<'_>), kept: Option<&HostKey>) -> Option<Claim> {
        let Some(per_host) = &self.per_host else {
            return Some(Claim::None);
        };
        if kept.is_some_and(|key| is_host(key, url, route)) {
            return Some(Claim::None);
        }
        let mut pool = per_host.pool();
        let host = host_id(&mut pool, &host_of(url, route));
        if !pool.host_may_open(host) {
            return None;
        }
        pool.opened(host);
        Some(Claim::Counted)
    }

    /// A socket to `host` was opened (counted already if [`Shared::claim`] did).
    fn socket_opened(&self, host: &HostKey, slot: ConnId, claim: Claim) {
        if let Some(per_host) = self.per_host.as_ref().filter(|_| claim == Claim::None) {
            let mut pool = per_host.pool();
            let id = host_id(&mut pool, host);
            pool.opened(id);
        }
        self.lock()
            .emit(Event::ConnectionOpened { slot }, Instant::now());
    }

    /// Gives back a place [`Shared::claim`] counted, or that a closed socket held.
    fn unclaim(&self, host: &HostKey, slot: ConnId) {
        if let Some(per_host) = &self.per_host {
            let mut pool = per_host.pool();
            let id = host_id(&mut pool, host);
            pool.closed(id, slot);
        }
    }

    /// A socket closed to make way for a new one to the same host, which keeps its
    /// place under `--per-host`.
    fn socket_replaced(&self, slot: ConnId) {
        self.lock()
            .emit(Event::ConnectionClosed { slot }, Instant::now());
    }

    /// A worker found no descriptor (`EMFILE`): it stops taking jobs, unless it is the
    /// last one (whose job then waits, bounded, in the scheduler). True if it stops.
    fn retire(&self) -> bool {
        let fewer = |n: usize| (n > 1).then(|| n - 1);
        self.working
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, fewer)
            .is_ok()
    }

    fn socket_closed(&self, host: &HostKey, slot: ConnId) {
        self.unclaim(host, slot);
        self.lock()
            .emit(Event::ConnectionClosed { slot }, Instant::now());
    }
}

/// The scheduler behind the workers' mutex, locked for each call of an [`Answer`].
struct Locked<'s, 'a>(&'s Shared<'a>);

impl Policy for Locked<'_, '_> {
    fn with<R>(&mut self, f: impl FnOnce(&mut Scheduler) -> R) -> R {
        f(&mut self.0.lock())
    }

    fn with_file_name<R>(&mut self, job: JobId, f: impl FnOnce(&str, Option<&str>) -> R) -> R {
        // Copied out, so the file is committed without the lock (one allocation per
        // file, in this engine only; two with `--skip-existing`).
        let (name, key) = {
            let scheduler = self.0.lock();
            (
                scheduler.file_name(job).to_string(),
                scheduler.record_key(job),
            )
        };
        f(&name, key.as_deref())
    }
}

/// Runs the scheduler's jobs with `workers` blocking workers (1: on this thread), saving
/// files in `output`.
pub fn run(
    scheduler: &mut Scheduler,
    output: &OutputDir,
    workers: usize,
    stop: &Stop,
) -> io::Result<()> {
    let options = scheduler.options().clone();
    let shared = Shared {
        // Sockets are bounded by the number of workers; the pool only counts per host.
        per_host: options
            .per_host
            .map(|limit| PerHost(Mutex::new(Pool::new(None, Some(limit))))),
        scheduler: Mutex::new(scheduler),
        changed: Condvar::new(),
        opener: Opener::new(&options)?,
        working: AtomicUsize::new(workers),
        limit: Limiter::for_run(&options),
    };
    if workers == 1 {
        worker(0, &shared, output, &options, stop);
    } else {
        std::thread::scope(|scope| {
            for index in 0..workers {
                let (shared, options) = (&shared, &options);
                std::thread::Builder::new()
                    .name(format!("miodl-worker-{index}"))
                    .spawn_scoped(scope, move || worker(index, shared, output, options, stop))
                    .map(drop)?;
            }
            Ok::<(), io::Error>(())
        })?;
    }
    Ok(())
}

/// One worker's socket: kept open between requests to the same host.
struct KeptSocket {
    stream: Transport<TcpStream>,
    host: HostKey,
    served: u32,
}

fn worker(
    index: usize,
    shared: &Shared<'_>,
    output: &OutputDir,
    options: &TransferOptions,
    stop: &Stop,
) {
    let worker = Worker {
        slot: ConnId(index),
        shared,
        options,
        stop,
        short: Cell::new(false),
    };
    let mut belongings = Belongings {
        kept: None,
        buf: vec![0u8; READ_BUFFER],
        out: Vec::new(),
        landing: Landing::new(output),
    };
    loop {
        let (job, claim) = match next_job(shared, stop, belongings.kept.as_ref().map(|k| &k.host)) {
            Next::Job(job, claim) => (job, claim),
            Next::CloseKept => {
                // Nothing left to carry: closed now, not when the last answer is in.
                if let Some(socket) = belongings.kept.take() {
                    shared.socket_closed(&socket.host, worker.slot);
                }
                continue;
            }
            Next::Over => break,
        };
        worker.perform(job, claim, &mut belongings);
        shared.changed.notify_all();
        if worker.short.take() && shared.retire() {
            // No descriptor for this worker's socket or file: one worker fewer, as the
            // reactor's pool lowers its limit (its job went back to the queue).
            break;
        }
    }
    if let Some(socket) = belongings.kept.take() {
        shared.socket_closed(&socket.host, worker.slot);
    }
    shared.changed.notify_all();
}

/// What a worker keeps between jobs: its socket, its buffers, where files land.
struct Belongings<'o> {
    kept: Option<KeptSocket>,
    buf: Vec<u8>,
    out: Vec<u8>,
    landing: Landing<'o>,
}

/// Whether taking a job counted a new socket to its host under `--per-host` already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Claim {
    /// A place was counted: a new socket must be opened, or the place given back.
    Counted,
    /// Nothing was counted (no limit, or the worker keeps using its own socket).
    None,
}

/// What a worker does next ([`next_job`]).
enum Next {
    /// This job, and whether a socket place was claimed for it ([`Shared::claim`]).
    Job(JobId, Claim),
    /// No job now, and none that will want a socket (`Scheduler::wants_no_socket`): close
    /// the kept socket, then ask again.
    CloseKept,
    /// The run is over.
    Over,
}

/// Waits for a job this worker may take. `kept` is the host of the worker's open socket,
/// which `--per-host` lets it keep using; a worker that would wait with it while the run
/// has nothing left for sockets is told to close it first (the check costs nothing more:
/// the scheduler is locked for the wait anyway).
fn next_job(shared: &Shared<'_>, stop: &Stop, kept: Option<&HostKey>) -> Next {
    let mut scheduler = shared.lock();
    loop {
        if let Some(signal) = stop.requested() {
            scheduler.stop(Ending::Interrupted(signal));
        }
        let now = Instant::now();
        if let Some(job) = scheduler.next_ready(now) {
            if let Some(claim) = shared.claim(scheduler.url_and_route(job), kept) {
                return Next::Job(job, claim);
            }
            // Its host is at --per-host: leave it to a worker with a socket there.
            scheduler.put_back(job);
        } else if scheduler.is_finished() {
            return Next::Over;
        } else if kept.is_some() && scheduler.wants_no_socket() {
            return Next::CloseKept;
        }
        let wait = scheduler
            .next_deadline()
            .map_or(TICK, |at| at.saturating_duration_since(now).min(TICK));
        scheduler = shared
            .changed
            .wait_timeout(scheduler, wait)
            .unwrap_or_else(|e| e.into_inner())
            .0;
    }
}

/// One worker: its slot (its track in traces), and what every worker shares.
struct Worker<'w, 'a> {
    slot: ConnId,
    shared: &'w Shared<'a>,
    options: &'w TransferOptions,
    stop: &'w Stop,
    /// The last attempt found no descriptor for its socket or its staged file.
    short: Cell<bool>,
}

impl Worker<'_, '_> {
    /// Does one attempt of `job` and reports its outcome to the scheduler.
    fn perform(&self, job: JobId, claim: Claim, belongings: &mut Belongings<'_>) {
        let Some((method, reuse)) = self.encode(job, claim, &mut belongings.out, &belongings.kept)
        else {
            return;
        };
        let (kept, claim) = match belongings.kept.take() {
            // Under --per-host, a kept socket to the job's own host (the only reason the
            // claim counted nothing) that cannot carry it (a resend after a stale socket
            // wants a fresh one) hands its place to the new socket: closing it first would
            // free the place for another worker in between.
            Some(_replaced) if !reuse && claim == Claim::None && self.shared.per_host.is_some() => {
                self.shared.socket_replaced(self.slot);
                (None, Claim::Counted)
            }
            Some(old) if !reuse => {
                self.shared.socket_closed(&old.host, self.slot);
                (None, claim)
            }
            kept => (kept, claim),
        };
        // The try's --max-time counts from here: it is given its socket.
        let max_time = Deadline::new(self.options, Instant::now());
        let Some(mut socket) = self.socket_for(job, claim, kept, max_time) else {
            return;
        };
        let bounds = Bounds {
            max_time,
            speed: Window::new(self.options, Instant::now()),
        };
        let result = self.exchange(job, method, &mut socket, bounds, belongings);
        if let Some(handshake) = socket.stream.take_handshake() {
            let (slot, resumed) = (self.slot, handshake.resumed);
            let event = Event::TlsHandshake { slot, resumed };
            self.shared.lock().emit(event, Instant::now());
        }
        self.finish(job, socket, result, &mut belongings.kept);
    }

    /// Writes `job`'s request into `out`: its method, and whether the kept socket may
    /// carry it. `None` if it could not be encoded (reported).
    fn encode(
        &self,
        job: JobId,
        claim: Claim,
        out: &mut Vec<u8>,
        kept: &Option<KeptSocket>,
    ) -> Option<(Method, bool)> {
        let mut scheduler = self.shared.lock();
        let (url, route) = scheduler.url_and_route(job);
        let fresh = scheduler.needs_fresh_socket(job);
        let reuse = !fresh && kept.as_ref().is_some_and(|k| is_host(&k.host, url, route));
        out.clear();
        match scheduler.encode_request(job, out, Instant::now()) {
            Ok(method) => Some((method, reuse)),
            Err(e) => {
                if claim == Claim::Counted {
                    let (url, route) = scheduler.url_and_route(job);
                    self.shared.unclaim(&host_of(url, route), self.slot);
                }
                scheduler.on_error(job, e, Instant::now());
                None
            }
        }
    }

    /// The socket `job` goes on: the kept one, or a new one (`None` if the connect
    /// failed: reported). A connect gives up at `--connect-timeout` or when the try's
    /// `--max-time` passes, whichever comes first.
    fn socket_for(
        &self,
        job: JobId,
        claim: Claim,
        kept: Option<KeptSocket>,
        max_time: Option<Deadline>,
    ) -> Option<KeptSocket> {
        let (shared, slot) = (self.shared, self.slot);
        if let Some(socket) = kept {
            let mut scheduler = shared.lock();
            let now = Instant::now();
            scheduler.emit(Event::ConnectionReused { slot }, now);
            scheduler.set_phase(job, Phase::Sending, Some(slot), now);
            return Some(socket);
        }
        let (host, dial, tunnel) = {
            let scheduler = shared.lock();
            let (url, route) = scheduler.url_and_route(job);
            let dial = match route {
                Route::Forward(proxy) | Route::Tunnel(proxy) => (proxy.host(), proxy.port()),
                Route::Direct => (url.host(), url.port()),
            };
            let tunnel = match route {
                Route::Tunnel(proxy) => Some(Tunnel::new(proxy, url)),
                Route::Direct | Route::Forward(_) => None,
            };
            (host_of(url, route), (dial.0.to_string(), dial.1), tunnel)
        };
        shared.socket_opened(&host, slot, claim);
        let now = Instant::now();
        shared
            .lock()
            .set_phase(job, Phase::Connecting, Some(slot), now);
        let connected = addresses(&dial, self.options, shared)
            .and_then(|addrs| connect(addrs, self.options, max_time, now))
            .map_err(|e| shared.lock().connect_error(job, e))
            .and_then(|stream| self.through(tunnel, stream, now))
            .and_then(|stream| shared.opener.open(host.0, &host.1, stream));
        match connected {
            Ok(stream) => {
                let now = Instant::now();
                shared
                    .lock()
                    .set_phase(job, Phase::Sending, Some(slot), now);
                Some(KeptSocket {
                    stream,
                    host,
                    served: 0,
                })
            }
            Err(e) => {
                shared.socket_closed(&host, slot);
                self.short.set(e.is_out_of_descriptors());
                shared.lock().on_error(job, e, Instant::now());
                None
            }
        }
    }

    /// Opens `tunnel` on the socket just connected to the proxy, if there is one, within
    /// what is left of `--connect-timeout` since `started` (a tunnel is reported as
    /// [`Event::ProxyTunnel`]).
    fn through(
        &self,
        tunnel: Option<Tunnel>,
        mut stream: TcpStream,
        started: Instant,
    ) -> Result<TcpStream, JobError> {
        let Some(tunnel) = tunnel else {
            return Ok(stream);
        };
        let timeout = self.options.connect_timeout;
        tunnel.establish(&mut stream, started + timeout, timeout, self.stop)?;
        let slot = self.slot;
        self.shared
            .lock()
            .emit(Event::ProxyTunnel { slot }, Instant::now());
        Ok(stream)
    }

    /// After the attempt: keep a reusable socket, or close it and report the failure.
    fn finish(
        &self,
        job: JobId,
        mut socket: KeptSocket,
        result: Result<bool, Broken>,
        kept: &mut Option<KeptSocket>,
    ) {
        if let Ok(true) = result {
            socket.served += 1;
            *kept = Some(socket);
            return;
        }
        self.shared.socket_closed(&socket.host, self.slot);
        let mut scheduler = self.shared.lock();
        let now = Instant::now();
        match result {
            Ok(_) => {}
            Err(Broken::Stale) => scheduler.on_stale(job, now),
            Err(Broken::Failed(e)) => {
                self.short.set(e.is_out_of_descriptors());
                scheduler.on_error(job, e, now);
            }
        }
    }

    /// Writes the request and reads the answer. `Ok(reusable)` once the scheduler has
    /// been told the answer ended.
    fn exchange(
        &self,
        job: JobId,
        method: Method,
        socket: &mut KeptSocket,
        mut bounds: Bounds,
        belongings: &mut Belongings<'_>,
    ) -> Result<bool, Broken> {
        let reused = socket.served > 0;
        let mut answer = Answer::new(job, method, self.options.keep_alive);
        let mut unread = Unread::default();
        let stream = &mut socket.stream;
        if let Err(e) = stream
            .write_all(&belongings.out)
            .and_then(|()| stream.flush())
        {
            return Err(answer.broken(reused, &unread, e, Phase::Sending));
        }
        {
            let mut scheduler = self.shared.lock();
            let now = Instant::now();
            scheduler.emit(Event::RequestSent { job }, now);
            scheduler.set_phase(job, Phase::AwaitingHead, None, now);
        }
        let mut last_byte = Instant::now();
        loop {
            let n = match self.read(&mut socket.stream, &mut belongings.buf, &mut last_byte)? {
                Ok(n) => n,
                Err(e) if is_tick(&e) => {
                    self.between_bytes(last_byte, &answer, &mut bounds)?;
                    continue;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(answer.broken(reused, &unread, e, Phase::AwaitingHead)),
            };
            last_byte = Instant::now();
            let read = &belongings.buf[..n];
            let landing = &mut belongings.landing;
            let mut policy = Locked(self.shared);
            if n == 0 {
                if answer.is_stale(reused, &unread) {
                    return Err(Broken::Stale);
                }
                let ended = answer.feed_eof(&mut policy, landing, last_byte);
                return ended.map(|()| false).map_err(Broken::Failed);
            }
            unread.arrived(read);
            let mut start = 0;
            let fed = unread.feed(
                &mut answer,
                read,
                &mut start,
                &mut policy,
                landing,
                last_byte,
            );
            match fed.map_err(Broken::Failed)? {
                Progress::NeedMore if bounds.is_set() => {
                    bounds.count(n as u64);
                    checked(&mut bounds, last_byte, &answer)?;
                }
                Progress::NeedMore => {}
                Progress::Ended {
                    reusable,
                    left_over,
                } => return Ok(reusable && !left_over),
            }
        }
    }

    /// Reads into `buf`; with `--limit-rate`, at most what the shared bucket grants,
    /// after waiting for a grant if need be (the time waited moves `last_byte` on: it is
    /// not the server's silence). `Err` only if the run stops meanwhile.
    fn read(
        &self,
        stream: &mut Transport<TcpStream>,
        buf: &mut [u8],
        last_byte: &mut Instant,
    ) -> Result<io::Result<usize>, Broken> {
        let Some(limit) = &self.shared.limit else {
            return Ok(stream.read(buf));
        };
        loop {
            let now = Instant::now();
            if let Some((_, read)) =
                limited(Some(limit), buf.len(), now, |n| stream.read(&mut buf[..n]))
            {
                return Ok(read);
            }
            if self.stop.requested().is_some() {
                return Err(Broken::Failed(JobError::Interrupted));
            }
            let due = limit.ready_at(buf.len(), now);
            std::thread::sleep(due.saturating_duration_since(now).min(TICK));
            *last_byte += Instant::now().saturating_duration_since(now);
        }
    }

    /// A read timed out on a tick: fail the attempt if the run is stopping, no byte
    /// came for `--timeout`, or a bound of the try (`--max-time`, `--speed-limit`) passed.
    fn between_bytes(
        &self,
        last_byte: Instant,
        answer: &Answer,
        bounds: &mut Bounds,
    ) -> Result<(), Broken> {
        if self.stop.requested().is_some() {
            return Err(Broken::Failed(JobError::Interrupted));
        }
        if bounds.is_set() {
            checked(bounds, Instant::now(), answer)?;
        }
        let timeout = self.options.timeout;
        if last_byte.elapsed() >= timeout {
            return Err(Broken::Failed(JobError::IdleTimeout(
                timeout,
                answer.phase(),
            )));
        }
        Ok(())
    }
}

/// The try's bounds at `now`, in the phase its answer is in.
fn checked(bounds: &mut Bounds, now: Instant, answer: &Answer) -> Result<(), Broken> {
    bounds.check(now, answer.phase()).map_err(Broken::Failed)
}

/// A read that returned because a tick passed, not because of the socket.
fn is_tick(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// The addresses of `name` and `port` (the host's, or its proxy's), looked up on this worker's thread before each connect
/// (`--resolve` and `-4`/`-6` as in the reactor; only the reactor keeps the answer for
/// the run). A lookup is reported ([`Event::Lookup`]).
fn addresses(
    (name, port): &(String, u16),
    options: &TransferOptions,
    shared: &Shared<'_>,
) -> Result<Vec<SocketAddr>, JobError> {
    let (name, port) = (name.as_str(), *port);
    let naming = &options.naming;
    let found = match naming.known(name, port) {
        Some(addrs) => Ok(addrs),
        None => {
            let started = Instant::now();
            let found = naming.look_up(name, port);
            let took = started.elapsed();
            let event = Event::Lookup {
                host: name,
                took,
                found: found.as_ref().map(Vec::len),
            };
            shared.lock().emit(event, Instant::now());
            found
        }
    };
    naming.finish(name, found).map_err(JobError::Resolve)
}

/// Connects with a timeout to each address of `addrs` in turn until one answers; reads
/// tick every [`TICK`]. The timeout is `--connect-timeout`, or what is left of the try's
/// `--max-time` at `now` when that is less (a connect it cuts short fails as `MaxTime`).
fn connect(
    addrs: Vec<SocketAddr>,
    options: &TransferOptions,
    max_time: Option<Deadline>,
    now: Instant,
) -> Result<TcpStream, JobError> {
    let connect_timeout = options.connect_timeout;
    let left = max_time.map(|d| d.left(now));
    let timeout = left.map_or(connect_timeout, |left| left.min(connect_timeout));
    if timeout.is_zero() {
        // Nothing left (`TcpStream::connect_timeout` refuses a zero duration).
        return Err(
            max_time.map_or(JobError::ConnectTimeout(connect_timeout), |d| {
                d.error(Phase::Connecting)
            }),
        );
    }
    let timed_out = || match max_time {
        Some(d) if left.is_some_and(|left| left < connect_timeout) => d.error(Phase::Connecting),
        _ => JobError::ConnectTimeout(connect_timeout),
    };
    // Each address in turn, as the reactor does: `localhost` may be `::1` first.
    let mut failure = JobError::Connect(io::ErrorKind::NotFound.into());
    let mut connected = None;
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(stream) => {
                connected = Some(stream);
                break;
            }
            Err(e) if e.kind() == io::ErrorKind::TimedOut => failure = timed_out(),
            Err(e) => failure = JobError::Connect(e),
        }
    }
    let stream = connected.ok_or(failure)?;
    let configure = |s: &TcpStream| {
        s.set_nodelay(true)?;
        s.set_read_timeout(Some(TICK))
    };
    configure(&stream).map_err(JobError::Connect)?;
    Ok(stream)
}
