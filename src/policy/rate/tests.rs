//! The bucket and the throttle on a made-up clock.
//!
//! Layer: `policy`; may use `protocol` and `model` (see `src/policy/mod.rs`).

use std::time::{Duration, Instant};

use super::bytes::ByteBucket;
use super::{Bucket, Throttle};
use crate::model::options::Rate;
use crate::protocol::url::Url;

const TEN_A_SECOND: Rate = Rate {
    count: 10,
    per: Duration::from_secs(1),
};

#[test]
fn a_bucket_lets_one_request_go_per_interval_and_saves_no_burst() {
    let t0 = Instant::now();
    let mut bucket = Bucket::new(TEN_A_SECOND);
    assert_eq!(bucket.wait(t0), None);
    bucket.take(t0);
    let due = t0 + Duration::from_millis(100);
    assert_eq!(bucket.wait(t0), Some(due));
    assert_eq!(bucket.wait(due), None);
    // A long idle spell: one request goes, the next waits an interval again.
    let later = t0 + Duration::from_secs(10);
    bucket.take(later);
    assert_eq!(bucket.wait(later), Some(later + Duration::from_millis(100)));
}

#[test]
fn a_refund_gives_the_token_back() {
    let t0 = Instant::now();
    let mut throttle = Throttle::new(Some(TEN_A_SECOND), Some(TEN_A_SECOND));
    let host = Url::parse("http://a.test/x").unwrap().authority_key();
    throttle.take(7, Some(&host), t0);
    throttle.refund(8);
    assert!(throttle.global_wait(t0).is_some());
    assert!(throttle.global_wait(t0).is_some());
    assert!(throttle.host_wait(&host, t0).is_some());
    throttle.refund(7);
    assert_eq!(throttle.global_wait(t0), None);
    assert_eq!(throttle.host_wait(&host, t0), None);
}

#[test]
fn a_pause_holds_its_host_only_and_is_forgotten_when_over() {
    let t0 = Instant::now();
    let mut throttle = Throttle::new(None, None);
    assert!(!throttle.watches_hosts());
    let a = Url::parse("http://a.test/x").unwrap().authority_key();
    let b = Url::parse("http://b.test/x").unwrap().authority_key();
    let until = t0 + Duration::from_secs(1);
    throttle.pause(a.clone(), until);
    assert!(throttle.watches_hosts());
    assert_eq!(throttle.host_wait(&a, t0), Some(until));
    assert_eq!(throttle.host_wait(&b, t0), None);
    throttle.forget_expired(until);
    assert!(!throttle.watches_hosts());
}

/// Bytes granted by a reader that asks for `want` every `step` for `span`, reading all it
/// is granted: `(time, granted)` for each grant.
fn grants(rate: u64, want: u64, step: Duration, span: Duration) -> Vec<(Duration, u64)> {
    let t0 = Instant::now();
    let mut bucket = ByteBucket::new(rate);
    let mut out = Vec::new();
    let mut at = Duration::ZERO;
    while at <= span {
        let n = bucket.take(want, t0 + at);
        if n > 0 {
            out.push((at, n));
        }
        at += step;
    }
    out
}

#[test]
fn a_byte_bucket_starts_with_a_tenth_of_a_second_and_grants_whole_bursts() {
    let t0 = Instant::now();
    let mut bucket = ByteBucket::new(2 << 20);
    assert_eq!(bucket.burst(), (2 << 20) / 10);
    assert_eq!(bucket.take(256 << 10, t0), bucket.burst());
    assert_eq!(bucket.take(256 << 10, t0), 0);
    // Half a burst later: still nothing (no trickle of small reads).
    assert_eq!(bucket.take(256 << 10, t0 + Duration::from_millis(50)), 0);
    let due = bucket.ready_at(256 << 10, t0 + Duration::from_millis(50));
    assert!(due > t0 + Duration::from_millis(99) && due <= t0 + Duration::from_millis(101));
    assert_eq!(bucket.take(256 << 10, due), bucket.burst());
    // A small ask is granted as soon as it fits.
    let small = due + Duration::from_millis(1);
    assert_eq!(bucket.take(100, small), 100);
}

#[test]
fn a_byte_bucket_gives_back_what_a_read_did_not_use() {
    let t0 = Instant::now();
    let mut bucket = ByteBucket::new(10_000);
    let granted = bucket.take(4096, t0);
    assert_eq!(granted, 1000);
    bucket.give_back(granted - 10);
    assert_eq!(bucket.take(4096, t0), 0, "990 is less than a burst");
    bucket.give_back(10_000);
    assert_eq!(bucket.take(4096, t0), 1000, "never more than a burst held");
    assert_eq!(bucket.ready_at(4096, t0), t0 + Duration::from_millis(100));
}

#[test]
fn no_one_second_window_gets_much_more_than_the_rate() {
    for (rate, step) in [
        (2u64 << 20, Duration::from_millis(1)),
        (2 << 20, Duration::from_micros(37)),
        (50_000, Duration::from_millis(3)),
        (100 << 20, Duration::from_micros(100)),
    ] {
        let span = Duration::from_secs(5);
        let got = grants(rate, 256 << 10, step, span);
        let total: u64 = got.iter().map(|(_, n)| n).sum();
        // The long-run average is the rate (within a burst and a step).
        let expected = rate * 5;
        assert!(
            total <= expected + rate / 10 + 1,
            "{rate}: {total} > {expected}"
        );
        assert!(
            total >= expected * 9 / 10,
            "{rate}: {total} < 90% of {expected}"
        );
        for start in 0..40 {
            let from = Duration::from_millis(start * 100);
            let to = from + Duration::from_secs(1);
            let window: u64 = (got.iter())
                .filter(|(at, _)| *at >= from && *at < to)
                .map(|(_, n)| n)
                .sum();
            assert!(
                window <= rate + rate / 10 + 1,
                "{rate}: {window} in 1 s from {from:?}"
            );
        }
    }
}

#[test]
fn a_tiny_rate_still_grants_a_byte_at_a_time() {
    let t0 = Instant::now();
    let mut bucket = ByteBucket::new(1);
    assert_eq!(bucket.take(100, t0), 1);
    assert_eq!(bucket.take(100, t0), 0);
    let due = bucket.ready_at(100, t0);
    assert_eq!(due, t0 + Duration::from_secs(1));
    assert_eq!(bucket.take(100, due), 1);
}
