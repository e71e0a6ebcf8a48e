//! The progress line drawn from fixed states at fixed moments: no terminal, no clock.
//!
//! Layer: `report`; may use `protocol`, `model`, `policy`, `output`, `transport` and `engine` (see `src/report/mod.rs`).

use std::time::{Duration, Instant};

use super::{clock, draw, Progress};

/// A `get` of 2,000 files, 500 done after 10 s, 5 MiB received.
fn quarter_done(start: Instant) -> Progress {
    let mut p = Progress::new(start, Some(2000), false);
    p.saved = 498;
    p.failed_files = 2;
    p.failed = 2;
    p.bytes = 5 * 1024 * 1024;
    p.sockets_open = 8;
    p.reused = 492;
    p.retries = 3;
    p
}

#[test]
fn a_known_total_shows_done_percent_rates_and_eta() {
    let start = Instant::now();
    let line = draw(&quarter_done(start), start + Duration::from_secs(10), 200);
    assert_eq!(
        line,
        "500/2000 25.0% · 50.0 files/s · 512.0 KiB/s · ETA 0:30 · \
         sockets 8 open, 492 reused · retries 3 · failed 2"
    );
}

#[test]
fn the_line_is_cut_to_the_terminal_width_in_characters() {
    let start = Instant::now();
    let p = quarter_done(start);
    let now = start + Duration::from_secs(10);
    for width in [0, 1, 10, 40, 80] {
        let line = draw(&p, now, width);
        assert!(line.chars().count() <= width, "{width}: {line:?}");
    }
    let line = draw(&p, now, 40);
    assert_eq!(line.chars().count(), 40);
    assert!(line.starts_with("500/2000 25.0% · 50.0 files/s"), "{line}");
    assert!(line.ends_with('…'), "{line}");
    // Wide enough: nothing is cut.
    assert!(!draw(&p, now, 500).contains('…'));
}

#[test]
fn no_total_yet_shows_what_is_done_without_percent_or_eta() {
    let start = Instant::now();
    let mut p = Progress::new(start, None, false);
    p.saved = 120;
    let line = draw(&p, start + Duration::from_secs(4), 200);
    assert!(line.starts_with("done 120 · 30.0 files/s"), "{line}");
    assert!(!line.contains('%') && !line.contains("ETA"), "{line}");
}

#[test]
fn a_crawl_shows_ids_found_until_the_list_ends_then_a_total() {
    let start = Instant::now();
    let mut p = Progress::new(start, None, true);
    p.ids_found = Some(340);
    p.saved = 300;
    let now = start + Duration::from_secs(3);
    let open = draw(&p, now, 200);
    assert!(
        open.starts_with("done 300 · found 340 ids, list open · 100 files/s"),
        "{open}"
    );
    assert!(!open.contains("ETA"), "{open}");
    p.on_event(&crate::model::event::Event::FeedEnded { files: 400 });
    let ended = draw(&p, now, 200);
    assert!(
        ended.starts_with("300/400 75.0% · found 340 ids, list ended"),
        "{ended}"
    );
    assert!(ended.contains("ETA 0:01"), "{ended}");
}

#[test]
fn zero_rates_draw_zero_and_an_unknown_eta() {
    let start = Instant::now();
    let p = Progress::new(start, Some(10), false);
    // At the very start (no time gone) and later with nothing done.
    for now in [start, start + Duration::from_secs(5)] {
        let line = draw(&p, now, 200);
        assert!(
            line.starts_with("0/10 0.0% · 0.0 files/s · 0 B/s · ETA --:--"),
            "{line}"
        );
    }
}

#[test]
fn everything_done_is_one_hundred_percent_and_no_time_left() {
    let start = Instant::now();
    let mut p = Progress::new(start, Some(3), false);
    p.saved = 3;
    let line = draw(&p, start + Duration::from_secs(1), 200);
    assert!(line.starts_with("3/3 100.0% · 3.0 files/s"), "{line}");
    assert!(line.contains("ETA 0:00"), "{line}");
    // An empty list is done at once.
    let empty = Progress::new(start, Some(0), false);
    assert!(draw(&empty, start, 200).starts_with("0/0 100.0%"));
}

#[test]
fn eta_reads_as_minutes_seconds_and_hours() {
    let cases = [
        (0, "0:00"),
        (7, "0:07"),
        (59, "0:59"),
        (60, "1:00"),
        (754, "12:34"),
        (3600, "1:00:00"),
        (3723, "1:02:03"),
        (99 * 3600 + 3599, "99:59:59"),
        (100 * 3600, ">99h"),
    ];
    for (secs, text) in cases {
        assert_eq!(clock(Duration::from_secs(secs)), text, "{secs} s");
    }
    assert_eq!(clock(Duration::from_millis(1_500)), "0:02");
}

#[test]
fn skipped_files_count_as_done_but_not_in_the_rate_or_the_eta() {
    let start = Instant::now();
    let mut p = quarter_done(start);
    // 1,000 more were saved by an earlier run: done at once, no request.
    p.skipped = 1000;
    let line = draw(&p, start + Duration::from_secs(10), 200);
    assert_eq!(
        line,
        "1500/2000 75.0% (1000 skipped) · 50.0 files/s · 512.0 KiB/s · ETA 0:10 · \
         sockets 8 open, 492 reused · retries 3 · failed 2"
    );
}
