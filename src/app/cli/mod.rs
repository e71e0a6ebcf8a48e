//! The command line: from `argv` to one plain struct per command.
//!
//! Parsing follows lexopt's idiom: a `while let Some(arg) = parser.next()?` loop per
//! command, defaults as plain locals, `Value(v)` for positionals and `arg.unexpected()`
//! for anything else. `get` and `crawl` parse into the library's own [`GetTask`] /
//! [`CrawlTask`] (with the shared [`TransferOptions`] / [`CrawlOptions`]) and `demo`
//! into [`DemoOptions`]: the library takes those, never this module's types or raw
//! strings. The other commands' structs are defined here, for `main.rs` alone.
//!
//! Every mistake becomes a [`UsageError`]: one line naming the option or argument that
//! was wrong, for the caller to print before exiting with status 2 (docs/reference.md §2).
//! URLs are not checked here beyond being UTF-8; the caller runs them through
//! [`crate::protocol::url::Url::parse`] so both command-line and `-i` URLs get the same errors.
//!
//! Layer: `app`; may use `protocol`, `model`, `policy`, `output`, `transport`, `engine`, `report` and `serve` (see `src/app/mod.rs`).

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use lexopt::prelude::*;
use lexopt::{Arg, Parser};

use crate::app::demo::DemoOptions;
use crate::app::run::CrawlOptions;
use crate::app::run::{CrawlTask, GetTask};
use crate::model::options::TransferOptions;
use crate::model::resolve::Family;
use crate::serve::{FaultPlan, ServeConfig};
use values::{
    credentials, engine, header, item_url, limit, limit_rate, non_empty, page_size, pages, path,
    pointer, positive, rate, resolve_pin, retry_delay, seconds, shard, shown, speed_limit,
    speed_time, timeout, user_agent, utf8, whole,
};

mod help;
mod proxy_env;
mod values;
use help::{CRAWL_HELP, DEMO_HELP, GET_HELP, HELP, SERVE_HELP, TIMELINE_HELP, VERIFY_HELP};

/// What `miodl --version` prints.
pub const VERSION: &str = concat!("miodl ", env!("CARGO_PKG_VERSION"));

/// One parsed command line.
#[derive(Debug)]
pub enum Command {
    /// `miodl get`: the URLs, the `-i` files and the transfer options.
    Get(GetTask),
    /// `miodl crawl`: the list URL, the paging and the transfer options.
    Crawl(CrawlTask),
    /// `miodl serve`.
    Serve(ServeArgs),
    /// `miodl verify`.
    Verify(VerifyArgs),
    /// `miodl demo`.
    Demo(DemoOptions),
    /// `miodl timeline`.
    Timeline(TimelineArgs),
    /// `--help` somewhere: print this text to stdout and exit 0.
    Help(&'static str),
    /// `--version`: print [`VERSION`] and exit 0.
    Version,
}

/// `miodl serve`: the options parse straight into the server's own [`ServeConfig`], over
/// its defaults.
#[derive(Debug, Clone)]
pub struct ServeArgs {
    /// Every option but `--tls`; `--fault` values (repeatable) are parsed and joined.
    pub config: ServeConfig,
    /// `--tls`: serve HTTPS with a self-signed certificate made at start (`config.tls`).
    pub tls: bool,
}

/// `miodl verify DIR`.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifyArgs {
    /// The directory to check.
    pub dir: PathBuf,
}

/// `miodl timeline TRACE [-o FILE.svg]`.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineArgs {
    /// The `--trace` JSON file to read.
    pub trace: PathBuf,
    /// `-o`: the SVG to write; default: `trace` with its extension replaced by `svg`.
    pub output: PathBuf,
}

/// A command line miodl cannot run: one line naming the option or argument at fault,
/// never echoing a password. The caller prints it and exits with status 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError(String);

