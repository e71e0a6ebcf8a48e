//! One server-side connection: read requests, wait out the lag, write the answers in order.
//!
//! The loop calls [`ServerConn::progress`] whenever the socket might have changed (a readiness
//! event, which is only a hint) or a timer this connection asked for is due. `progress` does
//! all the work that is possible *now* without blocking and reports when it next wants
//! to be woken. Reads and writes go until `WouldBlock`, because mio's readiness is
//! edge-triggered: an event that is not drained will not be repeated. Each has a share
//! per call, though (the input caps, the write budget, [`DISCARD_BUDGET`]): a call that
//! stops at its share sets a [`Purpose::Pace`] deadline and goes on next turn.
//!
//! ```text
//!              request parsed: queued, due at now + lag
//!            ┌──────────────────────────────────┐
//!            ▼                                  │
//!   ──► Serving ── due response written ── Then::KeepAlive
//!         │   │ peer EOF (input: PeerClosed): answer the queue, then close
//!         │   └─ Then::Reset ──────────────────────────► closed with RST
//!         ├─ Then::Close ──► Lingering (FIN sent; discard input) ── EOF / 2 s ──► closed
//!         └─ Then::Stall ──► Stalled (send nothing; discard input) ── EOF ──────► closed
//! ```
//!
//! Pipelined requests are parsed as they arrive and answered strictly in order; a request
//! that ends the connection (`Connection: close`, HTTP/1.0, a malformed one) stops the
//! parsing of anything behind it.
//!
//! All bytes pass through a `Transport`, plain or TLS: the state machine reads and
//! writes plaintext and never knows which. What TLS adds is that written plaintext may
//! wait inside rustls as records: every call first flushes them, a response counts as
//! answered only once its records are on the socket, and a close sends `close_notify`
//! before the FIN.
//!
//! A connection keeps one [`Deadline`], set by every call, whose [`Purpose`] says what it
//! is for: a response's lag, the pace of a long response's writes, or the end of a
//! lingering close. The loop keeps it in the reactor's lazy heap. A due answer that the
//! socket cannot take yet has none: the socket's writable event wakes it.
//!
//! Layer: `serve`; may use `protocol`, `model`, `policy`, `output`, `transport`, `engine` and `report` (see `src/serve/mod.rs`).

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::time::{Duration, Instant};

use mio::net::TcpStream;

use super::reactor::Context;
use super::request::{self, Parsed, Persistence, MAX_BODY, MAX_HEAD};
use super::response::{render, Outgoing, Reply, Then};
use crate::transport::Transport;

/// Requests parsed ahead of the one being answered; beyond this we stop reading.
const MAX_QUEUED: usize = 256;
/// Unparsed input we hold at most (a whole head and body fit).
const MAX_INPUT: usize = MAX_HEAD + MAX_BODY;
/// Bytes written to one connection per call of `progress`, so one fast reader cannot starve the rest.
const WRITE_BUDGET: usize = 1024 * 1024;
/// How long a closing connection waits for the client's FIN before it gives up.
const LINGER: Duration = Duration::from_secs(2);
/// Read/parse/write rounds per call of `progress`, for the same fairness reason.
const MAX_ROUNDS: usize = 64;
/// Reads of input to throw away per call (16 KiB each): a client that never stops
/// sending to a lingering or stalled connection cannot hold the loop, the rule the
/// client's reactor keeps too (docs/architecture.md, "One socket, one turn").
const DISCARD_BUDGET: usize = 16;

/// Where the connection is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading requests and answering them.
    Serving,
    /// FIN sent after a closing response; input is read and dropped until the peer's FIN
    /// (or the [`Purpose::Linger`] deadline), so unread requests do not turn our close
    /// into a reset that destroys the response.
    Lingering,
    /// A `stall` fault: nothing more is sent; the socket waits for the peer to give up.
    Stalled,
}

/// Whether more requests can arrive on this connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Input {
    /// The client may send more.
    Open,
    /// A request that ends the connection was parsed; later input is ignored.
    LastRequestParsed,
    /// The client sent FIN.
    PeerClosed,
}

/// What a connection's deadline is for: the one timer each connection keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Purpose {
    /// The lag of the response at the front of the queue is over: write it.
    Lag,
    /// More work is ready now but this call.s share is used up (its write budget or its
    /// rounds): it goes on next turn, after the other sockets had theirs. (A fault that
    /// paces its bytes would set this later than now.)
    Pace,
    /// A closing connection stops waiting for the client's FIN and closes.
    Linger,
}

/// When a connection wants to be woken, and what for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Deadline {
    /// The instant.
    pub at: Instant,
    /// What is due then.
    pub purpose: Purpose,
}

impl Deadline {
    fn new(purpose: Purpose, at: Instant) -> Deadline {
        Deadline { at, purpose }
    }
}

