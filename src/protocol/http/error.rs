//! Why an HTTP exchange failed, as a type.
//!
//! One enum for the whole protocol layer, one variant per cause, so the caller can decide
//! what to do (retry on a fresh socket, or give up and name the problem) without parsing
//! strings. `Display` is a lowercase phrase meant for a user; the parser's own error is kept
//! as the [`std::error::Error::source`] of [`HttpError::Malformed`].
//!
//! Read with: RFC 9112 §6.3 (message body length) for the framing errors, §7.1 (chunked
//! transfer coding) for [`ChunkError`], and docs/reference.md §5 for which failures
//! are retryable.
//!
//! Layer: `protocol`; may use nothing else of the crate (see `src/protocol/mod.rs`).

use std::fmt;

/// Everything that can go wrong while encoding a request or reading a response.
///
/// The type is `Copy`: an [`crate::protocol::http::Exchange`] that failed keeps its error and returns
/// it again if it is fed more. `#[non_exhaustive]`: a later version may add causes, so a
/// `match` outside miodl needs a `_` arm (or asks [`HttpError::is_retryable`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HttpError {
    /// The response head is not HTTP/1.x: a bad status line, a bad header name or value,
    /// or bytes that are not HTTP at all (e.g. a TLS record, an SSH banner, `garbage`).
    /// The parser's error is kept as the source.
    Malformed(httparse::Error),
    /// No complete response head within the first `limit` bytes.
    HeadTooLarge {
        /// The configured [`crate::protocol::http::Limits::max_head_bytes`].
        limit: usize,
    },
    /// The heads of one response, interim 1xx answers included, add up to more than
    /// `limit` bytes: a server that sends `100 Continue` (or any 1xx) without end.
    HeadsTooLarge {
        /// The configured [`crate::protocol::http::Limits::max_total_head_bytes`].
        limit: usize,
    },
    /// The response head has more header lines than we accept.
    TooManyHeaders {
        /// The configured [`crate::protocol::http::Limits::max_headers`].
        limit: usize,
    },
    /// The status line names an HTTP version other than 1.0 or 1.1.
    UnsupportedVersion,
    /// `Content-Length` appears with different values (in several fields or in one
    /// comma-separated list), so the body length is ambiguous (RFC 9112 §6.3, rule 5).
    ConflictingContentLength,
    /// `Content-Length` is not a decimal number that fits in 64 bits.
    InvalidContentLength,
    /// The chunked body breaks the grammar of RFC 9112 §7.1.
    BadChunk {
        /// What exactly was wrong.
        reason: ChunkError,
    },
    /// The peer closed the connection before the response was complete.
    UnexpectedEof {
        /// Where in the response the connection ended.
        phase: EofPhase,
        /// Bytes received in that phase: head bytes for [`EofPhase::Head`], body bytes
        /// (after dechunking) for the body phases, 0 before the response.
        got: u64,
        /// The announced body length, when there was one.
        expected: Option<u64>,
    },
    /// A request field would not survive the trip onto the wire unchanged: it holds a
    /// line break, NUL, another control character, or (target and host) a space or a
    /// non-ASCII byte. Nothing was written.
    InvalidRequest {
        /// Which field. Its value is never printed: it may be a credential.
        field: RequestField,
    },
    /// The server answered `101 Switching Protocols`, but we never ask to upgrade.
    UnexpectedUpgrade,
    /// `Transfer-Encoding` lists a coding other than `chunked` (`gzip, chunked`,
    /// `deflate`, ...): the body bytes are not the content, and a client must not pass on
    /// a coding it does not decode (RFC 9112 §6.1).
    UnsupportedTransferCoding {
        /// The first coding listed that is not `chunked`.
        coding: CodingName,
    },
    /// `Transfer-Encoding` lists `chunked` twice (`chunked, chunked`, or two header
    /// lines that both say `chunked`): RFC 9112 §6.1 forbids applying it more than once,
    /// and where the body ends would be a guess.
    ChunkedTwice,
    /// A body sent with a `Content-Encoding` miodl decodes (`--compressed`) is not
    /// what that coding says.
    Decode(super::coding::DecodeError),
}

/// The name of a transfer coding, as the server spelled it, kept inline so that
/// [`HttpError`] stays `Copy`: the first [`CodingName::MAX`] bytes of it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct CodingName {
    bytes: [u8; CodingName::MAX],
    len: u8,
    truncated: bool,
}

impl CodingName {
    /// The most bytes of a name kept; a longer name is shown cut, with `...`.
    pub const MAX: usize = 16;

    /// The name `name`, cut at [`CodingName::MAX`] bytes.
    pub fn new(name: &[u8]) -> CodingName {
        let len = name.len().min(CodingName::MAX);
        let mut bytes = [0; CodingName::MAX];
        bytes[..len].copy_from_slice(&name[..len]);
        CodingName {
            bytes,
            len: len as u8,
            truncated: name.len() > len,
        }
    }

    /// The bytes kept of the name.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

impl fmt::Display for CodingName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.as_bytes().escape_ascii())?;
        if self.truncated {
            f.write_str("...")?;
        }
        Ok(())
    }
}

impl fmt::Debug for CodingName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CodingName(\"{self}\")")
    }
}

/// Where a response was cut short by the peer closing the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EofPhase {
    /// Not a single byte of the response arrived. On a reused keep-alive socket this is the
    /// "stale connection" case: the server closed it while idle, resend on a fresh socket.
    BeforeResponse,
    /// Inside the status line or the headers.
    Head,
    /// Inside a body framed by `Content-Length`.
    Body,
    /// Inside a chunked body: the final zero-size chunk never arrived.
    ChunkedBody,
}

