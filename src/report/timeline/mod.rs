//! `miodl timeline TRACE -o FILE.svg`: a `--trace` file drawn as a Gantt chart.
//!
//! Perfetto shows a trace best when you can click around; a picture in a README or a bug
//! report needs a file. This draws one row per connection slot (and one for the pager in
//! a crawl), a bar per request phase coloured by phase, page requests outlined, markers
//! for retries, stale resends, redirects, failures, throttled hosts and Happy Eyeballs
//! races, a "dns" row (more when lookups overlap) with a bar per host name lookup, a
//! time axis, and a legend. It is
//! hand-written SVG: a `<style>` block names the colours once, so 10,000 bars stay small.
//!
//! ```text
//!  title                          N requests · M sockets · wall T
//!  legend ▮queued ▮connect ▮send ▮wait ▮body ▮retry-wait ▯page ▮lookup  ▲retry ◆stale …
//!       dns │▬▬  ▬▬▬▬▬▬▬▬▬▬▬▬▬▬
//!     dns 2 │ ▬▬▬
//!     pager │ ▭  ▭   ▭
//!  socket 0 │▮▮▮▮▮▮▮▮▮▮▮▲▮▮▮▮▮
//!  socket 1 │ ▮▮▮▮▮▮▮▮▮▮▮▮▮▮▮
//!           └────┬────┬────┬──── 0 ms … wall
//! ```
//!
//! Layer: `report`; may use `protocol`, `model`, `policy`, `output`, `transport` and `engine` (see `src/report/mod.rs`).

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use crate::report::trace::{
    parse_trace, LookupSpan, Mark, MarkKind, Span, SpanPhase, Trace, TrackId,
};

/// The drawing's width, in pixels.
const WIDTH: f64 = 1200.0;
/// Room for the row labels.
const LEFT: f64 = 96.0;
/// The margin right of the plot.
const RIGHT: f64 = 24.0;
/// Where the first row starts (under the title and the legend).
const PLOT_TOP: f64 = 84.0;
/// At most this many "dns" rows: lookups that overlap more share the one that frees first.
const MAX_DNS_ROWS: usize = 4;
/// Room under the rows for the axis labels.
const BOTTOM: f64 = 36.0;

