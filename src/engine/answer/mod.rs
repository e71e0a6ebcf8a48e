//! Reading one answer off a socket: the rules every engine shares, in one copy.
//!
//! Every engine reads bytes its own way (the reactor until `WouldBlock`, a blocking
//! worker until a read returns), then hands them to the job's [`Answer`], which runs them
//! through the [`Exchange`] and acts on what they mean:
//!
//! ```text
//!   read ──► Unread (bytes kept from the read before) ──► Answer::feed
//!              head ──► scheduler.on_head ──► a file to stage, or bytes for the policy
//!              body ──► the staged file (sink)  |  scheduler.on_body (pages, dropped)
//!              end  ──► commit under the final name ──► scheduler.on_saved | on_end
//! ```
//!
//! The rules here are the ones the engines used to carry twice:
//!
//! - **Phase from framing** ([`Answer::phase`]): an answer whose head is read is
//!   `ReceivingBody`, else `AwaitingHead`; a timeout or a broken socket is reported in
//!   that phase by every engine.
//! - **The keep-alive race** ([`Answer::broken`], [`Answer::is_stale`], RFC 9112 §9.3.1):
//!   a reused socket that fails before the first byte of its answer was closed by the
//!   server while idle; the request goes again on a fresh socket, not counted as a try.
//! - **The kept bytes** ([`Unread`]): only what cannot be used yet (a head split across
//!   reads) is copied; the rest goes straight from the engine's read buffer.
//! - **Files are the engine's**: the scheduler decides *that* a body is a file; the body
//!   is written, and committed under its final name, here, through `crate::output::sink`,
//!   so the policy never touches a file (and the threads engine never writes a body while
//!   holding the scheduler's lock: see [`Policy`]).
//!
//! May use: [`crate::protocol`], [`crate::model`], [`crate::policy`], [`crate::output`].

use std::fs::File;
use std::io;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Instant;

use crate::model::error::JobError;
use crate::model::event::Event;
use crate::model::job::{JobId, Phase};
use crate::model::partial::Partial;
use crate::output::partial;
use crate::output::sink::{Keep, OutputDir, PartFile};
use crate::policy::scheduler::{Accept, Flow, Scheduler};
use crate::protocol::http::{self, Coding, Decoder, Exchange, HttpError, Limits, Method};

/// How an engine reaches the scheduler: the reactor owns it (`&mut Scheduler`), the
/// threads engine shares it behind a mutex and locks it for each call, never across a
/// file write or a socket call.
pub trait Policy {
    /// Runs `f` on the scheduler.
    fn with<R>(&mut self, f: impl FnOnce(&mut Scheduler) -> R) -> R;

    /// Runs `f` with the final name of `job`'s file and its key in the record of saved
    /// files (`--skip-existing` only: [`Scheduler::record_key`]), outside the scheduler's
    /// lock where there is one (the threads engine copies them out first).
    fn with_file_name<R>(&mut self, job: JobId, f: impl FnOnce(&str, Option<&str>) -> R) -> R;
}

impl Policy for Scheduler {
    fn with<R>(&mut self, f: impl FnOnce(&mut Scheduler) -> R) -> R {
        f(self)
    }

    fn with_file_name<R>(&mut self, job: JobId, f: impl FnOnce(&str, Option<&str>) -> R) -> R {
        let key = self.record_key(job);
        f(self.file_name(job), key.as_deref())
    }
}

/// Where file bodies land: the output directory, the buffers an engine's thread reuses
/// from answer to answer (no allocation per file): the one path buffer the final names
/// are built in and the one a head is copied into, and how many staged files may be
/// open at once.
#[derive(Debug)]
pub struct Landing<'a> {
    /// The output directory.
    pub output: &'a OutputDir,
    /// Scratch for the final path of the file being committed.
    pub path: PathBuf,
    /// The buffer of the last head read, given back once the scheduler has seen it, for
    /// the next head ([`Exchange::feed_reusing`]); it keeps the largest head's size (at
    /// most `Limits::max_head_bytes` and its header table).
    head: Vec<u8>,
    /// The open-file limit's share for staged files, when it is smaller than the pool
    /// (`TransferOptions::staged_files`).
    staged_limit: Option<usize>,
}

