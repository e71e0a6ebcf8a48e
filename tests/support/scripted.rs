//! A scripted test server for `miodl get`.
//!
//! Everything here is real: a [`Server`] listens on `127.0.0.1:0` with `std::net`, a
//! thread per connection, and answers each request with the [`Script`] its handler
//! returns — bytes to write, pauses, gates to wait on, a close or a reset. The server
//! counts what a client's limits are about, from the outside: connections accepted, the
//! most open at once (overall and per `Host` header), and the most requests in flight
//! at once (from a request head read to its answer fully written). Every request is
//! logged with its headers.
//!
//! Nothing here may hang a test: every socket has read and write timeouts, every wait
//! and loop is bounded, and dropping a server stops and joins all of its threads.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::eventually;

/// How often a blocked server thread looks at its stop flag.
const TICK: Duration = Duration::from_millis(20);
/// The longest any server thread waits for anything (a request, a gate, a sleep).
pub const MAX_WAIT: Duration = Duration::from_secs(20);
/// The largest request head the server reads.
const MAX_HEAD: usize = 64 << 10;
/// The longest a server lives, whatever happens.
const MAX_LIFE: Duration = Duration::from_secs(120);

/// One request as the server read it.
#[derive(Debug, Clone)]
pub struct Request {
    /// `GET`, ...
    pub method: String,
    /// The request target, e.g. `/files/a.bin`.
    pub path: String,
    /// The headers, names as sent.
    pub headers: Vec<(String, String)>,
    /// The connection it came on, numbered from 0 in accept order.
    pub conn: usize,
    /// Its index on that connection (0 for the first request of a socket).
    pub on_conn: usize,
    /// How many times this path was requested before (0 on the first try).
    pub attempt: usize,
}

impl Request {
    /// The value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The `Host` header, or "".
    pub fn host(&self) -> &str {
        self.header("host").unwrap_or("")
    }

    /// True if the request asked for `Connection: close`.
    pub fn wants_close(&self) -> bool {
        self.header("connection")
            .is_some_and(|v| v.to_ascii_lowercase().contains("close"))
    }
}

/// A latch a script can wait on until the test opens it (or the server stops).
#[derive(Debug, Clone, Default)]
pub struct Gate(Arc<(Mutex<bool>, Condvar)>);

impl Gate {
    /// A closed gate.
    pub fn new() -> Gate {
        Gate::default()
    }

    /// Opens the gate for every waiter, now and later.
    pub fn open(&self) {
        *lock(&self.0 .0) = true;
        self.0 .1.notify_all();
    }

