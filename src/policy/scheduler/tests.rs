//! The scheduler's stories, told on a virtual clock.
//!
//! Each test drives a [`Scheduler`] as an engine does: [`Scheduler::next_ready`], then
//! [`Scheduler::encode_request`], then an answer's bytes run through the protocol's
//! [`Exchange`] into `on_head`, `on_body` and `on_saved` or `on_end`, or a failure into
//! `on_error` or `on_stale`. There is no socket, no file and no sleep: time is one fixed
//! `Instant` plus durations, the wall clock and the jitter's seed are a fixed [`Start`],
//! and what the scheduler decided is read back from the events a [`Recorder`] keeps.
//!
//! Layer: `policy`; may use `protocol` and `model` (see `src/policy/mod.rs`).

use std::collections::{HashMap, VecDeque};
use std::io::{self, BufRead, Cursor};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::{Accept, Ending, Flow, Scheduler, Start};
use crate::model::error::JobError;
use crate::model::event::{Event, Observer, Observers};
use crate::model::job::{ConnId, JobId, Phase};
use crate::model::options::{Credentials, Rate, TransferOptions};
use crate::policy::feed::{queue_bound, CrawlFeed, Feed, UrlFeed, UrlLines, UrlSources};
use crate::policy::retry::{format_http_date, MAX_RETRY_AFTER};
use crate::protocol::http::{self, Exchange, Limits, Method};
use crate::protocol::pager::MorePager;
use crate::protocol::url::{Authority, Url};

// ----------------------------------------------------------------------------------
// Fixtures: the URLs, the answers, the clock.

const A: &str = "http://files.test/a.bin";
const B: &str = "http://files.test/b.bin";
const C: &str = "http://files.test/c.bin";
const D: &str = "http://files.test/d.bin";
const E: &str = "http://files.test/e.bin";
const F: &str = "http://files.test/f.bin";
const G: &str = "http://files.test/g.bin";

/// The list API of a crawl, and where its ids are downloaded from.
const LIST_URL: &str = "http://list.test/api/list_files";
const ITEM_URL: &str = "{origin}/api/download/{id}";

/// The wall-clock time of every run's start: Tue, 14 Nov 2023 22:13:20 GMT.
fn start_wall() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

/// The jitter's seed of every run (unless a test says otherwise).
const SEED: u64 = 7;

/// The connection slot every request of these stories goes on.
const SLOT: ConnId = ConnId(0);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// A complete `200 OK` with `body`.
fn ok(body: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// A bodiless answer with `code`.
fn status(code: u16) -> String {
    with_header(code, None)
}

/// A bodiless answer with `code` and one more header line (`Name: value`).
fn with_header(code: u16, header: Option<&str>) -> String {
    let header = header.map_or(String::new(), |h| format!("{h}\r\n"));
    format!("HTTP/1.1 {code} Reason\r\n{header}Content-Length: 0\r\n\r\n")
}

/// A redirect with `code` to `location`, with a small body (read and dropped).
fn redirect(code: u16, location: &str) -> String {
    format!("HTTP/1.1 {code} Moved\r\nLocation: {location}\r\nContent-Length: 5\r\n\r\nmoved")
}

/// A list page `{"urls": [...]}` with a `More: True|False` header.
fn page(ids: &[&str], more: bool) -> String {
    let body = serde_json::json!({ "urls": ids }).to_string();
    let more = if more { "True" } else { "False" };
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nMore: {more}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// The socket broke while waiting for the answer.
fn reset() -> JobError {
    JobError::Io(
        io::Error::new(io::ErrorKind::ConnectionReset, "connection reset by peer"),
        Phase::AwaitingHead,
    )
}

/// The request line of an encoded request.
fn request_line(request: &str) -> &str {
    request.lines().next().unwrap_or("")
}

/// The value of a header of an encoded request.
fn header<'r>(request: &'r str, name: &str) -> Option<&'r str> {
    let (head, _) = request.split_once("\r\n\r\n")?;
    head.lines().skip(1).find_map(|line| {
        let (n, v) = line.split_once(": ")?;
        n.eq_ignore_ascii_case(name).then_some(v)
    })
}

/// The body of an encoded request.
fn body(request: &str) -> &str {
    request.split_once("\r\n\r\n").map_or("", |(_, body)| body)
}

/// `Authorization` for `-u user:pass`.
const USER_PASS: &str = "Basic dXNlcjpwYXNz";

fn with_credentials() -> TransferOptions {
    TransferOptions {
        credentials: Some(Credentials {
            user: "user".into(),
            password: "pass".into(),
        }),
        ..TransferOptions::default()
    }
}

// ----------------------------------------------------------------------------------
// The record of what the scheduler reported.

/// An event, owned, with what the stories check.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    Phase {
        job: JobId,
        to: Phase,
    },
    Head {
        job: JobId,
        status: u16,
    },
    Stale {
        job: JobId,
        url: String,
    },
    Retry {
        job: JobId,
        url: String,
        attempt: u32,
        delay: Duration,
        error: String,
    },
    Throttled {
        job: JobId,
        delay: Duration,
    },
    Redirect {
        job: JobId,
        to: String,
    },
    Saved {
        job: JobId,
        url: String,
        path: PathBuf,
        bytes: u64,
    },
    PageRead {
        job: JobId,
        new_ids: usize,
    },
    Failed {
        job: JobId,
        url: String,
        is_page: bool,
        error: String,
    },
    Stopped {
        job: JobId,
    },
}

/// The observer of a run: keeps every event the stories check, in order.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<Seen>>>);

impl Observer for Recorder {
    fn on_event(&mut self, event: &Event<'_>, _now: Instant) {
        let seen = match *event {
            Event::Phase { job, to, .. } => Seen::Phase { job, to },
            Event::ResponseHead { job, status } => Seen::Head { job, status },
            Event::StaleResend { job, url } => Seen::Stale {
                job,
                url: url.to_string(),
            },
            Event::Retry {
                job,
                url,
                attempt,
                delay,
                error,
            } => Seen::Retry {
                job,
                url: url.to_string(),
                attempt,
                delay,
                error: error.to_string(),
            },
            Event::Throttled { job, delay, .. } => Seen::Throttled { job, delay },
            Event::Redirect { job, to } => Seen::Redirect {
                job,
                to: to.to_string(),
            },
            Event::FileSaved {
                job,
                url,
                path,
                bytes,
            } => Seen::Saved {
                job,
                url: url.to_string(),
                path: path.to_path_buf(),
                bytes,
            },
            Event::PageRead { job, new_ids } => Seen::PageRead { job, new_ids },
            Event::Failed {
                job,
                url,
                is_page,
                error,
            } => Seen::Failed {
                job,
                url: url.to_string(),
                is_page,
                error: error.to_string(),
            },
            Event::Stopped { job } => Seen::Stopped { job },
            _ => return,
        };
        self.0.lock().unwrap().push(seen);
    }
}

// ----------------------------------------------------------------------------------
// A run: the scheduler, its clock, and the engine's half of each request.

/// How the body of an answer ended, for the engine's last report.
enum Read {
    /// A file body of this many bytes: the engine commits it and reports `on_saved`.
    File(u64),
    /// Anything else: `on_end`.
    Bytes,
}

struct Run {
    scheduler: Scheduler,
    recorder: Recorder,
    /// The virtual clock: the run's start plus whatever the story advanced.
    now: Instant,
    /// The method of each request sent and not yet answered (what its answer is read
    /// for).
    sent: HashMap<JobId, Method>,
}

impl Run {
    /// `miodl get URL...` with the default options.
    fn get(urls: &[&str]) -> Run {
        Run::get_with(TransferOptions::default(), urls)
    }

    /// `miodl get URL...`: every URL is an argument, so its host is trusted with `-u`.
    fn get_with(options: TransferOptions, urls: &[&str]) -> Run {
        Run::get_listed(options, urls, &[])
    }

    /// `miodl get ARGUMENT... -i LIST`: the list's lines come after the arguments, and
    /// only the arguments' hosts are trusted with `-u` (as `run::prepare_get` decides).
    fn get_listed(options: TransferOptions, arguments: &[&str], listed: &[&str]) -> Run {
        Run::get_listed_trusting(options, arguments, listed, false)
    }

