//! Disk threads: the reactor lends a socket to a thread for the length of one large body.
//!
//! Epoll can say when a socket has bytes, but not when a file write would be cheap: a
//! write to a file always "succeeds" and takes as long as the page cache needs. For a
//! large body that is most of the work. On tmpfs, 97 % of the reactor's CPU on 256 MiB
//! bodies goes to filling page-cache pages, all on the one thread, while a second core
//! idles (`benches/profile.sh`, docs/performance.md). So event loops hand file work to threads: libuv's thread pool
//! for every file operation, nginx's `aio threads`. miodl does it for one case only, the
//! [`super::splice`] path (a plain body of known length, at least 256 KiB):
//!
//! ```text
//!   reactor thread                          disk thread (one of N, started on demand)
//!   head read, verdict: save to a file
//!   socket "lent": its events ignored ──►   loop { poll(socket, timeout)
//!   ... serves every other socket ...              splice socket → pipe → file }
//!   progress every 4 MiB        ◄────────   (a channel, and a mio::Waker to wake poll)
//!   done: the file gets its name       ◄──  the socket handed back, with how it ended
//!   (linkat, or rename: crate::output::sink),
//!   the socket goes back to the pool
//! ```
//!
//! The thread works on duplicates of the socket and the file descriptors, so the
//! reactor's own stay valid whatever happens; the body's bytes never enter user space.
//! Small bodies, TLS, chunked bodies and pages never leave the reactor thread: a
//! run of small files stays one thread. `--disk-threads 0` keeps everything there.
//!
//! With `--limit-rate`, a disk thread takes each splice's grant from the run's shared
//! bucket, as the reactor does for its reads, and sleeps (looking at the stop flag) while
//! the bucket has nothing for it; the time asleep is not counted as the socket's silence.
//!
//! Layer: `engine`; may use `protocol`, `model`, `policy`, `output` and `transport` (see `src/engine/mod.rs`).

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use mio::{Registry, Token, Waker};

use super::crew::{Crew, WorkQueue};
use super::splice::{Pipe, SpliceError};
use crate::engine::bounds::Bounds;
use crate::engine::limit::Limiter;
use crate::model::error::JobError;
use crate::model::job::{JobId, Phase};

/// The token of the waker the disk threads and the resolver threads ring (slab keys
/// never get this high).
pub const WAKE_TOKEN: Token = Token(usize::MAX);
/// A disk thread reports progress after at least this many bytes.
const PROGRESS_STEP: u64 = 4 << 20;
/// How often a thread waiting on a silent socket checks that the run goes on.
const STOP_CHECK: Duration = Duration::from_millis(100);

/// Which socket, and which job's body, a loan is: what the reactor needs to find the
/// socket again when reports come back.
#[derive(Debug, Clone, Copy)]
pub struct Loan {
    /// The socket's slab key.
    pub key: usize,
    /// The socket's serial: tells it apart from a later socket in the same slot.
    pub serial: u64,
    /// The job whose body it is.
    pub job: JobId,
}

/// One body lent to a disk thread.
#[derive(Debug)]
pub struct Transfer {
    /// Whose body.
    pub loan: Loan,
    /// A duplicate of the socket's descriptor.
    pub socket: OwnedFd,
    /// A duplicate of the staged file's descriptor.
    pub file: File,
    /// Body bytes still to move.
    pub len: u64,
    /// The idle limit (`--timeout`): fail if no byte arrives for this long.
    pub timeout: Duration,
    /// The try's `--max-time` and `--speed-limit`, as the reactor kept them so far (its
    /// speed window goes on counting here).
    pub bounds: Bounds,
    /// `--limit-rate`'s bucket, shared with the reactor, if set.
    pub limit: Option<Arc<Limiter>>,
}

/// How a lent body ended.
#[derive(Debug)]
pub enum Outcome {
    /// Every byte is in the file.
    Complete,
    /// The peer closed before the end.
    Eof,
    /// No byte for `--timeout`.
    TimedOut,
    /// `--max-time` passed, or a `--speed-limit` window was too slow.
    Bounded(JobError),
    /// Reading the socket failed.
    Socket(io::Error),
    /// Writing the file failed (a full disk, ...).
    File(io::Error),
    /// The run is being stopped.
    Stopped,
}

