//! What a person sees on stderr: one line per failure, and a live progress line.
//!
//! Failures and refused ids are always printed, one line each, naming the URL and the
//! cause. The progress line (done/total, percent, rates, ETA, sockets, retries,
//! failures: [`crate::report::progress`]) is drawn only when stderr is a terminal and
//! `-q` was not given, redrawn at most ten times a second over itself (`\r`, then
//! clear to the end of the line), cut to the terminal's width, and left on screen,
//! ended by a newline, when the run is over. With `-v` the request and response heads
//! are printed too ([`crate::report::heads`]), terminal or not.
//!
//! Layer: `report`; may use `protocol`, `model`, `policy`, `output`, `transport` and `engine` (see `src/report/mod.rs`).

use std::io::{self, IsTerminal, Write};
use std::time::{Duration, Instant};

use crate::model::event::{Event, Observer};
use crate::report::heads::write_head;
use crate::report::progress::{draw, Progress};

/// How often the progress line is redrawn at most.
const MIN_REDRAW_INTERVAL: Duration = Duration::from_millis(100);

/// The width assumed when the terminal does not say.
const DEFAULT_COLUMNS: usize = 80;

/// When [`Console::draw`] draws the progress line.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Redraw {
    /// Now, however recently it was drawn (the last line of the run).
    Always,
    /// Only if the last drawing is at least [`MIN_REDRAW_INTERVAL`] old.
    WhenDue,
}

/// The stderr observer.
pub struct Console {
    /// True if the progress line is drawn.
    live: bool,
    /// `-q`: no progress line, no retry lines.
    quiet: bool,
    /// `-v`: heads are printed.
    verbose: bool,
    /// The run's numbers so far, for the progress line.
    progress: Progress,
    /// Jobs in flight stopped by a signal (said at the end).
    stopped: u64,
    /// When the progress line now on screen was drawn; `None` if none is.
    drawn_at: Option<Instant>,
    /// The heads of `-v`, formatted (kept to reuse its buffer).
    scratch: String,
}

impl Console {
    /// A console; the progress line is live only if `quiet` is false and stderr is a
    /// terminal. `progress` is the state at the start (its total, if known).
    pub fn new(quiet: bool, verbose: bool, progress: Progress) -> Console {
        Console {
            live: !quiet && io::stderr().is_terminal(),
            quiet,
            verbose,
            progress,
            stopped: 0,
            drawn_at: None,
            scratch: String::new(),
        }
    }

    /// Prints one line, clearing the progress line first if one is on screen.
    fn say(&mut self, line: std::fmt::Arguments<'_>) {
        let mut err = io::stderr().lock();
        if self.drawn_at.is_some() {
            // Clear the progress line, print, and let the next event redraw it.
            let _ = write!(err, "\r\x1b[2K");
            self.drawn_at = None;
        }
        let _ = writeln!(err, "{line}");
    }

    /// Prints a head of `-v` (its lines already end in newlines).
    fn say_head(&mut self, head: &[u8], outgoing: bool) {
        self.scratch.clear();
        write_head(&mut self.scratch, head, outgoing);
        let mut err = io::stderr().lock();
        if self.drawn_at.take().is_some() {
            let _ = write!(err, "\r\x1b[2K");
        }
        let _ = err.write_all(self.scratch.as_bytes());
    }

    /// True if the progress line on screen is younger than [`MIN_REDRAW_INTERVAL`].
    fn drawn_recently(&self, now: Instant) -> bool {
        self.drawn_at
            .is_some_and(|at| now - at < MIN_REDRAW_INTERVAL)
    }

    /// Draws the progress line over the last one, if it is live and `when` allows.
    fn draw(&mut self, now: Instant, when: Redraw) {
        if !self.live || (when == Redraw::WhenDue && self.drawn_recently(now)) {
            return;
        }
        let line = draw(&self.progress, now, terminal_columns());
        let _ = write!(io::stderr().lock(), "\r\x1b[2K{line}");
        self.drawn_at = Some(now);
    }
}

/// The columns of the terminal on stderr, or [`DEFAULT_COLUMNS`] if it does not say.
fn terminal_columns() -> usize {
    // SAFETY: TIOCGWINSZ only writes a `winsize` into the one we lend it, which lives
    // for the call; on any error it writes nothing and we keep the zeroed value.
    let mut size: libc::winsize = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::ioctl(libc::STDERR_FILENO, libc::TIOCGWINSZ, &mut size) } == 0;
    if ok && size.ws_col > 0 {
        usize::from(size.ws_col)
    } else {
        DEFAULT_COLUMNS
    }
}

impl Observer for Console {
    /// Draws the final progress line and ends it.
    fn finish(&mut self) {
        if self.stopped > 0 {
            let stopped = self.stopped;
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
        // The counts feed the progress line: without a live line, they need no counting.
        if self.live {
            self.progress.on_event(event);
        }
        match event {
            Event::Stopped { .. } => self.stopped += 1,
            Event::WireHead { head, outgoing, .. } if self.verbose => {
                self.say_head(head, *outgoing);
            }
            Event::Failed {
                url,
                error,
                is_page,
                ..
            } => {
                let what = if *is_page { "list page " } else { "" };
                let url = url.for_humans();
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
                let url = url.for_humans();
                self.say(format_args!(
                    "retry: {url}: {error}; try {attempt} in {:.1} s",
                    delay.as_secs_f64()
                ));
            }
            Event::Throttled { url, delay, .. } if !self.quiet => {
                self.say(format_args!(
                    "throttled: {url}: its host is paused for {:.1} s (Retry-After)",
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
