//! Tests of staging bodies: whole files or nothing, on real directories.
//!
//! Layer: `output`; may use `protocol`, `model` and `policy` (see `src/output/mod.rs`).

use super::*;

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// Commit, replace, an empty body, and drops that leave nothing — for one staging.
fn commit_replaces_and_drop_leaves_nothing(out: &OutputDir) {
    let mut part = out.part_file(1);
    part.write(b"hello ").unwrap();
    part.write(b"world").unwrap();
    assert_eq!(part.commit("done.txt").unwrap(), 11);
    assert_eq!(
        fs::read(out.path().join("done.txt")).unwrap(),
        b"hello world"
    );

    // A second body under the same name replaces the first.
    let mut part = out.part_file(2);
    part.write(b"again").unwrap();
    assert_eq!(part.commit("done.txt").unwrap(), 5);
    assert_eq!(fs::read(out.path().join("done.txt")).unwrap(), b"again");

    let mut part = out.part_file(3);
    part.write(b"half").unwrap();
    drop(part);

    assert_eq!(out.part_file(4).commit("empty.txt").unwrap(), 0);
    assert_eq!(fs::read(out.path().join("empty.txt")).unwrap(), b"");
    assert_eq!(names_in(out.path()), ["done.txt", "empty.txt"], "{out:?}");
}

#[test]
fn named_temporaries_commit_replace_and_clean_up() {
    let tmp = tempfile::tempdir().unwrap();
    let out = OutputDir::create_named(&tmp.path().join("a/b")).unwrap();
    assert_eq!(out.staging(), Staging::Named);
    commit_replaces_and_drop_leaves_nothing(&out);

    // While a body is on its way, its temporary is there under the hidden name.
    let mut part = out.part_file(12345);
    part.write(b"x").unwrap();
    let temp = format!(".miodl-{}-12345.part", std::process::id());
    assert!(names_in(out.path()).contains(&temp));
}

#[test]
fn the_chosen_staging_commits_replaces_and_cleans_up() {
    let tmp = tempfile::tempdir().unwrap();
    let out = OutputDir::create(tmp.path()).unwrap();
    commit_replaces_and_drop_leaves_nothing(&out);
}

#[cfg(target_os = "linux")]
#[test]
fn unnamed_files_are_invisible_until_committed() {
    let tmp = tempfile::tempdir().unwrap();
    let out = OutputDir::create(tmp.path()).unwrap();
    // Linux 6.10 and later allow the link to the file's opener; older kernels only
    // to root (CAP_DAC_READ_SEARCH).
    let is_root = unsafe { libc::geteuid() } == 0;
    if !is_root && out.staging() == Staging::Named {
        eprintln!("skipped: this kernel refuses linkat(AT_EMPTY_PATH) to non-root");
        return;
    }
    assert_eq!(
        out.staging(),
        Staging::Unnamed,
        "tmpfs or disk under {tmp:?}"
    );
    let mut part = out.part_file(1);
    part.write(&[7; 10_000]).unwrap();
    assert!(names_in(out.path()).is_empty());
    assert_eq!(part.commit("x").unwrap(), 10_000);
    assert_eq!(names_in(out.path()), ["x"]);
}

#[test]
fn a_bad_name_is_an_error_not_a_panic() {
    let tmp = tempfile::tempdir().unwrap();
    for out in [
        OutputDir::create(tmp.path()).unwrap(),
        OutputDir::create_named(tmp.path()).unwrap(),
    ] {
        assert!(out.part_file(1).commit(&"n".repeat(300)).is_err());
        assert!(out.part_file(2).commit("a/b").is_err());
        assert!(names_in(out.path()).is_empty(), "{out:?}");
    }
}

#[test]
fn a_missing_directory_is_created_and_a_file_refused() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("f"), "").unwrap();
    assert!(OutputDir::create(&tmp.path().join("f")).is_err());
    assert!(OutputDir::create(&tmp.path().join("new/dir")).is_ok());
}
