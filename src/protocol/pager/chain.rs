//! The chained `GET` styles' shared pager: one page at a time, each page naming the next.
//!
//! `link`, `next=POINTER` and `cursor=POINTER,PARAM` differ only in where an answered
//! page says what comes next (a `Link` header, a URL in the body, a cursor in the body);
//! each is a [`Chain`] in its own file, and [`ChainPager`] does the rest: it asks the
//! list URL, then each next URL in turn, never two at once (the next address is known
//! only once the page before has been read, so `--lookahead` cannot help: these styles
//! are *chained*, `pages_chained` in `--json`). The one exception: a first page that
//! makes every later address known ([`Chain::plan`], `link`'s `rel="last"`); then the
//! pages of its [`Plan`] are asked up to `--lookahead` ahead. A next URL already asked ends the listing
//! with an error naming it, so a list that loops cannot spin; so do
//! [`BARREN_PAGES`](super::BARREN_PAGES) pages in a row without a new id.
//!
//! ```text
//!   LIST_URL ──► page 1 ──(next?)──► page 2 ──(next?)──► ... ──(none)──► done
//!                                      └─ seen before ──► error
//! ```
//!
//! Layer: `protocol`; may use [`crate::protocol::http`], [`crate::protocol::url`] (see
//! `src/protocol/mod.rs`).

use std::collections::HashSet;

use serde_json::Value;

use super::items::{with_query_param, Items, Tally};
use super::{PageAsk, PageError, PageId, PageOutcome, PagerStats, Paging};
use crate::protocol::http::{Method, ResponseHead};
use crate::protocol::url::Url;

/// Where a chained style reads the address of the next page.
pub trait Chain: std::fmt::Debug + Send {
    /// The next page after the page at `page_url` answered `head` and `doc`, or `None`
    /// when the list has ended.
    fn next_url(
        &self,
        list_url: &Url,
        page_url: &Url,
        head: &ResponseHead,
        doc: &Value,
    ) -> Result<Option<Url>, PageError>;

    /// After the first page: the later pages, when its answer makes all of their
    /// addresses known (`link`'s `rel="last"`), so they can be asked ahead. `None` (the
    /// default): chained.
    fn plan(&self, _page_url: &Url, _head: &ResponseHead) -> Option<Plan> {
        None
    }
}

/// Pages known in advance: `prefix`, a number from `next` to `last`, `suffix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The URL before the page number.
    pub prefix: String,
    /// The URL after the page number.
    pub suffix: String,
    /// The next page's number.
    pub next: u64,
    /// The last page's number.
    pub last: u64,
}

impl Plan {
    /// The next planned page's URL, if any is left.
    fn take(&mut self) -> Option<Url> {
        while self.next <= self.last {
            let n = self.next;
            self.next += 1;
            if let Ok(url) = Url::parse(&format!("{}{n}{}", self.prefix, self.suffix)) {
                return Some(url);
            }
        }
        None
    }
}

/// A chained paging style: the [`Chain`] says where the next page is.
#[derive(Debug)]
pub struct ChainPager<C: Chain> {
    chain: C,
    items: Items,
    list_url: Url,
    /// `--page-size PARAM=N`, set on every page asked.
    size: Option<(String, String)>,
    /// The page to ask next, if it is not asked yet.
    next: Option<Url>,
    /// Pages asked and not yet answered, with their ids (one, unless planned).
    outstanding: Vec<(PageId, Url)>,
    /// `--lookahead K`: used only once a [`Plan`] is known.
    lookahead: u32,
    /// The later pages, once the first page made them known.
    plan: Option<Plan>,
    /// Every page URL asked: a next URL among them is a loop.
    asked: HashSet<String>,
    next_id: u64,
    failed: bool,
    tally: Tally,
}

impl<C: Chain> ChainPager<C> {
    /// A pager starting at `list_url` (`size` set on every page), reading items as `items` says and next pages as
    /// `chain` says.
    pub fn new(
        chain: C,
        list_url: Url,
        items: Items,
        size: Option<(String, u32)>,
    ) -> ChainPager<C> {
        ChainPager::with_lookahead(chain, list_url, items, size, 0)
    }

