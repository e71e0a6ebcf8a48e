//! The chunked transfer coding, decoded byte by byte without buffering.
//!
//! Read with: RFC 9112 §7.1 (chunked transfer coding), §7.1.1 (extensions, ignored here),
//! §7.1.2 (trailers, read and discarded), §2.2 (a bare LF may end a line).
//!
//! ```text
//!          ┌──LF── DataLf ◄──CR── DataCr ◄────────────────────┐
//!          ▼                                                   │ all n bytes read
//!  new ──► Size ──SP──► SizeWs ──;──► Extension                │
//!          │ CR          │ CR           │ CR                   │
//!          └──────────►  SizeLf  ◄──────┘ ── LF, size n > 0 ──► Data(n)
//!                          │ LF, size 0
//!                          ▼
//!                     TrailerStart ──text──► Trailer ──CR──► TrailerLf ──LF──┐
//!                      │ CR    ▲                                             │
//!                      ▼       └─────────────────────────────────────────────┘
//!                     EndLf ──LF──► Ended
//! ```
//!
//! A bare LF is accepted wherever CRLF is expected (it skips the `...Lf` state).
//!
//! The decoder follows httparse's contract: it consumes what it can, hands back chunk data
//! as slices borrowed from the input (zero copies), and never allocates. Its only memory
//! is the state below, so a line longer than [`MAX_LINE`] is an error rather than a buffer,
//! and so is a trailer section longer than [`MAX_TRAILER_BYTES`]: the trailer states count
//! its bytes (a counter past the last chunk, nothing on the data path). The exchange sets
//! that bound from [`crate::protocol::http::Limits::max_trailer_bytes`].
//!
//! Layer: `protocol`; may use nothing else of the crate (see `src/protocol/mod.rs`).

use super::error::ChunkError;

/// Longest chunk-size line (size and extensions) or trailer line accepted, in bytes.
pub const MAX_LINE: usize = 4096;

/// Largest trailer section accepted by default (every trailer line, line ends included,
/// the final empty line not), in bytes. Trailers are discarded, so this only bounds how
/// long a server can keep the exchange reading after the last chunk.
pub const MAX_TRAILER_BYTES: usize = 64 * 1024;

/// Where the decoder stands, named for what it expects next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Hex digits of a chunk size; `digits` counts them (leading zeros included).
    Size { size: u64, digits: usize },
    /// Whitespace after the size, before `;`, CR or LF.
    SizeWs { size: u64, line: usize },
    /// A chunk extension: skipped up to the end of the line.
    Extension { size: u64, line: usize },
    /// The LF that ends a chunk-size line.
    SizeLf { size: u64 },
    /// Chunk data, this many bytes still to come.
    Data { remaining: u64 },
    /// The CR after chunk data.
    DataCr,
    /// The LF after chunk data.
    DataLf,
    /// The first byte of a trailer line, or of the final empty line; `total` trailer
    /// bytes so far.
    TrailerStart { total: usize },
    /// Inside a trailer field line, `line` bytes long so far.
    Trailer { line: usize, total: usize },
    /// The LF that ends a trailer line.
    TrailerLf { total: usize },
    /// The LF of the final empty line.
    EndLf,
    /// The body is complete; later bytes belong to someone else.
    Ended,
}

/// A decoder for one chunked body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dechunker {
    state: State,
    max_trailer_bytes: usize,
}

impl Default for Dechunker {
    fn default() -> Self {
        Dechunker::new()
    }
}

impl Dechunker {
    /// A decoder at the start of a chunked body, accepting [`MAX_TRAILER_BYTES`] of
    /// trailers.
    pub fn new() -> Dechunker {
        Dechunker::with_max_trailer_bytes(MAX_TRAILER_BYTES)
    }

    /// A decoder at the start of a chunked body, accepting a trailer section of at most
    /// `limit` bytes ([`ChunkError::TrailersTooLong`] beyond).
    pub fn with_max_trailer_bytes(limit: usize) -> Dechunker {
        Dechunker {
            state: State::Size { size: 0, digits: 0 },
            max_trailer_bytes: limit,
        }
    }

    /// Has the last chunk and the trailer section been read?
    pub fn is_ended(&self) -> bool {
        self.state == State::Ended
    }

