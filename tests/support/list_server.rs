//! A small, deliberately misbehaving list API on `std::net`, for crawl tests.
//!
//! It speaks just enough HTTP/1.1 (keep-alive, Content-Length bodies, `Connection:
//! close`) to serve `POST /api/list_files` from a closure the test supplies, and
//! `GET /api/download/<id>` from a fixed catalog (item `i` of `N` reads `"<i+1> of <N>"`,
//! so `miodl verify` applies). It is also a witness: it counts downloads per decoded id
//! and records a *problem* for every request that a careful client would never send
//! (an unparsable head, a raw byte outside the URL alphabet in the target, a second or
//! suspicious `Host`). One thread accepts; one thread serves each connection; every
//! socket has timeouts and every loop is bounded.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use serde_json::{json, Value};

/// The longest a connection thread waits for the client's next bytes.
const IDLE: Duration = Duration::from_secs(10);
/// Connections accepted at most; later ones are closed at once.
const MAX_CONNECTIONS: usize = 300;
/// Requests served on one connection at most.
const MAX_REQUESTS: usize = 2000;
/// A request head larger than this is a problem.
const MAX_HEAD: usize = 64 * 1024;

/// One answer of the list API.
pub struct Page {
    /// The JSON (or not) body.
    pub body: String,
    /// The `More` header's value; `None` leaves the header out.
    pub more: Option<&'static str>,
}

impl Page {
    /// `{"urls": entries}` with a `More` header (or none).
    pub fn of(entries: &[Value], more: Option<&'static str>) -> Page {
        Page {
            body: json!({ "urls": entries }).to_string(),
            more,
        }
    }

    /// `{"urls": ids}`.
    pub fn ids<S: AsRef<str>>(ids: &[S], more: Option<&'static str>) -> Page {
        let entries: Vec<Value> = ids.iter().map(|s| json!(s.as_ref())).collect();
        Page::of(&entries, more)
    }

    /// `True` / `False` as the seed's server capitalises it.
    pub fn more(more: bool) -> Option<&'static str> {
        Some(if more { "True" } else { "False" })
    }
}

type PageFn = dyn Fn(u64, u64) -> Page + Send + Sync;

/// One answer of a `GET` list page (`ListServer::start_get`): extra header lines (each
/// ending in CRLF) and the body.
pub struct GetPage {
    /// Header lines such as `"Link: </x?page=2>; rel=\"next\"\r\n"`.
    pub headers: String,
    /// The JSON (or not) body.
    pub body: String,
}

impl GetPage {
    /// A page with this body and no extra header.
    pub fn body(body: impl Into<String>) -> GetPage {
        GetPage {
            headers: String::new(),
            body: body.into(),
        }
    }
}

type GetFn = dyn Fn(&str) -> GetPage + Send + Sync;

struct Shared {
    catalog: Vec<String>,
    pages: Box<PageFn>,
    /// `GET /api/list_files...` (any query), given the target; `None`: 404.
    get_pages: Option<Box<GetFn>>,
    /// The target of every `GET` page asked, in arrival order.
    get_asks: Mutex<Vec<String>>,
    downloads: Mutex<HashMap<String, u64>>,
    page_asks: Mutex<Vec<(u64, u64)>>,
    /// Downloads answered before each page ask, in the asks' order.
    downloads_at_asks: Mutex<Vec<u64>>,
    /// Downloads answered so far.
    downloaded: std::sync::atomic::AtomicU64,
    problems: Mutex<Vec<String>>,
}

impl Shared {
    fn problem(&self, what: String) {
        self.problems.lock().unwrap().push(what);
    }
}

/// A running list server; stops its accept thread on drop.
pub struct ListServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl ListServer {
    /// Serves `catalog` for downloads and answers each `POST start=S&per_page=P` with
    /// `pages(S, P)`.
    pub fn start(
        catalog: Vec<String>,
        pages: impl Fn(u64, u64) -> Page + Send + Sync + 'static,
    ) -> ListServer {
        ListServer::with(catalog, Box::new(pages), None)
    }

    /// Serves `catalog` for downloads and answers each `GET /api/list_files[?query]`
    /// with `pages(target)`, its head and body written a few bytes at a time.
    pub fn start_get(
        catalog: Vec<String>,
        pages: impl Fn(&str) -> GetPage + Send + Sync + 'static,
    ) -> ListServer {
        let none = |_, _| Page::ids::<&str>(&[], Some("False"));
        ListServer::with(catalog, Box::new(none), Some(Box::new(pages)))
    }

