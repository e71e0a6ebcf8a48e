//! The `more` paging style: the seed's list API, `POST` a form, read `More`.
//!
//! The list API (docs/reference.md §1) answers `POST list_url` with form body
//! `start=S&per_page=P` by `{"urls": [id, ...]}` and a header `More: True|False`. The
//! number of pages is not known in advance and the server may cap `per_page` below
//! what was asked. The pager turns that into a stream of page requests and a stream of
//! new ids, each id handed out exactly once. It knows no sockets and no clock: the
//! engine asks [`MorePager::next_request`] for pages, sends them through the same
//! connection pool as the downloads, and feeds each answer to [`MorePager::on_page`] (or
//! reports a page lost for good with [`MorePager::on_page_failed`]). So the whole
//! discovery logic is tested here by feeding answers in any order, no sockets.
//!
//! Offsets, with lookahead K (at most `1 + K` pages outstanding at once):
//!
//! ```text
//!   start                                                   frontier
//!     │                                                        │
//!     [ answered ][ asked ][gap][ asked ][ asked ][ asked ]    │ not asked yet ...
//!                  └─────── at most 1 + K outstanding ───────┘ │
//!                          ▲                                   ▼ next page: [frontier, +per_page)
//!      a capped page answered n < asked ids: [S+n, S+asked) is a gap, asked again first,
//!      and per_page becomes n from then on (the learned cap)
//! ```
//!
//! What the pager knows about the end of the list:
//!
//! ```text
//!            More: false (end = S+n), a short page without More (end = S+n),
//!            an empty page (end = S, whatever More says)
//!   Open ───────────────────────────────────────────► Bounded { end }
//!     │                                                 │  only gaps below `end` are still
//!     │  on_page_failed, or a malformed page            │  asked; pages at or beyond it that
//!     └─────────────────► Failed ◄──────────────────────┘  answer count as extra pages
//!                  (asks nothing more, incomplete)
//!
//!   is_done(): nothing outstanding and nothing left to ask.
//! ```
//!
//! Decisions on the open points of the contract:
//! - The next page starts where the ids that arrived end (`S + n`), not where the asked
//!   range ends. Without lookahead the frontier is simply pulled back to `S + n`; with
//!   lookahead the pages beyond are already out, so `[S+n, S+asked)` becomes a gap.
//! - `n` counts every entry of the `urls` array, rejected and duplicate entries too: they
//!   hold positions of the list. Entries beyond what was asked are accepted as ids but
//!   do not move any range.
//! - `More` absent (or unreadable, see [`parse_more`]): there is more iff the page was
//!   full (`n == asked`), the only safe reading of a server that does not say. So a server
//!   that caps `per_page` *and* sends no `More` looks as if the list ended after its first
//!   short page; ask for at most its cap.
//! - An empty page ends the list at its start even if `More: True`. Pages beyond it that
//!   were already out are still read: any genuine new ids they bring are handed out
//!   (never lose an id the server gave), but they count as extra pages.
//! - A page is *extra* when it lies at or beyond the final end; the one empty page that
//!   alone proved the end (a probe after a full last page without `More: False`) is
//!   needed, not extra.
//! - A malformed page ([`PageError`]) fails the listing like [`MorePager::on_page_failed`].
//! - [`BARREN_PAGES`] answered pages in a row that bring no new id while the list is still
//!   open (every entry a duplicate or rejected, and `More` says there is more) fail the
//!   listing with [`PageError::NoNewIds`], naming the page: a server answering the same
//!   page with `More: True` forever ends. The files already found still download.
//!
//! Memory: the set of ids already seen grows with the number of distinct ids (a 16-byte
//! `Box<str>` in a table about 70% full, plus the id's own allocation: about 60 bytes
//! for a 7-character id, 80 for a 32-character one), because handing each id out exactly once across pages
//! needs it. A million ids cost on the order of 100 MB. Beside it the pager keeps the
//! start of every answered page (8 bytes a page, to count extra pages) and at most a few
//! gaps per outstanding page; bodies are not kept.
//!
//! Layer: `protocol`; may use nothing else of the crate (see `src/protocol/mod.rs`).

#[cfg(test)]
mod tests;

use std::collections::{HashSet, VecDeque};
use std::ops::Range;

use serde_json::Value;

use super::ids;
use super::{PageAsk, PageError, PageId, PageOutcome, PagerStats, Paging};
use crate::protocol::http::{Method, ResponseHead};

/// Answered pages in a row that bring no new id, while the list says it has more, after
/// which the listing fails (docs/reference.md, "Bounds"). Three: one page of duplicates
/// can be a list that shifted under us, two a coincidence; a third is a server going
/// round in circles. The ids already found are still downloaded.
pub const BARREN_PAGES: u32 = 3;

