//! From what to fetch to a finished run: `miodl get` and `miodl crawl`, and the library.
//!
//! A run starts as plain data: a [`GetTask`] (URLs and URL lists) or a [`CrawlTask`]
//! (a list API), each with its [`TransferOptions`]. The command line parses into these,
//! and [`crate::Downloader`] builds them; nothing here knows about `argv`.
//!
//! [`prepare_get`] and [`prepare_crawl`] check everything that can be checked before a
//! byte is sent (URLs, input files), so a usage error downloads nothing. [`execute`]
//! creates the output directory, wires the observers (console, `--events`, `--trace`),
//! runs the engine and returns a [`Report`] whose [`Report::exit_code`] tells the truth:
//! 0 all saved, 1 something failed, 3 output could not be written, 130/143 interrupted.
//!
//! Layer: `app`; may use `protocol`, `model`, `policy`, `output`, `transport`, `engine`, `report` and `serve` (see `src/app/mod.rs`).

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::app::open_files;
use crate::model::event::Observers;
use crate::model::options::{Engine, TransferOptions};
use crate::model::stop::Stop;
use crate::model::summary::Summary;
use crate::output::record::RECORD_NAME;
use crate::output::sink::OutputDir;
use crate::policy::feed::{
    queue_bound, CrawlFeed, Feed, LineError, Origin, UrlFeed, UrlLines, UrlSources,
};
use crate::policy::scheduler::{Ending, Scheduler, Start};
use crate::protocol::http::HeaderArgError;
use crate::protocol::pager::{Items, PagerConfig, Style};
use crate::protocol::url::{Authority, AuthorityMemo, Scheme, Url, UrlError};
use crate::report::console::Console;
use crate::report::event_lines::EventLines;
use crate::report::failed_list::FailedList;
use crate::report::progress::Progress;
use crate::report::trace::TraceRecorder;

/// What `get` fetches, and how: URLs and URL lists, with the transfer options.
#[derive(Debug, Clone)]
pub struct GetTask {
    /// URLs, in order, unchecked ([`prepare_get`] checks them).
    pub urls: Vec<String>,
    /// Files of URLs, one per line (`-i FILE`, repeatable), read after `urls`; `-`
    /// means stdin. Blank lines and `#` comments are skipped.
    pub input_files: Vec<PathBuf>,
    /// Limits, retries, timeouts, output and reporting.
    pub transfer: TransferOptions,
}

/// What `miodl crawl` adds: where the list is and how to page through it. Its fields
/// are read where the crawl's pager and feed are built ([`prepare_crawl`]), so a new
/// crawl option is a field here, its default, and its use beside it.
#[derive(Debug, Clone)]
pub struct CrawlOptions {
    /// The list API, e.g. `http://127.0.0.1:5000/api/list_files`.
    pub list_url: String,
    /// `--per-page`: ids asked for per page (the reference server caps it at 5).
    pub per_page: u32,
    /// `--start`: the first index asked for.
    pub start: u64,
    /// `--lookahead K`: pages asked for ahead of the answers (0 = one page at a time).
    pub lookahead: u32,
    /// `--item-url`: the download URL of an item; `{origin}`, `{id}` and `{url}` are
    /// replaced. [`CrawlOptions::new`] sets `more`'s default; a `GET` style's default is
    /// [`Style::default_item_url`] (`{url}`), which [`CrawlOptions::pages`] sets.
    pub item_url: String,
    /// `--pages STYLE`: how the list pages [default: `more`].
    pub pages: Style,
    /// `--items POINTER`: where a page's array of items is (the `GET` styles).
    pub items: Option<String>,
    /// `--item POINTER`: the value inside each item (the `GET` styles).
    pub item: Option<String>,
    /// `--page-size PARAM=N`: added to every page request (the `GET` styles).
    pub page_size: Option<(String, u32)>,
    /// `--max-pages N`: ask at most N pages; reaching them ends the crawl normally.
    pub max_pages: Option<u64>,
}

