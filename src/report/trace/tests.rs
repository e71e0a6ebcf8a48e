//! The recorder fed a made-up run on a virtual clock, its file read back two ways: as
//! plain JSON (what Perfetto sees) and through [`parse_trace`] (what the timeline sees).
//!
//! Layer: `report`; may use `protocol`, `model`, `policy`, `output`, `transport` and `engine` (see `src/report/mod.rs`).

use std::collections::HashMap;
use std::io;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::*;
use crate::model::error::JobError;
use crate::model::event::{Event, Observer};
use crate::model::job::{ConnId, JobId, Phase};
use crate::protocol::url::Url;

/// What a job fetches.
#[derive(Clone, Copy)]
enum Kind {
    /// A file.
    File,
    /// A page of the list API.
    Page,
}

impl Kind {
    /// The `is_page` of the events.
    fn is_page(self) -> bool {
        matches!(self, Kind::Page)
    }
}

/// How a fetch gets its socket.
#[derive(Clone, Copy)]
enum Conn {
    /// It opens a new one (and connects).
    Fresh,
    /// It reuses an idle keep-alive one.
    Reused,
}

/// A recorder on a virtual clock: `ms` since the start.
struct Story {
    recorder: TraceRecorder,
    t0: Instant,
}

impl Story {
    /// A story whose recorder writes to `path`.
    fn new(path: PathBuf) -> Self {
        let t0 = Instant::now();
        Story {
            recorder: TraceRecorder::new(path, t0),
            t0,
        }
    }

    /// The moment `ms` after the start.
    fn at(&self, ms: u64) -> Instant {
        self.t0 + Duration::from_millis(ms)
    }

    /// Hands `event` to the recorder at `ms`.
    fn emit(&mut self, ms: u64, event: Event<'_>) {
        let now = self.at(ms);
        self.recorder.on_event(&event, now);
    }

    /// Job `job` (a `kind`) goes from `from` to `to` at `ms`, on `slot` if given.
    fn phase(
        &mut self,
        ms: u64,
        job: usize,
        kind: Kind,
        from: Phase,
        to: Phase,
        slot: Option<usize>,
    ) {
        let url = Url::parse(&format!("http://127.0.0.1:8080/job/{job}")).unwrap();
        let event = Event::Phase {
            job: JobId(job),
            url: &url,
            is_page: kind.is_page(),
            from,
            to,
            slot: slot.map(ConnId),
        };
        self.emit(ms, event);
    }

    /// A job through connect (or reuse), send, wait and body on `slot`, from `ms`.
    fn fetch(&mut self, ms: u64, job: usize, kind: Kind, slot: usize, conn: Conn) {
        use Phase::*;
        match conn {
            Conn::Fresh => {
                self.emit(ms, Event::ConnectionOpened { slot: ConnId(slot) });
                self.phase(ms, job, kind, Queued, Connecting, Some(slot));
                self.phase(ms + 1, job, kind, Connecting, Sending, Some(slot));
            }
            Conn::Reused => {
                self.emit(ms, Event::ConnectionReused { slot: ConnId(slot) });
                self.phase(ms + 1, job, kind, Queued, Sending, Some(slot));
            }
        }
        self.emit(ms + 1, Event::RequestSent { job: JobId(job) });
        self.phase(ms + 2, job, kind, Sending, AwaitingHead, None);
        self.phase(ms + 4, job, kind, AwaitingHead, ReceivingBody, None);
    }
}

/// The URL `text`, which must parse.
fn url(text: &str) -> Url {
    Url::parse(text).unwrap()
}

/// The made-up run: a page on socket 0, then two files; one retries after a 503 and
/// meets a stale socket; a later job reuses id 0 and fails to connect.
fn record(path: PathBuf) -> Story {
    let mut s = Story::new(path);
    a_page_lists_two_files(&mut s);
    job_1_gets_a_503_while_job_2_is_saved(&mut s);
    job_1_meets_a_stale_socket_and_is_saved(&mut s);
    a_new_job_0_fails_to_connect(&mut s);
    s
}

