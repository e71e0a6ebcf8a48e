//! The reading half of `--trace`: the file back into tracks and spans, for the timeline.
//!
//! It reads what [`super::TraceRecorder`] writes and skips what it does not know (other
//! event kinds, extra fields, unknown phase names), so a trace touched by another tool
//! still draws.
//!
//! Layer: `report`; may use `protocol`, `model`, `policy`, `output`, `transport` and `engine` (see `src/report/mod.rs`).

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde_json::Value;

use super::PAGER_TID;

/// A trace, as the timeline draws it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Trace {
    /// One track per connection slot that was used, by slot number.
    pub slots: Vec<SlotTrack>,
    /// Page jobs waiting (queued, retry-wait); empty when the run had no pager.
    pub pager: Vec<Span>,
    /// File jobs waiting (queued, retry-wait); they overlap freely.
    pub queue: Vec<Span>,
    /// Retries, stale resends, redirects, failures, throttled hosts and Happy Eyeballs
    /// races, in file order.
    pub marks: Vec<Mark>,
    /// Host name lookups, by start time (they overlap).
    pub lookups: Vec<LookupSpan>,
    /// The time of the last event, in microseconds since the run started.
    pub wall_us: u64,
    /// Requests written, when the file says.
    pub requests: Option<u64>,
    /// Sockets opened, when the file says.
    pub sockets_opened: Option<u64>,
}

/// The spans of one connection slot.
#[derive(Debug, Clone, PartialEq)]
pub struct SlotTrack {
    /// The slot number (`socket N`).
    pub slot: usize,
    /// Its spans, by start time.
    pub spans: Vec<Span>,
}

/// A stretch of one job's life in one phase.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    /// The phase.
    pub phase: SpanPhase,
    /// Start, in microseconds since the run started.
    pub start_us: u64,
    /// Length, in microseconds.
    pub dur_us: u64,
    /// The job id, when the file says.
    pub job: Option<u64>,
    /// True for a page of the list API, false for a file.
    pub is_page: bool,
    /// The job's URL, when known.
    pub url: Option<String>,
}

/// One host name's lookup.
#[derive(Debug, Clone, PartialEq)]
pub struct LookupSpan {
    /// The name looked up.
    pub host: String,
    /// Start, in microseconds since the run started.
    pub start_us: u64,
    /// Length, in microseconds.
    pub dur_us: u64,
    /// How many addresses it found, or why it failed (`Err`: the error text).
    pub found: Result<u64, String>,
}

/// The phases a span can show: [`crate::model::job::Phase`] minus the final ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SpanPhase {
    /// Waiting for a new socket's connect.
    Connect,
    /// Writing the request.
    Send,
    /// Waiting for the answer's first byte.
    Wait,
    /// Reading the body.
    Body,
    /// Waiting for a permit and a socket.
    Queued,
    /// Backing off before a retry.
    RetryWait,
}

impl SpanPhase {
    /// Every phase, in the order of a job's life.
    pub const ALL: [SpanPhase; 6] = [
        SpanPhase::Queued,
        SpanPhase::Connect,
        SpanPhase::Send,
        SpanPhase::Wait,
        SpanPhase::Body,
        SpanPhase::RetryWait,
    ];

    /// The name used in the trace (the same as [`crate::model::job::Phase::name`]).
    pub fn name(self) -> &'static str {
        match self {
            SpanPhase::Connect => "connect",
            SpanPhase::Send => "send",
            SpanPhase::Wait => "wait",
            SpanPhase::Body => "body",
            SpanPhase::Queued => "queued",
            SpanPhase::RetryWait => "retry-wait",
        }
    }

    /// The phase with this trace name.
    pub fn from_name(name: &str) -> Option<SpanPhase> {
        SpanPhase::ALL.into_iter().find(|p| p.name() == name)
    }
}

/// Where a mark or a span is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TrackId {
    /// File jobs waiting.
    Queue,
    /// Page jobs waiting.
    Pager,
    /// Connection slot `N`.
    Socket(usize),
}

