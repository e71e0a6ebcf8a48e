//! Tests of the protocol layer, one file per concept, beside the code they test.
//!
//! Layer: `protocol`; may use nothing else of the crate (see `src/protocol/mod.rs`).

mod body_tests;
mod chunked_tests;
mod exchange_fuzz_tests;
mod exchange_tests;
mod harness;
mod request_tests;
mod response_tests;
