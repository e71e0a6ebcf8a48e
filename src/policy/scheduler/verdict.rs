//! What an answer means: the scheduler's half that reads responses.
//!
//! A response head decides the fate of its body (a `Verdict`): a 2xx is saved (a file,
//! which the engine stages and commits: [`Accept::File`]; a page, whose bytes are kept
//! here for the pager), a redirect is followed, 429 and 5xx wait for a retry, anything
//! else fails. The end of the body acts on that verdict; a broken connection, a timeout
//! or a malformed answer goes through [`Scheduler::on_error`], which retries with backoff
//! while tries are left. These are the only ways a job leaves the sockets, so the request
//! permits (`--max-in-flight`) are given back here, each exactly once.
//!
//! May use: what the scheduler may use; it reads no clock and writes no file.

use std::cmp::Reverse;
use std::path::Path;
use std::time::Instant;

use super::{Accept, Ending, Flow, PartMark, Scheduler, MAX_SHORT_IN_A_ROW};
use crate::model::error::{JobError, ProxyCause, ProxyError};
use crate::model::event::Event;
use crate::model::job::{JobId, JobKind, Phase};
use crate::model::partial::Partial;
use crate::policy::feed::Feed;
use crate::policy::retry::{backoff, parse_retry_after};
use crate::protocol::http::content_range;
use crate::protocol::http::{Method, ResponseHead};
use crate::protocol::proxy::Route;
use crate::protocol::url::Url;

/// The largest list page kept in memory.
const MAX_PAGE_BYTES: usize = 16 << 20;
/// Body bytes of an error or redirect answer read (and dropped) to keep the socket
/// reusable; past this the socket is closed instead.
const MAX_DISCARD_BYTES: u64 = 1 << 20;
/// Throttled answers (429 or 503 with `Retry-After`) of one job retried without
/// counting as a failure; the next one is a failure like any other.
pub const MAX_THROTTLED: u32 = 10;

/// What happens to the body of the answer being read, decided by its head.
#[derive(Debug)]
pub(super) enum Verdict {
    /// A file: the engine stages and commits it ([`Accept::File`]); never kept.
    SaveFile,
    /// A list page: bytes are kept for the pager.
    KeepPage {
        head: Box<ResponseHead>,
        body: Vec<u8>,
    },
    /// Dropped; then the job goes to `to`, with `method` (the redirect is followed only
    /// once its answer is read whole: a retry after a broken one repeats the original
    /// request).
    Redirect { to: Url, method: Method },
    /// Dropped; then the job fails or retries with this error.
    Reject {
        error: JobError,
        retry_after: Option<std::time::Duration>,
    },
    /// `-C`: the answer to a resumed request cannot go on the part (a `206` for other
    /// bytes, another validator, a `416` for a part that is not whole): dropped; then the
    /// job asks again at once, without `Range`, not counted as a try.
    StartOver,
}

/// `-C`: what an answer to a request for the rest of a part means for the part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Resumed {
    /// The rest of the body, after the part's bytes.
    Append,
    /// The part is already whole.
    Whole,
    /// The whole body (a `200`): the part starts over.
    Fresh,
    /// Of no use to the part: ask again without `Range`.
    StartOver,
    /// Not a body (a redirect, an error): as without `-C`; a retry asks for the rest again.
    Other,
}

/// `-C`: reads the answer to a request for the bytes after the first `at` of `part`.
pub(super) fn resumed(head: &ResponseHead, at: u64, part: Option<&Partial>) -> Resumed {
    let Some(part) = part else {
        return Resumed::Other;
    };
    match head.status {
        206 => {
            let range = head.header("content-range").and_then(content_range);
            let starts_right = range.is_some_and(|r| {
                r.first == at
                    && r.complete.is_some()
                    && (part.length.is_none() || r.complete == part.length)
            });
            // The server's If-Range check, checked again: a tag it sends must be ours.
            let same = match head.header("etag").map(str::trim) {
                Some(tag) if part.validator.starts_with('"') => tag == part.validator,
                _ => true,
            };
            let identity = head
                .header("content-encoding")
                .is_none_or(|c| c.trim().eq_ignore_ascii_case("identity"));
            if starts_right && same && identity {
                Resumed::Append
            } else {
                Resumed::StartOver
            }
        }
        416 if part.length == Some(at) => Resumed::Whole,
        416 => Resumed::StartOver,
        200..=299 => Resumed::Fresh,
        _ => Resumed::Other,
    }
}

