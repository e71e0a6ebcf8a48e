//! Timelines drawn from made-up traces, checked as XML and counted: a label per row, a
//! bar per span, readable sizes from one row to a hundred.
//!
//! Layer: `report`; may use `protocol`, `model`, `policy`, `output`, `transport` and `engine` (see `src/report/mod.rs`).

use std::path::PathBuf;

use super::*;
use crate::report::trace::SlotTrack;

/// `rows` sockets with `spans` spans dealt out round-robin over `wall_us`.
fn synthetic(rows: usize, spans: usize, wall_us: u64) -> Trace {
    let phases = [
        SpanPhase::Connect,
        SpanPhase::Send,
        SpanPhase::Wait,
        SpanPhase::Body,
    ];
    let mut slots: Vec<SlotTrack> = (0..rows)
        .map(|slot| SlotTrack {
            slot,
            spans: Vec::new(),
        })
        .collect();
    let per_row = spans.div_ceil(rows) as u64;
    let step = wall_us / per_row.max(1);
    for i in 0..spans {
        let row = i % rows;
        let k = (i / rows) as u64;
        slots[row].spans.push(Span {
            phase: phases[i % 4],
            start_us: k * step,
            dur_us: step * 3 / 4,
            job: Some(i as u64),
            is_page: i % 7 == 0,
            url: Some(format!("http://127.0.0.1:5000/api/download/{i}?a=1&b=<2>")),
        });
    }
    Trace {
        slots,
        wall_us,
        requests: Some(spans as u64 / 3),
        sockets_opened: Some(rows as u64),
        ..Trace::default()
    }
}

/// A small XML well-formedness check: balanced tags, quoted attributes, no stray `<` or
/// `&` in text. Returns the element names in document order.
fn check_xml(doc: &str) -> Vec<String> {
    let mut stack: Vec<String> = Vec::new();
    let mut names = Vec::new();
    let mut rest = doc.trim();
    while !rest.is_empty() {
        if let Some(tag_start) = rest.strip_prefix('<') {
            let end = tag_start.find('>').expect("unclosed tag");
            let tag = &tag_start[..end];
            rest = &tag_start[end + 1..];
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(stack.pop().as_deref(), Some(name), "mismatched </{name}>");
                continue;
            }
            let self_closing = tag.ends_with('/');
            let tag = tag.trim_end_matches('/');
            let (name, mut attrs) = tag.split_once(' ').unwrap_or((tag, ""));
            assert!(
                name.chars().all(|c| c.is_ascii_alphanumeric()),
                "bad name {name}"
            );
            while !attrs.trim().is_empty() {
                let (key, after) = attrs.trim_start().split_once('=').expect("attr =");
                assert!(
                    key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
                    "bad attribute {key}"
                );
                let after = after.strip_prefix('"').expect("quoted attribute");
                let close = after.find('"').expect("closing quote");
                check_text(&after[..close]);
                attrs = &after[close + 1..];
            }
            names.push(name.to_string());
            if !self_closing {
                stack.push(name.to_string());
            }
        } else {
            let end = rest.find('<').unwrap_or(rest.len());
            if stack.last().map(String::as_str) != Some("style") {
                check_text(&rest[..end]);
            }
            rest = &rest[end..];
        }
    }
    assert!(stack.is_empty(), "unclosed: {stack:?}");
    names
}

/// Text (or an attribute value) has no raw `<` and only known entities.
fn check_text(text: &str) {
    assert!(!text.contains('<'), "raw < in {text:?}");
    for (i, _) in text.match_indices('&') {
        let entity = &text[i..text[i..].find(';').map_or(text.len(), |e| i + e + 1)];
        assert!(
            ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"].contains(&entity),
            "raw & in {text:?}"
        );
    }
}

/// The texts of the row labels, top to bottom.
fn labels(svg: &str) -> Vec<&str> {
    svg.lines()
        .filter(|l| l.contains("class=\"label\""))
        .map(|l| {
            let start = l.find('>').unwrap() + 1;
            &l[start..l.find("</text>").unwrap()]
        })
        .collect()
}

/// The number of bars.
fn bars(svg: &str) -> usize {
    svg.matches("class=\"bar ").count()
}

/// The `name="..."` attribute values of every element with `class` starting `class`.
fn attr_values(svg: &str, class: &str, name: &str) -> Vec<f64> {
    let key = format!(" {name}=\"");
    svg.split('<')
        .filter(|tag| tag.contains(&format!("class=\"{class}")))
        .map(|tag| {
            let start = tag.find(&key).unwrap() + key.len();
            tag[start..start + tag[start..].find('"').unwrap()]
                .parse()
                .unwrap()
        })
        .collect()
}

