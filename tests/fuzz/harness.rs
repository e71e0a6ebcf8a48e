//! The bodies of the fuzz targets, shared with `tests/properties.rs`.
//!
//! Each `fuzz_*` function takes arbitrary bytes and panics when an invariant breaks. The
//! cargo-fuzz targets in `fuzz_targets/` call them, and `tests/properties.rs` replays the
//! committed corpora (`corpus/<target>/`) through the very same functions, so whatever
//! the fuzzer found stays a regression test in `cargo test`. Both crates include this
//! file with `#[path]`, so it may use only `miodl` and two of its dependencies,
//! `httparse` and `serde_json`.
//!
//! How an input is read (the first bytes steer, the rest is the payload):
//!
//! ```text
//!  response: [ctrl][limits: 2 bytes if ctrl & 0x10][cut sizes: ctrl & 0x0f bytes] response bytes
//!            ctrl & 0x20: no EOF at the end, 0x40: HEAD instead of GET, 0x80: no keep-alive
//!  chunked:  [n][cut sizes: n & 0x0f bytes] bytes  (decoded as they are, and encoded validly)
//!  pager:    [per_page][lookahead][start] then pages separated by 0x00 (never in valid JSON):
//!            [ctrl] body   ctrl picks the outstanding page, the More header, or a failure
//! ```
#![allow(dead_code)]

use std::collections::HashSet;

use miodl::policy::names::{safe_id_file_name, UnsafeReason};
use miodl::protocol::http::{
    Awaiting, BodyMode, Dechunker, Exchange, HttpError, Limits, Method, Part,
};
use miodl::protocol::http::{ChunkError, ResponseHead};
use miodl::protocol::pager::{check_id, MorePager, PageError};

// ---------------------------------------------------------------------------------------
// Cutting input into pieces.

/// Reads `count` cut sizes from the front of `data`; returns them and the rest.
fn take_cuts(data: &[u8], count: usize) -> (&[u8], &[u8]) {
    let count = count.min(data.len());
    data.split_at(count)
}

/// `bytes` cut into pieces of the given sizes (0 means an empty piece), the rest last.
pub fn pieces<'b>(bytes: &'b [u8], cuts: &[u8]) -> Vec<&'b [u8]> {
    let mut out = Vec::with_capacity(cuts.len() + 1);
    let mut rest = bytes;
    for &cut in cuts {
        let n = usize::from(cut).min(rest.len());
        out.push(&rest[..n]);
        rest = &rest[n..];
    }
    out.push(rest);
    out
}

// ---------------------------------------------------------------------------------------
// The response side of an exchange.

/// Everything a caller learns from one exchange; equal however the bytes were cut.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The final head, if one arrived.
    pub head: Option<ResponseHead>,
    /// The framing, once the head is known.
    pub mode: Option<BodyMode>,
    /// The de-chunked body bytes.
    pub body: Vec<u8>,
    /// `Ok(Some(reusable))` after End, `Ok(None)` while still waiting, or the error.
    pub end: Result<Option<bool>, HttpError>,
    /// Bytes left in the caller's buffer after End (empty after an error).
    pub leftover: Vec<u8>,
}

/// One caller: the buffer discipline of the reactor (keep what was not consumed, append
/// what arrives), with every invariant checked on the way.
struct Caller {
    ex: Exchange,
    keep_alive: bool,
    limits: Limits,
    buf: Vec<u8>,
    out: Outcome,
    stopped: bool,
}

impl Caller {
    fn new(method: Method, keep_alive: bool, limits: Limits) -> Caller {
        let ex = Exchange::new(method, keep_alive, limits);
        assert!(!ex.has_response_bytes());
        Caller {
            ex,
            keep_alive,
            limits,
            buf: Vec::new(),
            out: Outcome {
                head: None,
                mode: None,
                body: Vec::new(),
                end: Ok(None),
                leftover: Vec::new(),
            },
            stopped: false,
        }
    }

