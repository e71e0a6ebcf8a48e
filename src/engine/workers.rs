//! The blocking engines: workers that each do one request at a time on `std::net`.
//!
//! One worker on the calling thread is the `blocking` engine; N workers on their own
//! threads are the `threads` engine. A worker takes a job from the shared scheduler (a
//! `Mutex`, held only between socket calls, never across one), connects or reuses its
//! one keep-alive socket, writes the request, and reads until the answer ends, handing
//! every buffer to the same [`pump`] the reactor uses. Workers that find no ready job
//! wait on a `Condvar` until another finishes one, or until the next backoff ends.
//!
//! Each worker keeps at most one socket, so there are never more sockets than workers.
//! Reads time out every [`TICK`] so a worker sees a stop request promptly; the idle
//! timeout (`--timeout`) is counted across those ticks.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::error::JobError;
use crate::event::Event;
use crate::http::{Exchange, Limits};
use crate::job::{ConnId, JobId, Phase};
use crate::pump::{pump, pump_eof, Pumped};
use crate::scheduler::{Ending, Scheduler};
use crate::stop::Stop;

/// The most worker threads the `threads` engine starts.
pub const MAX_WORKERS: usize = 1024;
/// How often a blocked worker looks at the stop flag.
const TICK: Duration = Duration::from_millis(100);
/// A worker's read buffer.
const READ_BUFFER: usize = 64 << 10;

/// The scheduler and the condition workers wait on.
struct Shared<'a> {
    scheduler: Mutex<&'a mut Scheduler>,
    changed: Condvar,
}