impl Scheduler {
    /// A response head arrived: decide what its body is for.
    pub fn on_head(
        &mut self,
        job: JobId,
        head: &ResponseHead,
        now: Instant,
    ) -> Result<Accept, JobError> {
        self.emit(
            Event::ResponseHead {
                job,
                status: head.status,
            },
            now,
        );
        if self.options.verbose {
            let event = Event::WireHead {
                job,
                outgoing: false,
                head: head.as_bytes(),
            };
            self.emit(event, now);
        }
        if self.options.resume {
            let mark = std::mem::take(&mut self.on_socket[job.0].resume);
            if let PartMark::Asked(at) = mark {
                if let Some(accept) = self.on_resumed_head(job, head, at) {
                    return Ok(accept);
                }
            }
        }
        match self.verdict_for(job, head, now)? {
            // The engine's from here: nothing to keep until `on_saved`.
            Verdict::SaveFile => {
                if self.options.remote_header_name {
                    self.name_from_answer(job, head);
                }
                Ok(if self.options.resume {
                    Accept::Keep
                } else {
                    Accept::File
                })
            }
            verdict => {
                self.on_socket[job.0].verdict = Some(verdict);
                Ok(Accept::Bytes)
            }
        }
    }

    /// `-C`: the head of an answer to a request for the rest of a part: `Some` when it
    /// decides the body here, `None` to decide as without `-C`.
    fn on_resumed_head(&mut self, job: JobId, head: &ResponseHead, at: u64) -> Option<Accept> {
        let accept = match resumed(head, at, self.part_to_resume(job)) {
            Resumed::Append => Accept::Append,
            Resumed::Whole => Accept::Whole,
            // The whole body: the answer starts the part over, or, when this body cannot
            // be kept, removes it (`Scheduler::drop_part`).
            Resumed::Fresh => return None,
            Resumed::StartOver => {
                self.forget_part(job);
                self.on_socket[job.0].verdict = Some(Verdict::StartOver);
                return Some(Accept::Bytes);
            }
            Resumed::Other => return None,
        };
        self.on_socket[job.0].resume = PartMark::Appending(at);
        if self.options.remote_header_name {
            self.name_from_answer(job, head);
        }
        Some(accept)
    }

    /// What `head` decides for the body of `job`'s answer.
    fn verdict_for(
        &self,
        job: JobId,
        head: &ResponseHead,
        now: Instant,
    ) -> Result<Verdict, JobError> {
        let entry = &self.jobs[job.0];
        Ok(match head.status {
            200..=299 => match &entry.kind {
                JobKind::File { .. } => {
                    // The length is looked up only when there is a limit to hold it to.
                    if let Some(limit) = self.options.max_filesize {
                        if announced_length(head).is_some_and(|length| length > limit) {
                            return Err(JobError::TooLarge(limit));
                        }
                    }
                    Verdict::SaveFile
                }
                // The head goes with the body to the paging style, which reads it.
                JobKind::Page { .. } => Verdict::KeepPage {
                    head: Box::new(head.clone()),
                    body: Vec::new(),
                },
            },
            301 | 302 | 303 | 307 | 308 => match head.header("location") {
                None => Verdict::Reject {
                    error: JobError::BadRedirect(format!("HTTP {} without Location", head.status)),
                    retry_after: None,
                },
                Some(location) => match entry.url().join(location) {
                    Ok(to) => {
                        // 303, and 301/302 after a POST, become GET (RFC 9110 §15.4).
                        let to_get = head.status == 303
                            || (entry.method == Method::Post && head.status <= 302);
                        let method = if to_get { Method::Get } else { entry.method };
                        Verdict::Redirect { to, method }
                    }
                    Err(e) => Verdict::Reject {
                        error: JobError::RedirectTarget(e),
                        retry_after: None,
                    },
                },
            },
            407 if self.options.proxy.is_set() => {
                self.proxy_auth_required(entry.url(), entry.method, head)
            }
            status => Verdict::Reject {
                error: JobError::Status(status),
                retry_after: head
                    .header("retry-after")
                    .and_then(|v| parse_retry_after(v, self.wall_at(now))),
            },
        })
    }