    /// A piece arrived from the socket.
    fn arrive(&mut self, piece: &[u8]) {
        if self.ex.awaiting() == Awaiting::Head {
            // Memory stays bounded: while the head is incomplete, the exchange fails
            // before the caller holds more than the head limit (plus what just arrived).
            assert!(
                self.buf.len() <= self.limits.max_head_bytes,
                "caller holds {} bytes awaiting a head (limit {})",
                self.buf.len(),
                self.limits.max_head_bytes
            );
        }
        self.buf.extend_from_slice(piece);
        if !self.stopped {
            self.stopped = self.pump();
        }
    }

    /// The caller's loop, until the exchange wants more bytes; true once it is over.
    fn pump(&mut self) -> bool {
        // Every turn consumes a byte or reports Head (which consumes) or End (the last):
        // more turns than bytes would be a loop that never settles.
        let bound = self.buf.len() + 2;
        for _ in 0..bound {
            let (used, event) = match self.ex.feed(&self.buf) {
                Ok(r) => r,
                Err(e) => {
                    assert_eq!(self.ex.feed(b"x"), Err(e), "a failure repeats itself");
                    assert_eq!(self.ex.feed_eof(), Err(e), "a failure repeats itself");
                    assert_eq!(self.ex.awaiting(), Awaiting::Failed);
                    self.out.end = Err(e);
                    return true;
                }
            };
            assert!(used <= self.buf.len(), "consumed more than it was given");
            if used > 0 || !self.buf.is_empty() {
                assert!(self.ex.has_response_bytes());
            }
            let mut ended = false;
            match event {
                None if used == 0 => return false,
                None => assert!(self.out.head.is_none() || self.out.mode.is_some()),
                Some(Part::Head(head)) => {
                    assert!(self.out.head.is_none(), "one final head per exchange");
                    assert!(used > 0, "a head takes bytes");
                    assert!(head.status >= 200, "1xx heads are not final");
                    assert!(used <= self.limits.max_head_bytes, "head over the limit");
                    self.out.mode = self.ex.body_mode();
                    assert!(
                        self.out.mode.is_some(),
                        "the framing is known with the head"
                    );
                    self.out.head = Some(head);
                }
                Some(Part::Body(data)) => {
                    assert!(!data.is_empty(), "body events are never empty");
                    assert!(self.out.head.is_some(), "body before head");
                    self.out.body.extend_from_slice(data);
                    self.check_length(false);
                }
                Some(Part::End { reusable }) => {
                    self.on_end(reusable);
                    ended = true;
                }
            }
            self.buf.drain(..used);
            if ended {
                assert_eq!(self.ex.feed(&self.buf), Ok((0, None)), "nothing after End");
                return true;
            }
        }
        panic!("the exchange never settled on {} bytes", self.buf.len());
    }

    fn on_end(&mut self, reusable: bool) {
        assert!(self.ex.is_done() && self.ex.awaiting() == Awaiting::Done);
        assert!(self.out.head.is_some(), "End before head");
        self.check_length(true);
        if reusable {
            assert!(self.keep_alive, "reusable though the request said close");
            assert_ne!(self.out.mode, Some(BodyMode::CloseDelimited));
        }
        self.out.end = Ok(Some(reusable));
    }

    /// The body never exceeds its framing, and is whole at End.
    fn check_length(&self, at_end: bool) {
        let got = self.out.body.len() as u64;
        match self.out.mode {
            Some(BodyMode::None) => assert_eq!(got, 0, "a body where none is allowed"),
            Some(BodyMode::Length(n)) if at_end => assert_eq!(got, n),
            Some(BodyMode::Length(n)) => assert!(got <= n, "{got} bytes > length {n}"),
            _ => {}
        }
    }

    /// The peer closed; returns the outcome.
    fn finish(mut self, eof: bool) -> Outcome {
        if !self.stopped && eof {
            let in_body = self.ex.awaiting() == Awaiting::Body;
            match self.ex.feed_eof() {
                Ok(Some(Part::End { reusable })) => {
                    assert!(in_body && !reusable, "EOF ends a body, never reusable");
                    self.on_end(reusable);
                }
                Ok(other) => panic!("feed_eof returned {other:?}"),
                Err(e) => {
                    assert_eq!(self.ex.feed_eof(), Err(e), "a failure repeats itself");
                    self.out.end = Err(e);
                }
            }
            assert!(matches!(
                self.ex.awaiting(),
                Awaiting::Done | Awaiting::Failed
            ));
        }
        if self.out.end.is_err() {
            self.buf.clear();
        }
        self.out.leftover = self.buf;
        self.out
    }
}

