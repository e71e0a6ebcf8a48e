//! Writing the records out: one trace event per line, in the order they happened.
//!
//! Kept apart from the recording so each half reads on its own: the recorder decides
//! what a span is, this file only spells it in the Trace Event Format.

use std::io::{self, Write};

use serde_json::{json, Value};

use super::{Counter, Detail, Record, TraceRecorder};
use crate::report::trace::{socket_track_name, PAGER_TID, PID, QUEUE_TID, SOCKET_TID_BASE};

impl TraceRecorder {
    /// Writes the whole file.
    pub(super) fn write(&self, out: &mut impl Write) -> io::Result<()> {
        out.write_all(b"{\"traceEvents\": [\n")?;
        let mut first = true;
        let mut line = |out: &mut dyn Write, value: Value| -> io::Result<()> {
            if !first {
                out.write_all(b",\n")?;
            }
            first = false;
            serde_json::to_writer(&mut *out, &value)?;
            Ok(())
        };
        for value in self.metadata() {
            line(out, value)?;
        }
        for record in &self.records {
            match record {
                Record::Wait { .. } => {
                    let (begin, end) = self.wait_pair(record);
                    line(out, begin)?;
                    line(out, end)?;
                }
                _ => line(out, self.event(record))?,
            }
        }
        let c = &self.counts;
        let other = json!({
            "tool": "miodl",
            "version": env!("CARGO_PKG_VERSION"),
            "wall_us": self.last_us,
            "requests": c.requests,
            "sockets_opened": c.sockets_opened,
            "saved": c.saved,
            "failed": c.failed,
            "retries": c.retries,
            "stale_resends": c.stale_resends,
            "redirects": c.redirects,
        });
        write!(
            out,
            "\n],\n\"displayTimeUnit\": \"ms\",\n\"otherData\": {other}}}\n"
        )
    }

    /// Track names and order: queue, pager, then the sockets by number.
    fn metadata(&self) -> Vec<Value> {
        let thread = |tid: u64, name: String, order: u64| {
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
        let on = |tid: u64| {
            self.records.iter().any(|r| match r {
                Record::Wait { serial, .. } => {
                    (self.jobs[*serial as usize].is_page) == (tid == PAGER_TID)
                }
                Record::Mark { track, .. } => track.tid() == tid,
                _ => false,
            })
        };
        if on(QUEUE_TID) {
            out.extend(thread(QUEUE_TID, "queue".to_string(), 0));
        }
        if on(PAGER_TID) {
            out.extend(thread(PAGER_TID, "pager".to_string(), 1));
        }
        for &n in &self.slots {
            out.extend(thread(
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

    fn event(&self, record: &Record) -> Value {
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
                    Detail::Error(error) => {
                        args.insert("error".into(), error.as_ref().into());
                    }
                    Detail::None => {}
                }
                json!({"name": name, "ph": "i", "s": "t", "ts": ts, "pid": PID,
                       "tid": track.tid(), "args": args})
            }
            Record::Count { counter, ts, a, b } => {
                let (name, args) = match counter {
                    Counter::Sockets => ("sockets", json!({"open": a})),
                    Counter::InFlight => ("requests", json!({"in flight": a})),
                    Counter::Queued => ("jobs", json!({"queued": a, "retry-wait": b})),
                };
                json!({"name": name, "ph": "C", "ts": ts, "pid": PID, "tid": 0, "args": args})
            }
            Record::Wait { .. } => unreachable!("waits are written as pairs"),
        }
    }
}