#[test]
fn one_row_and_a_few_spans() {
    let trace = synthetic(1, 20, 250_000);
    let svg = render_svg(&trace, "one socket");
    let names = check_xml(&svg);
    assert_eq!(names[0], "svg");
    assert_eq!(labels(&svg), ["socket 0"]);
    assert_eq!(bars(&svg), 20);
    assert!(svg.contains("<text class=\"title\" x=\"12\" y=\"22\">one socket</text>"));
    assert!(svg.contains("6 requests · 1 sockets opened · wall 250 ms · 1 rows, 20 spans"));
}

#[test]
fn a_hundred_rows_and_ten_thousand_spans_stay_readable() {
    let trace = synthetic(100, 10_000, 9_000_000);
    let svg = render_svg(&trace, "a big run");
    check_xml(&svg);
    let expected: Vec<String> = (0..100).map(|n| format!("socket {n}")).collect();
    assert_eq!(labels(&svg), expected);
    assert_eq!(bars(&svg), trace.span_count());
    // Every bar is visible and inside the plot; rows are at least 8 px.
    for width in attr_values(&svg, "bar ", "width") {
        assert!(width >= 0.6, "{width}");
    }
    for x in attr_values(&svg, "bar ", "x") {
        assert!((LEFT..=WIDTH - RIGHT).contains(&x), "{x}");
    }
    let heights = attr_values(&svg, "row", "height");
    assert!(heights.iter().all(|h| *h >= 8.0), "{heights:?}");
    let height = attr_values(&svg, "title", "y");
    assert_eq!(height, [22.0]);
    // Over 2 s the axis counts seconds.
    assert!(svg.contains(">2 s</text>"), "axis in seconds");
}

#[test]
fn short_runs_count_milliseconds() {
    let svg = render_svg(&synthetic(3, 30, 37_000), "t");
    assert!(svg.contains(">0 ms</text>") && svg.contains(">5 ms</text>"));
    assert!(!svg.contains(" s</text>"));
}

#[test]
fn pages_are_outlined_and_the_pager_gets_a_row() {
    let mut trace = synthetic(2, 8, 100_000);
    trace.pager.push(Span {
        phase: SpanPhase::Queued,
        start_us: 0,
        dur_us: 2_000,
        job: Some(0),
        is_page: true,
        url: None,
    });
    let svg = render_svg(&trace, "crawl");
    check_xml(&svg);
    assert_eq!(labels(&svg), ["pager", "socket 0", "socket 1"]);
    assert_eq!(bars(&svg), 9);
    assert!(svg.contains("class=\"bar queued page\""));
    let pages = svg
        .lines()
        .filter(|l| l.starts_with("<rect class=\"bar ") && l.contains(" page\""))
        .count();
    assert_eq!(pages, 1 + 2, "the pager's bar and spans 0 and 7");
}

#[test]
fn marks_are_drawn_on_their_rows() {
    let mut trace = synthetic(2, 8, 100_000);
    let mark = |kind, track| Mark {
        kind,
        at_us: 50_000,
        track,
        job: Some(3),
        detail: "HTTP 503 & <friends>".to_string(),
    };
    trace.marks = vec![
        mark(MarkKind::Retry, TrackId::Socket(1)),
        mark(MarkKind::StaleResend, TrackId::Socket(0)),
        mark(MarkKind::Redirect, TrackId::Socket(0)),
        mark(MarkKind::Failed, TrackId::Queue),
    ];
    let svg = render_svg(&trace, "marks");
    check_xml(&svg);
    assert_eq!(labels(&svg), ["socket 0", "socket 1", "queue"]);
    // One of each kind in the legend, four in the plot.
    assert_eq!(
        svg.matches("class=\"mark ").count(),
        MarkKind::ALL.len() + 4
    );
    assert!(svg.contains("retry at 50.0 ms · job 3 · HTTP 503 &amp; &lt;friends&gt;"));
    assert!(svg.contains("· 1 failed"));
}

/// A lookup of `host` from `start_ms` for `ms`.
fn lookup(host: &str, start_ms: u64, ms: u64, found: Result<u64, &str>) -> LookupSpan {
    LookupSpan {
        host: host.to_string(),
        start_us: start_ms * 1_000,
        dur_us: ms * 1_000,
        found: found.map_err(str::to_string),
    }
}

