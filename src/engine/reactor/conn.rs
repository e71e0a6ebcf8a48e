//! One socket of the reactor and the requests it carries: the per-connection state
//! machine.
//!
//! ```text
//!             connect done                request written
//!  Connecting ─────────────► Exchanging ───────────────────► (Exchanging: reading)
//!      │  └─ to a proxy, https ─► Tunneling ── 2xx to CONNECT ──► Exchanging (TLS first)
//!      │                      ▲     │ answer complete, reusable
//!      │ error/timeout        │     ▼
//!      ▼               reuse  │    Idle ──── server closes / sends junk ───► closed
//!    closed  ◄────────────────┴─────┘ (answer not reusable, error, timeout)
//!
//!  Exchanging ── large plain body: lend ──► Lent ── the disk thread is done:
//!                                          (out of    complete and reusable → Idle,
//!                                           the poll) anything else → closed
//! ```
//!
//! Reads follow mio's rule for edge-triggered readiness: read until `WouldBlock`, or
//! the next edge may never come; but never more than [`READ_BUDGET`] reads (or
//! [`SPLICE_BUDGET`] pipe moves) for one readiness. A socket that still has bytes then
//! answers [`Action::Busy`], and the reactor comes back to it after the next `poll(0)`
//! (docs/architecture.md, "One socket, one turn"): no edge is lost, and a server that
//! never pauses cannot keep the loop, its timers and its signals to itself. All reads land in the reactor's one shared buffer and go
//! straight through the job's [`Answer`] (the engines' one copy of how an answer is read)
//! to the scheduler and the file; only bytes that cannot be used yet (a head split across
//! reads) are kept, in the connection's [`Unread`]. On
//! Linux a large plain body of known length skips even that buffer: `splice_body` lends
//! it, with the socket, to a disk thread ([`super::disk`]; the state `Lent`), or with
//! `--disk-threads 0` moves it from the socket into the file through the reactor's pipe
//! ([`super::splice`]). With TLS the socket is wrapped in a [`Transport`] and the same
//! code reads plaintext.
//!
//! Through an HTTP proxy, an `https://` socket is `Tunneling` between its connect and
//! its first request: the `CONNECT` goes out and the proxy's answer is read on the bare
//! socket ([`Tunnel`], shared with the blocking workers); then TLS starts inside the
//! tunnel, with the origin's name, as on a direct socket.
//!
//! A connecting socket may race another for the same job (Happy Eyeballs, RFC 8305):
//! its [`Racing`] says which of the host's addresses comes next, when to start a connect
//! to it (the attempt delay: its timer fires then and answers [`Action::Race`]), and
//! the rival's slot. The reactor keeps the pair: the first to connect carries the job,
//! the other is closed.
//!
//! With `--limit-rate`, every read (and every splice) first takes its grant from the
//! run's byte bucket ([`Limiter`]) and reads no more than that. A socket that gets
//! nothing answers [`Action::Held`]: the reactor keeps it on its held list, stops reading
//! it (it stays registered; its readiness is remembered, as the busy list remembers a
//! socket that did not finish), and serves it again, in turn, when the bucket has room.
//! Meanwhile the kernel's receive buffer fills and TCP's flow control slows the sender.
//! A second list holds a socket that would start a body when every descriptor the
//! open-file limit leaves for staged files is taken ([`Action::AwaitFile`]); a socket
//! whose body has its file goes on, so one of those ends and frees a descriptor, and the
//! reactor then serves the first socket that waited for one.
//!
//! A socket that served a request before and dies before the first byte of the next
//! answer was closed by the server while idle (the keep-alive race, RFC 9112 §9.3.1):
//! the request is resent on a fresh socket and not counted as a try.
//!
//! With `--pipeline N` an exchanging socket may carry up to N GET requests: the one
//! whose answer is read, and the others queued behind it (`pipelined`) in the order sent. When an
//! answer ends, `next_exchange` starts the next one and the bytes left over go to it.
//! A socket that closes gives its queued requests back as stale (`give_back_queued`).
//!
//! Layer: `engine`; may use `protocol`, `model`, `policy`, `output` and `transport` (see `src/engine/mod.rs`).

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::sync::Arc;
use std::time::Instant;

use mio::net::TcpStream;
use mio::Registry;

use super::disk::{DiskThreads, Loan, Outcome, Transfer};
use super::splice::{Pipe, SpliceError, SPLICE_MIN};
use crate::engine::answer::{Answer, Broken, Landing, Progress, Unread, Used};
use crate::engine::bounds::{Bounds, Deadline, Window};
use crate::engine::limit::{limited, Limiter};
use crate::engine::tunnel::Tunnel;
use crate::model::error::JobError;
use crate::model::event::Event;
use crate::model::job::{ConnId, JobId, Phase};
use crate::policy::pool::HostId;
use crate::policy::scheduler::Scheduler;
use crate::protocol::http::Method;
use crate::protocol::proxy::Route;
use crate::transport::Transport;

/// Reads of the shared buffer one socket may make for one readiness (8 × 256 KiB: about
/// a millisecond of copying, tens of milliseconds of parsing one-byte chunks).
pub const READ_BUDGET: u32 = 8;
/// Pipe moves (each up to the pipe's size) one socket may make for one readiness.
pub const SPLICE_BUDGET: u32 = 16;

/// What the reactor must do with a socket after an event.
#[derive(Debug)]
pub enum Action {
    /// Nothing: it waits for more readiness.
    Wait,
    /// It used its budget and may still have bytes: serve it again after the next
    /// `poll(0)`, without waiting for an edge (otherwise as [`Action::Wait`]).
    Busy,
    /// `--limit-rate`'s bucket has nothing for it now, and it may have bytes: hold it
    /// (do not read it, whatever its events say) until the bucket has room, then serve
    /// it without an edge.
    Held,
    /// The descriptors the open-file limit leaves for staged files are all taken, and
    /// it holds none: hold it, unread, until a staged file is closed, then serve it
    /// without an edge (`crate::app::open_files` sizes that share).
    AwaitFile,
    /// Its answer is complete and it is reusable: give it back to the pool.
    Release,
    /// Close it.
    Close,
    /// Its connect failed: close it, and try the host's next address for the same job
    /// (the scheduler has not been told).
    ConnectFailed(io::Error),
    /// Its connect has not finished within the attempt delay: start one to the host's
    /// next address beside it (Happy Eyeballs).
    Race,
}

