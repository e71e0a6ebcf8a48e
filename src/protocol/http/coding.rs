//! Content codings (`--compressed`): a body sent `Content-Encoding: gzip` or `deflate`,
//! decoded as it arrives, into a caller's buffer, a bounded piece at a time.
//!
//! Read with: RFC 9110 §8.4 (`Content-Encoding`), RFC 1952 (gzip), RFC 1950 (zlib, which
//! HTTP calls `deflate`, RFC 9110 §8.4.1.2), RFC 1951 (the deflate data in both).
//!
//! Why sans-IO like the rest of the protocol: the answer reader of every engine feeds it
//! the body bytes the exchange yields and writes what comes out. The output of one call
//! never exceeds the buffer it is given, so a small body that expands without end (a
//! decompression bomb) is seen, piece by piece, by `--max-filesize`, which counts
//! decoded bytes; it never grows in memory.
//!
//! ```text
//!   gzip:  Header (10 bytes + FEXTRA/FNAME/FCOMMENT/FHCRC) ─► Inflate ─► Trailer (CRC32,
//!          ISIZE, checked) ─► Done
//!   zlib:  Inflate (miniz_oxide checks the header and Adler-32) ─► Done
//! ```
//!
//! A byte after the end of the stream is an error, as is a body that ends before it
//! ([`Decoder::finish`]). The inflater is flate2's pure-Rust backend (miniz_oxide).
//!
//! Layer: `protocol`; may use nothing else of the crate (see `src/protocol/mod.rs`).

use std::fmt;

use flate2::{Crc, Decompress, FlushDecompress, Status};

/// The content codings miodl decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    /// `gzip` (and `x-gzip`, RFC 9110 §8.4.1.3).
    Gzip,
    /// `deflate`: the zlib format.
    Deflate,
}

impl Coding {
    /// The coding a `Content-Encoding` value names, when it is exactly one that miodl
    /// decodes (`identity` and anything else, or a list of several: `None`, saved as is).
    pub fn from_header(value: &[u8]) -> Option<Coding> {
        let value = value.trim_ascii();
        if value.eq_ignore_ascii_case(b"gzip") || value.eq_ignore_ascii_case(b"x-gzip") {
            Some(Coding::Gzip)
        } else if value.eq_ignore_ascii_case(b"deflate") {
            Some(Coding::Deflate)
        } else {
            None
        }
    }

    fn name(self) -> &'static str {
        match self {
            Coding::Gzip => "gzip",
            Coding::Deflate => "deflate",
        }
    }
}

/// What was wrong with an encoded body. Never retried: the same bytes come again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// The gzip header is not one (no `1f 8b 08` magic, or a header over 64 KiB).
    BadHeader(Coding),
    /// The compressed data is corrupt (the inflater refused it, or a zlib checksum).
    Corrupt(Coding),
    /// The gzip trailer's CRC-32 or length does not match the data.
    BadChecksum(Coding),
    /// The body ended before the compressed stream did.
    Truncated(Coding),
    /// Bytes follow the end of the compressed stream.
    TrailingData(Coding),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (coding, what) = match self {
            DecodeError::BadHeader(c) => (c, "it does not start with a gzip header"),
            DecodeError::Corrupt(c) => (c, "the compressed data is corrupt"),
            DecodeError::BadChecksum(c) => (c, "its checksum or length does not match"),
            DecodeError::Truncated(c) => (c, "the body ended before the compressed stream"),
            DecodeError::TrailingData(c) => (c, "bytes follow the end of the compressed stream"),
        };
        write!(
            f,
            "Content-Encoding {} body cannot be decoded: {what}",
            coding.name()
        )
    }
}

/// The longest gzip header read (its optional name and comment included).
const MAX_GZIP_HEADER: usize = 64 << 10;

/// Where the decoder is in its stream.
enum State {
    /// gzip: the header's bytes so far.
    Header(Vec<u8>),
    /// The deflate data.
    Inflate,
    /// gzip: the trailer's bytes so far (8 in all).
    Trailer { got: [u8; 8], len: usize },
    /// The stream is complete.
    Done,
}

/// One body's decoder.
pub struct Decoder {
    coding: Coding,
    state: State,
    inflate: Decompress,
    /// gzip: the CRC-32 and length of the data decoded so far.
    crc: Crc,
}

impl fmt::Debug for Decoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decoder")
            .field("coding", &self.coding)
            .finish_non_exhaustive()
    }
}

