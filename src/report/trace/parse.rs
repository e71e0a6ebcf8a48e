//! The reading half of `--trace`: the file back into tracks and spans, for the timeline.
//!
//! It reads what [`super::TraceRecorder`] writes and skips what it does not know (other
//! event kinds, extra fields, unknown phase names), so a trace touched by another tool
//! still draws.

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
    /// Retries, stale resends, redirects and failures, in file order.
    pub marks: Vec<Mark>,
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
}

impl MarkKind {
    /// The name used in the trace.
    pub fn name(self) -> &'static str {
        match self {
            MarkKind::Retry => "retry",
            MarkKind::StaleResend => "stale-resend",
            MarkKind::Redirect => "redirect",
            MarkKind::Failed => "failed",
        }
    }

    fn from_name(name: &str) -> Option<MarkKind> {
        [
            MarkKind::Retry,
            MarkKind::StaleResend,
            MarkKind::Redirect,
            MarkKind::Failed,
        ]
        .into_iter()
        .find(|k| k.name() == name)
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
    // First the track names: a tid means a socket only if it is named "socket N".
    let mut tracks: HashMap<u64, TrackId> = HashMap::new();
    for event in events {
        if str_field(event, "ph") == Some("M") && str_field(event, "name") == Some("thread_name") {
            let (Some(tid), Some(name)) = (
                event.get("tid").and_then(Value::as_u64),
                event.pointer("/args/name").and_then(Value::as_str),
            ) else {
                continue;
            };
            let track = match name {
                "queue" => Some(TrackId::Queue),
                "pager" => Some(TrackId::Pager),
                other => other
                    .strip_prefix("socket ")
                    .and_then(|n| n.parse().ok())
                    .map(TrackId::Socket),
            };
            if let Some(track) = track {
                tracks.insert(tid, track);
            }
        }
    }
    let mut trace = Trace::default();
    let mut slots: BTreeMap<usize, Vec<Span>> = BTreeMap::new();
    for track in tracks.values() {
        if let TrackId::Socket(n) = track {
            slots.entry(*n).or_default();
        }
    }
    let mut open_waits: HashMap<(String, String, String), (u64, Span)> = HashMap::new();
    for event in events {
        if !event.is_object() {
            return Err(TraceError::Format("an event is not an object"));
        }
        let (Some(ph), Some(name), Some(ts)) = (
            str_field(event, "ph"),
            str_field(event, "name"),
            event.get("ts").and_then(micros),
        ) else {
            continue;
        };
        let track = event
            .get("tid")
            .and_then(Value::as_u64)
            .and_then(|tid| tracks.get(&tid).copied());
        trace.wall_us = trace.wall_us.max(ts);
        match ph {
            "X" => {
                let (Some(TrackId::Socket(n)), Some(phase)) = (track, SpanPhase::from_name(name))
                else {
                    continue;
                };
                let dur = event.get("dur").and_then(micros).unwrap_or(0);
                trace.wall_us = trace.wall_us.max(ts + dur);
                slots
                    .entry(n)
                    .or_default()
                    .push(span(event, phase, ts, dur));
            }
            "b" | "e" => {
                let Some(phase) = SpanPhase::from_name(name) else {
                    continue;
                };
                let cat = str_field(event, "cat").unwrap_or("").to_string();
                let id = event.get("id").map(Value::to_string).unwrap_or_default();
                let key = (cat, id, name.to_string());
                if ph == "b" {
                    open_waits.insert(key, (ts, span(event, phase, ts, 0)));
                } else if let Some((start, mut wait)) = open_waits.remove(&key) {
                    wait.dur_us = ts.saturating_sub(start);
                    let pager = key.0 == "pager"
                        || event.get("tid").and_then(Value::as_u64) == Some(PAGER_TID);
                    if pager {
                        trace.pager.push(wait);
                    } else {
                        trace.queue.push(wait);
                    }
                }
            }
            "i" | "I" => {
                let Some(kind) = MarkKind::from_name(name) else {
                    continue;
                };
                let track = track.unwrap_or(
                    if event.get("tid").and_then(Value::as_u64) == Some(PAGER_TID) {
                        TrackId::Pager
                    } else {
                        TrackId::Queue
                    },
                );
                if let TrackId::Socket(n) = track {
                    slots.entry(n).or_default();
                }
                let args = event.get("args");
                let detail = ["error", "to"]
                    .iter()
                    .find_map(|k| args.and_then(|a| a.get(*k)).and_then(Value::as_str))
                    .unwrap_or("")
                    .to_string();
                trace.marks.push(Mark {
                    kind,
                    at_us: ts,
                    track,
                    job: args.and_then(|a| a.get("job")).and_then(Value::as_u64),
                    detail,
                });
            }
            _ => {}
        }
    }
    for (slot, mut spans) in slots {
        spans.sort_by_key(|s| s.start_us);
        trace.slots.push(SlotTrack { slot, spans });
    }
    trace.pager.sort_by_key(|s| s.start_us);
    trace.queue.sort_by_key(|s| s.start_us);
    let other = root.get("otherData");
    let number = |key: &str| other.and_then(|o| o.get(key)).and_then(Value::as_u64);
    trace.wall_us = trace.wall_us.max(number("wall_us").unwrap_or(0));
    trace.requests = number("requests");
    trace.sockets_opened = number("sockets_opened");
    Ok(trace)
}

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

fn span(event: &Value, phase: SpanPhase, ts: u64, dur: u64) -> Span {
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