impl<'a> Landing<'a> {
    /// Files land in `output`, as many open at once as there are sockets.
    pub fn new(output: &'a OutputDir) -> Landing<'a> {
        Landing {
            output,
            path: PathBuf::new(),
            head: Vec::new(),
            staged_limit: None,
        }
    }

    /// At most `limit` staged files open at once (`None`: no limit of their own).
    pub fn with_staged_limit(mut self, limit: Option<usize>) -> Landing<'a> {
        self.staged_limit = limit.map(|n| n.max(1));
        self
    }

    /// Every descriptor set aside for staged files is taken: a socket that holds no
    /// staged file must not start a body now. Always false without a limit.
    #[inline]
    pub fn no_file_to_spare(&self) -> bool {
        self.staged_limit
            .is_some_and(|limit| self.output.staged_open() >= limit)
    }
}

/// What a buffer amounted to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// The answer is not complete: read more.
    NeedMore,
    /// The answer is complete and the scheduler was told.
    Ended {
        /// The protocol allows another request on this socket.
        reusable: bool,
        /// Bytes of the read are left over: they belong to the answer after this one
        /// (a pipelined request's), or, when none was asked for, to nobody.
        left_over: bool,
    },
}

/// What [`Answer::feed`] did with its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Used {
    /// `used` bytes went into the answer; the rest is an incomplete piece: read more.
    Partly {
        /// Bytes used.
        used: usize,
    },
    /// The answer ended after `used` bytes (and the scheduler was told).
    Ended {
        /// Bytes used; any after them are not this answer's.
        used: usize,
        /// The protocol allows another request on this socket.
        reusable: bool,
    },
}

/// How an attempt on a socket went wrong.
#[derive(Debug)]
pub enum Broken {
    /// The reused socket was closed by the server before it answered: resend at once
    /// on a fresh socket ([`Scheduler::on_stale`]), not counted as a try.
    Stale,
    /// A failed try ([`Scheduler::on_error`]).
    Failed(JobError),
}

/// Where the body of the answer goes, decided by its head.
#[derive(Debug)]
enum Body {
    /// The head is not read yet.
    Undecided,
    /// A file download: bytes go to the staged file, held to `--max-filesize`.
    File { part: PartFile, limit: Option<u64> },
    /// `-C`: a part that is already whole (a `416`): the body is dropped, the part
    /// committed at the end.
    Whole { part: PartFile },
    /// A page kept in memory, or an answer dropped: bytes go to the scheduler.
    Policy,
}

/// A body being decoded (`--compressed` and a `Content-Encoding` miodl knows): the
/// decoder and the buffer its output goes through, a bounded piece at a time.
#[derive(Debug)]
struct Decoding {
    decoder: Decoder,
    out: Box<[u8]>,
}

/// How much decoded body one piece holds at most.
const DECODED_PIECE: usize = 32 << 10;

/// One answer being read for `job`: the protocol's exchange and the body's destination.
#[derive(Debug)]
pub struct Answer {
    job: JobId,
    exchange: Exchange,
    body: Body,
    /// `Some` only for an encoded body under `--compressed`: every body byte then goes
    /// through it, before `--max-filesize` counts and before the file.
    decoding: Option<Box<Decoding>>,
}

impl Answer {
    /// The answer to `job`'s request, sent with `method`.
    pub fn new(job: JobId, method: Method, keep_alive: bool) -> Answer {
        Answer {
            job,
            exchange: Exchange::new(method, keep_alive, Limits::default()),
            body: Body::Undecided,
            decoding: None,
        }
    }

    /// The job this answer is for.
    pub fn job(&self) -> JobId {
        self.job
    }

