//! The application: the commands of the `miodl` binary and the library's builder.
//!
//! - [`cli`]: argv to one plain struct per command: for `get`, `crawl` and `demo` the
//!   library's own ([`run::GetTask`], [`run::CrawlTask`], [`demo::DemoOptions`]), for the
//!   other commands structs of its own. In `src/`, only `main.rs` names it.
//! - [`run`]: `get` and `crawl` from what to fetch ([`run::GetTask`], [`run::CrawlTask`])
//!   to a finished run.
//! - [`downloader`]: the library face, a builder and a file handler (re-exported at the
//!   crate root).
//! - [`open_files`]: the open-file limit, raised, and `-c` sized to fit it.
//! - [`verify`]: `miodl verify`; [`demo`]: `miodl demo`.
//!
//! May use: every layer below, and [`crate::serve`] (the demo's server).

pub mod cli;
pub mod demo;
pub mod downloader;
pub mod open_files;
pub mod run;
pub mod verify;