/// What the loop should do with the connection after it progressed.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Next {
    /// Keep it; wake it at [`ServerConn::deadline`], if it has one.
    Keep,
    /// Close it (FIN if not yet sent).
    Close,
    /// Abort it with RST.
    Reset,
}

/// A parsed request waiting for its lag, with the answer already rendered.
struct Queued {
    due: Instant,
    response: Outgoing,
}

/// The server's side of one TCP connection.
pub(super) struct ServerConn {
    /// The socket, plain or TLS.
    pub transport: Transport<TcpStream>,
    /// Tells this connection's timers from those of an earlier one in the same slab slot.
    pub serial: u64,
    /// When the connection next wants to be woken, and why; set by every call.
    pub deadline: Option<Deadline>,
    /// The earliest timer already scheduled for this connection, to avoid duplicates
    /// (the heap is lazy: see `crate::engine::reactor::timers`).
    pub armed: Option<Instant>,
    state: State,
    input: Input,
    inbuf: Vec<u8>,
    queue: VecDeque<Queued>,
    /// Requests parsed and not yet fully answered, for the in-flight statistics.
    pub unanswered: u64,
}

impl ServerConn {
    pub(super) fn new(transport: Transport<TcpStream>, serial: u64) -> ServerConn {
        ServerConn {
            transport,
            serial,
            deadline: None,
            armed: None,
            state: State::Serving,
            input: Input::Open,
            inbuf: Vec::new(),
            queue: VecDeque::new(),
            unanswered: 0,
        }
    }

    /// Does everything possible now; see the module docs.
    pub(super) fn progress(&mut self, now: Instant, ctx: &mut Context) -> Next {
        // TLS records left from the last call (a handshake flight, a response's tail).
        if self.transport.flush().is_err() {
            return Next::Close;
        }
        match self.state {
            // Input left unread past the budget waits for the linger's end, which closes.
            State::Lingering => match self.discard_input() {
                Ok(Discarded::PeerClosed) | Err(_) => Next::Close,
                Ok(_) if self.is_due(Purpose::Linger, now) => Next::Close,
                Ok(_) => Next::Keep,
            },
            State::Stalled => match self.discard_input() {
                Ok(Discarded::PeerClosed) | Err(_) => Next::Close,
                Ok(Discarded::Drained) => {
                    self.deadline = None;
                    Next::Keep
                }
                // Come back next turn: a FIN behind the unread bytes brings no new event.
                Ok(Discarded::MoreLeft) => {
                    self.deadline = Some(Deadline::new(Purpose::Pace, now));
                    Next::Keep
                }
            },
            State::Serving => self.serve(now, ctx),
        }
    }

    /// True when the deadline for `purpose` has come.
    fn is_due(&self, purpose: Purpose, now: Instant) -> bool {
        self.deadline
            .is_some_and(|d| d.purpose == purpose && d.at <= now)
    }

    fn serve(&mut self, now: Instant, ctx: &mut Context) -> Next {
        let mut budget = WRITE_BUDGET;
        let mut settled = false;
        for _ in 0..MAX_ROUNDS {
            if self.input == Input::Open && self.fill().is_err() {
                return Next::Close;
            }
            let parsed = self.parse_requests(ctx);
            let answered = match self.write_due(now, &mut budget, ctx) {
                Ok(Written::Answered(n)) => n,
                Ok(Written::Then(Then::Close)) => return self.start_lingering(now),
                Ok(Written::Then(Then::Reset)) => return Next::Reset,
                Ok(Written::Then(_)) => {
                    self.state = State::Stalled;
                    return self.progress(now, ctx);
                }
                Err(_) => return Next::Close,
            };
            if budget == 0 {
                self.deadline = Some(Deadline::new(Purpose::Pace, now));
                return Next::Keep;
            }
            if parsed == 0 && answered == 0 {
                settled = true;
                break;
            }
        }
        match self.input {
            Input::PeerClosed if self.queue.is_empty() => return Next::Close,
            Input::LastRequestParsed if self.queue.is_empty() => return self.start_lingering(now),
            _ => {}
        }
        self.deadline = match self.queue.front() {
            // Out of rounds with work left: go on next turn.
            _ if !settled => Some(Deadline::new(Purpose::Pace, now)),
            Some(front) if front.due > now => Some(Deadline::new(Purpose::Lag, front.due)),
            // Due, and the socket took no more (WouldBlock): its writable event wakes us.
            _ => None,
        };
        Next::Keep
    }

