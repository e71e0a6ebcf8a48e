//! A socket that never pauses does not keep the loop to itself. A flood server here
//! sends an answer faster than any client can read it (a body of one-byte chunks, six
//! bytes on the wire for each byte saved, from a buffer built once; or a close-delimited
//! body written by several threads at once), so the client's reads come back full and
//! "read until `WouldBlock`" would never end. With the per-turn read budget
//! (docs/architecture.md, "One socket, one turn"):
//!
//! - the flood's own idle deadline is measured from its last read, not from the start
//!   of a long turn: a bursty fast body succeeds at `--timeout 1`;
//! - small downloads beside the flood all finish while the flood is still being fed;
//! - SIGTERM during the flood ends the run with 143 while the flood goes on.
//!
//! The flood ends when the test says so, or at a cap, so every test is bounded.

mod support;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use support::*;

/// The longest a flood lasts when nobody stops it.
const FLOOD_CAP: Duration = Duration::from_secs(60);
/// How long the small files may take beside a flood: generous (a loaded machine), and
/// still well inside [`FLOOD_CAP`], so a loop held by the flood cannot pass.
const BESIDE_THE_FLOOD: Duration = Duration::from_secs(30);

/// Polls `cond` every 5 ms for up to `limit`; false if it never held.
fn within(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let started = Instant::now();
    while started.elapsed() < limit {
        if cond() {
            return true;
        }
        thread::sleep(Duration::from_millis(5));
    }
    cond()
}

/// How the flood's answer is framed.
#[derive(Clone, Copy, Debug)]
enum Body {
    /// `Transfer-Encoding: chunked`, every chunk this many bytes long.
    Chunks(usize),
    /// `Connection: close` and no length, written by this many threads at once.
    CloseDelimited { senders: usize },
}

/// When the flood pauses: `bursts` bursts of `burst` each, `gap` apart, then the end
/// of the body. `None`: one burst until stopped (or [`FLOOD_CAP`]).
#[derive(Clone, Copy, Debug)]
struct Rhythm {
    bursts: u32,
    burst: Duration,
    gap: Duration,
}

/// A server for one request, answered with a flood.
struct Flood {
    url: String,
    /// Bytes of body payload sent so far.
    payload: Arc<AtomicU64>,
    /// Set by the test: end the body now.
    stop: Arc<AtomicBool>,
    /// Set by the server when it stopped because of [`FLOOD_CAP`] or a broken socket,
    /// not because it was told to or its rhythm ended.
    gave_up: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Flood {
    fn start(body: Body, rhythm: Option<Rhythm>) -> Flood {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/flood.bin", listener.local_addr().unwrap());
        let payload = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let gave_up = Arc::new(AtomicBool::new(false));
        let (p, s, g) = (payload.clone(), stop.clone(), gave_up.clone());
        let thread = thread::spawn(move || {
            listener.set_nonblocking(true).unwrap();
            let started = Instant::now();
            let stream = loop {
                match listener.accept() {
                    Ok((stream, _)) => break stream,
                    Err(_) if started.elapsed() < PATIENCE => {
                        thread::sleep(Duration::from_millis(2))
                    }
                    Err(_) => return g.store(true, Ordering::SeqCst),
                }
            };
            stream.set_nonblocking(false).unwrap();
            if !read_head(&stream) {
                return g.store(true, Ordering::SeqCst);
            }
            let whole = flood(&stream, body, rhythm, &p, &s);
            g.store(!whole, Ordering::SeqCst);
        });
        Flood {
            url,
            payload,
            stop,
            gave_up,
            thread: Some(thread),
        }
    }

    /// Ends the body (and waits for the server to finish writing it).
    fn finish(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            thread.join().expect("flood thread");
        }
    }

    fn payload(&self) -> u64 {
        self.payload.load(Ordering::SeqCst)
    }

    fn is_feeding(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }
}

impl Drop for Flood {
    fn drop(&mut self) {
        self.finish();
    }
}