impl UsageError {
    fn new(message: impl Into<String>) -> Self {
        UsageError(message.into())
    }
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

impl From<lexopt::Error> for UsageError {
    /// Rephrases lexopt's errors; values are never echoed (one might be a password).
    fn from(err: lexopt::Error) -> Self {
        use lexopt::Error as E;
        UsageError(match err {
            E::MissingValue { option: Some(o) } => format!("missing value for {o}"),
            E::MissingValue { option: None } => "missing value".to_string(),
            E::UnexpectedOption(o) => format!("unknown option '{}'", o.escape_debug()),
            E::UnexpectedArgument(a) => format!("unexpected argument {}", shown(&a)),
            E::UnexpectedValue { option, .. } => format!("{option} does not take a value"),
            E::NonUnicodeValue(a) => format!("argument {} is not valid UTF-8", shown(&a)),
            other => other.to_string(),
        })
    }
}

/// Parses a whole command line, `argv[0]` included.
pub fn parse<I: IntoIterator<Item = OsString>>(args: I) -> Result<Command, UsageError> {
    let mut parser = Parser::from_iter(args);
    let Some(arg) = parser.next()? else {
        return Err(UsageError::new(
            "missing command (get, crawl, serve, verify, demo or timeline); try 'miodl --help'",
        ));
    };
    let name = match arg {
        Short('h') | Long("help") => return Ok(Command::Help(HELP)),
        Short('V') | Long("version") => return Ok(Command::Version),
        Value(v) => utf8(v, "command")?,
        _ => return Err(arg.unexpected().into()),
    };
    let hint = |e: UsageError| UsageError(format!("{}; try 'miodl {name} --help'", e.0));
    match name.as_str() {
        "get" => parse_get(&mut parser).map_err(hint),
        "crawl" => parse_crawl(&mut parser).map_err(hint),
        "serve" => parse_serve(&mut parser).map_err(hint),
        "verify" => parse_verify(&mut parser).map_err(hint),
        "demo" => parse_demo(&mut parser).map_err(hint),
        "timeline" => parse_timeline(&mut parser).map_err(hint),
        "help" => parse_help(&mut parser),
        other => Err(UsageError(format!(
            "unknown command '{}'; try 'miodl --help'",
            other.escape_debug()
        ))),
    }
}

/// `miodl help [COMMAND]`, the same as `miodl [COMMAND] --help`.
fn parse_help(parser: &mut Parser) -> Result<Command, UsageError> {
    let topic = match parser.next()? {
        None => return Ok(Command::Help(HELP)),
        Some(Value(v)) => utf8(v, "command")?,
        Some(arg) => return Err(arg.unexpected().into()),
    };
    Ok(Command::Help(match topic.as_str() {
        "get" => GET_HELP,
        "crawl" => CRAWL_HELP,
        "serve" => SERVE_HELP,
        "verify" => VERIFY_HELP,
        "demo" => DEMO_HELP,
        "timeline" => TIMELINE_HELP,
        other => {
            return Err(UsageError(format!(
                "unknown command '{}'; try 'miodl --help'",
                other.escape_debug()
            )))
        }
    }))
}

fn parse_get(parser: &mut Parser) -> Result<Command, UsageError> {
    let mut urls = Vec::new();
    let mut input_files = Vec::new();
    let mut transfer = TransferOptions::default();
    let mut given = proxy_env::Given::default();
    while let Some(arg) = parser.next()? {
        if let Some(option) = transfer_option(&arg) {
            apply_transfer_option(option, parser, &mut transfer)?;
            given.note(option);
            continue;
        }
        match arg {
            Short('i') | Long("input-file") => input_files.push(path(parser, "--input-file")?),
            Short('h') | Long("help") => return Ok(Command::Help(GET_HELP)),
            Value(v) => urls.push(utf8(v, "URL")?),
            _ => return Err(arg.unexpected().into()),
        }
    }
    if urls.is_empty() && input_files.is_empty() {
        return Err(UsageError::new(
            "missing URL: give at least one URL or -i FILE",
        ));
    }
    proxy_env::apply_env(&mut transfer, given, proxy_env::var)?;
    Ok(Command::Get(GetTask {
        urls,
        input_files,
        transfer,
    }))
}

fn parse_crawl(parser: &mut Parser) -> Result<Command, UsageError> {
    let mut crawl = CrawlOptions::new(String::new());
    let mut list_url = None;
    let mut item_url_given = None;
    let mut transfer = TransferOptions::default();
    let mut given = proxy_env::Given::default();
    while let Some(arg) = parser.next()? {
        if let Some(option) = transfer_option(&arg) {
            apply_transfer_option(option, parser, &mut transfer)?;
            given.note(option);
            continue;
        }
        match arg {
            Long("pages") => crawl.pages = pages(parser)?,
            Long("items") => crawl.items = Some(pointer(parser, "--items")?),
            Long("item") => crawl.item = Some(pointer(parser, "--item")?),
            Long("page-size") => crawl.page_size = Some(page_size(parser)?),
            Long("per-page") => crawl.per_page = positive(parser, "--per-page")?,
            Long("start") => crawl.start = whole(parser, "--start")?,
            Long("lookahead") => crawl.lookahead = whole(parser, "--lookahead")?,
            Long("item-url") => item_url_given = Some(item_url(parser)?),
            Long("max-pages") => crawl.max_pages = Some(positive(parser, "--max-pages")?),
            Short('h') | Long("help") => return Ok(Command::Help(CRAWL_HELP)),
            Value(v) if list_url.is_none() => list_url = Some(utf8(v, "LIST_URL")?),
            _ => return Err(arg.unexpected().into()),
        }
    }
    crawl.list_url = list_url.ok_or_else(|| UsageError::new("missing LIST_URL"))?;
    let style = crawl.pages.clone();
    crawl = crawl.pages(style);
    if let Some(template) = item_url_given {
        crawl.item_url = template;
    }
    proxy_env::apply_env(&mut transfer, given, proxy_env::var)?;
    Ok(Command::Crawl(CrawlTask { crawl, transfer }))
}

fn parse_serve(parser: &mut Parser) -> Result<Command, UsageError> {
    let mut serve = ServeArgs {
        config: ServeConfig::default(),
        tls: false,
    };
    let config = &mut serve.config;
    while let Some(arg) = parser.next()? {
        match arg {
            Long("host") => config.host = non_empty(parser, "--host")?,
            Long("port") => config.port = whole(parser, "--port")?,
            Long("files") => config.files = whole(parser, "--files")?,
            Long("lag") => config.lag = seconds(parser, "--lag")?,
            Long("seed") => config.seed = whole(parser, "--seed")?,
            Long("fault") => config.faults.rules.extend(fault_plan(parser)?.rules),
            Long("pages") => {
                let text = non_empty(parser, "--pages")?;
                config.pages = crate::serve::ServePages::parse(&text).ok_or_else(|| {
                    UsageError(format!(
                        "invalid value for --pages: {text:?} is not one of more, link, next, cursor, number, offset"
                    ))
                })?;
            }
            Long("page-cap") => config.page_cap = positive(parser, "--page-cap")?,
            Long("no-ranges") => config.ranges = false,
            Long("rate-limit") => config.rate_limit = Some(rate(parser, "--rate-limit")?),
            Long("require-auth") => {
                let value = non_empty(parser, "--require-auth")?;
                config.require_auth = Some(crate::serve::RequiredAuth(value));
            }
            Long("etag-salt") => config.etag_salt = etag_salt(parser)?,
            Long("tls") if cfg!(feature = "tls") => serve.tls = true,
            Long("tls") => return Err(UsageError::new("--tls needs the tls feature")),
            Short('h') | Long("help") => return Ok(Command::Help(SERVE_HELP)),
            _ => return Err(arg.unexpected().into()),
        }
    }
    Ok(Command::Serve(serve))
}

/// `serve --etag-salt WORD`: letters, digits, `-` and `_` only (it goes inside a
/// quoted `ETag`).
fn etag_salt(parser: &mut Parser) -> Result<String, UsageError> {
    let word = non_empty(parser, "--etag-salt")?;
    if !word
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(UsageError(format!(
            "invalid value for --etag-salt: {word:?} may hold only letters, digits, - and _"
        )));
    }
    Ok(word)
}

