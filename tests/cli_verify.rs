//! `miodl verify DIR` as a user runs it: after a real crawl, then after the directory
//! was damaged.

mod support;

use std::fs;
use std::path::Path;

use support::{crawl, list_url, miodl, reference, saved};

fn verify_cli(dir: &Path) -> support::Run {
    miodl(&["verify", dir.to_str().unwrap()])
}

/// The name of the file that reads `n of 25`.
fn file_reading(dir: &Path, n: u64) -> String {
    let want = format!("{n} of 25");
    (saved(dir).into_iter())
        .find(|(_, content)| content == want.as_bytes())
        .map(|(name, _)| name)
        .unwrap_or_else(|| panic!("no file reads {want:?}"))
}

#[test]
fn verify_passes_a_crawl_and_names_every_problem_after_damage() {
    let server = reference().seed(51).start();
    let dir = tempfile::tempdir().unwrap();
    let run = crawl(&list_url(&server), dir.path(), &[]);
    assert_eq!(run.status, Some(0), "{run}");

    let good = verify_cli(dir.path());
    assert_eq!(good.status, Some(0), "{good}");
    assert_eq!(good.stdout, "ok: 25 files\n", "{good}");

    // Damage: number 3 goes missing, an extra file appears, number 7 is saved twice.
    let missing = file_reading(dir.path(), 3);
    fs::remove_file(dir.path().join(&missing)).unwrap();
    fs::write(dir.path().join("notes.txt"), "hello").unwrap();
    let seven = file_reading(dir.path(), 7);
    fs::copy(dir.path().join(&seven), dir.path().join("copy-of-seven")).unwrap();

    let bad = verify_cli(dir.path());
    assert_eq!(bad.status, Some(1), "{bad}");
    let report = format!("{}{}", bad.stdout, bad.stderr);
    assert!(report.contains("missing number 3 of 25"), "{bad}");
    assert!(
        report
            .lines()
            .any(|l| l.contains("notes.txt") && l.contains("x of N")),
        "the extra file is named\n{bad}"
    );
    let dup = (report.lines())
        .find(|l| l.contains("number 7 appears 2 times"))
        .unwrap_or_else(|| panic!("the duplicate is reported\n{bad}"));
    assert!(
        dup.contains(&seven) && dup.contains("copy-of-seven"),
        "{dup}"
    );
    assert!(!report.contains("ok:"), "{bad}");
    assert_eq!(report.lines().count(), 3, "one line per problem\n{bad}");
}

#[test]
fn verify_reports_a_stray_partial_download() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a"), "1 of 2").unwrap();
    fs::write(dir.path().join("b"), "2 of 2").unwrap();
    fs::write(dir.path().join(".miodl-1-0.part"), "2 o").unwrap();
    let run = verify_cli(dir.path());
    assert_eq!(run.status, Some(1), "{run}");
    assert!(run.stdout.contains(".miodl-1-0.part"), "{run}");
}

#[test]
fn verify_of_an_empty_or_missing_directory_fails() {
    let dir = tempfile::tempdir().unwrap();
    let empty = verify_cli(dir.path());
    assert_eq!(empty.status, Some(1), "{empty}");
    assert!(empty.stdout.contains("no files"), "{empty}");

    let gone = dir.path().join("never-created");
    let run = verify_cli(&gone);
    assert_eq!(run.status, Some(1), "{run}");
    assert!(run.stderr.contains("never-created"), "{run}");
}

#[test]
fn verify_without_a_directory_is_a_usage_error() {
    let run = miodl(&["verify"]);
    assert_eq!(run.status, Some(2), "{run}");
    assert!(run.stderr.contains("DIR"), "{run}");
}
