//! The lower bound a perfect client could reach, for one configuration of the demo.
//!
//! A perfect client spends no time of its own: every request takes exactly the server's
//! lag, sockets connect instantly, and a free slot is filled at once (page requests
//! first, as miodl does). What is left is the shape of the problem: pages must be read
//! before their ids are known, at most `slots` requests run at once, and at most
//! `1 + lookahead` pages are asked for ahead of their answers. This module plays that
//! client on a virtual clock (no sockets, no sleeping) and returns its finishing time, so
//! the demo can print, next to each measured row, how close the real run came.
//!
//! A request rate (`--rate`, `--per-host-rate`: a token bucket with a burst of one) adds
//! a bound of its own, [`paced_bound`]: no two requests closer than its interval. The
//! perfect client is held to both, so its time is at least the larger of the two.
//!
//! Layer: `app`; may use `protocol`, `model`, `policy`, `output`, `transport`, `engine`, `report` and `serve` (see `src/app/mod.rs`).

use std::time::Duration;

/// One configuration to bound.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// Ids in the list.
    pub files: u64,
    /// Ids per page (after the server's cap).
    pub per_page: u64,
    /// Pages asked for ahead of the answers.
    pub lookahead: u64,
    /// Requests that may run at once (sockets or permits, whichever is smaller).
    pub slots: u64,
    /// Time of one request.
    pub lag: Duration,
}

/// The finishing time of a perfect client, and its number of requests.
pub fn lower_bound(shape: Shape) -> (Duration, u64) {
    let Shape {
        files,
        per_page,
        lookahead,
        slots,
        lag,
    } = shape;
    let per_page = per_page.max(1);
    let slots = slots.max(1);
    // Requests in flight, as the tick at which each ends (time counted in lags).
    let mut running: Vec<(u64, Option<u64>)> = Vec::new(); // (ends at, page start if a page)
    let mut next_page_start = 0u64;
    let mut listing_ended = false;
    let mut pages_outstanding = 0u64;
    let mut known_ids = 0u64;
    let mut downloads_started = 0u64;
    let mut requests = 0u64;
    let mut now = 0u64;
    loop {
        // Fill free slots: pages first, then downloads of ids already known.
        while (running.len() as u64) < slots {
            if !listing_ended && pages_outstanding < 1 + lookahead {
                running.push((now + 1, Some(next_page_start)));
                next_page_start += per_page;
                pages_outstanding += 1;
            } else if downloads_started < known_ids {
                running.push((now + 1, None));
                downloads_started += 1;
            } else {
                break;
            }
            requests += 1;
        }
        if running.is_empty() {
            break;
        }
        // Advance to the next tick and finish what ends there.
        now = running.iter().map(|(end, _)| *end).min().unwrap_or(now);
        let mut index = 0;
        while index < running.len() {
            if running[index].0 == now {
                let (_, page) = running.swap_remove(index);
                if let Some(start) = page {
                    pages_outstanding -= 1;
                    let got = files.saturating_sub(start).min(per_page);
                    known_ids = known_ids.max(start + got).min(files);
                    if start + per_page >= files {
                        listing_ended = true;
                    }
                }
            } else {
                index += 1;
            }
        }
    }
    (lag * now as u32, requests)
}

/// The bound of a row whose requests are paced (`interval`: one request per interval
/// at most, a burst of one): the last of `requests` starts no sooner than
/// `requests - 1` intervals after the first and takes `lag`, and the pool's bound
/// (`pool`) holds too. Without pacing, the pool's bound.
pub fn paced_bound(
    pool: Duration,
    requests: u64,
    interval: Option<Duration>,
    lag: Duration,
) -> Duration {
    let Some(interval) = interval else {
        return pool;
    };
    let gaps = u32::try_from(requests.saturating_sub(1)).unwrap_or(u32::MAX);
    pool.max(interval.saturating_mul(gaps) + lag)
}

#[cfg(test)]
mod tests;