/// One `--fault PLAN`: its rules, which the caller adds after those of earlier ones.
fn fault_plan(parser: &mut Parser) -> Result<FaultPlan, UsageError> {
    let spec = non_empty(parser, "--fault")?;
    FaultPlan::parse(&spec).map_err(|e| UsageError(format!("invalid value for --fault: {e}")))
}

fn parse_verify(parser: &mut Parser) -> Result<Command, UsageError> {
    let mut dir = None;
    while let Some(arg) = parser.next()? {
        match arg {
            Short('h') | Long("help") => return Ok(Command::Help(VERIFY_HELP)),
            Value(v) if dir.is_none() => dir = Some(PathBuf::from(v)),
            _ => return Err(arg.unexpected().into()),
        }
    }
    let dir = dir.ok_or_else(|| UsageError::new("missing DIR"))?;
    Ok(Command::Verify(VerifyArgs { dir }))
}

fn parse_demo(parser: &mut Parser) -> Result<Command, UsageError> {
    let mut demo = DemoOptions {
        files: 25,
        lag: Duration::from_millis(300),
        quiet: false,
        json: false,
        tls: false,
    };
    while let Some(arg) = parser.next()? {
        match arg {
            Long("tls") if cfg!(feature = "tls") => demo.tls = true,
            Long("tls") => return Err(UsageError::new("--tls needs the tls feature")),
            Long("files") => demo.files = positive(parser, "--files")?,
            Long("lag") => demo.lag = seconds(parser, "--lag")?,
            Short('q') | Long("quiet") => demo.quiet = true,
            Long("json") => demo.json = true,
            Short('h') | Long("help") => return Ok(Command::Help(DEMO_HELP)),
            _ => return Err(arg.unexpected().into()),
        }
    }
    Ok(Command::Demo(demo))
}