/// One page to ask the list API for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PageRequest {
    /// The offset of the first item wanted.
    pub start: u64,
    /// How many items are wanted; the server may answer fewer.
    pub per_page: u32,
}

impl PageRequest {
    /// The form body of the `POST`: `start=S&per_page=P`.
    pub fn form_body(&self) -> String {
        format!("start={}&per_page={}", self.start, self.per_page)
    }
}

/// Reads the `More` header: `true`/`false` in any case, or `1`/`0`, surrounding
/// whitespace ignored. Anything else, or no header, is `None`: the pager then decides by
/// whether the page was full.
pub fn parse_more(value: Option<&str>) -> Option<bool> {
    let value = value?.trim();
    if value.eq_ignore_ascii_case("true") || value == "1" {
        Some(true)
    } else if value.eq_ignore_ascii_case("false") || value == "0" {
        Some(false)
    } else {
        None
    }
}

/// How the end of the list became known; decides whether the page at the end was extra.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EndProof {
    /// A page with ids said it was the last (`More: False`, or short without `More`).
    LastPage,
    /// Only an empty page at the end said so: that probe was needed.
    EmptyPage,
}

/// The end of the list: an exclusive offset and how we know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct End {
    at: u64,
    proof: EndProof,
}

/// What the pager knows about the end of the list (see the module diagram).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Listing {
    /// No page has said where the list ends: keep laying pages at the frontier.
    Open,
    /// The list ends at `end`: only gaps below it are still asked for.
    Bounded(End),
    /// A page failed for good: nothing more is asked. The end is kept if it was known,
    /// for the extra-page count.
    Failed(Option<End>),
}

impl Listing {
    fn end(self) -> Option<End> {
        match self {
            Listing::Open => None,
            Listing::Bounded(end) => Some(end),
            Listing::Failed(end) => end,
        }
    }
}

/// The sans-IO pager of the `more` style: which pages to ask for, and which ids they
/// brought.
#[derive(Debug)]
pub struct MorePager {
    /// The pages handed out through [`Paging::next_page`], by the id they were given.
    asked: Vec<(PageId, PageRequest)>,
    /// The id of the next page handed out.
    next_id: u64,
    /// The page size asked for at the frontier; shrinks to the server's cap once learned.
    per_page: u32,
    /// How many pages may be outstanding beyond the first.
    lookahead: u32,
    /// The first offset never asked for.
    frontier: u64,
    /// Ranges below the frontier that a capped page left unanswered, asked for first.
    gaps: VecDeque<Range<u64>>,
    /// Pages asked for and not yet answered (at most `1 + lookahead`).
    outstanding: Vec<PageRequest>,
    listing: Listing,
    /// Every id handed out so far: exactly-once across pages (grows with the list). A
    /// `Box<str>` is 8 bytes smaller in the table than a `String` (no capacity).
    seen: HashSet<Box<str>>,
    /// Answered pages in a row, while the list is open, that brought no new id
    /// ([`BARREN_PAGES`] of them end the listing).
    barren: u32,
    /// How many such pages end the listing: [`BARREN_PAGES`] (tests may lift it).
    barren_limit: u32,
    /// The start of every answered page, to count the extra ones once the end is known.
    answered_starts: Vec<u64>,
    /// Counters; `extra_pages`, `end` and `complete` are computed in [`MorePager::stats`].
    stats: PagerStats,
}

impl MorePager {
    /// A pager reading the list from offset `start`, `per_page` items a page (0 counts
    /// as 1), with up to `lookahead` pages asked for ahead of the answers.
    pub fn new(start: u64, per_page: u32, lookahead: u32) -> MorePager {
        let per_page = per_page.max(1);
        MorePager {
            asked: Vec::new(),
            next_id: 0,
            per_page,
            lookahead,
            frontier: start,
            gaps: VecDeque::new(),
            outstanding: Vec::new(),
            listing: Listing::Open,
            seen: HashSet::new(),
            barren: 0,
            barren_limit: BARREN_PAGES,
            answered_starts: Vec::new(),
            stats: PagerStats {
                per_page,
                ..PagerStats::default()
            },
        }
    }

    /// The pager, ending the listing after `limit` pages in a row without a new id
    /// instead of [`BARREN_PAGES`] (a test of something else lifts it).
    #[cfg(test)]
    pub(crate) fn barren_limit(mut self, limit: u32) -> MorePager {
        self.barren_limit = limit;
        self
    }

    /// The next page to ask for now, if any: gaps first, then the frontier, at most
    /// `1 + lookahead` pages outstanding at once. Call until `None`, and again after
    /// each answer.
    pub fn next_request(&mut self) -> Option<PageRequest> {
        if self.outstanding.len() > self.lookahead as usize {
            return None;
        }
        let req = self.take_next_range()?;
        self.outstanding.push(req);
        self.stats.pages_requested += 1;
        Some(req)
    }