impl CrawlOptions {
    /// The documented defaults for a list URL.
    pub fn new(list_url: impl Into<String>) -> Self {
        CrawlOptions {
            list_url: list_url.into(),
            per_page: 5,
            start: 0,
            lookahead: 0,
            item_url: "{origin}/api/download/{id}".to_string(),
            max_pages: None,
            pages: Style::More,
            items: None,
            item: None,
            page_size: None,
        }
    }

    /// Pages as `style` says, with that style's default `--item-url`.
    pub fn pages(mut self, style: Style) -> Self {
        self.item_url = style.default_item_url().to_string();
        self.pages = style;
        self
    }

    /// Checks that the options fit the style; the error is one line.
    fn check(&self) -> Result<(), String> {
        let (id, url) = (
            self.item_url.contains("{id}"),
            self.item_url.contains("{url}"),
        );
        if id && url {
            return Err("--item-url: use {id} or {url}, not both".to_string());
        }
        if !id && !url {
            return Err("--item-url: the template names neither {id} nor {url}".to_string());
        }
        if self.pages == Style::More {
            let given = [
                (url, "--item-url {url}"),
                (self.items.is_some(), "--items"),
                (self.item.is_some(), "--item"),
                (
                    self.page_size.is_some(),
                    "--page-size (more keeps --per-page N)",
                ),
            ];
            if let Some((_, what)) = given.iter().find(|(set, _)| *set) {
                return Err(format!(
                    "{what} applies to --pages link, next, cursor, number and offset, not more"
                ));
            }
        }
        Ok(())
    }
}

/// What `crawl` fetches, and how: a list API to page through, with the transfer options.
#[derive(Debug, Clone)]
pub struct CrawlTask {
    /// The list URL (unchecked; [`prepare_crawl`] checks it) and the paging options.
    pub crawl: CrawlOptions,
    /// Limits, retries, timeouts, output and reporting.
    pub transfer: TransferOptions,
}

/// A run ready to start.
pub struct Plan {
    options: TransferOptions,
    feed: Feed,
    /// Scheme, host and port of the URLs named on the command line and in `-i` files,
    /// which alone get the credentials (with those of stdin's URLs, which the feed adds
    /// as it reads them).
    trusted: Vec<Authority>,
    /// The files the run will fetch, when known before it starts (`get` without stdin:
    /// the URLs checked ahead, the shard's share of them), for the progress line.
    total: Option<u64>,
    /// A URL known at start is `https://` (or comes from stdin, unread yet): the trust
    /// store was checked, and what could not be used of it is said before the run.
    expects_tls: bool,
}

impl Plan {
    /// The options the run will use.
    pub fn options(&self) -> &TransferOptions {
        &self.options
    }
}

/// Checks `--cacert` and the custom headers before anything is sent: a file that is
/// missing or holds no certificate, or a header the command line would have refused
/// (the library's [`Downloader::header`](crate::Downloader::header)), is a usage error,
/// not a failure of every file. The trust store is [`check_trust_store`]'s.
fn check_start_options(options: &TransferOptions) -> Result<(), StartError> {
    for (name, value) in &options.headers.0 {
        let line = format!("{name}: {value}");
        match crate::protocol::http::parse_header(&line) {
            Ok((n, v)) if n == name && v == value.trim_matches([' ', '\t']) => {}
            Ok(_) => return Err(StartError::Header(HeaderArgError::BadName)),
            Err(e) => return Err(StartError::Header(e)),
        }
    }
    #[cfg(feature = "tls")]
    if let (Some(cacert), false) = (&options.cacert, options.insecure) {
        crate::transport::tls::check_cacert(cacert).map_err(StartError::Tls)?;
    }
    Ok(())
}

/// When a URL known at start is `https://`: reads the system's trust store (once per
/// process), so that a store named by `SSL_CERT_FILE` that cannot be used is a usage
/// error before anything is sent. A run of `http://` URLs reads no store at all (the
/// first `https://` socket would: `crate::transport::Opener`).
fn check_trust_store(options: &TransferOptions, expects_tls: bool) -> Result<(), StartError> {
    #[cfg(feature = "tls")]
    if expects_tls && !options.insecure {
        crate::transport::tls::trust::trusted().map_err(StartError::Tls)?;
    }
    #[cfg(not(feature = "tls"))]
    let _ = (options, expects_tls);
    Ok(())
}