fn parse_timeline(parser: &mut Parser) -> Result<Command, UsageError> {
    let mut trace: Option<PathBuf> = None;
    let mut output = None;
    while let Some(arg) = parser.next()? {
        match arg {
            Short('o') | Long("output") => output = Some(path(parser, "--output")?),
            Short('h') | Long("help") => return Ok(Command::Help(TIMELINE_HELP)),
            Value(v) if trace.is_none() => trace = Some(PathBuf::from(v)),
            _ => return Err(arg.unexpected().into()),
        }
    }
    let trace = trace.ok_or_else(|| UsageError::new("missing TRACE file"))?;
    let output = output.unwrap_or_else(|| trace.with_extension("svg"));
    if output == trace {
        return Err(UsageError::new(
            "invalid value for --output: it would overwrite the TRACE file",
        ));
    }
    Ok(Command::Timeline(TimelineArgs { trace, output }))
}

/// The options `get` and `crawl` share: (short, long). The long name is also what
/// errors call the option.
const TRANSFER_OPTIONS: &[(Option<char>, &str)] = &[
    (Some('o'), "output-dir"),
    (Some('c'), "connections"),
    (None, "per-host"),
    (None, "max-in-flight"),
    (None, "rate"),
    (None, "per-host-rate"),
    (None, "limit-rate"),
    (None, "no-keepalive"),
    (None, "retries"),
    (None, "retry-delay"),
    (None, "connect-timeout"),
    (None, "timeout"),
    (None, "max-time"),
    (None, "speed-limit"),
    (None, "speed-time"),
    (Some('u'), "user"),
    (Some('H'), "header"),
    (Some('A'), "user-agent"),
    (None, "compressed"),
    (None, "max-redirects"),
    (None, "max-filesize"),
    (None, "engine"),
    (Some('q'), "quiet"),
    (None, "json"),
    (None, "events"),
    (None, "trace"),
    (Some('v'), "verbose"),
    (None, "failed"),
    (None, "shard"),
    (None, "cacert"),
    (None, "insecure"),
    (None, "disk-threads"),
    (None, "pipeline"),
    (Some('J'), "remote-header-name"),
    (None, "skip-existing"),
    (Some('C'), "continue"),
    (None, "resolve"),
    (Some('4'), "ipv4"),
    (Some('6'), "ipv6"),
    (Some('x'), "proxy"),
    (None, "noproxy"),
];