    /// Reads until `WouldBlock`, EOF or the input cap.
    fn fill(&mut self) -> io::Result<()> {
        let mut chunk = [0u8; 16 * 1024];
        while self.inbuf.len() < MAX_INPUT && self.queue.len() < MAX_QUEUED {
            match self.transport.read(&mut chunk) {
                Ok(0) => {
                    self.input = Input::PeerClosed;
                    return Ok(());
                }
                Ok(n) => self.inbuf.extend_from_slice(&chunk[..n]),
                Err(e) if would_block(&e) => return Ok(()),
                Err(e) if interrupted(&e) => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Turns buffered input into queued responses; returns how many requests it parsed.
    fn parse_requests(&mut self, ctx: &mut Context) -> usize {
        // The lag counts from now, not from the start of the loop's turn: a request
        // read late in a turn (after we answered its predecessor) arrived after it began.
        let now = Instant::now();
        let mut parsed = 0;
        let mut used = 0;
        while self.input != Input::LastRequestParsed && self.queue.len() < MAX_QUEUED {
            let response = match request::parse(&self.inbuf[used..]) {
                Parsed::Partial => break,
                Parsed::Request(req) => {
                    used += req.consumed;
                    if !req.keep_alive {
                        self.input = Input::LastRequestParsed;
                    }
                    ctx.answer(&req, now)
                }
                Parsed::Invalid(status, _) => {
                    used = self.inbuf.len();
                    self.input = Input::LastRequestParsed;
                    ctx.stats.request_started("(invalid)");
                    let reply = Reply::text(status, "malformed request\n");
                    render(reply, None, Persistence::Close, "/")
                }
            };
            self.unanswered += 1;
            parsed += 1;
            self.queue.push_back(Queued {
                due: now + ctx.config.lag,
                response,
            });
        }
        self.inbuf.drain(..used);
        if self.input == Input::PeerClosed && !self.inbuf.is_empty() && parsed == 0 {
            // A partial request followed by FIN will never complete.
            self.inbuf.clear();
        }
        parsed
    }

    /// Writes due responses in order until `WouldBlock`, the budget, or a response that
    /// ends the connection.
    fn write_due(
        &mut self,
        now: Instant,
        budget: &mut usize,
        ctx: &Context,
    ) -> io::Result<Written> {
        let mut answered = 0;
        while let Some(front) = self.queue.front_mut() {
            if front.due > now {
                break;
            }
            loop {
                let bytes = front.response.pending();
                if bytes.is_empty() {
                    break;
                }
                if *budget == 0 {
                    return Ok(Written::Answered(answered));
                }
                let n = bytes.len().min(*budget);
                match self.transport.write(&bytes[..n]) {
                    Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                    Ok(n) => {
                        front.response.consume(n);
                        *budget -= n;
                    }
                    Err(e) if would_block(&e) => return Ok(Written::Answered(answered)),
                    Err(e) if interrupted(&e) => continue,
                    Err(e) => return Err(e),
                }
            }
            if self.transport.wants_write() {
                // Its last TLS records still wait for the socket: not answered yet.
                return Ok(Written::Answered(answered));
            }
            let then = front.response.then;
            if then == Then::Stall {
                // Never answered: it stays in flight until the connection closes.
                return Ok(Written::Then(then));
            }
            self.queue.pop_front();
            self.unanswered -= 1;
            ctx.stats.requests_finished(1);
            answered += 1;
            if then != Then::KeepAlive {
                return Ok(Written::Then(then));
            }
        }
        Ok(Written::Answered(answered))
    }

    fn start_lingering(&mut self, now: Instant) -> Next {
        self.queue.clear();
        // A TLS peer tells our close from a truncation by this alert.
        let _ = self.transport.send_close_notify();
        if self.transport.socket().shutdown(Shutdown::Write).is_err() {
            return Next::Close;
        }
        self.state = State::Lingering;
        self.deadline = Some(Deadline::new(Purpose::Linger, now + LINGER));
        match self.discard_input() {
            Ok(Discarded::PeerClosed) | Err(_) => Next::Close,
            Ok(_) => Next::Keep,
        }
    }

    /// Reads and drops input until `WouldBlock`, the peer's FIN, or [`DISCARD_BUDGET`].
    fn discard_input(&mut self) -> io::Result<Discarded> {
        let mut chunk = [0u8; 16 * 1024];
        let mut reads = 0;
        while reads < DISCARD_BUDGET {
            match self.transport.read(&mut chunk) {
                Ok(0) => return Ok(Discarded::PeerClosed),
                Ok(_) => reads += 1,
                Err(e) if would_block(&e) => return Ok(Discarded::Drained),
                Err(e) if interrupted(&e) => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(Discarded::MoreLeft)
    }
}

/// How far one call of `discard_input` got.
enum Discarded {
    /// The peer sent FIN.
    PeerClosed,
    /// Nothing more to read now (`WouldBlock`): the next bytes bring an event.
    Drained,
    /// The budget ran out with input perhaps still waiting.
    MoreLeft,
}

/// The outcome of one round of writing.
enum Written {
    /// This many responses finished; the connection stays.
    Answered(usize),
    /// A response finished (or, for `Stall`, reached its end) that ends serving.
    Then(Then),
}

fn would_block(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::WouldBlock
}

fn interrupted(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::Interrupted
}

#[cfg(test)]
mod tests;
