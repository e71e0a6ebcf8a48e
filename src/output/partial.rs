//! `-C/--continue`: what a cut body leaves in the output directory so that a rerun can
//! ask for the rest, and how a rerun finds it again.
//!
//! Without `-C` a body that does not end leaves nothing (`crate::output::sink`). With
//! it, a body that can be resumed safely is written from its first byte into a hidden
//! file named after its final name, beside a small description written *before* the
//! first body byte, so that even a `SIGKILL` leaves a pair a rerun can trust:
//!
//! ```text
//!   .NAME.miodl-part    the body's bytes so far, from byte 0 (its size is N)
//!   .NAME.miodl-meta    miodl-part 1 LF
//!                       url <the URL as given> LF
//!                       if-range <strong ETag, else Last-Modified, as sent> LF
//!                       length <the whole body's length, or -> LF
//! ```
//!
//! A body is resumable when its answer is identity-encoded and carries a strong
//! validator: an `ETag` that is not weak (`W/`), else a `Last-Modified` date. Anything
//! else is staged as without `-C` (nothing is left if it is cut). A rerun with `-C`
//! reads every pair once, at start ([`scan`]); a part without its description, or a
//! description without its part, is not resumable.
//!
//! Layer: `output`; may use `protocol`, `model` and `policy` (see `src/output/mod.rs`).

use std::fs;
use std::io;
use std::path::Path;

/// What ends a partial body's name: `.NAME.miodl-part`.
pub const PART_SUFFIX: &str = ".miodl-part";
/// What ends its description's name: `.NAME.miodl-meta`.
pub const META_SUFFIX: &str = ".miodl-meta";
/// The first line of a description.
const MAGIC: &str = "miodl-part 1";

pub use crate::model::partial::Partial;

/// The part's name for the final name `name`: `None` when it would pass the 255 bytes
/// a file name may have (that body is then not resumable).
pub fn part_name(name: &str) -> Option<String> {
    hidden(name, PART_SUFFIX)
}

/// The description's name for the final name `name` (see [`part_name`]).
pub fn meta_name(name: &str) -> Option<String> {
    hidden(name, META_SUFFIX)
}

fn hidden(name: &str, suffix: &str) -> Option<String> {
    let len = 1 + name.len() + suffix.len();
    (len <= 255).then(|| format!(".{name}{suffix}"))
}

/// The text of a description. `None` when a value holds a line break (it would not
/// read back).
pub fn meta_text(url: &str, validator: &str, length: Option<u64>) -> Option<String> {
    if [url, validator].iter().any(|v| v.contains(['\r', '\n'])) {
        return None;
    }
    let length = length.map_or_else(|| "-".to_string(), |n| n.to_string());
    Some(format!(
        "{MAGIC}\nurl {url}\nif-range {validator}\nlength {length}\n"
    ))
}

/// Reads a description's text back: `(url, validator, length)`.
pub fn parse_meta(text: &str) -> Option<(String, String, Option<u64>)> {
    let mut lines = text.split('\n');
    if lines.next()? != MAGIC {
        return None;
    }
    let url = lines.next()?.strip_prefix("url ")?;
    let validator = lines.next()?.strip_prefix("if-range ")?;
    let length = match lines.next()?.strip_prefix("length ")? {
        "-" => None,
        n => Some(n.parse().ok()?),
    };
    // The text ends with its last line's LF: a torn description is not trusted.
    if !lines.next()?.is_empty() || url.is_empty() || validator.is_empty() {
        return None;
    }
    Some((url.to_string(), validator.to_string(), length))
}

/// The final name whose part `file_name` is (`.NAME.miodl-part` → `NAME`).
pub fn name_of_part(file_name: &str) -> Option<&str> {
    file_name
        .strip_prefix('.')?
        .strip_suffix(PART_SUFFIX)
        .filter(|n| !n.is_empty())
}

/// The final name whose description `file_name` is (`.NAME.miodl-meta` → `NAME`).
pub fn name_of_meta(file_name: &str) -> Option<&str> {
    file_name
        .strip_prefix('.')?
        .strip_suffix(META_SUFFIX)
        .filter(|n| !n.is_empty())
}

/// The resumable partial bodies in `dir`: each part with a description that reads.
pub fn scan(dir: &Path) -> io::Result<Vec<Partial>> {
    let mut found = Vec::new();
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(found),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let file_name = entry.file_name();
        let Some(name) = file_name.to_str().and_then(name_of_part) else {
            continue;
        };
        if let Some(partial) = read_pair(dir, name) {
            found.push(partial);
        }
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(found)
}

/// The partial body for final name `name` in `dir`, if its part and description are
/// both there and the description reads.
pub fn read_pair(dir: &Path, name: &str) -> Option<Partial> {
    let part = fs::symlink_metadata(dir.join(part_name(name)?)).ok()?;
    if !part.is_file() {
        return None;
    }
    let text = fs::read_to_string(dir.join(meta_name(name)?)).ok()?;
    let (url, validator, length) = parse_meta(&text)?;
    Some(Partial {
        name: name.to_string(),
        url,
        validator,
        length,
        have: part.len(),
        progress: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_description_reads_back_and_a_torn_one_does_not() {
        let text = meta_text("http://h/a", "\"v1\"", Some(42)).unwrap();
        let parsed = parse_meta(&text).unwrap();
        assert_eq!(parsed, ("http://h/a".into(), "\"v1\"".into(), Some(42)));
        let unknown = meta_text("http://h/a", "Tue, 01 Dec 2026 10:00:00 GMT", None).unwrap();
        assert_eq!(parse_meta(&unknown).unwrap().2, None);
        for cut in 0..text.len() {
            assert_eq!(parse_meta(&text[..cut]), None, "{:?}", &text[..cut]);
        }
        assert_eq!(meta_text("http://h/a", "\"v\"\r\nX: y", None), None);
    }

    #[test]
    fn names_go_both_ways_and_stay_within_255_bytes() {
        assert_eq!(part_name("a.bin").unwrap(), ".a.bin.miodl-part");
        assert_eq!(name_of_part(".a.bin.miodl-part"), Some("a.bin"));
        assert_eq!(name_of_meta(".a.bin.miodl-meta"), Some("a.bin"));
        assert_eq!(name_of_part(".miodl-part"), None);
        assert_eq!(name_of_part("a.miodl-part"), None);
        assert!(part_name(&"x".repeat(243)).is_some());
        assert!(part_name(&"x".repeat(244)).is_none());
    }

    #[test]
    fn a_scan_finds_pairs_only() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        fs::write(d.join(".a.miodl-part"), b"12345").unwrap();
        let text = meta_text("http://h/a", "\"e\"", Some(10)).unwrap();
        fs::write(d.join(".a.miodl-meta"), text).unwrap();
        fs::write(d.join(".b.miodl-part"), b"12").unwrap();
        fs::write(d.join(".c.miodl-meta"), "miodl-part 1\n").unwrap();
        let found = scan(d).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].name, "a");
        assert_eq!(found[0].have, 5);
        assert_eq!(found[0].length, Some(10));
    }
}
