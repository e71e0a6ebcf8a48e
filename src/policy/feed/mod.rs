//! Where jobs come from: a list of URLs (`miodl get`) or the pager (`miodl crawl`).
//!
//! The scheduler asks its feed for more work when its queue runs short, so a list of a
//! million URLs is read a little at a time and never held whole. The crawl feed turns
//! the pager's page requests into page jobs and the ids of each answered page into file
//! jobs, through `--item-url`, as the queue drains; it asks for pages only while few
//! found files wait ([`queue_bound`]) and at most `--max-pages` of them.
//!
//! Layer: `policy`; may use `protocol` and `model` (see `src/policy/mod.rs`).

use std::collections::VecDeque;
use std::fmt;
use std::io::BufRead;
use std::sync::Arc;

use crate::model::job::JobKind;
use crate::model::shard::Shard;
use crate::policy::names::{file_name_for_url, safe_id_file_name, NameRegistry};
use crate::protocol::http::{Method, ResponseHead};
use crate::protocol::pager::{PageError, PageId, Paging};
use crate::protocol::url::{percent_encode_segment, AuthorityMemo, Url};

mod lines;
pub use lines::{LineError, UrlLines, MAX_LINE};
mod saved;
pub use saved::{SavedFiles, SkippedFile};

/// The most skipped URLs (`--skip-existing`) one refill collects before it returns, so
/// a long list of saved files is reported a batch at a time, never held whole.
const MAX_SKIPPED_AT_ONCE: usize = 1024;

/// A job the feed wants added.
#[derive(Debug)]
pub struct NewJob {
    /// Page or file.
    pub kind: JobKind,
    /// What to fetch.
    pub url: Url,
    /// How (a page's style decides; files are `GET`).
    pub method: Method,
    /// Trust the URL's scheme, host and port with the credentials from now on: a URL of
    /// a list that could not be read ahead (stdin, see [`UrlSources::push_list`]).
    pub trust_host: bool,
}

/// What reading one page produced, besides new jobs.
#[derive(Debug, Default)]
pub struct PageReport {
    /// New ids.
    pub new_ids: usize,
    /// Refused ids, escaped for printing, with the reason.
    pub rejected: Vec<(String, String)>,
}

/// The source of jobs of a run.
pub enum Feed {
    /// `miodl get`: URLs, streamed.
    Urls(Box<UrlFeed>),
    /// `miodl crawl`: the pager.
    Crawl(Box<CrawlFeed>),
}

impl Feed {
    /// Adds up to `want` file jobs (and, for a crawl, every page request the pager
    /// allows now, while fewer than its bound of files wait: `queued` of them in the
    /// scheduler) to `out`.
    pub fn refill(&mut self, want: usize, queued: usize, out: &mut Vec<NewJob>) {
        match self {
            Feed::Urls(feed) => feed.refill(want, out),
            Feed::Crawl(feed) => feed.refill(want, queued, out),
        }
    }

    /// Lines of URL input refused since the last call.
    pub fn take_bad_lines(&mut self) -> Vec<BadLine> {
        match self {
            Feed::Urls(feed) => std::mem::take(&mut feed.bad_lines),
            Feed::Crawl(_) => Vec::new(),
        }
    }

    /// Once nothing more will be found (the URL lists read to their end, a crawl's list
    /// ended), the files found but not yet made jobs; `None` while more may come.
    pub fn files_left_when_ended(&self) -> Option<u64> {
        match self {
            Feed::Urls(feed) => feed.sources.is_none().then_some(0),
            Feed::Crawl(feed) => feed.list_ended().then(|| feed.pending.len() as u64),
        }
    }

    /// True when the feed will never produce another job.
    pub fn is_exhausted(&self) -> bool {
        match self {
            Feed::Urls(feed) => feed.sources.is_none(),
            Feed::Crawl(feed) => feed.is_exhausted(),
        }
    }

    /// `--skip-existing`: the files earlier runs saved (`(key, name)`: the URL as first
    /// given or the id, and its file's name) are not made jobs, and their names are
    /// taken before this run hands out any.
    pub fn skip_saved(&mut self, entries: impl IntoIterator<Item = (String, String)>) {
        let (saved, names) = match self {
            Feed::Urls(feed) => (&mut feed.saved, &mut feed.names),
            Feed::Crawl(feed) => (&mut feed.saved, &mut feed.names),
        };
        *saved = Some(SavedFiles::new(entries, names));
    }