    /// The request's method.
    pub fn method(&self) -> Method {
        self.exchange.method()
    }

    /// The phase the answer is in, from its framing: its head is read or not.
    pub fn phase(&self) -> Phase {
        if self.exchange.body_mode().is_some() {
            Phase::ReceivingBody
        } else {
            Phase::AwaitingHead
        }
    }

    /// Has any byte of the answer arrived (here, or still in `unread`)?
    pub fn is_answered(&self, unread: &Unread) -> bool {
        self.exchange.has_response_bytes() || !unread.is_empty()
    }

    /// The keep-alive race: a socket that served a request before (`reused`) and ends
    /// before any byte of this answer was closed by the server while idle.
    pub fn is_stale(&self, reused: bool, unread: &Unread) -> bool {
        reused && !self.is_answered(unread)
    }

    /// What a failed read or write (`error`, while `during` the given phase) means: the
    /// keep-alive race, or a failed try reported in the answer's phase (a write that
    /// failed before any answer byte is reported as `Sending`).
    pub fn broken(&self, reused: bool, unread: &Unread, error: io::Error, during: Phase) -> Broken {
        if self.is_stale(reused, unread) {
            return Broken::Stale;
        }
        let phase = match during {
            Phase::Sending if !self.is_answered(unread) => Phase::Sending,
            _ => self.phase(),
        };
        Broken::Failed(JobError::io(error, phase))
    }

    /// The body bytes still to come, when the framing announced a length.
    pub fn body_remaining(&self) -> Option<u64> {
        self.exchange.body_remaining()
    }

    /// Feeds `input` through the exchange and acts on what it yields: the bytes used,
    /// and whether the answer is complete. On error the scheduler has not been told: the
    /// caller reports it (a failure, or a failed pipeline).
    pub fn feed(
        &mut self,
        input: &[u8],
        policy: &mut impl Policy,
        landing: &mut Landing<'_>,
        now: Instant,
    ) -> Result<Used, JobError> {
        let mut consumed = 0;
        loop {
            let (used, event) = self
                .exchange
                .feed_reusing(&input[consumed..], &mut landing.head)
                .map_err(JobError::Http)?;
            consumed += used;
            match event {
                // Nothing consumed: the rest is an incomplete piece; read more.
                None if used == 0 => return Ok(Used::Partly { used: consumed }),
                // Framing consumed (an interim 1xx head, a chunk-size line): go on.
                None => {}
                Some(http::Part::Head(head)) => {
                    let accepted = self.on_head(&head, policy, landing, now);
                    // Seen, and copied by whoever keeps it: its buffer serves the next.
                    landing.head = head.into_storage();
                    accepted?;
                }
                Some(http::Part::Body(bytes)) => match self.on_body(bytes, policy, now)? {
                    Flow::Continue => {}
                    // Enough of an answer read only to be dropped: the socket is not
                    // reusable.
                    Flow::Enough => {
                        self.end(policy, landing, now);
                        let (used, reusable) = (consumed, false);
                        return Ok(Used::Ended { used, reusable });
                    }
                },
                Some(http::Part::End { reusable }) => {
                    self.end(policy, landing, now);
                    return Ok(Used::Ended {
                        used: consumed,
                        reusable,
                    });
                }
            }
        }
    }

    /// The peer closed the socket: this ends a close-delimited body, and is an error
    /// anywhere else (not reported: the caller does).
    pub fn feed_eof(
        &mut self,
        policy: &mut impl Policy,
        landing: &mut Landing<'_>,
        now: Instant,
    ) -> Result<(), JobError> {
        match self.exchange.feed_eof().map_err(JobError::Http)? {
            Some(http::Part::End { .. }) | None => {
                self.end(policy, landing, now);
                Ok(())
            }
            Some(http::Part::Head(_)) | Some(http::Part::Body(_)) => {
                unreachable!("an exchange yields only End at EOF")
            }
        }
    }

