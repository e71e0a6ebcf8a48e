//! Writing the records out: one trace event per line, in the order they happened.
//!
//! Kept apart from the recording so each half reads on its own: the recorder decides
//! what a span is, this file only spells it in the Trace Event Format.
//!
//! Layer: `report`; may use `protocol`, `model`, `policy`, `output`, `transport` and `engine` (see `src/report/mod.rs`).

use std::io::{self, Write};

use serde_json::{json, Value};

use super::{Detail, Record, Sample, TraceRecorder};
use crate::report::trace::{
    socket_track_name, DNS_TID, PAGER_TID, PID, QUEUE_TID, SOCKET_TID_BASE,
};

impl TraceRecorder {
    /// Writes the whole file.
    pub(super) fn write(&self, out: &mut impl Write) -> io::Result<()> {
        out.write_all(b"{\"traceEvents\": [\n")?;
        let mut first = true;
        let mut write_event = |out: &mut dyn Write, value: Value| -> io::Result<()> {
            if !first {
                out.write_all(b",\n")?;
            }
            first = false;
            serde_json::to_writer(&mut *out, &value)?;
            Ok(())
        };
        for value in self.metadata() {
            write_event(out, value)?;
        }
        for record in &self.records {
            match record {
                Record::Wait { .. } => {
                    let (begin, end) = self.wait_pair(record);
                    write_event(out, begin)?;
                    write_event(out, end)?;
                }
                Record::Lookup { .. } => {
                    let (begin, end) = lookup_pair(record);
                    write_event(out, begin)?;
                    write_event(out, end)?;
                }
                _ => write_event(out, self.trace_event(record))?,
            }
        }
        let counts = &self.counts;
        let other_data = json!({
            "tool": "miodl",
            "version": env!("CARGO_PKG_VERSION"),
            "wall_us": self.last_us,
            "requests": counts.requests,
            "sockets_opened": counts.sockets_opened,
            "saved": counts.saved,
            "failed": counts.failed,
            "retries": counts.retries,
            "stale_resends": counts.stale_resends,
            "redirects": counts.redirects,
            "proxy_tunnels": counts.proxy_tunnels,
            "dns_lookups": counts.lookups,
            "throttled": counts.throttled,
            "happy_eyeballs_races": counts.happy_eyeballs_races,
        });
        write!(
            out,
            "\n],\n\"displayTimeUnit\": \"ms\",\n\"otherData\": {other_data}}}\n"
        )
    }

    /// Track names and order: dns, queue, pager, then the sockets by number.
    fn metadata(&self) -> Vec<Value> {
        let thread_metadata = |tid: u64, name: String, order: u64| {
            [
                json!({"name": "thread_name", "ph": "M", "pid": PID, "tid": tid,
                       "args": {"name": name}}),
                json!({"name": "thread_sort_index", "ph": "M", "pid": PID, "tid": tid,
                       "args": {"sort_index": order}}),
            ]
        };
        let mut out = vec![
            json!({"name": "process_name", "ph": "M", "pid": PID, "tid": 0,
                                  "args": {"name": "miodl"}}),
        ];
        let has_events_on = |tid: u64| {
            self.records.iter().any(|r| match r {
                Record::Wait { serial, .. } => {
                    (self.jobs[*serial as usize].is_page) == (tid == PAGER_TID)
                }
                Record::Mark { track, .. } => track.tid() == tid,
                _ => false,
            })
        };
        if self.counts.lookups > 0 {
            out.extend(thread_metadata(DNS_TID, "dns".to_string(), 0));
        }
        if has_events_on(QUEUE_TID) {
            out.extend(thread_metadata(QUEUE_TID, "queue".to_string(), 0));
        }
        if has_events_on(PAGER_TID) {
            out.extend(thread_metadata(PAGER_TID, "pager".to_string(), 1));
        }
        for &n in &self.slots {
            out.extend(thread_metadata(
                SOCKET_TID_BASE + n as u64,
                socket_track_name(n),
                2 + n as u64,
            ));
        }
        out
    }

    /// `{job, url, kind}`.
    fn job_args(&self, serial: u32) -> serde_json::Map<String, Value> {
        let meta = &self.jobs[serial as usize];
        let mut args = serde_json::Map::new();
        args.insert("job".into(), meta.job.into());
        if let Some(url) = &meta.url {
            args.insert("url".into(), url.as_ref().into());
        }
        args.insert(
            "kind".into(),
            if meta.is_page { "page" } else { "file" }.into(),
        );
        args
    }