    /// `-J`: file names are claimed when the answer's head is read (the scheduler does,
    /// through [`Feed::names`]), not when the job is made: a get job then carries its
    /// URL's name unclaimed, as the fallback.
    pub fn name_after_answer(&mut self) {
        if let Feed::Urls(feed) = self {
            feed.name_after_answer = true;
        }
    }

    /// The names handed out in this run.
    pub fn names(&mut self) -> &mut NameRegistry {
        match self {
            Feed::Urls(feed) => &mut feed.names,
            Feed::Crawl(feed) => &mut feed.names,
        }
    }

    /// Files skipped since the last call, because an earlier run saved them.
    pub fn take_skipped(&mut self) -> Vec<SkippedFile> {
        match self {
            Feed::Urls(feed) => std::mem::take(&mut feed.skipped),
            Feed::Crawl(feed) => std::mem::take(&mut feed.skipped),
        }
    }

    /// Is the record key of a file job its id (a crawl) rather than its URL (get)?
    pub fn keys_are_ids(&self) -> bool {
        matches!(self, Feed::Crawl(_))
    }
}

/// Where a line of URL input came from, for its error message.
#[derive(Debug, Clone)]
pub enum Origin {
    /// The n-th URL argument.
    Argument(usize),
    /// Line n of a file (or `stdin`).
    Line(Arc<str>, usize),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Argument(n) => write!(f, "argument {n}"),
            Origin::Line(source, n) => write!(f, "{source}:{n}"),
        }
    }
}

/// One line of URL input that could not be used, with where it came from.
#[derive(Debug)]
pub struct BadLine {
    /// `FILE:LINE` or the argument's position.
    pub origin: String,
    /// The error, one line.
    pub message: String,
}

/// `miodl get`'s URLs: command-line arguments first, then each `-i` list line by line.
pub struct UrlFeed {
    /// Where the URLs come from; `None` once every source is read.
    sources: Option<UrlSources>,
    shard: Option<Shard>,
    names: NameRegistry,
    /// `-J`: names are claimed at the answer, not here.
    name_after_answer: bool,
    /// `--skip-existing`: what earlier runs saved.
    saved: Option<SavedFiles>,
    /// URLs not made jobs because an earlier run saved them, until the scheduler takes them.
    skipped: Vec<SkippedFile>,
    /// Lines that were not URLs miodl can fetch (reported as failures).
    pub bad_lines: Vec<BadLine>,
    /// The `scheme://host:port` checked last, so the URLs of one server that follow each
    /// other are spared checking it again (every line is still checked: the list may
    /// have changed since `run::prepare_get` read it).
    memo: AuthorityMemo,
}

impl UrlFeed {
    /// A feed over `sources`, the shard's share of them if `shard` is given.
    pub fn new(sources: UrlSources, shard: Option<Shard>) -> UrlFeed {
        UrlFeed {
            sources: Some(sources),
            shard,
            names: NameRegistry::default(),
            name_after_answer: false,
            saved: None,
            skipped: Vec::new(),
            bad_lines: Vec::new(),
            memo: AuthorityMemo::default(),
        }
    }

    fn refill(&mut self, want: usize, out: &mut Vec<NewJob>) {
        let Some(sources) = &mut self.sources else {
            return;
        };
        let mut added = 0;
        while added < want && self.skipped.len() < MAX_SKIPPED_AT_ONCE {
            let Some((text, origin, trust)) = sources.next_url() else {
                self.sources = None;
                return;
            };
            let text = match text {
                Ok(text) => text,
                Err(error) => {
                    self.bad_lines.push(BadLine {
                        origin: origin.to_string(),
                        message: error.to_string(),
                    });
                    continue;
                }
            };
            if self.shard.is_some_and(|shard| !shard.contains(text)) {
                continue;
            }
            match Url::parse_with(text, &mut self.memo) {
                Ok(url) => {
                    if let Some(saved) = &self.saved {
                        if let Some(name) = saved.name_of(&url.to_string()) {
                            let name = name.to_string();
                            self.skipped.push(SkippedFile { url, name });
                            continue;
                        }
                    }
                    let name = if self.name_after_answer {
                        file_name_for_url(&url)
                    } else {
                        self.names.claim(file_name_for_url(&url))
                    };
                    out.push(NewJob {
                        kind: JobKind::File { name },
                        url,
                        method: Method::Get,
                        trust_host: trust,
                    });
                    added += 1;
                }
                Err(e) => self.bad_lines.push(BadLine {
                    origin: origin.to_string(),
                    message: e.to_string(),
                }),
            }
        }
    }
}

