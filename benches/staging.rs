//! What it costs the kernel to save one small file whole: four ways to stage a body
//! before it gets its name, timed side by side.
//!
//! Each way writes FILES files of 4 KiB (default 10,000) into a fresh directory and is
//! timed in CPU time of this process (`CLOCK_PROCESS_CPUTIME_ID`), per file:
//!
//! - `absolute temp + rename`: `open(dir/.name.part, O_CREAT|O_EXCL)`, `write`, `close`,
//!   `rename(dir/.name.part, dir/name)`: what miodl did before `src/output/sink/` used a
//!   directory descriptor;
//! - `relative temp + renameat`: the same, each path relative to a descriptor of the
//!   directory (`openat`, `renameat`): miodl's fallback where the next one is refused;
//! - `O_TMPFILE + linkat`: `openat(dir, ".", O_TMPFILE)`, `write`, `linkat(fd, "", dir,
//!   name, AT_EMPTY_PATH)`, `close`: miodl on Linux;
//! - `final name at once`: `openat(dir, name, O_CREAT|O_EXCL)`, `write`, `close`: the
//!   floor, which gives up "whole files or nothing" (a reader, or a crash, can see a
//!   partial file under the final name).
//!
//! The ways take turns, ROUNDS times (default 5), and the median of the rounds is printed.
//! Where the output goes matters: by default a directory under /dev/shm (tmpfs, as in
//! `benches/compare.sh`); `STAGING_DIR=/some/disk/dir` times a disk file system instead.
//!
//! Run: `cargo bench --bench staging` (Linux).

#[cfg(target_os = "linux")]
fn main() {
    imp::main();
}

#[cfg(not(target_os = "linux"))]
fn main() {
    println!("staging: O_TMPFILE is Linux-only; nothing to compare here");
}

#[cfg(target_os = "linux")]
mod imp {
    use std::ffi::CString;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::path::{Path, PathBuf};

    const BODY: [u8; 4096] = [7; 4096];

    /// One way to save a file: `(directory path, directory descriptor, index)`.
    type Way = fn(&Path, &OwnedFd, usize);

    pub fn main() {
        let files: usize = env_or("FILES", 10_000);
        let rounds: usize = env_or("ROUNDS", 5);
        let base = match std::env::var_os("STAGING_DIR") {
            Some(dir) => PathBuf::from(dir),
            None if Path::new("/dev/shm").is_dir() => PathBuf::from("/dev/shm"),
            None => std::env::temp_dir(),
        };
        let scratch = tempfile::Builder::new()
            .prefix("miodl-staging.")
            .tempdir_in(&base)
            .expect("a scratch directory");
        let ways: [(&str, Way); 4] = [
            ("absolute temp + rename", absolute_temp_and_rename),
            ("relative temp + renameat", relative_temp_and_renameat),
            ("O_TMPFILE + linkat", tmpfile_and_linkat),
            ("final name at once", final_name_at_once),
        ];
        let mut per_file: Vec<Vec<f64>> = vec![Vec::new(); ways.len()];
        for round in 0..rounds {
            for (i, (_, way)) in ways.iter().enumerate() {
                let dir = scratch.path().join(format!("r{round}-{i}"));
                std::fs::create_dir(&dir).expect("a round directory");
                let fd = open_dir(&dir);
                let started = cpu_time();
                for n in 0..files {
                    way(&dir, &fd, n);
                }
                per_file[i].push((cpu_time() - started) * 1e6 / files as f64);
                drop(fd);
                std::fs::remove_dir_all(&dir).expect("clean up");
            }
        }
        println!(
            "saving {files} files of 4 KiB in {}, CPU per file, median of {rounds} rounds:",
            base.display()
        );
        println!("| way | µs per file | min–max |");
        println!("| --- | ---: | ---: |");
        for ((name, _), mut times) in ways.iter().zip(per_file) {
            times.sort_by(f64::total_cmp);
            let median = times[times.len() / 2];
            let (min, max) = (times[0], times[times.len() - 1]);
            println!("| {name} | {median:.2} | {min:.2}–{max:.2} |");
        }
    }

    fn env_or(name: &str, default: usize) -> usize {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    }

    fn cpu_time() -> f64 {
        let mut t = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: a valid timespec to fill.
        unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut t) };
        t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
    }

    fn c(s: String) -> CString {
        CString::new(s).expect("no NUL")
    }

    fn check(r: libc::c_int, what: &str) -> libc::c_int {
        assert!(r >= 0, "{what}: {}", std::io::Error::last_os_error());
        r
    }

    fn open_dir(dir: &Path) -> OwnedFd {
        let path = c(dir.display().to_string());
        // SAFETY: a NUL-terminated path; the new descriptor is owned here.
        let fd = check(
            unsafe { libc::open(path.as_ptr(), libc::O_DIRECTORY | libc::O_RDONLY) },
            "open dir",
        );
        // SAFETY: fresh descriptor.
        unsafe { OwnedFd::from_raw_fd(fd) }
    }

    /// `write` of the body, then `close`.
    fn write_and_close(fd: libc::c_int) {
        // SAFETY: a valid buffer of its length, an open descriptor closed once.
        unsafe {
            check(
                libc::write(fd, BODY.as_ptr().cast(), BODY.len()) as libc::c_int,
                "write",
            );
            libc::close(fd);
        }
    }

    fn absolute_temp_and_rename(dir: &Path, _: &OwnedFd, n: usize) {
        let temp = c(format!("{}/.f{n}.part", dir.display()));
        let name = c(format!("{}/f{n}", dir.display()));
        let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_CLOEXEC;
        // SAFETY: NUL-terminated paths.
        unsafe {
            write_and_close(check(libc::open(temp.as_ptr(), flags, 0o666), "open"));
            check(libc::rename(temp.as_ptr(), name.as_ptr()), "rename");
        }
    }

    fn relative_temp_and_renameat(_: &Path, dir: &OwnedFd, n: usize) {
        let (temp, name) = (c(format!(".f{n}.part")), c(format!("f{n}")));
        let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_CLOEXEC;
        let d = dir.as_raw_fd();
        // SAFETY: NUL-terminated names, an open directory descriptor.
        unsafe {
            write_and_close(check(
                libc::openat(d, temp.as_ptr(), flags, 0o666),
                "openat",
            ));
            check(
                libc::renameat(d, temp.as_ptr(), d, name.as_ptr()),
                "renameat",
            );
        }
    }

    fn tmpfile_and_linkat(_: &Path, dir: &OwnedFd, n: usize) {
        let name = c(format!("f{n}"));
        let d = dir.as_raw_fd();
        // SAFETY: NUL-terminated names, an open directory descriptor, fd closed once.
        unsafe {
            let flags = libc::O_TMPFILE | libc::O_WRONLY | libc::O_CLOEXEC;
            let fd = check(libc::openat(d, c".".as_ptr(), flags, 0o666), "O_TMPFILE");
            check(
                libc::write(fd, BODY.as_ptr().cast(), BODY.len()) as libc::c_int,
                "write",
            );
            let empty = c"".as_ptr();
            check(
                libc::linkat(fd, empty, d, name.as_ptr(), libc::AT_EMPTY_PATH),
                "linkat",
            );
            libc::close(fd);
        }
    }

    fn final_name_at_once(_: &Path, dir: &OwnedFd, n: usize) {
        let name = c(format!("f{n}"));
        let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_CLOEXEC;
        // SAFETY: a NUL-terminated name, an open directory descriptor.
        unsafe {
            write_and_close(check(
                libc::openat(dir.as_raw_fd(), name.as_ptr(), flags, 0o666),
                "openat",
            ))
        };
    }
}
