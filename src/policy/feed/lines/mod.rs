//! The lines of a URL list (`-i FILE`, `-i -`), read into one reused buffer.
//!
//! A list is read twice: once by `run::prepare_get`, to check every line before anything
//! is downloaded, and once by the feed as the run goes. Both passes read it through
//! [`UrlLines`], so they skip and trim the same lines and count them alike. A line is
//! lent out as a `&str` into the reader's own buffer, valid until the next line is
//! read: reading a line allocates nothing once the buffer has grown to the longest one.
//!
//! The rules: lines end at `\n`; surrounding whitespace (a `\r` too) is trimmed; blank
//! lines and `#` comments are skipped. A line that is not UTF-8 is lent with each bad
//! sequence replaced by U+FFFD, and a line that cannot be read at all as
//! `<unreadable: ERROR>`, so that either fails as a URL, with a message naming the line,
//! rather than vanishing.
//!
//! Layer: `policy`; may use `protocol` and `model` (see `src/policy/mod.rs`).

use std::io::BufRead;
use std::sync::Arc;

use super::Origin;

/// The URL lines of one reader, lent one at a time.
pub struct UrlLines<R> {
    /// The name errors give the list (`FILE` or `stdin`).
    source: Arc<str>,
    reader: R,
    /// The raw bytes of the current line, newline included; reused for every line.
    bytes: Vec<u8>,
    /// The current line as text (repaired if need be), untrimmed; reused too.
    text: String,
    /// The number of the current line, from 1.
    number: usize,
}

impl<R: BufRead> UrlLines<R> {
    /// The lines of `reader`, whose errors will name `source`.
    pub fn new(source: Arc<str>, reader: R) -> UrlLines<R> {
        UrlLines {
            source,
            reader,
            bytes: Vec::new(),
            text: String::new(),
            number: 0,
        }
    }

    /// The next line that is not blank or a comment, trimmed; `None` at the end.
    pub fn next_line(&mut self) -> Option<&str> {
        self.advance().then(|| self.line())
    }

    /// Moves to the next line that is not blank or a comment; false at the end.
    pub fn advance(&mut self) -> bool {
        loop {
            if self.read_line().is_none() {
                return false;
            }
            let trimmed = self.text.trim();
            if !trimmed.is_empty() && !trimmed.starts_with('#') {
                return true;
            }
        }
    }

    /// The current line, trimmed (empty before the first [`UrlLines::advance`]).
    pub fn line(&self) -> &str {
        self.text.trim()
    }

    /// Where the current line came from, for its error message.
    pub fn origin(&self) -> Origin {
        Origin::Line(Arc::clone(&self.source), self.number)
    }

    /// Reads the next line, whatever it holds, into `text`; `None` at the end.
    fn read_line(&mut self) -> Option<()> {
        self.bytes.clear();
        self.text.clear();
        self.number += 1;
        match self.reader.read_until(b'\n', &mut self.bytes) {
            Ok(0) => return None,
            Ok(_) => match std::str::from_utf8(&self.bytes) {
                Ok(text) => self.text.push_str(text),
                Err(_) => self.text.push_str(&String::from_utf8_lossy(&self.bytes)),
            },
            Err(e) => {
                use std::fmt::Write;
                let _ = write!(self.text, "<unreadable: {e}>");
            }
        }
        Some(())
    }
}

#[cfg(test)]
mod tests;