/// Where `miodl get`'s URLs come from, in order: the command-line arguments, then each
/// `-i` list ([`UrlLines`]), read as the run goes. Each URL is lent as a `&str`, so
/// a line costs no `String` of its own.
pub struct UrlSources {
    arguments: Vec<String>,
    /// How many arguments have been handed out.
    arguments_read: usize,
    /// The lists not yet read to the end, the current one first, each with whether
    /// its hosts are trusted as it is read.
    lists: VecDeque<(UrlLines<Box<dyn BufRead + Send>>, bool)>,
}

impl UrlSources {
    /// The URL arguments, to be read first.
    pub fn new(arguments: Vec<String>) -> UrlSources {
        UrlSources {
            arguments,
            arguments_read: 0,
            lists: VecDeque::new(),
        }
    }

    /// Adds a list, to be read after the arguments and the lists added before it.
    ///
    /// `trust_as_read` is for a list that could not be read ahead to collect its hosts
    /// (stdin, read once): the host of each of its URLs is trusted with the credentials
    /// from the moment its line is read (see [`NewJob::trust_host`]).
    pub fn push_list(&mut self, lines: UrlLines<Box<dyn BufRead + Send>>, trust_as_read: bool) {
        self.lists.push_back((lines, trust_as_read));
    }

    /// The next URL text (or why a list's line is not text), where it came from, and
    /// whether its host is to be trusted as it is read; `None` when every source is read.
    pub fn next_url(&mut self) -> Option<(Result<&str, &LineError>, Origin, bool)> {
        if let Some(text) = self.arguments.get(self.arguments_read) {
            self.arguments_read += 1;
            return Some((Ok(text), Origin::Argument(self.arguments_read), false));
        }
        while let Some((list, _)) = self.lists.front_mut() {
            if list.advance() {
                break;
            }
            self.lists.pop_front();
        }
        let (list, trust) = self.lists.front()?;
        Some((list.line(), list.origin(), *trust))
    }
}

/// `miodl crawl`'s pager (its paging style), the list URL, and the template of item URLs.
///
/// An answered page's new ids wait here, compactly (`PendingIds`), and become file
/// jobs only as the scheduler's queue runs short, so a page of a million ids costs a
/// million short strings, not a million jobs. Pages are asked for only while fewer than
/// [`queue_bound`] files wait (queued and pending), so the ids of the pages still to come
/// are never all held at once: memory grows with the ids seen (the pager's exactly-once
/// set), not with the queue.
pub struct CrawlFeed {
    pager: Box<dyn Paging>,
    shard: Option<Shard>,
    list_url: Url,
    /// `{origin}` of the template, replaced once.
    item_template: String,
    /// The template has `{url}`: each value is an absolute URL (the pager resolved it)
    /// put in as is, and the file is named as `get` would name that URL.
    url_values: bool,
    /// An id that is not a safe file name is named as `get` would name its URL rather
    /// than refused (the `GET` styles; `more` refuses it, as its pager already does).
    name_unsafe_by_url: bool,
    /// The names handed out by URL or by `-J`, kept unique (a file named by its id
    /// needs no entry: ids are unique).
    names: NameRegistry,
    /// New ids not yet made file jobs, in list order.
    pending: PendingIds,
    /// Pages are asked for only while fewer files than this wait.
    bound: usize,
    /// `--max-pages`: asks no more pages after this many.
    max_pages: Option<u64>,
    /// Pages handed out so far.
    pages_asked: u64,
    /// Pages handed out and not yet answered or failed.
    pages_out: u64,
    /// `--skip-existing`: what earlier runs saved.
    saved: Option<SavedFiles>,
    /// Ids not made jobs because an earlier run saved them, until the scheduler takes them.
    skipped: Vec<SkippedFile>,
    /// The `scheme://host:port` checked last: the item URLs of one template share it.
    memo: AuthorityMemo,
}

