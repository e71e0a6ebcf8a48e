//! Paging styles: how a list API hands out what to download, a page at a time, without
//! any I/O.
//!
//! A crawl calls one URL to get a list of sub-URLs, and the list is usually paginated
//! with no way to tell how many pages to expect. A *paging style* is a sans-IO state
//! machine that owns everything about its pages: which to ask for next ([`PageAsk`]: its
//! identity, method, URL and body), what an answer's head and body mean, and when the
//! list has ended. It knows no sockets and no clock; the scheduler and the engines only
//! carry its pages through the same connection pool as the downloads, pager first, and
//! hand each answer back ([`Paging::on_answer`]). So each style is tested here by
//! feeding answers in any order.
//!
//! ```text
//!   next_page() ──► PageAsk { id, method, url, body } ──► scheduler queue (pages first)
//!                                                               │ engine: request, answer
//!   on_answer(id, moved_to, head, body) ◄── head + whole body ◄──┘
//!        └──► PageOutcome { new_ids, rejected, duplicates } ──► file jobs
//! ```
//!
//! Styles ([`Style`], `--pages`): [`more`] (the seed's `POST` form with a `More`
//! header), and the `GET` styles of real APIs: [`link`] (`Link: rel="next"`), [`next`]
//! (a next URL in the body), [`cursor`] (a cursor in the body into a query parameter) —
//! the three chained ones share [`chain`] — and [`number`] and [`offset`] (a page number
//! or an offset in a query parameter, asked ahead with `--lookahead`). Where a page's
//! items are and what each one's value is: [`items`]. A new style is one file here that
//! implements [`Paging`] (or [`chain::Chain`]), plus its variant of [`Style`] (its
//! `--pages` spelling in [`Style::parse`], its pager in [`Style::build`]) and its tests.
//!
//! May use: [`crate::protocol::http`] (methods, response heads), [`crate::protocol::url`].

mod asked;
pub mod chain;
pub mod cursor;
mod ids;
pub mod items;
pub mod link;
pub mod more;
pub mod next;
pub mod number;
pub mod offset;
mod style;
#[cfg(test)]
mod styles_tests;

pub use ids::{check_id, is_invisible_or_bidi, RejectedId, MAX_ID_BYTES};
pub use items::Items;
pub use more::{parse_more, MorePager, PageRequest, BARREN_PAGES};
pub use style::{check_param, check_pointer, PagerConfig, Style, StyleError};

use crate::protocol::http::{Method, ResponseHead};
use crate::protocol::url::Url;

/// A page's identity, given by its paging style: opaque to the scheduler and the engines,
/// which only hand it back with the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PageId(pub u64);

/// One page to ask for, as its paging style wants it asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageAsk {
    /// The page's identity, handed back with its answer.
    pub id: PageId,
    /// The request method (a `POST` becomes a `GET` after a 303, as any request does).
    pub method: Method,
    /// Where to ask; `None`: the list URL itself.
    pub url: Option<Url>,
    /// The request body (a form), if the method carries one.
    pub body: Option<Vec<u8>>,
}

/// A paging style: the pages to ask for, and what their answers bring.
pub trait Paging: std::fmt::Debug + Send {
    /// The next page to ask for now, if any. Called until `None`, and again after each
    /// answer (a style without lookahead hands out one page at a time).
    fn next_page(&mut self) -> Option<PageAsk>;

    /// The answer to `page` arrived whole: its head and body. `moved_to` is the URL
    /// that answered when redirects led away from the one asked (`None`: the one asked);
    /// every URL the page names (a next page, a `Link`, a `{url}` item) is relative to
    /// it, as a browser reads a redirected page. Returns the ids never handed out
    /// before, in order, and the rejected entries. An error fails the listing (no retry
    /// helps a malformed page).
    fn on_answer(
        &mut self,
        page: PageId,
        moved_to: Option<&Url>,
        head: &ResponseHead,
        body: &[u8],
    ) -> Result<PageOutcome, PageError>;

    /// `page` failed for good (retries exhausted): the listing stops, incomplete.
    fn on_failed(&mut self, page: PageId);

    /// Nothing outstanding and nothing left to ask: the listing is over.
    fn is_done(&self) -> bool;

    /// The counters so far.
    fn stats(&self) -> PagerStats;

    /// True when the style cannot look ahead: each page's address is known only once
    /// the page before it is read (`pages_chained` in `--json`).
    fn chained(&self) -> bool {
        false
    }
}

