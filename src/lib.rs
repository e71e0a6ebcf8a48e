//! miodl: a downloader on a hand-written, single-threaded mio event loop.
#![warn(missing_docs)]

pub mod options;
pub mod serve;
pub mod verify;
