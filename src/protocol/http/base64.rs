//! Base64 encoding (RFC 4648 §4, standard alphabet, with `=` padding), just enough for
//! HTTP Basic authentication (RFC 7617). Encoding only: we never need to decode.
//!
//! Three input bytes become four output characters of six bits each; a final group of one
//! or two bytes is padded with `=` to four characters:
//!
//! ```text
//!  input   |  f       o       o     |
//!  bits    011001 100110 111101 101111
//!  output     Z      m      9      v
//! ```
//!
//! Layer: `protocol`; may use nothing else of the crate (see `src/protocol/mod.rs`).

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Appends the base64 encoding of `input` to `out`.
pub(crate) fn encode_into(input: &[u8], out: &mut String) {
    out.reserve(input.len().div_ceil(3) * 4);
    let sextet = |n: u32, shift: u32| char::from(ALPHABET[((n >> shift) & 0x3f) as usize]);
    let mut groups = input.chunks_exact(3);
    for g in &mut groups {
        let n = u32::from(g[0]) << 16 | u32::from(g[1]) << 8 | u32::from(g[2]);
        out.extend([sextet(n, 18), sextet(n, 12), sextet(n, 6), sextet(n, 0)]);
    }
    match *groups.remainder() {
        [a] => {
            let n = u32::from(a) << 16;
            out.extend([sextet(n, 18), sextet(n, 12), '=', '=']);
        }
        [a, b] => {
            let n = u32::from(a) << 16 | u32::from(b) << 8;
            out.extend([sextet(n, 18), sextet(n, 12), sextet(n, 6), '=']);
        }
        _ => {}
    }
}