    /// A wait as its async pair: the `b` event (with the job's args) and the `e`.
    fn wait_pair(&self, record: &Record) -> (Value, Value) {
        let Record::Wait {
            phase,
            serial,
            ts,
            dur,
        } = *record
        else {
            unreachable!("wait_pair takes a Wait record")
        };
        let is_page = self.jobs[serial as usize].is_page;
        let (cat, tid) = if is_page {
            ("pager", PAGER_TID)
        } else {
            ("queue", QUEUE_TID)
        };
        let begin = json!({"name": phase, "cat": cat, "ph": "b", "id": serial, "ts": ts,
                           "pid": PID, "tid": tid, "args": self.job_args(serial)});
        let end = json!({"name": phase, "cat": cat, "ph": "e", "id": serial, "ts": ts + dur,
                         "pid": PID, "tid": tid});
        (begin, end)
    }

    /// The trace event of any record but a wait (see [`Self::wait_pair`]).
    fn trace_event(&self, record: &Record) -> Value {
        match record {
            Record::Span {
                slot,
                phase,
                serial,
                ts,
                dur,
            } => {
                let kind = if self.jobs[*serial as usize].is_page {
                    "page"
                } else {
                    "file"
                };
                json!({"name": phase, "cat": kind, "ph": "X", "ts": ts, "dur": dur, "pid": PID,
                       "tid": SOCKET_TID_BASE + *slot as u64, "args": self.job_args(*serial)})
            }
            Record::Mark {
                name,
                track,
                serial,
                ts,
                detail,
            } => {
                let mut args = serial.map(|s| self.job_args(s)).unwrap_or_default();
                add_detail_args(&mut args, detail);
                json!({"name": name, "ph": "i", "s": "t", "ts": ts, "pid": PID,
                       "tid": track.tid(), "args": args})
            }
            Record::Count { ts, sample } => {
                let (name, args) = match *sample {
                    Sample::Sockets { open } => ("sockets", json!({"open": open})),
                    Sample::InFlight { requests } => ("requests", json!({"in flight": requests})),
                    Sample::Jobs { queued, retry_wait } => {
                        ("jobs", json!({"queued": queued, "retry-wait": retry_wait}))
                    }
                };
                json!({"name": name, "ph": "C", "ts": ts, "pid": PID, "tid": 0, "args": args})
            }
            Record::Wait { .. } | Record::Lookup { .. } => {
                unreachable!("waits and lookups are written as pairs")
            }
        }
    }
}

/// A mark's detail as args: `{attempt, delay_ms, error}`, `{to}`, `{error}` or none.
fn add_detail_args(args: &mut serde_json::Map<String, Value>, detail: &Detail) {
    match detail {
        Detail::Retry {
            attempt,
            delay_ms,
            error,
        } => {
            args.insert("attempt".into(), (*attempt).into());
            args.insert("delay_ms".into(), (*delay_ms).into());
            args.insert("error".into(), error.as_ref().into());
        }
        Detail::Redirect { to } => {
            args.insert("to".into(), to.as_ref().into());
        }
        Detail::Throttled { delay_ms } => {
            args.insert("delay_ms".into(), (*delay_ms).into());
        }
        Detail::Error(error) => {
            args.insert("error".into(), error.as_ref().into());
        }
        Detail::None => {}
    }
}

/// A lookup as its async pair on the "dns" track: the `b` event with `{host,
/// addresses}` or `{host, error}`, and the `e`.
fn lookup_pair(record: &Record) -> (Value, Value) {
    let Record::Lookup {
        serial,
        host,
        ts,
        dur,
        found,
    } = record
    else {
        unreachable!("lookup_pair takes a Lookup record")
    };
    let args = match found {
        Ok(n) => json!({"host": host.as_ref(), "addresses": n}),
        Err(error) => json!({"host": host.as_ref(), "error": error.as_ref()}),
    };
    let begin = json!({"name": "lookup", "cat": "dns", "ph": "b", "id": serial, "ts": ts,
                       "pid": PID, "tid": DNS_TID, "args": args});
    let end = json!({"name": "lookup", "cat": "dns", "ph": "e", "id": serial, "ts": ts + dur,
                     "pid": PID, "tid": DNS_TID});
    (begin, end)
}
