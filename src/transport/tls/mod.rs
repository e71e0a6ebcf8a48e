//! TLS for `https://` and `serve --tls`: rustls, configured once, as one more sans-IO
//! layer between the socket and the HTTP exchange.
//!
//! ```text
//!   socket bytes ⇄ rustls::Connection ⇄ plaintext ⇄ http::Exchange (client)
//!                                                 ⇄ serve::request/response (server)
//! ```
//!
//! The moving of bytes lives in [`crate::transport`]; this module decides *what* TLS is
//! spoken: [`Connector`] builds the one `ClientConfig` of a run (the built-in roots, the
//! system's store as [`trust`] reads it once per process, and `--cacert`; or no
//! verification with `--insecure`; ALPN `http/1.1`; TLS 1.2 and 1.3)
//! and opens connections with it, so that every socket to a host shares rustls's
//! in-memory session cache and the second handshake is a resumed one. [`SelfSigned`] is
//! the reference server's self-signed certificate. [`crate::protocol::tls::TlsError`] says, in one line, why
//! a handshake or a TLS stream failed.
//!
//! Read RFC 8446 (TLS 1.3) section 2 for the handshake and 6.1 for `close_notify`.
//!
//! Layer: `transport`; may use `protocol`, `model`, `policy` and `output` (see `src/transport/mod.rs`).

mod client;
mod server;
pub mod trust;

pub use client::{check_cacert, Connector};
pub use server::{server_config, SelfSigned};

/// The protocol miodl speaks inside TLS, announced with ALPN.
pub const ALPN_HTTP11: &[u8] = b"http/1.1";

/// The one crypto provider: ring, which builds with a C compiler alone.
fn provider() -> std::sync::Arc<rustls::crypto::CryptoProvider> {
    std::sync::Arc::new(rustls::crypto::ring::default_provider())
}