/// A connecting socket's part in a Happy Eyeballs race (RFC 8305 §5).
#[derive(Debug, Clone, Copy)]
pub struct Racing {
    /// The first of the host's addresses no connect of this job has tried yet.
    pub next_address: usize,
    /// When to start a connect to it beside this one, if that is still to come.
    pub start_next_at: Option<Instant>,
    /// When the job's connect times out (`--connect-timeout` bounds the whole race).
    pub until: Instant,
    /// The connect racing this one for the same job, as `(slot, serial)`.
    pub rival: Option<(ConnId, u64)>,
}

/// What the reactor lends a socket for reading: the shared buffer, the pipe of the
/// zero-copy path, and the disk threads (the last two where the system has them).
pub struct ReadPath<'a, 'o> {
    /// The read buffer all sockets share.
    pub buf: &'a mut [u8],
    /// The pipe of the zero-copy path.
    pub pipe: Option<&'a mut Pipe>,
    /// The disk threads, and the registry their waker needs.
    pub disk: Option<(&'a mut DiskThreads, &'a Registry)>,
    /// Where file bodies land.
    pub landing: &'a mut Landing<'o>,
    /// `--limit-rate`'s bucket, if set: every read takes its grant first.
    pub limit: Option<&'a Arc<Limiter>>,
}

/// What the bytes of one read did to the answers being read.
#[derive(Debug)]
enum ReadOutcome {
    /// The answer being read needs more bytes (or a pipelined one was started).
    NeedMore,
    /// The last answer asked for is complete: the socket may go back to the pool.
    Completed,
    /// The socket cannot be used again (the job was told).
    Close,
}

/// What the zero-copy path did.
#[derive(Debug)]
enum Spliced {
    /// The socket has nothing more now.
    Blocked,
    /// The budget ran out with the body still coming.
    Busy,
    /// `--limit-rate`'s bucket has nothing for it now.
    Held,
    /// The rest of the body went to a disk thread, with the socket.
    Lent,
    /// The body is complete and the socket reusable.
    Completed,
    /// The job ended (reported to the scheduler); close the socket.
    Close,
}

/// Where a connection is in its life.
#[derive(Debug)]
enum State {
    /// The nonblocking connect is in progress; `job` waits for it.
    Connecting { job: JobId, method: Method },
    /// Connected to an HTTP proxy: its `CONNECT` is written and its answer read on the
    /// bare socket (the TLS state waits, untouched, for the tunnel); then `Exchanging`.
    Tunneling {
        job: JobId,
        method: Method,
        tunnel: Box<Tunnel>,
    },
    /// Writing the request of the answer's job and reading its answer (with
    /// `--pipeline`, the requests queued behind it wait in `Conn::pipelined`).
    Exchanging { answer: Answer },
    /// A disk thread moves the rest of the answer's body ([`super::disk`]): the socket is
    /// out of the poll until it comes back.
    Lent { answer: Answer },
    /// Keep-alive, between requests, in the pool.
    Idle,
}

/// A request written behind the one being answered (`--pipeline`), waiting for its turn.
#[derive(Debug, Clone, Copy)]
struct Queued {
    job: JobId,
    method: Method,
    /// Its `--max-time`, counted from when it was queued on this socket.
    max_time: Option<Deadline>,
}

/// A socket of the reactor.
#[derive(Debug)]
pub struct Conn {
    /// The socket, plain or TLS: all reads and writes go through it.
    transport: Transport<TcpStream>,
    /// The host it is connected to (its pool key).
    host: HostId,
    /// Its part in a Happy Eyeballs race while it connects.
    racing: Racing,
    /// Tells this socket apart from a later one in the same slab slot.
    serial: u64,
    /// When it times out, if it is waiting for the network: the connect or idle
    /// deadline, armed no later than the `bounds` ([`Conn::due`]).
    deadline: Option<Instant>,
    /// `--max-time` and `--speed-limit` of the try being answered (both `None`, never
    /// looked at, when the options are not set).
    bounds: Bounds,
    /// The earliest entry this socket has in the timer heap, if any.
    armed: Option<Instant>,
    state: State,
    /// Request bytes, and how many are written.
    out: Vec<u8>,
    written: usize,
    /// Requests not yet written whole: the job, and where its bytes end in `out`.
    unsent: VecDeque<(JobId, usize)>,
    /// Pipelined requests behind the one being answered, in the order sent. Empty
    /// unless the socket is exchanging.
    pipelined: VecDeque<Queued>,
    /// In the pool's list of busy sockets with room for one more request (the reactor
    /// keeps the pool's list in step through [`Conn::room_change`] and
    /// [`Conn::leave_room`]).
    in_room: bool,
    /// The answer being read is for a request that was queued behind another.
    answering_pipelined: bool,
    /// Answer bytes read but not yet usable.
    unread: Unread,
    /// Requests completed on this socket.
    served: u32,
    /// The turn it used its whole read budget in, if it has not been served since
    /// (see [`super::busy`]).
    busy_in: Option<u64>,
    /// On one of the reactor's held lists: `--limit-rate` had no bytes for it, or the
    /// open-file limit no descriptor for its body's file; it is not read until the
    /// reactor serves it from there.
    held: bool,
}

/// Where a new socket is connecting to, and until when.
#[derive(Debug, Clone, Copy)]
pub struct Dial {
    /// The host (its pool key).
    pub host: HostId,
    /// The race it takes part in: the next address, the attempt delay's end, the
    /// deadline of the job's connect, the rival.
    pub racing: Racing,
    /// Tells this socket apart from a later one in the same slab slot.
    pub serial: u64,
    /// The job's `--max-time`, counted from the start of the connect.
    pub max_time: Option<Deadline>,
}

