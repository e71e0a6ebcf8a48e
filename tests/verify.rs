//! `miodl verify`'s checks, on temporary directories.

use std::fs;
use std::path::Path;

use miodl::app::verify::{parse_item, verify, Problem};

fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, content) in files {
        fs::write(dir.path().join(name), content).unwrap();
    }
    dir
}

fn problems(dir: &Path) -> Vec<Problem> {
    verify(dir).unwrap().problems
}

#[test]
fn a_complete_crawl_is_ok() {
    let dir = dir_with(&[("a", "2 of 3"), ("b", "1 of 3"), ("c", "3 of 3")]);
    let report = verify(dir.path()).unwrap();
    assert!(report.is_ok());
    assert_eq!(report.total, Some(3));
    assert_eq!(report.to_string(), "ok: 3 files");
}

#[test]
fn missing_numbers_are_named_as_gaps() {
    let dir = dir_with(&[("a", "2 of 6"), ("b", "5 of 6")]);
    let report = verify(dir.path()).unwrap();
    assert_eq!(
        report.problems,
        vec![
            Problem::Missing {
                first: 1,
                last: 1,
                total: 6
            },
            Problem::Missing {
                first: 3,
                last: 4,
                total: 6
            },
            Problem::Missing {
                first: 6,
                last: 6,
                total: 6
            },
        ]
    );
    assert_eq!(
        report.to_string(),
        "missing number 1 of 6\nmissing numbers 3 to 4 of 6\nmissing number 6 of 6"
    );
}

#[test]
fn a_huge_total_stays_one_line() {
    let dir = dir_with(&[("a", "1 of 1000000000000")]);
    assert_eq!(
        problems(dir.path()),
        vec![Problem::Missing {
            first: 2,
            last: 1_000_000_000_000,
            total: 1_000_000_000_000
        }]
    );
}

#[test]
fn extra_entries_are_problems() {
    let dir = dir_with(&[("a", "1 of 1"), (".a.part", "1 o"), (".hidden", "")]);
    fs::create_dir(dir.path().join("sub")).unwrap();
    let report = verify(dir.path()).unwrap();
    assert_eq!(
        report.problems,
        vec![
            Problem::Hidden {
                name: ".a.part".into()
            },
            Problem::Hidden {
                name: ".hidden".into()
            },
            Problem::Directory { name: "sub".into() },
        ]
    );
    let text = report.to_string();
    assert!(text.contains(".a.part: stray partial download"), "{text}");
    assert!(text.contains("sub: unexpected directory"), "{text}");
}

#[test]
fn duplicates_name_every_file() {
    let dir = dir_with(&[("x", "1 of 2"), ("y", "2 of 2"), ("z", "1 of 2")]);
    let report = verify(dir.path()).unwrap();
    assert_eq!(
        report.problems,
        vec![Problem::Duplicate {
            number: 1,
            names: vec!["x".into(), "z".into()]
        }]
    );
    assert_eq!(report.to_string(), "number 1 appears 2 times: x, z");
}

#[test]
fn bad_content_is_named_with_what_was_found() {
    let big = "9".repeat(100);
    let dir = dir_with(&[
        ("a", "1 of 2\n"),
        ("b", "2 of 2"),
        ("c", "<html>"),
        ("d", &big),
        ("e", "01 of 2"),
    ]);
    let report = verify(dir.path()).unwrap();
    let names: Vec<String> = (report.problems.iter())
        .filter_map(|p| match p {
            Problem::NotParsed { name, .. } => Some(name.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(names, ["a", "c", "d", "e"]);
    assert!(report
        .to_string()
        .contains("c: does not read \"x of N\" (found \"<html>\")"));
    assert!(report
        .to_string()
        .contains("d: does not read \"x of N\" (found \"100 bytes\")"));
    // "1 of 2" is unproven because "a" did not parse.
    assert!(report.problems.contains(&Problem::Missing {
        first: 1,
        last: 1,
        total: 2
    }));
}

#[test]
fn mixed_totals_name_the_odd_file() {
    let dir = dir_with(&[
        ("a", "1 of 3"),
        ("b", "2 of 3"),
        ("c", "3 of 3"),
        ("d", "4 of 4"),
    ]);
    let report = verify(dir.path()).unwrap();
    assert_eq!(report.total, Some(3));
    assert_eq!(
        report.problems,
        vec![Problem::MixedTotal {
            name: "d".into(),
            total: 4,
            expected: 3
        }]
    );
    assert_eq!(
        report.to_string(),
        "d: says \"of 4\" but the other files say \"of 3\""
    );
}

#[test]
fn numbers_out_of_range_and_empty_dirs() {
    let dir = dir_with(&[("a", "0 of 1"), ("b", "1 of 1"), ("c", "7 of 1")]);
    assert_eq!(
        problems(dir.path()),
        vec![
            Problem::OutOfRange {
                name: "a".into(),
                number: 0,
                total: 1
            },
            Problem::OutOfRange {
                name: "c".into(),
                number: 7,
                total: 1
            },
        ]
    );
    let empty = tempfile::tempdir().unwrap();
    assert_eq!(problems(empty.path()), vec![Problem::NoFiles]);
    assert!(verify(&empty.path().join("nope")).is_err());
}

#[test]
fn items_parse_strictly() {
    assert_eq!(parse_item(b"1 of 25"), Some((1, 25)));
    assert_eq!(parse_item(b"25 of 25"), Some((25, 25)));
    for bad in [
        "", "1 of", " 1 of 2", "1 of 2 ", "1  of 2", "+1 of 2", "1 of 02", "1 Of 2", "x of N",
    ] {
        assert_eq!(parse_item(bad.as_bytes()), None, "{bad:?}");
    }
}

#[test]
fn the_largest_numbers_do_not_overflow() {
    let max = u64::MAX.to_string();
    let dir = dir_with(&[("a", &format!("{max} of {max}"))]);
    assert_eq!(
        problems(dir.path()),
        vec![Problem::Missing {
            first: 1,
            last: u64::MAX - 1,
            total: u64::MAX
        }]
    );
}

#[test]
fn parts_kept_by_continue_are_resumable_not_strays() {
    let meta = "miodl-part 1\nurl http://h/b\nif-range \"e\"\nlength 6\n";
    let dir = dir_with(&[
        ("a", "1 of 2"),
        (".b.miodl-part", "2 o"),
        (".b.miodl-meta", meta),
        (".c.miodl-part", "x"),
    ]);
    let report = verify(dir.path()).unwrap();
    assert_eq!(
        report.problems,
        vec![
            Problem::Hidden {
                name: ".c.miodl-part".into()
            },
            Problem::Resumable { count: 1 },
            Problem::Missing {
                first: 2,
                last: 2,
                total: 2
            },
        ]
    );
    let text = report.to_string();
    assert!(
        text.contains("1 resumable partial file (rerun with --continue)"),
        "{text}"
    );
    assert!(
        text.contains(".c.miodl-part: stray partial download"),
        "{text}"
    );
}
