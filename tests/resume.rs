//! `-C/--continue`: a 64 MiB body cut at a random byte (the server resets, miodl is
//! killed with SIGKILL, miodl is stopped with SIGINT) is resumed by a rerun, which
//! fetches only the rest; servers that answer the `Range` with a `200`, whose `ETag`
//! changed, or that answer `416`, still end with the right file; and without `-C` a cut
//! body leaves nothing.
//!
//! The origin here is written in the test (on the scripted server of `support`): it
//! serves `Range: bytes=N-` with `If-Range` as a real server does, logs what it was
//! asked and how many body bytes it sent, and can cut its first answer after K bytes.

mod support;

use std::fs;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use support::scripted::*;
use support::{get_args, miodl, names_in, start, Run, PATIENCE};

const SIZE: usize = 64 << 20;
const MIB: u64 = 1 << 20;

/// How the origin answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Honors {
    /// `Range` and `If-Range` as RFC 9110 says.
    Ranges,
    /// Every request gets the whole body (`200`).
    Never,
    /// `Range` always, whatever `If-Range` says (a broken server: miodl checks the tag).
    IgnoresIfRange,
}

/// How the first answer ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cut {
    /// After K body bytes, a pause, then a reset.
    Reset(usize),
    /// After K body bytes, the answer holds (until the test kills miodl).
    Hold(usize),
    /// Not cut.
    Whole,
}

struct Origin {
    body: Arc<Vec<u8>>,
    etag: Mutex<String>,
    honors: Mutex<Honors>,
    cut: Mutex<Cut>,
    /// Each request: the `Range` start asked (if any), the status, body bytes sent.
    log: Mutex<Vec<(Option<u64>, u16, u64)>>,
    gate: Gate,
}

impl Origin {
    fn start(body: Vec<u8>, cut: Cut) -> (Server, Arc<Origin>) {
        let origin = Arc::new(Origin {
            body: Arc::new(body),
            etag: Mutex::new("\"v1\"".into()),
            honors: Mutex::new(Honors::Ranges),
            cut: Mutex::new(cut),
            log: Mutex::new(Vec::new()),
            gate: Gate::new(),
        });
        let o = Arc::clone(&origin);
        let server = Server::start(move |request| o.answer(request));
        (server, origin)
    }

    fn answer(&self, request: &Request) -> Script {
        let len = self.body.len() as u64;
        let etag = self.etag.lock().unwrap().clone();
        let honors = *self.honors.lock().unwrap();
        let from = request
            .header("range")
            .and_then(|r| r.strip_prefix("bytes="))
            .and_then(|r| r.strip_suffix('-'))
            .and_then(|n| n.parse::<u64>().ok());
        let same = request.header("if-range") == Some(etag.as_str());
        let ranged = match (honors, from) {
            (Honors::Ranges, Some(n)) if same => Some(n),
            (Honors::IgnoresIfRange, Some(n)) => Some(n),
            _ => None,
        };
        let cut = std::mem::replace(&mut *self.cut.lock().unwrap(), Cut::Whole);
        let (status, start) = match ranged {
            Some(n) if n >= len => {
                self.log.lock().unwrap().push((from, 416, 0));
                let range = format!("bytes */{len}");
                let headers = [("ETag", etag.as_str()), ("Content-Range", range.as_str())];
                return Script::status(416, &headers, b"");
            }
            Some(n) => (206, n as usize),
            None => (200, 0),
        };
        let rest = &self.body[start..];
        let mut head = format!("HTTP/1.1 {status} X\r\nETag: {etag}\r\n");
        if status == 206 {
            head += &format!("Content-Range: bytes {start}-{}/{len}\r\n", len - 1);
        }
        head += &format!("Content-Length: {}\r\n\r\n", rest.len());
        let sent = match cut {
            Cut::Reset(k) | Cut::Hold(k) => k.min(rest.len()),
            Cut::Whole => rest.len(),
        };
        self.log.lock().unwrap().push((from, status, sent as u64));
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(&rest[..sent]);
        let script = Script::new().write(bytes);
        match cut {
            // Time for the client to read what was sent before the reset throws it away.
            Cut::Reset(_) => script.sleep(Duration::from_millis(300)).reset(),
            Cut::Hold(_) => script.wait(&self.gate).close(),
            Cut::Whole => script,
        }
    }