/// Checks `get`'s URLs and input files. Every error is the caller's to fix (a usage
/// error, exit status 2): [`StartError::Url`], [`StartError::InputFile`],
/// [`StartError::InputLine`], [`StartError::InputLineBytes`], or a `--cacert` that holds
/// no certificate.
pub fn prepare_get(args: GetTask) -> Result<Plan, StartError> {
    check_start_options(&args.transfer)?;
    // Credentials go only to the hosts named here: collect them (few) only if needed.
    let wants_hosts = args.transfer.credentials.is_some() || args.transfer.headers.has_secret();
    let mut trusted = Vec::new();
    let shard = args.transfer.shard;
    // The files to fetch, counted as the feed will count them (the shard's share).
    let mut total = 0u64;
    // Checked, not built: the feed builds each `Url` again as the run goes. URLs of one
    // server share its `scheme://host:port`, checked once while they follow each other.
    let mut memo = AuthorityMemo::default();
    let mut expects_tls = false;
    let mut check = |text: &str| -> Result<(), UrlError> {
        let url = Url::check_with(text, &mut memo)?;
        expects_tls |= url.scheme() == Scheme::Https;
        total += u64::from(shard.is_none_or(|shard| shard.contains(text)));
        if wants_hosts {
            let key = url.authority_key();
            if !trusted.contains(&key) {
                trusted.push(key);
            }
        }
        Ok(())
    };
    for text in &args.urls {
        check(text).map_err(StartError::Url)?;
    }
    // Input files are read twice: once here, so a bad line is a usage error before
    // anything is downloaded, and once as the run goes, so no list is held whole.
    for path in &args.input_files {
        if path.as_os_str() != "-" {
            check_input_file(path, &mut check)?;
        }
    }
    let reads_stdin = args.input_files.iter().any(|p| p.as_os_str() == "-");
    let total = (!reads_stdin).then_some(total);
    let expects_tls = expects_tls || reads_stdin;
    check_trust_store(&args.transfer, expects_tls)?;
    let mut sources = UrlSources::new(args.urls);
    // Stdin can be read only once, so it is not checked ahead and its hosts are not
    // collected here: the feed trusts each of its URLs' hosts as their lines are read.
    for path in args.input_files {
        let stdin = path.as_os_str() == "-";
        let (name, reader): (Arc<str>, Box<dyn BufRead + Send>) = if stdin {
            ("stdin".into(), Box::new(BufReader::new(io::stdin())))
        } else {
            let name: Arc<str> = path.display().to_string().into();
            let file = File::open(&path).map_err(|error| StartError::input_file(&path, error))?;
            (name, Box::new(BufReader::new(file)))
        };
        sources.push_list(UrlLines::new(name, reader), stdin);
    }
    Ok(Plan {
        options: args.transfer,
        feed: Feed::Urls(Box::new(UrlFeed::new(sources, shard))),
        trusted,
        total,
        expects_tls,
    })
}

/// Reads the input file `path` ahead, handing each URL line to `check`: a line that is
/// not text or not a URL is a usage error naming the file and the line.
fn check_input_file(
    path: &Path,
    check: &mut dyn FnMut(&str) -> Result<(), UrlError>,
) -> Result<(), StartError> {
    let name: Arc<str> = path.display().to_string().into();
    let file = File::open(path).map_err(|error| StartError::input_file(path, error))?;
    let mut lines = UrlLines::new(name, BufReader::new(file));
    while lines.advance() {
        let (Origin::Line(_, line) | Origin::Argument(line)) = lines.origin();
        if let Some(error) = lines.take_error() {
            return Err(StartError::InputLineBytes {
                file: path.to_path_buf(),
                line,
                error,
            });
        }
        if let Err(error) = check(lines.line().unwrap_or("")) {
            return Err(StartError::InputLine {
                file: path.to_path_buf(),
                line,
                error,
            });
        }
    }
    Ok(())
}