/// Colours, once: phases by fill, pages by outline, marks by shape and colour.
const STYLE: &str = "\
text{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;fill:#222}
.title{font-size:15px;font-weight:600}.sub{font-size:12px;fill:#555}
.label{text-anchor:end}.tick{font-size:11px;fill:#555;text-anchor:middle}
.legend{font-size:11px}.grid{stroke:#e2e2e2;stroke-width:1}.axis{stroke:#888;stroke-width:1}
.row{fill:#f6f6f6}
.bar{stroke:#fff;stroke-width:.6}
.queued{fill:#c8c8c8}.connect{fill:#f4a261}.send{fill:#e9c46a}.wait{fill:#a8d5e2}
.body{fill:#2a9d8f}.retry-wait{fill:#f2a7a7}
.pager .bar{fill-opacity:.55}
.page{stroke:#5b2a86;stroke-width:1.2}
.retry{fill:#e76f51}.stale-resend{fill:#277da1}.redirect{fill:#6c757d}
.failed{stroke:#d62828;stroke-width:2;fill:none}
.lookup{fill:#9b5de5;fill-opacity:.8}.lookup.error{fill:#fff;stroke:#d62828;stroke-width:1.2}
.throttled{fill:#8338ec}.happy-eyeballs{fill:#ff006e}
";

/// One row of the chart.
enum Row<'a> {
    /// Host name lookups: row `n` (from 0) of those that overlap.
    Dns(usize, Vec<&'a LookupSpan>),
    Pager(&'a [Span]),
    Socket(usize, &'a [Span]),
    /// File jobs that never reached a socket (shown only if something happened there).
    Queue,
}

impl Row<'_> {
    /// The name left of the row.
    fn label(&self) -> String {
        match self {
            Row::Dns(0, _) => "dns".to_string(),
            Row::Dns(n, _) => format!("dns {}", n + 1),
            Row::Pager(_) => "pager".to_string(),
            Row::Socket(n, _) => crate::report::trace::socket_track_name(*n),
            Row::Queue => "queue".to_string(),
        }
    }

    /// The track whose marks the row shows (none on a "dns" row).
    fn track(&self) -> Option<TrackId> {
        match self {
            Row::Pager(_) => Some(TrackId::Pager),
            Row::Socket(n, _) => Some(TrackId::Socket(*n)),
            Row::Queue => Some(TrackId::Queue),
            Row::Dns(..) => None,
        }
    }

    /// The spans drawn as bars on the row.
    fn spans(&self) -> &[Span] {
        match self {
            Row::Pager(spans) | Row::Socket(_, spans) => spans,
            Row::Queue | Row::Dns(..) => &[],
        }
    }
}

/// The rows, top to bottom: dns, pager, sockets by number, queue.
fn rows(trace: &Trace) -> Vec<Row<'_>> {
    let mut rows = Vec::with_capacity(trace.slots.len() + 2);
    rows.extend(
        dns_lanes(&trace.lookups)
            .into_iter()
            .enumerate()
            .map(|(n, lane)| Row::Dns(n, lane)),
    );
    if trace.has_pager() {
        rows.push(Row::Pager(&trace.pager));
    }
    rows.extend(trace.slots.iter().map(|s| Row::Socket(s.slot, &s.spans)));
    if trace.marks.iter().any(|m| m.track == TrackId::Queue) {
        rows.push(Row::Queue);
    }
    rows
}

/// The lookups packed into as few rows as their overlaps need (at most
/// [`MAX_DNS_ROWS`]): each goes to the first row that is free when it starts, else to a
/// new row, else to the row that freed first.
fn dns_lanes(lookups: &[LookupSpan]) -> Vec<Vec<&LookupSpan>> {
    // Each lane's lookups and the time its last one ends.
    let mut lanes: Vec<(Vec<&LookupSpan>, u64)> = Vec::new();
    for lookup in lookups {
        let end = lookup.start_us + lookup.dur_us;
        let free = lanes.iter().position(|(_, busy)| *busy <= lookup.start_us);
        let lane = match free {
            Some(i) => i,
            None if lanes.len() < MAX_DNS_ROWS => {
                lanes.push((Vec::new(), 0));
                lanes.len() - 1
            }
            None => (0..lanes.len()).min_by_key(|&i| lanes[i].1).unwrap_or(0),
        };
        lanes[lane].0.push(lookup);
        lanes[lane].1 = lanes[lane].1.max(end);
    }
    lanes.into_iter().map(|(lane, _)| lane).collect()
}

/// The number of rows [`render_svg`] draws for `trace`.
pub fn row_count(trace: &Trace) -> usize {
    rows(trace).len()
}

/// Draws `trace` as an SVG document, with `title` on its first line and the run's
/// numbers (requests, sockets, wall time) under it.
pub fn render_svg(trace: &Trace, title: &str) -> String {
    let rows = rows(trace);
    let layout = Layout::new(rows.len(), trace.wall_us);
    let mut svg = String::with_capacity(4096 + trace.span_count() * 160);
    header(&mut svg, &layout, title, &subtitle(trace, rows.len()));
    legend(&mut svg);
    row_labels(&mut svg, &layout, &rows);
    axis(&mut svg, trace.wall_us, layout.rows_h(), &|us| layout.x(us));
    for (i, row) in rows.iter().enumerate() {
        row_bars(&mut svg, &layout, i, row);
    }
    plot_marks(&mut svg, &layout, &rows, &trace.marks);
    svg.push_str("</svg>\n");
    svg
}

/// The sizes of one drawing: rows shrink as they multiply, time maps onto the plot.
struct Layout {
    /// The number of rows, at least one.
    rows: f64,
    /// One row's height: 28 px for a few, 8 px at a hundred.
    row_h: f64,
    /// The plot's width, between the labels and the right margin.
    plot_w: f64,
    /// The whole drawing's height.
    height: f64,
    /// The wall time in microseconds, at least one.
    wall: f64,
}

impl Layout {
    /// The layout of `row_count` rows over `wall_us` microseconds.
    fn new(row_count: usize, wall_us: u64) -> Layout {
        let rows = row_count.max(1) as f64;
        let row_h = (520.0 / rows).clamp(8.0, 28.0);
        Layout {
            rows,
            row_h,
            plot_w: WIDTH - LEFT - RIGHT,
            height: PLOT_TOP + rows * row_h + BOTTOM,
            wall: wall_us.max(1) as f64,
        }
    }

    /// The x coordinate of a time, in microseconds since the run started.
    fn x(&self, us: u64) -> f64 {
        LEFT + us as f64 / self.wall * self.plot_w
    }

    /// The y coordinate of row `i`'s top edge.
    fn row_top(&self, i: usize) -> f64 {
        PLOT_TOP + i as f64 * self.row_h
    }

    /// The height of all the rows.
    fn rows_h(&self) -> f64 {
        self.row_h * self.rows
    }
}

/// The document's start: the `<svg>` element, the style, the background, the title
/// and the line under it.
fn header(svg: &mut String, layout: &Layout, title: &str, subtitle: &str) {
    let height = layout.height;
    let _ = write!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height:.0}\" \
         viewBox=\"0 0 {WIDTH} {height:.0}\">\n<style>\n{STYLE}</style>\n\
         <rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n"
    );
    let _ = writeln!(
        svg,
        "<text class=\"title\" x=\"12\" y=\"22\">{}</text>",
        escape(title)
    );
    let _ = writeln!(
        svg,
        "<text class=\"sub\" x=\"12\" y=\"40\">{}</text>",
        escape(subtitle)
    );
}

/// Row backgrounds (every other row shaded) and the labels left of them.
fn row_labels(svg: &mut String, layout: &Layout, rows: &[Row<'_>]) {
    let (row_h, plot_w) = (layout.row_h, layout.plot_w);
    let font = (row_h * 0.8).min(12.0);
    for (i, row) in rows.iter().enumerate() {
        let top = layout.row_top(i);
        if i % 2 == 0 {
            let _ = writeln!(
                svg,
                "<rect class=\"row\" x=\"{LEFT}\" y=\"{top:.1}\" width=\"{plot_w}\" height=\"{row_h:.1}\"/>"
            );
        }
        let _ = writeln!(
            svg,
            "<text class=\"label\" x=\"{:.0}\" y=\"{:.1}\" font-size=\"{font:.1}\">{}</text>",
            LEFT - 6.0,
            top + row_h / 2.0 + font * 0.35,
            escape(&row.label())
        );
    }
}

/// Row `i`'s bars, one per span, in a group (the pager's group is paler).
fn row_bars(svg: &mut String, layout: &Layout, i: usize, row: &Row<'_>) {
    let bar_h = layout.row_h * 0.72;
    let y = layout.row_top(i) + (layout.row_h - bar_h) / 2.0;
    let group = if matches!(row, Row::Pager(_)) {
        " class=\"pager\""
    } else {
        ""
    };
    let _ = writeln!(svg, "<g{group}>");
    if let Row::Dns(_, lookups) = row {
        for lookup in lookups {
            lookup_bar(svg, layout, lookup, y, bar_h);
        }
    }
    for span in row.spans() {
        let left = layout.x(span.start_us);
        let width = (layout.x(span.start_us + span.dur_us) - left).max(0.6);
        let page = if span.is_page { " page" } else { "" };
        let _ = writeln!(
            svg,
            "<rect class=\"bar {}{page}\" x=\"{left:.2}\" y=\"{y:.1}\" width=\"{width:.2}\" \
             height=\"{bar_h:.1}\"><title>{}</title></rect>",
            span.phase.name(),
            escape(&bar_tooltip(span))
        );
    }
    svg.push_str("</g>\n");
}

/// A lookup's bar (outlined red when it failed), its host and answer as a tooltip.
fn lookup_bar(svg: &mut String, layout: &Layout, lookup: &LookupSpan, y: f64, bar_h: f64) {
    let left = layout.x(lookup.start_us);
    let width = (layout.x(lookup.start_us + lookup.dur_us) - left).max(0.6);
    let (class, answer) = match &lookup.found {
        Ok(1) => ("lookup", "1 address".to_string()),
        Ok(n) => ("lookup", format!("{n} addresses")),
        Err(e) => ("lookup error", format!("failed: {e}")),
    };
    let tip = format!(
        "lookup {} · {answer} · {} at {}",
        lookup.host,
        duration(lookup.dur_us),
        duration(lookup.start_us)
    );
    let _ = writeln!(
        svg,
        "<rect class=\"{class}\" x=\"{left:.2}\" y=\"{y:.1}\" width=\"{width:.2}\" \
         height=\"{bar_h:.1}\"><title>{}</title></rect>",
        escape(&tip)
    );
}

/// The marks, each on the top edge of its row; a mark whose track has no row is left out.
fn plot_marks(svg: &mut String, layout: &Layout, rows: &[Row<'_>], marks: &[Mark]) {
    let size = (layout.row_h * 0.4).clamp(3.0, 6.0);
    for mark in marks {
        let Some(i) = rows.iter().position(|r| r.track() == Some(mark.track)) else {
            continue;
        };
        let cx = layout.x(mark.at_us);
        let cy = layout.row_top(i) + size;
        marker(svg, mark, cx, cy, size);
    }
}

/// The line under the title: requests, sockets, wall time, rows and spans.
fn subtitle(trace: &Trace, rows: usize) -> String {
    let all = || trace.slots.iter().flat_map(|s| &s.spans);
    let requests = trace
        .requests
        .unwrap_or_else(|| all().filter(|s| s.phase == SpanPhase::Send).count() as u64);
    let sockets = trace
        .sockets_opened
        .unwrap_or_else(|| all().filter(|s| s.phase == SpanPhase::Connect).count() as u64);
    let failed = trace
        .marks
        .iter()
        .filter(|m| m.kind == MarkKind::Failed)
        .count();
    let mut line = format!(
        "{requests} requests · {sockets} sockets opened · wall {} · {rows} rows, {} spans",
        duration(trace.wall_us),
        trace.span_count()
    );
    if failed > 0 {
        let _ = write!(line, " · {failed} failed");
    }
    line
}

/// The legend: a swatch per phase, the page outline, a shape per mark.
fn legend(svg: &mut String) {
    let mut x = 12.0;
    let y = 56.0;
    let items = SpanPhase::ALL
        .iter()
        .map(|p| (p.name(), format!("swatch {}", p.name())))
        .chain([
            ("page request", "swatch wait page".to_string()),
            ("lookup", "swatch lookup".to_string()),
        ]);
    for (label, class) in items {
        let _ = writeln!(
            svg,
            "<rect class=\"{class}\" x=\"{x}\" y=\"{y}\" width=\"14\" height=\"10\"/>\
             <text class=\"legend\" x=\"{}\" y=\"{}\">{label}</text>",
            x + 18.0,
            y + 9.0
        );
        x += 28.0 + 6.5 * label.len() as f64;
    }
    x += 12.0;
    for kind in MarkKind::ALL {
        let mark = Mark {
            kind,
            at_us: 0,
            track: TrackId::Queue,
            job: None,
            detail: String::new(),
        };
        marker(svg, &mark, x + 5.0, y + 5.0, 5.0);
        let label = kind.name();
        let _ = writeln!(
            svg,
            "<text class=\"legend\" x=\"{}\" y=\"{}\">{label}</text>",
            x + 14.0,
            y + 9.0
        );
        x += 26.0 + 6.5 * label.len() as f64;
    }
}

/// Grid lines and labels every "nice" step (1, 2 or 5 times a power of ten).
fn axis(svg: &mut String, wall_us: u64, rows_h: f64, x: &dyn Fn(u64) -> f64) {
    let bottom = PLOT_TOP + rows_h;
    let step = nice_step(wall_us.max(1) as f64 / 8.0);
    let (unit, scale) = if wall_us >= 2_000_000 {
        ("s", 1e6)
    } else {
        ("ms", 1e3)
    };
    let decimals = (-(step / scale).log10().floor()).max(0.0) as usize;
    let mut t = 0.0;
    while t <= wall_us as f64 + 0.5 {
        let px = x(t as u64);
        let _ = writeln!(
            svg,
            "<line class=\"grid\" x1=\"{px:.1}\" y1=\"{PLOT_TOP}\" x2=\"{px:.1}\" y2=\"{bottom:.1}\"/>\
             <text class=\"tick\" x=\"{px:.1}\" y=\"{:.1}\">{:.decimals$} {unit}</text>",
            bottom + 16.0,
            t / scale
        );
        t += step;
    }
    let _ = writeln!(
        svg,
        "<line class=\"axis\" x1=\"{LEFT}\" y1=\"{bottom:.1}\" x2=\"{:.1}\" y2=\"{bottom:.1}\"/>",
        WIDTH - RIGHT
    );
}

/// The smallest of 1, 2, 5 × 10^k that is at least `raw` microseconds.
fn nice_step(raw: f64) -> f64 {
    let mut base = 1.0;
    while base * 10.0 <= raw {
        base *= 10.0;
    }
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * base)
        .find(|s| *s >= raw)
        .unwrap_or(base * 10.0)
}

/// A mark's shape, `size` px from its centre to its edge: ▲ retry, ◆ stale resend,
/// ● redirect, ✕ failed, ■ throttled, ▼ happy-eyeballs; its [`mark_tooltip`] as a
/// tooltip.
fn marker(svg: &mut String, mark: &Mark, cx: f64, cy: f64, size: f64) {
    let class = mark.kind.name();
    let tip = escape(&mark_tooltip(mark));
    let _ = match mark.kind {
        MarkKind::Retry => writeln!(
            svg,
            "<polygon class=\"mark {class}\" points=\"{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}\"><title>{tip}</title></polygon>",
            cx, cy - size, cx - size, cy + size * 0.8, cx + size, cy + size * 0.8
        ),
        MarkKind::StaleResend => writeln!(
            svg,
            "<polygon class=\"mark {class}\" points=\"{:.1},{:.1} {:.1},{:.1} {:.1},{:.1} {:.1},{:.1}\"><title>{tip}</title></polygon>",
            cx, cy - size, cx + size, cy, cx, cy + size, cx - size, cy
        ),
        MarkKind::Redirect => writeln!(
            svg,
            "<circle class=\"mark {class}\" cx=\"{cx:.1}\" cy=\"{cy:.1}\" r=\"{:.1}\"><title>{tip}</title></circle>",
            size * 0.8
        ),
        MarkKind::Failed => writeln!(
            svg,
            "<path class=\"mark {class}\" d=\"M{:.1} {:.1}L{:.1} {:.1}M{:.1} {:.1}L{:.1} {:.1}\"><title>{tip}</title></path>",
            cx - size, cy - size, cx + size, cy + size, cx - size, cy + size, cx + size, cy - size
        ),
        MarkKind::Throttled => writeln!(
            svg,
            "<rect class=\"mark {class}\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\"><title>{tip}</title></rect>",
            cx - size * 0.8, cy - size * 0.8, size * 1.6, size * 1.6
        ),
        MarkKind::HappyEyeballs => writeln!(
            svg,
            "<polygon class=\"mark {class}\" points=\"{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}\"><title>{tip}</title></polygon>",
            cx - size, cy - size * 0.8, cx + size, cy - size * 0.8, cx, cy + size
        ),
    };
}

/// A mark's tooltip: what, when, the job and the detail.
fn mark_tooltip(mark: &Mark) -> String {
    let mut tip = format!("{} at {}", mark.kind.name(), duration(mark.at_us));
    if let Some(job) = mark.job {
        let _ = write!(tip, " · job {job}");
    }
    if !mark.detail.is_empty() {
        let _ = write!(tip, " · {}", mark.detail);
    }
    tip
}

/// A bar's tooltip: job, phase, length, URL.
fn bar_tooltip(span: &Span) -> String {
    let mut text = String::new();
    if let Some(job) = span.job {
        let _ = write!(text, "job {job} · ");
    }
    let kind = if span.is_page { "page" } else { "file" };
    let _ = write!(
        text,
        "{kind} {} · {} at {}",
        span.phase.name(),
        duration(span.dur_us),
        duration(span.start_us)
    );
    if let Some(url) = &span.url {
        let _ = write!(text, " · {url}");
    }
    text
}

/// A duration for people: `850 µs`, `12.3 ms`, `1.81 s`.
fn duration(us: u64) -> String {
    match us {
        0..=999 => format!("{us} µs"),
        1_000..=99_999 => format!("{:.1} ms", us as f64 / 1e3),
        100_000..=999_999 => format!("{:.0} ms", us as f64 / 1e3),
        _ => format!("{:.2} s", us as f64 / 1e6),
    }
}

/// Text made safe inside an element or an attribute.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// `miodl timeline`: reads the trace, writes the SVG, prints `wrote FILE (N rows, M
/// spans)`. Exit status 0; 1 if the trace cannot be read or is not a trace; 3 if the SVG
/// cannot be written (docs/reference.md §3).
pub fn run_command(trace_file: &Path, output: &Path) -> i32 {
    let name = trace_file.display();
    let text = match fs::read_to_string(trace_file) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("miodl: cannot read trace {name}: {e}");
            return 1;
        }
    };
    let trace = match parse_trace(&text) {
        Ok(trace) => trace,
        Err(e) => {
            eprintln!("miodl: cannot read trace {name}: {e}");
            return 1;
        }
    };
    let file_name = trace_file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| name.to_string());
    let svg = render_svg(&trace, &format!("miodl timeline · {file_name}"));
    if let Err(e) = fs::write(output, svg) {
        eprintln!("miodl: cannot write {}: {e}", output.display());
        return 3;
    }
    println!(
        "wrote {} ({} rows, {} spans)",
        output.display(),
        row_count(&trace),
        trace.span_count()
    );
    0
}

#[cfg(test)]
mod tests;
