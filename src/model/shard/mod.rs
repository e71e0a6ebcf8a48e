//! `--shard I/N`: take a stable 1/N of the work, so N machines can share one job.
//!
//! Each URL (`get`) or id (`crawl`) belongs to exactly one shard, by a hash that does
//! not depend on the order, the machine or the run: FNV-1a (64-bit) of its bytes,
//! modulo N. Run `miodl get --shard 0/4 -i list`, `--shard 1/4`, … on four machines (or
//! from any batch system) and together they fetch every URL exactly once. A crawl's
//! shards each read every page of the list (pages are cheap) and keep their own ids.
//!
//! Layer: `model`; may use `protocol` (see `src/model/mod.rs`).

use std::fmt;

/// The part `index` of `count` (0 ≤ index < count).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// Which part, from 0.
    pub index: u64,
    /// How many parts.
    pub count: u64,
}

impl Shard {
    /// True if `key` (a URL or an id) falls in this shard.
    pub fn contains(&self, key: &str) -> bool {
        fnv1a(key.as_bytes()) % self.count == self.index
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// FNV-1a, 64 bits: tiny, stable across versions and platforms, well spread for short
/// keys such as URLs.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests;
