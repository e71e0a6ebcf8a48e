//! What the integration tests share: one runner for the `miodl` binary and its `--json`
//! summary, one way to start the reference server (`miodl serve`) in-process, and
//! helpers to read an output directory back. The test servers and the raw client live
//! in their own files:
//!
//! - [`scripted`]: a server that answers each request with the script a test writes
//!   (bytes, pauses, gates, a close or a reset), and counts what it saw;
//! - [`list_server`]: a misbehaving list API for `miodl crawl`, witness of every request;
//! - [`proxy`]: a small forwarding and tunnelling HTTP proxy that records what it saw;
//! - [`client`]: a plain `std::net` HTTP client, to check the reference server itself.
//!
//! Nothing here may hang a test: every run of the binary has a watchdog ([`WATCHDOG`]),
//! every wait is bounded ([`PATIENCE`]), every socket has timeouts.

// Each test file uses a different part of this module.
#![allow(dead_code)]

pub mod client;
pub mod list_server;
pub mod proxy;
pub mod scripted;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use serde_json::Value;

// Every path into the library that the support code needs, in one place.
pub use miodl::serve::ServerHandle;
use miodl::serve::{fill_pattern, spawn, FaultPlan, ServeConfig};
#[cfg(feature = "tls")]
use miodl::transport::tls::SelfSigned;

/// The longest any one run of the binary may take before the watchdog kills it.
pub const WATCHDOG: Duration = Duration::from_secs(120);
/// The longest a test waits for something it expects to happen soon.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// The engines of `--engine`.
pub const ENGINES: [&str; 3] = ["reactor", "blocking", "threads"];

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    /// The exit status (`None`: killed by a signal).
    pub status: Option<i32>,
    /// Everything on stdout.
    pub stdout: String,
    /// Everything on stderr.
    pub stderr: String,
    /// Wall time as the test saw it.
    pub elapsed: Duration,
    /// The command line, for failure messages.
    pub args: Vec<String>,
}

impl Run {
    /// The `--json` summary: the last non-empty stdout line, which must be a JSON object
    /// naming the engine. Panics (showing the run) if there is none.
    pub fn json(&self) -> Value {
        self.summary().unwrap_or_else(|why| panic!("{why}\n{self}"))
    }

    /// The `--json` summary as [`Run::json`] reads it, or why there is none.
    pub fn summary(&self) -> Result<Value, String> {
        let line = (self.stdout.lines().rev())
            .find(|l| !l.trim().is_empty())
            .ok_or("no stdout")?;
        let json: Value = serde_json::from_str(line)
            .map_err(|e| format!("the last stdout line is not JSON ({e})"))?;
        if json.get("engine").is_none() {
            return Err("the last stdout line is not a --json summary".into());
        }
        Ok(json)
    }

    /// A counter of the `--json` summary.
    pub fn count(&self, field: &str) -> u64 {
        let json = self.json();
        json[field]
            .as_u64()
            .unwrap_or_else(|| panic!("no numeric {field:?} in {json}\n{self}"))
    }

    /// The lines of stderr (empty ones too).
    pub fn stderr_lines(&self) -> Vec<&str> {
        self.stderr.lines().collect()
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "miodl {:?}\nexit {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.args, self.status, self.stdout, self.stderr
        )
    }
}

/// A run of the binary still going: its stdout and stderr are pipes, its stdin closed.
pub struct Started {
    /// The process (its stdout can be taken to read it as it comes).
    pub child: Child,
    args: Vec<String>,
    since: Instant,
}

impl Started {
    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the process (SIGKILL).
    pub fn kill(&mut self) {
        self.child.kill().expect("kill miodl");
    }