    fn log(&self) -> Vec<(Option<u64>, u16, u64)> {
        self.log.lock().unwrap().clone()
    }
}

/// A body that differs at every offset (a resumed body at the wrong place would show).
fn body(len: usize) -> Vec<u8> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    (0..len)
        .map(|i| {
            if i % 8 == 0 {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
            }
            (state >> ((i % 8) * 8)) as u8
        })
        .collect()
}

/// A cut somewhere between 8 and 56 MiB, different each run (printed on failure).
fn random_cut() -> usize {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as usize;
    (8 << 20) + nanos.wrapping_mul(2654435761) % (48 << 20)
}

fn get(out: &Path, url: &str, engine: &[&str], extra: &[&str]) -> Run {
    let mut args = get_args(out, &[url, "--retries", "0"]);
    args.extend_from_slice(engine);
    args.extend_from_slice(extra);
    miodl(&args)
}

/// The hidden names in `dir`.
fn hidden(dir: &Path) -> Vec<String> {
    names_in(dir)
        .into_iter()
        .filter(|n| n.starts_with('.'))
        .collect()
}

fn part_len(dir: &Path) -> Option<u64> {
    fs::metadata(dir.join(".big.miodl-part"))
        .ok()
        .map(|m| m.len())
}

/// The rerun with `-C`: the file is whole and right, and the origin sent only the rest.
fn rerun_resumes(out: &Path, server: &Server, origin: &Origin, engine: &[&str], k: usize) {
    let have = part_len(out).expect("a part is kept");
    assert!(
        have.abs_diff(k as u64) <= 2 * MIB,
        "the part has {have} bytes, the cut was at {k}"
    );
    let before = origin.log().len();
    let rerun = get(out, &server.url("/big"), engine, &["-C"]);
    assert_eq!(rerun.status, Some(0), "{rerun}");
    assert!(
        fs::read(out.join("big")).unwrap() == *origin.body,
        "file differs"
    );
    assert_eq!(hidden(out), Vec::<String>::new(), "{rerun}");
    let log = origin.log();
    let asked = &log[before..];
    assert_eq!(asked.len(), 1, "{asked:?}");
    let (from, status, sent) = asked[0];
    assert_eq!((from, status), (Some(have), 206), "{asked:?}");
    let remaining = (SIZE - k) as u64;
    assert!(
        sent.abs_diff(remaining) <= 2 * MIB,
        "sent {sent} bytes on the rerun, {remaining} remained after the cut at {k}"
    );
    assert_eq!(rerun.count("resumed"), 1, "{rerun}");
    assert_eq!(rerun.count("bytes_resumed"), have, "{rerun}");
    assert_eq!(have + sent, SIZE as u64);
}

const ENGINES: [&[&str]; 3] = [
    &["--engine", "reactor"],
    &["--engine", "reactor", "--disk-threads", "0"],
    &["--engine", "threads"],
];

#[test]
fn a_body_cut_by_the_server_is_resumed_where_it_stopped() {
    for engine in ENGINES {
        let k = random_cut();
        let (server, origin) = Origin::start(body(SIZE), Cut::Reset(k));
        let out = tempfile::tempdir().unwrap();
        let first = get(out.path(), &server.url("/big"), engine, &["-C"]);
        assert_eq!(first.status, Some(1), "{engine:?} {first}");
        assert!(!out.path().join("big").exists());
        assert_eq!(
            hidden(out.path()),
            [".big.miodl-meta", ".big.miodl-part"],
            "{engine:?}"
        );
        rerun_resumes(out.path(), &server, &origin, engine, k);
    }
}