/// Which field of a [`crate::protocol::http::Request`] was rejected by [`crate::protocol::http::encode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestField {
    /// The request target (path and query).
    Target,
    /// The `Host` header value.
    Host,
    /// The `Authorization` header value.
    Authorization,
    /// The `If-Range` value of a resumed body (`-C`), read from its part's description.
    IfRange,
}

/// What was wrong in a chunked body (RFC 9112 §7.1). `#[non_exhaustive]`, as
/// [`HttpError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChunkError {
    /// A chunk-size line does not start with a hexadecimal digit, or has a stray byte
    /// after the size.
    InvalidSize,
    /// The chunk size does not fit in 64 bits.
    SizeOverflow,
    /// A chunk-size line or a trailer line is longer than the limit, in bytes.
    LineTooLong {
        /// The longest line accepted.
        limit: usize,
    },
    /// A CR was not followed by LF, or chunk data was not followed by CRLF.
    MissingLineFeed,
    /// The trailer section after the last chunk is longer than the limit, in bytes: a
    /// server that sends trailer fields without end.
    TrailersTooLong {
        /// The largest trailer section accepted
        /// ([`crate::protocol::http::Limits::max_trailer_bytes`]).
        limit: usize,
    },
}

impl HttpError {
    /// Is it worth trying this request again (on a fresh connection)?
    ///
    /// A connection that ended early is a transport accident: yes. A response that is
    /// malformed, too large or ambiguous will be the same next time: no.
    pub fn is_retryable(&self) -> bool {
        match self {
            HttpError::UnexpectedEof { .. } => true,
            HttpError::Malformed(_)
            | HttpError::HeadTooLarge { .. }
            | HttpError::HeadsTooLarge { .. }
            | HttpError::TooManyHeaders { .. }
            | HttpError::UnsupportedVersion
            | HttpError::ConflictingContentLength
            | HttpError::InvalidContentLength
            | HttpError::BadChunk { .. }
            | HttpError::InvalidRequest { .. }
            | HttpError::UnexpectedUpgrade
            | HttpError::UnsupportedTransferCoding { .. }
            | HttpError::ChunkedTwice
            | HttpError::Decode(_) => false,
        }
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::Malformed(e) => write!(f, "malformed response head ({e})"),
            HttpError::Decode(e) => write!(f, "{e}"),
            HttpError::HeadTooLarge { limit } => {
                write!(f, "response head larger than {limit} bytes")
            }
            HttpError::HeadsTooLarge { limit } => write!(
                f,
                "response heads, interim 1xx answers included, larger than {limit} bytes in total"
            ),
            HttpError::TooManyHeaders { limit } => {
                write!(f, "response head has more than {limit} header fields")
            }
            HttpError::UnsupportedVersion => f.write_str("response is not HTTP/1.0 or HTTP/1.1"),
            HttpError::ConflictingContentLength => {
                f.write_str("response has conflicting content-length values")
            }
            HttpError::InvalidContentLength => {
                f.write_str("response has an invalid content-length")
            }
            HttpError::BadChunk { reason } => write!(f, "bad chunked body: {reason}"),
            HttpError::UnexpectedEof {
                phase,
                got,
                expected,
            } => match (phase, expected) {
                (EofPhase::BeforeResponse, _) => {
                    f.write_str("connection closed before any response byte")
                }
                (EofPhase::Head, _) => {
                    write!(
                        f,
                        "connection closed after {got} bytes of the response head"
                    )
                }
                (EofPhase::Body | EofPhase::ChunkedBody, Some(total)) => {
                    write!(f, "connection closed after {got} of {total} body bytes")
                }
                (EofPhase::Body, None) => {
                    write!(f, "connection closed after {got} body bytes")
                }
                (EofPhase::ChunkedBody, None) => write!(
                    f,
                    "connection closed after {got} body bytes, before the last chunk"
                ),
            },
            HttpError::InvalidRequest { field } => f.write_str(match field {
                RequestField::Target => {
                    "request target contains a space, control character or non-ASCII byte"
                }
                RequestField::Host => "host contains a space, control character or non-ASCII byte",
                RequestField::Authorization => {
                    "authorization value contains a line break or control character"
                }
                RequestField::IfRange => {
                    "the If-Range value of a part to resume is empty or holds a control character"
                }
            }),
            HttpError::UnexpectedUpgrade => {
                f.write_str("server switched protocols (101) although no upgrade was asked for")
            }
            HttpError::UnsupportedTransferCoding { coding } => {
                write!(f, "unsupported transfer coding {coding}")
            }
            HttpError::ChunkedTwice => f.write_str(
                "Transfer-Encoding lists chunked more than once (it may be applied only once)",
            ),
        }
    }
}

impl fmt::Display for ChunkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChunkError::InvalidSize => f.write_str("chunk size is not a hexadecimal number"),
            ChunkError::SizeOverflow => f.write_str("chunk size does not fit in 64 bits"),
            ChunkError::LineTooLong { limit } => {
                write!(f, "chunk-size or trailer line longer than {limit} bytes")
            }
            ChunkError::MissingLineFeed => {
                f.write_str("missing CRLF after a chunk line or chunk data")
            }
            ChunkError::TrailersTooLong { limit } => {
                write!(
                    f,
                    "trailer fields after the last chunk longer than {limit} bytes"
                )
            }
        }
    }
}

impl std::error::Error for HttpError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            HttpError::Malformed(e) => Some(e),
            _ => None,
        }
    }
}

impl From<ChunkError> for HttpError {
    fn from(reason: ChunkError) -> Self {
        HttpError::BadChunk { reason }
    }
}
