//! Tests of the demo's lower bounds: what a perfect client could reach with the same limits.
//!
//! Layer: `app`; may use `protocol`, `model`, `policy`, `output`, `transport`, `engine`, `report` and `serve` (see `src/app/mod.rs`).

use super::*;

fn shape(slots: u64, lookahead: u64) -> Shape {
    Shape {
        files: 25,
        per_page: 5,
        lookahead,
        slots,
        lag: Duration::from_millis(300),
        pace: None,
    }
}

#[test]
fn the_seeds_bounds() {
    // One page at a time: 5 pages, then the last round of downloads.
    assert_eq!(
        lower_bound(shape(100, 0)),
        (Duration::from_millis(1800), 30)
    );
    // Sequential: every request waits for the one before.
    assert_eq!(lower_bound(shape(1, 0)), (Duration::from_millis(9000), 30));
    // Lookahead 8: all pages at once, then all downloads at once; 4 pages wasted.
    assert_eq!(lower_bound(shape(100, 8)), (Duration::from_millis(600), 34));
}

#[test]
fn a_small_pool_makes_pages_wait_for_downloads() {
    // With 5 slots the second page waits for a slot the first page's 5 downloads hold.
    let (time, requests) = lower_bound(shape(5, 0));
    assert_eq!(requests, 30);
    assert!(time > Duration::from_millis(1800), "{time:?}");
}

#[test]
fn a_rate_bounds_the_time_by_its_intervals() {
    let tenth = Duration::from_millis(100);
    let paced = |slots, lookahead, pace| {
        lower_bound(Shape {
            pace: Some(pace),
            ..shape(slots, lookahead)
        })
    };
    // 30 requests at 10/s: at least 29 intervals and a lag (3.2 s); the first page's lag
    // leaves two tokens unused (nothing is known yet), so 3.4 s.
    let (time, requests) = paced(100, 0, tenth);
    assert_eq!(requests, 30);
    assert_eq!(time, Duration::from_millis(3400));
    // A rate faster than the work leaves the pool's bound.
    assert_eq!(
        paced(100, 0, Duration::from_millis(1)).0,
        lower_bound(shape(100, 0)).0 + Duration::from_millis(4)
    );
    // One slot: the rate never binds when each request takes longer than its interval.
    assert_eq!(paced(1, 0, tenth), lower_bound(shape(1, 0)));
}
