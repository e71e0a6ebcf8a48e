//! Which list entries are acceptable download ids.
//!
//! The list API is remote input, and an id becomes two things on our side: a file
//! name (`<output-dir>/<id>`, docs/reference.md §1) and a segment of the item URL
//! (`--item-url`). So an entry is accepted only when it is a JSON string that is
//! safe as one path segment: not empty, not `.` or `..`, no `/` or `\`, no control
//! character (NUL, CR, LF, DEL, ...), no invisible or bidirectional control character
//! ([`is_invisible_or_bidi`]: a U+202E would show `exe.txt` for `txt.exe`), at most
//! [`MAX_ID_BYTES`] bytes (the common file-name limit). Everything else is reported as a [`RejectedId`] with a reason,
//! and the good ids of the same page still go through.
//!
//! Percent-encoding an id for the URL (a space, `?`, `#`) is the engine's job: such ids
//! are valid file names, so they are not rejected here.
//!
//! Layer: `protocol`; may use nothing else of the crate (see `src/protocol/mod.rs`).

use serde_json::Value;

/// The longest id accepted, in bytes: the usual limit of one file-name component.
pub const MAX_ID_BYTES: usize = 255;

/// How many characters of a rejected entry are kept for printing.
const SHOWN_CHARS: usize = 64;

/// A list entry that was not accepted as an id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedId {
    /// The entry as JSON text, escaped so that it is safe to print on a terminal
    /// (control and invisible characters as `\u{..}`-style escapes) and cut to about
    /// 64 characters with a trailing `...`.
    pub raw: String,
    /// Why it was rejected, a short lowercase phrase such as `"contains a path separator"`.
    pub reason: &'static str,
}

impl RejectedId {
    /// Describes `value`, rejected for `reason`.
    pub(crate) fn new(value: &Value, reason: &'static str) -> RejectedId {
        RejectedId {
            raw: printable(value),
            reason,
        }
    }
}

impl std::fmt::Display for RejectedId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "rejected id {}: {}", self.raw, self.reason)
    }
}

/// True for the characters that are invisible or reorder the text around them, so a name
/// holding one does not read as what it is: the zero-width space, non-joiner and joiner
/// and the left-to-right and right-to-left marks (U+200B..U+200F), the bidirectional
/// embeddings and overrides (U+202A..U+202E, U+202E being the right-to-left override),
/// the bidirectional isolates (U+2066..U+2069), and the byte order mark (U+FEFF).
pub fn is_invisible_or_bidi(c: char) -> bool {
    matches!(
        c,
        '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}'
    )
}

/// Checks that `id` is safe as a file name and a URL path segment; the error is the
/// reason, a short lowercase phrase.
pub fn check_id(id: &str) -> Result<(), &'static str> {
    if id.is_empty() {
        return Err("empty");
    }
    if id == "." || id == ".." {
        return Err("a dot segment (\".\" or \"..\")");
    }
    // The same rule as names::safe_id_file_name: an id is saved under its own name, and
    // a leading dot would hide the file.
    if id.starts_with('.') {
        return Err("starts with a dot (a hidden file)");
    }
    // One pass over the bytes: ids are ASCII hex almost always. The C1 controls
    // (U+0080..U+009F) are multibyte, so only a non-ASCII id needs the char-wise look.
    let mut ascii = true;
    for b in id.bytes() {
        match b {
            b'/' | b'\\' => return Err("contains a path separator"),
            0..=0x1f | 0x7f => return Err("contains a control character"),
            0x80.. => ascii = false,
            _ => {}
        }
    }
    if !ascii && id.chars().any(char::is_control) {
        return Err("contains a control character");
    }
    if !ascii && id.chars().any(is_invisible_or_bidi) {
        return Err("contains an invisible or bidirectional control character");
    }
    if id.len() > MAX_ID_BYTES {
        return Err("longer than 255 bytes");
    }
    Ok(())
}

/// Takes the id out of a list entry, or says why the entry is not one.
pub(crate) fn take_id(value: Value) -> Result<String, RejectedId> {
    match value {
        Value::String(id) => match check_id(&id) {
            Ok(()) => Ok(id),
            Err(reason) => Err(RejectedId::new(&Value::String(id), reason)),
        },
        other => Err(RejectedId::new(&other, "not a string")),
    }
}

/// The entry as printable text: strings through Rust's `Debug` (quotes, escapes), other
/// values as JSON; then every character a terminal would not show plainly is escaped,
/// and the text is cut to [`SHOWN_CHARS`] characters.
fn printable(value: &Value) -> String {
    let text = match value {
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    };
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == SHOWN_CHARS {
            out.push_str("...");
            break;
        }
        match c {
            // Already part of an escape or a quote: keep as is.
            '"' | '\'' | '\\' => out.push(c),
            _ => out.extend(c.escape_debug()),
        }
    }
    out
}
