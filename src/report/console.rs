//! What a person sees on stderr: one line per failure, and a live status line.
//!
//! Failures and refused ids are always printed, one line each, naming the URL and the
//! cause. The status line (the two bars of the seed's question, requests sent and
//! answered, plus bytes, rate, sockets and retries) is drawn only when stderr is a
//! terminal and `-q` was not given, redrawn at most ten times a second.
//!
//! Layer: `report`; may use `protocol`, `model`, `policy`, `output`, `transport` and `engine` (see `src/report/mod.rs`).

use std::io::{self, IsTerminal, Write};
use std::time::{Duration, Instant};

use crate::model::event::{Event, Observer};
use crate::model::summary::Summary;

/// How often the status line is redrawn at most.
const MIN_REDRAW_INTERVAL: Duration = Duration::from_millis(100);

/// When [`Console::draw`] draws the status line.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Redraw {
    /// Now, however recently it was drawn (the last line of the run).
    Always,
    /// Only if the last drawing is at least [`MIN_REDRAW_INTERVAL`] old.
    WhenDue,
}

/// The stderr observer.
pub struct Console {
    /// True if the status line is drawn.
    live: bool,
    /// `-q`: no status line, no retry lines.
    quiet: bool,
    /// The run's numbers so far, for the status line.
    counts: Summary,
    /// Response heads received.
    answered: u64,
    started: Instant,
    /// When the status line now on screen was drawn; `None` if none is.
    drawn_at: Option<Instant>,
}

impl Console {
    /// A console; the status line is live only if `quiet` is false and stderr is a
    /// terminal.
    pub fn new(quiet: bool) -> Console {
        Console {
            live: !quiet && io::stderr().is_terminal(),
            quiet,
            counts: Summary::default(),
            answered: 0,
            started: Instant::now(),
            drawn_at: None,
        }
    }

    /// Prints one line, clearing the status line first if one is on screen.
    fn say(&mut self, line: std::fmt::Arguments<'_>) {
        let mut err = io::stderr().lock();
        if self.drawn_at.is_some() {
            // Clear the status line, print, and let the next event redraw it.
            let _ = write!(err, "\r\x1b[2K");
            self.drawn_at = None;
        }
        let _ = writeln!(err, "{line}");
    }

    /// True if the status line on screen is younger than [`MIN_REDRAW_INTERVAL`].
    fn drawn_recently(&self, now: Instant) -> bool {
        self.drawn_at
            .is_some_and(|at| now - at < MIN_REDRAW_INTERVAL)
    }

    /// Draws the status line over the last one, if it is live and `when` allows.
    fn draw(&mut self, now: Instant, when: Redraw) {
        if !self.live || (when == Redraw::WhenDue && self.drawn_recently(now)) {
            return;
        }
        let c = &self.counts;
        let secs = (now - self.started).as_secs_f64().max(1e-3);
        let line = format!(
            "sent {} · answered {} · saved {} · {} at {}/s · sockets {} opened, {} reused · retries {} · failed {}",
            c.requests,
            self.answered,
            c.ok,
            human_bytes(c.bytes_received as f64),
            human_bytes(c.bytes_received as f64 / secs),
            c.connections_opened,
            c.connections_reused,
            c.retries,
            c.failed,
        );
        let _ = write!(io::stderr().lock(), "\r\x1b[2K{line}");
        self.drawn_at = Some(now);
    }
}

impl Observer for Console {
    /// Draws the final status line and ends it.
    fn finish(&mut self) {
        if self.counts.stopped > 0 {
            let stopped = self.counts.stopped;
            self.say(format_args!(
                "interrupted: {stopped} transfers in flight were stopped"
            ));
        }
        if self.live {
            self.draw(Instant::now(), Redraw::Always);
            let _ = writeln!(io::stderr().lock());
            self.drawn_at = None;
        }
    }

    fn on_event(&mut self, event: &Event<'_>, now: Instant) {
        // The counts feed the status line, and `finish` reads the stopped transfers:
        // without a live line, the other events need no counting.
        if self.live || matches!(event, Event::Stopped { .. }) {
            self.counts.on_event(event, now);
        }
        match event {
            Event::ResponseHead { .. } => self.answered += 1,
            Event::Failed {
                url,
                error,
                is_page,
                ..
            } => {
                let what = if *is_page { "list page " } else { "" };
                self.say(format_args!("error: {what}{url}: {error}"));
            }
            Event::BadInput { origin, message } => {
                self.say(format_args!("error: {origin}: {message}"));
            }
            Event::IdRejected { id, reason } => {
                self.say(format_args!("warning: skipped id {id}: {reason}"));
            }
            Event::Retry {
                url,
                attempt,
                delay,
                error,
                ..
            } if !self.quiet => {
                self.say(format_args!(
                    "retry: {url}: {error}; try {attempt} in {:.1} s",
                    delay.as_secs_f64()
                ));
            }
            _ => {}
        }
        if self.live {
            self.draw(now, Redraw::WhenDue);
        }
    }
}

/// `1.5 MiB` style sizes.
pub fn human_bytes(n: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{value:.0} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
