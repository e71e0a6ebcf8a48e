//! The library face: embed miodl in a program and handle each file as it lands.
//!
//! [`Downloader`] is a builder with a method for every transfer option of the command
//! line (`miodl get --help`), and [`FileHandler`] is the seed's "data handler": it is
//! called the moment each file is complete under its final name (or has failed for
//! good), while the other downloads go on, so a program can start working on results
//! before the last one arrives. Everything here is re-exported at the crate root.
//!
//! ```no_run
//! use miodl::{Downloader, FileHandler, SavedFile};
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
//!
//! A run that cannot start returns a [`StartError`] before anything is sent (a URL miodl
//! cannot fetch, an unreadable list or `--cacert`) or before anything is saved (an output
//! directory it cannot create); failures of single files are in the [`Report`] and are
//! handed to [`FileHandler::failed`] as they happen.
//!
//! Layer: `app`; may use `protocol`, `model`, `policy`, `output`, `transport`, `engine`, `report` and `serve` (see `src/app/mod.rs`).

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::app::run::CrawlOptions;
use crate::app::run::{self, CrawlTask, GetTask, Report, StartError};
use crate::model::error::JobError;
use crate::model::event::{Event, Observer, Observers};
use crate::model::options::{Credentials, Engine, Rate, SpeedLimit, TransferOptions};
use crate::model::resolve::{Family, Pin, Resolve, Resolver};
use crate::model::shard::Shard;
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
///
/// Each method names the option of `miodl get` / `miodl crawl` it stands for; the
/// defaults are the command line's (docs/reference.md §3). A downloader prints nothing
/// unless asked: [`Downloader::console`], [`Downloader::events`], [`Downloader::json`].
pub struct Downloader {
    options: TransferOptions,
    /// `-i FILE`s, read after the URLs given to [`Downloader::get`].
    input_files: Vec<PathBuf>,
    /// Failures and the status line on stderr, as the command line shows them, or not.
    stderr: run::Stderr,
    observers: Observers,
    stop: Stop,
}

impl Downloader {
    /// A downloader with the documented defaults, saving into `output_dir` (`-o`).
    pub fn new(output_dir: impl Into<PathBuf>) -> Downloader {
        Downloader::with_options(TransferOptions {
            output_dir: Some(output_dir.into()),
            ..TransferOptions::default()
        })
    }

    /// A downloader with these options, all at once (for a program that keeps its own
    /// [`TransferOptions`]); `output_dir: None` saves into `results/<unix-seconds>`.
    pub fn with_options(options: TransferOptions) -> Downloader {
        Downloader {
            options,
            input_files: Vec::new(),
            stderr: run::Stderr::Silent,
            observers: Observers::default(),
            stop: Stop::new(),
        }
    }

    /// The connector limit (`-c`): at most `n` sockets; 0 = unlimited.
    pub fn connections(mut self, n: usize) -> Self {
        self.options.connections = (n > 0).then_some(n);
        self
    }

    /// At most `n` sockets to one host (`--per-host`); 0 = no extra limit.
    pub fn per_host(mut self, n: usize) -> Self {
        self.options.per_host = (n > 0).then_some(n);
        self
    }

    /// The semaphore (`--max-in-flight`): at most `n` requests in flight; 0 = no limit.
    pub fn max_in_flight(mut self, n: usize) -> Self {
        self.options.max_in_flight = (n > 0).then_some(n);
        self
    }

    /// `--rate`: at most `count` requests sent per `per`, all hosts together (every
    /// request counts: pages, retries, resends).
    pub fn rate(mut self, count: u32, per: Duration) -> Self {
        self.options.rate = Some(Rate { count, per });
        self
    }

    /// `--per-host-rate`: at most `count` requests sent per `per` to one host.
    pub fn per_host_rate(mut self, count: u32, per: Duration) -> Self {
        self.options.per_host_rate = Some(Rate { count, per });
        self
    }

    /// `--limit-rate`: at most `bytes_per_second` received a second, every socket of
    /// the run together (0 is taken as 1).
    pub fn limit_rate(mut self, bytes_per_second: u64) -> Self {
        self.options.limit_rate = Some(bytes_per_second.max(1));
        self
    }

    /// Keep-alive on (the default) or off (`--no-keepalive`: every request carries
    /// `Connection: close`).
    pub fn keep_alive(mut self, on: bool) -> Self {
        self.options.keep_alive = on;
        self
    }

    /// Up to `n` GET requests on one socket before their answers (`--pipeline`; HTTP/1.1
    /// pipelining, off at 1, the default; 0 counts as 1). The reactor engine only.
    pub fn pipeline(mut self, n: usize) -> Self {
        self.options.pipeline = n.max(1);
        self
    }

    /// Names each file as its answer's `Content-Disposition` says, made safe
    /// (`-J, --remote-header-name`); the URL's name or the id when it has none.
    pub fn remote_header_name(mut self, on: bool) -> Self {
        self.options.remote_header_name = on;
        self
    }

