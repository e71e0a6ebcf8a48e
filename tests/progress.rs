//! What a person sees on a terminal, and what the next run is given: the progress line
//! captured through a real pseudo-terminal (a total, a percent and an ETA for `get -i`,
//! found ids and the list's end for a crawl; nothing under `-q` or when stderr is a
//! pipe), `--failed FILE` fed back to `-i FILE`, and `-v` heads with the credentials
//! redacted.

mod support;

use std::fs::File;
use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;

use support::*;

/// A pseudo-terminal of `cols` columns: (the side the test reads, the side the child
/// writes its stderr to). Opened with libc's `openpty`, so no `script(1)` is needed.
fn pty(cols: u16) -> (File, OwnedFd) {
    let (mut master, mut slave) = (-1, -1);
    let size = libc::winsize {
        ws_row: 24,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: openpty writes two descriptors into the locals; the null name and
    // termios are allowed, and `size` outlives the call.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            &size,
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors were just opened and are owned by nobody else.
    unsafe {
        (
            File::from(OwnedFd::from_raw_fd(master)),
            OwnedFd::from_raw_fd(slave),
        )
    }
}

/// Runs `miodl ARGS` with stderr on a terminal of `cols` columns; returns its exit
/// status and what it wrote there.
fn on_terminal(args: &[&str], cols: u16) -> (Option<i32>, String) {
    on_terminal_with(args, cols, Stdio::null())
}

/// [`on_terminal`] with `stdin`.
fn on_terminal_with(args: &[&str], cols: u16, stdin: Stdio) -> (Option<i32>, String) {
    let (mut master, slave) = pty(cols);
    let mut child = without_proxy_env(&mut Command::new(env!("CARGO_BIN_EXE_miodl")))
        .args(args)
        .stdin(stdin)
        .stdout(Stdio::null())
        .stderr(Stdio::from(slave))
        .spawn()
        .expect("spawn miodl");
    // The child holds the only terminal side now: once it exits, reads end (EIO).
    let reader = thread::spawn(move || {
        let mut bytes = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            match master.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => bytes.extend_from_slice(&buf[..n]),
            }
        }
        String::from_utf8_lossy(&bytes).into_owned()
    });
    let since = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for miodl") {
            break status.code();
        }
        if since.elapsed() > WATCHDOG {
            let _ = child.kill();
            let _ = child.wait();
            panic!("miodl {args:?} still running after {WATCHDOG:?}; killed");
        }
        thread::sleep(std::time::Duration::from_millis(5));
    };
    (status, reader.join().expect("the reader"))
}

/// The reference server with `n` files, and a `-i` list of all of them.
fn list_of(n: usize, dir: &Path) -> (ServerHandle, String) {
    let server = reference().files(n).start();
    let base = server.base_url();
    let text: String = (server.ids().iter())
        .map(|id| format!("{base}/api/download/{id}\n"))
        .collect();
    let path = dir.join("urls.txt");
    std::fs::write(&path, text).expect("write the list");
    (server, path.to_str().unwrap().to_string())
}

/// The drawings of the progress line in a capture: the text after each `\r` + clear.
fn drawings(capture: &str) -> Vec<&str> {
    capture
        .split("\r\x1b[2K")
        .skip(1)
        .map(|d| d.trim_end_matches(['\r', '\n']))
        .filter(|d| !d.is_empty())
        .collect()
}

#[test]
fn a_terminal_shows_the_total_the_percent_and_the_eta_of_a_list() {
    let scratch = out_dir();
    let (_server, list) = list_of(2000, scratch.path());
    let out = scratch.path().join("out");
    for engine in ["reactor", "threads"] {
        let args = [
            "get",
            "-i",
            &list,
            "-o",
            out.to_str().unwrap(),
            "--engine",
            engine,
        ];
        let (status, capture) = on_terminal(&args, 100);
        assert_eq!(status, Some(0), "{engine}: {capture}");
        let drawn = drawings(&capture);
        let last = *drawn
            .last()
            .unwrap_or_else(|| panic!("{engine}: no line: {capture:?}"));
        assert!(
            last.starts_with("2000/2000 100.0% · ") && last.contains("ETA 0:00"),
            "{engine}: the last line {last:?}"
        );
        // Every drawing knows the total, and fits the terminal's 100 columns.
        for line in &drawn {
            assert!(line.contains("/2000 ") && line.contains('%'), "{line:?}");
            assert!(
                line.chars().count() <= 100,
                "wider than the terminal: {line:?}"
            );
        }
        // The last state stays on screen, ended by a newline.
        assert!(capture.ends_with('\n'), "{engine}: {capture:?}");
    }
}