    /// [`ChainPager::new`], asking up to `lookahead` pages ahead once the first page
    /// makes the later ones known ([`Chain::plan`]).
    pub fn with_lookahead(
        chain: C,
        list_url: Url,
        items: Items,
        size: Option<(String, u32)>,
        lookahead: u32,
    ) -> ChainPager<C> {
        let size = size.map(|(param, n)| (param, n.to_string()));
        let list_url = match &size {
            Some((param, n)) => with_query_param(&list_url, param, n),
            None => list_url,
        };
        ChainPager {
            chain,
            items,
            size,
            next: Some(list_url.clone()),
            list_url,
            outstanding: Vec::new(),
            lookahead,
            plan: None,
            asked: HashSet::new(),
            next_id: 0,
            failed: false,
            tally: Tally::default(),
        }
    }

    fn fail(&mut self, error: PageError) -> PageError {
        self.failed = true;
        self.next = None;
        self.tally.stats.pages_failed += 1;
        error
    }

    fn read(
        &mut self,
        page_url: &Url,
        head: &ResponseHead,
        body: &[u8],
    ) -> Result<PageOutcome, PageError> {
        let mut doc = Items::parse(body)?;
        let first = self.tally.stats.pages_answered == 0;
        let next = self.chain.next_url(&self.list_url, page_url, head, &doc)?;
        if first && self.lookahead > 0 && next.is_some() {
            self.plan = self.chain.plan(page_url, head);
        }
        // A planned list's pages are all known: their own next links add nothing.
        let next = if self.plan.is_some() { None } else { next };
        let values = self.items.values(&mut doc, page_url)?;
        let outcome = self.tally.take(values);
        self.tally.check_progress(&outcome, true, page_url)?;
        if let Some(next) = next {
            let next = match &self.size {
                Some((param, n)) => with_query_param(&next, param, n),
                None => next,
            };
            if self.asked.contains(next.to_string().as_str()) {
                return Err(PageError::SeenBefore {
                    page: self.tally.stats.pages_answered,
                    url: next.to_string(),
                });
            }
            self.next = Some(next);
        }
        Ok(outcome)
    }
}

impl<C: Chain> Paging for ChainPager<C> {
    fn next_page(&mut self) -> Option<PageAsk> {
        let room = if self.plan.is_some() {
            1 + self.lookahead as usize
        } else {
            1
        };
        if self.failed || self.outstanding.len() >= room {
            return None;
        }
        let url = match &mut self.plan {
            Some(plan) => {
                let url = plan.take()?;
                match &self.size {
                    Some((param, n)) => with_query_param(&url, param, n),
                    None => url,
                }
            }
            None => self.next.take()?,
        };
        let id = PageId(self.next_id);
        self.next_id += 1;
        self.asked.insert(url.to_string());
        self.outstanding.push((id, url.clone()));
        self.tally.stats.pages_requested += 1;
        Some(PageAsk {
            id,
            method: Method::Get,
            url: Some(url),
            body: None,
        })
    }

    fn on_answer(
        &mut self,
        page: PageId,
        moved_to: Option<&Url>,
        head: &ResponseHead,
        body: &[u8],
    ) -> Result<PageOutcome, PageError> {
        let index = (self.outstanding.iter())
            .position(|(id, _)| *id == page)
            .ok_or(PageError::UnknownPage(page))?;
        let (_, url) = self.outstanding.swap_remove(index);
        let base = moved_to.unwrap_or(&url);
        self.read(base, head, body).map_err(|e| self.fail(e))
    }

    fn on_failed(&mut self, page: PageId) {
        if let Some(index) = self.outstanding.iter().position(|(id, _)| *id == page) {
            self.outstanding.swap_remove(index);
            let _ = self.fail(PageError::UnknownPage(page));
        }
    }

    fn is_done(&self) -> bool {
        let planned_left = self.plan.as_ref().is_some_and(|p| p.next <= p.last);
        self.outstanding.is_empty() && (self.failed || (self.next.is_none() && !planned_left))
    }

    fn stats(&self) -> PagerStats {
        PagerStats {
            complete: self.is_done() && !self.failed,
            ..self.tally.stats
        }
    }

    fn chained(&self) -> bool {
        self.plan.is_none()
    }
}
