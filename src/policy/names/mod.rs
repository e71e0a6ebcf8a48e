//! Output file names: from a URL or a pager id to one safe name in the output directory.
//!
//! A name comes from the network (a URL's last segment, an id in a list API's JSON), so
//! it is hostile until checked: it must not climb out of the output directory (`..`,
//! `/`), hide itself (`.bashrc`), break a terminal or a log line (control characters),
//! pass for another name (invisible and bidirectional control characters: with U+202E,
//! `a\u{202E}txt.exe` shows as `aexe.txt`), or exceed what a file system accepts (255
//! bytes). Two policies, for two jobs:
//!
//! - `get` *derives* a name from a URL and repairs whatever is unsafe
//!   ([`file_name_for_url`]); a user asked for that URL, so it should land somewhere.
//! - `-J` takes the name a server suggests and repairs it the same way, keeping no
//!   directory part ([`safe_header_name`]).
//! - `crawl` saves each id under the id itself (`<dir>/<id>`, docs/reference.md §1), and
//!   `verify` relies on that, so an unsafe id is *refused*, not repaired
//!   ([`safe_id_file_name`]): a silent rename would break the contract.
//!
//! [`NameRegistry`] then makes names unique within one run, wget style, so two URLs that
//! map to one name both survive.
//!
//! Layer: `policy`; may use `protocol` and `model` (see `src/policy/mod.rs`).

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};

use crate::protocol::pager::is_invisible_or_bidi;
use crate::protocol::url::Url;

/// The longest file name most file systems accept (ext4, APFS, NTFS count 255 bytes or
/// units), in bytes.
pub const MAX_NAME_BYTES: usize = 255;

/// The name `get` saves a URL under: its last path segment, made safe.
///
/// The rules, in order:
/// 1. Take the last segment of the path; the query is not part of the name.
/// 2. Percent-decode it; bytes that are not UTF-8 become U+FFFD.
/// 3. Replace `/`, `\`, NUL, every control character (C0, DEL, C1) and every invisible
///    or bidirectional control character (U+200B..U+200F, U+202A..U+202E,
///    U+2066..U+2069, U+FEFF: [`is_invisible_or_bidi`]) with `_`, so the name is one
///    file in the output directory, prints on one line, and reads as what it is.
/// 4. Replace leading dots with `_`: no hidden files, and never `.` or `..`.
/// 5. An empty segment (`http://host/`, `/dir/`) becomes `index.html`, as in wget.
/// 6. Cap the length at [`MAX_NAME_BYTES`], cutting on a character boundary.
pub fn file_name_for_url(url: &Url) -> String {
    // Byte scans: `?` and `/` are ASCII, so these are character boundaries.
    let target = url.target();
    let path = &target[..target
        .bytes()
        .position(|b| b == b'?')
        .unwrap_or(target.len())];
    let segment = &path[path.bytes().rposition(|b| b == b'/').map_or(0, |i| i + 1)..];
    // The common case, a plain name, needs no repair: one allocation. An ASCII name is
    // judged byte by byte (its unsafe characters are the ASCII ones of `is_unsafe_char`).
    let plain = !segment.is_empty()
        && segment.len() <= MAX_NAME_BYTES
        && !segment.starts_with('.')
        && if segment.is_ascii() {
            segment
                .bytes()
                .all(|b| !matches!(b, b'%' | b'/' | b'\\') && !b.is_ascii_control())
        } else {
            !segment.contains(|c: char| c == '%' || is_unsafe_char(c))
        };
    if plain {
        return segment.to_string();
    }
    let decoded = String::from_utf8_lossy(&percent_decode(segment)).into_owned();
    let mut name = repair(&decoded);
    if name.is_empty() {
        name.push_str("index.html");
    }
    name
}

/// The name `-J` saves a body under, from the file name a server suggested in
/// `Content-Disposition` (already decoded: `crate::protocol::http::disposition`), made a
/// plain name by the rules of [`file_name_for_url`]: only what follows the last `/` or
/// `\` is kept (no directory part, so never outside the output directory), unsafe
/// characters become `_`, leading dots `_`, and the length is capped. Surrounding spaces
/// are dropped. `None` when nothing is left: the caller falls back to the URL's name.
pub fn safe_header_name(suggested: &str) -> Option<String> {
    let last = suggested.rsplit(['/', '\\']).next().unwrap_or_default();
    let name = repair(last.trim());
    (!name.is_empty()).then_some(name)
}

