//! Tests of `--shard I/N`: every item in exactly one shard, by the published FNV-1a hash.
//!
//! Layer: `model`; may use `protocol` (see `src/model/mod.rs`).

use super::*;

#[test]
fn every_key_in_exactly_one_shard_and_spread_evenly() {
    let keys: Vec<String> = (0..10_000).map(|i| format!("http://h/f{i}")).collect();
    let count = 4;
    let mut sizes = [0usize; 4];
    for key in &keys {
        let owners: Vec<u64> = (0..count)
            .filter(|&index| Shard { index, count }.contains(key))
            .collect();
        assert_eq!(owners.len(), 1, "{key}");
        sizes[owners[0] as usize] += 1;
    }
    for size in sizes {
        assert!((2300..2700).contains(&size), "{sizes:?}");
    }
}

#[test]
fn the_hash_is_the_published_fnv1a() {
    // Test vectors of the FNV reference implementation.
    assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
    assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
}
