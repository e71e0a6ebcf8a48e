//! Fuzz target `response`: see `fuzz_response` in ../harness.rs for the input layout and the
//! invariants; `tests/properties.rs` replays corpus/response/ through the same function.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../harness.rs"]
mod harness;

fuzz_target!(|data: &[u8]| {
    let _ = harness::fuzz_response(data);
});
