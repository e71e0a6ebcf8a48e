//! The progress line: what a run has done, drawn as one line a person wants to look at.
//!
//! [`Progress`] is the state the console keeps from the event stream (it only counts);
//! [`draw`] turns it into one line for a terminal of a given width, at a given `now`,
//! with no clock and no terminal of its own, so every shape of the line is a unit test:
//!
//! ```text
//! 1240/2000 62.0% · 812 files/s · 3.2 MiB/s · ETA 0:01 · sockets 8 open, 1232 reused · retries 0 · failed 0
//! ```
//!
//! The total is known from the start for `get` with URL arguments and `-i FILE` (the
//! files are read ahead to check them); for stdin and for a crawl it is known when the
//! feed ends ([`Event::FeedEnded`]). Until then the line shows what was found so far
//! (`found 340 ids, list open` for a crawl, `done 120` for stdin), no percent and no ETA.
//!
//! Layer: `report`; may use `protocol`, `model`, `policy`, `output`, `transport` and `engine` (see `src/report/mod.rs`).

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use crate::model::event::Event;

/// What the progress line shows: the counts of a run so far. `Clone` so a test can
/// draw the same state at several moments.
#[derive(Debug, Clone)]
pub struct Progress {
    /// When the run started (rates and the ETA count from here).
    pub started: Instant,
    /// Files in all, once known: URLs read ahead, or the feed's count at its end.
    pub total: Option<u64>,
    /// `Some` for a crawl: ids found so far.
    pub ids_found: Option<u64>,
    /// The feed has ended (a crawl's list, or the last URL list at its end).
    pub feed_ended: bool,
    /// Files saved.
    pub saved: u64,
    /// Files an earlier run saved (`--skip-existing`): done without a request.
    pub skipped: u64,
    /// Files (not pages) that failed for good.
    pub failed_files: u64,
    /// Failures of any kind (files, pages, bad input lines), as `--json` counts them.
    pub failed: u64,
    /// Body bytes received.
    pub bytes: u64,
    /// Sockets open now.
    pub sockets_open: u64,
    /// Requests that went on an open keep-alive socket.
    pub reused: u64,
    /// Retries scheduled.
    pub retries: u64,
}

impl Progress {
    /// The state at the start: `total` if it is known now; `crawl` for a crawl.
    pub fn new(started: Instant, total: Option<u64>, crawl: bool) -> Progress {
        Progress {
            started,
            total,
            ids_found: crawl.then_some(0),
            feed_ended: false,
            saved: 0,
            skipped: 0,
            failed_files: 0,
            failed: 0,
            bytes: 0,
            sockets_open: 0,
            reused: 0,
            retries: 0,
        }
    }

    /// Counts one event.
    pub fn on_event(&mut self, event: &Event<'_>) {
        match event {
            Event::ConnectionOpened { .. } => self.sockets_open += 1,
            Event::ConnectionClosed { .. } => {
                self.sockets_open = self.sockets_open.saturating_sub(1)
            }
            Event::ConnectionReused { .. } => self.reused += 1,
            Event::BodyBytes { len } => self.bytes += *len as u64,
            Event::Retry { .. } => self.retries += 1,
            Event::FileSaved { .. } => self.saved += 1,
            Event::Skipped { .. } => self.skipped += 1,
            Event::Failed { is_page, .. } => {
                self.failed += 1;
                self.failed_files += u64::from(!is_page);
            }
            Event::BadInput { .. } => self.failed += 1,
            Event::PageRead { new_ids, .. } => {
                if let Some(found) = &mut self.ids_found {
                    *found += *new_ids as u64;
                }
            }
            Event::FeedEnded { files } => {
                self.feed_ended = true;
                self.total = Some(*files);
            }
            _ => {}
        }
    }

    /// Files finished: saved, skipped or failed.
    pub fn done(&self) -> u64 {
        self.saved + self.skipped + self.failed_files
    }
}

/// The progress line at `now`, at most `width` characters (a terminal's columns).
pub fn draw(p: &Progress, now: Instant, width: usize) -> String {
    let secs = now.saturating_duration_since(p.started).as_secs_f64();
    let done = p.done();
    // The rate of files fetched: skipped ones take no time, and would make the ETA lie.
    let fetched = done - p.skipped;
    let files_per_s = if secs > 0.0 {
        fetched as f64 / secs
    } else {
        0.0
    };
    let bytes_per_s = if secs > 0.0 {
        p.bytes as f64 / secs
    } else {
        0.0
    };
    let mut line = String::with_capacity(160);
    match p.total {
        Some(total) => {
            let percent = if total == 0 {
                100.0
            } else {
                done.min(total) as f64 * 100.0 / total as f64
            };
            let _ = write!(line, "{done}/{total} {percent:.1}%");
        }
        None => {
            let _ = write!(line, "done {done}");
        }
    }
    if p.skipped > 0 {
        let _ = write!(line, " ({} skipped)", p.skipped);
    }
    if let Some(found) = p.ids_found {
        let list = if p.feed_ended {
            "list ended"
        } else {
            "list open"
        };
        let _ = write!(line, " · found {found} ids, {list}");
    }
    let _ = write!(
        line,
        " · {} files/s · {}/s",
        rate(files_per_s),
        crate::report::console::human_bytes(bytes_per_s)
    );
    if let Some(total) = p.total {
        let left = total.saturating_sub(done);
        let eta = match (left, files_per_s > 0.0) {
            (0, _) => "0:00".to_string(),
            (_, true) => clock(Duration::from_secs_f64(left as f64 / files_per_s)),
            (_, false) => "--:--".to_string(),
        };
        let _ = write!(line, " · ETA {eta}");
    }
    let _ = write!(
        line,
        " · sockets {} open, {} reused · retries {} · failed {}",
        p.sockets_open, p.reused, p.retries, p.failed
    );
    truncate(line, width)
}

/// `812`, `12.5`, `0.3`: whole numbers from 100 up, one decimal below.
fn rate(r: f64) -> String {
    if r >= 100.0 {
        format!("{r:.0}")
    } else {
        format!("{r:.1}")
    }
}

/// `0:07`, `12:34`, `1:02:03`: minutes and seconds, hours when there are some; beyond
/// 99 hours, `>99h`.
pub fn clock(d: Duration) -> String {
    let s = d.as_secs() + u64::from(d.subsec_millis() >= 500);
    let (h, m, s) = (s / 3600, s / 60 % 60, s % 60);
    match h {
        0 => format!("{m}:{s:02}"),
        1..=99 => format!("{h}:{m:02}:{s:02}"),
        _ => ">99h".to_string(),
    }
}

/// `line` cut to `width` characters (not bytes: `·` is two), ending in `…` when cut.
fn truncate(mut line: String, width: usize) -> String {
    if line.chars().count() <= width {
        return line;
    }
    let keep = width.saturating_sub(1);
    let cut = line
        .char_indices()
        .nth(keep)
        .map_or(line.len(), |(at, _)| at);
    line.truncate(cut);
    if width > 0 {
        line.push('…');
    }
    line
}

#[cfg(test)]
mod tests;
