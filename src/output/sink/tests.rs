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
    part.write(b"hello ", false).unwrap();
    part.write(b"world", false).unwrap();
    assert_eq!(part.commit("done.txt").unwrap(), 11);
    assert_eq!(
        fs::read(out.path().join("done.txt")).unwrap(),
        b"hello world"
    );

    // A second body under the same name replaces the first.
    let mut part = out.part_file(2);
    part.write(b"again", false).unwrap();
    assert_eq!(part.commit("done.txt").unwrap(), 5);
    assert_eq!(fs::read(out.path().join("done.txt")).unwrap(), b"again");

    let mut part = out.part_file(3);
    part.write(b"half", false).unwrap();
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
    part.write(b"x", false).unwrap();
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
    part.write(&[7; 10_000], false).unwrap();
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

/// The size of the named temporary `tag` of `out`, as the disk has it now.
fn on_disk(out: &OutputDir, tag: usize) -> u64 {
    let temp = format!(".miodl-{}-{tag}.part", std::process::id());
    fs::metadata(out.path().join(temp)).unwrap().len()
}

#[test]
fn tiny_pieces_wait_in_a_buffer_until_it_fills_and_the_file_is_exact() {
    let tmp = tempfile::tempdir().unwrap();
    let out = OutputDir::create_named(tmp.path()).unwrap();
    let mut part = out.part_file(7);
    let body: Vec<u8> = (0..3 * BUFFER_SIZE + 123)
        .map(|i| (i % 251) as u8)
        .collect();
    // The first piece goes to the file at once (a body in one piece is never copied).
    part.write(&body[..1], false).unwrap();
    assert_eq!(on_disk(&out, 7), 1);
    // The next ones wait until the buffer is full: one write per BUFFER_SIZE bytes.
    for i in 1..=BUFFER_SIZE {
        part.write(&body[i..i + 1], false).unwrap();
    }
    assert_eq!(on_disk(&out, 7), 1, "a full buffer, not written yet");
    part.write(&body[BUFFER_SIZE + 1..BUFFER_SIZE + 2], false)
        .unwrap();
    assert_eq!(
        on_disk(&out, 7),
        1 + BUFFER_SIZE as u64,
        "one piece too many"
    );
    for i in BUFFER_SIZE + 2..2 * BUFFER_SIZE {
        part.write(&body[i..i + 1], false).unwrap();
    }
    assert_eq!(part.written(), 2 * BUFFER_SIZE as u64);
    assert!(on_disk(&out, 7) < part.written(), "the rest waits");
    // A large piece writes what waits, then itself.
    let large = 2 * BUFFER_SIZE..2 * BUFFER_SIZE + SMALL_PIECE;
    part.write(&body[large.clone()], false).unwrap();
    assert_eq!(on_disk(&out, 7), large.end as u64);
    // Small pieces again, then the file is lent out: what waits is written first.
    let mut at = large.end;
    for len in [1, 2, 3, 100] {
        part.write(&body[at..at + len], false).unwrap();
        at += len;
    }
    assert!(on_disk(&out, 7) < at as u64);
    part.file().unwrap();
    assert_eq!(on_disk(&out, 7), at as u64);
    // The rest in tiny pieces; the last one ends the body.
    while at < body.len() {
        let len = (body.len() - at).min(7);
        part.write(&body[at..at + len], at + len == body.len())
            .unwrap();
        at += len;
    }
    assert_eq!(
        on_disk(&out, 7),
        body.len() as u64,
        "the last piece writes it all"
    );
    assert_eq!(part.commit("tiny").unwrap(), body.len() as u64);
    assert_eq!(fs::read(out.path().join("tiny")).unwrap(), body);
}

/// Pieces of random sizes, some said to be the last, the file lent out now and then:
/// the committed file is the body, byte for byte, on both stagings.
#[test]
fn random_pieces_commit_byte_exact() {
    let tmp = tempfile::tempdir().unwrap();
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    for (round, out) in [
        OutputDir::create(tmp.path()).unwrap(),
        OutputDir::create_named(tmp.path()).unwrap(),
    ]
    .iter()
    .cycle()
    .take(40)
    .enumerate()
    {
        let len = next(4 * BUFFER_SIZE);
        let body: Vec<u8> = (0..len).map(|_| next(256) as u8).collect();
        let mut part = out.part_file(round);
        let mut at = 0;
        while at < body.len() {
            let piece = match next(4) {
                0 => next(3 * SMALL_PIECE),
                _ => next(64),
            };
            let end = (at + 1 + piece).min(body.len());
            part.write(&body[at..end], end == body.len() && next(2) == 0)
                .unwrap();
            if next(50) == 0 {
                part.file().unwrap();
            }
            at = end;
        }
        let name = format!("f{round}");
        assert_eq!(part.commit(&name).unwrap(), body.len() as u64);
        assert_eq!(fs::read(out.path().join(&name)).unwrap(), body, "{round}");
    }
}

#[test]
fn a_kept_part_has_its_description_first_survives_a_drop_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let out = OutputDir::create(dir.path()).unwrap();
    let meta = "miodl-part 1\nurl http://h/f\nif-range \"e\"\nlength 10\n";
    let mut part = out.kept_part(1, "f", Keep::Fresh { meta }).unwrap();
    // Opened at the head: the description is there before the first body byte.
    assert_eq!(names_in(dir.path()), [".f.miodl-meta", ".f.miodl-part"]);
    assert_eq!(
        fs::read_to_string(dir.path().join(".f.miodl-meta")).unwrap(),
        meta
    );
    part.write(b"01234", false).unwrap();
    part.write(b"5", false).unwrap(); // a small piece, buffered
    drop(part);
    // Dropped without a commit: kept, the buffered piece written.
    assert_eq!(
        fs::read(dir.path().join(".f.miodl-part")).unwrap(),
        b"012345"
    );

    let mut part = out.kept_part(2, "f", Keep::Append { at: 4 }).unwrap();
    assert_eq!(part.written(), 4);
    part.write(b"456789", true).unwrap();
    assert_eq!(part.commit("f").unwrap(), 10);
    assert_eq!(names_in(dir.path()), ["f"]);
    assert_eq!(fs::read(dir.path().join("f")).unwrap(), b"0123456789");

    // A part shorter than the request said is an error, never padded with zeros.
    let mut part = out.kept_part(3, "g", Keep::Fresh { meta }).unwrap();
    part.write(b"ab", true).unwrap();
    drop(part);
    assert!(out.kept_part(4, "g", Keep::Append { at: 5 }).is_err());
    // A whole part is committed as it is.
    let part = out.kept_part(5, "g", Keep::Whole).unwrap();
    assert_eq!(part.commit("g").unwrap(), 2);
    assert_eq!(fs::read(dir.path().join("g")).unwrap(), b"ab");
    // A name too long for a part's is refused (the caller stages as without -C).
    let long = "x".repeat(250);
    let refused = out.kept_part(6, &long, Keep::Fresh { meta }).unwrap_err();
    assert_eq!(refused.kind(), io::ErrorKind::InvalidInput);
}
