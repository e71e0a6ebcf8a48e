//! One request's response, as a state machine fed with bytes: head, body, end.
//!
//! Read with: RFC 9112 §6.3 (framing), §9.3 (persistence), RFC 9110 §15.2 (1xx interim
//! responses), and the httparse contract: "not enough bytes yet" is an answer, not an error.
//!
//! ```text
//!                 1xx head: consumed, no event
//!                    ┌──────┐
//!                    ▼      │
//!  new ──► AwaitingHead ────┴── final head ──► Body ── framing complete ──► Done
//!              │     Part::Head(head)          │ Part::Body(bytes)...      Part::End
//!              │                                │
//!              └── bad bytes / EOF ──► Failed ◄─┘ bad chunk / EOF mid-body
//! ```
//!
//! The caller owns the buffer. The loop around [`Exchange::feed`] is always the same:
//!
//! ```text
//!  loop {
//!      let (used, event) = exchange.feed(&buf)?;
//!      buf.drain(..used);                       // consumed bytes are gone
//!      match event {
//!          None if used == 0 => break,          // need more bytes: read the socket
//!          None => continue,                    // framing consumed: call again
//!          Some(Part::Head(h)) => ...,         // then call again, even with an empty buf
//!          Some(Part::Body(b)) => ...,         // write b to the sink
//!          Some(Part::End { reusable }) => ..., // bytes left in buf: not reusable
//!      }
//!  }
//! ```
//!
//! Layer: `protocol`; may use nothing else of the crate (see `src/protocol/mod.rs`).

use super::body::{body_mode, is_reusable, BodyMode};
use super::chunked::Dechunker;
use super::error::{EofPhase, HttpError};
use super::request::Method;
use super::response::{skip_empty_lines, Limits, ResponseHead};

/// What [`Exchange::feed`] found in the bytes it consumed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part<'a> {
    /// The final (non-1xx) response head.
    Head(ResponseHead),
    /// Body bytes, already de-chunked: a slice of the input. Never empty.
    Body(&'a [u8]),
    /// The response is complete. `reusable`: the connection may carry the next request,
    /// provided the caller holds no unconsumed bytes.
    End {
        /// See [`crate::protocol::http::is_reusable`].
        reusable: bool,
    },
}

/// What an [`Exchange`] waits for, for traces and error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Awaiting {
    /// The status line and headers (interim 1xx responses included).
    Head,
    /// The body.
    Body,
    /// Nothing: the response is complete.
    Done,
    /// Nothing: the exchange failed and will only repeat its error.
    Failed,
}

impl std::fmt::Display for Awaiting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Awaiting::Head => "reading response head",
            Awaiting::Body => "reading response body",
            Awaiting::Done => "response complete",
            Awaiting::Failed => "response failed",
        })
    }
}

/// How the body in progress ends.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Decoder {
    /// Content-Length (or no body: 0). End is reported once `remaining` is 0.
    Length { remaining: u64 },
    /// Transfer-Encoding: chunked.
    Chunked(Dechunker),
    /// Until the peer closes.
    UntilClose,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// Waiting for a complete final head. The caller keeps the unconsumed bytes: `seen` is
    /// how many it last showed us, `scanned` how far we looked for line ends (we only run
    /// the parser again when a new line is complete). `interim`: the bytes of the 1xx
    /// heads consumed so far (0: none), counted against [`Limits::max_total_head_bytes`].
    AwaitingHead {
        seen: usize,
        scanned: usize,
        interim: usize,
    },
    /// Reading the body; `got` counts body bytes delivered.
    Body {
        decoder: Decoder,
        got: u64,
        reusable: bool,
    },
    /// End was reported.
    Done,
    /// An error was returned; it is returned again on any further call.
    Failed(HttpError),
}

/// The response side of one HTTP/1.1 request: fed bytes, it yields [`Part`]s.
#[derive(Debug, Clone)]
pub struct Exchange {
    method: Method,
    keep_alive_requested: bool,
    limits: Limits,
    mode: Option<BodyMode>,
    state: State,
}

impl Exchange {
    /// An exchange waiting for the response to a `method` request that was sent with
    /// (`keep_alive_requested`) or without (`Connection: close`) keep-alive.
    pub fn new(method: Method, keep_alive_requested: bool, limits: Limits) -> Exchange {
        Exchange {
            method,
            keep_alive_requested,
            limits,
            mode: None,
            state: State::AwaitingHead {
                seen: 0,
                scanned: 0,
                interim: 0,
            },
        }
    }

    /// The method of the request this exchange answers.
    pub fn method(&self) -> Method {
        self.method
    }