/// What one answered page brought.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageOutcome {
    /// Ids never handed out before, in the page's order.
    pub new_ids: Vec<String>,
    /// Entries that are not acceptable ids, with the reason.
    pub rejected: Vec<RejectedId>,
    /// Entries dropped because they were already handed out (in this page or before).
    pub duplicates: u32,
}

/// Counters of the pager, for the report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PagerStats {
    /// Page requests handed to the engine.
    pub pages_requested: u64,
    /// Pages answered with a well-formed body.
    pub pages_answered: u64,
    /// Pages that failed for good or were malformed.
    pub pages_failed: u64,
    /// Answered pages that lay at or beyond the end of the list: wasted lookahead.
    pub extra_pages: u64,
    /// New ids handed out.
    pub ids: u64,
    /// Entries dropped as already handed out.
    pub duplicates: u64,
    /// Entries rejected as unacceptable ids.
    pub rejected: u64,
    /// The page size asked for now: the one given, or the server's cap once learned.
    pub per_page: u32,
    /// The end of the list (exclusive offset), once known.
    pub end: Option<u64>,
    /// The whole list was read: the end is known, every page below it answered, none failed.
    pub complete: bool,
}

/// Why a page answer could not be used. The engine treats it as a failed page, not retried.
/// `#[non_exhaustive]`: a later version may add causes.
#[derive(Debug)]
#[non_exhaustive]
pub enum PageError {
    /// The body is not JSON at all: often a wrong list URL (an HTML page, a 404 body).
    NotJson(serde_json::Error),
    /// The JSON has no `urls` array: not the list API this pager speaks.
    NoUrlsArray,
    /// The page is not shaped as the options say (no array where `--items` points, items
    /// that are objects without `--item`, a next URL that is not a string): the message
    /// says what the page holds and which option to give.
    Shape(String),
    /// A next URL (or cursor) that was asked before: the list goes round in circles.
    SeenBefore {
        /// The page's place among the answered pages, from 1.
        page: u64,
        /// The next URL it named.
        url: String,
    },
    /// As [`PageError::NoNewIds`], for a style whose pages are URLs.
    NoNewIdsAt {
        /// The page's place among the answered pages, from 1.
        page: u64,
        /// Where it was asked.
        url: String,
        /// How many such pages in a row.
        in_a_row: u32,
    },
    /// The answer is for a page that is not outstanding: a bug in the caller.
    NotOutstanding(PageRequest),
    /// The answer is for a page id this pager never handed out, or already read: a bug
    /// in the caller.
    UnknownPage(PageId),
    /// The page brought no new id, the `in_a_row`-th such page in a row while the list
    /// said it had more: the listing ends (see [`more::BARREN_PAGES`]).
    NoNewIds {
        /// The page's place among the answered pages, from 1.
        page: u64,
        /// The offset it was asked at.
        start: u64,
        /// How many such pages in a row.
        in_a_row: u32,
    },
}

impl std::fmt::Display for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PageError::NotJson(e) => write!(
                f,
                "list page is not json ({e}); check that the list url points at the list api"
            ),
            PageError::NoUrlsArray => write!(
                f,
                "list page has no \"urls\" array; expected a json object like {{\"urls\": [\"<id>\", ...]}}"
            ),
            PageError::Shape(message) => write!(f, "{message}"),
            PageError::SeenBefore { page, url } => write!(
                f,
                "page {page} names {url} as the next page, which was read before: the list goes round in circles"
            ),
            PageError::NoNewIdsAt {
                page,
                url,
                in_a_row,
            } => write!(
                f,
                "page {page} ({url}) brought no new id, the {} in a row: the list may be going round in circles",
                ordinal(u64::from(*in_a_row))
            ),
            PageError::NotOutstanding(req) => write!(
                f,
                "answer for page start={} per_page={} that was not asked for (a bug in the engine)",
                req.start, req.per_page
            ),
            PageError::UnknownPage(page) => write!(
                f,
                "answer for list page #{} that is not outstanding (a bug in the engine)",
                page.0
            ),
            PageError::NoNewIds {
                page,
                start,
                in_a_row,
            } => write!(
                f,
                "page {page} (start={start}) brought no new id, the {} in a row: the list may be going round in circles",
                ordinal(u64::from(*in_a_row))
            ),
        }
    }
}

/// `1st`, `2nd`, `3rd`, `4th`, ... `11th`, `21st`.
fn ordinal(n: u64) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

impl std::error::Error for PageError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PageError::NotJson(e) => Some(e),
            _ => None,
        }
    }
}
