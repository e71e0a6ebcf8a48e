//! The report layer: everything a person or a program reads about a run, each an
//! [`crate::model::event::Observer`] of the one event stream.
//!
//! - [`console`]: failures and the live status line on stderr.
//! - [`event_lines`]: `--events`, one JSON line per finished file.
//! - [`trace`]: `--trace`, a Chrome trace-event file; [`timeline`] draws it as SVG.
//!
//! May use: [`crate::protocol`], [`crate::model`].

pub mod console;
pub mod event_lines;
pub mod failed_list;
pub mod heads;
pub mod progress;
pub mod timeline;
pub mod trace;