    /// Does not request a file an earlier such run saved in the output directory for the
    /// same URL or id (`--skip-existing`); it counts as `skipped`.
    pub fn skip_existing(mut self, on: bool) -> Self {
        self.options.skip_existing = on;
        self
    }

    /// `-C, --continue`: keep a cut body in a hidden part of the output directory, and
    /// resume the parts an earlier run left with `Range` and `If-Range`.
    pub fn resume(mut self, on: bool) -> Self {
        self.options.resume = on;
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

    /// The first backoff (`--retry-delay`); it doubles each try, with jitter.
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

    /// Bounds each try of each transfer (`--max-time`): from the moment it is given a
    /// socket (the connect included) to its last byte, at most `limit`; then it fails as
    /// a timeout, and may be tried again.
    pub fn max_time(mut self, limit: Duration) -> Self {
        self.options.max_time = Some(limit);
        self
    }

    /// Fails a try that brings fewer than `bytes_per_second` on average over a window
    /// of `window` (`--speed-limit BYTES --speed-time SECS`); it may be tried again.
    pub fn speed_limit(mut self, bytes_per_second: u64, window: Duration) -> Self {
        self.options.speed_limit = Some(SpeedLimit {
            bytes_per_second,
            window,
        });
        self
    }

    /// Follows up to `n` redirects (`--max-redirects`); 0 makes every redirect a failure.
    pub fn max_redirects(mut self, n: u32) -> Self {
        self.options.max_redirects = n;
        self
    }

    /// Fails a body larger than `bytes` (`--max-filesize`), announced or counted.
    pub fn max_filesize(mut self, bytes: u64) -> Self {
        self.options.max_filesize = Some(bytes);
        self
    }

    /// HTTP Basic credentials (`-u USER:PASS`), sent only to the scheme, host and port of
    /// the URLs given to [`Downloader::get`] (or the list URL of [`Downloader::crawl`]).
    pub fn credentials(mut self, user: &str, password: &str) -> Self {
        self.options.credentials = Some(Credentials {
            user: user.to_string(),
            password: password.to_string(),
        });
        self
    }

    /// Adds a request header to every request (`-H 'Name: value'`): it replaces miodl's
    /// own of that name, an empty value removes it, and `Authorization` or `Cookie` go
    /// only where [`Downloader::credentials`] would. A name that is not a token, a value
    /// with a control character, or `Host`, `Content-Length`, `Transfer-Encoding` or
    /// `Connection` is a [`StartError::Header`] before anything is sent.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        let value = value.to_string();
        self.options.headers.0.push((name.to_string(), value));
        self
    }

    /// The `User-Agent` to send (`-A`), as [`Downloader::header`] with that name.
    pub fn user_agent(self, agent: &str) -> Self {
        self.header("User-Agent", agent)
    }

    /// Asks for gzip or deflate and saves bodies decoded (`--compressed`); the
    /// [`Downloader::max_filesize`] counts decoded bytes.
    pub fn compressed(mut self, on: bool) -> Self {
        self.options.compressed = on;
        self
    }

    /// Which engine runs the requests (`--engine`).
    pub fn engine(mut self, engine: Engine) -> Self {
        self.options.engine = engine;
        self
    }

    /// Fetches only part `index` of `count` (`--shard I/N`, `index` from 0): a stable
    /// split by URL (get) or id (crawl), so `count` machines share one job.
    ///
    /// # Panics
    ///
    /// If `index` is not below `count`.
    pub fn shard(mut self, index: u64, count: u64) -> Self {
        assert!(
            index < count,
            "shard {index}/{count}: the index must be below the count"
        );
        self.options.shard = Some(Shard { index, count });
        self
    }

    /// Also trusts the certificates in `path` (PEM) for `https://` (`--cacert`). A file
    /// that is missing or holds none is a [`StartError`] before anything is sent.
    pub fn cacert(mut self, path: impl Into<PathBuf>) -> Self {
        self.options.cacert = Some(path.into());
        self
    }

    /// Does not verify TLS certificates (`--insecure`; says so on stderr).
    pub fn insecure(mut self, on: bool) -> Self {
        self.options.insecure = on;
        self
    }

    /// Looks host names up with `resolver` instead of the system's `getaddrinfo` (a
    /// program with its own DNS client, or a test that controls how long a lookup takes).
    /// The reactor calls it on its resolver threads, once per host and port; the
    /// blocking and threads engines before each connect. IP literals and
    /// [`Downloader::resolve`] pins never reach it.
    pub fn resolver(mut self, resolver: impl Resolve + 'static) -> Self {
        self.options.naming.resolver = Resolver(Arc::new(resolver));
        self
    }

