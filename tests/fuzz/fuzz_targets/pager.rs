//! Fuzz target `pager`: see `fuzz_pager` in ../harness.rs for the input layout and the
//! invariants; `tests/properties.rs` replays corpus/pager/ through the same function.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../harness.rs"]
mod harness;

fuzz_target!(|data: &[u8]| {
    let _ = harness::fuzz_pager(data);
});
