//! The `number=PARAM` paging style: `GET` LIST_URL with PARAM=1, 2, 3, ... until a page
//! with no items.
//!
//! Every page's address is known from the start, so up to `--lookahead K` later pages
//! are asked ahead of the answers. The lowest page number that answered empty is the end;
//! pages asked beyond it are counted as extra (wasted lookahead), the probe at the end
//! is not. [`BARREN_PAGES`](super::BARREN_PAGES) pages in a row with items but no new id
//! (a server that ignores PARAM) end the listing with an error.
//!
//! ```text
//!   K = 2:  ask 1 2 3 │ 1 answered → ask 4 │ ... │ 7 empty → end = 7, 8 9 are extra
//! ```
//!
//! Layer: `protocol`; may use [`crate::protocol::http`], [`crate::protocol::url`] (see
//! `src/protocol/mod.rs`).

use super::asked::Asked;
use super::items::{with_query_param, Items, Tally};
use super::{PageAsk, PageError, PageId, PageOutcome, PagerStats, Paging};
use crate::protocol::http::ResponseHead;
use crate::protocol::url::Url;

/// The pager of the `number=PARAM` style.
#[derive(Debug)]
pub struct NumberPager {
    items: Items,
    /// LIST_URL with `--page-size` set.
    list_url: Url,
    param: String,
    lookahead: u32,
    /// The next page number never asked.
    frontier: u64,
    /// The pages asked for and not yet answered.
    outstanding: Asked,
    /// The lowest page number that answered empty.
    end: Option<u64>,
    /// Numbers of the pages answered, for the extra-page count.
    answered: Vec<u64>,
    failed: bool,
    tally: Tally,
}

impl NumberPager {
    /// Pages of `list_url` numbered in query parameter `param` from 1, `size` set on
    /// each, up to `lookahead` pages ahead.
    pub fn new(
        list_url: Url,
        param: String,
        size: Option<(String, u32)>,
        lookahead: u32,
        items: Items,
    ) -> NumberPager {
        let list_url = match size {
            Some((p, n)) => with_query_param(&list_url, &p, &n.to_string()),
            None => list_url,
        };
        NumberPager {
            items,
            list_url,
            param,
            lookahead,
            frontier: 1,
            outstanding: Asked::default(),
            end: None,
            answered: Vec::new(),
            failed: false,
            tally: Tally::default(),
        }
    }

    fn read(&mut self, number: u64, url: &Url, body: &[u8]) -> Result<PageOutcome, PageError> {
        let mut doc = Items::parse(body)?;
        let values = self.items.values(&mut doc, url)?;
        let held = !values.is_empty();
        self.answered.push(number);
        if !held {
            self.end = Some(self.end.map_or(number, |end| end.min(number)));
        }
        let outcome = self.tally.take(values);
        self.tally.check_progress(&outcome, held, url)?;
        Ok(outcome)
    }

    fn fail(&mut self) {
        self.failed = true;
        self.tally.stats.pages_failed += 1;
    }
}

impl Paging for NumberPager {
    fn next_page(&mut self) -> Option<PageAsk> {
        if self.failed
            || self.outstanding.len() > self.lookahead as usize
            || self.end.is_some_and(|end| self.frontier >= end)
        {
            return None;
        }
        let number = self.frontier;
        self.frontier += 1;
        let url = with_query_param(&self.list_url, &self.param, &number.to_string());
        self.tally.stats.pages_requested += 1;
        Some(self.outstanding.ask(number, url))
    }

    fn on_answer(
        &mut self,
        page: PageId,
        moved_to: Option<&Url>,
        _head: &ResponseHead,
        body: &[u8],
    ) -> Result<PageOutcome, PageError> {
        let (number, url) = self.outstanding.answered(page)?;
        let base = moved_to.unwrap_or(&url);
        self.read(number, base, body).inspect_err(|_| self.fail())
    }

    fn on_failed(&mut self, page: PageId) {
        if self.outstanding.failed(page) {
            self.fail();
        }
    }

    fn is_done(&self) -> bool {
        self.outstanding.is_empty()
            && (self.failed || self.end.is_some_and(|end| self.frontier >= end))
    }

    fn stats(&self) -> PagerStats {
        let extra = self.end.map_or(0, |end| {
            self.answered.iter().filter(|&&n| n > end).count() as u64
        });
        PagerStats {
            extra_pages: extra,
            end: self.end,
            complete: self.is_done() && !self.failed,
            ..self.tally.stats
        }
    }
}