    /// Whether this answer holds an open staged file (its body has begun, or `-C` opened
    /// its part): then it goes on whatever the open-file limit says, so that it ends and
    /// frees its descriptor.
    pub fn holds_file(&self) -> bool {
        match &self.body {
            Body::File { part, .. } | Body::Whole { part } => part.holds_descriptor(),
            Body::Undecided | Body::Policy => false,
        }
    }

    /// The staged file, when the body may be moved into it directly (a file download
    /// whose head was accepted), created if needed; `None` for any other body, and for
    /// an encoded one (`--compressed`: its bytes are not the file's).
    pub fn splice_target(&mut self) -> Option<io::Result<&File>> {
        if self.decoding.is_some() {
            return None;
        }
        match &mut self.body {
            Body::File { part, .. } => Some(part.file()),
            _ => None,
        }
    }

    /// A failure of the output while the body goes into [`Answer::splice_target`]'s
    /// file by other means: a [`JobError::Output`] naming the output directory.
    pub fn output_error(&self, error: io::Error) -> JobError {
        let path = match &self.body {
            Body::File { part, .. } => part.dir_path().to_path_buf(),
            _ => PathBuf::new(),
        };
        JobError::Output { path, error }
    }

    /// `n` body bytes went into [`Answer::splice_target`]'s file by other means
    /// (`splice(2)`, a disk thread).
    pub fn body_moved(&mut self, n: u64, policy: &mut impl Policy, now: Instant) {
        self.exchange.body_moved(n);
        if let Body::File { part, .. } = &mut self.body {
            part.moved(n);
        }
        policy.with(|s| s.emit(Event::BodyBytes { len: n as usize }, now));
    }

    fn on_head(
        &mut self,
        head: &http::ResponseHead,
        policy: &mut impl Policy,
        landing: &Landing<'_>,
        now: Instant,
    ) -> Result<(), JobError> {
        let job = self.job;
        let accept = policy.with(|s| {
            let accept = s.on_head(job, head, now)?;
            s.set_phase(job, Phase::ReceivingBody, None, now);
            let options = s.options();
            Ok::<_, JobError>((accept, options.max_filesize, options.compressed))
        })?;
        let (accept, limit, compressed) = accept;
        // `--compressed`: a success's body in a coding miodl knows is decoded; any other
        // coding is kept as it came (curl's way), an error answer's body is not read.
        self.decoding = compressed
            .then(|| head.header_bytes("content-encoding"))
            .flatten()
            .filter(|_| (200..300).contains(&head.status) && self.method() != Method::Head)
            .and_then(Coding::from_header)
            .map(|coding| {
                Box::new(Decoding {
                    decoder: Decoder::new(coding),
                    out: vec![0; DECODED_PIECE].into_boxed_slice(),
                })
            });
        self.body = match accept {
            Accept::File => Body::File {
                part: landing.output.part_file(job.0),
                limit,
            },
            Accept::Bytes => Body::Policy,
            accept => kept_body(accept, job, head, limit, policy, landing)?,
        };
        Ok(())
    }

    fn on_body(
        &mut self,
        bytes: &[u8],
        policy: &mut impl Policy,
        now: Instant,
    ) -> Result<Flow, JobError> {
        let Some(decoding) = self.decoding.as_deref_mut() else {
            // The body ends with these bytes when its announced length is reached.
            let last = self.exchange.body_remaining() == Some(0);
            return deliver(&mut self.body, self.job, bytes, last, policy, now);
        };
        let mut input = bytes;
        loop {
            let (used, made) = decoding
                .decoder
                .decode(input, &mut decoding.out)
                .map_err(|e| JobError::Http(HttpError::Decode(e)))?;
            input = &input[used..];
            if made > 0 {
                let piece = &decoding.out[..made];
                if deliver(&mut self.body, self.job, piece, false, policy, now)? == Flow::Enough {
                    return Ok(Flow::Enough);
                }
            }
            if used == 0 && made == 0 {
                // Everything used and nothing more to come out of it: wait for bytes.
                return Ok(Flow::Continue);
            }
        }
    }

