//! The HTTP/1.1 client protocol, sans-IO: no sockets, no clock, only bytes.
//!
//! Why: the reactor, the blocking engine and the thread engine all speak the same HTTP.
//! Written once as plain state machines fed with byte slices, it is shared by all three and
//! tested by feeding bytes split at every position, without a network. rustls, quinn-proto
//! and ureq-proto are built the same way.
//!
//! ```text
//!             Request ──► encode() ──► request bytes ──────────────► socket (caller)
//!
//!   socket (caller) ──► response bytes ──► Exchange::feed(&buf) ──► (consumed, Part)
//!                                          Exchange::feed_eof()      Head(ResponseHead)
//!                         caller drops the                           Body(&[u8]) ...
//!                         consumed bytes,   ◄────────────────────    End { reusable }
//!                         keeps the rest
//! ```
//!
//! Reading order: [`request`] (what we send), [`response`] (the head we get back), [`body`]
//! (how its end is found, and whether the connection lives on), [`chunked`], and
//! [`exchange`] which ties them into one state machine per request. [`error`] names every
//! way it can fail; [`disposition`] reads the file name a server suggests (`-J`). The RFC is 9112 (HTTP/1.1 message syntax), with 9110 for semantics.
//!
//! Layer: `protocol`; may use nothing else of the crate (see `src/protocol/mod.rs`).

mod base64;
pub mod body;
pub mod chunked;
pub mod coding;
pub mod custom;
pub mod disposition;
pub mod error;
pub mod exchange;
pub mod range;
pub mod request;
pub mod response;

pub use body::{body_mode, is_reusable, BodyMode};
pub use chunked::Dechunker;
pub use coding::{Coding, DecodeError, Decoder};
pub use custom::{parse_header, CustomHeaders, HeaderArgError};
pub use disposition::disposition_filename;
pub use error::{ChunkError, CodingName, EofPhase, HttpError, RequestField};
pub use exchange::{Awaiting, Exchange, Part};
pub use range::{content_range, resume_validator, ContentRange};
pub use request::{basic_authorization, decimal, encode, Method, Request};
pub use response::{Limits, ResponseHead, Version};

#[cfg(test)]
mod tests;