/// Reads a request head (bounded: 64 KiB or [`PATIENCE`]).
fn read_head(mut stream: &TcpStream) -> bool {
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut head = Vec::new();
    let mut buf = [0; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 64 << 10 {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return false,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    true
}

/// Writes the answer. True if it ended as planned (told to, or its rhythm done), with
/// a whole body; false if it hit [`FLOOD_CAP`] or the client went away.
fn flood(
    stream: &TcpStream,
    body: Body,
    rhythm: Option<Rhythm>,
    payload: &AtomicU64,
    stop: &AtomicBool,
) -> bool {
    let started = Instant::now();
    let (head, frame, per_frame): (&[u8], Vec<u8>, u64) = match body {
        Body::Chunks(size) => {
            let chunk = [
                format!("{size:x}\r\n").as_bytes(),
                &vec![b'z'; size],
                b"\r\n",
            ]
            .concat();
            let frames = (1 << 18) / chunk.len() + 1;
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                chunk.repeat(frames),
                (frames * size) as u64,
            )
        }
        Body::CloseDelimited { .. } => (
            b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n",
            vec![b'z'; 1 << 18],
            1 << 18,
        ),
    };
    let mut writer = stream;
    if writer.write_all(head).is_err() {
        return false;
    }
    let senders = match body {
        Body::Chunks(_) => 1,
        Body::CloseDelimited { senders } => senders,
    };
    let plan = rhythm.unwrap_or(Rhythm {
        bursts: 1,
        burst: FLOOD_CAP,
        gap: Duration::ZERO,
    });
    let mut whole = true;
    for n in 0..plan.bursts {
        if n > 0 {
            thread::sleep(plan.gap);
        }
        let until = Instant::now() + plan.burst;
        let keep_going = || {
            !stop.load(Ordering::SeqCst) && Instant::now() < until && started.elapsed() < FLOOD_CAP
        };
        // Several threads may write one close-delimited body: its bytes are all alike.
        let frame = &frame[..];
        let ok = thread::scope(|scope| {
            let writers: Vec<_> = (0..senders)
                .map(|_| {
                    scope.spawn(move || {
                        let mut stream = stream;
                        while keep_going() {
                            if stream.write_all(frame).is_err() {
                                return false;
                            }
                            payload.fetch_add(per_frame, Ordering::SeqCst);
                        }
                        true
                    })
                })
                .collect();
            writers.into_iter().all(|w| w.join().unwrap())
        });
        whole &= ok && started.elapsed() < FLOOD_CAP;
        if !whole || stop.load(Ordering::SeqCst) {
            break;
        }
    }
    if let Body::Chunks(_) = body {
        whole &= writer.write_all(b"0\r\n\r\n").is_ok();
    }
    let _ = stream.shutdown(Shutdown::Write);
    whole
}

/// A body that comes in bursts, each longer than `--timeout 1`, a little apart: the
/// gap drains the socket, so the loop goes back to `poll` with the flood's deadline
/// armed. That deadline must count from the flood's last read, not from the start of
/// the burst's turn (which would have passed by then).
fn bursty_body_succeeds_at_timeout_1(body: Body) {
    let rhythm = Rhythm {
        bursts: 3,
        burst: Duration::from_millis(1500),
        gap: Duration::from_millis(150),
    };
    let mut flood = Flood::start(body, Some(rhythm));
    let dir = out_dir();
    let url = flood.url.clone();
    let args = get_args(dir.path(), &["--timeout", "1", "--retries", "0", &url]);
    let run = miodl(&args);
    flood.finish();
    assert_eq!(run.status, Some(0), "{run}");
    assert!(!flood.gave_up.load(Ordering::SeqCst), "the flood was cut");
    let saved = std::fs::metadata(dir.path().join("flood.bin")).expect("saved");
    assert_eq!(saved.len(), flood.payload(), "every byte sent was saved");
}

#[test]
fn a_bursty_chunked_body_succeeds_at_timeout_1() {
    bursty_body_succeeds_at_timeout_1(Body::Chunks(256));
}

#[test]
fn a_bursty_close_delimited_body_succeeds_at_timeout_1() {
    bursty_body_succeeds_at_timeout_1(Body::CloseDelimited { senders: 3 });
}

/// Twenty small files from the reference server beside a flood: all are saved while
/// the flood is still being fed; then the flood ends and the run succeeds.
fn small_files_finish_beside_a_flood(engine: &str) {
    // Lagged, so the small answers come while the flood flows (10 rounds of 0.2 s).
    let server = reference().lag(Duration::from_millis(200)).start();
    let mut flood = Flood::start(Body::Chunks(1), None);
    let dir = out_dir();
    let out = dir.path().to_str().unwrap().to_string();
    let mut args: Vec<String> = ["get", "-q", "--json", "--engine", engine, "-c", "3"]
        .map(String::from)
        .to_vec();
    args.extend(["-o".into(), out, flood.url.clone()]);
    let small: Vec<String> = (0..20)
        .map(|i| format!("{}/bytes/{}", server.base_url(), 1000 + i))
        .collect();
    args.extend(small.iter().cloned());
    let child = start(&args);
    let saved = |dir: &std::path::Path| {
        (0..20)
            .filter(|i| dir.join((1000 + i).to_string()).exists())
            .count()
    };
    let flowing = eventually(|| flood.payload() > 1 << 20);
    let all_saved = within(BESIDE_THE_FLOOD, || saved(dir.path()) == 20);
    let still_feeding = flood.is_feeding();
    flood.finish();
    let run = child.finish();
    assert!(flowing, "{engine}: the flood never got going");
    assert!(
        all_saved,
        "{engine}: only {} of 20 small files saved beside the flood",
        saved(dir.path())
    );
    assert!(
        still_feeding,
        "{engine}: the flood had ended already (cut: {}): {run}",
        flood.gave_up.load(Ordering::SeqCst)
    );
    assert!(
        !flood.gave_up.load(Ordering::SeqCst),
        "{engine}: the flood was cut"
    );
    assert_eq!(run.status, Some(0), "{engine}: {run}");
    assert_eq!(run.json()["ok"], 21, "{engine}");
}

#[test]
fn small_files_finish_beside_a_flood_on_the_reactor() {
    small_files_finish_beside_a_flood("reactor");
}

#[test]
fn small_files_finish_beside_a_flood_on_the_threads_engine() {
    small_files_finish_beside_a_flood("threads");
}

/// SIGTERM while the flood is read: the run ends with 143 while the flood goes on, and
/// leaves nothing in the output directory.
#[test]
fn sigterm_during_a_flood_ends_the_run() {
    let mut flood = Flood::start(Body::Chunks(1), None);
    let dir = out_dir();
    let url = flood.url.clone();
    let mut child = start(&get_args(dir.path(), &[&url]));
    let flowing = eventually(|| flood.payload() > 1 << 20);
    let killed = Command::new("kill")
        .args(["-TERM", &child.pid().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    // Generous: a loop that never looks at its signals never ends before the flood.
    // (The flood lasts FLOOD_CAP, far longer, unless the client goes away.)
    let code = child.wait(Duration::from_secs(15));
    flood.finish();
    let run = child.finish();
    assert!(flowing, "the flood never got going");
    assert_eq!(code, Some(143), "{run}");
    let cut = flood.gave_up.load(Ordering::SeqCst);
    assert!(cut, "the body was whole: the run ended only with the flood");
    assert_eq!(names_in(dir.path()), Vec::<String>::new());
}
