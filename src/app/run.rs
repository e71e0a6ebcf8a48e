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

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::model::event::Observers;
use crate::model::options::{CrawlOptions, TransferOptions};
use crate::model::stop::Stop;
use crate::model::summary::Summary;
use crate::output::sink::OutputDir;
use crate::policy::feed::{CrawlFeed, Feed, UrlFeed, UrlLines, UrlSources};
use crate::policy::scheduler::{Ending, Scheduler};
use crate::protocol::pager::Pager;
use crate::protocol::url::{Authority, Url, UrlError};
use crate::report::console::Console;
use crate::report::event_lines::EventLines;
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
    /// Scheme, host and port of the URLs named on the command line, which alone get
    /// the credentials.
    trusted: Vec<Authority>,
}

impl Plan {
    /// The options the run will use.
    pub fn options(&self) -> &TransferOptions {
        &self.options
    }
}

/// Checks `--cacert` before anything is sent: a file that is missing or holds no
/// certificate is a usage error, not a failure of every `https://` file.
fn check_tls_options(options: &TransferOptions) -> Result<(), String> {
    crate::transport::Opener::new(options)
        .map(drop)
        .map_err(|e| e.to_string())
}

/// Checks `get`'s URLs and input files; the error is a one-line usage error.
pub fn prepare_get(args: GetTask) -> Result<Plan, String> {
    check_tls_options(&args.transfer)?;
    // Credentials go only to the hosts named here: collect them (few) only if needed.
    let wants_hosts = args.transfer.credentials.is_some();
    let mut trusted = Vec::new();
    // Checked, not built: the feed builds each `Url` again as the run goes.
    let mut check = |text: &str| -> Result<(), UrlError> {
        let url = Url::check(text)?;
        if wants_hosts {
            let key = url.authority_key();
            if !trusted.contains(&key) {
                trusted.push(key);
            }
        }
        Ok(())
    };
    for text in &args.urls {
        check(text).map_err(|e| e.to_string())?;
    }
    // Input files are read twice: once here, so a bad line is a usage error before
    // anything is downloaded, and once as the run goes, so no list is held whole.
    for path in &args.input_files {
        if path.as_os_str() == "-" {
            continue;
        }
        let name: Arc<str> = path.display().to_string().into();
        let file = File::open(path).map_err(|e| format!("cannot read {name}: {e}"))?;
        let mut lines = UrlLines::new(name, BufReader::new(file));
        while let Some(text) = lines.next_line() {
            if let Err(e) = check(text) {
                return Err(format!("{}: {e}", lines.origin()));
            }
        }
    }
    let mut sources = UrlSources::new(args.urls);
    for path in args.input_files {
        let (name, reader): (Arc<str>, Box<dyn BufRead + Send>) = if path.as_os_str() == "-" {
            ("stdin".into(), Box::new(BufReader::new(io::stdin())))
        } else {
            let name: Arc<str> = path.display().to_string().into();
            let file = File::open(&path).map_err(|e| format!("cannot read {name}: {e}"))?;
            (name, Box::new(BufReader::new(file)))
        };
        sources.push_list(UrlLines::new(name, reader));
    }
    let shard = args.transfer.shard;
    Ok(Plan {
        options: args.transfer,
        feed: Feed::Urls(UrlFeed::new(sources, shard)),
        trusted,
    })
}

/// Checks `crawl`'s list URL and item template.
pub fn prepare_crawl(args: CrawlTask) -> Result<Plan, String> {
    check_tls_options(&args.transfer)?;
    let crawl = args.crawl;
    let shard = args.transfer.shard;
    let list_url = Url::parse(&crawl.list_url).map_err(|e| e.to_string())?;
    let pager = Pager::new(crawl.start, crawl.per_page, crawl.lookahead);
    Ok(Plan {
        options: args.transfer,
        feed: Feed::Crawl(Box::new(CrawlFeed::new(
            pager,
            list_url.clone(),
            crawl.item_url,
            shard,
        ))),
        trusted: vec![list_url.authority_key()],
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
    /// For a crawl: false if a page failed, so the listing is incomplete.
    pub listing_complete: bool,
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
            Ending::Finished if !self.listing_complete => 1,
            Ending::Finished => 0,
        }
    }

    /// The `--json` object.
    pub fn json(&self) -> String {
        self.summary
            .to_json(self.engine, self.elapsed, self.extra_pages)
    }
}

/// Why a run could not start.
#[derive(Debug)]
pub struct StartError(pub String);

/// Runs a plan to the end (or to a stop). `console` shows errors and progress on stderr.
pub fn execute(plan: Plan, stop: &Stop, console: bool) -> Result<Report, StartError> {
    execute_with(plan, stop, console, Observers::default())
}

/// [`execute`], with more observers of the run (the library's file handlers).
pub fn execute_with(
    plan: Plan,
    stop: &Stop,
    console: bool,
    mut observers: Observers,
) -> Result<Report, StartError> {
    let Plan {
        options,
        feed,
        trusted,
    } = plan;
    let dir = options
        .output_dir
        .clone()
        .unwrap_or_else(default_output_dir);
    let output = OutputDir::create(&dir).map_err(|e| {
        StartError(format!(
            "cannot create output directory {}: {e}",
            dir.display()
        ))
    })?;
    let started = Instant::now();
    if options.insecure {
        eprintln!("miodl: warning: --insecure: TLS certificates are not verified");
    }
    if console {
        observers.push(Box::new(Console::new(options.quiet)));
    }
    if options.events {
        observers.push(Box::new(EventLines));
    }
    if let Some(path) = &options.trace {
        observers.push(Box::new(TraceRecorder::new(path.clone(), started)));
    }
    let engine = options.engine.name();
    let mut scheduler = Scheduler::new(options, output, feed, trusted, observers);
    crate::engine::run(&mut scheduler, stop)
        .map_err(|e| StartError(format!("the {engine} engine failed: {e}")))?;
    let elapsed = started.elapsed();
    scheduler.finish_observers();
    let (extra_pages, listing_complete) = match scheduler.feed() {
        Feed::Crawl(feed) => {
            let stats = feed.pager().stats();
            (Some(stats.extra_pages), stats.complete)
        }
        Feed::Urls(_) => (None, true),
    };
    Ok(Report {
        summary: scheduler.summary().clone(),
        elapsed,
        ending: scheduler.ending(),
        unfinished: scheduler.unfinished(),
        extra_pages,
        listing_complete,
        output_dir: dir,
        engine,
    })
}

/// `results/<unix-seconds>`, the seed's habit.
fn default_output_dir() -> PathBuf {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    PathBuf::from("results").join(secs.to_string())
}
