//! The protocol layer: what bytes mean, and nothing else.
//!
//! Every module here is sans-IO: it is fed byte slices (or parsed values) and returns
//! events, decisions or errors. None of them opens a socket, a file, or reads the clock,
//! so each is tested by feeding bytes, split at every position.
//!
//! - [`http`]: the HTTP/1.1 client exchange (request heads, response heads, framing,
//!   the dechunker, the keep-alive decision).
//! - [`url`]: `http://` and `https://` URLs, parsed and checked once.
//! - [`pager`]: the list API's pages and ids.
//! - [`proxy`]: HTTP proxies: their URLs, `--noproxy`, routes, `CONNECT` and its answer.
//! - `tls`: why a TLS connection failed, sorted from rustls's errors into causes.
//!
//! May use: the standard library, httparse, serde_json, rustls (its error types). Nothing else of the crate.

pub mod http;
pub mod pager;
pub mod proxy;
#[cfg(feature = "tls")]
pub mod tls;
pub mod url;
