//! One socket's byte path, plain or through TLS: the one copy of the I/O logic that the
//! reactor, the blocking workers and the reference server all call.
//!
//! ```text
//!   socket bytes ⇄ rustls (records, handshake, alerts) ⇄ plaintext ⇄ HTTP exchange
//!        ▲ read_tls / write_tls          reader() / writer() ▲
//!        └──────────── Transport::Tls ───────────────────────┘
//!   socket bytes ════════════ Transport::Plain ═══════════ plaintext
//! ```
//!
//! rustls is sans-IO, like our HTTP exchange: it never touches a socket. It is fed the
//! bytes read from the socket (`read_tls`, then `process_new_packets`), hands back
//! plaintext (`reader`), takes plaintext (`writer`) and leaves records for us to write
//! (`write_tls` while `wants_write`). [`Transport`] wraps that dance behind `Read` and
//! `Write`, so the callers keep their edge-triggered loops unchanged:
//!
//! - `read` returns plaintext; `WouldBlock` when the socket has nothing more (a read
//!   that only carried handshake records or a session ticket also ends there); `Ok(0)`
//!   at EOF, which for TLS means the peer's `close_notify`. A TLS stream that ends
//!   without `close_notify` is an error ([`TlsError::NoCloseNotify`]): the bytes so far
//!   may be a truncation by an attacker, which TLS exists to rule out.
//! - `write` takes plaintext and writes as many TLS records as the socket takes; what it
//!   does not take stays in rustls, and [`Transport::flush`] writes it on the next
//!   writable edge. The handshake needs no extra step: reads and writes drive it.
//!
//! A short read says the socket is drained only on a plain socket ([`Transport::is_plain`]):
//! through TLS, the plaintext length says nothing about what is left in the kernel.
//!
//! May use: [`crate::protocol`], [`crate::model`] (the options, the job's errors),
//! rustls; not the policy's decisions: it only moves bytes.

#[cfg(feature = "tls")]
pub mod tls;

use std::io::{self, Read, Write};
#[cfg(feature = "tls")]
use std::sync::{Arc, OnceLock};

#[cfg(feature = "tls")]
use crate::protocol::tls::TlsError;

/// A connected socket, with or without TLS on top.
#[derive(Debug)]
pub enum Transport<S> {
    /// Plain TCP: reads and writes go straight to the socket.
    Plain(S),
    /// TLS over TCP, client or server side.
    #[cfg(feature = "tls")]
    Tls(Box<TlsStream<S>>),
}

/// A socket and the rustls state machine that encrypts it.
#[cfg(feature = "tls")]
#[derive(Debug)]
pub struct TlsStream<S> {
    socket: S,
    tls: rustls::Connection,
    /// The socket said EOF; rustls decides whether that was clean.
    eof: bool,
    /// The end of the handshake was handed to [`Transport::take_handshake`] already.
    handshake_told: bool,
}

/// How a finished TLS handshake went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Handshake {
    /// True when the session was resumed (no certificate exchange, fewer round trips).
    pub resumed: bool,
}

impl<S> Transport<S> {
    /// TLS with the state machine `tls` (a fresh client or server connection) on `socket`.
    #[cfg(feature = "tls")]
    pub fn tls(socket: S, tls: rustls::Connection) -> Transport<S> {
        Transport::Tls(Box::new(TlsStream {
            socket,
            tls,
            eof: false,
            handshake_told: false,
        }))
    }

    /// The socket underneath (to register it, check a connect, set options).
    pub fn socket(&self) -> &S {
        match self {
            Transport::Plain(socket) => socket,
            #[cfg(feature = "tls")]
            Transport::Tls(stream) => &stream.socket,
        }
    }

    /// The socket underneath, mutably (mio's `register` wants `&mut`).
    pub fn socket_mut(&mut self) -> &mut S {
        match self {
            Transport::Plain(socket) => socket,
            #[cfg(feature = "tls")]
            Transport::Tls(stream) => &mut stream.socket,
        }
    }

    /// True for a plain socket: only there does a short read mean the socket is drained.
    pub fn is_plain(&self) -> bool {
        matches!(self, Transport::Plain(_))
    }

    /// True while TLS records wait to be written (the handshake, or a request's tail).
    pub fn wants_write(&self) -> bool {
        match self {
            Transport::Plain(_) => false,
            #[cfg(feature = "tls")]
            Transport::Tls(stream) => stream.tls.wants_write(),
        }
    }

    /// The handshake's outcome, once, the first time it is asked after the handshake
    /// finished; `None` before, after, and always for a plain socket.
    pub fn take_handshake(&mut self) -> Option<Handshake> {
        match self {
            Transport::Plain(_) => None,
            #[cfg(feature = "tls")]
            Transport::Tls(stream) => {
                if stream.handshake_told || stream.tls.is_handshaking() {
                    return None;
                }
                stream.handshake_told = true;
                let kind = stream.tls.handshake_kind();
                Some(Handshake {
                    resumed: kind == Some(rustls::HandshakeKind::Resumed),
                })
            }
        }
    }
}

impl<S: Read + Write> Transport<S> {
    /// Queues TLS `close_notify` (so the peer can tell our close from a truncation) and
    /// writes what the socket takes. Nothing to do on a plain socket.
    pub fn send_close_notify(&mut self) -> io::Result<()> {
        match self {
            Transport::Plain(_) => Ok(()),
            #[cfg(feature = "tls")]
            Transport::Tls(stream) => {
                stream.tls.send_close_notify();
                stream.flush_records()
            }
        }
    }
}