/// How many waiting files (queued jobs and ids not yet made jobs) stop the crawl asking
/// for more pages: `max(1024, 64 × (connections + lookahead))`.
///
/// Enough that the files never run dry while the next page is on its way: `c`
/// connections empty the queue at about `c` files per round trip, so 64 files per
/// connection hide 64 round trips, far more than one page takes, and each page
/// asked ahead (`--lookahead`) gets as much room. 1024 at least, so a small `-c` still
/// keeps a batch ready. Small beside a page of the seed's list (5 ids) and beside the
/// exactly-once set of a long list: a waiting file costs its id's bytes and 8, a queued
/// job a few hundred bytes, so 64 × (c + K) of them cost well under a megabyte at the
/// default `-c`. The pages asked at once can still bring many more (a page of 1.6 M ids
/// arrives whole); those wait here as ids until the queue drains, and no further page is
/// asked meanwhile.
pub fn queue_bound(connections: usize, lookahead: u32) -> usize {
    let room = connections.saturating_add(lookahead as usize);
    room.saturating_mul(64).max(1024)
}

impl CrawlFeed {
    /// A crawl of `list_url` paged by `pager`, items at `item_template` (`{origin}`,
    /// `{id}` replaced), asking pages only while fewer than `bound` files wait (see
    /// [`queue_bound`]), and at most `max_pages` pages.
    pub fn new(
        pager: Box<dyn Paging>,
        list_url: Url,
        item_template: String,
        shard: Option<Shard>,
        bound: usize,
        max_pages: Option<u64>,
    ) -> CrawlFeed {
        let item_template = item_template.replace("{origin}", &list_url.origin());
        let url_values = item_template.contains("{url}");
        CrawlFeed {
            pager,
            shard,
            list_url,
            item_template,
            url_values,
            name_unsafe_by_url: false,
            names: NameRegistry::default(),
            pending: PendingIds::default(),
            bound,
            max_pages,
            pages_asked: 0,
            pages_out: 0,
            saved: None,
            skipped: Vec::new(),
            memo: AuthorityMemo::default(),
        }
    }

    /// Names an id that is not a safe file name as `get` would name its item URL, instead
    /// of refusing it (docs/reference.md §6, the `GET` styles).
    pub fn name_unsafe_ids_by_url(mut self) -> CrawlFeed {
        self.name_unsafe_by_url = true;
        self
    }

    /// The pager (for its statistics).
    pub fn pager(&self) -> &dyn Paging {
        &*self.pager
    }

    /// True when `--max-pages` stopped the listing while the pager had more to ask: the
    /// list may go on.
    pub fn stopped_at_max_pages(&self) -> bool {
        self.max_pages.is_some_and(|max| self.pages_asked >= max) && !self.pager.is_done()
    }

    /// True when the feed will never produce another job.
    fn is_exhausted(&self) -> bool {
        self.pending.is_empty() && self.list_ended()
    }

    /// True when no page will bring more ids: the pager is done, or `--max-pages` is
    /// reached with no page still out.
    fn list_ended(&self) -> bool {
        self.pager.is_done() || (self.at_max_pages() && self.pages_out == 0)
    }

    fn at_max_pages(&self) -> bool {
        self.max_pages.is_some_and(|max| self.pages_asked >= max)
    }

    /// Up to `want` file jobs from the pending ids, then every page request the pager
    /// allows now, if fewer than the bound of files wait (`queued` jobs and the pending
    /// ids) and `--max-pages` is not reached.
    fn refill(&mut self, want: usize, queued: usize, out: &mut Vec<NewJob>) {
        self.make_jobs(want, out);
        while queued + self.pending.len() + out.len() < self.bound && !self.at_max_pages() {
            let Some(ask) = self.pager.next_page() else {
                break;
            };
            self.pages_asked += 1;
            self.pages_out += 1;
            out.push(NewJob {
                kind: JobKind::Page {
                    page: ask.id,
                    body: ask.body,
                },
                url: ask.url.unwrap_or_else(|| self.list_url.clone()),
                method: ask.method,
                trust_host: false,
            });
        }
    }

    /// Turns up to `want` pending ids into file jobs.
    fn make_jobs(&mut self, want: usize, out: &mut Vec<NewJob>) {
        let mut text = String::new();
        let mut made = 0;
        while made < want {
            let Some(id) = self.pending.pop() else {
                return;
            };
            item_url(&self.item_template, self.url_values, id, &mut text);
            // Every pending id's URL was checked when its page was read.
            let Ok(url) = Url::parse_with(&text, &mut self.memo) else {
                continue;
            };
            if let Some(name) = self.saved.as_ref().and_then(|saved| saved.name_of(id)) {
                let name = name.to_string();
                self.skipped.push(SkippedFile { url, name });
                continue;
            }
            made += 1;
            let by_url =
                self.url_values || (self.name_unsafe_by_url && safe_id_file_name(id).is_err());
            let name = if by_url {
                self.names.claim(file_name_for_url(&url))
            } else {
                id.to_string()
            };
            out.push(NewJob {
                kind: JobKind::File { name },
                url,
                method: Method::Get,
                trust_host: false,
            });
        }
    }