    /// [`Run::get_listed`], the list's hosts trusted as it is read when `trust_as_read`
    /// (as `run::prepare_get` pushes `-i -`, stdin).
    fn get_listed_trusting(
        options: TransferOptions,
        arguments: &[&str],
        listed: &[&str],
        trust_as_read: bool,
    ) -> Run {
        let mut trusted = Vec::new();
        for text in arguments {
            let key = Url::parse(text).unwrap().authority_key();
            if !trusted.contains(&key) {
                trusted.push(key);
            }
        }
        let mut sources = UrlSources::new(arguments.iter().map(|s| s.to_string()).collect());
        if !listed.is_empty() {
            let list: Box<dyn BufRead + Send> = Box::new(Cursor::new(listed.join("\n")));
            sources.push_list(UrlLines::new("list".into(), list), trust_as_read);
        }
        let feed = Feed::Urls(Box::new(UrlFeed::new(sources, None)));
        Run::new(options, feed, trusted, SEED)
    }

    /// `miodl crawl LIST_URL --per-page P --lookahead K`.
    fn crawl(options: TransferOptions, per_page: u32, lookahead: u32) -> Run {
        Run::crawl_at_most(options, per_page, lookahead, None)
    }

    /// [`Run::crawl`] with `--max-pages`, the queue bounded as `run::prepare_crawl`
    /// bounds it (by `-c` and the lookahead).
    fn crawl_at_most(
        options: TransferOptions,
        per_page: u32,
        lookahead: u32,
        max_pages: Option<u64>,
    ) -> Run {
        let list_url = Url::parse(LIST_URL).unwrap();
        let trusted = vec![list_url.authority_key()];
        let pager = Box::new(MorePager::new(0, per_page, lookahead));
        let bound = queue_bound(options.connections.unwrap_or(256), lookahead);
        let feed = CrawlFeed::new(
            pager,
            list_url,
            ITEM_URL.to_string(),
            None,
            bound,
            max_pages,
        );
        Run::new(options, Feed::Crawl(Box::new(feed)), trusted, SEED)
    }

    fn new(options: TransferOptions, feed: Feed, trusted: Vec<Authority>, jitter_seed: u64) -> Run {
        let recorder = Recorder::default();
        let mut observers = Observers::default();
        observers.push(Box::new(recorder.clone()));
        // The one reading of a clock: the origin of the virtual one (an `Instant` cannot
        // be made otherwise). From here on time moves only when a story says so.
        let origin = Instant::now();
        let start = Start {
            instant: origin,
            wall: start_wall(),
            jitter_seed,
        };
        Run {
            scheduler: Scheduler::new(options, feed, trusted, observers, start),
            recorder,
            now: origin,
            sent: HashMap::new(),
        }
    }

    fn advance(&mut self, by: Duration) {
        self.now += by;
    }

    // The engine's calls.

    /// The next job that may go, if any.
    fn next(&mut self) -> Option<JobId> {
        self.scheduler.next_ready(self.now)
    }

    /// Puts `job` on a socket and writes its request; returns the request's bytes.
    fn send(&mut self, job: JobId) -> String {
        let now = self.now;
        let s = &mut self.scheduler;
        s.set_phase(job, Phase::Connecting, Some(SLOT), now);
        let mut out = Vec::new();
        let method = s
            .encode_request(job, &mut out, now)
            .expect("the request encodes");
        s.set_phase(job, Phase::Sending, Some(SLOT), now);
        s.emit(Event::RequestSent { job }, now);
        s.set_phase(job, Phase::AwaitingHead, Some(SLOT), now);
        self.sent.insert(job, method);
        String::from_utf8(out).expect("a request is ASCII")
    }

    /// The next job, sent: there must be one.
    fn take(&mut self) -> JobId {
        let job = self.next().expect("a job is ready");
        self.send(job);
        job
    }

    /// The answer to `job`'s request arrives, as `response` bytes, then the socket closes:
    /// the engines' answer reader (`crate::engine::answer`) without the files. A response cut
    /// short thus ends in the protocol's error, reported through `on_error`.
    fn answer(&mut self, job: JobId, response: &str) {
        let method = self
            .sent
            .remove(&job)
            .expect("an answer to a request never sent");
        let keep_alive = self.scheduler.options().keep_alive;
        let exchange = Exchange::new(method, keep_alive, Limits::default());
        let now = self.now;
        let s = &mut self.scheduler;
        match read_answer(s, job, exchange, response.as_bytes(), now) {
            Ok(Read::File(bytes)) => {
                let path = PathBuf::from("out").join(s.file_name(job));
                s.on_saved(job, &path, bytes, now);
            }
            Ok(Read::Bytes) => s.on_end(job, now),
            Err(error) => s.on_error(job, error, now),
        }
    }

    /// The attempt failed on the socket.
    fn fail(&mut self, job: JobId, error: JobError) {
        self.sent.remove(&job);
        self.scheduler.on_error(job, error, self.now);
    }

    /// The reused socket the request went on had been closed by the server.
    fn stale(&mut self, job: JobId) {
        self.sent.remove(&job);
        self.scheduler.on_stale(job, self.now);
    }

    // What the scheduler says.

    fn url(&self, job: JobId) -> String {
        self.scheduler.url(job).to_string()
    }

    fn seen(&self) -> Vec<Seen> {
        self.recorder.0.lock().unwrap().clone()
    }

    /// What `pick` takes out of each event seen so far, in order.
    fn picked<T>(&self, pick: impl FnMut(Seen) -> Option<T>) -> Vec<T> {
        self.seen().into_iter().filter_map(pick).collect()
    }

    /// Every retry so far: (the attempt that comes next, the delay before it).
    fn retries(&self) -> Vec<(u32, Duration)> {
        self.picked(|seen| match seen {
            Seen::Retry { attempt, delay, .. } => Some((attempt, delay)),
            _ => None,
        })
    }

    /// Every pause of a host so far (a throttled answer): its length.
    fn throttles(&self) -> Vec<Duration> {
        self.picked(|seen| match seen {
            Seen::Throttled { delay, .. } => Some(delay),
            _ => None,
        })
    }

    /// Every failure so far: (the URL first given, the message).
    fn failures(&self) -> Vec<(String, String)> {
        self.picked(|seen| match seen {
            Seen::Failed { url, error, .. } => Some((url, error)),
            _ => None,
        })
    }

    /// The URLs (as first given) of the files saved so far, in order.
    fn saved(&self) -> Vec<String> {
        self.picked(|seen| match seen {
            Seen::Saved { url, .. } => Some(url),
            _ => None,
        })
    }

    /// Where each redirect followed so far pointed.
    fn redirects(&self) -> Vec<String> {
        self.picked(|seen| match seen {
            Seen::Redirect { to, .. } => Some(to),
            _ => None,
        })
    }

    /// Hands out every job that may go now, without sending them.
    fn drain(&mut self) -> Vec<JobId> {
        std::iter::from_fn(|| self.next()).collect()
    }
}

/// Runs `input` through `exchange` and the scheduler as `crate::engine::answer` does:
/// the head to `on_head`, the body counted (a file) or to `on_body`, and the socket's
/// close at the end of `input`.
fn read_answer(
    s: &mut Scheduler,
    job: JobId,
    mut exchange: Exchange,
    mut input: &[u8],
    now: Instant,
) -> Result<Read, JobError> {
    let mut accept = None;
    let mut file_bytes = 0;
    loop {
        let (used, event) = exchange.feed(input).map_err(JobError::Http)?;
        let rest = &input[used..];
        match event {
            None if used == 0 => {
                // Nothing more arrives: the server closed the socket.
                exchange.feed_eof().map_err(JobError::Http)?;
                break;
            }
            None => {}
            Some(http::Part::Head(head)) => {
                accept = Some(s.on_head(job, &head, now)?);
                s.set_phase(job, Phase::ReceivingBody, Some(SLOT), now);
            }
            Some(http::Part::Body(bytes)) => match accept {
                Some(Accept::File | Accept::Keep | Accept::Append) => {
                    file_bytes += bytes.len() as u64
                }
                Some(Accept::Whole) => {}
                Some(Accept::Bytes) => {
                    if s.on_body(job, bytes, now)? == Flow::Enough {
                        break;
                    }
                }
                None => unreachable!("the exchange yields the head before the body"),
            },
            Some(http::Part::End { .. }) => break,
        }
        input = rest;
    }
    Ok(match accept {
        Some(Accept::File) => Read::File(file_bytes),
        _ => Read::Bytes,
    })
}

/// True if `delay` is `nominal` scaled by a factor in the jitter's [0.75, 1.25).
fn within_jitter(delay: Duration, nominal: Duration) -> bool {
    delay >= nominal.mul_f64(0.75) && delay < nominal.mul_f64(1.25)
}

