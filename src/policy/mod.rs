//! The policy layer: who goes next, who gets a socket, what an answer means.
//!
//! Nothing here touches a socket; time comes in as `now`. This is where the seed's
//! question is answered: the connector ([`pool`], `-c`/`--per-host`) and the semaphore
//! ([`scheduler`], `--max-in-flight`) side by side, the pager first.
//!
//! - [`scheduler`]: the live jobs, their order, permits, retries and redirects.
//! - [`pool`]: the connector's decisions (reuse, open, evict, wait).
//! - [`rate`]: `--rate`, `--per-host-rate`, and hosts paused by `Retry-After`.
//! - [`retry`]: backoff with jitter, `Retry-After`.
//! - [`feed`]: where jobs come from (a URL list, or the pager).
//! - [`names`]: output file names.
//!
//! May use: [`crate::protocol`], [`crate::model`].

pub mod feed;
pub mod names;
pub mod pool;
pub mod rate;
pub mod retry;
pub mod scheduler;
