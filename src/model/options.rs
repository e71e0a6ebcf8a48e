//! The knobs of a transfer, as plain data.
//!
//! The command line parses into these structs, the library's
//! [`Downloader`](crate::Downloader) sets them one method at a time, and everything after
//! takes them, never raw strings. Each field mirrors one option of `miodl get` /
//! `miodl crawl` (docs/reference.md §3); the defaults here are the documented defaults.
//!
//! Layer: `model`; may use `protocol` (see `src/model/mod.rs`).

use std::path::PathBuf;
use std::time::Duration;

use crate::model::resolve::Naming;
use crate::model::shard::Shard;
use crate::protocol::proxy::Proxies;

/// Which engine performs the requests. All three share the sans-IO protocol layer and
/// produce the same files and the same summary; they differ only in how they wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// The mio event loop: one thread, many nonblocking sockets (and disk threads for
    /// large bodies, `--disk-threads`).
    Reactor,
    /// One request after another on `std::net`, the seed's sequential `requests` script.
    Blocking,
    /// A pool of blocking worker threads, the seed's thread "executor".
    Threads,
}

impl Engine {
    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Reactor => "reactor",
            Engine::Blocking => "blocking",
            Engine::Threads => "threads",
        }
    }
}

/// `--speed-limit BYTES --speed-time SECS`: a try that brings fewer than
/// `bytes_per_second` on average over a window of `window` fails (docs/reference.md §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpeedLimit {
    /// `--speed-limit`: the least average rate, in bytes a second (head and body bytes).
    pub bytes_per_second: u64,
    /// `--speed-time`: how long a window the rate is averaged over.
    pub window: Duration,
}

impl SpeedLimit {
    /// curl's `--speed-time` when only `--speed-limit` is given: 30 s.
    pub const DEFAULT_WINDOW: Duration = Duration::from_secs(30);
    /// curl's `--speed-limit` when only `--speed-time` is given: 1 byte a second.
    pub const DEFAULT_BYTES_PER_SECOND: u64 = 1;
}

/// `USER:PASS` for HTTP Basic authentication. `Debug` never prints the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user name, before the first `:`.
    pub user: String,
    /// The password, after the first `:` (may be empty).
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({:?}, <hidden>)", self.user)
    }
}

/// A request rate, `--rate N/U`: `count` requests per `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Requests (at least 1).
    pub count: u32,
    /// Per this much time (a second, minute, hour or day).
    pub per: Duration,
}

impl Rate {
    /// The time between two requests at this rate.
    pub fn interval(&self) -> Duration {
        self.per / self.count.max(1)
    }
}

/// The custom headers of a run (`-H`, `-A`), `(name, value)` in the order given.
/// `Debug` prints the names only: a value may be a secret.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Headers(pub Vec<(String, String)>);

impl std::fmt::Debug for Headers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(name, _)| name))
            .finish()
    }
}

impl Headers {
    /// Is one of them `Authorization` or `Cookie` (with a value), so that only the
    /// trusted hosts may get it?
    pub fn has_secret(&self) -> bool {
        self.0.iter().any(|(name, value)| {
            !value.is_empty()
                && (name.eq_ignore_ascii_case("authorization")
                    || name.eq_ignore_ascii_case("cookie"))
        })
    }
}