/// Feeds `pieces` one after another through a checked caller, then EOF if `eof`.
pub fn exchange<'p>(
    method: Method,
    keep_alive: bool,
    limits: Limits,
    pieces: impl IntoIterator<Item = &'p [u8]>,
    eof: bool,
) -> Outcome {
    let mut caller = Caller::new(method, keep_alive, limits);
    for piece in pieces {
        caller.arrive(piece);
    }
    caller.finish(eof)
}

/// The `response` target: arbitrary bytes as a server's answer, cut where the first
/// bytes say; must not panic or loop, must stay bounded, and must not depend on the cuts.
pub fn fuzz_response(data: &[u8]) -> Outcome {
    let Some((&ctrl, rest)) = data.split_first() else {
        return exchange(Method::Get, true, Limits::default(), [], true);
    };
    let (limits, rest) = match rest {
        [a, b, rest @ ..] if ctrl & 0x10 != 0 => (
            Limits {
                max_head_bytes: 16 + usize::from(*a) * 4,
                max_headers: usize::from(*b % 16),
                ..Limits::default()
            },
            rest,
        ),
        _ => (Limits::default(), rest),
    };
    let (cuts, bytes) = take_cuts(rest, usize::from(ctrl & 0x0f));
    let eof = ctrl & 0x20 == 0;
    let method = if ctrl & 0x40 == 0 {
        Method::Get
    } else {
        Method::Head
    };
    let keep_alive = ctrl & 0x80 == 0;
    let split = exchange(method, keep_alive, limits, pieces(bytes, cuts), eof);
    let whole = exchange(method, keep_alive, limits, [bytes], eof);
    assert_eq!(
        relaxed(split),
        relaxed(whole.clone()),
        "the outcome depends on where the bytes were cut"
    );
    whole
}

/// `out` with the known cut-dependence forgotten: *which* error refuses a head. Before
/// any head, `Exchange::feed_head` checks for `HTTP/` after skipping every CR and LF of
/// the *whole* buffer (not just the `max_head_bytes` window), while httparse accepts only
/// CRLF or LF as an empty line and the size limit is checked last. So, cut differently:
/// - `"\r\r\nX"` whole is `Malformed(Version)` (garbage `X` seen first), but `"\r\r\n"`
///   then `"X"` is `Malformed(NewLine)` (httparse sees the lone CR);
/// - 20 LFs then `z`, limit 16: whole is `Malformed(Version)` (it looks past the limit),
///   cut after 10 and 20 bytes it is `HeadTooLarge` (the limit is passed before `z`).
///
/// Refused either way; `tests/properties.rs` keeps the strict checks as ignored tests.
pub fn relaxed(mut out: Outcome) -> Outcome {
    use HttpError::*;
    if out.head.is_none()
        && matches!(
            out.end,
            Err(Malformed(_) | HeadTooLarge { .. } | TooManyHeaders { .. } | UnsupportedVersion)
        )
    {
        out.end = Err(Malformed(httparse::Error::Version));
    }
    out
}

// ---------------------------------------------------------------------------------------
// The chunked decoder.

/// What a caller of a [`Dechunker`] gets: the data, and whether the body ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dechunked {
    /// The decoded data.
    pub data: Vec<u8>,
    /// `Ok(true)` once the last chunk and trailers were read, or the error.
    pub end: Result<bool, ChunkError>,
    /// Bytes not consumed after the end (empty after an error).
    pub leftover: Vec<u8>,
}

