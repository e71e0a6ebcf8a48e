//! The record of saved files, `.miodl-saved` in the output directory: what lets
//! `--skip-existing` know which URL (get) or id (crawl) an earlier run already saved.
//!
//! A file's name alone cannot say: two URLs may map to one name (`x`, then `x.1`, in the
//! order one process read them), `-J` names are known only after the answer, and
//! several processes (`--shard`) may write into one directory at once. So each saved
//! file adds one line, after the file has its final name:
//!
//! ```text
//!   <URL or id> TAB <final name> TAB <inode> TAB <mtime in ns> LF
//! ```
//!
//! The record is opened with `O_APPEND` and each line goes out in one `write(2)`, so a
//! line is whole or absent, and the lines of processes appending at once interleave
//! whole. A kill between the file's name and its line leaves a file with no line: the
//! next run fetches it again and replaces it, which is safe. At start the record is read
//! whole; a line counts only if its file is still there *and is the same file* (its
//! inode and modification time, which together tell a file apart from one written later
//! under the same name, even on an inode the first one freed): a deleted file is fetched again, and so is one that another process replaced
//! with a different body under the same name. Keys, names and numbers never hold a
//! tab or a line feed (URLs have no whitespace, names and ids no control characters),
//! so the format needs no escaping. Written only by runs with `--skip-existing`: the
//! hot path of other runs makes no extra call.
//!
//! Layer: `output`; may use `protocol`, `model` and `policy` (see `src/output/mod.rs`).

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// The record's name in the output directory (hidden: `miodl verify` knows it).
pub const RECORD_NAME: &str = ".miodl-saved";

/// One line of the record whose file is still there, unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedEntry {
    /// The URL as first given (get) or the id (crawl).
    pub key: String,
    /// The file's name in the output directory.
    pub name: String,
}

/// What tells one file apart from another written later under the same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    /// The inode number.
    pub inode: u64,
    /// The last modification, in nanoseconds since the epoch.
    pub mtime_ns: i64,
}

impl Identity {
    /// The identity of a file from its metadata.
    pub fn of(meta: &fs::Metadata) -> Identity {
        Identity {
            inode: meta.ino(),
            mtime_ns: meta
                .mtime()
                .saturating_mul(1_000_000_000)
                .saturating_add(meta.mtime_nsec()),
        }
    }
}

/// The lines of `record` (the whole file's text) whose file in `dir` still has the
/// recorded [`Identity`]; lines that are torn (no final LF), malformed, or name a path rather
/// than a plain name are dropped.
pub fn valid_entries(record: &str, dir: &Path) -> Vec<SavedEntry> {
    let mut entries = Vec::new();
    let mut lines = record.split_inclusive('\n');
    for line in lines.by_ref() {
        let Some(line) = line.strip_suffix('\n') else {
            break;
        };
        let mut fields = line.split('\t');
        let (Some(key), Some(name), Some(inode), Some(mtime), None) = (
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
        ) else {
            continue;
        };
        let (Ok(inode), Ok(mtime_ns)) = (inode.parse(), mtime.parse()) else {
            continue;
        };
        let recorded = Identity { inode, mtime_ns };
        if key.is_empty() || name.is_empty() || name.contains('/') || name.starts_with('.') {
            continue;
        }
        let same_file = fs::symlink_metadata(dir.join(name))
            .is_ok_and(|meta| meta.is_file() && Identity::of(&meta) == recorded);
        if same_file {
            entries.push(SavedEntry {
                key: key.to_string(),
                name: name.to_string(),
            });
        }
    }
    entries
}

/// Reads the record from `file` (its whole text; bytes that are not UTF-8 are lost).
pub fn read_text(mut file: File) -> io::Result<String> {
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Appends the line of one saved file in one `write(2)` (`record` is opened with
/// `O_APPEND`).
pub fn append(mut record: &File, key: &str, name: &str, id: Identity) -> io::Result<()> {
    let mut line = Vec::with_capacity(key.len() + name.len() + 44);
    line.extend_from_slice(key.as_bytes());
    line.push(b'\t');
    line.extend_from_slice(name.as_bytes());
    line.push(b'\t');
    let mut digits = [0u8; 20];
    line.extend_from_slice(crate::protocol::http::decimal(id.inode, &mut digits));
    line.push(b'\t');
    line.extend_from_slice(id.mtime_ns.to_string().as_bytes());
    line.push(b'\n');
    record.write_all(&line)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id_of(path: &Path) -> String {
        let id = Identity::of(&fs::metadata(path).unwrap());
        format!("{}\t{}", id.inode, id.mtime_ns)
    }

    #[test]
    fn a_line_counts_only_while_its_file_is_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path();
        fs::write(path.join("a"), "1").unwrap();
        fs::write(path.join("b"), "2").unwrap();
        let (a, b) = (id_of(&path.join("a")), id_of(&path.join("b")));
        let record = format!(
            "http://h/a\ta\t{a}\nhttp://h/b\tb\t{b}\nhttp://h/gone\tgone\t1\t1\nbad line\n\
             k\t../a\t{a}\nk\t.x\t1\t1\nhttp://h/b2\tb\t{a}\nhttp://h/torn\ta\t{a}"
        );
        let keys: Vec<String> = valid_entries(&record, path)
            .into_iter()
            .map(|e| e.key)
            .collect();
        assert_eq!(keys, ["http://h/a", "http://h/b"]);
        // A file written again under the same name no longer counts.
        std::thread::sleep(std::time::Duration::from_millis(20));
        fs::remove_file(path.join("a")).unwrap();
        fs::write(path.join("a"), "other").unwrap();
        let line = format!("http://h/a\ta\t{a}\n");
        assert!(valid_entries(&line, path).is_empty());
    }

    #[test]
    fn appends_whole_lines() {
        let dir = tempfile::tempdir().unwrap();
        let at = dir.path().join(RECORD_NAME);
        let file = fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(&at)
            .unwrap();
        let id = Identity {
            inode: 42,
            mtime_ns: 9,
        };
        append(&file, "id1", "id1", id).unwrap();
        append(&file, "http://h/x", "x.1", id).unwrap();
        let text = fs::read_to_string(&at).unwrap();
        assert_eq!(text, "id1\tid1\t42\t9\nhttp://h/x\tx.1\t42\t9\n");
    }
}