    /// Waits for the exit at most `limit`, then kills the process and panics.
    pub fn wait(&mut self, limit: Duration) -> Option<i32> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for miodl") {
                return status.code();
            }
            if started.elapsed() > limit {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "miodl {:?} still running after {limit:?}; killed",
                    self.args
                );
            }
            thread::sleep(Duration::from_millis(5));
        }
    }

    /// Waits for the end (at most [`WATCHDOG`]) and collects what the run printed.
    pub fn finish(mut self) -> Run {
        let stdout = self.child.stdout.take().map(drain);
        let stderr = self.child.stderr.take().map(drain);
        let status = self.wait(WATCHDOG);
        let collect =
            |h: Option<JoinHandle<String>>| h.map(|h| h.join().unwrap()).unwrap_or_default();
        Run {
            status,
            stdout: collect(stdout),
            stderr: collect(stderr),
            elapsed: self.since.elapsed(),
            args: self.args,
        }
    }
}

/// The environment variables that send miodl (as curl) through a proxy.
pub const PROXY_VARS: [&str; 8] = [
    "http_proxy",
    "HTTP_PROXY",
    "https_proxy",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "no_proxy",
    "NO_PROXY",
];

/// Removes the proxy variables from what `command` inherits: a machine's proxy settings
/// must not send the tests' loopback requests elsewhere. Every run of the binary here
/// goes through it.
pub fn without_proxy_env(command: &mut Command) -> &mut Command {
    for name in PROXY_VARS {
        command.env_remove(name);
    }
    command
}

fn launch<S: AsRef<str>>(args: &[S], stdin: Stdio) -> Started {
    launch_with(Command::new(env!("CARGO_BIN_EXE_miodl")), args, stdin)
}

/// Starts `miodl ARGS` (stdin closed) with the proxy variables `env` set (and no other
/// proxy variable inherited).
pub fn start_with_env<S: AsRef<str>>(args: &[S], env: &[(&str, &str)]) -> Started {
    let mut command = Command::new(env!("CARGO_BIN_EXE_miodl"));
    without_proxy_env(&mut command);
    command.envs(env.iter().copied());
    spawn_command(command, args, Stdio::null())
}

fn launch_with<S: AsRef<str>>(mut command: Command, args: &[S], stdin: Stdio) -> Started {
    without_proxy_env(&mut command);
    spawn_command(command, args, stdin)
}

fn spawn_command<S: AsRef<str>>(mut command: Command, args: &[S], stdin: Stdio) -> Started {
    let args: Vec<String> = args.iter().map(|a| a.as_ref().to_string()).collect();
    let since = Instant::now();
    let child = command
        .args(&args)
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn miodl");
    Started { child, args, since }
}

fn drain(mut r: impl Read + Send + 'static) -> JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = r.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Starts `miodl ARGS` (stdin closed), for a test that acts while it runs.
pub fn start<S: AsRef<str>>(args: &[S]) -> Started {
    launch(args, Stdio::null())
}

/// Runs `miodl ARGS` to the end as [`miodl`] does, after the shell's `limits` (e.g.
/// `ulimit -n 256`, which sets the soft and the hard open-file limit) have lowered the
/// process's limits: `sh -c 'LIMITS && exec miodl "$@"'`.
pub fn miodl_under<S: AsRef<str>>(limits: &str, args: &[S]) -> Run {
    let mut command = Command::new("sh");
    let script = format!("{limits} && exec \"$0\" \"$@\"");
    command
        .arg("-c")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_miodl"));
    launch_with(command, args, Stdio::null()).finish()
}

/// Runs `miodl ARGS` to the end, stdin closed, under the watchdog.
pub fn miodl<S: AsRef<str>>(args: &[S]) -> Run {
    start(args).finish()
}

/// Runs `miodl ARGS` to the end with `input` on stdin.
pub fn miodl_with_stdin<S: AsRef<str>>(args: &[S], input: &str) -> Run {
    miodl_with_stdin_bytes(args, input.as_bytes())
}

/// [`miodl_with_stdin`] with any bytes on stdin (not UTF-8, or very long).
pub fn miodl_with_stdin_bytes<S: AsRef<str>>(args: &[S], input: &[u8]) -> Run {
    let mut started = launch(args, Stdio::piped());
    let mut stdin = started.child.stdin.take().expect("stdin");
    let input = input.to_vec();
    let writer = thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let run = started.finish();
    let _ = writer.join();
    run
}

/// `get -q --json -o DIR` followed by `extra`.
pub fn get_args<'a>(dir: &'a Path, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "get",
        "-q",
        "--json",
        "-o",
        dir.to_str().expect("utf-8 dir"),
    ];
    args.extend_from_slice(extra);
    args
}