    fn with(catalog: Vec<String>, pages: Box<PageFn>, get_pages: Option<Box<GetFn>>) -> ListServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind list server");
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            catalog,
            pages,
            get_pages,
            get_asks: Mutex::new(Vec::new()),
            downloads: Mutex::new(HashMap::new()),
            page_asks: Mutex::new(Vec::new()),
            downloads_at_asks: Mutex::new(Vec::new()),
            downloaded: std::sync::atomic::AtomicU64::new(0),
            problems: Mutex::new(Vec::new()),
        });
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (shared, stop) = (Arc::clone(&shared), Arc::clone(&stop));
            thread::spawn(move || accept_loop(listener, shared, stop))
        };
        ListServer {
            addr,
            shared,
            stop,
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT/api/list_files`.
    pub fn list_url(&self) -> String {
        format!("http://{}/api/list_files", self.addr)
    }

    /// The catalog served for downloads.
    pub fn catalog(&self) -> &[String] {
        &self.shared.catalog
    }

    /// Downloads seen per decoded id (catalog or not).
    pub fn downloads(&self) -> HashMap<String, u64> {
        self.shared.downloads.lock().unwrap().clone()
    }

    /// The `(start, per_page)` of every page asked for, in arrival order.
    pub fn page_asks(&self) -> Vec<(u64, u64)> {
        self.shared.page_asks.lock().unwrap().clone()
    }

    /// The target of every `GET` page asked, in arrival order.
    pub fn get_asks(&self) -> Vec<String> {
        self.shared.get_asks.lock().unwrap().clone()
    }

    /// How many downloads had been answered when each page was asked, in the asks' order.
    pub fn downloads_at_page_asks(&self) -> Vec<u64> {
        self.shared.downloads_at_asks.lock().unwrap().clone()
    }

    /// Every request a careful client would not have sent.
    pub fn problems(&self) -> Vec<String> {
        self.shared.problems.lock().unwrap().clone()
    }
}

impl Drop for ListServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>, stop: Arc<AtomicBool>) {
    let mut accepted = 0;
    for stream in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else { continue };
        accepted += 1;
        if accepted > MAX_CONNECTIONS {
            shared.problem(format!("more than {MAX_CONNECTIONS} connections"));
            continue;
        }
        let shared = Arc::clone(&shared);
        thread::spawn(move || serve_connection(stream, &shared));
    }
}

/// One parsed request, owned.
struct Request {
    method: String,
    target: String,
    body: Vec<u8>,
    close: bool,
}

fn serve_connection(mut stream: TcpStream, shared: &Shared) {
    let _ = stream.set_read_timeout(Some(IDLE));
    let _ = stream.set_write_timeout(Some(IDLE));
    let _ = stream.set_nodelay(true);
    let mut buf = Vec::new();
    for _ in 0..MAX_REQUESTS {
        let Some(request) = read_request(&mut stream, &mut buf, shared) else {
            return;
        };
        let (response, split) = route(&request, shared);
        let pieces = if split { 7 } else { response.len().max(1) };
        for piece in response.chunks(pieces) {
            if stream.write_all(piece).is_err() {
                return;
            }
        }
        if request.close {
            return;
        }
    }
}

/// Reads one request; `None` at EOF, on an error, or on a request not worth answering.
fn read_request(stream: &mut TcpStream, buf: &mut Vec<u8>, shared: &Shared) -> Option<Request> {
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut parsed = httparse::Request::new(&mut headers);
        match parsed.parse(buf) {
            Ok(httparse::Status::Complete(used)) => {
                let mut request = check_head(&parsed, shared);
                let length = content_length(&parsed);
                buf.drain(..used);
                while buf.len() < length {
                    let n = read_some(stream, &mut chunk)?;
                    buf.extend_from_slice(&chunk[..n]);
                }
                request.body = buf.drain(..length).collect();
                return Some(request);
            }
            Ok(httparse::Status::Partial) => {
                if buf.len() > MAX_HEAD {
                    shared.problem(format!("request head over {MAX_HEAD} bytes"));
                    return None;
                }
                let n = read_some(stream, &mut chunk);
                match n {
                    Some(n) => buf.extend_from_slice(&chunk[..n]),
                    None => {
                        if !buf.is_empty() {
                            shared
                                .problem(format!("connection ended mid-request: {:?}", shown(buf)));
                        }
                        return None;
                    }
                }
            }
            Err(e) => {
                shared.problem(format!("unparsable request ({e}): {:?}", shown(buf)));
                return None;
            }
        }
    }
}

/// Reads at least one byte; `None` at EOF or on an error (timeouts included).
fn read_some(stream: &mut TcpStream, chunk: &mut [u8]) -> Option<usize> {
    for _ in 0..100 {
        match stream.read(chunk) {
            Ok(0) => return None,
            Ok(n) => return Some(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return None,
        }
    }
    None
}

fn shown(bytes: &[u8]) -> String {
    String::from_utf8_lossy(&bytes[..bytes.len().min(300)]).into_owned()
}

/// Owned facts of a complete head, after the witness checks.
fn check_head(parsed: &httparse::Request<'_, '_>, shared: &Shared) -> Request {
    let method = parsed.method.unwrap_or("").to_string();
    let target = parsed.path.unwrap_or("").to_string();
    if !target.bytes().all(|b| b.is_ascii_graphic()) {
        shared.problem(format!("raw byte outside the URL alphabet in {target:?}"));
    }
    let hosts: Vec<&[u8]> = (parsed.headers.iter())
        .filter(|h| h.name.eq_ignore_ascii_case("host"))
        .map(|h| h.value)
        .collect();
    if hosts.len() != 1 {
        shared.problem(format!("{} Host headers on {method} {target}", hosts.len()));
    }
    for h in parsed.headers.iter() {
        let value = String::from_utf8_lossy(h.value);
        if value.contains("evil") || h.name.contains("evil") {
            shared.problem(format!("injected header {}: {value}", h.name));
        }
    }
    let close = (parsed.headers.iter())
        .filter(|h| h.name.eq_ignore_ascii_case("connection"))
        .any(|h| {
            String::from_utf8_lossy(h.value)
                .to_ascii_lowercase()
                .contains("close")
        });
    Request {
        method,
        target,
        body: Vec::new(),
        close,
    }
}

fn content_length(parsed: &httparse::Request<'_, '_>) -> usize {
    (parsed.headers.iter())
        .find(|h| h.name.eq_ignore_ascii_case("content-length"))
        .and_then(|h| std::str::from_utf8(h.value).ok()?.trim().parse().ok())
        .unwrap_or(0)
}

/// The answer, and whether to write it a few bytes at a time.
fn route(request: &Request, shared: &Shared) -> (Vec<u8>, bool) {
    let is_list =
        request.target == "/api/list_files" || request.target.starts_with("/api/list_files?");
    if let (Some(pages), "GET", true) = (&shared.get_pages, request.method.as_str(), is_list) {
        shared.get_asks.lock().unwrap().push(request.target.clone());
        let page = pages(&request.target);
        let body = page.body.as_bytes();
        return (response(200, "application/json", &page.headers, body), true);
    }
    (route_seed(request, shared), false)
}

fn route_seed(request: &Request, shared: &Shared) -> Vec<u8> {
    if request.method == "POST" && request.target == "/api/list_files" {
        let form = String::from_utf8_lossy(&request.body).into_owned();
        let field = |name: &str| {
            form.split('&')
                .filter_map(|kv| kv.split_once('='))
                .find(|(k, _)| *k == name)
                .and_then(|(_, v)| v.parse::<u64>().ok())
        };
        let start = field("start").unwrap_or(0);
        let per_page = field("per_page").unwrap_or(3);
        shared.page_asks.lock().unwrap().push((start, per_page));
        let downloaded = shared.downloaded.load(Ordering::SeqCst);
        shared.downloads_at_asks.lock().unwrap().push(downloaded);
        let page = (shared.pages)(start, per_page);
        let more = page
            .more
            .map(|m| format!("More: {m}\r\n"))
            .unwrap_or_default();
        return response(200, "application/json", &more, page.body.as_bytes());
    }
    if let Some(segment) = request.target.strip_prefix("/api/download/") {
        if request.method != "GET" {
            shared.problem(format!("{} {}", request.method, request.target));
        }
        let Some(id) = percent_decode(segment) else {
            shared.problem(format!("badly encoded download target {segment:?}"));
            return response(400, "text/plain", "", b"bad target");
        };
        *shared
            .downloads
            .lock()
            .unwrap()
            .entry(id.clone())
            .or_insert(0) += 1;
        // Counted when answered, so a page asked later saw this download finish.
        let _counted = Counted(&shared.downloaded);
        return match shared.catalog.iter().position(|c| *c == id) {
            Some(i) => {
                let body = format!("{} of {}", i + 1, shared.catalog.len());
                response(200, "text/plain; charset=UTF-8", "", body.as_bytes())
            }
            None => response(404, "text/plain", "", b"no such id"),
        };
    }
    response(404, "text/plain", "", b"not found")
}

/// Decodes a segment made only of RFC 3986 unreserved bytes and `%XX`; `None` for any
/// other byte (a careful client encodes everything else) or bad UTF-8.
fn percent_decode(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b if b.is_ascii_alphanumeric() || b"-._~".contains(&b) => {
                out.push(b);
                i += 1;
            }
            _ => return None,
        }
    }
    String::from_utf8(out).ok()
}

fn response(status: u16, content_type: &str, extra: &str, body: &[u8]) -> Vec<u8> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        _ => "Not Found",
    };
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n{extra}\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

/// Adds one to the counter when dropped: after the answer is built.
struct Counted<'a>(&'a std::sync::atomic::AtomicU64);

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}