/// What a mark records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MarkKind {
    /// A retryable failure; the job backs off and tries again.
    Retry,
    /// A keep-alive socket closed by the server: resent at once on a fresh socket.
    StaleResend,
    /// A redirect was followed.
    Redirect,
    /// A job failed for good.
    Failed,
    /// A `Retry-After` paused the job's host.
    Throttled,
    /// A second connect raced a slow one (Happy Eyeballs), on this socket.
    HappyEyeballs,
}

impl MarkKind {
    /// The name used in the trace.
    pub fn name(self) -> &'static str {
        match self {
            MarkKind::Retry => "retry",
            MarkKind::StaleResend => "stale-resend",
            MarkKind::Redirect => "redirect",
            MarkKind::Failed => "failed",
            MarkKind::Throttled => "throttled",
            MarkKind::HappyEyeballs => "happy-eyeballs",
        }
    }

    /// Every kind, in the legend's order.
    pub const ALL: [MarkKind; 6] = [
        MarkKind::Retry,
        MarkKind::StaleResend,
        MarkKind::Redirect,
        MarkKind::Failed,
        MarkKind::Throttled,
        MarkKind::HappyEyeballs,
    ];

    fn from_name(name: &str) -> Option<MarkKind> {
        MarkKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// Something that happened at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    /// What.
    pub kind: MarkKind,
    /// When, in microseconds since the run started.
    pub at_us: u64,
    /// On which track.
    pub track: TrackId,
    /// The job, when there is one.
    pub job: Option<u64>,
    /// Why, or where to (the error text, a redirect's target); may be empty.
    pub detail: String,
}

impl Trace {
    /// The spans the timeline draws as bars: every socket span and every pager span.
    pub fn span_count(&self) -> usize {
        self.slots.iter().map(|s| s.spans.len()).sum::<usize>() + self.pager.len()
    }

    /// True if the run had a pager (a crawl).
    pub fn has_pager(&self) -> bool {
        !self.pager.is_empty() || self.marks.iter().any(|m| m.track == TrackId::Pager)
    }
}

/// Why a trace could not be read.
#[derive(Debug)]
pub enum TraceError {
    /// The file is not JSON.
    Json(serde_json::Error),
    /// JSON, but not a trace: the reason.
    Format(&'static str),
}

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TraceError::Json(e) => write!(f, "not valid JSON: {e}"),
            TraceError::Format(why) => write!(f, "not a trace file: {why}"),
        }
    }
}

impl std::error::Error for TraceError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TraceError::Json(e) => Some(e),
            TraceError::Format(_) => None,
        }
    }
}

/// Reads a trace written by `--trace` (a Chrome trace-event JSON object).
pub fn parse_trace(json: &str) -> Result<Trace, TraceError> {
    let root: Value = serde_json::from_str(json).map_err(TraceError::Json)?;
    let events = root
        .get("traceEvents")
        .and_then(Value::as_array)
        .ok_or(TraceError::Format("no \"traceEvents\" array"))?;
    let mut reader = Reader::new(track_names(events));
    for event in events {
        reader.read_event(event)?;
    }
    Ok(reader.finish(root.get("otherData")))
}

/// The tracks by thread id: a tid means a socket only if it is named "socket N".
fn track_names(events: &[Value]) -> HashMap<u64, TrackId> {
    let mut tracks = HashMap::new();
    for event in events {
        if str_field(event, "ph") == Some("M") && str_field(event, "name") == Some("thread_name") {
            let (Some(tid), Some(name)) = (
                event.get("tid").and_then(Value::as_u64),
                event.pointer("/args/name").and_then(Value::as_str),
            ) else {
                continue;
            };
            if let Some(track) = track_of_name(name) {
                tracks.insert(tid, track);
            }
        }
    }
    tracks
}

/// The track a thread name stands for: "queue", "pager" or "socket N".
fn track_of_name(name: &str) -> Option<TrackId> {
    match name {
        "queue" => Some(TrackId::Queue),
        "pager" => Some(TrackId::Pager),
        other => other
            .strip_prefix("socket ")
            .and_then(|n| n.parse().ok())
            .map(TrackId::Socket),
    }
}

/// What pairs a wait's `b` event with its `e`: category, id and name.
#[derive(PartialEq, Eq, Hash)]
struct WaitKey {
    cat: String,
    id: String,
    name: String,
}

