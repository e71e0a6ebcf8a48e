//! A small HTTP proxy on 127.0.0.1, one thread per client socket, that records the
//! request line and headers of every request it gets.
//!
//! ```text
//!   miodl ── GET http://host:port/p ──► TestProxy ── GET /p ──► origin (kept per socket)
//!   miodl ── CONNECT host:port ───────► TestProxy ── 200, then bytes both ways ──► origin
//!   miodl ── GET /p (origin form) ────► TestProxy answers itself: 200, body = the path
//! ```
//!
//! Told to refuse ([`TestProxy::refusing`]), it answers every request with that status
//! (a 407 with `Proxy-Authenticate`). Forwarding drops `Proxy-Authorization`, as proxies
//! do. The third shape makes it a recording origin, to see what a direct request carried.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// One request the proxy got.
#[derive(Debug, Clone)]
pub struct Seen {
    /// The request line, e.g. `CONNECT 127.0.0.1:443 HTTP/1.1`.
    pub line: String,
    /// The header lines, `(name, value)`, as sent.
    pub headers: Vec<(String, String)>,
}

impl Seen {
    /// The value of header `name` (any case), if sent.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct Record {
    seen: Mutex<Vec<Seen>>,
    sockets: AtomicUsize,
}

/// The proxy, running until the test ends.
pub struct TestProxy {
    port: u16,
    record: Arc<Record>,
}

impl TestProxy {
    /// A proxy that forwards and tunnels.
    pub fn start() -> TestProxy {
        TestProxy::with(None)
    }

    /// A proxy that answers every request with `status` and `reason`.
    pub fn refusing(status: u16, reason: &'static str) -> TestProxy {
        TestProxy::with(Some((status, reason)))
    }

    fn with(refuse: Option<(u16, &'static str)>) -> TestProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let port = listener.local_addr().unwrap().port();
        let record = Arc::new(Record::default());
        let shared = Arc::clone(&record);
        thread::spawn(move || {
            for client in listener.incoming().flatten() {
                shared.sockets.fetch_add(1, Ordering::SeqCst);
                let record = Arc::clone(&shared);
                thread::spawn(move || serve(client, &record, refuse));
            }
        });
        TestProxy { port, record }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `127.0.0.1:PORT`, as miodl names the proxy in messages.
    pub fn authority(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.record.seen.lock().unwrap().clone()
    }

    /// Client sockets accepted so far.
    pub fn sockets(&self) -> usize {
        self.record.sockets.load(Ordering::SeqCst)
    }
}

/// Reads one request head; `None` at EOF or on a broken one.
fn read_head(reader: &mut BufReader<TcpStream>) -> Option<Seen> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let line = line.trim_end().to_string();
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).ok()? == 0 {
            return None;
        }
        let header = header.trim_end();
        if header.is_empty() {
            return Some(Seen { line, headers });
        }
        let (name, value) = header.split_once(':')?;
        headers.push((name.trim().to_string(), value.trim().to_string()));
    }
}

fn serve(client: TcpStream, record: &Record, refuse: Option<(u16, &'static str)>) {
    let _ = client.set_read_timeout(Some(Duration::from_secs(30)));
    let mut writer = client.try_clone().unwrap();
    let mut reader = BufReader::new(client);
    let mut upstream: Option<(String, BufReader<TcpStream>)> = None;
    while let Some(seen) = read_head(&mut reader) {
        record.seen.lock().unwrap().push(seen.clone());
        let mut parts = seen.line.split(' ');
        let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        if let Some((status, reason)) = refuse {
            let challenge = if status == 407 {
                "Proxy-Authenticate: Basic realm=\"test\"\r\n"
            } else {
                ""
            };
            let answer =
                format!("HTTP/1.1 {status} {reason}\r\n{challenge}Content-Length: 0\r\n\r\n");
            let _ = writer.write_all(answer.as_bytes());
            if method == "CONNECT" {
                return;
            }
            continue;
        }
        if method == "CONNECT" {
            return tunnel(reader, writer, target);
        }
        if let Some(rest) = target.strip_prefix("http://") {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            if !forward(&mut writer, &mut upstream, authority, method, path, &seen) {
                return;
            }
            continue;
        }
        // Origin form: answer as the origin, the path as the body.
        let answer = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{target}",
            target.len()
        );
        let _ = writer.write_all(answer.as_bytes());
    }
}

/// Sends the request on to `authority` in origin form (one upstream socket kept per
/// client socket), and its answer back. False when a socket broke.
fn forward(
    writer: &mut TcpStream,
    upstream: &mut Option<(String, BufReader<TcpStream>)>,
    authority: &str,
    method: &str,
    path: &str,
    seen: &Seen,
) -> bool {
    if upstream.as_ref().is_none_or(|(to, _)| to != authority) {
        let Ok(socket) = TcpStream::connect(authority) else {
            let _ = writer.write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
            return true;
        };
        let _ = socket.set_read_timeout(Some(Duration::from_secs(30)));
        *upstream = Some((authority.to_string(), BufReader::new(socket)));
    }
    let (_, origin) = upstream.as_mut().unwrap();
    let mut head = format!(
        "{method} {} HTTP/1.1\r\n",
        if path.is_empty() { "/" } else { path }
    );
    for (name, value) in &seen.headers {
        if !name.eq_ignore_ascii_case("proxy-authorization") {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    head.push_str("\r\n");
    if origin.get_mut().write_all(head.as_bytes()).is_err() {
        return false;
    }
    // The answer: its head, then a Content-Length body (all the reference server sends).
    let mut answer = Vec::new();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        match origin.read_line(&mut line) {
            Ok(0) | Err(_) => return false,
            Ok(_) => {}
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        answer.extend_from_slice(line.as_bytes());
        if line == "\r\n" {
            break;
        }
    }
    let mut body = vec![0; length];
    if method != "HEAD" && origin.read_exact(&mut body).is_err() {
        return false;
    }
    answer.extend_from_slice(&body);
    writer.write_all(&answer).is_ok()
}

/// `CONNECT`: 200, then bytes both ways until either side closes.
fn tunnel(reader: BufReader<TcpStream>, mut writer: TcpStream, target: &str) {
    let Ok(origin) = TcpStream::connect(target) else {
        let _ = writer.write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
        return;
    };
    let _ = writer.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
    let mut to_origin = origin.try_clone().unwrap();
    let mut from_origin = origin;
    // Bytes the client sent after its head (a ClientHello, read ahead by the BufReader).
    let ahead = reader.buffer().to_vec();
    let client = reader.into_inner();
    let mut client_in = client.try_clone().unwrap();
    let up = thread::spawn(move || {
        let _ = to_origin.write_all(&ahead);
        let _ = std::io::copy(&mut client_in, &mut to_origin);
        let _ = to_origin.shutdown(Shutdown::Write);
    });
    let _ = std::io::copy(&mut from_origin, &mut writer);
    let _ = writer.shutdown(Shutdown::Write);
    let _ = up.join();
}