    /// Feed received bytes. Returns how many bytes of `input` were consumed and at most
    /// one event.
    ///
    /// `input` is the caller's buffer of unconsumed bytes: the bytes it kept from the last
    /// call, then whatever arrived since. `Ok((0, None))` means "need more bytes": nothing
    /// was consumed. `Ok((n, None))` with `n > 0` means framing was consumed (a 1xx interim
    /// response, chunk-size lines): drop those bytes and call again.
    ///
    /// After [`Part::Head`], call again even with no new bytes: a response without body
    /// reports [`Part::End`] at once. After [`Part::End`], nothing is consumed.
    /// While the head is incomplete, an `input` longer than
    /// [`Limits::max_head_bytes`] fails with [`HttpError::HeadTooLarge`]; heads (interim
    /// 1xx answers included) adding up to more than [`Limits::max_total_head_bytes`]
    /// fail with [`HttpError::HeadsTooLarge`].
    pub fn feed<'a>(&mut self, input: &'a [u8]) -> Result<(usize, Option<Part<'a>>), HttpError> {
        self.feed_reusing(input, &mut Vec::new())
    }

    /// [`Exchange::feed`], with a head's bytes copied into `storage`
    /// ([`ResponseHead::parse_reusing`]): give back the buffer of the last
    /// [`Part::Head`] ([`ResponseHead::into_storage`]) and the next head that fits in it
    /// costs no allocation. An interim 1xx head's buffer goes back into `storage` at once.
    pub fn feed_reusing<'a>(
        &mut self,
        input: &'a [u8],
        storage: &mut Vec<u8>,
    ) -> Result<(usize, Option<Part<'a>>), HttpError> {
        let result = match self.state {
            State::AwaitingHead { .. } => self.feed_head(input, storage),
            State::Body { .. } => self.feed_body(input),
            State::Done => Ok((0, None)),
            State::Failed(e) => Err(e),
        };
        if let Err(e) = result {
            self.state = State::Failed(e);
        }
        result
    }

    /// The peer closed the connection (read returned 0).
    ///
    /// Ends a close-delimited body (or one already complete) with `End { reusable: false }`.
    /// Anywhere else it is [`HttpError::UnexpectedEof`] naming the phase and the bytes
    /// received. After `End` it returns `Ok(None)`.
    pub fn feed_eof(&mut self) -> Result<Option<Part<'static>>, HttpError> {
        let error = |phase, got, expected| HttpError::UnexpectedEof {
            phase,
            got,
            expected,
        };
        let result = match &self.state {
            State::AwaitingHead {
                seen: 0,
                interim: 0,
                ..
            } => Err(error(EofPhase::BeforeResponse, 0, None)),
            State::AwaitingHead { seen, .. } => Err(error(EofPhase::Head, *seen as u64, None)),
            State::Body {
                decoder: Decoder::UntilClose | Decoder::Length { remaining: 0 },
                ..
            } => {
                self.state = State::Done;
                Ok(Some(Part::End { reusable: false }))
            }
            State::Body {
                decoder: Decoder::Length { remaining },
                got,
                ..
            } => Err(error(EofPhase::Body, *got, Some(got + remaining))),
            State::Body {
                decoder: Decoder::Chunked(_),
                got,
                ..
            } => Err(error(EofPhase::ChunkedBody, *got, None)),
            State::Done => Ok(None),
            State::Failed(e) => Err(*e),
        };
        if let Err(e) = result {
            self.state = State::Failed(e);
        }
        result
    }

    /// Has [`Part::End`] been reported?
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// True once any byte of the response has been consumed or shown to `feed`.
    ///
    /// For the stale keep-alive rule: EOF or reset on a reused socket before the first
    /// response byte means the server closed it while idle; resend on a fresh socket.
    pub fn has_response_bytes(&self) -> bool {
        !matches!(
            self.state,
            State::AwaitingHead {
                seen: 0,
                interim: 0,
                ..
            }
        )
    }

    /// Body bytes still to come, while reading a body of known length (Content-Length).
    /// An engine may move them itself, from socket to file (`splice(2)`), and report
    /// them with [`Exchange::body_moved`].
    pub fn body_remaining(&self) -> Option<u64> {
        match &self.state {
            State::Body {
                decoder: Decoder::Length { remaining },
                ..
            } => Some(*remaining),
            _ => None,
        }
    }

    /// `n` body bytes (at most [`Exchange::body_remaining`]) went from the socket to
    /// their destination without passing through [`Exchange::feed`]. Once none remain,
    /// the next `feed` (even of no bytes) reports [`Part::End`].
    pub fn body_moved(&mut self, n: u64) {
        if let State::Body {
            decoder: Decoder::Length { remaining },
            got,
            ..
        } = &mut self.state
        {
            let n = n.min(*remaining);
            *remaining -= n;
            *got += n;
        }
    }

    /// How the body is framed, once the final head is known.
    pub fn body_mode(&self) -> Option<BodyMode> {
        self.mode
    }

    /// What the exchange waits for.
    pub fn awaiting(&self) -> Awaiting {
        match self.state {
            State::AwaitingHead { .. } => Awaiting::Head,
            State::Body { .. } => Awaiting::Body,
            State::Done => Awaiting::Done,
            State::Failed(_) => Awaiting::Failed,
        }
    }

    fn feed_head<'a>(
        &mut self,
        input: &'a [u8],
        storage: &mut Vec<u8>,
    ) -> Result<(usize, Option<Part<'a>>), HttpError> {
        let State::AwaitingHead { seen, scanned, .. } = &mut self.state else {
            unreachable!("feed_head is only called while awaiting the head");
        };
        if input.len() < *seen {
            *scanned = 0; // The caller broke the contract and dropped bytes: start over.
        }
        *seen = input.len();
        // Everything is judged within the size limit, so the answer cannot depend on how
        // the bytes were split.
        let window = &input[..input.len().min(self.limits.max_head_bytes)];
        // Not even the start of "HTTP/": a TLS record, an SSH banner, garbage. Say so now
        // rather than at the size limit or EOF.
        let start = skip_empty_lines(window);
        let n = start.len().min(5);
        if start[..n] != b"HTTP/"[..n] {
            return Err(HttpError::Malformed(httparse::Error::Version));
        }
        // The common case: the whole head came in the first read. A complete head parses
        // the same however its bytes were split, and this skips looking for the last line
        // end through the body bytes that came with it. Only at the first look: later
        // reads take the line-by-line path, so a head trickled in byte by byte is not
        // parsed again from the start each time.
        if *scanned == 0 {
            if let Ok(Some((head, len))) =
                ResponseHead::parse_reusing(window, &self.limits, storage)
            {
                return self.on_head(head, len, storage);
            }
        }
        // Otherwise run the parser only when a new line is complete within the size limit:
        // a head ends with a line, and httparse judges lines whole, so the answer (an
        // error, or not yet) is the same however the bytes were split, and the work stays
        // linear in the lines received.
        let State::AwaitingHead { scanned, .. } = &mut self.state else {
            unreachable!("still awaiting the head");
        };
        let from = (*scanned).min(window.len());
        let line_end = window[from..]
            .iter()
            .rposition(|&b| b == b'\n')
            .map(|i| from + i + 1);
        *scanned = window.len();
        if let Some(end) = line_end {
            if let Some((head, len)) =
                ResponseHead::parse_reusing(&input[..end], &self.limits, storage)?
            {
                return self.on_head(head, len, storage);
            }
        }
        if input.len() > self.limits.max_head_bytes {
            return Err(HttpError::HeadTooLarge {
                limit: self.limits.max_head_bytes,
            });
        }
        Ok((0, None))
    }

    fn on_head<'a>(
        &mut self,
        head: ResponseHead,
        len: usize,
        storage: &mut Vec<u8>,
    ) -> Result<(usize, Option<Part<'a>>), HttpError> {
        let State::AwaitingHead { interim, .. } = self.state else {
            unreachable!("a head is only parsed while awaiting it");
        };
        // Judged when a head is complete: the total is then the same however the bytes
        // were split, and at most one head (`max_head_bytes`) past the limit was read.
        let total = interim.saturating_add(len);
        if total > self.limits.max_total_head_bytes {
            return Err(HttpError::HeadsTooLarge {
                limit: self.limits.max_total_head_bytes,
            });
        }
        match head.status {
            101 => return Err(HttpError::UnexpectedUpgrade),
            100..=199 => {
                // 100 Continue, 103 Early Hints, ...: a final response follows, into the
                // same buffer.
                *storage = head.into_storage();
                self.state = State::AwaitingHead {
                    seen: 0,
                    scanned: 0,
                    interim: total,
                };
                return Ok((len, None));
            }
            _ => {}
        }
        let mode = body_mode(self.method, &head)?;
        let reusable = is_reusable(self.keep_alive_requested, &head, mode);
        let decoder = match mode {
            BodyMode::None => Decoder::Length { remaining: 0 },
            BodyMode::Length(n) => Decoder::Length { remaining: n },
            BodyMode::Chunked => Decoder::Chunked(Dechunker::with_max_trailer_bytes(
                self.limits.max_trailer_bytes,
            )),
            BodyMode::CloseDelimited => Decoder::UntilClose,
        };
        self.mode = Some(mode);
        self.state = State::Body {
            decoder,
            got: 0,
            reusable,
        };
        Ok((len, Some(Part::Head(head))))
    }

    fn feed_body<'a>(&mut self, input: &'a [u8]) -> Result<(usize, Option<Part<'a>>), HttpError> {
        let State::Body {
            decoder,
            got,
            reusable,
        } = &mut self.state
        else {
            unreachable!("feed_body is only called while reading the body");
        };
        let reusable = *reusable;
        let (used, data) = match decoder {
            Decoder::Length { remaining: 0 } => {
                self.state = State::Done;
                return Ok((0, Some(Part::End { reusable })));
            }
            Decoder::Length { remaining } => {
                let take = usize::try_from(*remaining)
                    .unwrap_or(usize::MAX)
                    .min(input.len());
                *remaining -= take as u64;
                (take, &input[..take])
            }
            Decoder::UntilClose => (input.len(), input),
            Decoder::Chunked(dechunker) => match dechunker.decode(input)? {
                (used, Some(data)) => (used, data),
                (used, None) if dechunker.is_ended() => {
                    self.state = State::Done;
                    return Ok((used, Some(Part::End { reusable })));
                }
                (used, None) => return Ok((used, None)),
            },
        };
        *got += data.len() as u64;
        Ok((used, (!data.is_empty()).then_some(Part::Body(data))))
    }
}