/// What a disk thread tells the reactor.
#[derive(Debug)]
pub enum Report {
    /// `moved` more bytes of the body are in the file.
    Progress {
        /// Whose body.
        loan: Loan,
        /// Bytes since the last report.
        moved: u64,
    },
    /// The transfer ended: the socket is the reactor's again.
    Done {
        /// Whose body.
        loan: Loan,
        /// Bytes since the last report.
        moved: u64,
        /// How it ended.
        outcome: Outcome,
    },
}

/// The disk threads of one reactor, started on demand, at most `max`.
pub struct DiskThreads {
    /// The threads, and the bodies lent and not yet back.
    crew: Crew,
    queue: Arc<WorkQueue<Transfer>>,
    reports: Receiver<Report>,
    report_to: Sender<Report>,
    waker: Option<Arc<Waker>>,
}

impl DiskThreads {
    /// Up to `max` threads (none is started before the first lend).
    pub fn new(max: usize) -> DiskThreads {
        let (report_to, reports) = mpsc::channel();
        DiskThreads {
            crew: Crew::new(max),
            queue: Arc::new(WorkQueue::default()),
            reports,
            report_to,
            waker: None,
        }
    }

    /// Queues a body for a disk thread, starting one if every thread has a body and
    /// fewer than `max` run.
    pub fn lend(&mut self, transfer: Transfer, registry: &Registry) -> io::Result<()> {
        let waker = self.waker(registry)?;
        // Start a thread before queueing: if none can be started and none runs, the body
        // must not sit in the queue while the reactor moves it itself.
        self.crew.before_queueing(|| {
            let (queue, report_to) = (Arc::clone(&self.queue), self.report_to.clone());
            // Each thread has its own pipe, made here so that a failure is seen here.
            Pipe::new().and_then(|pipe| {
                thread::Builder::new()
                    .name("miodl-disk".into())
                    .spawn(move || disk_thread(pipe, &queue, &report_to, &waker))
                    .map(drop)
            })
        })?;
        self.queue.push(transfer);
        Ok(())
    }

    /// The poll's one waker ([`WAKE_TOKEN`]), made on first use; the resolver threads
    /// ring it too (mio allows one waker per `Poll`).
    pub fn waker(&mut self, registry: &Registry) -> io::Result<Arc<Waker>> {
        if let Some(waker) = &self.waker {
            return Ok(Arc::clone(waker));
        }
        let waker = Arc::new(Waker::new(registry, WAKE_TOKEN)?);
        self.waker = Some(Arc::clone(&waker));
        Ok(waker)
    }

    /// The next report, if any (after the waker rang).
    pub fn next_report(&mut self) -> Option<Report> {
        let report = self.reports.try_recv().ok()?;
        if let Report::Done { .. } = report {
            self.crew.answered();
        }
        Some(report)
    }
}

impl Drop for DiskThreads {
    /// Tells the threads to stop: each gives up its body within `STOP_CHECK` (100 ms) of
    /// waiting, or at the next splice, and exits.
    fn drop(&mut self) {
        self.queue.stop();
    }
}

/// A disk thread: takes lent bodies one at a time, each to its end.
fn disk_thread(
    mut pipe: Pipe,
    queue: &WorkQueue<Transfer>,
    report_to: &Sender<Report>,
    waker: &Waker,
) {
    while let Some(transfer) = queue.next() {
        let report = |report: Report| {
            // The reactor is gone only when the run is over: nobody to tell.
            let _ = report_to.send(report);
            let _ = waker.wake();
        };
        let (moved, outcome) = move_body(&transfer, &mut pipe, queue.stop_flag(), |moved| {
            report(Report::Progress {
                loan: transfer.loan,
                moved,
            })
        });
        report(Report::Done {
            loan: transfer.loan,
            moved,
            outcome,
        });
    }
}

