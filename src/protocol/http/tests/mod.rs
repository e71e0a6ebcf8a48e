//! Tests of the protocol layer, one file per concept, beside the code they test.

mod body_tests;
mod chunked_tests;
mod exchange_fuzz_tests;
mod exchange_tests;
mod harness;
mod request_tests;
mod response_tests;
