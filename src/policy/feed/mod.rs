//! Where jobs come from: a list of URLs (`miodl get`) or the pager (`miodl crawl`).
//!
//! The scheduler asks its feed for more work when its queue runs short, so a list of a
//! million URLs is read a little at a time and never held whole. The crawl feed turns
//! the pager's page requests into page jobs and the ids of each answered page into file
//! jobs, through `--item-url`.
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
use crate::protocol::url::{percent_encode_segment, Url};

mod lines;
pub use lines::{LineError, UrlLines, MAX_LINE};

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
    Urls(UrlFeed),
    /// `miodl crawl`: the pager.
    Crawl(Box<CrawlFeed>),
}

impl Feed {
    /// Adds up to `want` file jobs (and, for a crawl, every page request the pager
    /// allows now) to `out`.
    pub fn refill(&mut self, want: usize, out: &mut Vec<NewJob>) {
        match self {
            Feed::Urls(feed) => feed.refill(want, out),
            Feed::Crawl(feed) => feed.refill(out),
        }
    }

    /// Lines of URL input refused since the last call.
    pub fn take_bad_lines(&mut self) -> Vec<BadLine> {
        match self {
            Feed::Urls(feed) => std::mem::take(&mut feed.bad_lines),
            Feed::Crawl(_) => Vec::new(),
        }
    }

    /// True when the feed will never produce another job.
    pub fn is_exhausted(&self) -> bool {
        match self {
            Feed::Urls(feed) => feed.sources.is_none(),
            Feed::Crawl(feed) => feed.pager.is_done(),
        }
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
    /// Lines that were not URLs miodl can fetch (reported as failures).
    pub bad_lines: Vec<BadLine>,
}

impl UrlFeed {
    /// A feed over `sources`, the shard's share of them if `shard` is given.
    pub fn new(sources: UrlSources, shard: Option<Shard>) -> UrlFeed {
        UrlFeed {
            sources: Some(sources),
            shard,
            names: NameRegistry::default(),
            bad_lines: Vec::new(),
        }
    }

    fn refill(&mut self, want: usize, out: &mut Vec<NewJob>) {
        let Some(sources) = &mut self.sources else {
            return;
        };
        let mut added = 0;
        while added < want {
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
            match Url::parse(text) {
                Ok(url) => {
                    let name = self.names.claim(file_name_for_url(&url));
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
pub struct CrawlFeed {
    pager: Box<dyn Paging>,
    shard: Option<Shard>,
    list_url: Url,
    item_template: String,
}

impl CrawlFeed {
    /// A crawl of `list_url` paged by `pager`, items at `item_template` (`{origin}`,
    /// `{id}` replaced).
    pub fn new(
        pager: Box<dyn Paging>,
        list_url: Url,
        item_template: String,
        shard: Option<Shard>,
    ) -> CrawlFeed {
        CrawlFeed {
            pager,
            shard,
            list_url,
            item_template,
        }
    }

    /// The pager (for its statistics).
    pub fn pager(&self) -> &dyn Paging {
        &*self.pager
    }

    fn refill(&mut self, out: &mut Vec<NewJob>) {
        while let Some(ask) = self.pager.next_page() {
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

    /// Hands an answered page to the pager; its new ids become file jobs in `out`.
    pub fn on_page(
        &mut self,
        page: PageId,
        head: &ResponseHead,
        body: &[u8],
        out: &mut Vec<NewJob>,
    ) -> Result<PageReport, PageError> {
        let outcome = self.pager.on_answer(page, head, body)?;
        let mut report = PageReport {
            new_ids: 0,
            rejected: outcome
                .rejected
                .into_iter()
                .map(|r| (r.raw, r.reason.to_string()))
                .collect(),
        };
        let origin = self.list_url.origin();
        let shard = self.shard;
        for id in outcome
            .new_ids
            .into_iter()
            .filter(|id| shard.is_none_or(|shard| shard.contains(id)))
        {
            // The pager already refused unsafe ids; this is the last check before the
            // id becomes a file name, kept so no path can ever escape the directory.
            if let Err(e) = safe_id_file_name(&id) {
                report.rejected.push((format!("{id:?}"), e.to_string()));
                continue;
            }
            let text = self
                .item_template
                .replace("{origin}", &origin)
                .replace("{id}", &percent_encode_segment(&id));
            match Url::parse(&text) {
                Ok(url) => {
                    report.new_ids += 1;
                    out.push(NewJob {
                        kind: JobKind::File { name: id },
                        url,
                        method: Method::Get,
                        trust_host: false,
                    });
                }
                Err(e) => report.rejected.push((format!("{id:?}"), e.to_string())),
            }
        }
        // No new page requests here: the scheduler asks for them when it next
        // dispatches, after every answer that arrived together has been read. A batch of
        // lookahead answers thus learns where the list ends before asking further.
        Ok(report)
    }

    /// A page failed for good: the pager stops.
    pub fn on_page_failed(&mut self, page: PageId) {
        self.pager.on_failed(page);
    }
}
