//! miodl: a downloader on a hand-written, single-threaded mio event loop.
#![warn(missing_docs)]

pub mod cli;
pub mod http;
pub mod names;
pub mod options;
pub mod url;