impl<S: Read + Write> Read for Transport<S> {
    /// Plaintext; see the module docs for `WouldBlock`, `Ok(0)` and TLS errors.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(socket) => socket.read(buf),
            #[cfg(feature = "tls")]
            Transport::Tls(stream) => stream.read_plaintext(buf),
        }
    }
}

impl<S: Read + Write> Write for Transport<S> {
    /// Takes plaintext; for TLS, encrypts it and writes the records the socket takes.
    /// `WouldBlock` when rustls's own buffer is full.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(socket) => socket.write(buf),
            #[cfg(feature = "tls")]
            Transport::Tls(stream) => stream.write_plaintext(buf),
        }
    }

    /// Writes pending TLS records until none is left or the socket would block (then
    /// `Ok` too: ask [`Transport::wants_write`], and flush again on the writable edge).
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Transport::Plain(socket) => socket.flush(),
            #[cfg(feature = "tls")]
            Transport::Tls(stream) => stream.flush_records(),
        }
    }
}

#[cfg(feature = "tls")]
impl<S: Read + Write> TlsStream<S> {
    fn read_plaintext(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            // Plaintext rustls already has comes first.
            match self.tls.reader().read(buf) {
                // Ok(0) from the reader is the peer's close_notify: a clean end.
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    let cause = if self.tls.is_handshaking() {
                        TlsError::ClosedInHandshake
                    } else {
                        TlsError::NoCloseNotify
                    };
                    return Err(cause.into_io());
                }
                Err(e) => return Err(e),
            }
            if self.eof {
                // rustls saw the EOF and still says "would block": nothing will come.
                return Err(TlsError::NoCloseNotify.into_io());
            }
            // More records from the socket; `WouldBlock` here is the caller's signal.
            match self.tls.read_tls(&mut self.socket) {
                Ok(0) => self.eof = true,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            let handshaking = self.tls.is_handshaking();
            if let Err(error) = self.tls.process_new_packets() {
                // rustls queued an alert telling the peer why; send it if we can.
                let _ = self.flush_records();
                return Err(TlsError::from_rustls(error, handshaking).into_io());
            }
            // The handshake answers records with records of its own.
            self.flush_records()?;
        }
    }

    fn write_plaintext(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.flush_records()?;
        let n = self.tls.writer().write(buf)?;
        self.flush_records()?;
        if n == 0 && !buf.is_empty() {
            // rustls's buffer is full until the socket takes some records.
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(n)
    }

    fn flush_records(&mut self) -> io::Result<()> {
        while self.tls.wants_write() {
            match self.tls.write_tls(&mut self.socket) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// What turns a connected socket into a [`Transport`] for a URL's scheme: one per run,
/// so every TLS socket shares one client configuration (and its session cache).
///
/// The configuration is made at the first `https://` socket, not before: it holds every
/// trusted root (the built-in ones and the system's store, read from disk), which costs a
/// run of plain `http://` files milliseconds of start-up and most of a mebibyte for
/// nothing. The application checks `--cacert` and, when a start URL is `https://`, the
/// store before the run, so their errors are usage errors there; a store read first in
/// the middle of a run fails each `https://` job with the store's error instead.
#[derive(Debug, Clone)]
pub struct Opener {
    #[cfg(feature = "tls")]
    tls: Arc<LazyConnector>,
}

/// The TLS client configuration of a run, made when first needed.
#[cfg(feature = "tls")]
#[derive(Debug)]
struct LazyConnector {
    cacert: Option<std::path::PathBuf>,
    insecure: bool,
    made: OnceLock<Result<tls::Connector, TlsError>>,
}

impl Opener {
    /// Keeps `--cacert` and `--insecure` for the first `https://` socket; reads nothing.
    pub fn new(options: &crate::model::options::TransferOptions) -> io::Result<Opener> {
        #[cfg(not(feature = "tls"))]
        let _ = options;
        Ok(Opener {
            #[cfg(feature = "tls")]
            tls: Arc::new(LazyConnector {
                cacert: options.cacert.clone(),
                insecure: options.insecure,
                made: OnceLock::new(),
            }),
        })
    }

    /// The run's TLS configuration, made now if this is its first use.
    #[cfg(feature = "tls")]
    fn connector(&self) -> Result<&tls::Connector, TlsError> {
        let lazy = &*self.tls;
        lazy.made
            .get_or_init(|| tls::Connector::new(lazy.cacert.as_deref(), lazy.insecure))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// A transport to `host` over `socket`: plain for `http`, TLS for `https`.
    pub fn open<S>(
        &self,
        scheme: crate::protocol::url::Scheme,
        host: &str,
        socket: S,
    ) -> Result<Transport<S>, crate::model::error::JobError> {
        match scheme {
            crate::protocol::url::Scheme::Http => Ok(Transport::Plain(socket)),
            #[cfg(feature = "tls")]
            crate::protocol::url::Scheme::Https => self
                .connector()
                .and_then(|tls| tls.connect(host, socket))
                .map_err(crate::model::error::JobError::Tls),
            #[cfg(not(feature = "tls"))]
            crate::protocol::url::Scheme::Https => {
                let _ = host;
                unreachable!("https:// URLs are refused when the tls feature is off")
            }
        }
    }
}
