//! What the in-process benchmarks share: a minimal keep-alive file server on a mio loop,
//! and the `miodl get` arguments for a list of its URLs.
//!
//! The server answers every GET with the same 4 KiB body and `Content-Length`, keeps
//! every connection alive, and allocates nothing per request once its buffers have
//! grown: it is the cheapest server a client can talk to, so what a benchmark measures
//! is the client. URLs are `/f/<i>`, so every file gets its own output name.
//!
//! ```text
//!   BenchServer::start() ──► thread "bench-serve": Poll ─► accept / read / write
//!   drop(BenchServer)    ──► stop flag + Waker ─► loop ends ─► thread joined
//! ```

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token, Waker};
use miodl::app::run::GetTask;
use miodl::model::options::TransferOptions;
use slab::Slab;

/// The body every request gets.
pub const BODY_BYTES: usize = 4096;

const LISTENER: Token = Token(usize::MAX - 1);
const WAKER: Token = Token(usize::MAX - 2);

/// A running server; dropping it stops and joins its thread.
pub struct BenchServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    waker: Arc<Waker>,
    thread: Option<JoinHandle<io::Result<()>>>,
}

impl BenchServer {
    /// Binds 127.0.0.1 on a free port and serves on a new thread.
    pub fn start() -> io::Result<BenchServer> {
        let mut listener = TcpListener::bind("127.0.0.1:0".parse().expect("address"))?;
        let addr = listener.local_addr()?;
        let poll = Poll::new()?;
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("bench-serve".into())
            .spawn(move || serve(poll, listener, &flag))?;
        Ok(BenchServer {
            addr,
            stop,
            waker,
            thread: Some(thread),
        })
    }

    /// `count` distinct URLs of this server, one 4 KiB file each.
    pub fn urls(&self, count: usize) -> Vec<String> {
        (0..count)
            .map(|i| format!("http://{}/f/{i:06}", self.addr))
            .collect()
    }
}

impl Drop for BenchServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.waker.wake();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// `miodl get -q -c CONNECTIONS -o DIR URL...` as the library takes it.
pub fn get_args(urls: Vec<String>, dir: PathBuf, connections: usize) -> GetTask {
    GetTask {
        urls,
        input_files: Vec::new(),
        transfer: TransferOptions {
            output_dir: Some(dir),
            connections: Some(connections),
            quiet: true,
            ..TransferOptions::default()
        },
    }
}

/// A fresh directory for one run's output: on tmpfs (`/dev/shm`) when there is one, so
/// the disk does not add noise; removed on drop.
pub fn scratch_dir() -> tempfile::TempDir {
    let shm = std::path::Path::new("/dev/shm");
    let builder = tempfile::Builder::new()
        .prefix("miodl-bench-")
        .tempdir_in(shm);
    builder.or_else(|_| tempfile::tempdir()).expect("temp dir")
}

/// One connection: bytes read but not yet answered, answer bytes not yet written.
struct Conn {
    stream: TcpStream,
    input: Vec<u8>,
    output: Vec<u8>,
    written: usize,
}

fn serve(mut poll: Poll, listener: TcpListener, stop: &AtomicBool) -> io::Result<()> {
    let mut response = format!(
        "HTTP/1.1 200 OK\r\nServer: bench\r\nContent-Type: application/octet-stream\r\n\
         Content-Length: {BODY_BYTES}\r\n\r\n"
    )
    .into_bytes();
    response.extend((0..BODY_BYTES).map(|i| b'a' + (i % 26) as u8));
    let mut conns: Slab<Conn> = Slab::new();
    let mut events = Events::with_capacity(256);
    let mut buf = vec![0u8; 64 << 10];
    while !stop.load(Ordering::SeqCst) {
        if let Err(e) = poll.poll(&mut events, None) {
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        for event in events.iter() {
            match event.token() {
                WAKER => {}
                LISTENER => loop {
                    match listener.accept() {
                        Ok((mut stream, _)) => {
                            stream.set_nodelay(true)?;
                            let entry = conns.vacant_entry();
                            let interest = Interest::READABLE | Interest::WRITABLE;
                            poll.registry()
                                .register(&mut stream, Token(entry.key()), interest)?;
                            entry.insert(Conn {
                                stream,
                                input: Vec::new(),
                                output: Vec::new(),
                                written: 0,
                            });
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(e) => return Err(e),
                    }
                },
                Token(key) => {
                    let Some(conn) = conns.get_mut(key) else {
                        continue;
                    };
                    if !conn.progress(&mut buf, &response) {
                        // Dropping the stream closes it and removes it from the poll.
                        conns.remove(key);
                    }
                }
            }
        }
    }
    Ok(())
}

impl Conn {
    /// Reads every request that arrived, queues an answer for each, writes what the
    /// socket takes. False when the connection is over.
    fn progress(&mut self, buf: &mut [u8], response: &[u8]) -> bool {
        loop {
            match self.stream.read(buf) {
                Ok(0) => return false,
                Ok(n) => self.input.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return false,
            }
        }
        // Every complete request head (GETs carry no body) gets one answer.
        while let Some(end) = self.input.windows(4).position(|w| w == b"\r\n\r\n") {
            self.input.drain(..end + 4);
            self.output.extend_from_slice(response);
        }
        while self.written < self.output.len() {
            match self.stream.write(&self.output[self.written..]) {
                Ok(0) => return false,
                Ok(n) => self.written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return false,
            }
        }
        self.output.clear();
        self.written = 0;
        true
    }
}