impl Decoder {
    /// A decoder for a body in `coding`.
    pub fn new(coding: Coding) -> Decoder {
        let (state, zlib) = match coding {
            Coding::Gzip => (State::Header(Vec::new()), false),
            Coding::Deflate => (State::Inflate, true),
        };
        Decoder {
            coding,
            state,
            inflate: Decompress::new(zlib),
            crc: Crc::new(),
        }
    }

    /// Decodes from `input` into `out`: returns the bytes of `input` used and of `out`
    /// filled. `(0, 0)` means it needs more input (or `out` is empty). Call again with
    /// the rest of the input, and with an empty input while `out` comes back full.
    pub fn decode(&mut self, input: &[u8], out: &mut [u8]) -> Result<(usize, usize), DecodeError> {
        let coding = self.coding;
        match &mut self.state {
            State::Header(seen) => {
                let before = seen.len();
                let take = input.len().min(MAX_GZIP_HEADER + 1 - before);
                seen.extend_from_slice(&input[..take]);
                match gzip_header_len(seen) {
                    Ok(Some(len)) => {
                        self.state = State::Inflate;
                        Ok((len - before, 0))
                    }
                    Ok(None) if seen.len() > MAX_GZIP_HEADER => Err(DecodeError::BadHeader(coding)),
                    Ok(None) => Ok((take, 0)),
                    Err(()) => Err(DecodeError::BadHeader(coding)),
                }
            }
            State::Inflate => self.inflate(input, out),
            State::Trailer { got, len } => {
                let take = input.len().min(8 - *len);
                got[*len..*len + take].copy_from_slice(&input[..take]);
                *len += take;
                if *len == 8 {
                    let crc = u32::from_le_bytes([got[0], got[1], got[2], got[3]]);
                    let size = u32::from_le_bytes([got[4], got[5], got[6], got[7]]);
                    if crc != self.crc.sum() || size != self.crc.amount() {
                        return Err(DecodeError::BadChecksum(coding));
                    }
                    self.state = State::Done;
                }
                Ok((take, 0))
            }
            State::Done if input.is_empty() => Ok((0, 0)),
            State::Done => Err(DecodeError::TrailingData(coding)),
        }
    }

    fn inflate(&mut self, input: &[u8], out: &mut [u8]) -> Result<(usize, usize), DecodeError> {
        let (in_before, out_before) = (self.inflate.total_in(), self.inflate.total_out());
        let status = self
            .inflate
            .decompress(input, out, FlushDecompress::None)
            .map_err(|_| DecodeError::Corrupt(self.coding))?;
        let used = (self.inflate.total_in() - in_before) as usize;
        let made = (self.inflate.total_out() - out_before) as usize;
        if self.coding == Coding::Gzip {
            self.crc.update(&out[..made]);
        }
        if status == Status::StreamEnd {
            self.state = match self.coding {
                Coding::Gzip => State::Trailer {
                    got: [0; 8],
                    len: 0,
                },
                Coding::Deflate => State::Done,
            };
        }
        Ok((used, made))
    }

    /// The body ended: is the stream complete? An empty body is complete too (servers
    /// send `Content-Encoding: gzip` on empty answers; curl accepts them).
    pub fn finish(&self) -> Result<(), DecodeError> {
        match &self.state {
            State::Done => Ok(()),
            State::Header(seen) if seen.is_empty() => Ok(()),
            State::Inflate if self.inflate.total_in() == 0 && self.coding == Coding::Deflate => {
                Ok(())
            }
            _ => Err(DecodeError::Truncated(self.coding)),
        }
    }
}

