//! The pages of a `GET` style asked for and not yet answered: what `number` and
//! `offset` share. Each ask gets the next [`PageId`] and keeps the position it asked
//! for (a page number or an offset) and its URL, so an answer or a failure, in any order,
//! finds them again.
//!
//! Layer: `protocol`; may use [`crate::protocol::http`], [`crate::protocol::url`] (see
//! `src/protocol/mod.rs`).

use super::{PageAsk, PageError, PageId};
use crate::protocol::http::Method;
use crate::protocol::url::Url;

/// Pages asked for and not yet answered or failed, with the ids they were given.
#[derive(Debug, Default)]
pub struct Asked {
    /// The id the next ask gets.
    next_id: u64,
    /// Each outstanding page: its id, its position (number or offset) and its URL.
    pages: Vec<(PageId, u64, Url)>,
}

impl Asked {
    /// Asks for the page at `position`, at `url`.
    pub fn ask(&mut self, position: u64, url: Url) -> PageAsk {
        let id = PageId(self.next_id);
        self.next_id += 1;
        self.pages.push((id, position, url.clone()));
        PageAsk {
            id,
            method: Method::Get,
            url: Some(url),
            body: None,
        }
    }

    /// The page `page` answered: its position and URL, no longer outstanding.
    pub fn answered(&mut self, page: PageId) -> Result<(u64, Url), PageError> {
        let index = (self.pages.iter())
            .position(|(id, _, _)| *id == page)
            .ok_or(PageError::UnknownPage(page))?;
        let (_, position, url) = self.pages.swap_remove(index);
        Ok((position, url))
    }

    /// The page `page` failed: true if it was outstanding (and is no longer).
    pub fn failed(&mut self, page: PageId) -> bool {
        let index = self.pages.iter().position(|(id, _, _)| *id == page);
        index.map(|index| self.pages.swap_remove(index)).is_some()
    }

    /// How many pages are outstanding.
    pub fn len(&self) -> usize {
        self.pages.len()
    }

    /// Whether no page is outstanding.
    pub fn is_empty(&self) -> bool {
        self.pages.is_empty()
    }
}
