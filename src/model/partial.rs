//! A cut body an earlier run left for `-C/--continue`: the words the output layer finds
//! it with (`crate::output::partial`) and the scheduler resumes it with, kept here so
//! that both can name it without the policy reaching up into the output.
//!
//! Layer: `model`; may use `protocol` (see `src/model/mod.rs`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// A cut body found in the output directory (or kept by this run), and what resuming
/// it needs.
#[derive(Debug, Clone)]
pub struct Partial {
    /// The final name the body will get.
    pub name: String,
    /// The URL it was fetched from, as given (a rerun resumes only the same URL).
    pub url: String,
    /// The `If-Range` value: the strong `ETag`, else the `Last-Modified` date.
    pub validator: String,
    /// The whole body's length, when the answer said.
    pub length: Option<u64>,
    /// Bytes in the part when it was found.
    pub have: u64,
    /// A part this run writes: its size, stored by the staged file when it is dropped
    /// without a commit, so that a retry in the same run asks for the rest.
    pub progress: Option<Arc<AtomicU64>>,
}

impl Partial {
    /// Bytes in the part now, as far as the run knows.
    pub fn have_now(&self) -> u64 {
        self.progress
            .as_ref()
            .map_or(self.have, |p| p.load(Ordering::Acquire))
    }
}