/// The long name of a shared transfer option, if `arg` is one.
fn transfer_option(arg: &Arg<'_>) -> Option<&'static str> {
    let (_, long) = TRANSFER_OPTIONS.iter().find(|(short, long)| match arg {
        Short(c) => *short == Some(*c),
        Long(name) => name == long,
        Value(_) => false,
    })?;
    Some(long)
}

/// Reads the value (if any) of the transfer option `long` into `t`.
fn apply_transfer_option(
    long: &str,
    parser: &mut Parser,
    t: &mut TransferOptions,
) -> Result<(), UsageError> {
    match long {
        "output-dir" => t.output_dir = Some(path(parser, "--output-dir")?),
        "connections" => t.connections = limit(parser, "--connections")?,
        "per-host" => t.per_host = limit(parser, "--per-host")?,
        "max-in-flight" => t.max_in_flight = limit(parser, "--max-in-flight")?,
        "rate" => t.rate = Some(rate(parser, "--rate")?),
        "per-host-rate" => t.per_host_rate = Some(rate(parser, "--per-host-rate")?),
        "limit-rate" => t.limit_rate = Some(limit_rate(parser)?),
        "no-keepalive" => t.keep_alive = false,
        "retries" => t.retries = whole(parser, "--retries")?,
        "retry-delay" => t.retry_delay = retry_delay(parser)?,
        "connect-timeout" => t.connect_timeout = timeout(parser, "--connect-timeout")?,
        "timeout" => t.timeout = timeout(parser, "--timeout")?,
        "max-time" => t.max_time = Some(timeout(parser, "--max-time")?),
        "speed-limit" => t.speed_limit = Some(speed_limit(parser, t.speed_limit)?),
        "speed-time" => t.speed_limit = Some(speed_time(parser, t.speed_limit)?),
        "user" => t.credentials = Some(credentials(parser)?),
        "header" => t.headers.0.push(header(parser)?),
        "user-agent" => t.headers.0.push(user_agent(parser)?),
        "compressed" => t.compressed = true,
        "max-redirects" => t.max_redirects = whole(parser, "--max-redirects")?,
        "max-filesize" => t.max_filesize = Some(whole(parser, "--max-filesize")?),
        "engine" => t.engine = engine(parser)?,
        "quiet" => t.quiet = true,
        "json" => t.json = true,
        "events" => t.events = true,
        "trace" => t.trace = Some(path(parser, "--trace")?),
        "verbose" => t.verbose = true,
        "failed" => t.failed = Some(path(parser, "--failed")?),
        "shard" => t.shard = Some(shard(parser)?),
        "cacert" => t.cacert = Some(path(parser, "--cacert")?),
        "insecure" => t.insecure = true,
        "disk-threads" => t.disk_threads = whole(parser, "--disk-threads")?,
        "pipeline" => t.pipeline = positive(parser, "--pipeline")?,
        "remote-header-name" => t.remote_header_name = true,
        "skip-existing" => t.skip_existing = true,
        "continue" => t.resume = true,
        "resolve" => t.naming.pins.push(resolve_pin(parser)?),
        "ipv4" => t.naming.family = Family::V4,
        "ipv6" => t.naming.family = Family::V6,
        "proxy" => proxy_env::proxy(parser, t)?,
        "noproxy" => proxy_env::noproxy(parser, t)?,
        other => unreachable!("{other} is in TRANSFER_OPTIONS but not handled"),
    }
    Ok(())
}

#[cfg(test)]
mod tests;
