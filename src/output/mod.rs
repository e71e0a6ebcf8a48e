//! The output layer: bodies become files, whole or not at all.
//!
//! - [`sink`]: the output directory, staged files and their commit under a final name.
//!
//! May use: [`crate::model`] (errors), the standard library and rustix/libc for the
//! file system calls.

pub mod sink;