    /// A 407 to a request through an HTTP proxy is the proxy's own answer (an origin
    /// behind a tunnel cannot answer as the proxy): the error names the proxy, as a
    /// refused `CONNECT` does. Without a proxy it is the server's status.
    #[cold]
    #[inline(never)]
    fn proxy_auth_required(&self, url: &Url, method: Method, head: &ResponseHead) -> Verdict {
        let error = match self.options.proxy.route(url) {
            Route::Forward(proxy) => JobError::Proxy(ProxyError {
                proxy: proxy.to_string(),
                cause: ProxyCause::Refused {
                    asked: format!("{} {}", method.as_str(), url.for_humans()),
                    status: head.status,
                    reason: head
                        .reason()
                        .chars()
                        .filter(|c| !c.is_control())
                        .take(80)
                        .collect(),
                },
            }),
            Route::Direct | Route::Tunnel(_) => JobError::Status(head.status),
        };
        Verdict::Reject {
            error,
            retry_after: None,
        }
    }

    /// Body bytes arrived of an answer accepted as [`Accept::Bytes`].
    pub fn on_body(&mut self, job: JobId, bytes: &[u8], now: Instant) -> Result<Flow, JobError> {
        self.emit(Event::BodyBytes { len: bytes.len() }, now);
        match self.on_socket[job.0].verdict.as_mut() {
            Some(Verdict::KeepPage { body, .. }) => {
                if body.len() + bytes.len() > MAX_PAGE_BYTES {
                    return Err(JobError::PageTooLarge(MAX_PAGE_BYTES as u64));
                }
                body.extend_from_slice(bytes);
                Ok(Flow::Continue)
            }
            _ => {
                let entry = &mut self.jobs[job.0];
                entry.discarded += bytes.len() as u64;
                Ok(if entry.discarded > MAX_DISCARD_BYTES {
                    Flow::Enough
                } else {
                    Flow::Continue
                })
            }
        }
    }

    /// The engine committed the body of an [`Accept::File`] answer: `bytes` bytes are
    /// now at `path`, under the job's final name.
    pub fn on_saved(&mut self, job: JobId, path: &Path, bytes: u64, now: Instant) {
        self.release(job);
        let resumed = self.options.resume.then(|| {
            self.forget_part(job);
            std::mem::take(&mut self.on_socket[job.0].resume)
        });
        if let Some(PartMark::Appending(kept)) = resumed {
            self.emit(Event::Resumed { job, bytes: kept }, now);
        }
        self.set_phase(job, Phase::Saved, None, now);
        let entry = self.remove(job);
        let url = &entry.original_url;
        let event = Event::FileSaved {
            job,
            url,
            path,
            bytes,
        };
        self.reports.emit(&event, now);
    }

