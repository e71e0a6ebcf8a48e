//! `--limit-rate BYTES` on loopback: a run that may receive 2 MiB a second takes its
//! time over 8 MiB, whatever the engine and the number of sockets, and the bytes the
//! server manages to send never run far ahead of the cap in any one second.
//!
//! The bytes are counted where they land, on the client's side: the test samples the
//! sizes of the output directory's files every 20 ms, those being written included
//! (through `/proc/PID/fd`, since a staged body has no name). The server's own view is
//! no use here: the kernel's socket buffers take megabytes the client has not read yet.
//! The lower bound on the whole run's time is the safe check (no tight upper
//! wall-clock bound is asserted).

mod support;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use support::*;

/// Each body's length.
const BODY: usize = 1 << 20;
/// The cap the runs are given, and its bytes.
const CAP: &str = "2M";
const CAP_BYTES: u64 = 2 << 20;

/// A keep-alive server of 1 MiB bodies, written 16 KiB at a time.
struct BodyServer {
    port: u16,
}

impl BodyServer {
    fn start() -> BodyServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                thread::spawn(move || serve(stream));
            }
        });
        BodyServer { port }
    }

    fn urls(&self, n: usize) -> Vec<String> {
        (0..n)
            .map(|i| format!("http://127.0.0.1:{}/f/{i}", self.port))
            .collect()
    }
}

/// Answers the requests of one socket, each with a 1 MiB body, until it closes.
fn serve(stream: TcpStream) {
    let socket = socket2::SockRef::from(&stream);
    let _ = socket.set_send_buffer_size(16 << 10);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(20)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(20)));
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    let piece = vec![b'x'; 16 << 10];
    loop {
        // The request head: lines until an empty one.
        let mut line = String::new();
        let mut lines = 0;
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) if line == "\r\n" && lines > 0 => break,
                Ok(_) => lines += 1,
            }
        }
        let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {BODY}\r\n\r\n");
        if writer.write_all(head.as_bytes()).is_err() {
            return;
        }
        for _ in 0..BODY / piece.len() {
            if writer.write_all(&piece).is_err() {
                return;
            }
        }
    }
}

/// The bytes in the output directory's files, named or still being written by `pid`
/// (`O_TMPFILE` bodies are seen through `/proc/PID/fd`; a file counts once, whatever
/// descriptors or names it has).
fn bytes_landed(pid: u32, dir: &Path) -> u64 {
    let mut files: HashMap<u64, u64> = HashMap::new();
    if let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) {
        for fd in fds.flatten() {
            let Ok(target) = std::fs::read_link(fd.path()) else {
                continue;
            };
            if target.parent() != Some(dir) {
                continue;
            }
            if let Ok(meta) = std::fs::metadata(fd.path()) {
                files.insert(meta.ino(), meta.len());
            }
        }
    }
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if let Ok(meta) = entry.metadata() {
            if meta.is_file() {
                files.insert(meta.ino(), meta.len());
            }
        }
    }
    files.values().sum()
}

/// The most bytes that landed within any one second of `samples` (time, bytes so far).
fn busiest_second(samples: &[(Instant, u64)]) -> u64 {
    let mut busiest = 0;
    for (i, &(t, before)) in samples.iter().enumerate() {
        for &(u, after) in &samples[i..] {
            if u - t > Duration::from_secs(1) {
                break;
            }
            busiest = busiest.max(after - before);
        }
    }
    busiest
}

/// 8 files of 1 MiB at `--limit-rate 2M` with `extra`: every file saved, in at least
/// 3.5 s (8 MiB less one burst, at 2 MiB/s, is 3.9 s), and, sampled every 20 ms on the
/// client's side, no second in which much more than 2 MiB landed.
fn capped_run(extra: &[&str]) {
    let server = BodyServer::start();
    let out = out_dir();
    let dir = out.path().canonicalize().unwrap();
    let urls = server.urls(8);
    let mut args = get_args(&dir, &["--limit-rate", CAP]);
    args.extend_from_slice(extra);
    args.extend(urls.iter().map(String::as_str));
    let started = Instant::now();
    let mut child = start(&args);
    let mut samples = vec![(started, 0)];
    while child.child.try_wait().unwrap().is_none() && started.elapsed() < WATCHDOG {
        samples.push((Instant::now(), bytes_landed(child.pid(), &dir)));
        thread::sleep(Duration::from_millis(20));
    }
    let run = child.finish();
    let took = started.elapsed();
    samples.push((Instant::now(), bytes_landed(0, &dir)));
    assert_eq!(run.status, Some(0), "{extra:?}: {}", run.stderr);
    assert_eq!(run.count("ok"), 8, "{extra:?}");
    assert_eq!(run.count("bytes"), 8 * BODY as u64, "{extra:?}");
    assert!(
        took >= Duration::from_millis(3500),
        "{extra:?}: took {took:?}"
    );
    // The cap, a tenth more for the bucket's burst, and some slack for the sampling
    // and the bytes in a pipe between socket and file.
    let busiest = busiest_second(&samples);
    let allowed = CAP_BYTES + CAP_BYTES / 10 + (256 << 10);
    assert!(
        busiest <= allowed,
        "{extra:?}: {busiest} bytes landed in one second (took {took:?})"
    );
    // And the run was not idle either: some second saw most of the cap.
    assert!(
        busiest >= CAP_BYTES / 2,
        "{extra:?}: at most {busiest} in a second"
    );
}

#[test]
fn two_megabytes_a_second_on_one_socket() {
    capped_run(&["-c", "1"]);
}

#[test]
fn two_megabytes_a_second_on_eight_sockets() {
    capped_run(&["-c", "8"]);
}

#[test]
fn two_megabytes_a_second_without_disk_threads() {
    // The reactor splices the bodies itself, through its own pipe.
    capped_run(&["-c", "8", "--disk-threads", "0"]);
}

#[test]
fn two_megabytes_a_second_on_eight_worker_threads() {
    capped_run(&["-c", "8", "--engine", "threads"]);
}

#[test]
fn two_megabytes_a_second_in_the_blocking_engine() {
    capped_run(&["--engine", "blocking"]);
}

#[test]
fn without_the_option_the_same_files_come_much_faster() {
    // The test above would pass by luck on a slow machine if the files always took
    // this long: they do not.
    let server = BodyServer::start();
    let out = out_dir();
    let urls = server.urls(8);
    let mut args = get_args(out.path(), &["-c", "8"]);
    args.extend(urls.iter().map(String::as_str));
    let started = Instant::now();
    let run = miodl(&args);
    assert_eq!(run.status, Some(0), "{}", run.stderr);
    assert_eq!(run.count("ok"), 8);
    assert!(started.elapsed() < Duration::from_millis(3500));
}

#[test]
fn bad_values_are_refused_with_one_line() {
    for (value, why) in [
        ("0", "must be at least 1 byte a second"),
        ("0k", "must be at least 1 byte a second"),
        ("1.5M", "is not bytes a second"),
        ("2T", "is not bytes a second"),
        ("k", "is not bytes a second"),
        ("-5", "is not bytes a second"),
        ("", "is not bytes a second"),
        ("99999999999G", "is too large"),
    ] {
        let run = miodl(&["get", "--limit-rate", value, "http://127.0.0.1:1/x"]);
        assert_eq!(run.status, Some(2), "{value}: {}", run.stderr);
        let lines = run.stderr_lines();
        assert_eq!(lines.len(), 1, "{value}: {}", run.stderr);
        assert!(
            lines[0].contains("invalid value for --limit-rate") && lines[0].contains(why),
            "{value}: {}",
            lines[0]
        );
    }
}