/// Rules 3, 4 and 6 of [`file_name_for_url`] applied to a decoded name.
fn repair(decoded: &str) -> String {
    let mut name: String = decoded
        .chars()
        .map(|c| if is_unsafe_char(c) { '_' } else { c })
        .collect();
    let dots = name.len() - name.trim_start_matches('.').len();
    name.replace_range(..dots, &"_".repeat(dots));
    truncate_on_char_boundary(&mut name, MAX_NAME_BYTES);
    name
}

/// Accepts a crawl id only if it is, used verbatim, one safe file name: not empty, at
/// most [`MAX_NAME_BYTES`] bytes, not `.` or `..`, no leading dot, and no `/`, `\`, NUL,
/// control character, or invisible or bidirectional control character
/// ([`is_invisible_or_bidi`]). The error names the id (escaped) and the rule it broke.
pub fn safe_id_file_name(id: &str) -> Result<&str, UnsafeName> {
    let reason = if id.is_empty() {
        UnsafeReason::Empty
    } else if id.len() > MAX_NAME_BYTES {
        UnsafeReason::TooLong(id.len())
    } else if id == "." || id == ".." {
        UnsafeReason::DotName
    } else if id.contains(['/', '\\']) {
        UnsafeReason::Separator
    } else if id.contains('\0') {
        UnsafeReason::Nul
    } else if id.chars().any(char::is_control) {
        UnsafeReason::Control
    } else if id.chars().any(is_invisible_or_bidi) {
        UnsafeReason::Invisible
    } else if id.starts_with('.') {
        UnsafeReason::LeadingDot
    } else {
        return Ok(id);
    };
    Err(UnsafeName {
        id: id.to_string(),
        reason,
    })
}

/// An id that cannot be used verbatim as a file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsafeName {
    /// The id as received (escaped and shortened only when displayed).
    pub id: String,
    /// The rule it broke.
    pub reason: UnsafeReason,
}

/// Which rule of [`safe_id_file_name`] an id broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnsafeReason {
    /// The id is the empty string.
    Empty,
    /// The id is longer than [`MAX_NAME_BYTES`] (its length in bytes).
    TooLong(usize),
    /// The id is `.` or `..`, which name directories.
    DotName,
    /// The id contains `/` or `\`, which would make it a path.
    Separator,
    /// The id contains a NUL byte, which no file name may hold.
    Nul,
    /// The id contains a control character (CR, LF, ESC, ...).
    Control,
    /// The id contains an invisible or bidirectional control character (U+202E, ...).
    Invisible,
    /// The id starts with `.`, which would make a hidden file.
    LeadingDot,
}

impl fmt::Display for UnsafeReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnsafeReason::Empty => write!(f, "it is empty"),
            UnsafeReason::TooLong(n) => {
                write!(f, "it is {n} bytes long, over {MAX_NAME_BYTES}")
            }
            UnsafeReason::DotName => write!(f, "it names a directory"),
            UnsafeReason::Separator => write!(f, "it contains a path separator"),
            UnsafeReason::Nul => write!(f, "it contains a nul byte"),
            UnsafeReason::Control => write!(f, "it contains a control character"),
            UnsafeReason::Invisible => write!(
                f,
                "it contains an invisible or bidirectional control character"
            ),
            UnsafeReason::LeadingDot => write!(f, "it starts with a dot (a hidden file)"),
        }
    }
}

impl fmt::Display for UnsafeName {
    /// One line: `unsafe id "<escaped, at most 64 chars>" as a file name: <reason>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 64;
        let shown: String = self.id.chars().take(SHOWN).collect();
        let more = if self.id.chars().count() > SHOWN {
            "..."
        } else {
            ""
        };
        write!(
            f,
            "unsafe id \"{}{more}\" as a file name: {}",
            shown.escape_debug(),
            self.reason
        )
    }
}

impl std::error::Error for UnsafeName {}