    /// The answer of an [`Accept::Bytes`] head (or one the engine could not use) is
    /// complete: act on its verdict.
    pub fn on_end(&mut self, job: JobId, now: Instant) {
        self.release(job);
        self.jobs[job.0].discarded = 0;
        match self.on_socket[job.0].verdict.take() {
            Some(Verdict::SaveFile) => unreachable!("a file's verdict is never kept"),
            Some(Verdict::KeepPage { head, body }) => self.page_read(job, &head, &body, now),
            Some(Verdict::Redirect { to, method }) => {
                let entry = &mut self.jobs[job.0];
                entry.redirects += 1;
                if entry.redirects > self.options.max_redirects {
                    let limit = self.options.max_redirects;
                    return self.give_up(job, JobError::TooManyRedirects(limit), now);
                }
                self.emit(Event::Redirect { job, to: &to }, now);
                let entry = &mut self.jobs[job.0];
                entry.redirected = Some(to);
                entry.method = method;
                self.set_phase(job, Phase::Queued, None, now);
                self.queue_for(job).push_front(job);
            }
            Some(Verdict::Reject { error, retry_after }) => {
                self.fail_attempt(job, error, retry_after, now)
            }
            Some(Verdict::StartOver) => {
                self.set_phase(job, Phase::Queued, None, now);
                self.queue_for(job).push_front(job);
            }
            None => unreachable!("engines call on_head before on_end"),
        }
    }

    /// The attempt failed (connection, timeout, protocol, output): retry or give up.
    ///
    /// An error that says no descriptor could be made (`EMFILE`, `ENFILE`: the socket,
    /// the staged file, [`JobError::is_out_of_descriptors`]) is backpressure, not a
    /// failure: the job goes back to the front of its queue without counting a try, and
    /// [`Scheduler::take_descriptor_shortage`] tells the engine to hold fewer sockets.
    /// Bounded: after 64 of these (`MAX_SHORT_IN_A_ROW`) with no job finishing in between,
    /// plus one for each other job still in flight (a burst of them may all meet the
    /// limit at once), nothing the engine holds is closing: it is a try like any other
    /// error, so a run whose descriptors something else took ends instead of spinning.
    pub fn on_error(&mut self, job: JobId, error: JobError, now: Instant) {
        self.release(job);
        self.on_socket[job.0].verdict = None;
        self.on_socket[job.0].resume = PartMark::None;
        self.jobs[job.0].discarded = 0;
        if error.is_out_of_descriptors()
            && self.ending == Ending::Finished
            && self.short_in_a_row < MAX_SHORT_IN_A_ROW + self.semaphore.held()
        {
            self.short_in_a_row += 1;
            self.short_of_descriptors = true;
            self.set_phase(job, Phase::Queued, None, now);
            return self.queue_for(job).push_front(job);
        }
        self.fail_attempt(job, error, None, now);
    }

    /// The lookup `job` waited for ([`Scheduler::await_lookup`]) failed: the try fails
    /// with `error` (a temporary failure may be tried again after a backoff).
    pub fn lookup_failed(&mut self, job: JobId, error: JobError, now: Instant) {
        self.awaiting_lookup -= 1;
        self.on_socket[job.0].verdict = None;
        self.fail_attempt(job, error, None, now);
    }

    /// The request went on a reused keep-alive socket that the server had already
    /// closed: resend at once on a fresh socket, without counting a try.
    pub fn on_stale(&mut self, job: JobId, now: Instant) {
        self.release(job);
        self.on_socket[job.0].verdict = None;
        self.on_socket[job.0].resume = PartMark::None;
        let entry = &mut self.jobs[job.0];
        entry.needs_fresh_socket = true;
        let url = entry.url().clone();
        self.emit(Event::StaleResend { job, url: &url }, now);
        self.set_phase(job, Phase::Queued, None, now);
        self.queue_for(job).push_front(job);
    }