/// 0–7 ms: page job 0 on a fresh socket 0, then files 1 and 2 are queued.
fn a_page_lists_two_files(s: &mut Story) {
    use Phase::*;
    s.phase(0, 0, Kind::Page, Queued, Queued, None);
    s.fetch(2, 0, Kind::Page, 0, Conn::Fresh);
    s.phase(7, 0, Kind::Page, ReceivingBody, Saved, None);
    s.emit(
        7,
        Event::PageRead {
            job: JobId(0),
            new_ids: 2,
        },
    );
    s.phase(7, 1, Kind::File, Queued, Queued, None);
    s.phase(7, 2, Kind::File, Queued, Queued, None);
}

/// 8–14 ms: job 1 reuses socket 0 and gets a 503 while waiting for the head; job 2
/// opens socket 1 meanwhile and is saved.
fn job_1_gets_a_503_while_job_2_is_saved(s: &mut Story) {
    use Phase::*;
    let a = url("http://127.0.0.1:5000/api/download/a");
    let b = url("http://127.0.0.1:5000/api/download/b");
    s.emit(8, Event::ConnectionReused { slot: ConnId(0) });
    s.phase(8, 1, Kind::File, Queued, Sending, Some(0));
    s.emit(8, Event::RequestSent { job: JobId(1) });
    s.phase(9, 1, Kind::File, Sending, AwaitingHead, None);
    s.fetch(9, 2, Kind::File, 1, Conn::Fresh);
    let error = JobError::Status(503);
    let retry = Event::Retry {
        job: JobId(1),
        url: &a,
        attempt: 2,
        delay: Duration::from_millis(10),
        error: &error,
    };
    s.emit(12, retry);
    let until = s.at(22);
    s.phase(12, 1, Kind::File, AwaitingHead, RetryWait { until }, None);
    s.phase(14, 2, Kind::File, ReceivingBody, Saved, None);
    let path = std::path::Path::new("b");
    s.emit(
        14,
        Event::FileSaved {
            job: JobId(2),
            url: &b,
            path,
            bytes: 6,
        },
    );
}

/// 22–32 ms: job 1 again: socket 1 turns out stale, the resend opens socket 2.
fn job_1_meets_a_stale_socket_and_is_saved(s: &mut Story) {
    use Phase::*;
    let a = url("http://127.0.0.1:5000/api/download/a");
    let until = s.at(22);
    s.phase(22, 1, Kind::File, RetryWait { until }, Queued, None);
    s.emit(22, Event::ConnectionReused { slot: ConnId(1) });
    s.phase(23, 1, Kind::File, Queued, Sending, Some(1));
    s.emit(23, Event::RequestSent { job: JobId(1) });
    s.phase(24, 1, Kind::File, Sending, AwaitingHead, None);
    s.emit(
        25,
        Event::StaleResend {
            job: JobId(1),
            url: &a,
        },
    );
    s.phase(25, 1, Kind::File, AwaitingHead, Queued, None);
    s.emit(25, Event::ConnectionClosed { slot: ConnId(1) });
    s.fetch(26, 1, Kind::File, 2, Conn::Fresh);
    s.phase(32, 1, Kind::File, ReceivingBody, Saved, None);
    let path = std::path::Path::new("b");
    s.emit(
        32,
        Event::FileSaved {
            job: JobId(1),
            url: &a,
            path,
            bytes: 6,
        },
    );
}

/// 33–37 ms: a new job takes id 0 and its connect is refused on socket 0; the
/// sockets close.
fn a_new_job_0_fails_to_connect(s: &mut Story) {
    use Phase::*;
    let c = url("http://127.0.0.1:5000/api/download/c");
    s.phase(33, 0, Kind::File, Queued, Queued, None);
    s.phase(34, 0, Kind::File, Queued, Connecting, Some(0));
    s.phase(36, 0, Kind::File, Connecting, Failed, None);
    let refused = JobError::Connect(io::Error::from(io::ErrorKind::ConnectionRefused));
    s.emit(
        36,
        Event::Failed {
            job: JobId(0),
            url: &c,
            is_page: false,
            error: &refused,
        },
    );
    s.emit(37, Event::ConnectionClosed { slot: ConnId(0) });
    s.emit(37, Event::ConnectionClosed { slot: ConnId(2) });
}

/// Records the story, writes it, returns the file's text.
fn written() -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.json");
    let mut story = record(path.clone());
    story.recorder.finish();
    std::fs::read_to_string(&path).unwrap()
}