/// Feeds `pieces` through a [`Dechunker`] with the keep-the-rest buffer discipline.
pub fn dechunk<'p>(pieces: impl IntoIterator<Item = &'p [u8]>) -> Dechunked {
    let mut d = Dechunker::new();
    let mut buf = Vec::new();
    let mut out = Dechunked {
        data: Vec::new(),
        end: Ok(false),
        leftover: Vec::new(),
    };
    'pieces: for piece in pieces {
        buf.extend_from_slice(piece);
        if out.end != Ok(false) {
            continue;
        }
        // Every turn consumes at least one byte, or it is the last.
        for _ in 0..buf.len() + 1 {
            match d.decode(&buf) {
                Err(e) => {
                    out.end = Err(e);
                    continue 'pieces;
                }
                Ok((used, data)) => {
                    assert!(used <= buf.len());
                    if let Some(data) = data {
                        assert!(!data.is_empty() || used == 0, "empty chunk data");
                        out.data.extend_from_slice(data);
                    }
                    buf.drain(..used);
                    if d.is_ended() {
                        assert_eq!(d.decode(&buf), Ok((0, None)), "nothing after the end");
                        out.end = Ok(true);
                        continue 'pieces;
                    }
                    if used == 0 {
                        continue 'pieces;
                    }
                }
            }
        }
        panic!("the dechunker never settled on {} bytes", buf.len());
    }
    if out.end.is_ok() {
        out.leftover = buf;
    }
    out
}

/// A deterministic generator (xorshift64*), so every "random" choice replays exactly.
pub struct Rng(pub u64);

impl Rng {
    /// A generator seeded from `bytes` (FNV-1a), never stuck at zero.
    pub fn from_bytes(bytes: &[u8]) -> Rng {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
        Rng(h | 1)
    }
    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    /// True with probability 1 / `n`.
    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }
}

/// A valid chunked encoding of `data`: random chunk sizes, hex case and leading zeros,
/// whitespace and extensions after sizes, bare LF line ends, trailer fields.
pub fn encode_chunked(rng: &mut Rng, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let eol = |rng: &mut Rng, out: &mut Vec<u8>| {
        let end: &[u8] = if rng.one_in(4) { b"\n" } else { b"\r\n" };
        out.extend_from_slice(end);
    };
    let size_line = |rng: &mut Rng, out: &mut Vec<u8>, n: usize| {
        let zeros = if rng.one_in(4) { rng.below(4) } else { 0 };
        out.extend(std::iter::repeat_n(b'0', zeros));
        let hex = if rng.one_in(2) {
            format!("{n:x}")
        } else {
            format!("{n:X}")
        };
        out.extend_from_slice(hex.as_bytes());
        if rng.one_in(4) {
            out.extend_from_slice(&b" \t "[..1 + rng.below(3)]);
        }
        for _ in 0..rng.below(3) {
            let ext: &[u8] =
                [&b";a=b"[..], b";name=\"q;uo\\\"ted\"", b";x", b"; y = 1"][rng.below(4)];
            out.extend_from_slice(ext);
        }
        eol(rng, out);
    };
    let mut rest = data;
    while !rest.is_empty() {
        let n = match rng.below(4) {
            0 => 1,
            1 => 1 + rng.below(16),
            _ => 1 + rng.below(rest.len()),
        }
        .min(rest.len());
        size_line(rng, &mut out, n);
        out.extend_from_slice(&rest[..n]);
        eol(rng, &mut out);
        rest = &rest[n..];
    }
    size_line(rng, &mut out, 0);
    for _ in 0..rng.below(3) {
        let field: &[u8] = [&b"Expires: never"[..], b"X-Sum:  1, 2", b"a:"][rng.below(3)];
        out.extend_from_slice(field);
        eol(rng, &mut out);
    }
    eol(rng, &mut out);
    out
}

/// The `chunked` target: arbitrary bytes decode the same however they are cut, and a
/// valid encoding of the input decodes back to the input.
pub fn fuzz_chunked(data: &[u8]) {
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let (cuts, bytes) = take_cuts(rest, usize::from(n & 0x0f));
    let whole = dechunk([bytes]);
    assert_eq!(dechunk(pieces(bytes, cuts)), whole, "depends on the cuts");

    let mut rng = Rng::from_bytes(data);
    let mut encoded = encode_chunked(&mut rng, bytes);
    let body_len = encoded.len();
    // What follows the body belongs to the next response: it must be left alone.
    encoded.extend_from_slice(&cuts[..cuts.len().min(3)]);
    let expected = Dechunked {
        data: bytes.to_vec(),
        end: Ok(true),
        leftover: encoded[body_len..].to_vec(),
    };
    assert_eq!(dechunk([&encoded[..]]), expected, "{encoded:?}");
    assert_eq!(dechunk(pieces(&encoded, cuts)), expected, "{encoded:?}");
    if encoded.len() <= 512 {
        assert_eq!(dechunk(encoded.chunks(1)), expected, "{encoded:?}");
    }
}