    /// The answer is complete: a file is committed under its final name, anything else
    /// is the scheduler's to act on. An encoded body must have ended with its stream.
    fn end(&mut self, policy: &mut impl Policy, landing: &mut Landing<'_>, now: Instant) {
        let job = self.job;
        if let Some(decoding) = self.decoding.take() {
            if let Err(e) = decoding.decoder.finish() {
                // Dropping the staged file removes it: no partial file.
                self.body = Body::Undecided;
                policy.with(|s| s.on_error(job, JobError::Http(HttpError::Decode(e)), now));
                return;
            }
        }
        self.commit(policy, landing, now);
    }

    fn commit(&mut self, policy: &mut impl Policy, landing: &mut Landing<'_>, now: Instant) {
        let job = self.job;
        match std::mem::replace(&mut self.body, Body::Undecided) {
            Body::File { part, .. } | Body::Whole { part } => {
                let committed = policy.with_file_name(job, |name, key| {
                    landing.output.final_path_into(name, &mut landing.path);
                    part.commit_recorded(name, key)
                });
                policy.with(|s| match committed {
                    Ok(bytes) => s.on_saved(job, &landing.path, bytes, now),
                    Err(error) => {
                        let path = landing.path.clone();
                        s.on_error(job, JobError::Output { path, error }, now)
                    }
                });
            }
            Body::Policy | Body::Undecided => policy.with(|s| s.on_end(job, now)),
        }
    }
}

/// `-C`: the body of an accepted file under `-C` (out of line: the common run never
/// calls it).
#[cold]
#[inline(never)]
fn kept_body<P: Policy>(
    accept: Accept,
    job: JobId,
    head: &http::ResponseHead,
    limit: Option<u64>,
    policy: &mut P,
    landing: &Landing<'_>,
) -> Result<Body, JobError> {
    Ok(match accept {
        Accept::Append => {
            let at = policy.with(|s| s.appending_at(job));
            let mut part = open_kept(job, Keep::Append { at }, policy, landing)?;
            if let Some(progress) = policy.with(|s| s.part_progress(job)) {
                part.track(progress);
            }
            Body::File { part, limit }
        }
        Accept::Whole => Body::Whole {
            part: open_kept(job, Keep::Whole, policy, landing)?,
        },
        Accept::Keep => Body::File {
            part: kept_or_staged(job, head, policy, landing)?,
            limit,
        },
        Accept::File => Body::File {
            part: landing.output.part_file(job.0),
            limit,
        },
        Accept::Bytes => Body::Policy,
    })
}

/// `-C`: where a whole answer's body goes: a kept part (`crate::output::partial`) when
/// it can be resumed later (a GET's identity-encoded body with a strong validator, and a
/// name short enough), else a file staged as without `-C`.
fn kept_or_staged<P: Policy>(
    job: JobId,
    head: &http::ResponseHead,
    policy: &mut P,
    landing: &Landing<'_>,
) -> Result<PartFile, JobError> {
    let identity = head
        .header("content-encoding")
        .is_none_or(|c| c.trim().eq_ignore_ascii_case("identity"));
    let validator = http::resume_validator(head).filter(|_| identity);
    let length = head
        .header("content-length")
        .and_then(|n| n.trim().parse::<u64>().ok());
    let (name, url) = policy.with(|s| {
        let (name, url) = s.part_of(job);
        (name.to_string(), url.to_string())
    });
    let described = validator.and_then(|v| Some((v, partial::meta_text(&url, v, length)?)));
    // Staged as without `-C`; an old part of this name would outlive the file: removed.
    let staged = |policy: &mut P| {
        if policy.with(|s| s.drop_part(job)) {
            landing.output.remove_part(&name);
        }
        Ok(landing.output.part_file(job.0))
    };
    let Some((validator, meta)) = described else {
        return staged(policy);
    };
    let mut part = match open_kept(job, Keep::Fresh { meta: &meta }, policy, landing) {
        // A name too long for a part's.
        Err(JobError::Output { error, .. }) if error.kind() == io::ErrorKind::InvalidInput => {
            return staged(policy);
        }
        opened => opened?,
    };
    // A retry in this run resumes the part from where its drop leaves it.
    let progress = Arc::new(AtomicU64::new(0));
    part.track(Arc::clone(&progress));
    let kept = Partial {
        name,
        url,
        validator: validator.to_string(),
        length,
        have: 0,
        progress: Some(progress),
    };
    policy.with(|s| s.part_kept(kept));
    Ok(part)
}