/// Starts `get -C`, waits until the part holds about K bytes, then sends `signal`.
fn cut_by_signal(signal: &str, engine: &[&str]) {
    let k = random_cut();
    let (server, origin) = Origin::start(body(SIZE), Cut::Hold(k));
    let out = tempfile::tempdir().unwrap();
    let url = server.url("/big");
    let mut args = get_args(out.path(), &[url.as_str(), "-C"]);
    args.extend_from_slice(engine);
    let mut running = start(&args);
    let since = Instant::now();
    while part_len(out.path()).is_none_or(|n| n + (64 << 10) < k as u64) {
        assert!(
            since.elapsed() < PATIENCE,
            "{engine:?}: the part never reached {k}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let pid = running.pid().to_string();
    let sent = std::process::Command::new("kill")
        .args([signal, pid.as_str()])
        .status()
        .unwrap();
    assert!(sent.success());
    let code = running.wait(PATIENCE);
    origin.gate.open();
    match signal {
        "-KILL" => assert_eq!(code, None, "{engine:?}"),
        _ => assert_eq!(code, Some(130), "{engine:?}"),
    }
    assert!(!out.path().join("big").exists());
    rerun_resumes(out.path(), &server, &origin, engine, k);
}

#[test]
fn a_body_cut_by_sigkill_is_resumed() {
    for engine in ENGINES {
        cut_by_signal("-KILL", engine);
    }
}

#[test]
fn a_body_cut_by_sigint_is_resumed() {
    for engine in ENGINES {
        cut_by_signal("-INT", engine);
    }
}

/// A first run cut after 1 MiB of a 4 MiB body, then the origin changes as `change`
/// says: the rerun with `-C` still ends with the origin's body, not resumed.
fn rerun_starts_over(change: impl Fn(&Origin), new_body: bool) -> Vec<(Option<u64>, u16, u64)> {
    let (server, origin) = Origin::start(body(4 << 20), Cut::Reset(1 << 20));
    let out = tempfile::tempdir().unwrap();
    let first = get(out.path(), &server.url("/big"), &[], &["-C"]);
    assert_eq!(first.status, Some(1), "{first}");
    assert!(part_len(out.path()).is_some());
    change(&origin);
    let rerun = get(out.path(), &server.url("/big"), &[], &["-C"]);
    assert_eq!(rerun.status, Some(0), "{rerun}");
    let saved = fs::read(out.path().join("big")).unwrap();
    assert!(saved == *origin.body, "file differs");
    assert_eq!(rerun.count("resumed"), 0, "{rerun}");
    assert_eq!(hidden(out.path()), Vec::<String>::new());
    let _ = new_body;
    origin.log()[1..].to_vec()
}

#[test]
fn a_server_that_answers_the_range_with_200_gives_the_whole_file() {
    let log = rerun_starts_over(|o| *o.honors.lock().unwrap() = Honors::Never, false);
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!((log[0].1, log[0].2), (200, 4 << 20));
    assert!(log[0].0.is_some(), "the rerun asked for the rest: {log:?}");
}

#[test]
fn a_changed_etag_starts_over() {
    // An honest server: the old tag fails If-Range, the answer is a 200.
    let log = rerun_starts_over(|o| *o.etag.lock().unwrap() = "\"v2\"".into(), true);
    assert_eq!(
        log.iter().map(|l| l.1).collect::<Vec<_>>(),
        [200],
        "{log:?}"
    );
    // A server that ignores If-Range: miodl sees the other tag on the 206, drops it and
    // asks again without Range.
    let log = rerun_starts_over(
        |o| {
            *o.etag.lock().unwrap() = "\"v3\"".into();
            *o.honors.lock().unwrap() = Honors::IgnoresIfRange;
        },
        true,
    );
    let asked: Vec<_> = log.iter().map(|l| (l.0.is_some(), l.1)).collect();
    assert_eq!(asked, [(true, 206), (false, 200)], "{log:?}");
}

/// Writes a part of `have` bytes of `body` with its description (length `length`).
fn plant_part(dir: &Path, url: &str, body: &[u8], have: usize, length: usize) {
    fs::create_dir_all(dir).unwrap();
    fs::write(dir.join(".big.miodl-part"), &body[..have]).unwrap();
    let meta = format!("miodl-part 1\nurl {url}\nif-range \"v1\"\nlength {length}\n");
    fs::write(dir.join(".big.miodl-meta"), meta).unwrap();
}

#[test]
fn a_416_for_a_whole_part_names_it_and_otherwise_starts_over() {
    for engine in ENGINES {
        let (server, origin) = Origin::start(body(1 << 20), Cut::Whole);
        let out = tempfile::tempdir().unwrap();
        let url = server.url("/big");
        plant_part(out.path(), &url, &origin.body, 1 << 20, 1 << 20);
        let run = get(out.path(), &url, engine, &["-C"]);
        assert_eq!(run.status, Some(0), "{run}");
        assert!(fs::read(out.path().join("big")).unwrap() == *origin.body);
        assert_eq!(origin.log(), [(Some(1 << 20), 416, 0)]);
        assert_eq!(
            (run.count("resumed"), run.count("bytes_resumed")),
            (1, 1 << 20)
        );
        assert_eq!(hidden(out.path()), Vec::<String>::new());

        // A part that claims a longer body than the server has: not whole, start over.
        let out = tempfile::tempdir().unwrap();
        plant_part(out.path(), &url, &origin.body, 1 << 20, 2 << 20);
        let run = get(out.path(), &url, engine, &["-C"]);
        assert_eq!(run.status, Some(0), "{run}");
        assert!(fs::read(out.path().join("big")).unwrap() == *origin.body);
        let statuses: Vec<u16> = origin.log()[1..].iter().map(|l| l.1).collect();
        assert_eq!(statuses, [416, 200]);
        assert_eq!(run.count("resumed"), 0, "{run}");
    }
}

#[test]
fn without_continue_a_cut_body_leaves_nothing_and_sends_no_range() {
    for engine in ENGINES {
        let (server, origin) = Origin::start(body(4 << 20), Cut::Reset(1 << 20));
        let out = tempfile::tempdir().unwrap();
        let url = server.url("/big");
        let first = get(out.path(), &url, engine, &[]);
        assert_eq!(first.status, Some(1), "{first}");
        assert_eq!(names_in(out.path()), Vec::<String>::new(), "{engine:?}");
        // A part from an earlier -C run is left alone, and not asked for.
        plant_part(out.path(), &url, &origin.body, 1 << 20, 4 << 20);
        let run = get(out.path(), &url, engine, &[]);
        assert_eq!(run.status, Some(0), "{run}");
        assert_eq!(origin.log()[1].0, None, "{engine:?}");
        assert!(fs::read(out.path().join("big")).unwrap() == *origin.body);
    }
}

/// `miodl serve` is the counterpart: `/bytes/<n>` has an `ETag` and answers `Range`.
/// A first run cut by its `reset-body` fault (half the body, then a reset) is resumed
/// from the half; a server on the same port with `--no-ranges`, or with another
/// `--etag-salt`, makes the rerun start over; every run ends with the right bytes.
#[test]
fn miodl_serve_resumes_and_its_options_make_a_rerun_start_over() {
    const LEN: usize = 8 << 20;
    let expected = support::pattern(LEN);
    for (case, later) in [
        ("ranges", None),
        ("no-ranges", Some(true)),
        ("salt", Some(false)),
    ] {
        let server = support::reference().faults("reset-body:1@1").start();
        let url = format!("{}/bytes/{LEN}", server.base_url());
        let port = server.addr().port();
        let out = tempfile::tempdir().unwrap();
        let first = get(out.path(), &url, &[], &["-C"]);
        assert_eq!(first.status, Some(1), "{case}: {first}");
        let have = fs::metadata(out.path().join(format!(".{LEN}.miodl-part")))
            .map(|m| m.len())
            .unwrap_or_else(|e| panic!("{case}: no part: {e}"));
        assert!(have > 0 && have <= LEN as u64 / 2, "{case}: {have}");
        let server = match later {
            None => server,
            Some(no_ranges) => {
                server.shutdown().unwrap();
                let next = support::reference().port(port);
                let next = if no_ranges {
                    next.no_ranges()
                } else {
                    next.etag_salt("v2")
                };
                next.start()
            }
        };
        let rerun = get(out.path(), &url, &[], &["-C"]);
        assert_eq!(rerun.status, Some(0), "{case}: {rerun}");
        let saved = fs::read(out.path().join(LEN.to_string())).unwrap();
        assert!(saved == expected, "{case}: the file differs");
        assert_eq!(hidden(out.path()), Vec::<String>::new(), "{case}");
        let (resumed, kept) = (rerun.count("resumed"), rerun.count("bytes_resumed"));
        match later {
            None => assert_eq!((resumed, kept), (1, have), "{case}: {rerun}"),
            Some(_) => assert_eq!((resumed, kept), (0, 0), "{case}: {rerun}"),
        }
        assert_eq!(rerun.count("requests"), 1, "{case}: {rerun}");
        drop(server);
    }
}

#[test]
fn a_weak_etag_keeps_no_part() {
    let (server, origin) = Origin::start(body(4 << 20), Cut::Reset(1 << 20));
    *origin.etag.lock().unwrap() = "W/\"v1\"".into();
    let out = tempfile::tempdir().unwrap();
    let first = get(out.path(), &server.url("/big"), &[], &["-C"]);
    assert_eq!(first.status, Some(1), "{first}");
    // Not resumable safely (If-Range may not carry a weak tag): staged as without -C.
    assert_eq!(names_in(out.path()), Vec::<String>::new());
}

/// With `--skip-existing` too, a resumed file is recorded like any other: the next run
/// requests nothing.
#[test]
fn a_resumed_file_is_recorded_for_skip_existing() {
    let (server, origin) = Origin::start(body(4 << 20), Cut::Reset(1 << 20));
    let out = tempfile::tempdir().unwrap();
    let url = server.url("/big");
    let both = ["-C", "--skip-existing"];
    let first = get(out.path(), &url, &[], &both);
    assert_eq!(first.status, Some(1), "{first}");
    let rerun = get(out.path(), &url, &[], &both);
    assert_eq!(
        (rerun.count("ok"), rerun.count("resumed")),
        (1, 1),
        "{rerun}"
    );
    let record = fs::read_to_string(out.path().join(".miodl-saved")).unwrap();
    assert!(record.starts_with(&format!("{url}\tbig\t")), "{record}");
    let third = get(out.path(), &url, &[], &both);
    assert_eq!(
        (third.count("skipped"), third.count("requests")),
        (1, 0),
        "{third}"
    );
    assert_eq!(origin.log().len(), 2);
    assert!(fs::read(out.path().join("big")).unwrap() == *origin.body);
}

/// `-C` within one run: a retry after the body was cut asks for the rest of the part
/// the cut try left, not for the whole body again.
#[test]
fn a_retry_in_the_same_run_resumes_the_part() {
    for engine in ENGINES {
        let k = random_cut();
        let (server, origin) = Origin::start(body(SIZE), Cut::Reset(k));
        let out = tempfile::tempdir().unwrap();
        let extra = ["-C", "--retries", "1", "--retry-delay", "10"];
        let run = get(out.path(), &server.url("/big"), engine, &extra);
        assert_eq!(run.status, Some(0), "{engine:?} {run}");
        assert!(fs::read(out.path().join("big")).unwrap() == *origin.body);
        assert_eq!(hidden(out.path()), Vec::<String>::new());
        let log = origin.log();
        assert_eq!(log.len(), 2, "{engine:?} {log:?}");
        let (from, status, sent) = log[1];
        assert_eq!(status, 206, "{engine:?} {log:?}");
        let from = from.unwrap();
        assert!(
            from.abs_diff(k as u64) <= 2 * MIB,
            "{engine:?}: cut at {k}, resumed from {from}"
        );
        assert_eq!(from + sent, SIZE as u64);
        assert_eq!(run.count("resumed"), 1, "{run}");
        assert_eq!(run.count("bytes_resumed"), from, "{run}");
    }
}

/// A rerun whose answer can no longer be kept (the server dropped its `ETag`) saves the
/// whole file and removes the old part with its description.
#[test]
fn a_whole_answer_that_cannot_be_kept_removes_the_old_part() {
    let log = rerun_starts_over(|o| *o.etag.lock().unwrap() = String::new(), true);
    assert_eq!(
        log.iter().map(|l| l.1).collect::<Vec<_>>(),
        [200],
        "{log:?}"
    );
}

/// `--compressed`: a gzip-encoded body is not resumable (its bytes are not the file's),
/// so cut, it leaves no part; only identity-encoded bodies are kept.
#[test]
fn an_encoded_body_under_compressed_keeps_no_part() {
    use flate2::write::GzEncoder;
    use std::io::Write;
    let mut encoder = GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(&body(2 << 20)).unwrap();
    let encoded = encoder.finish().unwrap();
    let server = Server::start(move |_| {
        let mut head = format!(
            "HTTP/1.1 200 OK\r\nETag: \"g1\"\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n",
            encoded.len()
        )
        .into_bytes();
        head.extend_from_slice(&encoded[..encoded.len() / 2]);
        Script::new()
            .write(head)
            .sleep(Duration::from_millis(200))
            .reset()
    });
    let out = tempfile::tempdir().unwrap();
    let run = get(
        out.path(),
        &server.url("/big"),
        &[],
        &["-C", "--compressed"],
    );
    assert_eq!(run.status, Some(1), "{run}");
    assert_eq!(names_in(out.path()), Vec::<String>::new());
}
