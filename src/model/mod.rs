//! The words every layer shares: jobs and their phases, the event stream, why a job
//! failed, the options of a run (and its `--shard`), the stop flag, and the counters of a
//! run.
//!
//! These are data types with no policy of their own. They live below the policy, the
//! engines and the reports so that all of them can name the same job, phase and event
//! without any of them reaching up into another.
//!
//! May use: [`crate::protocol`] (URLs, HTTP errors and methods, page errors).

pub mod error;
pub mod event;
pub mod job;
pub mod options;
pub mod partial;
pub mod resolve;
pub mod shard;
pub mod stop;
pub mod summary;
