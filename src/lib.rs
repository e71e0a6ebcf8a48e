//! miodl
#![warn(missing_docs)]

pub mod cli;
pub mod http;
pub mod names;
pub mod options;
pub mod pager;
pub mod url;