    fn fail_attempt(
        &mut self,
        job: JobId,
        error: JobError,
        retry_after: Option<std::time::Duration>,
        now: Instant,
    ) {
        if let (Some(delay), JobError::Status(429 | 503)) = (retry_after, &error) {
            if self.jobs[job.0].throttled < MAX_THROTTLED && self.ending == Ending::Finished {
                return self.pause_host(job, delay, now);
            }
        }
        let entry = &mut self.jobs[job.0];
        if !error.is_retryable()
            || entry.failures >= self.options.retries
            || self.ending != Ending::Finished
        {
            return self.give_up(job, error, now);
        }
        entry.failures += 1;
        entry.needs_fresh_socket = false;
        let retry = entry.failures;
        let delay = retry_after
            .unwrap_or_else(|| backoff(self.options.retry_delay, retry, &mut self.jitter));
        let url = entry.url().clone();
        self.emit(
            Event::Retry {
                job,
                url: &url,
                attempt: retry + 1,
                delay,
                error: &error,
            },
            now,
        );
        let until = now + delay;
        self.set_phase(job, Phase::RetryWait { until }, None, now);
        self.backing_off.push(Reverse((until, job)));
    }

    /// A 429 or 503 with `Retry-After`: no new request starts to the job's host for
    /// `delay`, and the job tries again then, without using up one of `--retries`.
    fn pause_host(&mut self, job: JobId, delay: std::time::Duration, now: Instant) {
        let entry = &mut self.jobs[job.0];
        entry.throttled += 1;
        entry.needs_fresh_socket = false;
        let until = now + delay;
        let url = entry.url().clone();
        self.throttle.pause(url.authority_key(), until);
        self.emit(
            Event::Throttled {
                job,
                url: &url,
                delay,
            },
            now,
        );
        self.set_phase(job, Phase::RetryWait { until }, None, now);
        self.backing_off.push(Reverse((until, job)));
    }

    fn give_up(&mut self, job: JobId, error: JobError, now: Instant) {
        if error.is_output_error() {
            self.stop(Ending::OutputFailed);
        }
        self.set_phase(job, Phase::Failed, None, now);
        let entry = self.remove(job);
        let page = match entry.kind {
            JobKind::Page { page, .. } => Some(page),
            JobKind::File { .. } => None,
        };
        if let (Some(request), Feed::Crawl(feed)) = (page, &mut self.feed) {
            feed.on_page_failed(request);
        }
        if let JobError::Interrupted = error {
            // Not the server's fault nor the job's: counted apart, reported once.
            return self.emit(Event::Stopped { job }, now);
        }
        let (url, is_page) = (&entry.original_url, page.is_some());
        self.emit(
            Event::Failed {
                job,
                url,
                is_page,
                error: &error,
            },
            now,
        );
    }

    fn page_read(&mut self, job: JobId, head: &ResponseHead, body: &[u8], now: Instant) {
        let JobKind::Page { page, .. } = self.jobs[job.0].kind else {
            unreachable!("only page jobs keep their body in memory")
        };
        let Feed::Crawl(feed) = &mut self.feed else {
            unreachable!("page jobs exist only in a crawl")
        };
        let mut new_jobs = std::mem::take(&mut self.scratch);
        let want = super::QUEUE_LOW.saturating_sub(self.ready_files.len());
        // Where redirects led, if they did: the page's URLs are relative to it.
        let moved_to = self.jobs[job.0].redirected.as_ref();
        match feed.on_page(page, moved_to, head, body, want, &mut new_jobs) {
            Ok(report) => {
                self.set_phase(job, Phase::Saved, None, now);
                self.emit(
                    Event::PageRead {
                        job,
                        new_ids: report.new_ids,
                    },
                    now,
                );
                for (id, reason) in &report.rejected {
                    self.emit(Event::IdRejected { id, reason }, now);
                }
                self.remove(job);
                self.report_skipped(now);
                self.add_jobs(&mut new_jobs, now);
            }
            Err(e) => self.give_up(job, JobError::Page(e), now),
        }
        self.scratch = new_jobs;
    }
}

fn announced_length(head: &ResponseHead) -> Option<u64> {
    head.header("content-length")?.trim().parse().ok()
}