/// A failed connect's request, handed on to the host's next address.
#[derive(Debug)]
pub struct Redial {
    /// The host.
    pub host: HostId,
    /// The address to try next.
    pub next_address: usize,
    /// The job waiting for the connect.
    pub job: JobId,
    /// Its request's method.
    pub method: Method,
    /// Its request bytes.
    pub out: Vec<u8>,
    /// When the job's connect times out (kept from its first address on).
    pub until: Instant,
}

impl Conn {
    /// A socket whose connect to `dial` is in progress, carrying `job` (its request in
    /// `out`).
    pub fn connecting(
        transport: Transport<TcpStream>,
        dial: Dial,
        job: JobId,
        method: Method,
        out: Vec<u8>,
    ) -> Conn {
        Conn {
            transport,
            host: dial.host,
            racing: dial.racing,
            serial: dial.serial,
            // The timer fires first at the attempt delay's end, if a race may start.
            deadline: Some(dial.racing.start_next_at.unwrap_or(dial.racing.until)),
            bounds: Bounds {
                max_time: dial.max_time,
                speed: None,
            },
            armed: None,
            state: State::Connecting { job, method },
            unsent: VecDeque::new(),
            out,
            written: 0,
            pipelined: VecDeque::new(),
            in_room: false,
            answering_pipelined: false,
            unread: Unread::default(),
            served: 0,
            busy_in: None,
            held: false,
        }
    }

    /// `--limit-rate` (or the open-file limit) had nothing for it: it waits on a held
    /// list, unread. True if that is news (put it on the list).
    pub fn hold(&mut self) -> bool {
        !std::mem::replace(&mut self.held, true)
    }

    /// Whether it waits on the held list (then its events are not served).
    pub fn is_held(&self) -> bool {
        self.held
    }

    /// Whether the answer being read holds an open staged file.
    fn holds_file(&self) -> bool {
        matches!(&self.state, State::Exchanging { answer } if answer.holds_file())
    }

    /// Its turn on the held list came at `now`: it may be read again. Waiting for the
    /// bucket (or a descriptor) is not the server's silence, so its read timeout counts
    /// from now.
    pub fn resume(&mut self, now: Instant, timeout: std::time::Duration) {
        self.held = false;
        if self.deadline.is_some() {
            if let State::Exchanging { .. } = self.state {
                self.deadline = Some(now + timeout);
            }
        }
    }

    /// It used its whole budget in `turn`: true if that is news (put it on the busy
    /// list), false if it is listed for that turn already.
    pub fn mark_busy(&mut self, turn: u64) -> bool {
        let news = self.busy_in != Some(turn);
        self.busy_in = Some(turn);
        news
    }

    /// Whether it is still waiting to be served for the budget it used in `turn`.
    pub fn is_busy_since(&self, turn: u64) -> bool {
        self.busy_in == Some(turn)
    }

    /// The request buffer, to append the next request to (reused, not reallocated):
    /// emptied first when everything in it is written.
    pub fn out_for_next(&mut self) -> &mut Vec<u8> {
        if self.written == self.out.len() {
            self.out.clear();
            self.written = 0;
        }
        &mut self.out
    }

    /// Is every request byte written?
    pub fn all_written(&self) -> bool {
        self.written == self.out.len()
    }

    /// The request buffer, taken when the socket closes (to be reused by another).
    pub fn take_out(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }

    /// Can this socket take one more request behind those it carries, with at most
    /// `depth` per socket? Only behind a GET (the queued ones are GETs too: the pool
    /// hands `Pipeline` only to jobs that may be pipelined), and only once the socket has
    /// given one whole keep-alive answer: that shows the server keeps it open, and a
    /// socket opened to resend a failed pipeline's requests sends the first alone
    /// (RFC 9112 §9.3.2).
    fn has_room(&self, depth: usize) -> bool {
        match &self.state {
            State::Exchanging { answer } => {
                self.served > 0
                    && answer.method() == Method::Get
                    && 1 + self.pipelined.len() < depth
            }
            _ => false,
        }
    }

    /// The job on this socket, if any.
    pub fn job(&self) -> Option<JobId> {
        match &self.state {
            State::Connecting { job, .. } | State::Tunneling { job, .. } => Some(*job),
            State::Exchanging { answer } | State::Lent { answer } => Some(answer.job()),
            State::Idle => None,
        }
    }

    /// Takes the request of a socket whose connect failed, for a connect to the host's
    /// next address.
    pub fn take_request(&mut self) -> Redial {
        let State::Connecting { job, method } = self.state else {
            unreachable!("only a connecting socket hands its request on")
        };
        self.state = State::Idle;
        Redial {
            host: self.host,
            next_address: self.racing.next_address,
            job,
            method,
            out: std::mem::take(&mut self.out),
            until: self.racing.until,
        }
    }

    /// Its part in a Happy Eyeballs race (meaningful while it connects).
    pub fn racing(&mut self) -> &mut Racing {
        &mut self.racing
    }

    /// A copy of the request of this connecting socket, for a connect racing it.
    pub fn request_copy(&self) -> Option<(JobId, Method, Vec<u8>)> {
        match self.state {
            State::Connecting { job, method } => Some((job, method, self.out.clone())),
            _ => None,
        }
    }

    /// The connect racing this one, if any, as `(slot, serial)`.
    pub fn rival(&self) -> Option<(ConnId, u64)> {
        self.racing.rival
    }

    /// It connected while racing another: the rival, to close (taken once).
    #[inline]
    pub fn won_race(&mut self) -> Option<(ConnId, u64)> {
        self.racing.rival?;
        match self.state {
            State::Connecting { .. } => None,
            _ => self.racing.rival.take(),
        }
    }

    /// The host it is connected to (its pool key).
    pub fn host(&self) -> HostId {
        self.host
    }

    /// Tells this socket apart from a later one in the same slab slot (timer entries and
    /// disk reports carry it).
    pub fn serial(&self) -> u64 {
        self.serial
    }