// ----------------------------------------------------------------------------------
// Queue order.

#[test]
fn every_request_names_its_own_host_whatever_went_before() {
    let urls = [
        "http://a.test/1",
        "http://a.test/2",
        "http://a.test:8080/3",
        "https://a.test:8080/4",
        "http://ab.test:8080/5",
        "http://a.test/6",
        "http://[::1]:8080/7",
        "http://a.test:80/8",
    ];
    let hosts = [
        "a.test",
        "a.test",
        "a.test:8080",
        "a.test:8080",
        "ab.test:8080",
        "a.test",
        "[::1]:8080",
        "a.test",
    ];
    let mut run = Run::get(&urls);
    let handed = run.drain();
    assert_eq!(handed.len(), urls.len());
    for (&job, host) in handed.iter().zip(hosts) {
        let request = run.send(job);
        assert!(
            request.contains(&format!("\r\nHost: {host}\r\n")),
            "{request}"
        );
        run.answer(job, &ok("body"));
    }
}

#[test]
fn files_come_out_in_input_order() {
    let mut run = Run::get(&[A, B, C]);
    let handed = run.drain();
    let urls: Vec<String> = handed.iter().map(|&job| run.url(job)).collect();
    assert_eq!(urls, [A, B, C]);

    for &job in &handed {
        run.send(job);
        run.answer(job, &ok("body"));
    }
    assert_eq!(run.saved(), [A, B, C]);
    let saved_as: Vec<(PathBuf, u64)> = run
        .seen()
        .into_iter()
        .filter_map(|seen| match seen {
            Seen::Saved { path, bytes, .. } => Some((path, bytes)),
            _ => None,
        })
        .collect();
    assert_eq!(
        saved_as,
        [
            (PathBuf::from("out/a.bin"), 4),
            (PathBuf::from("out/b.bin"), 4),
            (PathBuf::from("out/c.bin"), 4),
        ]
    );
    assert!(run.scheduler.is_finished());
    assert_eq!(run.scheduler.summary().ok, 3);
}

#[test]
fn a_redirected_job_goes_to_the_front_of_the_queue() {
    let mut run = Run::get(&[A, B, C]);
    let a = run.take();
    run.answer(a, &redirect(302, "/moved/a.bin"));
    assert_eq!(run.redirects(), ["http://files.test/moved/a.bin"]);

    // B and C were queued before A came back: A still goes first, at its new URL.
    assert_eq!(run.next(), Some(a));
    assert_eq!(run.url(a), "http://files.test/moved/a.bin");
    let rest: Vec<String> = run.drain().into_iter().map(|j| run.url(j)).collect();
    assert_eq!(rest, [B, C]);
}

#[test]
fn a_retried_job_comes_back_after_its_backoff_not_before() {
    let options = TransferOptions {
        retry_delay: secs(1),
        ..TransferOptions::default()
    };
    let mut run = Run::get_with(options, &[A, B]);
    let a = run.take();
    run.answer(a, &status(503));
    let [(2, delay)] = run.retries()[..] else {
        panic!("one retry, the second attempt: {:?}", run.retries())
    };
    let due = run.now + delay;
    assert_eq!(run.scheduler.next_deadline(), Some(due));
    assert!(run.seen().contains(&Seen::Phase {
        job: a,
        to: Phase::RetryWait { until: due }
    }));

    // While A waits, B goes, and then nothing.
    let b = run.take();
    assert_eq!(run.url(b), B);
    assert_eq!(run.next(), None);

    run.advance(delay - ms(1));
    assert_eq!(run.next(), None, "1 ms before its backoff ends");
    assert!(!run.scheduler.is_finished());

    run.advance(ms(1));
    assert_eq!(run.next(), Some(a), "at the end of its backoff");
    assert_eq!(run.scheduler.next_deadline(), None);
}

// ----------------------------------------------------------------------------------
// Pager priority.