#[test]
fn a_list_on_stdin_has_its_total_once_stdin_ends() {
    let scratch = out_dir();
    let (_server, list) = list_of(300, scratch.path());
    let out = scratch.path().join("out");
    let stdin = Stdio::from(File::open(&list).expect("the list"));
    let args = ["get", "-i", "-", "-o", out.to_str().unwrap()];
    let (status, capture) = on_terminal_with(&args, 200, stdin);
    assert_eq!(status, Some(0), "{capture}");
    let drawn = drawings(&capture);
    let last = *drawn.last().expect("a line");
    assert!(last.starts_with("300/300 100.0% · "), "{last:?}");
    // Before stdin's end no total is claimed: a line has a total and an ETA, or neither.
    for line in &drawn {
        let total = line.contains("/300 ");
        assert_eq!(total, line.contains("ETA"), "{line:?}");
        assert!(total || line.starts_with("done "), "{line:?}");
    }
}

#[test]
fn a_crawl_shows_the_ids_found_and_the_end_of_the_list() {
    let server = reference().files(60).start();
    let out = out_dir();
    let list = list_url(&server);
    let args = ["crawl", &list, "-o", out.path().to_str().unwrap()];
    let (status, capture) = on_terminal(&args, 200);
    assert_eq!(status, Some(0), "{capture}");
    let drawn = drawings(&capture);
    let last = *drawn.last().expect("a line");
    assert!(
        last.starts_with("60/60 100.0% · found 60 ids, list ended"),
        "{last:?}"
    );
    // No total while the list is open; the whole list's once it has ended.
    for line in &drawn {
        let ended = line.contains("list ended");
        assert!(ended || line.contains("list open"), "{line:?}");
        assert_eq!(ended, line.contains("/60 "), "{line:?}");
    }
}

#[test]
fn nothing_is_drawn_under_quiet_or_when_stderr_is_a_pipe() {
    let scratch = out_dir();
    let (_server, list) = list_of(200, scratch.path());
    let out = scratch.path().join("out");
    let out = out.to_str().unwrap();
    let (status, capture) = on_terminal(&["get", "-q", "-i", &list, "-o", out], 100);
    assert_eq!(status, Some(0), "{capture}");
    assert_eq!(capture, "", "-q on a terminal");
    let piped = miodl(&["get", "-i", &list, "-o", out]);
    assert_eq!(piped.status, Some(0), "{piped}");
    assert_eq!(piped.stderr, "", "stderr a pipe");
}

#[test]
fn the_failed_list_is_what_a_rerun_with_i_fetches() {
    for engine in ENGINES {
        // Ids starting with `0` or `1` fail their first try; no retries.
        let server = reference()
            .files(200)
            .faults("500@1=/api/download/0,500@1=/api/download/1")
            .start();
        let scratch = out_dir();
        let base = server.base_url();
        let urls: Vec<String> = (server.ids().iter())
            .map(|id| format!("{base}/api/download/{id}"))
            .collect();
        let failing: Vec<&String> = (urls.iter())
            .filter(|u| u.contains("/download/0") || u.contains("/download/1"))
            .collect();
        assert!(!failing.is_empty() && failing.len() < urls.len());
        let list = scratch.path().join("urls.txt");
        std::fs::write(&list, urls.join("\n")).unwrap();
        let failed = scratch.path().join("failed.txt");
        let out = scratch.path().join("out");
        let (list, failed_s) = (list.to_str().unwrap(), failed.to_str().unwrap());
        let extra = [
            "-i",
            list,
            "--retries",
            "0",
            "--failed",
            failed_s,
            "--engine",
            engine,
        ];
        let first = miodl(&get_args(&out, &extra));
        assert_eq!(first.status, Some(1), "{first}");
        assert_eq!(first.count("failed"), failing.len() as u64, "{first}");
        let mut written: Vec<String> = std::fs::read_to_string(&failed)
            .unwrap()
            .lines()
            .map(String::from)
            .collect();
        written.sort();
        let mut expected: Vec<String> = failing.iter().map(|u| u.to_string()).collect();
        expected.sort();
        assert_eq!(written, expected, "{engine}: the failed list");
        // No temporary is left beside it.
        let beside = names_in(scratch.path());
        assert!(beside.iter().all(|n| !n.starts_with('.')), "{beside:?}");
        // The rerun asks for just those, and this time they come.
        let extra = ["-i", failed_s, "--failed", failed_s, "--engine", engine];
        let second = miodl(&get_args(&out, &extra));
        assert_eq!(second.status, Some(0), "{second}");
        assert_eq!(second.count("requests"), failing.len() as u64, "{second}");
        assert_eq!(second.count("ok"), failing.len() as u64, "{second}");
        assert_eq!(saved(&out).len(), urls.len(), "{engine}: every file once");
        // Nothing failed the second time: the list is empty now.
        assert_eq!(std::fs::read_to_string(&failed).unwrap(), "");
    }
}