/// One read of the events, in file order: the trace so far, and what is still open.
struct Reader {
    /// The tracks by thread id, from [`track_names`].
    tracks: HashMap<u64, TrackId>,
    trace: Trace,
    /// The spans of each slot, unsorted; every named socket has an entry.
    slots: BTreeMap<usize, Vec<Span>>,
    /// Waits begun and not yet ended: their start and their span.
    open_waits: HashMap<WaitKey, (u64, Span)>,
    /// Lookups begun and not yet ended, by id.
    open_lookups: HashMap<String, LookupSpan>,
}

impl Reader {
    /// A reader that knows the tracks; every socket track gets a row, spans or not.
    fn new(tracks: HashMap<u64, TrackId>) -> Reader {
        let mut slots: BTreeMap<usize, Vec<Span>> = BTreeMap::new();
        for track in tracks.values() {
            if let TrackId::Socket(n) = track {
                slots.entry(*n).or_default();
            }
        }
        Reader {
            tracks,
            trace: Trace::default(),
            slots,
            open_waits: HashMap::new(),
            open_lookups: HashMap::new(),
        }
    }

    /// Takes in one event; skips what it does not know, refuses what is not an object.
    fn read_event(&mut self, event: &Value) -> Result<(), TraceError> {
        if !event.is_object() {
            return Err(TraceError::Format("an event is not an object"));
        }
        let (Some(ph), Some(name), Some(ts)) = (
            str_field(event, "ph"),
            str_field(event, "name"),
            event.get("ts").and_then(micros),
        ) else {
            return Ok(());
        };
        let track = event
            .get("tid")
            .and_then(Value::as_u64)
            .and_then(|tid| self.tracks.get(&tid).copied());
        self.trace.wall_us = self.trace.wall_us.max(ts);
        match ph {
            "X" => self.read_span(event, name, ts, track),
            "b" => self.begin_wait(event, name, ts),
            "e" => self.end_wait(event, name, ts),
            "i" | "I" => self.read_mark(event, name, ts, track),
            _ => {}
        }
        Ok(())
    }

    /// A complete event (`X`): a phase span, kept if it is on a socket track.
    fn read_span(&mut self, event: &Value, name: &str, ts: u64, track: Option<TrackId>) {
        let (Some(TrackId::Socket(n)), Some(phase)) = (track, SpanPhase::from_name(name)) else {
            return;
        };
        let dur = event.get("dur").and_then(micros).unwrap_or(0);
        self.trace.wall_us = self.trace.wall_us.max(ts + dur);
        self.slots
            .entry(n)
            .or_default()
            .push(new_span(event, phase, ts, dur));
    }

    /// An async begin (`b`): a wait or a lookup opens.
    fn begin_wait(&mut self, event: &Value, name: &str, ts: u64) {
        if is_lookup(event, name) {
            let args = event.get("args");
            let arg = |key: &str| args.and_then(|a| a.get(key));
            let found = match arg("addresses").and_then(Value::as_u64) {
                Some(n) => Ok(n),
                None => Err(arg("error")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string()),
            };
            let lookup = LookupSpan {
                host: arg("host")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                start_us: ts,
                dur_us: 0,
                found,
            };
            let id = event.get("id").map(Value::to_string).unwrap_or_default();
            self.open_lookups.insert(id, lookup);
            return;
        }
        let Some(phase) = SpanPhase::from_name(name) else {
            return;
        };
        let key = wait_key(event, name);
        self.open_waits
            .insert(key, (ts, new_span(event, phase, ts, 0)));
    }

    /// An async end (`e`): the wait it closes goes to the pager's or the queue's list,
    /// the lookup to the lookups.
    fn end_wait(&mut self, event: &Value, name: &str, ts: u64) {
        if is_lookup(event, name) {
            let id = event.get("id").map(Value::to_string).unwrap_or_default();
            if let Some(mut lookup) = self.open_lookups.remove(&id) {
                lookup.dur_us = ts.saturating_sub(lookup.start_us);
                self.trace.lookups.push(lookup);
            }
            return;
        }
        if SpanPhase::from_name(name).is_none() {
            return;
        }
        let key = wait_key(event, name);
        let Some((start, mut wait)) = self.open_waits.remove(&key) else {
            return;
        };
        wait.dur_us = ts.saturating_sub(start);
        let pager =
            key.cat == "pager" || event.get("tid").and_then(Value::as_u64) == Some(PAGER_TID);
        if pager {
            self.trace.pager.push(wait);
        } else {
            self.trace.queue.push(wait);
        }
    }