#[test]
fn lookups_get_dns_rows_as_many_as_they_overlap_and_no_marks() {
    let mut trace = synthetic(2, 8, 100_000);
    // a and c overlap b; d starts after a ended, so it takes a's row again.
    trace.lookups = vec![
        lookup("a.example", 0, 20, Ok(2)),
        lookup("b.example", 5, 60, Err("no such host")),
        lookup("c.example", 10, 5, Ok(1)),
        lookup("d.example", 30, 10, Ok(1)),
    ];
    trace.marks = vec![
        Mark {
            kind: MarkKind::Throttled,
            at_us: 50_000,
            track: TrackId::Queue,
            job: Some(3),
            detail: "paused 1500 ms".to_string(),
        },
        Mark {
            kind: MarkKind::HappyEyeballs,
            at_us: 60_000,
            track: TrackId::Socket(1),
            job: None,
            detail: String::new(),
        },
    ];
    let svg = render_svg(&trace, "lookups");
    check_xml(&svg);
    assert_eq!(
        labels(&svg),
        ["dns", "dns 2", "dns 3", "socket 0", "socket 1", "queue"]
    );
    assert_eq!(row_count(&trace), 6);
    // Four lookup bars and the legend's swatch; the spans' bars unchanged.
    assert_eq!(svg.matches("<rect class=\"lookup").count(), 4);
    assert_eq!(svg.matches("class=\"lookup error\"").count(), 1);
    assert_eq!(bars(&svg), trace.span_count());
    assert!(svg.contains("lookup a.example · 2 addresses · 20.0 ms at 0 µs"));
    assert!(svg.contains("lookup b.example · failed: no such host"));
    // The queue's mark is on the queue's row (the last), not on a dns row.
    let row_h = attr_values(&svg, "row", "height")[0];
    let throttled = attr_values(&svg, "mark throttled", "y");
    assert_eq!(throttled.len(), 2, "the legend's and the plot's");
    assert!(throttled[1] > PLOT_TOP + 5.0 * row_h, "{throttled:?}");
    assert!(svg.contains("throttled at 50.0 ms · job 3 · paused 1500 ms"));
    assert!(svg.contains("happy-eyeballs at 60.0 ms"));
}

#[test]
fn many_overlapping_lookups_share_at_most_four_rows() {
    let mut trace = synthetic(1, 2, 2_000_000);
    trace.lookups = (0..200)
        .map(|i| lookup(&format!("h{i:03}.bench.test"), i / 10, 1_000, Ok(1)))
        .collect();
    let svg = render_svg(&trace, "many");
    check_xml(&svg);
    assert_eq!(labels(&svg), ["dns", "dns 2", "dns 3", "dns 4", "socket 0"]);
    assert_eq!(svg.matches("<rect class=\"lookup\" x").count(), 200);
}

#[test]
fn an_empty_trace_still_draws() {
    let svg = render_svg(&Trace::default(), "nothing <here>");
    check_xml(&svg);
    assert_eq!(bars(&svg), 0);
    assert!(svg.contains("nothing &lt;here&gt;"));
}

#[test]
fn steps_and_durations_read_well() {
    assert_eq!(nice_step(3.0), 5.0);
    assert_eq!(nice_step(4_625.0), 5_000.0);
    assert_eq!(nice_step(1_100_000.0), 2_000_000.0);
    assert_eq!(nice_step(10.0), 10.0);
    assert_eq!(duration(850), "850 µs");
    assert_eq!(duration(12_345), "12.3 ms");
    assert_eq!(duration(250_000), "250 ms");
    assert_eq!(duration(1_810_000), "1.81 s");
}

/// A trace file in `dir` and the SVG to write beside it.
fn trace_and_svg_paths(dir: &tempfile::TempDir, trace: &str) -> (PathBuf, PathBuf) {
    (dir.path().join(trace), dir.path().join("out.svg"))
}

#[test]
fn the_command_writes_the_svg() {
    let dir = tempfile::tempdir().unwrap();
    let text = r#"{"traceEvents": [
        {"name": "thread_name", "ph": "M", "pid": 1, "tid": 100, "args": {"name": "socket 0"}},
        {"name": "body", "ph": "X", "ts": 10, "dur": 5, "pid": 1, "tid": 100}
    ]}"#;
    std::fs::write(dir.path().join("run.json"), text).unwrap();
    let (trace, output) = trace_and_svg_paths(&dir, "run.json");
    assert_eq!(run_command(&trace, &output), 0);
    let svg = std::fs::read_to_string(&output).unwrap();
    check_xml(&svg);
    assert_eq!(bars(&svg), 1);
    assert!(svg.contains("miodl timeline · run.json"));
}

#[test]
fn the_command_fails_on_a_bad_trace_or_output() {
    let dir = tempfile::tempdir().unwrap();
    let (missing, output) = trace_and_svg_paths(&dir, "missing.json");
    assert_eq!(run_command(&missing, &output), 1);
    std::fs::write(dir.path().join("bad.json"), "{\"traceEvents\": ").unwrap();
    let (bad, output) = trace_and_svg_paths(&dir, "bad.json");
    assert_eq!(run_command(&bad, &output), 1);
    std::fs::write(dir.path().join("ok.json"), "{\"traceEvents\": []}").unwrap();
    let unwritable = dir.path().join("no-such-dir").join("out.svg");
    assert_eq!(run_command(&dir.path().join("ok.json"), &unwritable), 3);
}
