//! The application: the commands of the `miodl` binary and the library's builder.
//!
//! - [`cli`]: argv to one plain struct per command.
//! - [`run`]: `get` and `crawl` from checked arguments to a finished run.
//! - [`downloader`]: the library face, a builder and a file handler.
//! - [`verify`]: `miodl verify`; [`demo`]: `miodl demo`.
//!
//! May use: every layer below, and [`crate::serve`] (the demo's server).

pub mod cli;
pub mod demo;
pub mod downloader;
pub mod run;
pub mod verify;