/// The length of the gzip header at the start of `b` (RFC 1952 §2.3), `None` while
/// incomplete, `Err` when it is not a gzip header.
fn gzip_header_len(b: &[u8]) -> Result<Option<usize>, ()> {
    const FHCRC: u8 = 2;
    const FEXTRA: u8 = 4;
    const FNAME: u8 = 8;
    const FCOMMENT: u8 = 16;
    let magic = [0x1f, 0x8b, 8];
    if b.iter().zip(magic).any(|(&got, want)| got != want) {
        return Err(());
    }
    if b.len() < 10 {
        return Ok(None);
    }
    let flags = b[3];
    if flags & 0xe0 != 0 {
        return Err(());
    }
    let mut at = 10;
    if flags & FEXTRA != 0 {
        let Some(len) = b.get(at..at + 2) else {
            return Ok(None);
        };
        at += 2 + usize::from(u16::from_le_bytes([len[0], len[1]]));
    }
    for flag in [FNAME, FCOMMENT] {
        if flags & flag != 0 {
            let Some(nul) = b
                .get(at..)
                .and_then(|rest| rest.iter().position(|&c| c == 0))
            else {
                return Ok(None);
            };
            at += nul + 1;
        }
    }
    if flags & FHCRC != 0 {
        at += 2;
    }
    Ok((b.len() >= at).then_some(at))
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::{GzEncoder, ZlibEncoder};
    use flate2::Compression;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut e = ZlibEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    /// Decodes `encoded` fed in pieces of `step` bytes through an output of `room`.
    fn decode(
        coding: Coding,
        encoded: &[u8],
        step: usize,
        room: usize,
    ) -> Result<Vec<u8>, DecodeError> {
        let mut d = Decoder::new(coding);
        let mut out = vec![0u8; room];
        let mut decoded = Vec::new();
        for piece in encoded.chunks(step) {
            let mut input = piece;
            loop {
                let (used, made) = d.decode(input, &mut out)?;
                decoded.extend_from_slice(&out[..made]);
                input = &input[used..];
                if used == 0 && made == 0 {
                    assert!(input.is_empty(), "stuck with input left");
                    break;
                }
            }
        }
        d.finish()?;
        Ok(decoded)
    }

    #[test]
    fn gzip_and_zlib_decode_whatever_the_pieces() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
        for (coding, encoded) in [(Coding::Gzip, gzip(&data)), (Coding::Deflate, zlib(&data))] {
            for step in [1, 3, 7, 1000, encoded.len()] {
                for room in [1, 13, 16 << 10] {
                    if step == 1 && room == 1 && data.len() > 10_000 {
                        continue;
                    }
                    assert_eq!(
                        decode(coding, &encoded, step, room).unwrap(),
                        data,
                        "{coding:?} {step} {room}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_gzip_header_with_every_optional_field_is_skipped() {
        let mut encoded = gzip(b"hello");
        encoded[3] = 4 | 8 | 16 | 2;
        let mut with = encoded[..10].to_vec();
        with.extend_from_slice(&[3, 0, b'a', b'b', b'c']);
        with.extend_from_slice(b"name.txt\0comment\0");
        with.extend_from_slice(&[0, 0]);
        with.extend_from_slice(&encoded[10..]);
        assert_eq!(decode(Coding::Gzip, &with, 2, 64).unwrap(), b"hello");
    }

    #[test]
    fn broken_bodies_are_errors() {
        let good = gzip(b"hello hello hello");
        assert_eq!(
            decode(Coding::Gzip, b"not gzip", 4, 64),
            Err(DecodeError::BadHeader(Coding::Gzip))
        );
        assert_eq!(
            decode(Coding::Gzip, &good[..good.len() - 3], 4, 64),
            Err(DecodeError::Truncated(Coding::Gzip))
        );
        let mut bad_crc = good.clone();
        let at = bad_crc.len() - 6;
        bad_crc[at] ^= 1;
        assert_eq!(
            decode(Coding::Gzip, &bad_crc, 4, 64),
            Err(DecodeError::BadChecksum(Coding::Gzip))
        );
        let mut trailing = good.clone();
        trailing.push(0);
        assert_eq!(
            decode(Coding::Gzip, &trailing, 4, 64),
            Err(DecodeError::TrailingData(Coding::Gzip))
        );
        let mut corrupt = good;
        corrupt[12] ^= 0xff;
        corrupt[13] ^= 0xff;
        assert!(decode(Coding::Gzip, &corrupt, 4, 64).is_err());
        assert_eq!(
            decode(Coding::Deflate, b"\x78\x9c\xff\xff\xff", 2, 64),
            Err(DecodeError::Corrupt(Coding::Deflate))
        );
    }

    #[test]
    fn an_empty_body_is_complete_in_either_coding() {
        assert_eq!(decode(Coding::Gzip, b"", 1, 64).unwrap(), b"");
        assert_eq!(decode(Coding::Deflate, b"", 1, 64).unwrap(), b"");
        assert_eq!(
            decode(Coding::Gzip, &gzip(b"")[..5], 1, 64),
            Err(DecodeError::Truncated(Coding::Gzip))
        );
    }

    #[test]
    fn content_encoding_values() {
        assert_eq!(Coding::from_header(b" GZIP "), Some(Coding::Gzip));
        assert_eq!(Coding::from_header(b"x-gzip"), Some(Coding::Gzip));
        assert_eq!(Coding::from_header(b"deflate"), Some(Coding::Deflate));
        assert_eq!(Coding::from_header(b"br"), None);
        assert_eq!(Coding::from_header(b"gzip, br"), None);
        assert_eq!(Coding::from_header(b"identity"), None);
    }
}