/// Checks `crawl`'s list URL (and `--cacert`); the errors are usage errors, as for
/// [`prepare_get`].
pub fn prepare_crawl(args: CrawlTask) -> Result<Plan, StartError> {
    check_start_options(&args.transfer)?;
    let crawl = args.crawl;
    let shard = args.transfer.shard;
    let list_url = Url::parse(&crawl.list_url).map_err(StartError::Url)?;
    crawl.check().map_err(StartError::Crawl)?;
    let expects_tls = list_url.scheme() == Scheme::Https;
    check_trust_store(&args.transfer, expects_tls)?;
    let pager = crawl.pages.build(PagerConfig {
        list_url: list_url.clone(),
        start: crawl.start,
        per_page: crawl.per_page,
        lookahead: crawl.lookahead,
        page_size: crawl.page_size.clone(),
        items: Items {
            items: crawl.items.clone(),
            item: crawl.item.clone(),
            as_url: crawl.item_url.contains("{url}"),
        },
    });
    let get_style = crawl.pages != Style::More;
    // The requests that can be in flight at once: the smaller of the limits set
    // (unlimited counts as the scheduler's batch of URLs read at a time).
    let t = &args.transfer;
    let parallel = [t.connections, t.max_in_flight]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(256);
    let bound = queue_bound(parallel, crawl.lookahead);
    let mut feed = CrawlFeed::new(
        pager,
        list_url.clone(),
        crawl.item_url,
        shard,
        bound,
        crawl.max_pages,
    );
    if get_style {
        feed = feed.name_unsafe_ids_by_url();
    }
    Ok(Plan {
        options: args.transfer,
        feed: Feed::Crawl(Box::new(feed)),
        trusted: vec![list_url.authority_key()],
        total: None,
        expects_tls,
    })
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct Report {
    /// The counters.
    pub summary: Summary,
    /// Wall time.
    pub elapsed: Duration,
    /// How it ended.
    pub ending: Ending,
    /// Jobs a stopped run never finished.
    pub unfinished: usize,
    /// For a crawl: pages asked for beyond the end of the list (wasted lookahead).
    pub extra_pages: Option<u64>,
    /// For a crawl: true when its style could not look ahead (`link`, `next`, `cursor`).
    pub pages_chained: Option<bool>,
    /// For a crawl: false if a page failed, so the listing is incomplete (or
    /// `--max-pages` ended it early: see [`Report::stopped_at_max_pages`]).
    pub listing_complete: bool,
    /// For a crawl: `--max-pages` ended the listing while the list may have had more
    /// (a normal end: the exit status is 0 if every file was saved).
    pub stopped_at_max_pages: bool,
    /// Where the files are.
    pub output_dir: PathBuf,
    /// The engine's name.
    pub engine: &'static str,
}

impl Report {
    /// The exit status (docs/reference.md §3).
    pub fn exit_code(&self) -> i32 {
        match self.ending {
            Ending::Interrupted(signal) => 128 + signal,
            Ending::OutputFailed => 3,
            Ending::Finished if self.summary.failed > 0 || self.unfinished > 0 => 1,
            Ending::Finished if !self.listing_complete && !self.stopped_at_max_pages => 1,
            Ending::Finished => 0,
        }
    }

    /// The `--json` object.
    pub fn json(&self) -> String {
        let text = self
            .summary
            .to_json(self.engine, self.elapsed, self.extra_pages);
        let Some(chained) = self.pages_chained else {
            return text;
        };
        // Once per run: the crawl's flag joins the summary's keys, in their order.
        match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(mut value) => {
                value["pages_chained"] = chained.into();
                value.to_string()
            }
            Err(_) => text,
        }
    }
}