    /// Whether it can take one more pipelined request (`depth` per socket) changed since
    /// the pool was last told: `Some(room)` when the pool's room list must change.
    pub fn room_change(&mut self, depth: usize) -> Option<bool> {
        let room = depth > 1 && self.has_room(depth);
        (room != self.in_room).then(|| {
            self.in_room = room;
            room
        })
    }

    /// Leaves the pool's room list (given a pipelined request, or going idle): true if
    /// it was on it.
    pub fn leave_room(&mut self) -> bool {
        std::mem::replace(&mut self.in_room, false)
    }

    /// Its deadline, when the timer heap holds no entry for it as early: the reactor
    /// schedules it (a lazy heap: later entries are skipped when they fire).
    #[inline]
    pub fn deadline_to_arm(&mut self) -> Option<Instant> {
        let deadline = self.due()?;
        if self.armed.is_some_and(|armed| armed <= deadline) {
            return None;
        }
        self.armed = Some(deadline);
        Some(deadline)
    }

    /// Its timer entry fired at `now`: true if the deadline has passed (else activity
    /// moved it, and [`Conn::deadline_to_arm`] schedules the new one).
    pub fn timer_fired(&mut self, now: Instant) -> bool {
        self.armed = None;
        self.due().is_some_and(|deadline| deadline <= now)
    }

    /// When its timer must fire: its deadline, or earlier for a bound of its try.
    #[inline]
    fn due(&self) -> Option<Instant> {
        let deadline = self.deadline?;
        Some(if self.bounds.is_set() {
            self.bounds.earliest(deadline)
        } else {
            deadline
        })
    }

    /// Starts `job` on this connected socket (its request already in `out`) and writes
    /// as much of it as the socket takes.
    pub fn start(
        &mut self,
        job: JobId,
        method: Method,
        slot: ConnId,
        scheduler: &mut Scheduler,
        now: Instant,
    ) -> Action {
        let options = scheduler.options();
        let keep_alive = options.keep_alive;
        if options.has_bounds() {
            if !matches!(
                self.state,
                State::Connecting { .. } | State::Tunneling { .. }
            ) {
                // A reused socket: the try starts now (a new one's started with its connect).
                self.bounds.max_time = Deadline::new(options, now);
            }
            self.bounds.speed = Window::new(options, now);
        }
        self.unsent.push_back((job, self.out.len()));
        self.answering_pipelined = false;
        self.state = State::Exchanging {
            answer: Answer::new(job, method, keep_alive),
        };
        scheduler.set_phase(job, Phase::Sending, Some(slot), now);
        self.send(scheduler, now)
    }

    /// Queues `job` behind the requests this busy socket carries (its request already
    /// appended to `out`): its answer comes after theirs. Nothing is written until
    /// [`Conn::flush`], so the requests queued in one dispatch leave in one `send`.
    pub fn pipeline(
        &mut self,
        job: JobId,
        method: Method,
        slot: ConnId,
        scheduler: &mut Scheduler,
        now: Instant,
    ) {
        self.unsent.push_back((job, self.out.len()));
        let max_time = Deadline::new(scheduler.options(), now);
        self.pipelined.push_back(Queued {
            job,
            method,
            max_time,
        });
        scheduler.set_phase(job, Phase::Sending, Some(slot), now);
    }

    /// Writes what the socket takes of the requests queued by [`Conn::pipeline`].
    pub fn flush(&mut self, scheduler: &mut Scheduler, now: Instant) -> Action {
        self.send(scheduler, now)
    }

    /// The socket is closing: the requests behind the one answered were never
    /// answered, so they go again on a fresh socket, not counted as tries (as a stale
    /// keep-alive socket's request does).
    pub fn give_back_queued(&mut self, scheduler: &mut Scheduler, now: Instant) {
        self.unsent.clear();
        for queued in self.pipelined.drain(..) {
            scheduler.on_stale(queued.job, now);
        }
    }

    /// Readiness (or a connect completing): make the progress the socket and its budget
    /// allow. `no_later_edge`: no edge will announce what is left to read (the peer
    /// closed, its FIN came with this edge; or no edge announced this call at all, as
    /// for a socket on the busy list), so a short read is not taken as drained.
    pub fn on_ready(
        &mut self,
        slot: ConnId,
        no_later_edge: bool,
        path: ReadPath<'_, '_>,
        scheduler: &mut Scheduler,
        now: Instant,
    ) -> Action {
        // Served now: a busy-list entry for an earlier turn no longer counts.
        self.busy_in = None;
        if let State::Lent { .. } = self.state {
            // The disk thread reads it; readiness is its business until it comes back.
            return Action::Wait;
        }
        // A request sent on a socket that connected in this call: its answer cannot be
        // there yet, and its arrival is an edge of its own.
        let mut first_request_sent = false;
        if let State::Connecting { job, method } = self.state {
            match connect_result(self.transport.socket()) {
                Ok(false) => return Action::Wait,
                Ok(true) => {
                    if self.racing.start_next_at.take().is_some() {
                        // The attempt delay no longer matters: the connect deadline does.
                        self.deadline = Some(self.racing.until);
                    }
                    if let Route::Tunnel(proxy) = scheduler.route(job) {
                        let tunnel = Box::new(Tunnel::new(proxy, scheduler.url(job)));
                        self.state = State::Tunneling {
                            job,
                            method,
                            tunnel,
                        };
                    } else if let Action::Close = self.start(job, method, slot, scheduler, now) {
                        return Action::Close;
                    } else {
                        first_request_sent = true;
                    }
                }
                Err(e) => return Action::ConnectFailed(e),
            }
        }
        if let State::Tunneling { .. } = self.state {
            if let Some(after) = self.tunnel(slot, path.buf, scheduler, now) {
                return after;
            }
        }
        if let Action::Close = self.send(scheduler, now) {
            return Action::Close;
        }
        if first_request_sent && !no_later_edge && self.transport.is_plain() {
            // No read that could only say "nothing yet" (one `recvfrom` per new socket);
            // a server that closed at once sent its FIN with this edge (`no_later_edge`).
            return Action::Wait;
        }
        let after = self.receive(slot, path, no_later_edge, scheduler, now);
        if let Some(handshake) = self.transport.take_handshake() {
            let resumed = handshake.resumed;
            scheduler.emit(Event::TlsHandshake { slot, resumed }, now);
        }
        after
    }

