//! The caller's side of an exchange, for tests: the buffer discipline the reactor uses
//! (keep the unconsumed bytes, append the next piece), and ways to cut bytes into pieces.
//!
//! Layer: `protocol`; may use nothing else of the crate (see `src/protocol/mod.rs`).

use crate::protocol::http::{
    Awaiting, BodyMode, Exchange, HttpError, Limits, Method, Part, ResponseHead,
};

/// Everything a caller learns from one exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Outcome {
    pub(super) head: Option<ResponseHead>,
    pub(super) mode: Option<BodyMode>,
    pub(super) body: Vec<u8>,
    /// `Ok(Some(reusable))` after End, `Ok(None)` while still waiting, or the error.
    pub(super) end: Result<Option<bool>, HttpError>,
    /// Bytes the exchange left in the caller's buffer (empty after an error).
    pub(super) leftover: Vec<u8>,
}

impl Outcome {
    /// Nothing learned yet.
    pub(super) fn new() -> Outcome {
        Outcome {
            head: None,
            mode: None,
            body: vec![],
            end: Ok(None),
            leftover: vec![],
        }
    }
}

/// Runs the caller's loop until the exchange wants more bytes; true once it has ended.
pub(super) fn feed_buffered(ex: &mut Exchange, buf: &mut Vec<u8>, out: &mut Outcome) -> bool {
    feed_buffered_reusing(ex, buf, out, &mut Vec::new())
}

/// [`feed_buffered`] as the engines feed: heads parsed into `storage`, and each head's
/// buffer given back to it (the head kept is a copy).
fn feed_buffered_reusing(
    ex: &mut Exchange,
    buf: &mut Vec<u8>,
    out: &mut Outcome,
    storage: &mut Vec<u8>,
) -> bool {
    for _ in 0..10_000 {
        let (used, event) = match ex.feed_reusing(buf, storage) {
            Ok(r) => r,
            Err(e) => {
                assert_eq!(
                    ex.feed(b"more"),
                    Err(e),
                    "a failed exchange repeats its error"
                );
                assert_eq!(ex.awaiting(), Awaiting::Failed);
                out.end = Err(e);
                return true;
            }
        };
        assert!(used <= buf.len());
        let mut ended = false;
        match event {
            None if used == 0 => return false,
            None => {}
            Some(Part::Head(head)) => {
                assert!(out.head.is_none(), "one head per exchange");
                assert!(ex.body_mode().is_some());
                out.head = Some(head.clone());
                *storage = head.into_storage();
            }
            Some(Part::Body(data)) => {
                assert!(!data.is_empty(), "body events are never empty");
                assert!(out.head.is_some(), "body before head");
                out.body.extend_from_slice(data);
            }
            Some(Part::End { reusable }) => {
                assert!(ex.is_done() && ex.awaiting() == Awaiting::Done);
                out.end = Ok(Some(reusable));
                ended = true;
            }
        }
        buf.drain(..used);
        if ended {
            assert_eq!(ex.feed(buf), Ok((0, None)), "nothing is consumed after End");
            return true;
        }
    }
    panic!("exchange never settled");
}

/// Feeds `pieces` one after another, then EOF if `eof`.
pub(super) fn run<'p>(
    method: Method,
    keep_alive: bool,
    limits: Limits,
    pieces: impl IntoIterator<Item = &'p [u8]>,
    eof: bool,
) -> Outcome {
    run_reusing(method, keep_alive, limits, pieces, eof, &mut Vec::new())
}

/// [`run`], heads parsed into `storage` (see [`feed_buffered_reusing`]).
fn run_reusing<'p>(
    method: Method,
    keep_alive: bool,
    limits: Limits,
    pieces: impl IntoIterator<Item = &'p [u8]>,
    eof: bool,
    storage: &mut Vec<u8>,
) -> Outcome {
    let mut ex = Exchange::new(method, keep_alive, limits);
    assert!(!ex.has_response_bytes());
    let mut out = Outcome::new();
    let mut buf = Vec::new();
    let mut stopped = false;
    for piece in pieces {
        buf.extend_from_slice(piece);
        if !stopped {
            stopped = feed_buffered_reusing(&mut ex, &mut buf, &mut out, storage);
        }
    }
    if !stopped && eof {
        match ex.feed_eof() {
            Ok(Some(Part::End { reusable })) => out.end = Ok(Some(reusable)),
            Ok(other) => panic!("feed_eof returned {other:?}"),
            Err(e) => out.end = Err(e),
        }
    }
    out.mode = ex.body_mode();
    if out.end.is_err() {
        buf.clear();
    } else {
        out.leftover = buf;
    }
    out
}

/// Feeds `bytes` whole, split in two at every position, and byte by byte; all must agree.
/// The split runs parse their heads into one buffer reused from run to run, as the
/// engines do from answer to answer, holding the bytes of the head before (or, at first,
/// a few unrelated bytes): what it held must never show.
pub(super) fn run_all_splits(
    method: Method,
    keep_alive: bool,
    limits: Limits,
    bytes: &[u8],
    eof: bool,
) -> Outcome {
    let whole = run(method, keep_alive, limits, [bytes], eof);
    let mut storage = b"HTTP/1.1 599 Stale\r\nX: y\r\n\r\n".to_vec();
    for i in 0..=bytes.len() {
        let pieces = [&bytes[..i], &bytes[i..]];
        let split = run_reusing(method, keep_alive, limits, pieces, eof, &mut storage);
        assert_eq!(split, whole, "split at {i} differs from whole");
    }
    let chunks = bytes.chunks(1);
    let bytewise = run_reusing(method, keep_alive, limits, chunks, eof, &mut storage);
    assert_eq!(bytewise, whole, "byte-at-a-time differs from whole");
    whole
}

/// A small deterministic generator (xorshift64*), so "random" tests replay exactly.
pub(super) struct Rng(pub(super) u64);

impl Rng {
    pub(super) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub(super) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Random cut points: `bytes` in pieces of random sizes (empty pieces included).
pub(super) fn random_pieces<'b>(rng: &mut Rng, bytes: &'b [u8]) -> Vec<&'b [u8]> {
    let mut pieces = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let n = rng.below(rest.len().min(12) + 1);
        pieces.push(&rest[..n]);
        rest = &rest[n..];
    }
    pieces
}