    /// Uses `addrs` for `host:port`, without a lookup (`--resolve HOST:PORT:ADDR,...`;
    /// repeatable, the first pin for a host and port wins).
    pub fn resolve(mut self, host: &str, port: u16, addrs: &[IpAddr]) -> Self {
        self.options.naming.pins.push(Pin {
            host: host.to_ascii_lowercase(),
            port,
            addrs: addrs.to_vec(),
        });
        self
    }

    /// Connects to addresses of one family only (`-4`: [`Family::V4`], `-6`:
    /// [`Family::V6`]); a host with none fails with an error naming it.
    pub fn ip_family(mut self, family: Family) -> Self {
        self.options.naming.family = family;
        self
    }

    /// Sends every request through the HTTP proxy `proxy` (`-x`; parse it with
    /// [`Proxy::parse`](crate::protocol::proxy::Proxy::parse)): `http://` URLs in
    /// absolute form, `https://` through a `CONNECT` tunnel. The library reads no
    /// `*_proxy` variable: only the command line does.
    pub fn proxy(mut self, proxy: crate::protocol::proxy::Proxy) -> Self {
        self.options.proxy.http = Some(proxy.clone());
        self.options.proxy.https = Some(proxy);
        self
    }

    /// The hosts that never go through the proxy (`--noproxy LIST`: names, domain
    /// suffixes, IP addresses, comma-separated; `*` for every host).
    pub fn noproxy(mut self, list: &str) -> Self {
        self.options.proxy.no_proxy = crate::protocol::proxy::NoProxy::parse(list);
        self
    }

    /// Writes a Chrome trace-event file of the run (`--trace`; `miodl timeline` draws it).
    pub fn trace(mut self, path: impl Into<PathBuf>) -> Self {
        self.options.trace = Some(path.into());
        self
    }

    /// Prints each request and response head on stderr, credentials redacted (`-v`;
    /// only a run with [`Downloader::console`] prints them).
    pub fn verbose(mut self, on: bool) -> Self {
        self.options.verbose = on;
        self
    }

    /// Writes the URLs of the files that failed to `path`, one a line, for a later
    /// `-i` (`--failed`).
    pub fn failed(mut self, path: impl Into<PathBuf>) -> Self {
        self.options.failed = Some(path.into());
        self
    }

    /// Prints one JSON line on stdout per finished file (`--events`).
    pub fn events(mut self, on: bool) -> Self {
        self.options.events = on;
        self
    }

    /// Prints the summary as one JSON object on stdout when the run ends (`--json`); the
    /// same text is [`Report::json`].
    pub fn json(mut self, on: bool) -> Self {
        self.options.json = on;
        self
    }

    /// Shows what the command line shows on stderr: a line per failure and, when stderr
    /// is a terminal, the live status line (off by default).
    pub fn console(mut self, on: bool) -> Self {
        self.stderr = if on {
            run::Stderr::Console
        } else {
            run::Stderr::Silent
        };
        self
    }

    /// No live status line even with [`Downloader::console`] on (`-q`): the failures are
    /// still printed.
    pub fn quiet(mut self, on: bool) -> Self {
        self.options.quiet = on;
        self
    }

    /// Also downloads the URLs of `path`, one per line (`-i FILE`, repeatable; `-` reads
    /// stdin), after those given to [`Downloader::get`]. Blank lines and `#` comments are
    /// skipped; a bad line is a [`StartError`] before anything is sent.
    pub fn input_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.input_files.push(path.into());
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

    /// Downloads every URL (then those of the [`Downloader::input_file`]s) into the
    /// output directory, each under its last path segment.
    pub fn get<I, S>(self, urls: I) -> Result<Report, StartError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let task = GetTask {
            urls: urls.into_iter().map(Into::into).collect(),
            input_files: self.input_files,
            transfer: self.options,
        };
        let plan = run::prepare_get(task)?;
        finish(plan, &self.stop, self.stderr, self.observers)
    }

    /// Pages through the list API at `crawl.list_url` and downloads every id it hands
    /// out, each as `<output-dir>/<id>` (the paging options are `crawl`'s fields; a `GET`
    /// style through [`CrawlOptions::pages`]).
    pub fn crawl(self, crawl: CrawlOptions) -> Result<Report, StartError> {
        let task = CrawlTask {
            crawl,
            transfer: self.options,
        };
        let plan = run::prepare_crawl(task)?;
        finish(plan, &self.stop, self.stderr, self.observers)
    }

    /// The options and input files a run would take, for the command line's tests.
    #[cfg(test)]
    pub(crate) fn planned(&self) -> (&TransferOptions, &[PathBuf]) {
        (&self.options, &self.input_files)
    }
}

/// Runs a prepared plan, and prints the `--json` summary if it was asked for.
fn finish(
    plan: run::Plan,
    stop: &Stop,
    stderr: run::Stderr,
    observers: Observers,
) -> Result<Report, StartError> {
    let json = plan.options().json;
    let report = run::execute_with(plan, stop, stderr, observers)?;
    if json {
        println!("{}", report.json());
    }
    Ok(report)
}
