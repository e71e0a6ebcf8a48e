//! The reference server's content: reproducible ids and a checkable byte pattern.
//!
//! The seed's server handed out UUID4s; ours are the same shape (32 lowercase hex
//! characters, version and variant nibbles set) but drawn from a tiny hand-written PRNG,
//! splitmix64, so `--seed` reproduces a catalog exactly and a test can predict every id.
//!
//! The `/bytes/<n>` and `/chunked/<n>` routes serve a byte pattern that is a pure function
//! of the offset ([`pattern_byte`]). The server streams it without ever holding the whole
//! body, and a client test checks a download byte by byte without a copy of the original.
//!
//! Layer: `serve`; may use `protocol`, `model`, `policy`, `output`, `transport`, `engine` and `report` (see `src/serve/mod.rs`).

/// One step of splitmix64 (Steele, Lea and Flood, 2014): advances `state` and returns the
/// next well-mixed 64-bit output. Small, fast and good enough for ids and fault dice.
pub fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    mix64(*state)
}

/// The splitmix64 finaliser on its own: a bijective mix of one 64-bit word.
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The ids of a catalog of `files` items, reproducible from `seed`.
///
/// Each id is 128 bits from two splitmix64 outputs, formatted as 32 lowercase hex
/// characters with the UUID4 version nibble (`4` at index 12) and variant nibble
/// (`8`, `9`, `a` or `b` at index 16) set. Ids within one catalog are distinct.
pub fn catalog(files: usize, seed: u64) -> Vec<String> {
    let mut state = seed;
    let mut ids: Vec<String> = Vec::with_capacity(files);
    let mut seen = std::collections::HashSet::with_capacity(files);
    while ids.len() < files {
        let hi = splitmix64(&mut state);
        let lo = splitmix64(&mut state);
        // Version 4 in the high nibble of byte 6, variant 10xx in the high bits of byte 8.
        let hi = (hi & !0x0000_0000_0000_F000) | 0x0000_0000_0000_4000;
        let lo = (lo & !0xC000_0000_0000_0000) | 0x8000_0000_0000_0000;
        let id = format!("{hi:016x}{lo:016x}");
        // A collision in 122 random bits will not happen, but a catalog must not repeat.
        if seen.insert(id.clone()) {
            ids.push(id);
        }
    }
    ids
}

/// Byte `i` of the `/bytes` and `/chunked` bodies: `(i * 31 + 7) mod 251`.
///
/// 251 is prime, so the pattern does not repeat on any power-of-two boundary and a
/// dropped, duplicated or shifted block of bytes shows up in a comparison.
pub fn pattern_byte(i: u64) -> u8 {
    // Reduce first so `i * 31` cannot overflow for any u64 offset.
    (((i % 251) * 31 + 7) % 251) as u8
}

/// Fills `buf` with the pattern bytes starting at offset `start`.
pub fn fill_pattern(start: u64, buf: &mut [u8]) {
    for (k, b) in buf.iter_mut().enumerate() {
        *b = pattern_byte(start + k as u64);
    }
}
