//! What a real API checks before it routes a request, so that miodl's politeness and
//! credentials have a counterpart on loopback: a quota (`--rate-limit N/U`, answered
//! `429 Too Many Requests` with `Retry-After` when spent) and a required `Authorization`
//! value (`--require-auth VALUE`, answered `401 Unauthorized` when missing or wrong).
//!
//! The quota is a token bucket of N tokens that refills N per U, continuously (GitHub,
//! Stripe and most gateways keep one like it): a client may send N requests at once,
//! then one every U / N. A refused request takes no token, and its `Retry-After` says
//! in whole seconds (at least 1, as the header cannot say less) when the next token
//! comes. The quota counts every request the server reads, whoever sent it. Time comes
//! in as `now`: the gate reads no clock.
//!
//! Layer: `serve`; may use `protocol`, `model`, `policy`, `output`, `transport`, `engine` and `report` (see `src/serve/mod.rs`).

use std::time::{Duration, Instant};

use crate::model::options::Rate;

/// The server's quota: a bucket of `rate.count` tokens refilled at `rate`.
#[derive(Debug, Clone)]
pub struct Quota {
    rate: Rate,
    /// Tokens left, in units of one token.
    tokens: f64,
    /// When `tokens` was last brought up to date.
    at: Option<Instant>,
}

impl Quota {
    /// A full bucket for `rate`.
    pub fn new(rate: Rate) -> Quota {
        Quota {
            rate,
            tokens: f64::from(rate.count.max(1)),
            at: None,
        }
    }

    /// Takes a token for a request read at `now`, or says how long until one is left.
    pub fn admit(&mut self, now: Instant) -> Result<(), Duration> {
        let capacity = f64::from(self.rate.count.max(1));
        let per_token = self.rate.interval().as_secs_f64();
        if let Some(at) = self.at {
            let refilled = now.saturating_duration_since(at).as_secs_f64() / per_token;
            self.tokens = (self.tokens + refilled).min(capacity);
        }
        self.at = Some(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) * per_token))
        }
    }
}

/// `Retry-After` in whole seconds for a wait: rounded up, at least 1.
pub fn retry_after_seconds(wait: Duration) -> u64 {
    wait.as_secs_f64().ceil().max(1.0) as u64
}

/// The `Authorization` value `--require-auth` asks for. `Debug` shows its scheme only.
#[derive(Clone, PartialEq, Eq)]
pub struct RequiredAuth(pub String);

impl std::fmt::Debug for RequiredAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RequiredAuth({} ***)", self.scheme())
    }
}

impl RequiredAuth {
    /// The scheme, its first word (`Bearer`, `Basic`), for `WWW-Authenticate`.
    pub fn scheme(&self) -> &str {
        self.0.split_whitespace().next().unwrap_or("Bearer")
    }

    /// Does the request's `Authorization` (if any) match? Compared in full, case and
    /// all; a missing header never matches.
    pub fn admits(&self, given: Option<&str>) -> bool {
        given.is_some_and(|given| given == self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quota(count: u32, secs: u64) -> Quota {
        Quota::new(Rate {
            count,
            per: Duration::from_secs(secs),
        })
    }

    #[test]
    fn a_full_bucket_lets_a_burst_through_then_one_per_interval() {
        let t0 = Instant::now();
        let mut q = quota(4, 1);
        for _ in 0..4 {
            assert_eq!(q.admit(t0), Ok(()));
        }
        let wait = q.admit(t0).unwrap_err();
        assert!((wait.as_secs_f64() - 0.25).abs() < 1e-6, "{wait:?}");
        // A refused request takes nothing: still 0.25 s to wait a moment later.
        let wait = q.admit(t0 + Duration::from_millis(100)).unwrap_err();
        assert!((wait.as_secs_f64() - 0.15).abs() < 1e-6, "{wait:?}");
        assert_eq!(q.admit(t0 + Duration::from_millis(250)), Ok(()));
        assert!(q.admit(t0 + Duration::from_millis(250)).is_err());
        // An idle spell refills up to the capacity, no further.
        let later = t0 + Duration::from_secs(60);
        for _ in 0..4 {
            assert_eq!(q.admit(later), Ok(()));
        }
        assert!(q.admit(later).is_err());
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds_and_is_never_zero() {
        assert_eq!(retry_after_seconds(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_seconds(Duration::from_millis(1000)), 1);
        assert_eq!(retry_after_seconds(Duration::from_millis(1001)), 2);
        assert_eq!(retry_after_seconds(Duration::from_secs(3600)), 3600);
    }

    #[test]
    fn authorization_must_match_in_full_and_debug_hides_it() {
        let required = RequiredAuth("Bearer t0ken".into());
        assert!(required.admits(Some("Bearer t0ken")));
        assert!(!required.admits(Some("Bearer t0ke")));
        assert!(!required.admits(Some("bearer t0ken")));
        assert!(!required.admits(None));
        assert_eq!(required.scheme(), "Bearer");
        assert_eq!(format!("{required:?}"), "RequiredAuth(Bearer ***)");
    }
}
