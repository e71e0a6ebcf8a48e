//! A `CONNECT` tunnel through an HTTP proxy, on a socket that has just connected to the
//! proxy: the one copy of the request, the reading of its answer and the errors, which
//! the reactor (nonblocking, in its connection state machine) and the blocking workers
//! ([`Tunnel::establish`]) both use.
//!
//! ```text
//!   connected to the proxy ──► write CONNECT host:port ──► read its head
//!        2xx ──► the socket is the origin's now: TLS with the origin's name (SNI) and
//!                certificate, then the request, as on a direct socket
//!        else ──► JobError::Proxy: "proxy P refused CONNECT host:port: 407 …"
//! ```
//!
//! The bytes are the protocol's ([`encode_connect`], [`ConnectReply`]); this file only
//! moves them and turns the outcome into a [`JobError`]. Nothing may follow the 2xx
//! head before the client speaks (TLS begins with our ClientHello), so bytes after it
//! are an error, not the start of the origin's answer.
//!
//! Layer: `engine`; may use `protocol`, `model`, `policy`, `output` and `transport` (see `src/engine/mod.rs`).

use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use crate::model::error::{JobError, ProxyCause, ProxyError};
use crate::model::stop::Stop;
use crate::protocol::http::{EofPhase, HttpError};
use crate::protocol::proxy::{encode_connect, ConnectReply, Proxy, Reply};
use crate::protocol::url::Url;

/// One `CONNECT` under way: the request, how much of it is written, the answer so far.
#[derive(Debug)]
pub struct Tunnel {
    request: Vec<u8>,
    written: usize,
    reply: ConnectReply,
    /// The proxy, `host:port`, for messages.
    proxy: String,
    /// `CONNECT host:port` as messages show it (a Unicode host name).
    asked: String,
}

impl Tunnel {
    /// The tunnel to `url`'s origin through `proxy` (its `Proxy-Authorization` with it).
    pub fn new(proxy: &Proxy, url: &Url) -> Tunnel {
        let mut request = Vec::with_capacity(128);
        encode_connect(url.host(), url.port(), proxy.authorization(), &mut request);
        Tunnel {
            request,
            written: 0,
            reply: ConnectReply::default(),
            proxy: proxy.to_string(),
            asked: format!("CONNECT {}", url.authority_for_humans()),
        }
    }

    /// The request bytes not yet written.
    pub fn unsent(&self) -> &[u8] {
        &self.request[self.written..]
    }

    /// `n` more request bytes were written.
    pub fn wrote(&mut self, n: usize) {
        self.written += n;
    }

    /// Feeds bytes read from the proxy: `Ok(false)` while its head is not whole,
    /// `Ok(true)` when the tunnel is open.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<bool, JobError> {
        match self.reply.feed(bytes) {
            Ok(None) => Ok(false),
            Ok(Some(Reply::Open { used })) if used == bytes.len() => Ok(true),
            Ok(Some(Reply::Open { .. })) => {
                Err(self.error(ProxyCause::Answer(HttpError::UnexpectedUpgrade)))
            }
            Ok(Some(Reply::Refused { status, reason })) => {
                let asked = self.asked.clone();
                Err(self.error(ProxyCause::Refused {
                    asked,
                    status,
                    reason,
                }))
            }
            Err(e) => Err(self.error(ProxyCause::Answer(e))),
        }
    }

    /// The proxy closed the socket before its answer was whole.
    pub fn eof(&self) -> JobError {
        self.error(ProxyCause::Answer(HttpError::UnexpectedEof {
            phase: EofPhase::Head,
            got: 0,
            expected: None,
        }))
    }

    /// A read or write to the proxy failed.
    pub fn io_error(&self, error: io::Error) -> JobError {
        self.error(ProxyCause::Connect(error))
    }

    /// No answer came within `--connect-timeout` (which covers the tunnel, as in curl).
    pub fn timed_out(&self, connect_timeout: Duration) -> JobError {
        self.io_error(io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "no answer to CONNECT within {:.1} s",
                connect_timeout.as_secs_f64()
            ),
        ))
    }

    fn error(&self, cause: ProxyCause) -> JobError {
        JobError::Proxy(ProxyError {
            proxy: self.proxy.clone(),
            cause,
        })
    }

    /// Opens the tunnel on a blocking `stream` whose reads time out every tick: writes
    /// the request and reads the answer, giving up at `until` (the connect deadline:
    /// `--connect-timeout` covers the tunnel too, as in curl) or when the run stops.
    pub fn establish<S: Read + Write>(
        mut self,
        stream: &mut S,
        until: Instant,
        connect_timeout: Duration,
        stop: &Stop,
    ) -> Result<(), JobError> {
        stream
            .write_all(self.unsent())
            .and_then(|()| stream.flush())
            .map_err(|e| self.io_error(e))?;
        self.written = self.request.len();
        let mut buf = [0u8; 1024];
        loop {
            match stream.read(&mut buf) {
                Ok(0) => return Err(self.eof()),
                Ok(n) => {
                    if self.feed(&buf[..n])? {
                        return Ok(());
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    if stop.requested().is_some() {
                        return Err(JobError::Interrupted);
                    }
                    if Instant::now() >= until {
                        return Err(self.timed_out(connect_timeout));
                    }
                }
                Err(e) => return Err(self.io_error(e)),
            }
        }
    }
}