    /// Waits until open, the stop flag, or [`MAX_WAIT`].
    fn wait(&self, stop: &AtomicBool) {
        let started = Instant::now();
        let mut open = lock(&self.0 .0);
        while !*open && !stop.load(Ordering::SeqCst) && started.elapsed() < MAX_WAIT {
            open = self
                .0
                 .1
                .wait_timeout(open, TICK)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

/// One step of an answer.
#[derive(Debug, Clone)]
pub enum Action {
    /// Write these bytes (all of them).
    Write(Vec<u8>),
    /// Pause (cut short when the server stops).
    Sleep(Duration),
    /// Wait for the gate to open.
    Wait(Gate),
    /// Close the socket (FIN), ending the connection.
    Close,
    /// Reset the socket (RST, `SO_LINGER` 0), ending the connection.
    Reset,
}

/// What the server does for one request. When the script ends without closing, the
/// connection waits for the next request (keep-alive), unless the request asked for
/// `Connection: close`.
#[derive(Debug, Clone, Default)]
pub struct Script {
    /// The steps, in order.
    pub actions: Vec<Action>,
}

impl Script {
    /// An empty script (the connection waits for the next request).
    pub fn new() -> Script {
        Script::default()
    }

    /// Then writes `bytes`.
    pub fn write(mut self, bytes: impl AsRef<[u8]>) -> Script {
        self.actions.push(Action::Write(bytes.as_ref().to_vec()));
        self
    }

    /// Then pauses.
    pub fn sleep(mut self, d: Duration) -> Script {
        self.actions.push(Action::Sleep(d));
        self
    }

    /// Then waits for `gate`.
    pub fn wait(mut self, gate: &Gate) -> Script {
        self.actions.push(Action::Wait(gate.clone()));
        self
    }

    /// Then closes.
    pub fn close(mut self) -> Script {
        self.actions.push(Action::Close);
        self
    }

    /// Then resets.
    pub fn reset(mut self) -> Script {
        self.actions.push(Action::Reset);
        self
    }

    /// `200 OK` with `Content-Length` and `body`.
    pub fn ok(body: impl AsRef<[u8]>) -> Script {
        Script::new().write(response(200, &[], body.as_ref()))
    }

    /// A whole answer with `Content-Length`.
    pub fn status(code: u16, headers: &[(&str, &str)], body: impl AsRef<[u8]>) -> Script {
        Script::new().write(response(code, headers, body.as_ref()))
    }

    /// A redirect to `location`.
    pub fn redirect(code: u16, location: &str) -> Script {
        Script::status(code, &[("Location", location)], b"")
    }

    /// `404 Not Found`.
    pub fn not_found() -> Script {
        Script::status(404, &[], b"not found\n")
    }
}

/// The bytes of an HTTP/1.1 answer with `Content-Length`.
pub fn response(code: u16, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {code} {}\r\n", reason(code));
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    if code != 204 && code != 304 {
        out.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

fn reason(code: u16) -> &'static str {
    match code {
        100 => "Continue",
        200 => "OK",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        307 => "Temporary Redirect",
        404 => "Not Found",
        503 => "Service Unavailable",
        _ => "Whatever",
    }
}

/// What the server saw.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Connections accepted.
    pub accepted: usize,
    /// Connections open now.
    pub open: usize,
    /// Most connections open at once.
    pub max_open: usize,
    /// Connections open now, by the `Host` of their first request.
    pub open_per_host: HashMap<String, usize>,
    /// Most connections open at once, by `Host`.
    pub max_open_per_host: HashMap<String, usize>,
    /// Requests between head read and answer written, now.
    pub in_flight: usize,
    /// Most requests in flight at once.
    pub max_in_flight: usize,
    /// Every request, in arrival order.
    pub requests: Vec<Request>,
}

impl Stats {
    /// The requests for `path`.
    pub fn requests_for(&self, path: &str) -> Vec<&Request> {
        self.requests.iter().filter(|r| r.path == path).collect()
    }
}

type Handler = dyn Fn(&Request) -> Script + Send + Sync;

struct Shared {
    handler: Box<Handler>,
    stop: AtomicBool,
    stats: Mutex<Stats>,
    attempts: Mutex<HashMap<String, usize>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

/// A scripted HTTP server on a loopback port. Stops (and joins its threads) on drop.
pub struct Server {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl Server {
    /// Starts a server answering each request with `handler(&request)`.
    pub fn start(handler: impl Fn(&Request) -> Script + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        let addr = listener.local_addr().expect("local addr");
        let shared = Arc::new(Shared {
            handler: Box::new(handler),
            stop: AtomicBool::new(false),
            stats: Mutex::new(Stats::default()),
            attempts: Mutex::new(HashMap::new()),
            threads: Mutex::new(Vec::new()),
        });
        let acceptor = {
            let shared = Arc::clone(&shared);
            thread::spawn(move || accept_loop(listener, shared))
        };
        Server {
            addr,
            shared,
            acceptor: Some(acceptor),
        }
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// `http://HOST:PORT{path}` with another host name for the same server.
    pub fn url_as(&self, host: &str, path: &str) -> String {
        format!("http://{host}:{}{path}", self.addr.port())
    }

    /// A copy of the counters and the request log.
    pub fn stats(&self) -> Stats {
        lock(&self.shared.stats).clone()
    }

    /// Waits (at most [`super::PATIENCE`]) until `cond` holds for the stats; returns whether it
    /// did.
    pub fn wait_until(&self, cond: impl Fn(&Stats) -> bool) -> bool {
        eventually(|| cond(&lock(&self.shared.stats)))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
        let threads = std::mem::take(&mut *lock(&self.shared.threads));
        for t in threads {
            let _ = t.join();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let born = Instant::now();
    while !shared.stop.load(Ordering::SeqCst) && born.elapsed() < MAX_LIFE {
        match listener.accept() {
            Ok((stream, _)) => {
                let index = {
                    let mut stats = lock(&shared.stats);
                    stats.accepted += 1;
                    stats.open += 1;
                    stats.max_open = stats.max_open.max(stats.open);
                    stats.accepted - 1
                };
                let conn_shared = Arc::clone(&shared);
                let handle = thread::spawn(move || {
                    let host = serve_connection(stream, index, &conn_shared);
                    let mut stats = lock(&conn_shared.stats);
                    stats.open -= 1;
                    if let Some(host) = host {
                        *stats.open_per_host.entry(host).or_default() -= 1;
                    }
                });
                lock(&shared.threads).push(handle);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                thread::sleep(Duration::from_millis(2))
            }
            Err(_) => thread::sleep(Duration::from_millis(2)),
        }
    }
}

/// Serves one connection; returns the `Host` it was counted under, if any.
fn serve_connection(mut stream: TcpStream, index: usize, shared: &Shared) -> Option<String> {
    let mut host = None;
    let ready = stream.set_nonblocking(false).is_ok()
        && stream.set_read_timeout(Some(TICK)).is_ok()
        && stream
            .set_write_timeout(Some(Duration::from_secs(5)))
            .is_ok()
        && stream.set_nodelay(true).is_ok();
    if !ready {
        return None;
    }
    let mut buf = Vec::new();
    for on_conn in 0.. {
        let Some((method, path, headers)) = read_head(&mut stream, &mut buf, &shared.stop) else {
            break;
        };
        let attempt = {
            let mut attempts = lock(&shared.attempts);
            let n = attempts.entry(path.clone()).or_default();
            *n += 1;
            *n - 1
        };
        let request = Request {
            method,
            path,
            headers,
            conn: index,
            on_conn,
            attempt,
        };
        {
            let mut stats = lock(&shared.stats);
            if host.is_none() {
                let name = request.host().to_string();
                let open = stats.open_per_host.entry(name.clone()).or_default();
                *open += 1;
                let open = *open;
                let max = stats.max_open_per_host.entry(name.clone()).or_default();
                *max = (*max).max(open);
                host = Some(name);
            }
            stats.in_flight += 1;
            stats.max_in_flight = stats.max_in_flight.max(stats.in_flight);
            stats.requests.push(request.clone());
        }
        let script = (shared.handler)(&request);
        let keep_going = run_script(&mut stream, script, &shared.stop);
        lock(&shared.stats).in_flight -= 1;
        if !keep_going || request.wants_close() {
            break;
        }
    }
    host
}

/// A request head: method, target, headers.
type Head = (String, String, Vec<(String, String)>);

/// Reads one request head (and discards a `Content-Length` body). `None` on EOF, error,
/// stop, an oversized head, or [`MAX_WAIT`] without a request.
fn read_head(stream: &mut TcpStream, buf: &mut Vec<u8>, stop: &AtomicBool) -> Option<Head> {
    let started = Instant::now();
    let mut chunk = [0u8; 8192];
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut req = httparse::Request::new(&mut headers);
        match req.parse(buf) {
            Ok(httparse::Status::Complete(len)) => {
                let method = req.method.unwrap_or("").to_string();
                let path = req.path.unwrap_or("").to_string();
                let headers: Vec<(String, String)> = req
                    .headers
                    .iter()
                    .map(|h| {
                        let value = String::from_utf8_lossy(h.value).into_owned();
                        (h.name.to_string(), value)
                    })
                    .collect();
                buf.drain(..len);
                let body: usize = headers
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
                    .and_then(|(_, v)| v.trim().parse().ok())
                    .unwrap_or(0);
                while buf.len() < body {
                    if !read_some(stream, buf, &mut chunk, stop, started)? {
                        return None;
                    }
                }
                buf.drain(..body);
                return Some((method, path, headers));
            }
            Ok(httparse::Status::Partial) if buf.len() < MAX_HEAD => {}
            _ => return None,
        }
        if !read_some(stream, buf, &mut chunk, stop, started)? {
            return None;
        }
    }
}

/// One read into `buf`: `Some(true)` got bytes, `Some(false)` EOF, `None` error or give up.
fn read_some(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    chunk: &mut [u8],
    stop: &AtomicBool,
    started: Instant,
) -> Option<bool> {
    loop {
        if stop.load(Ordering::SeqCst) || started.elapsed() > MAX_WAIT {
            return None;
        }
        match stream.read(chunk) {
            Ok(0) => return Some(false),
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                return Some(true);
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) => {}
            Err(_) => return None,
        }
    }
}

/// Plays a script; false when the connection is over.
fn run_script(stream: &mut TcpStream, script: Script, stop: &AtomicBool) -> bool {
    for action in script.actions {
        match action {
            Action::Write(bytes) => {
                if stream
                    .write_all(&bytes)
                    .and_then(|_| stream.flush())
                    .is_err()
                {
                    return false;
                }
            }
            Action::Sleep(d) => {
                let until = Instant::now() + d.min(MAX_WAIT);
                while Instant::now() < until && !stop.load(Ordering::SeqCst) {
                    thread::sleep(TICK.min(until.saturating_duration_since(Instant::now())));
                }
            }
            Action::Wait(gate) => gate.wait(stop),
            Action::Close => return false,
            Action::Reset => {
                let _ = socket2::SockRef::from(&*stream).set_linger(Some(Duration::ZERO));
                return false;
            }
        }
    }
    !stop.load(Ordering::SeqCst)
}

/// `n` reproducible pseudo-random bytes.
pub fn bytes(n: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}
