//! Fuzz target `chunked`: see `fuzz_chunked` in ../harness.rs for the input layout and the
//! invariants; `tests/properties.rs` replays corpus/chunked/ through the same function.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../harness.rs"]
mod harness;

fuzz_target!(|data: &[u8]| {
    let _ = harness::fuzz_chunked(data);
});
