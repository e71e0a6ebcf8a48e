//! Tests of the lazy timer heap: entries come out in deadline order, and only when due.
//!
//! Layer: `engine`; may use `protocol`, `model`, `policy`, `output` and `transport` (see `src/engine/mod.rs`).

use super::*;
use std::time::Duration;

#[test]
fn pops_in_deadline_order_only_when_due() {
    let t0 = Instant::now();
    let mut timers = Timers::default();
    timers.schedule(t0 + Duration::from_secs(2), 1, 10);
    timers.schedule(t0 + Duration::from_secs(1), 2, 20);
    assert_eq!(timers.next(), Some(t0 + Duration::from_secs(1)));
    assert_eq!(timers.pop_due(t0), None);
    assert_eq!(timers.pop_due(t0 + Duration::from_secs(3)), Some((2, 20)));
    assert_eq!(timers.pop_due(t0 + Duration::from_secs(3)), Some((1, 10)));
    assert_eq!(timers.pop_due(t0 + Duration::from_secs(3)), None);
}
