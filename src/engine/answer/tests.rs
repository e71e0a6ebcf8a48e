//! Tests of the answer reader: an answer split at every position lands whole in its file,
//! and a broken socket is told apart as the keep-alive race or a failure in its phase.
//!
//! Layer: `engine`; may use `protocol`, `model`, `policy`, `output` and `transport` (see `src/engine/mod.rs`).

use std::io;
use std::time::{Duration, Instant, SystemTime};

use super::*;
use crate::model::event::Observers;
use crate::model::options::TransferOptions;
use crate::policy::feed::{Feed, UrlFeed, UrlSources};
use crate::policy::scheduler::Start;

const BODY: &[u8] = b"one file's body";

/// A scheduler with one job, `http://127.0.0.1:1/a.txt`, handed out as an engine would.
fn one_job() -> (Scheduler, JobId) {
    one_job_watched(Observers::default())
}

/// [`one_job`], its events seen by `observers`.
fn one_job_watched(observers: Observers) -> (Scheduler, JobId) {
    let urls = UrlSources::new(vec!["http://127.0.0.1:1/a.txt".to_string()]);
    let feed = Feed::Urls(Box::new(UrlFeed::new(urls, None)));
    let start = Start {
        instant: Instant::now(),
        wall: SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        jitter_seed: 1,
    };
    let options = TransferOptions::default();
    let mut scheduler = Scheduler::new(options, feed, Vec::new(), observers, start);
    let job = scheduler.next_ready(start.instant).expect("the job");
    scheduler
        .encode_request(job, &mut Vec::new(), start.instant)
        .unwrap();
    (scheduler, job)
}

/// One answer being read for the job of [`one_job`], as an engine reads it.
struct Reading {
    scheduler: Scheduler,
    answer: Answer,
    unread: Unread,
}

impl Reading {
    fn new() -> Reading {
        let (scheduler, job) = one_job();
        Reading {
            scheduler,
            answer: Answer::new(job, Method::Get, true),
            unread: Unread::default(),
        }
    }

    /// Hands one read to the answer: what it amounted to, and where its unused bytes start.
    fn read(&mut self, read: &[u8], landing: &mut Landing<'_>) -> (Progress, usize) {
        self.unread.arrived(read);
        let mut start = 0;
        let (answer, policy) = (&mut self.answer, &mut self.scheduler);
        let progress = self
            .unread
            .feed(answer, read, &mut start, policy, landing, Instant::now())
            .unwrap();
        (progress, start)
    }
}

/// An output directory for the test, removed with the first value.
fn out_dir() -> (tempfile::TempDir, OutputDir) {
    let dir = tempfile::tempdir().unwrap();
    let output = OutputDir::create(dir.path()).unwrap();
    (dir, output)
}

fn answer_bytes() -> Vec<u8> {
    let mut bytes =
        format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", BODY.len()).into_bytes();
    bytes.extend_from_slice(BODY);
    bytes
}

#[test]
fn an_answer_split_at_every_position_lands_whole_in_its_file() {
    let bytes = answer_bytes();
    for split in 0..=bytes.len() {
        let (dir, output) = out_dir();
        let mut landing = Landing::new(&output);
        let mut reading = Reading::new();
        let mut last = None;
        for read in [&bytes[..split], &bytes[split..]] {
            if !read.is_empty() {
                last = Some(reading.read(read, &mut landing).0);
            }
        }
        let ended = Progress::Ended {
            reusable: true,
            left_over: false,
        };
        assert_eq!(last, Some(ended), "split at {split}");
        assert!(reading.unread.is_empty(), "split at {split}: nothing kept");
        let saved = std::fs::read(dir.path().join("a.txt")).unwrap();
        assert_eq!(saved, BODY, "split at {split}");
        assert_eq!(landing.path, dir.path().join("a.txt"));
        assert_eq!(reading.scheduler.summary().ok, 1);
        let finished = reading.scheduler.is_finished();
        assert!(finished, "split at {split}: the permit is back");
    }
}

#[test]
fn bytes_after_the_answer_are_left_over() {
    let (_dir, output) = out_dir();
    let mut landing = Landing::new(&output);
    let mut reading = Reading::new();
    let mut read = answer_bytes();
    read.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
    let (progress, start) = reading.read(&read, &mut landing);
    let ended = Progress::Ended {
        reusable: true,
        left_over: true,
    };
    assert_eq!(progress, ended);
    assert_eq!(
        &read[start..],
        b"HTTP/1.1 200 OK\r\n",
        "the next answer's bytes"
    );
}

