//! The `offset=PARAM` paging style: `GET` LIST_URL with PARAM=0, n, 2n, ... until a page
//! with no items.
//!
//! Without lookahead the offset advances by the items each page brought, so a server
//! that caps the page size, or sends pages of any size, is read exactly. With
//! `--lookahead K` the first page is asked alone; its count n is the step, and up to K
//! later offsets are asked ahead. A page at `o` that brings m < n items leaves the gap
//! `o+m`, asked first (as `more` does for a capped server); overlapping items are
//! dropped by the exactly-once set. The lowest offset that answered empty is the end;
//! pages asked at or beyond it, but the probe itself, count as extra.
//!
//! ```text
//!   K = 2, n = 5:  0 │ 5 10 15 │ 10 brought 3 → gap 13 first │ 20 empty → end ≤ 20
//! ```
//!
//! Layer: `protocol`; may use [`crate::protocol::http`], [`crate::protocol::url`] (see
//! `src/protocol/mod.rs`).

use std::collections::HashSet;

use super::asked::Asked;
use super::items::{with_query_param, Items, Tally};
use super::{PageAsk, PageError, PageId, PageOutcome, PagerStats, Paging};
use crate::protocol::http::ResponseHead;
use crate::protocol::url::Url;

/// The pager of the `offset=PARAM` style.
#[derive(Debug)]
pub struct OffsetPager {
    items: Items,
    /// LIST_URL with `--page-size` set.
    list_url: Url,
    param: String,
    lookahead: u32,
    /// The next offset at the frontier.
    frontier: u64,
    /// The first page's count, once known (with lookahead).
    step: Option<u64>,
    /// Offsets below the frontier left by short pages, asked first.
    gaps: Vec<u64>,
    /// Every offset asked, so none is asked twice.
    asked_offsets: HashSet<u64>,
    /// The pages asked for and not yet answered.
    outstanding: Asked,
    /// The lowest offset that answered empty.
    end: Option<u64>,
    /// Offsets of the pages answered, for the extra-page count.
    answered: Vec<u64>,
    failed: bool,
    tally: Tally,
}

impl OffsetPager {
    /// Pages of `list_url` at offsets in query parameter `param` from 0, `size` set on
    /// each, up to `lookahead` pages ahead.
    pub fn new(
        list_url: Url,
        param: String,
        size: Option<(String, u32)>,
        lookahead: u32,
        items: Items,
    ) -> OffsetPager {
        let list_url = match size {
            Some((p, n)) => with_query_param(&list_url, &p, &n.to_string()),
            None => list_url,
        };
        OffsetPager {
            items,
            list_url,
            param,
            lookahead,
            frontier: 0,
            step: None,
            gaps: Vec::new(),
            asked_offsets: HashSet::new(),
            outstanding: Asked::default(),
            end: None,
            answered: Vec::new(),
            failed: false,
            tally: Tally::default(),
        }
    }

    fn below_end(&self, offset: u64) -> bool {
        self.end.is_none_or(|end| offset < end)
    }

    /// The next offset to ask now, if any.
    fn take_offset(&mut self) -> Option<u64> {
        if self.failed || self.outstanding.len() > self.lookahead as usize {
            return None;
        }
        let end = self.end;
        self.gaps.retain(|&gap| end.is_none_or(|end| gap < end));
        if let Some(gap) = self.gaps.pop() {
            return Some(gap);
        }
        // Sequential (no lookahead, or the step not known yet): one page at a time.
        if (self.lookahead == 0 || self.step.is_none()) && !self.outstanding.is_empty() {
            return None;
        }
        if !self.below_end(self.frontier) || self.asked_offsets.contains(&self.frontier) {
            return None;
        }
        let offset = self.frontier;
        if self.lookahead > 0 {
            if let Some(step) = self.step {
                self.frontier = self.frontier.saturating_add(step);
            }
        }
        Some(offset)
    }

    fn read(&mut self, offset: u64, url: &Url, body: &[u8]) -> Result<PageOutcome, PageError> {
        let mut doc = Items::parse(body)?;
        let values = self.items.values(&mut doc, url)?;
        let got = values.len() as u64;
        self.answered.push(offset);
        if got == 0 {
            self.end = Some(self.end.map_or(offset, |end| end.min(offset)));
        } else if self.lookahead == 0 {
            self.frontier = offset.saturating_add(got);
        } else if let Some(step) = self.step {
            let gap = offset.saturating_add(got);
            if got < step && self.below_end(gap) && !self.asked_offsets.contains(&gap) {
                self.gaps.push(gap);
            }
        } else {
            self.step = Some(got);
            self.frontier = offset.saturating_add(got);
        }
        let outcome = self.tally.take(values);
        self.tally.check_progress(&outcome, got > 0, url)?;
        Ok(outcome)
    }

    fn fail(&mut self) {
        self.failed = true;
        self.tally.stats.pages_failed += 1;
    }
}

impl Paging for OffsetPager {
    fn next_page(&mut self) -> Option<PageAsk> {
        let offset = self.take_offset()?;
        self.asked_offsets.insert(offset);
        let url = with_query_param(&self.list_url, &self.param, &offset.to_string());
        self.tally.stats.pages_requested += 1;
        Some(self.outstanding.ask(offset, url))
    }

    fn on_answer(
        &mut self,
        page: PageId,
        moved_to: Option<&Url>,
        _head: &ResponseHead,
        body: &[u8],
    ) -> Result<PageOutcome, PageError> {
        let (offset, url) = self.outstanding.answered(page)?;
        let base = moved_to.unwrap_or(&url);
        self.read(offset, base, body).inspect_err(|_| self.fail())
    }

    fn on_failed(&mut self, page: PageId) {
        if self.outstanding.failed(page) {
            self.fail();
        }
    }

    fn is_done(&self) -> bool {
        if !self.outstanding.is_empty() {
            return false;
        }
        if self.failed {
            return true;
        }
        let Some(end) = self.end else {
            return false;
        };
        !self.gaps.iter().any(|&gap| gap < end)
            && (self.frontier >= end || self.asked_offsets.contains(&self.frontier))
    }

    fn stats(&self) -> PagerStats {
        let extra = self.end.map_or(0, |end| {
            let beyond = self.answered.iter().filter(|&&o| o >= end).count() as u64;
            beyond.saturating_sub(1)
        });
        PagerStats {
            extra_pages: extra,
            end: self.end,
            complete: self.is_done() && !self.failed,
            ..self.tally.stats
        }
    }
}
