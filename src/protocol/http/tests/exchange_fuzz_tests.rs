//! Property tests without a framework: a deterministic generator mutates the fixtures and
//! makes up noise; whatever the bytes, the exchange must not panic, and cutting them into
//! random pieces must not change the outcome.
//!
//! Layer: `protocol`; may use nothing else of the crate (see `src/protocol/mod.rs`).

use super::exchange_tests::fixtures;
use super::harness::{random_pieces, run, Rng};
use crate::protocol::http::{Limits, Method};

#[test]
fn mutated_fixtures_never_panic_and_still_parse_the_same_however_split() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let alphabet = b"\r\n :;0123456789abcdefHTP/.,\x00\xffchunkedContent-Length";
    let fixtures = fixtures();
    for _ in 0..3000 {
        let f = &fixtures[rng.below(fixtures.len())];
        let mut bytes = f.bytes.to_vec();
        for _ in 0..=rng.below(4) {
            let at = rng.below(bytes.len() + 1);
            let byte = alphabet[rng.below(alphabet.len())];
            match rng.below(3) {
                0 if at < bytes.len() => bytes[at] = byte,
                1 if at < bytes.len() => {
                    bytes.remove(at);
                }
                _ => bytes.insert(at, byte),
            }
        }
        let eof = rng.below(2) == 0;
        let limits = Limits {
            max_head_bytes: 40 + rng.below(200),
            max_headers: 1 + rng.below(8),
            max_total_head_bytes: 40 + rng.below(400),
            max_trailer_bytes: rng.below(40),
        };
        let whole = run(f.method, f.keep_alive, limits, [&bytes[..]], eof);
        let split = run(
            f.method,
            f.keep_alive,
            limits,
            random_pieces(&mut rng, &bytes),
            eof,
        );
        assert_eq!(split, whole, "{:?}", String::from_utf8_lossy(&bytes));
    }
}

#[test]
fn arbitrary_bytes_never_panic() {
    let mut rng = Rng(42);
    for _ in 0..5000 {
        let len = rng.below(300);
        let mut bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        if rng.below(2) == 0 {
            // Give the parser a real status line to get past, then noise.
            bytes.splice(
                0..0,
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                    .iter()
                    .copied(),
            );
        }
        let whole = run(Method::Get, true, Limits::default(), [&bytes[..]], true);
        let split = run(
            Method::Get,
            true,
            Limits::default(),
            random_pieces(&mut rng, &bytes),
            true,
        );
        assert_eq!(split, whole);
    }
}