/// Hands out unique names within one run: the first claim of `name` gets `name`, later
/// ones `name.1`, `name.2`, ... (as wget does), so no download overwrites another.
///
/// It remembers a 64-bit hash of each name, not the name: a list of a million URLs costs
/// about 16 MB less. Two different names with the same hash (for a million names, a
/// chance of about 1 in 37 million) would only give the second a needless `.1` suffix;
/// nothing is ever overwritten.
///
/// The names come from whoever wrote the list, so the hash is keyed: std's
/// `RandomState`, the hash `HashMap` uses by default (SipHash-1-3 today), under a key
/// drawn at random for each registry. Without the key, nobody can craft two names with
/// one hash, nor names whose hashes pile up in one corner of a table. That makes the
/// hash itself a good table index, so the tables use it as it is (`KeyIsTheHash`)
/// instead of hashing it again: one hash per name, and none when a table grows. (An
/// unkeyed hash such as FNV-1a would not do here: names with colliding low bits are
/// easy to find for it, and would turn each look-up into a long search.)
#[derive(Debug, Default)]
pub struct NameRegistry {
    /// The key of the names' hash.
    keyed: RandomState,
    /// The hashes of the names handed out.
    taken: HashSet<u64, BuildHasherDefault<KeyIsTheHash>>,
    /// For a name claimed more than once, the suffix to try next: the k-th claim of a
    /// name costs one look-up, not k (a list of `download.php?id=…` URLs).
    next_suffix: HashMap<u64, u64, BuildHasherDefault<KeyIsTheHash>>,
}

impl NameRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Claims `name`, or the first free `name.N`; the result is never handed out again.
    /// When a suffix would push the name past [`MAX_NAME_BYTES`], the base is shortened
    /// (on a character boundary) to make room.
    pub fn claim(&mut self, name: String) -> String {
        let key = self.key(&name);
        if self.taken.insert(key) {
            return name;
        }
        let next = self.next_suffix.entry(key).or_insert(1);
        loop {
            let suffix = format!(".{next}");
            *next += 1;
            let mut base = name.clone();
            truncate_on_char_boundary(&mut base, MAX_NAME_BYTES - suffix.len());
            base.push_str(&suffix);
            if self.taken.insert(self.keyed.hash_one(base.as_str())) {
                return base;
            }
        }
    }

    /// Whether `name` has been handed out.
    pub fn is_taken(&self, name: &str) -> bool {
        self.taken.contains(&self.key(name))
    }

    /// The keyed hash the tables store for `name`.
    fn key(&self, name: &str) -> u64 {
        self.keyed.hash_one(name)
    }
}

/// The hasher of [`NameRegistry`]'s tables, whose keys are already keyed hashes: it
/// hands a `u64` key back unchanged. Sound only for such keys; see [`NameRegistry`].
#[derive(Debug, Default)]
struct KeyIsTheHash(u64);

impl Hasher for KeyIsTheHash {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write_u64(&mut self, key: u64) {
        self.0 = key;
    }

    /// Not used: the tables' keys are `u64`s, hashed by `write_u64`. Any other bytes
    /// are folded in, so that this is still a hash (a weak one) rather than a panic.
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
}

/// Characters a derived name may not contain.
fn is_unsafe_char(c: char) -> bool {
    // Most names are ASCII, where only the separators and the control bytes are unsafe.
    if c.is_ascii() {
        return c == '/' || c == '\\' || c.is_ascii_control();
    }
    c.is_control() || is_invisible_or_bidi(c)
}

/// Decodes `%XX` escapes; a `%` not followed by two hex digits stays as it is.
fn percent_decode(s: &str) -> Vec<u8> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escape = bytes.get(i + 1..i + 3).and_then(|hex| {
            let hex = std::str::from_utf8(hex).ok()?;
            u8::from_str_radix(hex, 16).ok()
        });
        match (bytes[i], escape) {
            (b'%', Some(decoded)) => {
                out.push(decoded);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// Shortens `s` to at most `max` bytes without splitting a character.
fn truncate_on_char_boundary(s: &mut String, max: usize) {
    if s.len() <= max {
        return;
    }
    let mut cut = max;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    s.truncate(cut);
}

#[cfg(test)]
mod tests;
