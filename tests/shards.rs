//! Shards a batch engine can retry (docs/shards.md): four shards of one crawl run as
//! parallel processes into one directory, one of them is killed mid-run, and the recipe
//! (docs/shards.sh) is run again, as a batch engine retrying a failed task would. In the
//! end every file is there exactly once and right, no id was downloaded more than twice
//! (once, or again if it was in flight at the kill), and the rerun downloaded only what
//! the killed shard had not saved.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use support::*;

const SHARDS: usize = 4;
const FILES: usize = 200;

/// The arguments one shard gets from docs/shards.sh (its command line, after the
/// command and its own arguments).
fn shard_args(list_url: &str, out: &Path, shard: usize) -> Vec<String> {
    let mut args: Vec<String> = ["crawl", list_url, "--per-page", "20", "-c", "2"]
        .map(String::from)
        .to_vec();
    args.extend(["-q", "--json", "--skip-existing", "--shard"].map(String::from));
    args.push(format!("{shard}/{SHARDS}"));
    args.extend(["-o".to_string(), out.to_str().unwrap().to_string()]);
    args
}

fn summaries(out: &Path) -> Vec<Value> {
    let dir = out.with_extension("summaries");
    (0..SHARDS)
        .map(|i| {
            let text = std::fs::read_to_string(dir.join(format!("shard-{i}.json")))
                .expect("a shard's summary");
            serde_json::from_str(text.trim()).expect("a shard's summary is JSON")
        })
        .collect()
}

#[test]
fn four_shards_one_killed_and_run_again_save_every_file_once() {
    // Lagged, so the kill lands mid-run.
    let server = reference()
        .files(FILES)
        .lag(Duration::from_millis(15))
        .start();
    let list_url = list_url(&server);
    let work = out_dir();
    let out = work.path().join("out");
    std::fs::create_dir(&out).unwrap();

    // The first round: the four shards as four processes; shard 0 is killed.
    let mut shards: Vec<Started> = (0..SHARDS)
        .map(|i| start(&shard_args(&list_url, &out, i)))
        .collect();
    let started = eventually(|| names_in(&out).len() >= FILES / 5);
    shards[0].kill();
    for shard in &mut shards[1..] {
        assert_eq!(shard.wait(WATCHDOG), Some(0), "a shard that was not killed");
    }
    assert_eq!(shards[0].wait(WATCHDOG), None, "shard 0 was killed");
    let after_kill: u64 = downloads(&server);
    assert!(started, "no file was saved before the kill");
    assert!(
        names_in(&out).len() < FILES,
        "the kill came after everything was saved: nothing left to retry"
    );

    // The retry: the documented recipe, all four shards again.
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/shards.sh");
    let status = support::without_proxy_env(&mut Command::new("bash"))
        .arg(&script)
        .arg(&out)
        .arg(SHARDS.to_string())
        .args(["crawl", &list_url, "--per-page", "20", "-c", "2"])
        .env("MIODL", env!("CARGO_BIN_EXE_miodl"))
        .status()
        .expect("run docs/shards.sh");
    assert!(status.success(), "docs/shards.sh: {status}");

    assert_eq!(verify_text(&out), format!("ok: {FILES} files"));
    let mut once_or_twice = true;
    for id in server.ids() {
        let n = server.stats().path_count(&format!("/api/download/{id}"));
        once_or_twice &= n == 1 || n == 2;
    }
    assert!(
        once_or_twice,
        "every id downloaded once, or twice if cut by the kill"
    );
    // Shard 0 had at most 2 downloads in flight (-c 2) when it was killed.
    let total = downloads(&server);
    assert!(
        total <= FILES as u64 + 2,
        "{total} downloads for {FILES} files"
    );
    let rerun: Vec<Value> = summaries(&out);
    let fetched: u64 = rerun.iter().map(|s| s["ok"].as_u64().unwrap()).sum();
    let skipped: u64 = rerun.iter().map(|s| s["skipped"].as_u64().unwrap()).sum();
    assert_eq!(fetched + skipped, FILES as u64, "{rerun:?}");
    assert_eq!(
        fetched,
        total - after_kill,
        "the rerun fetched only what was missing"
    );
    assert!(rerun[1..].iter().all(|s| s["ok"] == 0), "{rerun:?}");
}

/// Downloads the reference server answered or started, all ids together.
fn downloads(server: &ServerHandle) -> u64 {
    let stats = server.stats();
    (server.ids().iter())
        .map(|id| stats.path_count(&format!("/api/download/{id}")))
        .sum()
}