    /// Writes the `CONNECT` and reads the proxy's answer, on the bare socket. `None` when
    /// the tunnel opened and the job's request has started through it (TLS first);
    /// else what to do with the socket (the job was told if it is closed).
    fn tunnel(
        &mut self,
        slot: ConnId,
        buf: &mut [u8],
        scheduler: &mut Scheduler,
        now: Instant,
    ) -> Option<Action> {
        let State::Tunneling {
            job,
            method,
            tunnel,
        } = &mut self.state
        else {
            return None;
        };
        let (job, method) = (*job, *method);
        let socket = self.transport.socket_mut();
        let opened = loop {
            let step = if tunnel.unsent().is_empty() {
                socket.read(buf).map(|n| (false, n))
            } else {
                socket.write(tunnel.unsent()).map(|n| (true, n))
            };
            match step {
                Ok((true, 0)) => break Err(tunnel.io_error(io::ErrorKind::WriteZero.into())),
                Ok((true, n)) => tunnel.wrote(n),
                Ok((false, 0)) => break Err(tunnel.eof()),
                Ok((false, n)) => match tunnel.feed(&buf[..n]) {
                    Ok(false) => {}
                    Ok(true) => break Ok(()),
                    Err(e) => break Err(e),
                },
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Some(Action::Wait),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Err(tunnel.io_error(e)),
            }
        };
        if let Err(e) = opened {
            scheduler.on_error(job, e, now);
            return Some(Action::Close);
        }
        scheduler.emit(Event::ProxyTunnel { slot }, now);
        match self.start(job, method, slot, scheduler, now) {
            Action::Close => Some(Action::Close),
            _ => None,
        }
    }

    /// Its timer is due: fail the job it carries if its deadline or a bound of its try
    /// passed (a `--speed-limit` window that was fast enough just makes way for the next).
    pub fn on_timeout(&mut self, scheduler: &mut Scheduler, now: Instant) -> Action {
        let options = scheduler.options();
        let (phase, timed_out) = match &self.state {
            // A lent socket has no deadline here: its disk thread keeps the time.
            State::Idle | State::Lent { .. } => return Action::Wait,
            State::Connecting { .. } if self.racing.start_next_at.is_some_and(|at| at <= now) => {
                // Happy Eyeballs: not connected within the attempt delay.
                self.racing.start_next_at = None;
                self.deadline = Some(self.racing.until);
                return Action::Race;
            }
            State::Connecting { job, .. } => (
                Phase::Connecting,
                scheduler.connect_error(*job, JobError::ConnectTimeout(options.connect_timeout)),
            ),
            State::Tunneling { tunnel, .. } => {
                (Phase::Connecting, tunnel.timed_out(options.connect_timeout))
            }
            State::Exchanging { answer } => {
                // Its own request unsent (not one queued behind it).
                let job = answer.job();
                let phase = if self.unsent.front().is_some_and(|(j, _)| *j == job) {
                    Phase::Sending
                } else {
                    answer.phase()
                };
                (phase, JobError::IdleTimeout(options.timeout, phase))
            }
        };
        let error = match self.bounds.check(now, phase) {
            Err(bound) => bound,
            Ok(()) if self.held => {
                // Not read because of --limit-rate or the open-file limit: not the
                // server's silence.
                self.deadline = Some(now + options.timeout);
                return Action::Wait;
            }
            Ok(()) if self.deadline.is_some_and(|at| at <= now) => timed_out,
            // Only a window closed, fast enough: `settle` arms the next one.
            Ok(()) => return Action::Wait,
        };
        if let Some(job) = self.job() {
            scheduler.on_error(job, error, now);
        }
        Action::Close
    }

    /// The run is being stopped: fail the jobs it carries, if any.
    pub fn abort(&mut self, scheduler: &mut Scheduler, now: Instant) {
        if let Some(job) = self.job() {
            scheduler.on_error(job, JobError::Interrupted, now);
            self.state = State::Idle;
        }
        for queued in self.pipelined.drain(..) {
            scheduler.on_error(queued.job, JobError::Interrupted, now);
        }
        self.unsent.clear();
    }

    /// Writes the rest of the request.
    fn send(&mut self, scheduler: &mut Scheduler, now: Instant) -> Action {
        let State::Exchanging { answer } = &self.state else {
            return Action::Wait;
        };
        let job = answer.job();
        if self.written == self.out.len() {
            // TLS records (the handshake, the request's tail) may wait for this edge.
            return match self.transport.flush() {
                Ok(()) => Action::Wait,
                Err(e) => self.fail(job, e, Phase::Sending, scheduler, now),
            };
        }
        while self.written < self.out.len() {
            match self.transport.write(&self.out[self.written..]) {
                Ok(0) => {
                    return self.fail(
                        job,
                        io::ErrorKind::WriteZero.into(),
                        Phase::Sending,
                        scheduler,
                        now,
                    )
                }
                Ok(n) => self.written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return self.fail(job, e, Phase::Sending, scheduler, now),
            }
        }
        self.deadline = Some(now + scheduler.options().timeout);
        // Every request now written whole (one, or several pipelined).
        while let Some(&(job, _)) = self.unsent.front().filter(|(_, end)| *end <= self.written) {
            self.unsent.pop_front();
            scheduler.emit(Event::RequestSent { job }, now);
            scheduler.set_phase(job, Phase::AwaitingHead, None, now);
        }
        Action::Wait
    }