/// The `traceEvents` array.
fn events(root: &Value) -> &Vec<Value> {
    root["traceEvents"].as_array().expect("traceEvents")
}

/// The track names, by thread id.
fn thread_names(root: &Value) -> HashMap<u64, String> {
    events(root)
        .iter()
        .filter(|e| e["ph"] == "M" && e["name"] == "thread_name")
        .map(|e| {
            (
                e["tid"].as_u64().unwrap(),
                e["args"]["name"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn the_file_is_a_chrome_trace_object() {
    let root: Value = serde_json::from_str(&written()).expect("valid JSON");
    assert_eq!(root["displayTimeUnit"], "ms");
    assert_eq!(root["otherData"]["tool"], "miodl");
    assert_eq!(root["otherData"]["requests"], 5);
    assert_eq!(root["otherData"]["sockets_opened"], 3);
    assert_eq!(root["otherData"]["wall_us"], 37_000);
    for event in events(&root) {
        assert!(event["ph"].is_string() && event["pid"] == PID, "{event}");
        assert!(event["tid"].is_u64(), "{event}");
        if event["ph"] != "M" {
            assert!(event["ts"].is_u64(), "{event}");
        }
    }
}

#[test]
fn one_named_track_per_slot_plus_queue_and_pager() {
    let root: Value = serde_json::from_str(&written()).unwrap();
    let names = thread_names(&root);
    let mut sorted: Vec<&str> = names.values().map(String::as_str).collect();
    sorted.sort();
    assert_eq!(
        sorted,
        ["pager", "queue", "socket 0", "socket 1", "socket 2"]
    );
    assert_eq!(names[&(SOCKET_TID_BASE + 2)], "socket 2");
    assert_eq!(names[&QUEUE_TID], "queue");
    let sort_indexes = events(&root)
        .iter()
        .filter(|e| e["name"] == "thread_sort_index")
        .count();
    assert_eq!(sort_indexes, names.len());
}

#[test]
fn spans_on_a_socket_follow_each_other_in_microseconds() {
    let root: Value = serde_json::from_str(&written()).unwrap();
    let mut by_tid: HashMap<u64, Vec<(u64, u64, String)>> = HashMap::new();
    for e in events(&root).iter().filter(|e| e["ph"] == "X") {
        let tid = e["tid"].as_u64().unwrap();
        assert!(tid >= SOCKET_TID_BASE, "spans only on sockets: {e}");
        let name = e["name"].as_str().unwrap().to_string();
        by_tid.entry(tid).or_default().push((
            e["ts"].as_u64().unwrap(),
            e["dur"].as_u64().unwrap(),
            name,
        ));
    }
    for spans in by_tid.values_mut() {
        spans.sort();
        for pair in spans.windows(2) {
            assert!(pair[0].0 + pair[0].1 <= pair[1].0, "overlap: {pair:?}");
        }
    }
    // Socket 1: job 2 connects at 9 ms for 1 ms (microseconds, not ms or ns).
    let socket1 = &by_tid[&(SOCKET_TID_BASE + 1)];
    assert_eq!(socket1[0], (9_000, 1_000, "connect".to_string()));
    let names: Vec<&str> = socket1.iter().map(|s| s.2.as_str()).collect();
    assert_eq!(names, ["connect", "send", "wait", "body", "send", "wait"]);
    // The wait after the stale socket's send ends at the resend, 25 ms.
    assert_eq!(socket1[5].0 + socket1[5].1, 25_000);
    // Socket 0: the page, then job 1 until its 503, then the second job 0's connect.
    let socket0: Vec<&str> = by_tid[&SOCKET_TID_BASE]
        .iter()
        .map(|s| s.2.as_str())
        .collect();
    assert_eq!(
        socket0,
        ["connect", "send", "wait", "body", "send", "wait", "connect"]
    );
}

#[test]
fn spans_carry_job_url_and_kind() {
    let root: Value = serde_json::from_str(&written()).unwrap();
    let spans: Vec<&Value> = events(&root).iter().filter(|e| e["ph"] == "X").collect();
    let page = spans
        .iter()
        .find(|e| e["tid"] == SOCKET_TID_BASE && e["name"] == "body")
        .unwrap();
    assert_eq!(page["args"]["kind"], "page");
    assert_eq!(page["cat"], "page");
    assert_eq!(page["args"]["job"], 0);
    let file = spans
        .iter()
        .find(|e| e["tid"] == SOCKET_TID_BASE + 2 && e["name"] == "body")
        .unwrap();
    assert_eq!(file["args"]["kind"], "file");
    assert_eq!(file["args"]["url"], "http://127.0.0.1:5000/api/download/a");
    // Id 0 came back for a file: its spans are the new job's.
    let last = spans.iter().rfind(|e| e["tid"] == SOCKET_TID_BASE).unwrap();
    assert_eq!(last["args"]["kind"], "file");
    assert_eq!(last["args"]["url"], "http://127.0.0.1:5000/api/download/c");
}

#[test]
fn marks_go_on_the_socket_where_things_happened() {
    let root: Value = serde_json::from_str(&written()).unwrap();
    let marks: Vec<(String, u64, u64)> = events(&root)
        .iter()
        .filter(|e| e["ph"] == "i")
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_string(),
                e["tid"].as_u64().unwrap(),
                e["ts"].as_u64().unwrap(),
            )
        })
        .collect();
    let base = SOCKET_TID_BASE;
    assert_eq!(
        marks,
        [
            ("retry".to_string(), base, 12_000),
            ("stale-resend".to_string(), base + 1, 25_000),
            ("failed".to_string(), base, 36_000),
        ]
    );
    let retry = events(&root).iter().find(|e| e["name"] == "retry").unwrap();
    assert_eq!(retry["args"]["attempt"], 2);
    assert_eq!(retry["args"]["delay_ms"], 10);
    assert!(retry["args"]["error"].as_str().unwrap().contains("503"));
}

#[test]
fn waits_are_balanced_async_pairs() {
    let root: Value = serde_json::from_str(&written()).unwrap();
    let mut open: HashMap<(String, u64, String), u64> = HashMap::new();
    let mut waits = Vec::new();
    for e in events(&root) {
        let key = || {
            (
                e["cat"].as_str().unwrap().to_string(),
                e["id"].as_u64().unwrap(),
                e["name"].as_str().unwrap().to_string(),
            )
        };
        match e["ph"].as_str().unwrap() {
            "b" => assert!(open.insert(key(), e["ts"].as_u64().unwrap()).is_none()),
            "e" => {
                let start = open.remove(&key()).expect("e after b");
                waits.push((key().0, key().2, start, e["ts"].as_u64().unwrap()));
            }
            _ => {}
        }
    }
    assert!(open.is_empty());
    assert!(waits.contains(&("pager".into(), "queued".into(), 0, 2_000)));
    assert!(waits.contains(&("queue".into(), "retry-wait".into(), 12_000, 22_000)));
}

#[test]
fn counters_follow_sockets_and_requests() {
    let root: Value = serde_json::from_str(&written()).unwrap();
    let series = |name: &str, key: &str| -> Vec<u64> {
        events(&root)
            .iter()
            .filter(|e| e["ph"] == "C" && e["name"] == name)
            .map(|e| e["args"][key].as_u64().unwrap())
            .collect()
    };
    let sockets = series("sockets", "open");
    assert_eq!(sockets.iter().max(), Some(&2));
    assert_eq!(sockets.last(), Some(&0));
    let in_flight = series("requests", "in flight");
    assert_eq!(in_flight.iter().max(), Some(&2));
    assert_eq!(in_flight.last(), Some(&0));
    assert_eq!(series("jobs", "queued").last(), Some(&0));
}

#[test]
fn parse_reads_back_what_the_recorder_wrote() {
    let text = written();
    let trace = parse_trace(&text).unwrap();
    let slots: Vec<usize> = trace.slots.iter().map(|s| s.slot).collect();
    assert_eq!(slots, [0, 1, 2]);
    let x_events = text.matches("\"ph\":\"X\"").count();
    assert_eq!(trace.span_count(), x_events + trace.pager.len());
    assert_eq!(trace.pager.len(), 1);
    assert!(trace.pager[0].is_page);
    assert_eq!(trace.queue.len(), 6);
    assert_eq!(trace.wall_us, 37_000);
    assert_eq!(trace.requests, Some(5));
    assert_eq!(trace.sockets_opened, Some(3));
    let kinds: Vec<MarkKind> = trace.marks.iter().map(|m| m.kind).collect();
    assert_eq!(
        kinds,
        [MarkKind::Retry, MarkKind::StaleResend, MarkKind::Failed]
    );
    assert_eq!(trace.marks[1].track, TrackId::Socket(1));
    let first = &trace.slots[1].spans[0];
    assert_eq!(
        (first.phase, first.start_us, first.dur_us),
        (SpanPhase::Connect, 9_000, 1_000)
    );
    assert_eq!(
        first.url.as_deref(),
        Some("http://127.0.0.1:5000/api/download/b")
    );
}

/// Two lookups (one failed), a throttled job and a Happy Eyeballs race, recorded and
/// written; the file's text.
fn lookups_throttles_and_races() -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dns.json");
    let mut s = Story::new(path.clone());
    s.phase(0, 3, Kind::File, Phase::Queued, Phase::Queued, None);
    let found = Ok(2);
    let took = Duration::from_millis(30);
    s.emit(
        40,
        Event::Lookup {
            host: "a.example",
            took,
            found,
        },
    );
    let error = io::Error::other("b.example: no such host");
    let (took, found) = (Duration::from_millis(5), Err(&error));
    s.emit(
        20,
        Event::Lookup {
            host: "b.example",
            took,
            found,
        },
    );
    let u = url("http://a.example/f");
    let delay = Duration::from_millis(1_500);
    s.emit(
        41,
        Event::Throttled {
            job: JobId(3),
            url: &u,
            delay,
        },
    );
    s.emit(44, Event::ConnectionOpened { slot: ConnId(4) });
    s.emit(45, Event::HappyEyeballsRace { slot: ConnId(5) });
    s.recorder.finish();
    std::fs::read_to_string(&path).unwrap()
}

#[test]
fn lookups_are_async_pairs_on_the_dns_track_with_their_answers() {
    let root: Value = serde_json::from_str(&lookups_throttles_and_races()).unwrap();
    assert_eq!(thread_names(&root)[&DNS_TID], "dns");
    let dns: Vec<&Value> = (events(&root).iter())
        .filter(|e| e["cat"] == "dns")
        .collect();
    assert_eq!(dns.len(), 4, "a b and an e per lookup");
    let begin = |host: &str| {
        (dns.iter())
            .find(|e| e["ph"] == "b" && e["args"]["host"] == host)
            .unwrap_or_else(|| panic!("no lookup of {host}"))
    };
    let a = begin("a.example");
    assert_eq!(
        (a["ts"].as_u64(), a["tid"].as_u64()),
        (Some(10_000), Some(DNS_TID))
    );
    assert_eq!(a["args"]["addresses"], 2);
    let b = begin("b.example");
    assert_eq!(b["args"]["error"], "b.example: no such host");
    let end = (dns.iter())
        .find(|e| e["ph"] == "e" && e["id"] == a["id"])
        .unwrap();
    assert_eq!(end["ts"], 40_000);
    let other = &root["otherData"];
    assert_eq!(
        (
            &other["dns_lookups"],
            &other["throttled"],
            &other["happy_eyeballs_races"]
        ),
        (&Value::from(2), &Value::from(1), &Value::from(1))
    );
}

#[test]
fn parse_reads_back_lookups_throttles_and_races() {
    let trace = parse_trace(&lookups_throttles_and_races()).unwrap();
    let lookups: Vec<(&str, u64, u64, Result<u64, String>)> = (trace.lookups.iter())
        .map(|l| (l.host.as_str(), l.start_us, l.dur_us, l.found.clone()))
        .collect();
    assert_eq!(
        lookups,
        [
            ("a.example", 10_000, 30_000, Ok(2)),
            (
                "b.example",
                15_000,
                5_000,
                Err("b.example: no such host".into())
            ),
        ]
    );
    let marks: Vec<(MarkKind, TrackId, &str)> = (trace.marks.iter())
        .map(|m| (m.kind, m.track, m.detail.as_str()))
        .collect();
    assert_eq!(
        marks,
        [
            (MarkKind::Throttled, TrackId::Queue, "paused 1500 ms"),
            (MarkKind::HappyEyeballs, TrackId::Socket(5), ""),
        ]
    );
    assert_eq!(trace.slots.iter().map(|s| s.slot).collect::<Vec<_>>(), [5]);
    assert_eq!(trace.wall_us, 45_000);
}

#[test]
fn a_stopped_run_closes_its_open_spans() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stopped.json");
    let mut s = Story::new(path.clone());
    s.phase(0, 0, Kind::File, Phase::Queued, Phase::Queued, None);
    s.fetch(1, 0, Kind::File, 0, Conn::Fresh);
    s.recorder.finish();
    let trace = parse_trace(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let phases: Vec<SpanPhase> = trace.slots[0].spans.iter().map(|s| s.phase).collect();
    assert_eq!(
        phases,
        [
            SpanPhase::Connect,
            SpanPhase::Send,
            SpanPhase::Wait,
            SpanPhase::Body
        ]
    );
    assert_eq!(trace.slots[0].spans[3].dur_us, 0);
}

#[test]
fn a_reused_socket_carries_the_next_job_without_a_connect() {
    use Phase::*;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reused.json");
    let mut s = Story::new(path.clone());
    s.phase(0, 0, Kind::File, Queued, Queued, None);
    s.fetch(1, 0, Kind::File, 0, Conn::Fresh);
    s.phase(7, 0, Kind::File, ReceivingBody, Saved, None);
    s.phase(7, 1, Kind::File, Queued, Queued, None);
    s.fetch(8, 1, Kind::File, 0, Conn::Reused);
    s.phase(14, 1, Kind::File, ReceivingBody, Saved, None);
    s.recorder.finish();
    let trace = parse_trace(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(trace.slots.len(), 1);
    let spans: Vec<(SpanPhase, u64, Option<u64>)> = trace.slots[0]
        .spans
        .iter()
        .map(|s| (s.phase, s.start_us, s.job))
        .collect();
    assert_eq!(
        spans,
        [
            (SpanPhase::Connect, 1_000, Some(0)),
            (SpanPhase::Send, 2_000, Some(0)),
            (SpanPhase::Wait, 3_000, Some(0)),
            (SpanPhase::Body, 5_000, Some(0)),
            (SpanPhase::Send, 9_000, Some(1)),
            (SpanPhase::Wait, 10_000, Some(1)),
            (SpanPhase::Body, 12_000, Some(1)),
        ]
    );
    assert_eq!(trace.requests, Some(2));
    assert_eq!(trace.sockets_opened, Some(1));
}

#[test]
fn a_write_error_is_reported_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let mut story = record(dir.path().join("missing").join("run.json"));
    story.recorder.finish();
    assert!(!dir.path().join("missing").exists());
}

#[test]
fn parse_refuses_what_is_not_a_trace() {
    assert!(matches!(parse_trace("not json"), Err(TraceError::Json(_))));
    assert!(matches!(parse_trace("{}"), Err(TraceError::Format(_))));
    assert!(matches!(
        parse_trace(r#"{"traceEvents": [1]}"#),
        Err(TraceError::Format(_))
    ));
    let message = parse_trace("{}").unwrap_err().to_string();
    assert_eq!(message, "not a trace file: no \"traceEvents\" array");
}

#[test]
fn parse_tolerates_what_it_does_not_know() {
    let text = r#"{"traceEvents": [
        {"name": "thread_name", "ph": "M", "pid": 1, "tid": 7, "args": {"name": "socket 4"}},
        {"name": "body", "ph": "X", "ts": 10.4, "dur": 5, "pid": 1, "tid": 7, "extra": true,
         "args": {"job": 3, "kind": "file", "more": [1, 2]}},
        {"name": "gc", "ph": "X", "ts": 1, "dur": 1, "pid": 1, "tid": 7},
        {"name": "body", "ph": "X", "ts": 1, "dur": 1, "pid": 1, "tid": 99},
        {"name": "flow", "ph": "s", "ts": 1, "pid": 1, "tid": 7, "id": 1}
    ], "metadata": {"anything": 1}}"#;
    let trace = parse_trace(text).unwrap();
    assert_eq!(trace.slots.len(), 1);
    assert_eq!(trace.slots[0].slot, 4);
    let span = &trace.slots[0].spans[..];
    assert_eq!(span.len(), 1);
    assert_eq!(
        (span[0].start_us, span[0].dur_us, span[0].job),
        (10, 5, Some(3))
    );
    assert_eq!(trace.wall_us, 15);
    assert_eq!(trace.requests, None);
}