/// Why a run could not start: nothing was downloaded. (Failures of single files are in
/// the [`Report`], not here.)
///
/// [`prepare_get`] and [`prepare_crawl`] return the caller's mistakes (the command line
/// exits with status 2 on them): [`StartError::Url`], [`StartError::InputFile`],
/// [`StartError::InputLine`], [`StartError::InputLineBytes`], [`StartError::Header`] and `StartError::Tls`. [`execute`] returns what the
/// machine refused (exit status 3): [`StartError::OutputDir`], [`StartError::Record`],
/// [`StartError::FailedFile`] and [`StartError::Engine`]. `Display` is the one line the command line prints after
/// `miodl: `.
#[derive(Debug)]
#[non_exhaustive]
pub enum StartError {
    /// A URL to fetch, or the list URL of a crawl, is not one miodl can fetch.
    Url(UrlError),
    /// An input file (`-i FILE`) could not be opened.
    InputFile {
        /// The file as given.
        path: PathBuf,
        /// Why it could not be opened.
        error: io::Error,
    },
    /// A line of an input file is not a URL miodl can fetch.
    InputLine {
        /// The file as given.
        file: PathBuf,
        /// The line's number, from 1 (blank and `#` lines count).
        line: usize,
        /// What is wrong with the URL.
        error: UrlError,
    },
    /// A line of an input file is not valid UTF-8, is longer than
    /// [`MAX_LINE`](crate::policy::feed::MAX_LINE), or could not be read.
    InputLineBytes {
        /// The file as given.
        file: PathBuf,
        /// The line's number, from 1 (blank and `#` lines count).
        line: usize,
        /// What is wrong with the line.
        error: LineError,
    },
    /// `--cacert FILE` or the `SSL_CERT_FILE` of the environment could not be read or
    /// holds no certificate
    /// ([`TlsError::CaFile`](crate::protocol::tls::TlsError::CaFile),
    /// [`TlsError::TrustStore`](crate::protocol::tls::TlsError::TrustStore)).
    #[cfg(feature = "tls")]
    Tls(crate::protocol::tls::TlsError),
    /// A crawl's options do not fit together (`--item-url {url}` with `--pages more`,
    /// `--items` without a `GET` style, ...): one line naming them.
    Crawl(String),
    /// A custom header (`-H`, `-A`) is malformed, or one miodl sets itself.
    Header(HeaderArgError),
    /// The output directory could not be created.
    OutputDir {
        /// The directory.
        path: PathBuf,
        /// Why it could not be created.
        error: io::Error,
    },
    /// `--skip-existing`: the record of saved files in the output directory could not
    /// be read or opened for appending.
    Record {
        /// The record.
        path: PathBuf,
        /// Why.
        error: io::Error,
    },
    /// The file of `--failed FILE` could not be created.
    FailedFile {
        /// The file as given.
        path: PathBuf,
        /// Why it could not be created.
        error: io::Error,
    },
    /// The engine could not run (its poller, its sockets or its threads failed).
    Engine {
        /// Which engine.
        engine: Engine,
        /// What failed.
        error: io::Error,
    },
}

impl StartError {
    fn input_file(path: &Path, error: io::Error) -> StartError {
        StartError::InputFile {
            path: path.to_path_buf(),
            error,
        }
    }
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Url(error) => write!(f, "{error}"),
            StartError::Crawl(message) => write!(f, "{message}"),
            StartError::Header(error) => write!(f, "invalid header: {error}"),
            StartError::InputFile { path, error } => {
                write!(f, "cannot read {}: {error}", path.display())
            }
            StartError::InputLine { file, line, error } => {
                write!(f, "{}:{line}: {error}", file.display())
            }
            StartError::InputLineBytes { file, line, error } => {
                write!(f, "{}:{line}: {error}", file.display())
            }
            #[cfg(feature = "tls")]
            StartError::Tls(error) => write!(f, "{error}"),
            StartError::OutputDir { path, error } => {
                write!(
                    f,
                    "cannot create output directory {}: {error}",
                    path.display()
                )
            }
            StartError::Record { path, error } => {
                write!(
                    f,
                    "cannot use the record of saved files {}: {error}",
                    path.display()
                )
            }
            StartError::FailedFile { path, error } => {
                write!(f, "cannot write --failed {}: {error}", path.display())
            }
            StartError::Engine { engine, error } => {
                write!(f, "the {} engine failed: {error}", engine.name())
            }
        }
    }
}