/// Runs `miodl crawl LIST_URL -q --json -o OUT EXTRA...`.
pub fn crawl(list_url: &str, out: &Path, extra: &[&str]) -> Run {
    let out = out.to_str().expect("UTF-8 temp path");
    let mut args = vec!["crawl", list_url, "-q", "--json", "-o", out];
    args.extend_from_slice(extra);
    miodl(&args)
}

/// Lines of a reader, as they come, on a channel.
pub fn line_channel(r: impl Read + Send + 'static) -> (Receiver<String>, JoinHandle<()>) {
    let (tx, rx) = mpsc::channel();
    let handle = thread::spawn(move || {
        for line in BufReader::new(r).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (rx, handle)
}

/// Polls `cond` every 5 ms for up to [`PATIENCE`]; false if it never held.
pub fn eventually(mut cond: impl FnMut() -> bool) -> bool {
    let started = Instant::now();
    while started.elapsed() < PATIENCE {
        if cond() {
            return true;
        }
        thread::sleep(Duration::from_millis(5));
    }
    cond()
}

/// The reference server (`miodl serve`) to start in-process on a free port of
/// 127.0.0.1: 25 files, no lag, seed 0 and no faults unless told otherwise.
pub fn reference() -> Reference {
    Reference(ServeConfig {
        port: 0,
        ..ServeConfig::default()
    })
}

/// The configuration of a reference server about to start; see [`reference`].
pub struct Reference(ServeConfig);

impl Reference {
    /// How many ids the catalog holds (`--files`).
    pub fn files(mut self, files: usize) -> Reference {
        self.0.files = files;
        self
    }

    /// The delay before every answer (`--lag`).
    pub fn lag(mut self, lag: Duration) -> Reference {
        self.0.lag = lag;
        self
    }

    /// The seed of the ids and of the fault dice (`--seed`).
    pub fn seed(mut self, seed: u64) -> Reference {
        self.0.seed = seed;
        self
    }

    /// The faults to inject, as `--fault` spells them.
    pub fn faults(mut self, spec: &str) -> Reference {
        self.0.faults =
            FaultPlan::parse(spec).unwrap_or_else(|e| panic!("fault spec {spec:?}: {e}"));
        self
    }

    /// The port to listen on (`--port`; 0, the default here, picks a free one).
    pub fn port(mut self, port: u16) -> Reference {
        self.0.port = port;
        self
    }

    /// Every `Range` request gets the whole body (`--no-ranges`).
    pub fn no_ranges(mut self) -> Reference {
        self.0.ranges = false;
        self
    }

    /// A word in every `ETag` (`--etag-salt`).
    pub fn etag_salt(mut self, word: &str) -> Reference {
        self.0.etag_salt = word.to_string();
        self
    }

    /// HTTPS with this certificate (`--tls`).
    #[cfg(feature = "tls")]
    pub fn tls(mut self, certificate: SelfSigned) -> Reference {
        self.0.tls = Some(certificate);
        self
    }

    /// Starts it; it stops when the handle is dropped.
    pub fn start(self) -> ServerHandle {
        spawn(self.0).expect("start the reference server")
    }
}

/// The reference server's list URL.
pub fn list_url(server: &ServerHandle) -> String {
    format!("{}/api/list_files", server.base_url())
}

/// The `n` bytes the reference server sends for `/bytes/N`.
pub fn pattern(n: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; n];
    fill_pattern(0, &mut bytes);
    bytes
}

/// `verify(dir)` as its one-line-per-problem text.
pub fn verify_text(dir: &Path) -> String {
    miodl::app::verify::verify(dir)
        .expect("verify can list the directory")
        .to_string()
}

/// A fresh output directory.
pub fn out_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

/// Every entry of `dir` (hidden ones too): name → content; a subdirectory reads
/// `<directory>`. Empty if `dir` does not exist.
pub fn saved(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return files;
    };
    for entry in entries {
        let entry = entry.expect("read_dir entry");
        let name = entry.file_name().to_string_lossy().into_owned();
        let content = if entry.file_type().unwrap().is_dir() {
            b"<directory>".to_vec()
        } else {
            std::fs::read(entry.path()).expect("read saved file")
        };
        files.insert(name, content);
    }
    files
}