    /// An answer to `req` arrived, with its body and the parsed `More` header (`None` if
    /// absent, see [`parse_more`]). Returns the ids never handed out before, in order,
    /// and the rejected entries. A malformed body fails the listing (no retry helps).
    pub fn on_page(
        &mut self,
        req: PageRequest,
        body: &[u8],
        more: Option<bool>,
    ) -> Result<PageOutcome, PageError> {
        let index = self
            .outstanding
            .iter()
            .position(|r| *r == req)
            .ok_or(PageError::NotOutstanding(req))?;
        self.outstanding.swap_remove(index);
        let entries = match urls_of(body) {
            Ok(entries) => entries,
            Err(e) => {
                self.fail();
                return Err(e);
            }
        };
        self.stats.pages_answered += 1;
        self.answered_starts.push(req.start);
        self.learn(req, entries.len() as u64, more);

        let mut outcome = PageOutcome::default();
        for entry in entries {
            match ids::take_id(entry) {
                Ok(id) if self.seen.contains(id.as_str()) => outcome.duplicates += 1,
                Ok(id) => {
                    self.seen.insert(id.as_str().into());
                    outcome.new_ids.push(id);
                }
                Err(rejected) => outcome.rejected.push(rejected),
            }
        }
        self.stats.ids += outcome.new_ids.len() as u64;
        self.stats.duplicates += u64::from(outcome.duplicates);
        self.stats.rejected += outcome.rejected.len() as u64;
        self.check_progress(req, &outcome)?;
        Ok(outcome)
    }

    /// Counts the pages in a row that brought no new id while the list is still open (a
    /// page at or beyond a known end is not counted, nor does it break the row); at
    /// [`BARREN_PAGES`] the listing fails: a server that answers the same page with
    /// `More: True` forever would otherwise be asked forever.
    fn check_progress(&mut self, req: PageRequest, outcome: &PageOutcome) -> Result<(), PageError> {
        if !outcome.new_ids.is_empty() {
            self.barren = 0;
            return Ok(());
        }
        if self.listing != Listing::Open {
            return Ok(());
        }
        self.barren += 1;
        if self.barren < self.barren_limit {
            return Ok(());
        }
        self.fail();
        Err(PageError::NoNewIds {
            page: self.stats.pages_answered,
            start: req.start,
            in_a_row: self.barren,
        })
    }

    /// The page `req` failed for good (retries exhausted): the pager asks for nothing
    /// more and reports itself incomplete. Pages still outstanding may still be answered.
    /// A page that is not outstanding is ignored.
    pub fn on_page_failed(&mut self, req: PageRequest) {
        if let Some(index) = self.outstanding.iter().position(|r| *r == req) {
            self.outstanding.swap_remove(index);
            self.fail();
        }
    }

    /// Nothing outstanding and nothing left to ask: the listing is over (complete or not,
    /// see [`PagerStats::complete`]).
    pub fn is_done(&self) -> bool {
        self.outstanding.is_empty() && !self.has_more_to_ask()
    }

    /// The counters so far.
    pub fn stats(&self) -> PagerStats {
        let end = self.listing.end();
        let extra_pages = end.map_or(0, |end| {
            let beyond = self
                .answered_starts
                .iter()
                .filter(|&&s| s >= end.at)
                .count() as u64;
            match end.proof {
                EndProof::EmptyPage => beyond.saturating_sub(1),
                EndProof::LastPage => beyond,
            }
        });
        PagerStats {
            per_page: self.per_page,
            extra_pages,
            end: end.map(|end| end.at),
            complete: self.is_done() && matches!(self.listing, Listing::Bounded(_)),
            ..self.stats
        }
    }

    /// Whether any range is still to be asked for, ignoring the outstanding limit.
    fn has_more_to_ask(&self) -> bool {
        match self.listing {
            Listing::Failed(_) => false,
            Listing::Open => true,
            Listing::Bounded(end) => !self.gaps.is_empty() || self.frontier < end.at,
        }
    }

    /// Takes the next range to ask for: the first gap (cut to `per_page`), else the
    /// frontier. Every offset is handed out at most once.
    fn take_next_range(&mut self) -> Option<PageRequest> {
        let limit = match self.listing {
            Listing::Failed(_) => return None,
            Listing::Open => u64::MAX,
            Listing::Bounded(end) => end.at,
        };
        if let Some(gap) = self.gaps.front_mut() {
            let len = (gap.end - gap.start).min(u64::from(self.per_page));
            let req = PageRequest {
                start: gap.start,
                per_page: len as u32,
            };
            gap.start += len;
            if gap.is_empty() {
                self.gaps.pop_front();
            }
            return Some(req);
        }
        if self.frontier >= limit {
            return None;
        }
        let req = PageRequest {
            start: self.frontier,
            per_page: self.per_page,
        };
        self.frontier = self.frontier.saturating_add(u64::from(self.per_page));
        Some(req)
    }