    /// An instant event (`i`, `I`): a mark, on its socket, else the pager or the queue.
    fn read_mark(&mut self, event: &Value, name: &str, ts: u64, track: Option<TrackId>) {
        let Some(kind) = MarkKind::from_name(name) else {
            return;
        };
        let track = track.unwrap_or(
            if event.get("tid").and_then(Value::as_u64) == Some(PAGER_TID) {
                TrackId::Pager
            } else {
                TrackId::Queue
            },
        );
        if let TrackId::Socket(n) = track {
            self.slots.entry(n).or_default();
        }
        let args = event.get("args");
        self.trace.marks.push(Mark {
            kind,
            at_us: ts,
            track,
            job: args.and_then(|a| a.get("job")).and_then(Value::as_u64),
            detail: mark_detail(args),
        });
    }

    /// The trace: spans sorted by start, and the numbers of `otherData` when given.
    fn finish(self, other_data: Option<&Value>) -> Trace {
        let mut trace = self.trace;
        for (slot, mut spans) in self.slots {
            spans.sort_by_key(|s| s.start_us);
            trace.slots.push(SlotTrack { slot, spans });
        }
        trace.pager.sort_by_key(|s| s.start_us);
        trace.queue.sort_by_key(|s| s.start_us);
        trace.lookups.sort_by_key(|l| l.start_us);
        let number = |key: &str| other_data.and_then(|o| o.get(key)).and_then(Value::as_u64);
        trace.wall_us = trace.wall_us.max(number("wall_us").unwrap_or(0));
        trace.requests = number("requests");
        trace.sockets_opened = number("sockets_opened");
        trace
    }
}

/// The key that pairs an async event with its partner.
fn wait_key(event: &Value, name: &str) -> WaitKey {
    WaitKey {
        cat: str_field(event, "cat").unwrap_or("").to_string(),
        id: event.get("id").map(Value::to_string).unwrap_or_default(),
        name: name.to_string(),
    }
}

/// A mark's detail: its `error`, else its `to`, else its `delay_ms` (a throttled
/// host's pause: `paused N ms`), else empty.
fn mark_detail(args: Option<&Value>) -> String {
    let text = ["error", "to"]
        .iter()
        .find_map(|k| args.and_then(|a| a.get(*k)).and_then(Value::as_str));
    match (
        text,
        args.and_then(|a| a.get("delay_ms")).and_then(Value::as_u64),
    ) {
        (Some(text), _) => text.to_string(),
        (None, Some(ms)) => format!("paused {ms} ms"),
        (None, None) => String::new(),
    }
}

/// Is it one of the "dns" track's lookups?
fn is_lookup(event: &Value, name: &str) -> bool {
    name == "lookup" && str_field(event, "cat") == Some("dns")
}

/// A string field of an event.
fn str_field<'a>(event: &'a Value, key: &str) -> Option<&'a str> {
    event.get(key).and_then(Value::as_str)
}

/// A time in microseconds: an integer, or a float (other tools write fractions).
fn micros(value: &Value) -> Option<u64> {
    value.as_u64().or_else(|| {
        value
            .as_f64()
            .filter(|f| *f >= 0.0)
            .map(|f| f.round() as u64)
    })
}

/// A span from an event's `args` (`job`, `url`, `kind`), or its `cat` when `kind` is missing.
fn new_span(event: &Value, phase: SpanPhase, ts: u64, dur: u64) -> Span {
    let args = event.get("args");
    let arg = |key: &str| args.and_then(|a| a.get(key));
    let is_page = match arg("kind").and_then(Value::as_str) {
        Some(kind) => kind == "page",
        None => str_field(event, "cat") == Some("page") || str_field(event, "cat") == Some("pager"),
    };
    Span {
        phase,
        start_us: ts,
        dur_us: dur,
        job: arg("job").and_then(Value::as_u64),
        is_page,
        url: arg("url").and_then(Value::as_str).map(str::to_string),
    }
}
