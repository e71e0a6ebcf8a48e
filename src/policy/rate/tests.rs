//! The bucket and the throttle on a made-up clock.
//!
//! Layer: `policy`; may use `protocol` and `model` (see `src/policy/mod.rs`).

use std::time::{Duration, Instant};

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
