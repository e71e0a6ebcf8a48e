//! `--events`: one JSON line on stdout per finished (or skipped) file, the moment it finishes.
//!
//! This is the seed's "data handler" made into a stream another program can read while
//! the run goes on (`miodl get --events … | jq`). Each line is flushed at once.
//!
//! Layer: `report`; may use `protocol`, `model`, `policy`, `output`, `transport` and `engine` (see `src/report/mod.rs`).

use std::io::{self, Write};
use std::time::Instant;

use serde_json::json;

use crate::model::event::{Event, Observer};

/// Writes a JSON line per saved, skipped or failed file (and failed list page).
#[derive(Debug, Default)]
pub struct EventLines;

impl Observer for EventLines {
    fn on_event(&mut self, event: &Event<'_>, _now: Instant) {
        let line = match event {
            Event::FileSaved {
                url, path, bytes, ..
            } => json!({
                "event": "saved",
                "url": url.to_string(),
                "path": path.display().to_string(),
                "bytes": bytes,
            }),
            Event::Skipped { url, name } => json!({
                "event": "skipped",
                "url": url.to_string(),
                "name": name,
            }),
            Event::Failed {
                url,
                error,
                is_page,
                ..
            } => json!({
                "event": "failed",
                "url": url.to_string(),
                "kind": if *is_page { "page" } else { "file" },
                "error": error.to_string(),
            }),
            _ => return,
        };
        let mut out = io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
}