impl<'a> Shared<'a> {
    fn lock(&self) -> MutexGuard<'_, &'a mut Scheduler> {
        // A worker that panicked leaves the data as it was between two calls.
        self.scheduler.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Runs the scheduler's jobs with `workers` blocking workers (1: on this thread).
pub fn run(scheduler: &mut Scheduler, workers: usize, stop: &Stop) -> io::Result<()> {
    let shared = Shared {
        scheduler: Mutex::new(scheduler),
        changed: Condvar::new(),
    };
    if workers == 1 {
        worker(0, &shared, stop);
    } else {
        std::thread::scope(|scope| {
            for index in 0..workers {
                let shared = &shared;
                std::thread::Builder::new()
                    .name(format!("miodl-worker-{index}"))
                    .spawn_scoped(scope, move || worker(index, shared, stop))
                    .map(drop)?;
            }
            Ok::<(), io::Error>(())
        })?;
    }
    Ok(())
}

/// One worker's socket: kept open between requests to the same host.
struct KeptSocket {
    stream: TcpStream,
    host: (String, u16),
    served: u32,
}

fn worker(index: usize, shared: &Shared<'_>, stop: &Stop) {
    let slot = ConnId(index);
    let mut kept: Option<KeptSocket> = None;
    let mut buf = vec![0u8; READ_BUFFER];
    let mut out = Vec::new();
    while let Some(job) = next_job(shared, stop) {
        perform(job, slot, shared, stop, &mut kept, &mut buf, &mut out);
        shared.changed.notify_all();
    }
    if kept.take().is_some() {
        shared
            .lock()
            .emit(Event::ConnectionClosed { slot }, Instant::now());
    }
    shared.changed.notify_all();
}

/// Waits for a job this worker may take; `None` when the run is over.
fn next_job(shared: &Shared<'_>, stop: &Stop) -> Option<JobId> {
    let mut scheduler = shared.lock();
    loop {
        if let Some(signal) = stop.requested() {
            scheduler.stop(Ending::Interrupted(signal));
        }
        let now = Instant::now();
        if let Some(job) = scheduler.next_ready(now) {
            return Some(job);
        }
        if scheduler.is_finished() {
            return None;
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

/// Does one attempt of `job` and reports its outcome to the scheduler.
fn perform(
    job: JobId,
    slot: ConnId,
    shared: &Shared<'_>,
    stop: &Stop,
    kept: &mut Option<KeptSocket>,
    buf: &mut [u8],
    out: &mut Vec<u8>,
) {
    let (host, method, fresh, options) = {
        let scheduler = shared.lock();
        let url = scheduler.url(job);
        let host = (url.host().to_string(), url.port());
        let method = scheduler.encode_request(job, out);
        let options = scheduler.options().clone();
        (host, method, scheduler.needs_fresh_socket(job), options)
    };
    let method = match method {
        Ok(method) => method,
        Err(e) => return shared.lock().on_error(job, e, Instant::now()),
    };
    let reusable = kept.as_ref().is_some_and(|k| k.host == host && !fresh);
    if !reusable && kept.take().is_some() {
        shared
            .lock()
            .emit(Event::ConnectionClosed { slot }, Instant::now());
    }
    let mut socket = match kept.take() {
        Some(socket) => {
            let mut scheduler = shared.lock();
            let now = Instant::now();
            scheduler.emit(Event::ConnectionReused { slot }, now);
            scheduler.set_phase(job, Phase::Sending, Some(slot), now);
            socket
        }
        None => {
            {
                let mut scheduler = shared.lock();
                let now = Instant::now();
                scheduler.emit(Event::ConnectionOpened { slot }, now);
                scheduler.set_phase(job, Phase::Connecting, Some(slot), now);
            }
            match connect(&host, options.connect_timeout) {
                Ok(stream) => {
                    let mut scheduler = shared.lock();
                    scheduler.set_phase(job, Phase::Sending, Some(slot), Instant::now());
                    KeptSocket {
                        stream,
                        host,
                        served: 0,
                    }
                }
                Err(e) => {
                    let mut scheduler = shared.lock();
                    let now = Instant::now();
                    scheduler.emit(Event::ConnectionClosed { slot }, now);
                    return scheduler.on_error(job, e, now);
                }
            }
        }
    };
    let result = exchange(job, method, &mut socket, shared, stop, &options, buf, out);
    let mut scheduler = shared.lock();
    let now = Instant::now();
    match result {
        Ok(true) => {
            socket.served += 1;
            *kept = Some(socket);
        }
        Ok(false) => scheduler.emit(Event::ConnectionClosed { slot }, now),
        Err(Failure::Stale) => {
            scheduler.emit(Event::ConnectionClosed { slot }, now);
            scheduler.on_stale(job, now);
        }
        Err(Failure::Job(e)) => {
            scheduler.emit(Event::ConnectionClosed { slot }, now);
            scheduler.on_error(job, e, now);
        }
    }
}

/// How an attempt on a socket went wrong.
enum Failure {
    /// The reused socket was closed by the server before it answered.
    Stale,
    /// Anything else (reported as is).
    Job(JobError),
}

/// Writes the request and reads the answer. `Ok(reusable)` once the scheduler has been
/// told the answer ended.
#[allow(clippy::too_many_arguments)]
fn exchange(
    job: JobId,
    method: crate::http::Method,
    socket: &mut KeptSocket,
    shared: &Shared<'_>,
    stop: &Stop,
    options: &crate::options::TransferOptions,
    buf: &mut [u8],
    out: &[u8],
) -> Result<bool, Failure> {
    let reused = socket.served > 0;
    let stale_or = |e: io::Error, phase: Phase, answered: bool| {
        if reused && !answered {
            Failure::Stale
        } else {
            Failure::Job(JobError::Io(e, phase))
        }
    };
    socket
        .stream
        .write_all(out)
        .map_err(|e| stale_or(e, Phase::Sending, false))?;
    {
        let mut scheduler = shared.lock();
        let now = Instant::now();
        scheduler.emit(Event::RequestSent { job }, now);
        scheduler.set_phase(job, Phase::AwaitingHead, None, now);
    }
    let mut exchange = Exchange::new(method, options.keep_alive, Limits::default());
    let mut pending: Vec<u8> = Vec::new();
    let mut last_byte = Instant::now();
    loop {
        let n = match socket.stream.read(buf) {
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                if stop.requested().is_some() {
                    return Err(Failure::Job(JobError::Interrupted));
                }
                if last_byte.elapsed() >= options.timeout {
                    let phase = if exchange.body_mode().is_some() {
                        Phase::ReceivingBody
                    } else {
                        Phase::AwaitingHead
                    };
                    return Err(Failure::Job(JobError::IdleTimeout(options.timeout, phase)));
                }
                continue;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                let answered = exchange.has_response_bytes() || !pending.is_empty();
                return Err(stale_or(e, Phase::AwaitingHead, answered));
            }
        };
        last_byte = Instant::now();
        let mut scheduler = shared.lock();
        if n == 0 {
            if reused && !exchange.has_response_bytes() && pending.is_empty() {
                return Err(Failure::Stale);
            }
            pump_eof(&mut exchange, &mut scheduler, job, last_byte).map_err(Failure::Job)?;
            return Ok(false);
        }
        let input: &[u8] = if pending.is_empty() {
            &buf[..n]
        } else {
            pending.extend_from_slice(&buf[..n]);
            &pending
        };
        let total = input.len();
        match pump(&mut exchange, input, &mut scheduler, job, last_byte).map_err(Failure::Job)? {
            Pumped::NeedMore { consumed } => {
                if pending.is_empty() {
                    pending.extend_from_slice(&buf[consumed..n]);
                } else {
                    pending.drain(..consumed);
                }
            }
            Pumped::Ended { consumed, reusable } => return Ok(reusable && consumed == total),
        }
    }
}

/// Connects with a timeout to the first address of `host`; reads tick every [`TICK`].
fn connect(host: &(String, u16), timeout: Duration) -> Result<TcpStream, JobError> {
    let addr: SocketAddr = (host.0.as_str(), host.1)
        .to_socket_addrs()
        .map_err(JobError::Resolve)?
        .next()
        .ok_or_else(|| {
            JobError::Resolve(io::Error::new(io::ErrorKind::NotFound, "no address found"))
        })?;
    let stream = TcpStream::connect_timeout(&addr, timeout).map_err(|e| {
        if e.kind() == io::ErrorKind::TimedOut {
            JobError::ConnectTimeout(timeout)
        } else {
            JobError::Connect(e)
        }
    })?;
    let configure = |s: &TcpStream| {
        s.set_nodelay(true)?;
        s.set_read_timeout(Some(TICK))
    };
    configure(&stream).map_err(JobError::Connect)?;
    Ok(stream)
}
