//! The seam between the protocol and the policy: bytes in, decisions out.
//!
//! Every engine reads bytes its own way (the reactor until `WouldBlock`, the blocking
//! engines until a read returns), then hands the buffer to [`pump`], which runs it through
//! the job's [`Exchange`] and tells the [`Scheduler`] what it means: a head, body bytes,
//! the end. The engines differ only in how they wait, never in what a byte means.

use std::time::Instant;

use crate::model::error::JobError;
use crate::model::job::{JobId, Phase};
use crate::policy::scheduler::{Flow, Scheduler};
use crate::protocol::http::{Event, Exchange};

/// What the buffer amounted to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pumped {
    /// The answer is not complete: keep `input[consumed..]` and read more.
    NeedMore {
        /// Bytes used.
        consumed: usize,
    },
    /// The answer is complete ([`Scheduler::on_end`] was called).
    Ended {
        /// Bytes used; any left over were not part of this answer.
        consumed: usize,
        /// The protocol allows another request on this socket.
        reusable: bool,
    },
}

/// Feeds `input` through `exchange` for `job`. On error the scheduler has not been told:
/// the caller reports it with [`Scheduler::on_error`] (or `on_stale`).
pub fn pump(
    exchange: &mut Exchange,
    input: &[u8],
    scheduler: &mut Scheduler,
    job: JobId,
    now: Instant,
) -> Result<Pumped, JobError> {
    let mut consumed = 0;
    loop {
        let (used, event) = exchange.feed(&input[consumed..]).map_err(JobError::Http)?;
        consumed += used;
        match event {
            // Nothing consumed: the rest is an incomplete piece; read more.
            None if used == 0 => return Ok(Pumped::NeedMore { consumed }),
            // Framing consumed (an interim 1xx head, a chunk-size line): go on.
            None => {}
            Some(Event::Head(head)) => {
                scheduler.on_head(job, &head, now)?;
                scheduler.set_phase(job, Phase::ReceivingBody, None, now);
            }
            Some(Event::Body(bytes)) => {
                let flow = scheduler.on_body(job, bytes, now)?;
                if flow == Flow::Enough {
                    scheduler.on_end(job, now);
                    return Ok(Pumped::Ended {
                        consumed,
                        reusable: false,
                    });
                }
            }
            Some(Event::End { reusable }) => {
                scheduler.on_end(job, now);
                return Ok(Pumped::Ended { consumed, reusable });
            }
        }
    }
}

/// The peer closed the socket: this ends a close-delimited body, and is an error
/// anywhere else.
pub fn pump_eof(
    exchange: &mut Exchange,
    scheduler: &mut Scheduler,
    job: JobId,
    now: Instant,
) -> Result<(), JobError> {
    match exchange.feed_eof().map_err(JobError::Http)? {
        Some(Event::End { .. }) | None => {
            scheduler.on_end(job, now);
            Ok(())
        }
        Some(Event::Head(_)) | Some(Event::Body(_)) => {
            unreachable!("an exchange yields only End at EOF")
        }
    }
}