    /// Hands an answered page to the pager; its new ids wait as pending ids, and up to
    /// `want` of them become file jobs in `out`.
    pub fn on_page(
        &mut self,
        page: PageId,
        moved_to: Option<&Url>,
        head: &ResponseHead,
        body: &[u8],
        want: usize,
        out: &mut Vec<NewJob>,
    ) -> Result<PageReport, PageError> {
        self.pages_out = self.pages_out.saturating_sub(1);
        let outcome = self.pager.on_answer(page, moved_to, head, body)?;
        let mut report = PageReport {
            new_ids: 0,
            rejected: outcome
                .rejected
                .into_iter()
                .map(|r| (r.raw, r.reason.to_string()))
                .collect(),
        };
        let shard = self.shard;
        let mut probe = String::new();
        for id in outcome
            .new_ids
            .iter()
            .filter(|id| shard.is_none_or(|shard| shard.contains(id)))
        {
            // The pager already refused unsafe ids; this is the last check before the
            // id becomes a file name, kept so no path can ever escape the directory.
            if !self.url_values && !self.name_unsafe_by_url {
                if let Err(e) = safe_id_file_name(id) {
                    report.rejected.push((format!("{id:?}"), e.to_string()));
                    continue;
                }
            }
            // An id that would make the item URL unparsable is refused now, with its
            // reason; its job is made later, when the queue runs short.
            item_url(&self.item_template, self.url_values, id, &mut probe);
            if let Err(e) = Url::check_with(&probe, &mut self.memo) {
                report.rejected.push((format!("{id:?}"), e.to_string()));
                continue;
            }
            report.new_ids += 1;
            self.pending.push(id);
        }
        self.make_jobs(want, out);
        // No new page requests here: the scheduler asks for them when it next
        // dispatches, after every answer that arrived together has been read. A batch of
        // lookahead answers thus learns where the list ends before asking further.
        Ok(report)
    }

    /// A page failed for good: the pager stops.
    pub fn on_page_failed(&mut self, page: PageId) {
        self.pages_out = self.pages_out.saturating_sub(1);
        self.pager.on_failed(page);
    }
}

/// The item URL of `id`: `template` (its `{origin}` already replaced) with each `{id}`
/// replaced by the percent-encoded id (or, when `as_url`, each `{url}` by the id, an
/// absolute URL), into `out`.
fn item_url(template: &str, as_url: bool, id: &str, out: &mut String) {
    out.clear();
    if as_url {
        for (n, part) in template.split("{url}").enumerate() {
            if n > 0 {
                out.push_str(id);
            }
            out.push_str(part);
        }
        return;
    }
    for (n, part) in template.split("{id}").enumerate() {
        if n > 0 {
            out.push_str(&percent_encode_segment(id));
        }
        out.push_str(part);
    }
}

/// The new ids of answered pages that are not file jobs yet, in order: their bytes end
/// to end in one string and where each ends, so a waiting id costs its length and 8
/// bytes, not a `String` (24 bytes and an allocation) nor a job.
#[derive(Debug, Default)]
struct PendingIds {
    /// The ids' bytes from logical offset `base` on.
    text: String,
    /// The logical offset of `text`'s first byte (what compaction dropped before it).
    base: usize,
    /// The logical end offset of each waiting id.
    ends: VecDeque<usize>,
    /// The logical offset where the next id to hand out starts.
    next: usize,
}

impl PendingIds {
    fn len(&self) -> usize {
        self.ends.len()
    }

    fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    fn push(&mut self, id: &str) {
        if self.ends.is_empty() {
            // Nothing waits: start over (keeping the allocation of one page at most).
            self.base = self.next;
            self.text.clear();
        } else if self.next - self.base > self.text.len() / 2 {
            // More than half is handed out: drop it, so the string holds what waits.
            self.text.drain(..self.next - self.base);
            self.base = self.next;
        }
        self.text.push_str(id);
        self.ends.push_back(self.base + self.text.len());
    }

    fn pop(&mut self) -> Option<&str> {
        let end = self.ends.pop_front()?;
        let id = &self.text[self.next - self.base..end - self.base];
        self.next = end;
        Some(id)
    }
}
