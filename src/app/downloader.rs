//! The library face: embed miodl in a program and handle each file as it lands.
//!
//! [`Downloader`] is a builder over the same options as the command line, and
//! [`FileHandler`] is the seed's "data handler": it is called the moment each file is
//! complete under its final name (or has failed for good), while the other downloads go
//! on, so a program can start working on results before the last one arrives.
//!
//! ```no_run
//! use miodl::app::downloader::{Downloader, FileHandler, SavedFile};
//!
//! struct Count(u64);
//! impl FileHandler for Count {
//!     fn saved(&mut self, file: &SavedFile<'_>) {
//!         self.0 += file.bytes;
//!         println!("{} -> {}", file.url, file.path.display());
//!     }
//! }
//!
//! let report = Downloader::new("out")
//!     .connections(16)
//!     .retries(5)
//!     .on_file(Count(0))
//!     .get(["http://127.0.0.1:8080/a.txt", "http://127.0.0.1:8080/b.txt"])
//!     .expect("the run could not start");
//! assert_eq!(report.exit_code(), 0);
//! ```

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::app::run::{self, CrawlTask, GetTask, Report, StartError};
use crate::model::error::JobError;
use crate::model::event::{Event, Observer, Observers};
use crate::model::options::{CrawlOptions, Credentials, Engine, TransferOptions};
use crate::model::stop::Stop;
use crate::protocol::url::Url;

/// A file complete under its final name.
#[derive(Debug)]
pub struct SavedFile<'a> {
    /// The URL it was asked for (before redirects).
    pub url: &'a Url,
    /// Where it is.
    pub path: &'a Path,
    /// Its size.
    pub bytes: u64,
}

/// Called as each file finishes. Runs on the engine's thread: keep it short, or hand the
/// work to a thread of your own.
pub trait FileHandler: Send {
    /// A file is complete.
    fn saved(&mut self, file: &SavedFile<'_>);

    /// A file failed for good (after its retries). The default does nothing.
    fn failed(&mut self, url: &Url, error: &JobError) {
        let _ = (url, error);
    }
}

/// Adapts a [`FileHandler`] to the event stream.
struct HandlerObserver<H>(H);

impl<H: FileHandler> Observer for HandlerObserver<H> {
    fn on_event(&mut self, event: &Event<'_>, _now: Instant) {
        match event {
            Event::FileSaved {
                url, path, bytes, ..
            } => self.0.saved(&SavedFile {
                url,
                path,
                bytes: *bytes,
            }),
            Event::Failed {
                url,
                error,
                is_page: false,
                ..
            } => self.0.failed(url, error),
            _ => {}
        }
    }
}

/// Downloads files or crawls a list, with the command line's options as methods.
pub struct Downloader {
    options: TransferOptions,
    observers: Observers,
    stop: Stop,
}

impl Downloader {
    /// A downloader with the documented defaults, saving into `output_dir`, quiet.
    pub fn new(output_dir: impl Into<PathBuf>) -> Downloader {
        Downloader {
            options: TransferOptions {
                output_dir: Some(output_dir.into()),
                quiet: true,
                ..TransferOptions::default()
            },
            observers: Observers::default(),
            stop: Stop::new(),
        }
    }

    /// The connector limit (`-c`): at most `n` sockets; 0 = unlimited.
    pub fn connections(mut self, n: usize) -> Self {
        self.options.connections = (n > 0).then_some(n);
        self
    }

    /// At most `n` sockets to one host (`--per-host`).
    pub fn per_host(mut self, n: usize) -> Self {
        self.options.per_host = (n > 0).then_some(n);
        self
    }

    /// The semaphore (`--max-in-flight`): at most `n` requests in flight.
    pub fn max_in_flight(mut self, n: usize) -> Self {
        self.options.max_in_flight = (n > 0).then_some(n);
        self
    }

    /// Keep-alive on (the default) or off (`--no-keepalive`).
    pub fn keep_alive(mut self, on: bool) -> Self {
        self.options.keep_alive = on;
        self
    }

    /// Up to `n` GET requests on one socket before their answers (`--pipeline`; HTTP/1.1
    /// pipelining, off at 1, the default). The reactor engine only.
    pub fn pipeline(mut self, n: usize) -> Self {
        self.options.pipeline = n.max(1);
        self
    }

    /// Threads a large body may be lent to (`--disk-threads`; 0 keeps every write on the
    /// reactor's thread). The reactor engine only.
    pub fn disk_threads(mut self, n: usize) -> Self {
        self.options.disk_threads = n;
        self
    }

    /// Extra tries after a retryable failure (`--retries`).
    pub fn retries(mut self, n: u32) -> Self {
        self.options.retries = n;
        self
    }

    /// The first backoff (`--retry-delay`).
    pub fn retry_delay(mut self, delay: Duration) -> Self {
        self.options.retry_delay = delay;
        self
    }

    /// The idle limit while waiting for bytes (`--timeout`).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.options.timeout = timeout;
        self
    }

    /// The connect limit (`--connect-timeout`).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.options.connect_timeout = timeout;
        self
    }

    /// HTTP Basic credentials, sent only to the hosts of the URLs given to
    /// [`Downloader::get`] (or the list URL of [`Downloader::crawl`]).
    pub fn credentials(mut self, user: &str, password: &str) -> Self {
        self.options.credentials = Some(Credentials {
            user: user.to_string(),
            password: password.to_string(),
        });
        self
    }

    /// Which engine runs the requests (`--engine`).
    pub fn engine(mut self, engine: Engine) -> Self {
        self.options.engine = engine;
        self
    }

    /// Writes a Chrome trace-event file of the run (`--trace`).
    pub fn trace(mut self, path: impl Into<PathBuf>) -> Self {
        self.options.trace = Some(path.into());
        self
    }

    /// Calls `handler` as each file finishes.
    pub fn on_file(mut self, handler: impl FileHandler + 'static) -> Self {
        self.observers.push(Box::new(HandlerObserver(handler)));
        self
    }

    /// A handle that stops the run from another thread ([`Stop::request`]).
    pub fn stop_handle(&self) -> Stop {
        self.stop.clone()
    }

    /// Downloads every URL into the output directory, each under its last path segment.
    pub fn get<I, S>(self, urls: I) -> Result<Report, StartError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let args = GetTask {
            urls: urls.into_iter().map(Into::into).collect(),
            input_files: Vec::new(),
            transfer: self.options,
        };
        let plan = run::prepare_get(args)?;
        run::execute_with(plan, &self.stop, false, self.observers)
    }

    /// Pages through the list API at `list_url` and downloads every id it hands out.
    pub fn crawl(self, crawl: CrawlOptions) -> Result<Report, StartError> {
        let args = CrawlTask {
            crawl,
            transfer: self.options,
        };
        let plan = run::prepare_crawl(args)?;
        run::execute_with(plan, &self.stop, false, self.observers)
    }
}