#[test]
fn verbose_prints_the_heads_and_never_the_credentials() {
    let server = reference().files(3).start();
    let base = server.base_url();
    for engine in ENGINES {
        let out = out_dir();
        let url = format!("{base}/api/download/{}", server.ids()[0]);
        let args = [
            "get",
            "-v",
            "-u",
            "user:secret",
            "-o",
            out.path().to_str().unwrap(),
            "--engine",
            engine,
            &url,
        ];
        let run = miodl(&args);
        assert_eq!(run.status, Some(0), "{run}");
        let err = &run.stderr;
        assert!(err.contains("> GET /api/download/"), "{engine}: {err}");
        assert!(
            err.contains("> Authorization: [redacted]"),
            "{engine}: {err}"
        );
        assert!(err.contains("< HTTP/1.1 200"), "{engine}: {err}");
        // Neither the password nor its base64 (`user:secret`).
        for secret in ["secret", "dXNlcjpzZWNyZXQ"] {
            assert!(!err.contains(secret), "{engine}: {secret} shown: {err}");
        }
    }
    // Without -v no head is printed.
    let out = out_dir();
    let url = format!("{base}/api/download/{}", server.ids()[0]);
    let run = miodl(&["get", "-o", out.path().to_str().unwrap(), &url]);
    assert!(!run.stderr.contains("> GET"), "{run}");
}

#[test]
fn a_crawl_writes_the_file_urls_that_failed() {
    // Downloads of ids starting with `0` fail their first try; the pages never fail.
    let server = reference()
        .files(120)
        .faults("500@1=/api/download/0")
        .start();
    let scratch = out_dir();
    let failed = scratch.path().join("failed.txt");
    let out = scratch.path().join("out");
    let list = list_url(&server);
    let extra = ["--retries", "0", "--failed", failed.to_str().unwrap()];
    let run = crawl(&list, &out, &extra);
    assert_eq!(run.status, Some(1), "{run}");
    let base = server.base_url();
    let mut expected: Vec<String> = (server.ids().iter())
        .filter(|id| id.starts_with('0'))
        .map(|id| format!("{base}/api/download/{id}"))
        .collect();
    expected.sort();
    assert!(!expected.is_empty());
    let mut written: Vec<String> = std::fs::read_to_string(&failed)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    written.sort();
    assert_eq!(written, expected, "{run}");
    // And `get -i FILE` fetches just those.
    let extra = ["-i", failed.to_str().unwrap()];
    let again = miodl(&get_args(&out, &extra));
    assert_eq!(again.status, Some(0), "{again}");
    assert_eq!(again.count("requests"), expected.len() as u64, "{again}");
    assert_eq!(saved(&out).len(), 120);
}

/// A run killed by SIGKILL leaves no temporary beside `--failed FILE` (the list is an
/// unnamed file until the run ends), and the FILE of the last run that ended stays.
#[test]
fn a_killed_run_leaves_nothing_beside_the_failed_list() {
    let server = reference()
        .files(20)
        .lag(std::time::Duration::from_secs(5))
        .start();
    for engine in ENGINES {
        let scratch = out_dir();
        let failed = scratch.path().join("failed.txt");
        std::fs::write(&failed, "http://earlier.test/x\n").unwrap();
        let out = scratch.path().join("out");
        let url = format!("{}/api/download/{}", server.base_url(), server.ids()[0]);
        let failed_s = failed.to_str().unwrap();
        let extra = ["--failed", failed_s, "--engine", engine, &url];
        let mut run = start(&get_args(&out, &extra));
        // The run is waiting for the lagged answer, its list open.
        assert!(eventually(|| out.exists()), "{engine}: the run started");
        std::thread::sleep(std::time::Duration::from_millis(300));
        run.kill();
        let _ = run.child.wait();
        let beside = names_in(scratch.path());
        assert_eq!(beside, ["failed.txt", "out"], "{engine}: {beside:?}");
        let kept = std::fs::read_to_string(&failed).unwrap();
        assert_eq!(kept, "http://earlier.test/x\n", "{engine}");
    }
}
