//! Helpers for the crawl integration tests: run the `miodl` binary with a watchdog,
//! start the reference server, and read an output directory back.
//!
//! Every wait is bounded: a hung child is killed after [`WATCHDOG`] and the test fails
//! naming the command, instead of hanging the suite.
#![allow(dead_code)]

pub mod list_server;

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use miodl::serve::{spawn, FaultPlan, ServeConfig, ServerHandle};
use serde_json::Value;

/// The longest any one `miodl` invocation may take before the test gives up on it.
pub const WATCHDOG: Duration = Duration::from_secs(120);

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    /// The exit status (-1 if killed by a signal).
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    /// Wall time as the test saw it.
    pub elapsed: Duration,
    /// The command line, for failure messages.
    pub args: Vec<String>,
}

impl Run {
    /// The `--json` summary: the last non-empty stdout line, parsed.
    pub fn json(&self) -> Value {
        let line = (self.stdout.lines().rev())
            .find(|l| !l.trim().is_empty())
            .unwrap_or_else(|| panic!("no stdout from {:?}\n{self}", self.args));
        serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("stdout is not one JSON object ({e}):\n{self}"))
    }

    /// A counter of the `--json` summary.
    pub fn count(&self, field: &str) -> u64 {
        let json = self.json();
        json[field]
            .as_u64()
            .unwrap_or_else(|| panic!("no numeric {field:?} in {json}"))
    }

    /// Lines of stderr.
    pub fn stderr_lines(&self) -> Vec<&str> {
        self.stderr.lines().collect()
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "miodl {:?}\nexit {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.args, self.code, self.stdout, self.stderr
        )
    }
}

/// Runs `miodl ARGS...` with stdin closed, under the watchdog.
pub fn miodl<S: AsRef<str>>(args: &[S]) -> Run {
    let args: Vec<String> = args.iter().map(|a| a.as_ref().to_string()).collect();
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_miodl"))
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn miodl");
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out_reader = thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out.read_to_end(&mut s);
        s
    });
    let err_reader = thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        s
    });
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for miodl") {
            break status;
        }
        if started.elapsed() > WATCHDOG {
            let _ = child.kill();
            let _ = child.wait();
            panic!("miodl {args:?} still running after {WATCHDOG:?}; killed");
        }
        thread::sleep(Duration::from_millis(5));
    };
    let elapsed = started.elapsed();
    let stdout = String::from_utf8_lossy(&out_reader.join().unwrap()).into_owned();
    let stderr = String::from_utf8_lossy(&err_reader.join().unwrap()).into_owned();
    Run {
        code: status.code().unwrap_or(-1),
        stdout,
        stderr,
        elapsed,
        args,
    }
}

/// `miodl crawl LIST_URL -q --json -o OUT EXTRA...`.
pub fn crawl(list_url: &str, out: &Path, extra: &[&str]) -> Run {
    let out = out.to_str().expect("UTF-8 temp path");
    let mut args = vec!["crawl", list_url, "-q", "--json", "-o", out];
    args.extend_from_slice(extra);
    miodl(&args)
}

/// The reference server on a free loopback port.
pub fn reference(files: usize, lag_secs: f64, seed: u64, faults: &str) -> ServerHandle {
    spawn(ServeConfig {
        port: 0,
        files,
        lag: Duration::from_secs_f64(lag_secs),
        seed,
        faults: FaultPlan::parse(faults).expect("valid fault spec"),
        ..ServeConfig::default()
    })
    .expect("spawn the reference server")
}

/// The reference server's list URL.
pub fn list_url(server: &ServerHandle) -> String {
    format!("{}/api/list_files", server.base_url())
}

/// Every entry of `dir` (hidden ones too): name → content; a subdirectory reads
/// `<directory>`.
pub fn saved(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return files;
    };
    for entry in entries {
        let entry = entry.expect("read_dir entry");
        let name = entry.file_name().to_string_lossy().into_owned();
        let content = if entry.file_type().unwrap().is_dir() {
            b"<directory>".to_vec()
        } else {
            fs::read(entry.path()).expect("read saved file")
        };
        files.insert(name, content);
    }
    files
}

/// The names in `dir`, sorted.
pub fn saved_names(dir: &Path) -> Vec<String> {
    saved(dir).into_keys().collect()
}

/// `verify(dir)` as its one-line-per-problem text.
pub fn verify_text(dir: &Path) -> String {
    miodl::app::verify::verify(dir)
        .expect("verify can list the directory")
        .to_string()
}

/// Sorted copy of some ids, for set comparisons with readable diffs.
pub fn sorted<S: AsRef<str>>(ids: &[S]) -> Vec<String> {
    let mut v: Vec<String> = ids.iter().map(|s| s.as_ref().to_string()).collect();
    v.sort();
    v
}
