//! The output layer: bodies become files, whole or not at all.
//!
//! - [`sink`]: the output directory, staged files and their commit under a final name.
//! - [`partial`]: `-C`'s kept parts (`.NAME.miodl-part`) and their descriptions.
//! - [`record`]: the record of saved files (`.miodl-saved`) that `--skip-existing` reads.
//!
//! May use: [`crate::protocol`] (`http::decimal` for a temporary's digits), the standard
//! library and libc for the file system calls (`O_TMPFILE`, `linkat`, `renameat`).

pub mod partial;
pub mod record;
pub mod sink;
