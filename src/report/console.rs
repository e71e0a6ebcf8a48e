//! What a person sees on stderr: one line per failure, and a live status line.
//!
//! Failures and refused ids are always printed, one line each, naming the URL and the
//! cause. The status line (the two bars of the seed's question, requests sent and
//! answered, plus bytes, rate, sockets and retries) is drawn only when stderr is a
//! terminal and `-q` was not given, redrawn at most ten times a second.

use std::io::{self, IsTerminal, Write};
use std::time::{Duration, Instant};

use crate::model::event::{Event, Observer};
use crate::model::summary::Summary;

/// How often the status line is redrawn at most.
const REDRAW: Duration = Duration::from_millis(100);

/// The stderr observer.
pub struct Console {
    live: bool,
    quiet: bool,
    counts: Summary,
    answered: u64,
    started: Instant,
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

    fn say(&mut self, line: std::fmt::Arguments<'_>) {
        let mut err = io::stderr().lock();
        if self.drawn_at.is_some() {
            // Clear the status line, print, and let the next event redraw it.
            let _ = write!(err, "\r\x1b[2K");
            self.drawn_at = None;
        }
        let _ = writeln!(err, "{line}");
    }

    fn draw(&mut self, now: Instant, force: bool) {
        if !self.live || (!force && self.drawn_at.is_some_and(|at| now - at < REDRAW)) {
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
            self.draw(Instant::now(), true);
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
            self.draw(now, false);
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