// ---------------------------------------------------------------------------------------
// The pager.

/// What the `pager` target saw, for tests that look closer than "no panic".
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PagerRun {
    /// Ids handed out, in order.
    pub ids: Vec<String>,
    /// Ids handed out that [`safe_id_file_name`] refuses for a leading dot (see the
    /// report: the pager's `check_id` allows them, the feed's last check drops them).
    pub leading_dot: Vec<String>,
    /// Pages answered with a usable body.
    pub pages: u64,
}

/// The `pager` target: arbitrary page bodies, answered in an arbitrary order with an
/// arbitrary `More`; no panic, and every id handed out is safe and handed out once.
pub fn fuzz_pager(data: &[u8]) -> PagerRun {
    let (head, rest) = data.split_at(data.len().min(3));
    let byte = |i: usize| head.get(i).copied().unwrap_or(0);
    let lookahead = u32::from(byte(1) % 4);
    let mut pager = MorePager::new(u64::from(byte(2)), u32::from(byte(0) % 12), lookahead);
    let mut run = PagerRun::default();
    let mut seen = HashSet::new();
    let mut outstanding = Vec::new();
    for segment in rest.split(|&b| b == 0) {
        while let Some(req) = pager.next_request() {
            assert!(req.per_page >= 1, "a page of nothing: {req:?}");
            assert!(!outstanding.contains(&req), "asked twice at once: {req:?}");
            outstanding.push(req);
            assert!(
                outstanding.len() <= 1 + lookahead as usize,
                "too many pages out"
            );
        }
        if outstanding.is_empty() {
            assert!(
                pager.is_done(),
                "nothing to ask and nothing out, but not done"
            );
            break;
        }
        let (ctrl, body) = segment.split_first().unwrap_or((&0, &[]));
        let req = outstanding.swap_remove(usize::from(*ctrl) % outstanding.len());
        let more = [None, Some(true), Some(false)][usize::from(ctrl >> 4) % 3];
        if ctrl >> 4 == 0x0f {
            pager.on_page_failed(req);
            continue;
        }
        match pager.on_page(req, body, more) {
            Ok(outcome) => {
                run.pages += 1;
                let entries = count_entries(body).expect("a page the pager read is json");
                let accounted =
                    outcome.new_ids.len() + outcome.rejected.len() + outcome.duplicates as usize;
                assert_eq!(
                    accounted, entries,
                    "every entry is an id, rejected or a dup"
                );
                for id in outcome.new_ids {
                    assert_eq!(check_id(&id), Ok(()), "unsafe id handed out: {id:?}");
                    match safe_id_file_name(&id) {
                        Ok(_) => {}
                        Err(e) if e.reason == UnsafeReason::LeadingDot => {
                            run.leading_dot.push(id.clone())
                        }
                        Err(e) => panic!("id {id:?} is not a safe file name: {e}"),
                    }
                    assert!(seen.insert(id.clone()), "id handed out twice: {id:?}");
                    run.ids.push(id);
                }
            }
            Err(PageError::NotOutstanding(r)) => panic!("{r:?} was outstanding"),
            // A good page, the third in a row without a new id: read, and the listing ends.
            Err(PageError::NoNewIds { .. }) => {
                assert!(count_entries(body).is_some(), "a bad page read");
                run.pages += 1;
            }
            Err(_) => assert!(count_entries(body).is_none(), "a good page refused"),
        }
    }
    let stats = pager.stats();
    assert_eq!(stats.ids, run.ids.len() as u64);
    assert_eq!(stats.pages_answered, run.pages);
    if pager.is_done() {
        assert_eq!(pager.next_request(), None, "done, yet asking");
    }
    run
}

/// The number of entries in a page's `urls` array, or `None` if the pager must refuse it.
fn count_entries(body: &[u8]) -> Option<usize> {
    let doc: serde_json::Value = serde_json::from_slice(body).ok()?;
    Some(doc.get("urls")?.as_array()?.len())
}