    /// Updates what is known about the list from a page at `req` with `n` entries.
    fn learn(&mut self, req: PageRequest, n: u64, more: Option<bool>) {
        let asked = u64::from(req.per_page);
        let got = n.min(asked);
        // No `More`: only a full page promises more.
        let more = more.unwrap_or(got == asked);
        if got == 0 {
            self.set_end(req.start, EndProof::EmptyPage);
        } else if !more {
            self.set_end(req.start.saturating_add(got), EndProof::LastPage);
        } else if got < asked && !matches!(self.listing, Listing::Failed(_)) {
            // The server caps per_page at `got`: ask for the rest, and ask less from now on.
            self.per_page = self.per_page.min(got as u32);
            let missing = req.start.saturating_add(got)..req.start.saturating_add(asked);
            if self.frontier == missing.end {
                // Nothing laid beyond this page: just continue where its ids ended.
                self.frontier = missing.start;
            } else {
                self.gaps.push_back(missing);
                self.trim_gaps();
            }
        }
    }

    /// The list ends at `at` or before: keep the lowest end seen, and prefer a page with
    /// ids as its proof over an empty probe at the same offset.
    fn set_end(&mut self, at: u64, proof: EndProof) {
        let new = End { at, proof };
        let better = |old: Option<End>| match old {
            None => true,
            Some(old) => at < old.at || (at == old.at && proof == EndProof::LastPage),
        };
        self.listing = match self.listing {
            Listing::Failed(old) if better(old) => Listing::Failed(Some(new)),
            Listing::Failed(old) => Listing::Failed(old),
            Listing::Open => Listing::Bounded(new),
            Listing::Bounded(old) if better(Some(old)) => Listing::Bounded(new),
            Listing::Bounded(old) => Listing::Bounded(old),
        };
        self.trim_gaps();
    }

    /// Drops the parts of gaps at or beyond the known end.
    fn trim_gaps(&mut self) {
        if let Some(end) = self.listing.end() {
            self.gaps.retain_mut(|gap| {
                gap.end = gap.end.min(end.at);
                !gap.is_empty()
            });
        }
    }

    /// A page is lost: stop asking, keep what is known about the end.
    fn fail(&mut self) {
        self.stats.pages_failed += 1;
        self.listing = Listing::Failed(self.listing.end());
        self.gaps.clear();
    }
}

/// Parses a page body into the entries of its `urls` array.
fn urls_of(body: &[u8]) -> Result<Vec<Value>, PageError> {
    let mut doc: Value = serde_json::from_slice(body).map_err(PageError::NotJson)?;
    match doc.get_mut("urls").map(Value::take) {
        Some(Value::Array(entries)) => Ok(entries),
        _ => Err(PageError::NoUrlsArray),
    }
}

/// The `more` style as one of the crawl's paging styles: pages are `POST`s of
/// [`PageRequest::form_body`] to the list URL, and an answer's `More` header is read
/// here (the scheduler only carries the head).
impl Paging for MorePager {
    fn next_page(&mut self) -> Option<PageAsk> {
        let request = self.next_request()?;
        let id = PageId(self.next_id);
        self.next_id += 1;
        self.asked.push((id, request));
        Some(PageAsk {
            id,
            method: Method::Post,
            url: None,
            body: Some(request.form_body().into_bytes()),
        })
    }

    fn on_answer(
        &mut self,
        page: PageId,
        _moved_to: Option<&crate::protocol::url::Url>,
        head: &ResponseHead,
        body: &[u8],
    ) -> Result<PageOutcome, PageError> {
        let request = self.take_asked(page).ok_or(PageError::UnknownPage(page))?;
        self.on_page(request, body, parse_more(head.header("more")))
    }

    fn on_failed(&mut self, page: PageId) {
        if let Some(request) = self.take_asked(page) {
            self.on_page_failed(request);
        }
    }

    fn is_done(&self) -> bool {
        MorePager::is_done(self)
    }

    fn stats(&self) -> PagerStats {
        MorePager::stats(self)
    }
}

impl MorePager {
    /// The request behind a page id handed out by [`Paging::next_page`], forgotten.
    fn take_asked(&mut self, page: PageId) -> Option<PageRequest> {
        let index = self.asked.iter().position(|(id, _)| *id == page)?;
        Some(self.asked.swap_remove(index).1)
    }
}