/// The names in a directory (hidden ones too), sorted; empty if it does not exist.
pub fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Panics if a `.miodl-*.part` temporary is left in `dir`.
pub fn assert_no_temp_files(dir: &Path) {
    let temps: Vec<String> = names_in(dir)
        .into_iter()
        .filter(|n| n.starts_with(".miodl-") || n.ends_with(".part"))
        .collect();
    assert!(temps.is_empty(), "temporary files left: {temps:?}");
}

/// Sorted copy of some ids, for set comparisons with readable diffs.
pub fn sorted<S: AsRef<str>>(ids: &[S]) -> Vec<String> {
    let mut v: Vec<String> = ids.iter().map(|s| s.as_ref().to_string()).collect();
    v.sort();
    v
}

/// A port on 127.0.0.1 nobody listens on (bound, then released).
pub fn dead_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// How many files process `pid` holds open under `dir`: the bodies being written,
/// whether they have a hidden temporary name or none at all (`O_TMPFILE` files show in
/// /proc as `<dir>/#<inode> (deleted)`).
pub fn files_open_under(pid: u32, dir: &Path) -> usize {
    let dir = dir.canonicalize().expect("the output directory");
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return 0;
    };
    // A disk thread writes through a duplicate descriptor: count files, not descriptors.
    let files: std::collections::HashSet<_> = fds
        .filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
        .filter(|target| target.parent() == Some(dir.as_path()))
        .collect();
    files.len()
}

/// The threads of process `pid` now (`/proc/PID/task`).
pub fn threads_of(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task")).map_or(0, |tasks| tasks.count())
}

/// The threads of process `pid` with this name (`/proc/PID/task/*/comm`).
pub fn threads_named(pid: u32, name: &str) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|tasks| {
            tasks
                .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
                .filter(|comm| comm.trim_end() == name)
                .count()
        })
        .unwrap_or(0)
}

/// Runs `miodl ARGS` as [`miodl`] does, with the environment changed by `env`: each
/// `(NAME, Some(VALUE))` set, each `(NAME, None)` removed (the rest inherited).
pub fn miodl_env<S: AsRef<str>>(args: &[S], env: &[(&str, Option<&str>)]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_miodl"));
    for (name, value) in env {
        match value {
            Some(value) => command.env(name, value),
            None => command.env_remove(name),
        };
    }
    launch_with(command, args, Stdio::null()).finish()
}

/// A listener on `addr` (port 0 picks one) that never accepts, its accept queue filled:
/// the kernel drops every new SYN, so a connect to it neither succeeds nor fails until
/// the client gives up, as to a host that does not answer. Returns its address and what
/// must live as long as the test (the listener and the connections that fill it), or
/// `None` if `addr` cannot be bound.
pub fn silent_listener(
    addr: std::net::SocketAddr,
) -> Option<(std::net::SocketAddr, Box<dyn std::any::Any + Send>)> {
    use socket2::{Domain, Socket, Type};
    let listener = Socket::new(Domain::for_address(addr), Type::STREAM, None).unwrap();
    if addr.is_ipv6() {
        listener.set_only_v6(true).unwrap();
    }
    listener.bind(&addr.into()).ok()?;
    listener.listen(0).unwrap();
    let addr = listener.local_addr().unwrap().as_socket().unwrap();
    // Connect until one connect hangs: then the queue is full. A slow first connect on
    // a loaded machine must not leave it empty, so each try waits up to a second.
    let mut fillers = Vec::new();
    for _ in 0..8 {
        match std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)) {
            Ok(s) => fillers.push(s),
            Err(_) if !fillers.is_empty() => break,
            Err(_) => {}
        }
    }
    assert!(!fillers.is_empty(), "could not fill the accept queue");
    Some((addr, Box::new((listener, fillers))))
}
