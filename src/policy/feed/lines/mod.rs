//! The lines of a URL list (`-i FILE`, `-i -`), read into one reused buffer.
//!
//! A list is read twice: once by `run::prepare_get`, to check every line before anything
//! is downloaded, and once by the feed as the run goes. Both passes read it through
//! [`UrlLines`], so they skip and trim the same lines and count them alike. A line is
//! lent out as a `&str` into the reader's own buffer, valid until the next line is
//! read: reading a line allocates nothing once the buffer has grown to the longest one.
//!
//! The rules: lines end at `\n`; surrounding whitespace (a `\r` too) is trimmed; blank
//! lines and `#` comments are skipped. A line that is not UTF-8 is lent as a
//! [`LineError::NotUtf8`], never repaired (a repaired line would be another URL), and a
//! line that cannot be read at all as a [`LineError::Unreadable`], so that either fails
//! with a message naming the line rather than vanishing.
//!
//! A line is at most [`MAX_LINE`] bytes (64 KiB, its newline not counted), read with a
//! limit so a longer one never grows the buffer. A line over the cap is lent as a
//! [`LineError::TooLong`], and that list ends there: its end is never reached to skip to
//! the next line, because it may have none (`-i /dev/zero` is one endless line). A line
//! that cannot be read ends its list the same way, since reading on may fail forever.
//!
//! Layer: `policy`; may use `protocol` and `model` (see `src/policy/mod.rs`).

use std::fmt;
use std::io::{self, BufRead, Read};
use std::sync::Arc;

use super::Origin;

/// The longest line of a list, in bytes, its newline not counted: 64 KiB.
pub const MAX_LINE: usize = 64 * 1024;

/// Why a line of a list is not lent as text.
#[derive(Debug)]
#[non_exhaustive]
pub enum LineError {
    /// The line holds bytes that are not UTF-8 (the command line refuses them too).
    NotUtf8,
    /// The line is longer than [`MAX_LINE`]; the rest of the list is not read.
    TooLong,
    /// The line could not be read; the rest of the list is not read.
    Unreadable(io::Error),
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LineError::NotUtf8 => write!(f, "the line is not valid UTF-8"),
            LineError::TooLong => write!(
                f,
                "the line is longer than {MAX_LINE} bytes; the rest of the list is not read"
            ),
            LineError::Unreadable(e) => write!(
                f,
                "the line cannot be read: {e}; the rest of the list is not read"
            ),
        }
    }
}

impl std::error::Error for LineError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LineError::Unreadable(e) => Some(e),
            LineError::NotUtf8 | LineError::TooLong => None,
        }
    }
}

/// The URL lines of one reader, lent one at a time.
pub struct UrlLines<R> {
    /// The name errors give the list (`FILE` or `stdin`).
    source: Arc<str>,
    reader: R,
    /// The raw bytes of the current line, newline included; reused for every line.
    bytes: Vec<u8>,
    /// The current line as text, untrimmed (empty when it is an error); reused too.
    text: String,
    /// Where the trimmed line lies in `text` (found once, by [`UrlLines::advance`]).
    trimmed: (usize, usize),
    /// Why the current line is not text, if it is not.
    error: Option<LineError>,
    /// The number of the current line, from 1.
    number: usize,
    /// Set at a line too long or unreadable: the list ends there.
    ended: bool,
}

impl<R: BufRead> UrlLines<R> {
    /// The lines of `reader`, whose errors will name `source`.
    pub fn new(source: Arc<str>, reader: R) -> UrlLines<R> {
        UrlLines {
            source,
            reader,
            bytes: Vec::new(),
            text: String::new(),
            trimmed: (0, 0),
            error: None,
            number: 0,
            ended: false,
        }
    }

    /// The next line that is not blank or a comment, trimmed, or why it is not text;
    /// `None` at the end.
    pub fn next_line(&mut self) -> Option<Result<&str, &LineError>> {
        self.advance().then(|| self.line())
    }

    /// Moves to the next line that is not blank or a comment; false at the end.
    pub fn advance(&mut self) -> bool {
        loop {
            if self.read_line().is_none() {
                return false;
            }
            if self.error.is_some() {
                return true;
            }
            let trimmed = self.text.trim();
            if !trimmed.is_empty() && !trimmed.starts_with('#') {
                let start = trimmed.as_ptr() as usize - self.text.as_ptr() as usize;
                self.trimmed = (start, start + trimmed.len());
                return true;
            }
        }
    }

    /// The current line, trimmed (empty before the first [`UrlLines::advance`]), or why
    /// it is not text.
    pub fn line(&self) -> Result<&str, &LineError> {
        match &self.error {
            Some(error) => Err(error),
            None => Ok(self.text.get(self.trimmed.0..self.trimmed.1).unwrap_or("")),
        }
    }

    /// Takes the error of the current line, if it is one (the line then reads as empty).
    pub fn take_error(&mut self) -> Option<LineError> {
        self.error.take()
    }

    /// Where the current line came from, for its error message.
    pub fn origin(&self) -> Origin {
        Origin::Line(Arc::clone(&self.source), self.number)
    }

    /// Reads the next line, whatever it holds, into `text` (or `error`); `None` at the
    /// end. A comment that is not UTF-8 is still a comment: it is skipped. At most
    /// [`MAX_LINE`] bytes and a newline are read.
    fn read_line(&mut self) -> Option<()> {
        // The line before lent its buffer to `text` (no copy): take it back.
        if self.bytes.capacity() < self.text.capacity() {
            self.bytes = std::mem::take(&mut self.text).into_bytes();
        }
        self.bytes.clear();
        self.text.clear();
        self.trimmed = (0, 0);
        self.error = None;
        if self.ended {
            return None;
        }
        self.number += 1;
        let limit = MAX_LINE as u64 + 1;
        match (&mut self.reader)
            .take(limit)
            .read_until(b'\n', &mut self.bytes)
        {
            Ok(0) => return None,
            Ok(n) if n > MAX_LINE && self.bytes.last() != Some(&b'\n') => {
                self.error = Some(LineError::TooLong);
                self.ended = true;
            }
            Ok(_) => match String::from_utf8(std::mem::take(&mut self.bytes)) {
                // The buffer becomes the text, checked once and not copied.
                Ok(text) => self.text = text,
                Err(e) => {
                    self.bytes = e.into_bytes();
                    if !self.bytes.trim_ascii_start().starts_with(b"#") {
                        self.error = Some(LineError::NotUtf8);
                    }
                }
            },
            Err(e) => {
                self.error = Some(LineError::Unreadable(e));
                self.ended = true;
            }
        }
        Some(())
    }
}

#[cfg(test)]
mod tests;