#[test]
fn page_jobs_are_handed_out_before_queued_files() {
    let mut run = Run::crawl(TransferOptions::default(), 2, 1);

    // Lookahead 1: two pages may be out at once.
    let p0 = run.next().unwrap();
    let request = run.send(p0);
    assert_eq!(request_line(&request), "POST /api/list_files HTTP/1.1");
    assert_eq!(
        header(&request, "Content-Type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(body(&request), "start=0&per_page=2");
    let p2 = run.next().unwrap();
    assert_eq!(body(&run.send(p2)), "start=2&per_page=2");
    assert_eq!(run.next(), None, "two pages out, no file known yet");

    // The first page brings files a and b; the pager may ask one more page: it goes first.
    run.answer(p0, &page(&["a", "b"], true));
    assert!(run.seen().contains(&Seen::PageRead {
        job: p0,
        new_ids: 2
    }));
    let p4 = run.next().unwrap();
    assert_eq!(body(&run.send(p4)), "start=4&per_page=2");
    let a = run.take();
    assert_eq!(run.url(a), "http://list.test/api/download/a");

    // The second page brings c and d; its follower goes before b, queued long before.
    run.answer(p2, &page(&["c", "d"], true));
    let p6 = run.next().unwrap();
    assert_eq!(body(&run.send(p6)), "start=6&per_page=2");
    let files = run.drain();
    let urls: Vec<String> = files.iter().map(|&j| run.url(j)).collect();
    assert_eq!(
        urls,
        [
            "http://list.test/api/download/b",
            "http://list.test/api/download/c",
            "http://list.test/api/download/d",
        ]
    );

    // An empty page ends the list; nothing more is asked, and the run ends with its files.
    run.answer(p4, &page(&[], false));
    run.answer(p6, &page(&[], false));
    assert_eq!(run.next(), None);
    assert!(!run.scheduler.is_finished(), "four files are in flight");
    run.answer(a, &ok("a"));
    for job in files {
        run.send(job);
        run.answer(job, &ok("x"));
    }
    assert!(run.scheduler.is_finished());
    assert_eq!(run.scheduler.summary().ok, 4);
}

#[test]
fn a_page_that_fails_for_good_ends_the_listing() {
    let mut run = Run::crawl(TransferOptions::default(), 2, 0);
    let p0 = run.take();
    run.answer(p0, &page(&["a", "b"], true));
    let p2 = run.next().unwrap();
    assert_eq!(body(&run.send(p2)), "start=2&per_page=2");
    run.answer(p2, &status(404));
    assert!(run.seen().contains(&Seen::Failed {
        job: p2,
        url: LIST_URL.into(),
        is_page: true,
        error: "server answered HTTP 404".into(),
    }));

    // No page is asked any more: only the files already found go.
    let files = run.drain();
    assert_eq!(files.len(), 2);
    for job in files {
        run.send(job);
        run.answer(job, &ok("x"));
    }
    assert_eq!(run.next(), None);
    assert!(run.scheduler.is_finished());
    let stats = run.scheduler.summary();
    assert_eq!((stats.ok, stats.failed, stats.pages), (2, 1, 1));
}

/// Whether the job is a list page.
fn is_page(run: &Run, job: JobId) -> bool {
    run.url(job) == LIST_URL
}

/// A page of `n` ids never seen before, the `k`-th such page: `p<k>-<i>`.
fn fresh_page(k: usize, n: usize, more: bool) -> String {
    let ids: Vec<String> = (0..n).map(|i| format!("p{k}-{i}")).collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    page(&refs, more)
}

#[test]
fn pages_wait_while_the_found_files_exceed_the_bound() {
    // -c 2 and pages of 10,000 ids: an engine with two slots, answering in order. Pages
    // go first, so without the bound every freed slot would ask the next page at once,
    // and the ids of page after page would pile up in the queue.
    let options = TransferOptions {
        connections: Some(2),
        ..TransferOptions::default()
    };
    let mut run = Run::crawl(options, 10_000, 0);
    let mut on_socket = VecDeque::new();
    let (mut pages, mut files, mut most_queued) = (0, 0, 0);
    for _ in 0..100_000 {
        while on_socket.len() < 2 {
            let Some(job) = run.next() else { break };
            run.send(job);
            on_socket.push_back(job);
        }
        let Some(job) = on_socket.pop_front() else {
            break;
        };
        if is_page(&run, job) {
            pages += 1;
            run.answer(job, &fresh_page(pages, 10_000, true));
        } else {
            files += 1;
            run.answer(job, &ok("x"));
        }
        most_queued = most_queued.max(run.scheduler.ready_files.len());
        if files == 25_000 || pages > 10 {
            break;
        }
    }
    // 25,000 files are two and a half pages: the third page is asked once fewer than
    // 1024 files of the second wait, and nothing more until the third drains.
    assert_eq!(pages, 3, "pages asked before {files} files were saved");
    assert_eq!(files, 25_000);
    // The found ids become jobs a batch at a time, not a page at a time.
    assert!(most_queued <= 512, "{most_queued} jobs queued at once");
}

#[test]
fn max_pages_ends_the_listing_after_n_pages_and_the_found_files_still_go() {
    let mut run = Run::crawl_at_most(TransferOptions::default(), 2, 3, Some(2));
    let handed = run.drain();
    assert_eq!(handed.len(), 2, "two pages at most, whatever the lookahead");
    for (k, &job) in handed.iter().enumerate() {
        run.send(job);
        run.answer(job, &fresh_page(k, 2, true));
    }
    let files = run.drain();
    assert_eq!(files.len(), 4);
    assert!(files.iter().all(|&job| !is_page(&run, job)));
    for job in files {
        run.send(job);
        run.answer(job, &ok("x"));
    }
    assert_eq!(run.next(), None);
    assert!(run.scheduler.is_finished());
    let Feed::Crawl(feed) = run.scheduler.feed() else {
        unreachable!()
    };
    assert!(feed.stopped_at_max_pages(), "the list said it has more");
    let summary = run.scheduler.summary();
    assert_eq!((summary.ok, summary.failed, summary.pages), (4, 0, 2));
}

#[test]
fn a_server_repeating_a_page_ends_the_listing_and_the_found_files_still_go() {
    let mut run = Run::crawl(TransferOptions::default(), 2, 0);
    let mut found = Vec::new();
    for _ in 0..10 {
        let Some(job) = run.next() else { break };
        run.send(job);
        if is_page(&run, job) {
            run.answer(job, &page(&["a", "b"], true));
        } else {
            found.push(job);
        }
    }
    assert_eq!(found.len(), 2, "the files of the first page");
    let pages_failed = run.picked(|seen| match seen {
        Seen::Failed {
            is_page: true,
            error,
            ..
        } => Some(error),
        _ => None,
    });
    assert_eq!(
        pages_failed,
        ["bad list page: page 4 (start=6) brought no new id, the 3rd in a row: the list may be going round in circles"]
    );
    for job in found {
        run.answer(job, &ok("x"));
    }
    assert!(run.scheduler.is_finished());
    let summary = run.scheduler.summary();
    assert_eq!((summary.ok, summary.failed, summary.pages), (2, 1, 3));
}

// ----------------------------------------------------------------------------------
// The semaphore.

#[test]
fn each_way_off_a_socket_frees_one_permit() {
    let options = TransferOptions {
        max_in_flight: Some(2),
        ..TransferOptions::default()
    };
    let mut run = Run::get_with(options, &[A, B, C, D, E, F, G]);
    let a = run.take();
    let b = run.take();
    assert_eq!(run.scheduler.in_flight(), 2);
    assert_eq!(run.next(), None, "a third request waits for a permit");

    // on_saved
    run.answer(a, &ok("a"));
    assert_eq!(run.scheduler.in_flight(), 1);
    let c = run.take();
    assert_eq!(run.next(), None);

    // on_end: a 404 read to its end
    run.answer(b, &status(404));
    assert_eq!(run.scheduler.in_flight(), 1);
    let d = run.take();
    assert_eq!(run.next(), None);

    // on_error: c waits for its retry
    run.fail(c, reset());
    assert_eq!(run.scheduler.in_flight(), 1);
    let e = run.take();
    assert_eq!(run.next(), None);

    // on_stale: d goes again, first
    run.stale(d);
    assert_eq!(run.scheduler.in_flight(), 1);
    assert_eq!(run.next(), Some(d));
    assert_eq!(run.next(), None);

    // put_back: the pool had no socket for d
    run.scheduler.put_back(d);
    assert_eq!(run.scheduler.in_flight(), 1);
    assert_eq!(run.next(), Some(d));
    assert_eq!(run.next(), None);

    // defer: d's host is full for this round; f goes in its place
    run.scheduler.defer(d);
    assert_eq!(run.scheduler.in_flight(), 1);
    let f = run.take();
    assert_eq!(run.url(f), F);
    assert_eq!(run.next(), None);
    run.scheduler.restore_deferred();
    assert_eq!(run.scheduler.in_flight(), 2, "e and f");
    assert_eq!(run.url(e), E);
}

#[test]
fn deferred_jobs_go_first_after_the_round_in_their_order() {
    let options = TransferOptions {
        max_in_flight: Some(2),
        ..TransferOptions::default()
    };
    let mut run = Run::get_with(options, &[A, B, C, D]);
    let a = run.next().unwrap();
    run.scheduler.defer(a);
    let b = run.next().unwrap();
    run.scheduler.defer(b);
    assert_eq!(run.scheduler.in_flight(), 0);
    let c = run.take();
    let d = run.take();
    assert_eq!((run.url(c), run.url(d)), (C.into(), D.into()));
    assert_eq!(run.next(), None);
    run.scheduler.restore_deferred();

    run.answer(c, &ok("c"));
    run.answer(d, &ok("d"));
    assert_eq!(run.drain(), [a, b]);
}

#[test]
fn the_run_is_finished_only_when_no_permit_is_held() {
    let options = TransferOptions {
        max_in_flight: Some(2),
        ..TransferOptions::default()
    };
    let mut run = Run::get_with(options, &[A, B]);
    assert!(!run.scheduler.is_finished());
    let a = run.take();
    let b = run.take();
    run.answer(a, &status(503));
    assert_eq!(run.scheduler.in_flight(), 1);
    assert!(!run.scheduler.is_finished(), "b in flight, a backing off");

    run.answer(b, &ok("b"));
    assert_eq!(run.scheduler.in_flight(), 0);
    assert!(!run.scheduler.is_finished(), "a is backing off");

    run.advance(secs(1));
    let a = run.take();
    assert_eq!(run.next(), None, "nothing left to hand out");
    assert!(!run.scheduler.is_finished(), "a's permit is held");
    run.answer(a, &ok("a"));
    assert_eq!(run.scheduler.in_flight(), 0);
    assert!(run.scheduler.is_finished());
    assert_eq!(run.saved(), [B, A]);
}

#[test]
fn a_job_waiting_for_its_lookup_holds_no_permit_and_keeps_the_run_going() {
    let options = TransferOptions {
        max_in_flight: Some(1),
        retries: 2,
        ..TransferOptions::default()
    };
    let mut run = Run::get_with(options, &[A, B, C]);
    let a = run.next().unwrap();
    run.scheduler.await_lookup(a);
    let b = run.next().unwrap();
    run.scheduler.await_lookup(b);
    assert_eq!(run.scheduler.in_flight(), 0, "waiting jobs hold no permit");
    let c = run.take();
    run.answer(c, &ok("c"));
    assert_eq!(run.next(), None);
    assert!(!run.scheduler.is_finished(), "two jobs wait for lookups");

    // a's host resolved: it goes first; b's failed for a time: retried after a backoff.
    run.scheduler.lookup_done(a);
    let failed = io::Error::other("slow.test: temporary failure in name resolution");
    run.scheduler
        .lookup_failed(b, JobError::Resolve(failed), run.now);
    assert_eq!(run.retries().len(), 1, "a temporary failure is retried");
    let a = run.take();
    run.answer(a, &ok("a"));
    run.advance(secs(1));
    let b = run.next().unwrap();
    run.scheduler.await_lookup(b);
    let gone = io::Error::new(io::ErrorKind::NotFound, "slow.test: no such name");
    run.scheduler
        .lookup_failed(b, JobError::Resolve(gone), run.now);
    assert_eq!(
        run.failures(),
        [(
            B.into(),
            "could not resolve host: slow.test: no such name".into()
        )]
    );
    assert!(run.scheduler.is_finished());
    assert_eq!(run.saved(), [C, A]);
}

// ----------------------------------------------------------------------------------
// Backoff.

#[test]
fn retry_delays_double_within_the_jitter_then_the_run_gives_up() {
    let options = TransferOptions {
        retries: 3,
        retry_delay: ms(200),
        ..TransferOptions::default()
    };
    let mut run = Run::get_with(options, &[A]);
    for retry in 1..=3u32 {
        let job = run.take();
        run.answer(job, &status(503));
        let &(attempt, delay) = run.retries().last().unwrap();
        assert_eq!(attempt, retry + 1);
        let nominal = ms(200) * (1 << (retry - 1));
        assert!(
            within_jitter(delay, nominal),
            "retry {retry}: {delay:?} for {nominal:?}"
        );
        assert_eq!(run.scheduler.next_deadline(), Some(run.now + delay));
        run.advance(delay);
    }
    let job = run.take();
    run.answer(job, &status(503));
    assert_eq!(run.retries().len(), 3, "no retry after --retries 3");
    assert_eq!(
        run.failures(),
        [(A.into(), "server answered HTTP 503".into())]
    );
    assert!(run.scheduler.is_finished());
    let summary = run.scheduler.summary();
    assert_eq!((summary.failed, summary.retries), (1, 3));
}

#[test]
fn the_same_start_gives_the_same_delays() {
    let delays = |seed: u64| {
        let options = TransferOptions {
            retries: 4,
            ..TransferOptions::default()
        };
        let sources = UrlSources::new(vec![A.to_string()]);
        let feed = Feed::Urls(Box::new(UrlFeed::new(sources, None)));
        let mut run = Run::new(options, feed, Vec::new(), seed);
        for _ in 0..4 {
            let job = run.take();
            run.fail(job, reset());
            run.advance(secs(60));
        }
        run.retries()
    };
    assert_eq!(delays(SEED), delays(SEED));
    assert_ne!(delays(SEED), delays(SEED + 1));
}

#[test]
fn the_failed_event_names_the_last_attempts_error() {
    let options = TransferOptions {
        retries: 1,
        ..TransferOptions::default()
    };
    let mut run = Run::get_with(options, &[A]);
    let a = run.take();
    run.answer(a, &status(503));
    let [Seen::Retry { url, error, .. }] = &run
        .seen()
        .into_iter()
        .filter(|s| matches!(s, Seen::Retry { .. }))
        .collect::<Vec<_>>()[..]
    else {
        panic!("one retry")
    };
    assert_eq!(
        (url.as_str(), error.as_str()),
        (A, "server answered HTTP 503")
    );

    run.advance(secs(1));
    let a = run.take();
    run.fail(a, reset());
    assert_eq!(
        run.failures(),
        [(
            A.into(),
            "connection reset by peer while waiting for the response".into()
        )]
    );
}

#[test]
fn a_404_and_a_malformed_answer_fail_at_once() {
    let mut run = Run::get(&[A, B, C]);
    let (a, b, c) = (run.take(), run.take(), run.take());

    run.answer(a, &status(404));
    run.answer(b, "garbage\r\n\r\n");
    // For contrast: an answer cut short is a transport accident, and is retried.
    run.answer(c, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");

    let failures = run.failures();
    assert_eq!(failures.len(), 2, "{failures:?}");
    assert_eq!(failures[0], (A.into(), "server answered HTTP 404".into()));
    assert_eq!(failures[1].0, B);
    assert!(
        failures[1]
            .1
            .starts_with("bad response: malformed response head"),
        "{}",
        failures[1].1
    );
    let retried: Vec<(String, String)> = run
        .seen()
        .into_iter()
        .filter_map(|seen| match seen {
            Seen::Retry { url, error, .. } => Some((url, error)),
            _ => None,
        })
        .collect();
    assert_eq!(
        retried,
        [(
            C.into(),
            "bad response: connection closed after 3 of 10 body bytes".into()
        )]
    );
}

// ----------------------------------------------------------------------------------
// Retry-After.

#[test]
fn retry_after_in_seconds_wins_over_the_backoff() {
    let mut run = Run::get(&[A]);
    let a = run.take();
    run.answer(a, &with_header(503, Some("Retry-After: 7")));
    assert_eq!(run.throttles(), [secs(7)]);
    assert_eq!(run.retries(), []);
    assert_eq!(run.scheduler.next_deadline(), Some(run.now + secs(7)));
    run.advance(secs(7) - ms(1));
    assert_eq!(run.next(), None);
    run.advance(ms(1));
    assert_eq!(run.next(), Some(a));
}

#[test]
fn retry_after_as_a_date_counts_from_the_start_wall_clock() {
    let mut run = Run::get(&[A]);
    let a = run.take();
    // Ten seconds into the run, the server asks to come back 40 s after the run began.
    run.advance(secs(10));
    let date = format_http_date(start_wall() + secs(40));
    run.answer(a, &with_header(429, Some(&format!("Retry-After: {date}"))));
    assert_eq!(run.throttles(), [secs(30)]);
    assert_eq!(run.scheduler.next_deadline(), Some(run.now + secs(30)));
}

#[test]
fn retry_after_is_capped_and_a_past_date_means_at_once() {
    let mut run = Run::get(&[A, B, C, D]);
    let jobs = [run.take(), run.take(), run.take(), run.take()];
    let day = secs(86_400);
    let headers = [
        format!("Retry-After: {}", day.as_secs()),
        format!("Retry-After: {}", format_http_date(start_wall() + day)),
        format!(
            "Retry-After: {}",
            format_http_date(start_wall() - secs(3600))
        ),
        "Retry-After: soon".to_string(),
    ];
    for (job, line) in jobs.into_iter().zip(&headers) {
        run.answer(job, &with_header(503, Some(line)));
    }
    assert_eq!(
        run.throttles(),
        [MAX_RETRY_AFTER, MAX_RETRY_AFTER, Duration::ZERO]
    );
    let delays: Vec<Duration> = run.retries().into_iter().map(|(_, d)| d).collect();
    assert!(
        delays.len() == 1 && within_jitter(delays[0], ms(200)),
        "an unreadable Retry-After leaves the backoff: {delays:?}"
    );
    // The past date's job is ready at once, but its host is paused by the others'
    // Retry-After: no request to it starts.
    assert_eq!(run.next(), None);
    assert_eq!(run.url(jobs[2]), C);
}

// ----------------------------------------------------------------------------------
// Redirects.

#[test]
fn every_redirect_status_is_followed_to_its_location() {
    for code in [301, 302, 303, 307, 308] {
        let mut run = Run::get(&[A]);
        let a = run.take();
        run.answer(a, &redirect(code, "http://mirror.test/files/a.bin"));
        assert_eq!(
            run.redirects(),
            ["http://mirror.test/files/a.bin"],
            "{code}"
        );

        assert_eq!(run.next(), Some(a), "{code}");
        let request = run.send(a);
        assert_eq!(
            request_line(&request),
            "GET /files/a.bin HTTP/1.1",
            "{code}"
        );
        assert_eq!(header(&request, "Host"), Some("mirror.test"), "{code}");
        run.answer(a, &ok("a"));
        assert_eq!(
            run.saved(),
            [A],
            "{code}: reported under the URL first given"
        );
    }
}

#[test]
fn a_post_becomes_get_after_303_and_after_301_or_302_but_not_after_307_or_308() {
    for (code, method) in [
        (301, "GET"),
        (302, "GET"),
        (303, "GET"),
        (307, "POST"),
        (308, "POST"),
    ] {
        let mut run = Run::crawl(TransferOptions::default(), 5, 0);
        let p = run.take();
        run.answer(p, &redirect(code, "/api/v2/list_files"));
        assert_eq!(run.next(), Some(p), "{code}");
        let request = run.send(p);
        assert_eq!(
            request_line(&request),
            format!("{method} /api/v2/list_files HTTP/1.1"),
            "{code}"
        );
        if method == "POST" {
            assert_eq!(body(&request), "start=0&per_page=5", "{code}");
            assert_eq!(header(&request, "Content-Length"), Some("18"), "{code}");
        } else {
            assert_eq!(body(&request), "", "{code}");
            assert_eq!(header(&request, "Content-Length"), None, "{code}");
            assert_eq!(header(&request, "Content-Type"), None, "{code}");
        }
        run.answer(p, &page(&["x"], false));
        assert!(run.seen().contains(&Seen::PageRead { job: p, new_ids: 1 }));
    }
}

#[test]
fn a_relative_location_is_resolved_against_the_current_url() {
    let options = TransferOptions {
        max_redirects: 5,
        ..TransferOptions::default()
    };
    let mut run = Run::get_with(options, &["http://files.test/dir/sub/a.bin"]);
    let a = run.take();
    let hops = [
        ("b.bin", "http://files.test/dir/sub/b.bin"),
        ("../up/c.bin", "http://files.test/dir/up/c.bin"),
        ("/root/d.bin", "http://files.test/root/d.bin"),
        ("?v=2", "http://files.test/root/d.bin?v=2"),
        ("//cdn.test/e.bin", "http://cdn.test/e.bin"),
    ];
    for (location, resolved) in hops {
        run.answer(a, &redirect(301, location));
        assert_eq!(run.next(), Some(a));
        assert_eq!(run.url(a), resolved, "{location}");
        let request = run.send(a);
        let target = Url::parse(resolved).unwrap().target().to_string();
        assert_eq!(request_line(&request), format!("GET {target} HTTP/1.1"));
    }
    run.answer(a, &ok("e"));
    assert_eq!(run.saved(), ["http://files.test/dir/sub/a.bin"]);
}

#[test]
fn too_many_redirects_fail_naming_the_limit() {
    let options = TransferOptions {
        max_redirects: 2,
        ..TransferOptions::default()
    };
    let mut run = Run::get_with(options, &[A]);
    for hop in 1..=3 {
        let a = run.take();
        run.answer(a, &redirect(302, &format!("/hop{hop}")));
    }
    assert_eq!(
        run.redirects(),
        ["http://files.test/hop1", "http://files.test/hop2"]
    );
    assert_eq!(run.failures(), [(A.into(), "more than 2 redirects".into())]);
    assert!(run.retries().is_empty());
    assert!(run.scheduler.is_finished());
}

#[test]
fn a_redirect_without_a_usable_location_fails_at_once() {
    let mut run = Run::get(&[A, B]);
    let (a, b) = (run.take(), run.take());
    run.answer(a, &status(302));
    run.answer(b, &redirect(301, "ftp://files.test/b.bin"));
    let failures = run.failures();
    assert_eq!(
        failures[0],
        (A.into(), "bad redirect: HTTP 302 without Location".into())
    );
    assert_eq!(failures[1].0, B);
    assert!(
        failures[1].1.starts_with("redirect to "),
        "{}",
        failures[1].1
    );
    assert!(run.retries().is_empty() && run.redirects().is_empty());
    assert!(run.scheduler.is_finished());
}

#[test]
fn a_303_whose_body_breaks_is_retried_as_the_original_post() {
    // The head said "go elsewhere with GET", but the socket broke before the redirect's
    // body was read: the redirect was never followed, so the retry must repeat the
    // original request, to the original URL, with its method and body.
    let mut run = Run::crawl(TransferOptions::default(), 5, 0);
    let p = run.take();
    run.answer(
        p,
        "HTTP/1.1 303 See Other\r\nLocation: /api/v2/list_files\r\nContent-Length: 10\r\n\r\nabc",
    );
    let [(2, delay)] = run.retries()[..] else {
        panic!("one retry: {:?}", run.seen())
    };
    assert!(run.redirects().is_empty());
    run.advance(delay);
    assert_eq!(run.next(), Some(p));
    assert_eq!(run.url(p), LIST_URL);
    let request = run.send(p);
    assert_eq!(request_line(&request), "POST /api/list_files HTTP/1.1");
    assert_eq!(body(&request), "start=0&per_page=5");
}

// ----------------------------------------------------------------------------------
// Stale keep-alive sockets.

#[test]
fn a_stale_socket_resends_first_on_a_fresh_socket_without_counting_a_try() {
    let options = TransferOptions {
        retries: 1,
        ..TransferOptions::default()
    };
    let mut run = Run::get_with(options, &[A, B]);
    let a = run.take();
    assert!(!run.scheduler.needs_fresh_socket(a));

    run.stale(a);
    assert!(run.seen().contains(&Seen::Stale {
        job: a,
        url: A.into()
    }));
    assert!(run.scheduler.needs_fresh_socket(a));
    assert_eq!(run.scheduler.in_flight(), 0);
    assert_eq!(run.scheduler.next_deadline(), None, "no backoff");
    assert_eq!(run.next(), Some(a), "before B, at once");

    // Twice more: still not a try.
    run.send(a);
    run.stale(a);
    assert_eq!(run.next(), Some(a));
    run.send(a);
    run.stale(a);
    assert_eq!(run.next(), Some(a));
    run.send(a);

    // --retries 1: one real failure is retried, the first retry...
    run.answer(a, &status(503));
    assert_eq!(run.retries().len(), 1);
    assert_eq!(run.retries()[0].0, 2, "the stales did not count");
    // ... which may go on any socket again (the one that answered 503 was fine).
    assert!(!run.scheduler.needs_fresh_socket(a));

    // ... and the second real failure is the last.
    run.advance(secs(1));
    let b = run.next().unwrap();
    assert_eq!(run.url(b), B, "a retry goes behind the queue");
    assert_eq!(run.next(), Some(a));
    run.send(a);
    run.answer(a, &status(503));
    assert_eq!(
        run.failures(),
        [(A.into(), "server answered HTTP 503".into())]
    );
    assert_eq!(run.scheduler.summary().stale_resends, 3);
}

/// No descriptor could be made (`EMFILE`), as the output's error or the connect's.
fn out_of_files(output: bool) -> JobError {
    let error = io::Error::from_raw_os_error(libc::EMFILE);
    match output {
        true => JobError::Output {
            path: PathBuf::from("out"),
            error,
        },
        false => JobError::Connect(error),
    }
}

#[test]
fn out_of_descriptors_the_job_waits_first_without_counting_a_try() {
    let options = TransferOptions {
        retries: 0,
        ..TransferOptions::default()
    };
    let mut run = Run::get_with(options, &[A, B]);
    let a = run.take();
    run.fail(a, out_of_files(true));
    assert!(
        run.scheduler.take_descriptor_shortage(),
        "the engine is told"
    );
    assert!(!run.scheduler.take_descriptor_shortage(), "once");
    assert_eq!(
        run.scheduler.ending(),
        Ending::Finished,
        "not an output failure"
    );
    assert_eq!(run.scheduler.in_flight(), 0, "its permit is back");
    assert_eq!(run.scheduler.next_deadline(), None, "no backoff");
    assert_eq!(run.next(), Some(a), "before B, at once");
    run.send(a);
    run.fail(a, out_of_files(false));
    assert_eq!(run.next(), Some(a));
    run.send(a);
    run.answer(a, &ok("a"));
    assert_eq!(run.saved(), [A.to_string()], "--retries 0, and still saved");
    assert!(run.failures().is_empty());
}

#[test]
fn out_of_descriptors_with_nothing_closing_it_is_a_try_at_last() {
    let options = TransferOptions {
        retries: 0,
        ..TransferOptions::default()
    };
    let mut run = Run::get_with(options, &[A]);
    let mut waits = 0;
    while run.failures().is_empty() {
        assert!(waits <= super::MAX_SHORT_IN_A_ROW, "it never ends");
        let a = run.take();
        run.fail(a, out_of_files(false));
        waits += 1;
    }
    assert_eq!(waits, super::MAX_SHORT_IN_A_ROW + 1);
    let failures = run.failures();
    assert!(
        failures[0]
            .1
            .starts_with("connect failed: Too many open files"),
        "{failures:?}"
    );
}

// ----------------------------------------------------------------------------------
// Credentials.

#[test]
fn credentials_go_only_to_the_hosts_named_on_the_command_line() {
    let mut run = Run::get_listed(
        with_credentials(),
        &[A],
        &[
            "http://other.test/b.bin",
            "http://files.test:8080/c.bin",
            "https://files.test/d.bin",
            E,
        ],
    );
    let mut sent = Vec::new();
    while let Some(job) = run.next() {
        let request = run.send(job);
        sent.push((
            run.url(job),
            header(&request, "Authorization").map(str::to_owned),
        ));
    }
    let with = Some(USER_PASS.to_string());
    assert_eq!(
        sent,
        [
            (A.to_string(), with.clone()),
            ("http://other.test/b.bin".into(), None),
            ("http://files.test:8080/c.bin".into(), None),
            ("https://files.test/d.bin".into(), None),
            (E.to_string(), with),
        ]
    );
}

#[test]
fn credentials_go_to_the_hosts_of_a_list_trusted_as_read() {
    // `-i -`: stdin is read once, so its hosts are trusted as its lines are read.
    let mut run = Run::get_listed_trusting(
        with_credentials(),
        &[A],
        &["http://other.test/b.bin", "http://third.test:8080/c.bin"],
        true,
    );
    let mut sent = Vec::new();
    while let Some(job) = run.next() {
        let request = run.send(job);
        sent.push((
            run.url(job),
            header(&request, "Authorization").map(str::to_owned),
        ));
    }
    let with = Some(USER_PASS.to_string());
    assert_eq!(
        sent,
        [
            (A.to_string(), with.clone()),
            ("http://other.test/b.bin".into(), with.clone()),
            ("http://third.test:8080/c.bin".into(), with),
        ]
    );
}

#[test]
fn credentials_never_follow_a_redirect_to_another_host() {
    let mut run = Run::get_with(with_credentials(), &[A, B]);
    let a = run.next().unwrap();
    assert_eq!(header(&run.send(a), "Authorization"), Some(USER_PASS));
    run.answer(a, &redirect(302, "http://mirror.test/a.bin"));
    assert_eq!(run.next(), Some(a));
    let request = run.send(a);
    assert_eq!(header(&request, "Host"), Some("mirror.test"));
    assert_eq!(header(&request, "Authorization"), None);
    // A path on the mirror is still the mirror.
    run.answer(a, &redirect(302, "/elsewhere/a.bin"));
    assert_eq!(run.next(), Some(a));
    assert_eq!(header(&run.send(a), "Authorization"), None);
    // Nor to the trusted host on another scheme.
    run.answer(a, &redirect(302, "https://files.test/a.bin"));
    assert_eq!(run.next(), Some(a));
    assert_eq!(header(&run.send(a), "Authorization"), None);

    // A redirect within the trusted host keeps them.
    let b = run.next().unwrap();
    run.send(b);
    run.answer(b, &redirect(301, "/moved/b.bin"));
    assert_eq!(run.next(), Some(b));
    let request = run.send(b);
    assert_eq!(request_line(&request), "GET /moved/b.bin HTTP/1.1");
    assert_eq!(header(&request, "Authorization"), Some(USER_PASS));
}

// ----------------------------------------------------------------------------------
// Stop.

#[test]
fn after_a_stop_nothing_more_is_handed_out() {
    let mut run = Run::get(&[A, B, C, D]);
    let (a, b) = (run.take(), run.take());
    run.scheduler.stop(Ending::Interrupted(2));
    assert_eq!(run.scheduler.ending(), Ending::Interrupted(2));
    assert_eq!(run.next(), None);
    run.advance(secs(60));
    assert_eq!(run.next(), None, "not later either");
    assert!(!run.scheduler.is_finished(), "two requests in flight");

    // The engine cuts a short: stopped, not failed.
    run.fail(a, JobError::Interrupted);
    assert!(run.seen().contains(&Seen::Stopped { job: a }));
    // b's socket breaks: once the run stops, nothing is retried.
    run.fail(b, reset());
    assert!(run.retries().is_empty());
    assert_eq!(run.failures().len(), 1);

    assert!(run.scheduler.is_finished());
    assert_eq!(run.scheduler.unfinished(), 2, "C and D never went");
    // The first ending stays.
    run.scheduler.stop(Ending::OutputFailed);
    assert_eq!(run.scheduler.ending(), Ending::Interrupted(2));
    let summary = run.scheduler.summary();
    assert_eq!((summary.stopped, summary.failed), (1, 1));
}

#[test]
fn an_output_error_stops_the_run() {
    let mut run = Run::get(&[A, B, C]);
    let (a, b) = (run.take(), run.take());
    let error = io::Error::other("disk full");
    let path = "out/a.bin".into();
    run.fail(a, JobError::Output { path, error });
    assert_eq!(
        run.failures(),
        [(
            A.into(),
            "could not write output out/a.bin: disk full".into()
        )]
    );
    assert_eq!(run.scheduler.ending(), Ending::OutputFailed);
    assert_eq!(run.next(), None);
    // What is in flight still lands.
    run.answer(b, &ok("b"));
    assert_eq!(run.saved(), [B]);
    assert!(run.scheduler.is_finished());
}

// ----------------------------------------------------------------------------------
// Politeness: --rate, --per-host-rate, and Retry-After pausing a host.

/// `n` file URLs on `host`.
fn many(host: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("http://{host}/f{i}.bin")).collect()
}

/// `count` requests per second.
fn per_second(count: u32) -> Option<Rate> {
    Some(Rate {
        count,
        per: secs(1),
    })
}

/// Runs every job to its end as an engine with a free pool does, waking only when
/// `next_deadline` says (or every 10 ms of virtual time when it says nothing and a job
/// is in flight), answering each request `answer(url, attempt)` after `lag`. Returns
/// the virtual time each request was sent at and its URL.
fn drive(
    run: &mut Run,
    lag: Duration,
    mut answer: impl FnMut(&str) -> String,
) -> Vec<(Duration, String)> {
    let origin = run.now;
    let mut sends = Vec::new();
    let mut in_flight: Vec<(Instant, JobId)> = Vec::new();
    for _ in 0..100_000 {
        while let Some(job) = run.next() {
            sends.push((run.now - origin, run.url(job)));
            run.send(job);
            in_flight.push((run.now + lag, job));
        }
        if run.scheduler.is_finished() {
            return sends;
        }
        // The next thing to happen: an answer, or the scheduler's deadline.
        let answer_due = in_flight.iter().map(|(at, _)| *at).min();
        let next = match (answer_due, run.scheduler.next_deadline()) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => a
                .or(b)
                .expect("a run with nothing in flight has a deadline"),
        };
        assert!(next >= run.now, "a deadline in the past would spin");
        run.now = next;
        let (due, waiting): (Vec<_>, Vec<_>) =
            in_flight.into_iter().partition(|(at, _)| *at <= run.now);
        in_flight = waiting;
        for (_, job) in due {
            let url = run.url(job);
            run.answer(job, &answer(&url));
        }
    }
    panic!("the run did not end");
}

/// The most sends of `sends` (virtual times) within any one-second window.
fn busiest_second(times: &[Duration]) -> usize {
    times
        .iter()
        .map(|&t| times.iter().filter(|&&u| u >= t && u < t + secs(1)).count())
        .max()
        .unwrap_or(0)
}

#[test]
fn rate_ten_a_second_sends_no_more_than_ten_in_any_second() {
    let urls = many("files.test", 60);
    let urls: Vec<&str> = urls.iter().map(String::as_str).collect();
    let options = TransferOptions {
        rate: per_second(10),
        ..TransferOptions::default()
    };
    let mut run = Run::get_with(options, &urls);
    let sends = drive(&mut run, ms(5), |_| ok("x"));
    assert_eq!(run.saved().len(), 60);
    let times: Vec<Duration> = sends.iter().map(|(t, _)| *t).collect();
    assert!(busiest_second(&times) <= 11, "{times:?}");
    // And it is a rate, not a crawl: 60 requests at 10/s take about 6 s.
    let last = *times.last().unwrap();
    assert!(last >= ms(5_900) && last < secs(7), "{last:?}");
}

#[test]
fn rate_counts_retries_too() {
    let options = TransferOptions {
        rate: per_second(2),
        retry_delay: ms(1),
        ..TransferOptions::default()
    };
    let mut run = Run::get_with(options, &[A]);
    let a = run.take();
    run.answer(a, &status(500));
    run.advance(ms(10));
    // The retry's backoff is over, the rate's interval is not.
    assert_eq!(run.next(), None);
    assert_eq!(
        run.scheduler.next_deadline(),
        Some(run.now - ms(10) + ms(500))
    );
}

#[test]
fn per_host_rate_holds_each_host_while_another_runs_free() {
    let slow = many("slow.test", 20);
    let other = many("other.test", 20);
    // The slow host's files come first: they must not hold up the other host.
    let urls: Vec<&str> = slow.iter().chain(&other).map(String::as_str).collect();
    let options = TransferOptions {
        per_host_rate: per_second(5),
        ..TransferOptions::default()
    };
    let mut run = Run::get_with(options, &urls);
    let sends = drive(&mut run, ms(5), |_| ok("x"));
    assert_eq!(run.saved().len(), 40);
    for host in ["slow.test", "other.test"] {
        let times: Vec<Duration> = sends
            .iter()
            .filter(|(_, url)| url.contains(host))
            .map(|(t, _)| *t)
            .collect();
        assert_eq!(times.len(), 20);
        assert!(busiest_second(&times) <= 6, "{host}: {times:?}");
    }
    // Both hosts ran side by side: the other host's first file went at once.
    let first_other = sends
        .iter()
        .find(|(_, url)| url.contains("other.test"))
        .unwrap();
    assert_eq!(first_other.0, Duration::ZERO);
}

#[test]
fn a_job_given_back_gives_its_token_back() {
    let options = TransferOptions {
        rate: per_second(1),
        ..TransferOptions::default()
    };
    let mut run = Run::get_with(options, &[A, B]);
    let a = run.next().unwrap();
    run.scheduler.put_back(a);
    // The pool was full: nothing was sent, so the same job may go at once.
    assert_eq!(run.take(), a);
    assert_eq!(run.next(), None);
}

#[test]
fn a_429_with_retry_after_pauses_its_host_only_and_uses_no_try() {
    let throttled_host = many("busy.test", 3);
    let other = many("calm.test", 3);
    let urls: Vec<&str> = throttled_host
        .iter()
        .chain(&other)
        .map(String::as_str)
        .collect();
    let options = TransferOptions {
        retries: 0,
        max_in_flight: Some(1),
        ..TransferOptions::default()
    };
    let mut run = Run::get_with(options, &urls);
    let first = run.take();
    assert!(run.url(first).contains("busy.test"));
    run.answer(first, &with_header(429, Some("Retry-After: 1")));
    assert_eq!(run.throttles(), [secs(1)]);
    assert_eq!(run.scheduler.summary().throttled, 1);
    // During the pause only the calm host is asked.
    let mut during = Vec::new();
    while let Some(job) = run.next() {
        during.push(run.url(job));
        run.send(job);
        run.advance(ms(100));
        run.answer(job, &ok("x"));
    }
    assert_eq!(during.len(), 3, "{during:?}");
    assert!(during.iter().all(|u| u.contains("calm.test")), "{during:?}");
    assert_eq!(
        run.scheduler.next_deadline(),
        Some(run.now - ms(300) + secs(1))
    );
    // After the pause, the busy host's files go, the throttled one too, and no try was
    // used up: with --retries 0 it is saved.
    run.now = run.scheduler.next_deadline().unwrap();
    let mut after = Vec::new();
    while let Some(job) = run.next() {
        after.push(job);
        run.send(job);
        run.answer(job, &ok("x"));
    }
    assert_eq!(after.len(), 3);
    assert!(after.contains(&first));
    assert_eq!(run.saved().len(), 6);
    assert!(run.failures().is_empty());
    assert_eq!(run.scheduler.summary().retries, 0);
}

#[test]
fn throttled_answers_are_retried_ten_times_then_count_as_failures() {
    let options = TransferOptions {
        retries: 0,
        ..TransferOptions::default()
    };
    let mut run = Run::get_with(options, &[A]);
    for _ in 0..10 {
        let a = run.take();
        run.answer(a, &with_header(503, Some("Retry-After: 1")));
        run.advance(secs(1));
    }
    let a = run.take();
    run.answer(a, &with_header(503, Some("Retry-After: 1")));
    assert_eq!(run.throttles().len(), 10);
    assert_eq!(run.failures().len(), 1);
    assert!(run.scheduler.is_finished());
}

/// `--skip-existing` with more saved URLs ahead of a new one than the feed reports in
/// one batch: the first ask already hands out the new one. (Without the scheduler asking
/// the feed again after a batch of skipped files, `next_ready` would answer `None`, and
/// the reactor would sleep in `poll` for each batch of 1,024 saved files.)
#[test]
fn many_saved_files_ahead_of_a_new_one_do_not_hold_it_back() {
    let saved: Vec<String> = (0..2500)
        .map(|i| format!("http://files.test/f{i}"))
        .collect();
    let list = format!("{}\nhttp://files.test/new", saved.join("\n"));
    let mut sources = UrlSources::new(Vec::new());
    let list: Box<dyn BufRead + Send> = Box::new(Cursor::new(list));
    sources.push_list(UrlLines::new("list".into(), list), false);
    let mut feed = Feed::Urls(Box::new(UrlFeed::new(sources, None)));
    // As `run::execute` does, before the scheduler's first refill.
    let entries = saved
        .iter()
        .enumerate()
        .map(|(i, url)| (url.clone(), format!("f{i}")));
    feed.skip_saved(entries);
    let options = TransferOptions {
        skip_existing: true,
        ..TransferOptions::default()
    };
    let mut run = Run::new(options, feed, Vec::new(), SEED);
    let first = run
        .next()
        .expect("the new file is handed out at the first ask");
    assert_eq!(
        run.scheduler.url(first).to_string(),
        "http://files.test/new"
    );
    assert_eq!(run.scheduler.summary().skipped, 2500);
}

// ----------------------------------------------------------------------------------
// Proxies.

#[test]
fn through_a_proxy_http_is_absolute_with_the_proxy_credentials_and_https_is_as_to_the_origin() {
    use crate::protocol::proxy::{NoProxy, Proxy};
    let proxy = Proxy::parse("http://p:s@proxy.test:3128").unwrap();
    let mut options = with_credentials();
    options.proxy.http = Some(proxy.clone());
    options.proxy.https = Some(proxy);
    options.proxy.no_proxy = NoProxy::parse("direct.test");
    let urls = [
        "http://files.test/a.bin",
        "https://files.test/b.bin",
        "http://direct.test/c.bin",
    ];
    let mut run = Run::get_listed(options, &urls, &[]);
    let proxy_basic = "Basic cDpz";
    let mut sent = Vec::new();
    while let Some(job) = run.next() {
        let request = run.send(job);
        sent.push((
            request_line(&request).to_string(),
            header(&request, "Proxy-Authorization").map(str::to_owned),
            header(&request, "Authorization").map(str::to_owned),
        ));
    }
    let user = Some(USER_PASS.to_string());
    assert_eq!(
        sent,
        [
            (
                "GET http://files.test/a.bin HTTP/1.1".to_string(),
                Some(proxy_basic.to_string()),
                user.clone()
            ),
            // Inside the tunnel: origin form, and nothing for the proxy.
            ("GET /b.bin HTTP/1.1".to_string(), None, user.clone()),
            ("GET /c.bin HTTP/1.1".to_string(), None, user),
        ]
    );
}

/// `-C`: what each answer to `Range: bytes=N-` + `If-Range` means for the part (the
/// table of docs/reference.md, "Resume").
#[test]
fn answers_to_a_resumed_request_append_name_start_over_or_fall_through() {
    use super::verdict::{resumed, Resumed};
    use crate::model::partial::Partial;
    let part = Partial {
        name: "f".into(),
        url: "http://h/f".into(),
        validator: "\"v1\"".into(),
        length: Some(1000),
        have: 400,
        progress: None,
    };
    let head = |text: &str| {
        let bytes = format!("{text}\r\n\r\n");
        http::ResponseHead::parse(bytes.as_bytes(), &Limits::default())
            .unwrap()
            .unwrap()
            .0
    };
    let at = part.have;
    let case = |text: &str| resumed(&head(text), at, Some(&part));
    let ok = "HTTP/1.1 206 P\r\nContent-Range: bytes 400-999/1000\r\nETag: \"v1\"";
    assert_eq!(case(ok), Resumed::Append);
    let no_tag = "HTTP/1.1 206 P\r\nContent-Range: bytes 400-999/1000";
    assert_eq!(case(no_tag), Resumed::Append);
    for bad in [
        "HTTP/1.1 206 P\r\nContent-Range: bytes 0-999/1000",
        "HTTP/1.1 206 P\r\nContent-Range: bytes 400-999/2000",
        "HTTP/1.1 206 P\r\nContent-Range: bytes 400-999/*",
        "HTTP/1.1 206 P",
        "HTTP/1.1 206 P\r\nContent-Range: bytes 400-999/1000\r\nETag: \"v2\"",
        "HTTP/1.1 206 P\r\nContent-Range: bytes 400-999/1000\r\nContent-Encoding: gzip",
        "HTTP/1.1 416 R\r\nContent-Range: bytes */1000",
    ] {
        assert_eq!(case(bad), Resumed::StartOver, "{bad}");
    }
    assert_eq!(case("HTTP/1.1 200 OK"), Resumed::Fresh);
    for other in [
        "HTTP/1.1 503 U",
        "HTTP/1.1 404 N",
        "HTTP/1.1 302 F\r\nLocation: /x",
    ] {
        assert_eq!(case(other), Resumed::Other, "{other}");
    }
    let whole = Partial {
        have: 1000,
        ..part.clone()
    };
    let at_end = head("HTTP/1.1 416 R\r\nContent-Range: bytes */1000");
    assert_eq!(resumed(&at_end, 1000, Some(&whole)), Resumed::Whole);
    assert_eq!(resumed(&head("HTTP/1.1 206 P"), 1, None), Resumed::Other);
}