    /// Reads until `WouldBlock`, feeding the answer through the exchange.
    fn receive(
        &mut self,
        slot: ConnId,
        ReadPath {
            buf,
            mut pipe,
            mut disk,
            landing,
            limit,
        }: ReadPath<'_, '_>,
        no_later_edge: bool,
        scheduler: &mut Scheduler,
        now: Instant,
    ) -> Action {
        // Set when the answer completes in this call: the socket goes back to the pool
        // once the read loop has seen that the server did not close it meanwhile.
        let mut completed = false;
        // A read that fills less than the buffer has drained the socket: like tokio, take
        // it as `WouldBlock` and save a syscall (epoll reports the next arrival anew).
        // Not through TLS, whose plaintext length says nothing about the socket.
        let mut drained = false;
        let plain = self.transport.is_plain();
        let mut reads = 0;
        loop {
            if landing.no_file_to_spare() && !completed && !drained && !self.holds_file() {
                // The descriptors the open-file limit leaves for staged files are all
                // taken: no new body on this socket until one of them is closed.
                return Action::AwaitFile;
            }
            // A large body of known length skips the buffer: socket → pipe → file.
            if let Some(pipe) = pipe.as_deref_mut() {
                let disk = disk.as_mut().map(|(d, r)| (&mut **d, *r));
                let path = (pipe, disk, limit);
                match self.splice_body(slot, path, drained, landing, scheduler, now) {
                    None => {}
                    Some(Spliced::Blocked | Spliced::Lent) => return Action::Wait,
                    Some(Spliced::Busy) => return Action::Busy,
                    Some(Spliced::Held) => return Action::Held,
                    Some(Spliced::Close) => return Action::Close,
                    Some(Spliced::Completed) => {
                        self.served += 1;
                        if !self.next_exchange(scheduler) {
                            self.deadline = None;
                            completed = true;
                        }
                    }
                }
            }
            let read = if drained {
                Err(io::ErrorKind::WouldBlock.into())
            } else if reads == READ_BUDGET && !completed {
                // Its turn is over; after a completed answer, one more read only checks
                // that the server did not close the socket.
                return Action::Busy;
            } else {
                reads += 1;
                // With --limit-rate, at most the grant (none needed for the read after a
                // completed answer: it can only find the server's close, or junk).
                let limit = limit.filter(|_| !completed).map(|l| &**l);
                let transport = &mut self.transport;
                match limited(limit, buf.len(), now, |n| transport.read(&mut buf[..n])) {
                    Some((asked, read)) => read.map(|n| (n, asked)),
                    None => return Action::Held,
                }
            };
            let n = match read {
                Ok((n, asked)) => {
                    // Not when no later edge will announce the rest (a FIN that came
                    // with this edge, or bytes left from a busy turn).
                    drained = plain && !no_later_edge && n > 0 && n < asked;
                    n
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    return if completed {
                        Action::Release
                    } else {
                        Action::Wait
                    };
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return self.on_read_error(e, scheduler, now),
            };
            match self.on_read(&buf[..n], landing, scheduler, now) {
                ReadOutcome::NeedMore => {}
                ReadOutcome::Completed => completed = true,
                ReadOutcome::Close => return Action::Close,
            }
        }
    }

    /// What one read's bytes did (none: the peer closed the socket).
    fn on_read(
        &mut self,
        read: &[u8],
        landing: &mut Landing<'_>,
        scheduler: &mut Scheduler,
        now: Instant,
    ) -> ReadOutcome {
        let State::Exchanging { .. } = self.state else {
            // Idle: the server closed the socket (n == 0) or sent bytes nobody asked for.
            return ReadOutcome::Close;
        };
        self.deadline = Some(now + scheduler.options().timeout);
        self.bounds.count(read.len() as u64);
        if read.is_empty() {
            self.on_eof(landing, scheduler, now);
            return ReadOutcome::Close;
        }
        self.feed(read, landing, scheduler, now)
    }

    /// A read failed: the answer being read (if any) fails, or goes again if stale.
    fn on_read_error(
        &mut self,
        error: io::Error,
        scheduler: &mut Scheduler,
        now: Instant,
    ) -> Action {
        match &self.state {
            State::Exchanging { answer } => {
                let job = answer.job();
                self.fail(job, error, Phase::AwaitingHead, scheduler, now)
            }
            _ => Action::Close,
        }
    }

    /// The server closed the socket during an answer: a stale keep-alive socket (no byte
    /// of the answer yet), a failed pipeline, an answer that ends at EOF, or a cut one.
    fn on_eof(&mut self, landing: &mut Landing<'_>, scheduler: &mut Scheduler, now: Instant) {
        let pipelining_failed = self.pipelining_failed();
        let State::Exchanging { answer } = &mut self.state else {
            return;
        };
        let job = answer.job();
        if answer.is_stale(self.served > 0, &self.unread) || pipelining_failed {
            return scheduler.on_stale(job, now);
        }
        if let Err(e) = answer.feed_eof(scheduler, landing, now) {
            scheduler.on_error(job, e, now);
        }
    }

    /// Feeds the bytes of one read to the answer being read; what is left over belongs to
    /// the answers of pipelined requests behind it, in order.
    fn feed(
        &mut self,
        read: &[u8],
        landing: &mut Landing<'_>,
        scheduler: &mut Scheduler,
        now: Instant,
    ) -> ReadOutcome {
        self.unread.arrived(read);
        let mut start = 0;
        loop {
            let State::Exchanging { answer } = &mut self.state else {
                unreachable!("only an exchanging socket reads an answer")
            };
            let job = answer.job();
            match self
                .unread
                .feed(answer, read, &mut start, scheduler, landing, now)
            {
                Ok(Progress::NeedMore) => return ReadOutcome::NeedMore,
                Ok(Progress::Ended {
                    reusable,
                    left_over,
                }) => {
                    if !reusable {
                        return ReadOutcome::Close;
                    }
                    self.served += 1;
                    if self.next_exchange(scheduler) {
                        if left_over {
                            continue;
                        }
                        return ReadOutcome::NeedMore;
                    }
                    // Bytes after the last answer asked for: the server sent more than it
                    // announced, so the socket cannot be trusted again.
                    if left_over {
                        return ReadOutcome::Close;
                    }
                    self.deadline = None;
                    return ReadOutcome::Completed;
                }
                Err(_) if self.pipelining_failed() => {
                    scheduler.on_stale(job, now);
                    return ReadOutcome::Close;
                }
                Err(e) => {
                    scheduler.on_error(job, e, now);
                    return ReadOutcome::Close;
                }
            }
        }
    }

    /// The answer being read is complete: the next pipelined request's answer is read
    /// next (true), or the socket goes idle (false).
    #[inline]
    fn next_exchange(&mut self, scheduler: &Scheduler) -> bool {
        let Some(Queued {
            job,
            method,
            max_time,
        }) = self.pipelined.pop_front()
        else {
            self.state = State::Idle;
            return false;
        };
        if max_time.is_some() {
            // (Without --max-time every request has `None`: nothing to store.)
            self.bounds.max_time = max_time;
        }
        let keep_alive = scheduler.options().keep_alive;
        self.answering_pipelined = true;
        self.state = State::Exchanging {
            answer: Answer::new(job, method, keep_alive),
        };
        true
    }

    /// Whether a failure of the answer being read is the server's failure to pipeline,
    /// not the request's: the request was queued behind another and its answer has no
    /// whole head yet (the bytes may be what the answer before it left over). Such a
    /// request goes again, alone, on a fresh socket, not counted as a try.
    fn pipelining_failed(&self) -> bool {
        match &self.state {
            State::Exchanging { answer } => {
                self.answering_pipelined && answer.phase() == Phase::AwaitingHead
            }
            _ => false,
        }
    }

    /// The zero-copy path ([`super::splice`]) for a large body of known length on a
    /// plain socket, going to a file: lends it to a disk thread, or moves what the socket
    /// has (nothing when the last read `drained` it). `None` when it does not apply (the
    /// ordinary read path then runs).
    fn splice_body(
        &mut self,
        slot: ConnId,
        (pipe, disk, limit): SplicePath<'_, '_>,
        drained: bool,
        landing: &mut Landing<'_>,
        scheduler: &mut Scheduler,
        now: Instant,
    ) -> Option<Spliced> {
        let State::Exchanging { answer } = &mut self.state else {
            return None;
        };
        let job = answer.job();
        let big = answer.body_remaining()? >= SPLICE_MIN;
        if !big || !self.unread.is_empty() || !self.transport.is_plain() {
            return None;
        }
        if let Some(disk) = disk {
            match self.lend(slot, job, disk, limit, scheduler) {
                Ok(true) => return Some(Spliced::Lent),
                Ok(false) => {}
                Err(e) => {
                    scheduler.on_error(job, e, now);
                    return Some(Spliced::Close);
                }
            }
        }
        if drained {
            // Lent or not, the socket has nothing more now.
            return Some(Spliced::Blocked);
        }
        self.splice_until_blocked(pipe, limit, landing, scheduler, now)
    }

    /// Moves the body through the reactor's pipe into the file until the socket has
    /// nothing more, the body is complete, it fails, or [`SPLICE_BUDGET`] moves are made.
    fn splice_until_blocked(
        &mut self,
        pipe: &mut Pipe,
        limit: Option<&Arc<Limiter>>,
        landing: &mut Landing<'_>,
        scheduler: &mut Scheduler,
        now: Instant,
    ) -> Option<Spliced> {
        let State::Exchanging { answer } = &mut self.state else {
            unreachable!("lend() keeps the socket exchanging when it does not lend")
        };
        let job = answer.job();
        for _ in 0..SPLICE_BUDGET {
            let left = answer.body_remaining()?;
            if left == 0 {
                // All moved: the exchange reports the end (and whether to reuse).
                return Some(match answer.feed(&[], scheduler, landing, now) {
                    Ok(Used::Ended { reusable: true, .. }) => Spliced::Completed,
                    Ok(_) => Spliced::Close,
                    Err(e) => {
                        scheduler.on_error(job, e, now);
                        Spliced::Close
                    }
                });
            }
            let file = match answer.splice_target() {
                Some(Ok(file)) => file,
                None => return None,
                Some(Err(e)) => {
                    scheduler.on_error(job, answer.output_error(e), now);
                    return Some(Spliced::Close);
                }
            };
            // With --limit-rate, at most the grant.
            let (socket, want) = (self.transport.socket(), usize::try_from(left));
            let splice = |n: usize| pipe.socket_to_file(socket, file, n as u64);
            let limit = limit.map(|l| &**l);
            let Some((_, spliced)) = limited(limit, want.unwrap_or(usize::MAX), now, splice) else {
                return Some(Spliced::Held);
            };
            let moved = match spliced {
                Ok(0) => {
                    // The peer closed mid-body: the exchange names the shortfall.
                    if let Err(e) = answer.feed_eof(scheduler, landing, now) {
                        scheduler.on_error(job, e, now);
                    }
                    return Some(Spliced::Close);
                }
                Ok(n) => n as u64,
                Err(SpliceError::Socket(e)) if e.kind() == io::ErrorKind::WouldBlock => {
                    return Some(Spliced::Blocked)
                }
                Err(SpliceError::Socket(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => {
                    scheduler.on_error(job, splice_failure(answer, error), now);
                    return Some(Spliced::Close);
                }
            };
            answer.body_moved(moved, scheduler, now);
            self.bounds.count(moved);
            self.deadline = Some(now + scheduler.options().timeout);
            // No "short means drained" here: a pipe fills by buffers, not bytes, so a
            // short move says nothing about the socket. Go on until WouldBlock.
        }
        Some(Spliced::Busy)
    }

    /// Hands the rest of the body, with duplicates of the socket and the file, to a disk
    /// thread. `Ok(false)`: not lent (no file yet, pipelined requests queued behind it,
    /// or a descriptor could not be duplicated), the reactor moves it itself.
    fn lend(
        &mut self,
        slot: ConnId,
        job: JobId,
        (disk, registry): (&mut DiskThreads, &Registry),
        limit: Option<&Arc<Limiter>>,
        scheduler: &mut Scheduler,
    ) -> Result<bool, JobError> {
        let State::Exchanging { answer } = &mut self.state else {
            return Ok(false);
        };
        if !self.pipelined.is_empty() {
            // The answers behind it follow on the socket: the reactor keeps reading.
            return Ok(false);
        }
        let Some(len) = answer.body_remaining() else {
            return Ok(false);
        };
        let file = match answer.splice_target() {
            None => return Ok(false),
            Some(Ok(file)) => file,
            Some(Err(e)) => return Err(answer.output_error(e)),
        };
        let (Ok(file), Ok(socket)) = (
            file.try_clone(),
            self.transport.socket().as_fd().try_clone_to_owned(),
        ) else {
            return Ok(false);
        };
        let transfer = Transfer {
            loan: Loan {
                key: slot.0,
                serial: self.serial,
                job,
            },
            socket,
            file,
            len,
            timeout: scheduler.options().timeout,
            bounds: self.bounds,
            limit: limit.cloned(),
        };
        // Out of the poll while lent: every packet of the body would wake the reactor
        // for a socket it must not touch. Back in by `lent_back`.
        if registry.deregister(self.transport.socket_mut()).is_err() {
            return Ok(false);
        }
        if disk.lend(transfer, registry).is_err() {
            // Back in the poll: the reactor moves the body itself.
            return match self.register(slot, registry) {
                Ok(()) => Ok(false),
                Err(e) => Err(JobError::Io(e, Phase::ReceivingBody)),
            };
        }
        let State::Exchanging { answer } = std::mem::replace(&mut self.state, State::Idle) else {
            unreachable!("checked above")
        };
        self.state = State::Lent { answer };
        self.deadline = None;
        Ok(true)
    }

    /// A disk thread moved `moved` more bytes of the lent body.
    pub fn lent_progress(&mut self, moved: u64, scheduler: &mut Scheduler, now: Instant) {
        if let State::Lent { answer } = &mut self.state {
            answer.body_moved(moved, scheduler, now);
        }
    }

    /// The disk thread is done with the lent body: finish the answer as the reactor
    /// would have, and say what becomes of the socket.
    #[allow(clippy::too_many_arguments)]
    pub fn lent_back(
        &mut self,
        slot: ConnId,
        registry: &Registry,
        moved: u64,
        outcome: Outcome,
        (buf, landing): (&mut [u8], &mut Landing<'_>),
        scheduler: &mut Scheduler,
        now: Instant,
    ) -> Action {
        match self.finish_lent(moved, outcome, buf, landing, scheduler, now) {
            Action::Release if self.register(slot, registry).is_err() => Action::Close,
            after => after,
        }
    }

    /// Registers the socket for readable and writable edges, under its slab key.
    fn register(&mut self, slot: ConnId, registry: &Registry) -> io::Result<()> {
        let interest = mio::Interest::READABLE | mio::Interest::WRITABLE;
        registry.register(self.transport.socket_mut(), mio::Token(slot.0), interest)
    }

    fn finish_lent(
        &mut self,
        moved: u64,
        outcome: Outcome,
        buf: &mut [u8],
        landing: &mut Landing<'_>,
        scheduler: &mut Scheduler,
        now: Instant,
    ) -> Action {
        self.lent_progress(moved, scheduler, now);
        let State::Lent { mut answer } = std::mem::replace(&mut self.state, State::Idle) else {
            return Action::Close;
        };
        let job = answer.job();
        let options = scheduler.options();
        let error = match outcome {
            Outcome::Complete => match answer.feed(&[], scheduler, landing, now) {
                Ok(Used::Ended { reusable: true, .. }) => {
                    self.served += 1;
                    // Out of the poll while lent: bytes or a FIN that came meanwhile are
                    // seen here, before it goes back to the pool.
                    return match self.transport.read(buf) {
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Action::Release,
                        _ => Action::Close,
                    };
                }
                Ok(_) => return Action::Close,
                Err(e) => e,
            },
            Outcome::Eof => match answer.feed_eof(scheduler, landing, now) {
                Ok(()) => return Action::Close,
                Err(e) => e,
            },
            Outcome::TimedOut => JobError::IdleTimeout(options.timeout, Phase::ReceivingBody),
            Outcome::Bounded(e) => e,
            Outcome::Socket(e) => JobError::Io(e, Phase::ReceivingBody),
            Outcome::File(e) => answer.output_error(e),
            Outcome::Stopped => JobError::Interrupted,
        };
        scheduler.on_error(job, error, now);
        Action::Close
    }

    /// A socket error during `phase`: a stale keep-alive socket (or a failed pipeline),
    /// or a failed try; the rule is the one every engine uses ([`Answer::broken`]).
    fn fail(
        &mut self,
        job: JobId,
        error: io::Error,
        phase: Phase,
        scheduler: &mut Scheduler,
        now: Instant,
    ) -> Action {
        let broken = match &self.state {
            _ if self.pipelining_failed() => Broken::Stale,
            State::Exchanging { answer } => {
                answer.broken(self.served > 0, &self.unread, error, phase)
            }
            _ => Broken::Failed(JobError::io(error, phase)),
        };
        match broken {
            Broken::Stale => scheduler.on_stale(job, now),
            Broken::Failed(e) => scheduler.on_error(job, e, now),
        }
        Action::Close
    }
}

/// What the zero-copy path may use: the reactor's pipe, the disk threads (and the
/// registry their waker needs), `--limit-rate`'s bucket.
type SplicePath<'a, 'r> = (
    &'a mut Pipe,
    Option<(&'a mut DiskThreads, &'r Registry)>,
    Option<&'a Arc<Limiter>>,
);

/// What a failed splice means for the job: the socket failed mid-body, or the file.
fn splice_failure(answer: &Answer, error: SpliceError) -> JobError {
    match error {
        SpliceError::Socket(e) => JobError::Io(e, Phase::ReceivingBody),
        SpliceError::File(e) => answer.output_error(e),
    }
}

/// Finishes a nonblocking connect (mio's `TcpStream::connect` recipe): `Ok(false)` while
/// still in progress, the error if it failed.
fn connect_result(stream: &TcpStream) -> io::Result<bool> {
    if let Some(e) = stream.take_error()? {
        return Err(e);
    }
    match stream.peer_addr() {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(false),
        Err(e) => Err(e),
    }
}
