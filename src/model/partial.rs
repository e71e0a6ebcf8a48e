//! A cut body an earlier run left for `-C/--continue`: the words the output layer finds
//! it with (`crate::output::partial`) and the scheduler resumes it with, kept here so
//! that both can name it without the policy reaching up into the output.
//!
//! Layer: `model`; may use `protocol` (see `src/model/mod.rs`).

/// A cut body found in the output directory, and what resuming it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partial {
    /// The final name the body will get.
    pub name: String,
    /// The URL it was fetched from, as given (a rerun resumes only the same URL).
    pub url: String,
    /// The `If-Range` value: the strong `ETag`, else the `Last-Modified` date.
    pub validator: String,
    /// The whole body's length, when the answer said.
    pub length: Option<u64>,
    /// Bytes in the part now.
    pub have: u64,
}
