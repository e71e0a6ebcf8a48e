//! A full disk mid-run: exit status 3, a clear message, completed files kept, and no
//! partial file. The output directory is a 64 KiB tmpfs mounted for the test, so this
//! needs root (as CI has); run by another user the test says it was skipped.

mod support;

use std::path::Path;
use std::process::Command;

use support::{miodl, names_in, reference};

/// Mounts a tmpfs of `size` at `dir`; false if this machine does not let us.
fn mount_tmpfs(dir: &Path, size: &str) -> bool {
    Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(dir)
        .output()
        .is_ok_and(|out| out.status.success())
}

/// True if this process runs as root (real uid 0, from /proc/self/status).
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .find_map(|line| line.strip_prefix("Uid:"))
            .and_then(|ids| ids.split_whitespace().next())
            == Some("0")
    })
}

/// Unmounts on drop, whatever the test did.
struct Mounted<'a>(&'a Path);

impl Drop for Mounted<'_> {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0).status();
    }
}

#[test]
fn a_full_disk_ends_with_status_3_and_keeps_what_was_saved() {
    // 200 kB goes through the read buffer; 1 MB through splice(2), moved by a disk
    // thread or by the reactor thread itself.
    full_disk_story(200_000, &[]);
    full_disk_story(1_000_000, &["--disk-threads", "2"]);
    full_disk_story(1_000_000, &["--disk-threads", "0"]);
}

/// Three small files and one of `big` bytes into a 64 KiB disk.
fn full_disk_story(big: u64, options: &[&str]) {
    let scratch = tempfile::tempdir().unwrap();
    let disk = scratch.path().join("disk");
    std::fs::create_dir(&disk).unwrap();
    if !mount_tmpfs(&disk, "64k") {
        // Only a non-root run may skip: as root (CI) the mount must work, so the test
        // cannot pass without running.
        assert!(!is_root(), "running as root, but mounting a tmpfs failed");
        eprintln!("skipped: cannot mount a tmpfs here (needs root)");
        return;
    }
    let _mounted = Mounted(&disk);
    let server = reference().start();
    // Three small files fit; the big one cannot.
    let sizes = [1000, 2000, 3000, big];
    let out = disk.join("out");
    let mut args: Vec<String> = ["get", "-q", "-c", "1"].map(String::from).to_vec();
    args.extend(options.iter().map(|o| o.to_string()));
    args.extend(["-o".to_string(), out.display().to_string()]);
    args.extend(sizes.map(|n| format!("{}/bytes/{n}", server.base_url())));
    let run = miodl(&args);
    let stderr = &run.stderr;
    assert_eq!(run.status, Some(3), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "/bytes/{big}: could not write output {}: No space left on device",
            out.display()
        )),
        "{options:?}: {stderr}"
    );
    assert_eq!(
        names_in(&out),
        ["1000", "2000", "3000"],
        "{options:?}: saved files stay, nothing partial"
    );
}