impl std::error::Error for StartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StartError::Url(error) | StartError::InputLine { error, .. } => Some(error),
            StartError::InputLineBytes { error, .. } => Some(error),
            StartError::Crawl(_) | StartError::Header(_) => None,
            StartError::InputFile { error, .. }
            | StartError::OutputDir { error, .. }
            | StartError::Record { error, .. }
            | StartError::FailedFile { error, .. }
            | StartError::Engine { error, .. } => Some(error),
            #[cfg(feature = "tls")]
            StartError::Tls(error) => Some(error),
        }
    }
}

/// The run's start on both clocks, with a jitter seed from the wall clock and the process
/// id: the one place a run reads the clocks for the policy.
fn start_now() -> Start {
    let wall = SystemTime::now();
    let nanos = wall
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    Start {
        instant: Instant::now(),
        wall,
        jitter_seed: nanos ^ (u64::from(std::process::id()) << 32),
    }
}

/// Whether a run talks to a person on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stderr {
    /// Failures, one line each, and on a terminal (without `-q`) the status line.
    Console,
    /// Nothing: a library call, a benchmark, a test that reads the summary.
    Silent,
}

/// Runs a plan to the end (or to a stop), talking on stderr as `stderr` says.
pub fn execute(plan: Plan, stop: &Stop, stderr: Stderr) -> Result<Report, StartError> {
    execute_with(plan, stop, stderr, Observers::default())
}

/// [`execute`], with more observers of the run (the library's file handlers).
pub(crate) fn execute_with(
    plan: Plan,
    stop: &Stop,
    stderr: Stderr,
    mut observers: Observers,
) -> Result<Report, StartError> {
    let Plan {
        mut options,
        mut feed,
        trusted,
        total,
        expects_tls,
    } = plan;
    let dir = options
        .output_dir
        .clone()
        .unwrap_or_else(default_output_dir);
    let mut output = OutputDir::create(&dir).map_err(|error| StartError::OutputDir {
        path: dir.clone(),
        error,
    })?;
    if options.skip_existing {
        // Before the scheduler's first refill: skipped files never become jobs.
        let saved = output.open_record().map_err(|error| StartError::Record {
            path: dir.join(RECORD_NAME),
            error,
        })?;
        feed.skip_saved(saved.into_iter().map(|entry| (entry.key, entry.name)));
    }
    let parts = parts_to_resume(&options, &dir)?;
    let start = start_now();
    let started = start.instant;
    // After the output directory is open, so the open-file reserve counts it.
    fit_and_warn(&mut options, stderr, expects_tls);
    warn_if_proxy_sees_credentials(&options, &trusted);
    let crawl = matches!(feed, Feed::Crawl(_));
    add_reports(
        &mut observers,
        &options,
        stderr,
        Progress::new(started, total, crawl),
    )?;
    let engine = options.engine;
    let mut scheduler = Scheduler::new(options, feed, trusted, observers, start);
    if !parts.is_empty() {
        scheduler.resume_parts(parts);
    }
    crate::engine::run(&mut scheduler, &output, stop)
        .map_err(|error| StartError::Engine { engine, error })?;
    let elapsed = started.elapsed();
    scheduler.finish_observers(Instant::now());
    let (extra_pages, listing_complete, stopped_at_max_pages) =
        listing_end(scheduler.feed(), stderr);
    let pages_chained = match scheduler.feed() {
        Feed::Crawl(feed) => Some(feed.pager().chained()),
        Feed::Urls(_) => None,
    };
    Ok(Report {
        summary: scheduler.summary().clone(),
        elapsed,
        ending: scheduler.ending(),
        unfinished: scheduler.unfinished(),
        extra_pages,
        pages_chained,
        listing_complete,
        stopped_at_max_pages,
        output_dir: dir,
        engine: engine.name(),
    })
}

