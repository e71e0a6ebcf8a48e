//! Tests of backoff with jitter and of `Retry-After` (seconds and HTTP dates).
//!
//! Layer: `policy`; may use `protocol` and `model` (see `src/policy/mod.rs`).

use super::*;

#[test]
fn backoff_doubles_within_jitter() {
    let mut j = Jitter::new(7);
    let first = Duration::from_millis(200);
    for retry in 1..=5u32 {
        let nominal = 200.0 * f64::from(1u32 << (retry - 1));
        let got = backoff(first, retry, &mut j).as_secs_f64() * 1000.0;
        assert!(
            got >= nominal * 0.75 && got < nominal * 1.25,
            "{retry}: {got}"
        );
    }
    assert_eq!(backoff(first, 40, &mut j), MAX_BACKOFF);
}

#[test]
fn backoff_saturates_for_the_largest_first_delay() {
    // `--retry-delay 18446744073709551615 --retries 16` used to panic in the jitter.
    let mut j = Jitter::new(7);
    let first = Duration::from_millis(u64::MAX);
    for retry in [0, 1, 2, 16, 40, u32::MAX] {
        assert_eq!(backoff(first, retry, &mut j), MAX_BACKOFF, "{retry}");
        assert_eq!(
            backoff(Duration::MAX, retry, &mut j),
            MAX_BACKOFF,
            "{retry}"
        );
    }
}

#[test]
fn retry_after_seconds_and_dates() {
    let now = UNIX_EPOCH + Duration::from_secs(784_111_770); // Sun, 06 Nov 1994 08:49:30
    assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
    assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
    assert_eq!(
        parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now),
        Some(Duration::from_secs(7))
    );
    assert_eq!(
        parse_retry_after("Sun, 06 Nov 1994 08:49:00 GMT", now),
        Some(Duration::ZERO)
    );
    assert_eq!(parse_retry_after("99999999", now), Some(MAX_RETRY_AFTER));
    assert_eq!(parse_retry_after("soon", now), None);
    assert_eq!(parse_retry_after("-1", now), None);
    assert_eq!(
        parse_retry_after("Sun, 06 Nov 1994 25:49:00 GMT", now),
        None
    );
}

#[test]
fn http_date_round_trips() {
    for secs in [0u64, 784_111_777, 951_782_400, 1_700_000_000, 4_102_444_800] {
        let t = UNIX_EPOCH + Duration::from_secs(secs);
        assert_eq!(parse_http_date(&format_http_date(t)), Some(t), "{secs}");
    }
    assert_eq!(
        format_http_date(UNIX_EPOCH + Duration::from_secs(784_111_777)),
        "Sun, 06 Nov 1994 08:49:37 GMT"
    );
}