    /// Consumes framing bytes from `input` until it reaches chunk data, the end of the
    /// input, or the end of the body.
    ///
    /// Returns how many bytes were consumed and, if it got that far, the chunk data that
    /// ends the consumed bytes (a slice of `input`). Call again with the rest of the input
    /// until it consumes nothing. Once [`Dechunker::is_ended`], nothing more is consumed.
    pub fn decode<'a>(&mut self, input: &'a [u8]) -> Result<(usize, Option<&'a [u8]>), ChunkError> {
        let mut pos = 0;
        while pos < input.len() {
            if let State::Data { remaining } = self.state {
                let take = usize::try_from(remaining)
                    .unwrap_or(usize::MAX)
                    .min(input.len() - pos);
                let remaining = remaining - take as u64;
                self.state = if remaining == 0 {
                    State::DataCr
                } else {
                    State::Data { remaining }
                };
                return Ok((pos + take, Some(&input[pos..pos + take])));
            }
            if self.state == State::Ended {
                break;
            }
            self.state = step(self.state, input[pos], self.max_trailer_bytes)?;
            pos += 1;
        }
        Ok((pos, None))
    }
}

/// One framing byte: the transition table of the diagram above.
/// `max_trailer_bytes` bounds the trailer section.
fn step(state: State, byte: u8, max_trailer_bytes: usize) -> Result<State, ChunkError> {
    use State::*;
    let too_long = |line: usize| {
        if line > MAX_LINE {
            Err(ChunkError::LineTooLong { limit: MAX_LINE })
        } else {
            Ok(())
        }
    };
    // One more byte of the trailer section, which had `total`.
    let trailer_byte = |total: usize| {
        if total >= max_trailer_bytes {
            Err(ChunkError::TrailersTooLong {
                limit: max_trailer_bytes,
            })
        } else {
            Ok(total + 1)
        }
    };
    // After a complete size line: data, or the trailer section for the last chunk.
    let size_done = |size: u64| {
        if size == 0 {
            TrailerStart { total: 0 }
        } else {
            Data { remaining: size }
        }
    };
    Ok(match (state, byte) {
        // A hex digit extends the size, with an overflow check.
        (Size { size, digits }, b) if b.is_ascii_hexdigit() => {
            too_long(digits + 1)?;
            let d = u64::from((b as char).to_digit(16).unwrap_or(0));
            let size = size.checked_mul(16).and_then(|s| s.checked_add(d));
            Size {
                size: size.ok_or(ChunkError::SizeOverflow)?,
                digits: digits + 1,
            }
        }
        // Anything else needs at least one digit before it.
        (Size { digits: 0, .. }, _) => return Err(ChunkError::InvalidSize),
        (Size { size, digits }, b' ' | b'\t') => SizeWs {
            size,
            line: digits + 1,
        },
        (Size { size, digits }, b';') => Extension {
            size,
            line: digits + 1,
        },
        (Size { size, .. }, b'\r') => SizeLf { size },
        (Size { size, .. }, b'\n') => size_done(size),
        (Size { .. }, _) => return Err(ChunkError::InvalidSize),
        // Bad whitespace before an extension (RFC 9112 §7.1.1 BWS).
        (SizeWs { size, line }, b' ' | b'\t') => {
            too_long(line + 1)?;
            SizeWs {
                size,
                line: line + 1,
            }
        }
        (SizeWs { size, line }, b';') => Extension {
            size,
            line: line + 1,
        },
        (SizeWs { size, .. }, b'\r') => SizeLf { size },
        (SizeWs { size, .. }, b'\n') => size_done(size),
        (SizeWs { .. }, _) => return Err(ChunkError::InvalidSize),
        // Extensions are ignored, but not without bound.
        (Extension { size, .. }, b'\r') => SizeLf { size },
        (Extension { size, .. }, b'\n') => size_done(size),
        (Extension { size, line }, _) => {
            too_long(line + 1)?;
            Extension {
                size,
                line: line + 1,
            }
        }
        (SizeLf { size }, b'\n') => size_done(size),
        // Chunk data is followed by CRLF (or a bare LF).
        (DataCr, b'\r') => DataLf,
        (DataCr | DataLf, b'\n') => Size { size: 0, digits: 0 },
        // Trailer fields: read and discarded, line by line, counted. An empty line ends
        // the body.
        (TrailerStart { .. }, b'\r') => EndLf,
        (TrailerStart { .. } | EndLf, b'\n') => Ended,
        (TrailerStart { total }, _) => Trailer {
            line: 1,
            total: trailer_byte(total)?,
        },
        (Trailer { total, .. }, b'\r') => TrailerLf {
            total: trailer_byte(total)?,
        },
        (Trailer { total, .. } | TrailerLf { total }, b'\n') => TrailerStart {
            total: trailer_byte(total)?,
        },
        (Trailer { line, total }, _) => {
            too_long(line + 1)?;
            Trailer {
                line: line + 1,
                total: trailer_byte(total)?,
            }
        }
        (SizeLf { .. } | DataCr | DataLf | TrailerLf { .. } | EndLf, _) => {
            return Err(ChunkError::MissingLineFeed)
        }
        // `decode` handles these two without calling `step`.
        (Data { .. } | Ended, _) => state,
    })
}