/// `-C`: opens the part of `job` (named after the name the job was made with).
fn open_kept(
    job: JobId,
    keep: Keep<'_>,
    policy: &mut impl Policy,
    landing: &Landing<'_>,
) -> Result<PartFile, JobError> {
    let name = policy.with(|s| s.part_of(job).0.to_string());
    landing
        .output
        .kept_part(job.0, &name, keep)
        .map_err(|error| JobError::Output {
            path: landing.output.path().to_path_buf(),
            error,
        })
}

/// Body bytes (decoded, when they were encoded) to where the head sent them: the staged
/// file, held to `--max-filesize`, or the scheduler.
fn deliver(
    body: &mut Body,
    job: JobId,
    bytes: &[u8],
    last: bool,
    policy: &mut impl Policy,
    now: Instant,
) -> Result<Flow, JobError> {
    match body {
        Body::File { part, limit } => {
            if let Some(limit) = *limit {
                if part.written() + bytes.len() as u64 > limit {
                    return Err(JobError::TooLarge(limit));
                }
            }
            part.write(bytes, last).map_err(|error| JobError::Output {
                path: part.dir_path().to_path_buf(),
                error,
            })?;
            policy.with(|s| s.emit(Event::BodyBytes { len: bytes.len() }, now));
            Ok(Flow::Continue)
        }
        Body::Policy => policy.with(|s| s.on_body(job, bytes, now)),
        // The body of a `416`: not the file's.
        Body::Whole { .. } => Ok(Flow::Continue),
        Body::Undecided => unreachable!("the exchange yields the head before the body"),
    }
}

/// Answer bytes read but not usable yet (a head split across reads), kept between
/// reads. Empty most of the time: then bytes go straight from the read buffer.
#[derive(Debug, Default)]
pub struct Unread {
    kept: Vec<u8>,
}

impl Unread {
    /// Nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.kept.is_empty()
    }

    /// A read arrived: call once per read, before [`Unread::feed`].
    pub fn arrived(&mut self, read: &[u8]) {
        if !self.kept.is_empty() {
            self.kept.extend_from_slice(read);
        }
    }

    /// Feeds the next bytes of the read (`read[*start..]`, after the kept ones) to
    /// `answer`, and keeps what it could not use yet. After an `Ended`, call again with
    /// the next answer while `left_over`: the rest of the read is its.
    #[inline]
    pub fn feed(
        &mut self,
        answer: &mut Answer,
        read: &[u8],
        start: &mut usize,
        policy: &mut impl Policy,
        landing: &mut Landing<'_>,
        now: Instant,
    ) -> Result<Progress, JobError> {
        let from_kept = !self.kept.is_empty();
        let input: &[u8] = if from_kept {
            &self.kept
        } else {
            &read[*start..]
        };
        let total = input.len();
        match answer.feed(input, policy, landing, now)? {
            Used::Partly { used } => {
                if from_kept {
                    self.kept.drain(..used);
                } else {
                    self.kept.extend_from_slice(&read[*start + used..]);
                }
                Ok(Progress::NeedMore)
            }
            Used::Ended { used, reusable } => {
                if from_kept {
                    self.kept.drain(..used);
                } else {
                    *start += used;
                }
                let left_over = total > used;
                Ok(Progress::Ended {
                    reusable,
                    left_over,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests;