/// `-C`: the parts earlier runs left in `dir`, read once, before the first request
/// (nothing is read without `-C`).
fn parts_to_resume(
    options: &TransferOptions,
    dir: &Path,
) -> Result<Vec<crate::model::partial::Partial>, StartError> {
    if !options.resume {
        return Ok(Vec::new());
    }
    crate::output::partial::scan(dir).map_err(|error| StartError::OutputDir {
        path: dir.to_path_buf(),
        error,
    })
}

/// Sizes the pool to the open-file limit, and says on stderr what the user should know
/// before the run: `--insecure`, a part of the system's trust store that could not be
/// used (when a start URL is `https://`: only then was it read), and a `-c` that had to
/// shrink.
fn fit_and_warn(options: &mut TransferOptions, stderr: Stderr, expects_tls: bool) {
    if options.insecure {
        eprintln!("miodl: warning: --insecure: TLS certificates are not verified");
    }
    #[cfg(not(feature = "tls"))]
    let _ = expects_tls;
    #[cfg(feature = "tls")]
    if let (false, Stderr::Console, true) = (options.insecure, stderr, expects_tls) {
        // Read (once per process) by check_trust_store, which refused a bad one.
        if let Ok(trusted) = crate::transport::tls::trust::trusted() {
            for warning in &trusted.warnings {
                eprintln!("miodl: warning: {warning}");
            }
        }
    }
    if let Some(shrunk) = open_files::plan(options) {
        if stderr == Stderr::Console {
            eprintln!("miodl: warning: {shrunk}");
        }
    }
}

/// Says once, before the run, that an HTTP proxy reads the credentials of the `http://`
/// URLs it carries (`-u`, a custom `Authorization` or `Cookie`): they are not inside TLS.
/// (Through a `CONNECT` tunnel it cannot read them.) The secret itself is not printed.
fn warn_if_proxy_sees_credentials(options: &TransferOptions, trusted: &[Authority]) {
    let Some(proxy) = &options.proxy.http else {
        return;
    };
    if options.credentials.is_none() && !options.headers.has_secret() {
        return;
    }
    let through =
        |a: &Authority| a.scheme == Scheme::Http && !options.proxy.no_proxy.covers(&a.host);
    if trusted.iter().any(through) {
        eprintln!("miodl: warning: the HTTP proxy {proxy} sees the credentials of http:// URLs");
    }
}

/// The observers the options ask for: the console (with the progress line), the
/// `--failed` list, `--events` and `--trace`.
fn add_reports(
    observers: &mut Observers,
    options: &TransferOptions,
    stderr: Stderr,
    progress: Progress,
) -> Result<(), StartError> {
    let started = progress.started;
    if stderr == Stderr::Console {
        let console = Console::new(options.quiet, options.verbose, progress);
        observers.push(Box::new(console));
    }
    if let Some(path) = &options.failed {
        let list = FailedList::create(path).map_err(|error| StartError::FailedFile {
            path: path.clone(),
            error,
        })?;
        observers.push(Box::new(list));
    }
    if options.events {
        observers.push(Box::new(EventLines));
    }
    if let Some(path) = &options.trace {
        observers.push(Box::new(TraceRecorder::new(path.clone(), started)));
    }
    Ok(())
}

/// How the listing ended: the pages asked past its end (a crawl), whether it was read to
/// its end, and whether `--max-pages` stopped it (said on stderr).
fn listing_end(feed: &Feed, stderr: Stderr) -> (Option<u64>, bool, bool) {
    let Feed::Crawl(feed) = feed else {
        return (None, true, false);
    };
    let stats = feed.pager().stats();
    let stopped = feed.stopped_at_max_pages() && stats.pages_failed == 0;
    if stopped && stderr == Stderr::Console {
        let pages = stats.pages_requested;
        eprintln!("miodl: stopped after --max-pages {pages} pages; the list may have more");
    }
    (Some(stats.extra_pages), stats.complete, stopped)
}

/// `results/<unix-seconds>`, the seed's habit.
fn default_output_dir() -> PathBuf {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    PathBuf::from("results").join(secs.to_string())
}