/// Keeps the message of every failure.
struct Failures(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

impl crate::model::event::Observer for Failures {
    fn on_event(&mut self, event: &crate::model::event::Event<'_>, _now: Instant) {
        if let crate::model::event::Event::Failed { error, .. } = event {
            self.0.lock().unwrap().push(error.to_string());
        }
    }
}

#[test]
fn an_output_error_names_the_file() {
    let (dir, output) = out_dir();
    // A directory where the file would be named: the body cannot take that name.
    std::fs::create_dir(dir.path().join("a.txt")).unwrap();
    std::fs::write(dir.path().join("a.txt").join("inside"), b"x").unwrap();
    let seen = std::sync::Arc::default();
    let mut observers = Observers::default();
    observers.push(Box::new(Failures(std::sync::Arc::clone(&seen))));
    let (scheduler, job) = one_job_watched(observers);
    let mut reading = Reading {
        scheduler,
        answer: Answer::new(job, Method::Get, true),
        unread: Unread::default(),
    };
    let mut landing = Landing::new(&output);
    reading.read(&answer_bytes(), &mut landing);
    let failures = seen.lock().unwrap().clone();
    assert_eq!(failures.len(), 1, "{failures:?}");
    let path = dir.path().join("a.txt");
    assert!(
        failures[0].starts_with(&format!("could not write output {}: ", path.display())),
        "{failures:?}"
    );
    assert!(!failures[0].contains('\n'), "one line: {failures:?}");
}

#[test]
fn an_output_error_is_one_line_naming_its_path() {
    let (dir, output) = out_dir();
    let mut part = output.part_file(1);
    let error = JobError::Output {
        path: part.dir_path().to_path_buf(),
        error: io::Error::other("disk full"),
    };
    assert!(part.write(b"x", false).is_ok());
    assert_eq!(
        error.to_string(),
        format!("could not write output {}: disk full", dir.path().display())
    );
    // A newline in a name stays on one line.
    let error = JobError::Output {
        path: "out\nput".into(),
        error: io::Error::other("disk full"),
    };
    assert_eq!(
        error.to_string(),
        "could not write output out\\nput: disk full"
    );
}

fn reset() -> io::Error {
    io::ErrorKind::ConnectionReset.into()
}

#[test]
fn a_reused_socket_that_breaks_before_any_answer_byte_is_stale() {
    let reading = Reading::new();
    let (answer, unread) = (&reading.answer, &reading.unread);
    assert!(answer.is_stale(true, unread));
    assert!(matches!(
        answer.broken(true, unread, reset(), Phase::AwaitingHead),
        Broken::Stale
    ));
    // A new socket has no race to lose: the failure is the attempt's.
    assert!(!answer.is_stale(false, unread));
    match answer.broken(false, unread, reset(), Phase::Sending) {
        Broken::Failed(JobError::Io(_, Phase::Sending)) => {}
        other => panic!("a write that failed: {other:?}"),
    }
}

#[test]
fn a_break_after_answer_bytes_is_reported_in_the_phase_of_the_framing() {
    let (dir, output) = out_dir();
    let mut landing = Landing::new(&output);
    let bytes = answer_bytes();
    let head_len = bytes.len() - BODY.len();
    // Half a head: bytes have arrived (kept), so not stale, and still awaiting the head.
    let mut reading = Reading::new();
    let (progress, _) = reading.read(&bytes[..head_len / 2], &mut landing);
    assert_eq!(progress, Progress::NeedMore);
    let (answer, unread) = (&reading.answer, &reading.unread);
    assert!(!answer.is_stale(true, unread), "answer bytes arrived");
    match answer.broken(true, unread, reset(), Phase::AwaitingHead) {
        Broken::Failed(JobError::Io(_, Phase::AwaitingHead)) => {}
        other => panic!("half a head: {other:?}"),
    }
    // The whole head and part of the body: the failure is in the body.
    let mut reading = Reading::new();
    let (progress, _) = reading.read(&bytes[..head_len + 3], &mut landing);
    assert_eq!(progress, Progress::NeedMore);
    let (answer, unread) = (&reading.answer, &reading.unread);
    assert_eq!(answer.phase(), Phase::ReceivingBody);
    match answer.broken(true, unread, reset(), Phase::AwaitingHead) {
        Broken::Failed(JobError::Io(_, Phase::ReceivingBody)) => {}
        other => panic!("part of the body: {other:?}"),
    }
    // And nothing is left under the final name.
    drop(reading);
    assert!(!dir.path().join("a.txt").exists());
}