/// Moves the body from the socket into the file. Returns the bytes moved since the last
/// `progress` call, and how it ended.
fn move_body(
    transfer: &Transfer,
    pipe: &mut Pipe,
    stop: &AtomicBool,
    mut progress: impl FnMut(u64),
) -> (u64, Outcome) {
    let (mut moved, mut reported) = (0u64, 0u64);
    let mut bounds = transfer.bounds;
    let outcome = loop {
        if moved == transfer.len {
            break Outcome::Complete;
        }
        let left = transfer.len - moved;
        let want = match &transfer.limit {
            Some(limit) => match granted(limit, left, stop) {
                Some(grant) => grant,
                None => break Outcome::Stopped,
            },
            None => left,
        };
        let spliced = pipe.socket_to_file(&transfer.socket, &transfer.file, want);
        if let Some(limit) = &transfer.limit {
            limit.settle(want as usize, *spliced.as_ref().unwrap_or(&0));
        }
        match spliced {
            Ok(0) => break Outcome::Eof,
            Ok(n) => {
                moved += n as u64;
                if moved - reported >= PROGRESS_STEP {
                    progress(moved - reported);
                    reported = moved;
                }
                if let Some(outcome) = over_bounds(&mut bounds, n as u64) {
                    break outcome;
                }
            }
            Err(SpliceError::Socket(e)) if e.kind() == io::ErrorKind::WouldBlock => {
                let socket = transfer.socket.as_fd();
                match wait_readable(socket, transfer.timeout, bounds.next(), stop) {
                    Ok(Waited::Readable) => {}
                    Ok(Waited::TimedOut) => break Outcome::TimedOut,
                    Ok(Waited::Bound) => {
                        // Unless a window closed fast enough: the next one is counted.
                        if let Some(outcome) = over_bounds(&mut bounds, 0) {
                            break outcome;
                        }
                    }
                    Ok(Waited::Stopped) => break Outcome::Stopped,
                    Err(e) => break Outcome::Socket(e),
                }
            }
            Err(SpliceError::Socket(e)) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(SpliceError::Socket(e)) => break Outcome::Socket(e),
            Err(SpliceError::File(e)) => break Outcome::File(e),
        }
    };
    (moved - reported, outcome)
}

/// `--limit-rate`: waits until the shared bucket grants some of the `left` bytes (the
/// grant), or the run stops (`None`).
fn granted(limit: &Limiter, left: u64, stop: &AtomicBool) -> Option<u64> {
    let want = usize::try_from(left).unwrap_or(usize::MAX);
    loop {
        if stop.load(Ordering::Relaxed) {
            return None;
        }
        let now = Instant::now();
        match limit.take(want, now) {
            0 => {
                let due = limit.ready_at(want, now);
                thread::sleep(due.saturating_duration_since(now).min(STOP_CHECK));
            }
            grant => return Some(grant as u64),
        }
    }
}

/// Counts `n` more bytes against the try's bounds and checks them: the outcome if one
/// failed it. Without `--max-time` and `--speed-limit`, no clock is read.
#[inline]
fn over_bounds(bounds: &mut Bounds, n: u64) -> Option<Outcome> {
    if !bounds.is_set() {
        return None;
    }
    bounds.count(n);
    let failed = bounds.check(Instant::now(), Phase::ReceivingBody).err()?;
    Some(Outcome::Bounded(failed))
}

/// Why [`wait_readable`] returned.
enum Waited {
    Readable,
    TimedOut,
    /// `bound` came, before the idle timeout.
    Bound,
    Stopped,
}

/// Waits until the socket is readable (or closed), at most `timeout` or until `bound`
/// (a `--max-time` or `--speed-limit` moment), looking at the stop flag every
/// [`STOP_CHECK`].
fn wait_readable(
    socket: std::os::fd::BorrowedFd<'_>,
    timeout: Duration,
    bound: Option<Instant>,
    stop: &AtomicBool,
) -> io::Result<Waited> {
    let deadline = Instant::now() + timeout;
    let until = bound.map_or(deadline, |at| at.min(deadline));
    loop {
        if stop.load(Ordering::Relaxed) {
            return Ok(Waited::Stopped);
        }
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(if until < deadline {
                Waited::Bound
            } else {
                Waited::TimedOut
            });
        }
        let slice = left.min(STOP_CHECK).as_millis().max(1) as libc::c_int;
        let mut fds = libc::pollfd {
            fd: socket.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd, for the duration of the call.
        match unsafe { libc::poll(&mut fds, 1, slice) } {
            0 => continue,
            n if n > 0 => return Ok(Waited::Readable),
            _ => {
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
        }
    }
}
