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
//! A request rate (`--rate`, `--per-host-rate`: a token bucket with a burst of one) holds
//! the perfect client too: no two of its requests closer than the rate's interval, and a
//! token not used while nothing could go (the first page's lag) is lost, as miodl's is.
//! So its time is at least the larger of the pool's bound and `requests - 1` intervals
//! plus a lag, and usually more.
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
    /// `--rate` / `--per-host-rate` as the least time between two requests (a token
    /// bucket with a burst of one), if the row has one.
    pub pace: Option<Duration>,
}

/// The finishing time of a perfect client, and its number of requests.
pub fn lower_bound(shape: Shape) -> (Duration, u64) {
    let Shape {
        files,
        per_page,
        lookahead,
        slots,
        lag,
        pace,
    } = shape;
    let per_page = per_page.max(1);
    let slots = slots.max(1);
    // Requests in flight: when each ends, and the page's first offset if it is a page.
    let mut running: Vec<(Duration, Option<u64>)> = Vec::new();
    let mut next_page_start = 0u64;
    let mut listing_ended = false;
    let mut pages_outstanding = 0u64;
    let mut known_ids = 0u64;
    let mut downloads_started = 0u64;
    let mut requests = 0u64;
    let mut now = Duration::ZERO;
    // When the rate lets the next request go (an idle spell saves no burst).
    let mut next_token = Duration::ZERO;
    loop {
        // Fill free slots, while the rate allows: pages first, then known ids.
        while (running.len() as u64) < slots && now >= next_token {
            if !listing_ended && pages_outstanding < 1 + lookahead {
                running.push((now + lag, Some(next_page_start)));
                next_page_start += per_page;
                pages_outstanding += 1;
            } else if downloads_started < known_ids {
                running.push((now + lag, None));
                downloads_started += 1;
            } else {
                break;
            }
            requests += 1;
            if let Some(pace) = pace {
                next_token = now + pace;
            }
        }
        let startable =
            (!listing_ended && pages_outstanding < 1 + lookahead) || downloads_started < known_ids;
        // The next moment something changes: an answer, or a token for a waiting request.
        let token = (startable && (running.len() as u64) < slots).then_some(next_token);
        let Some(next) = running.iter().map(|(end, _)| *end).chain(token).min() else {
            break;
        };
        now = next;
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
    (now, requests)
}

#[cfg(test)]
mod tests;