/// Options shared by `get` and `crawl`: limits, retries, timeouts and reporting.
#[derive(Debug, Clone)]
pub struct TransferOptions {
    /// `-o`: where files go. `None` means `results/<unix-seconds>`.
    pub output_dir: Option<PathBuf>,
    /// `-c`: the connector limit, at most this many open sockets. `None` = unlimited (`-c 0`).
    pub connections: Option<usize>,
    /// Staged files the reactor may hold open at once, when the open-file limit leaves
    /// fewer descriptors for files than there are sockets: set by the application
    /// (`crate::app::open_files`), never by the command line. `None`: one per socket.
    pub staged_files: Option<usize>,
    /// `--per-host`: at most this many sockets to one host.
    pub per_host: Option<usize>,
    /// `--max-in-flight`: the semaphore, at most this many requests in flight.
    pub max_in_flight: Option<usize>,
    /// `--rate N/U`: at most this many requests sent per unit of time, all hosts together.
    pub rate: Option<Rate>,
    /// `--per-host-rate N/U`: at most this many requests sent per unit of time to one
    /// host (scheme, host and port).
    pub per_host_rate: Option<Rate>,
    /// `--limit-rate BYTES`: at most this many bytes received a second, the whole run
    /// together (heads and bodies, every socket). `None`: no cap.
    pub limit_rate: Option<u64>,
    /// `--no-keepalive` clears this: every request then carries `Connection: close`.
    pub keep_alive: bool,
    /// `--retries`: extra tries after a retryable failure.
    pub retries: u32,
    /// `--retry-delay`: the first backoff; it doubles each try, with jitter.
    pub retry_delay: Duration,
    /// `--connect-timeout`.
    pub connect_timeout: Duration,
    /// `--timeout`: the idle limit while waiting for bytes.
    pub timeout: Duration,
    /// `--max-time`: one try of one transfer, from the moment it is given a socket to its
    /// last byte, takes at most this long. `None`: no such bound.
    pub max_time: Option<Duration>,
    /// `--speed-limit` / `--speed-time`: the least average rate over a window. `None`: no
    /// such bound.
    pub speed_limit: Option<SpeedLimit>,
    /// `-u USER:PASS`, sent only to the hosts named on the command line.
    pub credentials: Option<Credentials>,
    /// `-H 'Name: value'` and `-A` (as `User-Agent`), in the order given, each checked
    /// by [`parse_header`](crate::protocol::http::parse_header); an empty value removes
    /// miodl's own header of that name. `Authorization` and `Cookie` go only where
    /// `credentials` go. `Debug` hides the values.
    pub headers: Headers,
    /// `--compressed`: ask for gzip or deflate and save the bodies decoded.
    pub compressed: bool,
    /// `--max-redirects`.
    pub max_redirects: u32,
    /// `--max-filesize`: a body larger than this fails.
    pub max_filesize: Option<u64>,
    /// `--engine`.
    pub engine: Engine,
    /// `-q`: no live status line; failures are still printed. Read only by a run that
    /// shows a console (the command line, [`Downloader::console`](crate::Downloader::console)).
    pub quiet: bool,
    /// `--json`: one summary object on stdout at the end, printed by whoever ran the plan
    /// (the command line, the [`Downloader`](crate::Downloader)), not by `run::execute`.
    pub json: bool,
    /// `--events`: one JSON line on stdout per finished file.
    pub events: bool,
    /// `--trace FILE`: a Chrome trace-event JSON of the run.
    pub trace: Option<PathBuf>,
    /// `-v`: each request and response head on stderr, credentials redacted. Read only
    /// by a run that shows a console; without it no head is copied for printing.
    pub verbose: bool,
    /// `--failed FILE`: the URLs of the files that failed, one a line, for a later `-i`.
    pub failed: Option<PathBuf>,
    /// `--shard I/N`: only this stable part of the URLs (or ids).
    pub shard: Option<Shard>,
    /// `--cacert FILE`: more trusted roots (PEM) for `https://`.
    pub cacert: Option<PathBuf>,
    /// `--insecure`: do not verify TLS certificates.
    pub insecure: bool,
    /// `--disk-threads`: threads the reactor lends large bodies to (`reactor::disk`);
    /// 0 = it writes them itself.
    pub disk_threads: usize,
    /// `--pipeline`: GET requests the reactor may send on one socket before their
    /// answers come (HTTP/1.1 pipelining); 1 = one at a time.
    pub pipeline: usize,
    /// `-J, --remote-header-name`: name each file by its answer's `Content-Disposition`
    /// (made safe), the URL's name (get) or the id (crawl) when it has none.
    pub remote_header_name: bool,
    /// `--skip-existing`: do not request a file an earlier run recorded as saved for the
    /// same URL (get) or id (crawl) in the output directory's record of saved files.
    pub skip_existing: bool,
    /// `-C, --continue`: keep a cut body in a hidden part in the output directory, and
    /// resume the parts an earlier run left (`Range` + `If-Range`).
    pub resume: bool,
    /// How names become addresses: the resolver (the system's unless the library was
    /// given one), `--resolve` pins and `-4` / `-6`.
    pub naming: Naming,
    /// `-x` / `--noproxy` (or, from the command line, the `*_proxy` variables): the
    /// HTTP proxies for `http://` and `https://` URLs, and the hosts that bypass them.
    pub proxy: Proxies,
}

impl Default for TransferOptions {
    fn default() -> Self {
        TransferOptions {
            output_dir: None,
            connections: Some(100),
            staged_files: None,
            per_host: None,
            max_in_flight: None,
            rate: None,
            per_host_rate: None,
            limit_rate: None,
            keep_alive: true,
            retries: 3,
            retry_delay: Duration::from_millis(200),
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
            max_time: None,
            speed_limit: None,
            credentials: None,
            headers: Headers::default(),
            compressed: false,
            max_redirects: 10,
            max_filesize: None,
            engine: Engine::Reactor,
            quiet: false,
            json: false,
            events: false,
            trace: None,
            verbose: false,
            failed: None,
            shard: None,
            cacert: None,
            insecure: false,
            disk_threads: default_disk_threads(),
            pipeline: 1,
            remote_header_name: false,
            skip_existing: false,
            resume: false,
            naming: Naming::default(),
            proxy: Proxies::default(),
        }
    }
}

impl TransferOptions {
    /// Is `--max-time` or `--speed-limit` set? (Without them the engines keep no bounds.)
    #[inline]
    pub fn has_bounds(&self) -> bool {
        self.max_time.is_some() || self.speed_limit.is_some()
    }
}

/// One disk thread per CPU, at most 4: the page cache scales with cores, not beyond.
pub fn default_disk_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
}
