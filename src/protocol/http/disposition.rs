//! The file name a server suggests in `Content-Disposition` (RFC 6266), for `-J`.
//!
//! Read RFC 6266 §4 (the header's grammar) and RFC 8187 (the `filename*` encoding:
//! `charset'language'percent-encoded`). A value looks like one of
//!
//! ```text
//!   attachment; filename=report.pdf
//!   attachment; filename="annual report.pdf"
//!   attachment; filename="EURO rates.txt"; filename*=UTF-8''%e2%82%ac%20rates.txt
//!   inline; FILENAME*=iso-8859-1'en'%A3%20rates
//! ```
//!
//! [`disposition_filename`] returns the name as the server meant it, decoded, and
//! nothing more: it is still hostile (it may hold `/`, `..`, control characters), and
//! `crate::policy::names` makes it a safe plain name. `filename*` wins over `filename`
//! when both are there and it decodes (RFC 6266 §4.3); a `filename*` in a charset other
//! than UTF-8 or ISO-8859-1, or with a broken escape, is ignored and `filename` used.
//! Parameters are found whatever their case and their order, a `;` inside quotes does
//! not end a value, and an unquoted value with spaces (seen in the wild) is taken up to
//! the next `;`. Nothing here allocates unless a name is found.
//!
//! Layer: `protocol`; may use nothing else of the crate (see `src/protocol/mod.rs`).

/// The file name a `Content-Disposition` value carries, decoded; `None` when it has
/// none usable (no parameter, an empty one).
pub fn disposition_filename(value: &str) -> Option<String> {
    let mut plain = None;
    let mut extended = None;
    for (name, raw) in Params::new(value) {
        if name.eq_ignore_ascii_case("filename*") {
            if extended.is_none() {
                extended = decode_extended(raw);
            }
        } else if name.eq_ignore_ascii_case("filename") && plain.is_none() {
            plain = Some(raw);
        }
    }
    let name = extended.or_else(|| plain.map(unquote))?;
    (!name.is_empty()).then_some(name)
}

/// The `name=value` parameters after the disposition type, values still raw (quotes
/// kept). The first item (the type, or a parameter when a server leaves the type out)
/// is a parameter only if it has an `=`.
struct Params<'a> {
    rest: &'a str,
}

impl<'a> Params<'a> {
    fn new(value: &'a str) -> Params<'a> {
        Params { rest: value }
    }
}

impl<'a> Iterator for Params<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<(&'a str, &'a str)> {
        loop {
            if self.rest.is_empty() {
                return None;
            }
            let end = item_end(self.rest);
            let item = &self.rest[..end];
            self.rest = self.rest.get(end + 1..).unwrap_or("");
            if let Some((name, value)) = item.split_once('=') {
                return Some((name.trim(), value.trim()));
            }
        }
    }
}

/// Where the item at the start of `s` ends: the first `;` outside a quoted string (or
/// the end).
fn item_end(s: &str) -> usize {
    let mut quoted = false;
    let mut escaped = false;
    for (i, b) in s.bytes().enumerate() {
        match b {
            _ if escaped => escaped = false,
            b'\\' if quoted => escaped = true,
            b'"' => quoted = !quoted,
            b';' if !quoted => return i,
            _ => {}
        }
    }
    s.len()
}

/// A `filename` value: a quoted string loses its quotes and backslash escapes; a token
/// (or a sloppy unquoted value) is taken as it is.
fn unquote(raw: &str) -> String {
    let Some(inner) = raw.strip_prefix('"') else {
        return raw.to_string();
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => break,
            '\\' => out.extend(chars.next()),
            c => out.push(c),
        }
    }
    out
}

/// An RFC 8187 `ext-value`: `charset'[language]'value-chars`, the value percent-encoded.
/// UTF-8 and ISO-8859-1 are decoded (the two every recipient must know); anything else,
/// or a malformed value, is `None`.
fn decode_extended(raw: &str) -> Option<String> {
    // Some servers quote it, against the grammar; the quotes are not part of it.
    let raw = raw
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .unwrap_or(raw);
    let (charset, rest) = raw.split_once('\'')?;
    let (_language, encoded) = rest.split_once('\'')?;
    let bytes = percent_decode_strict(encoded)?;
    if charset.eq_ignore_ascii_case("utf-8") {
        String::from_utf8(bytes).ok()
    } else if charset.eq_ignore_ascii_case("iso-8859-1") {
        Some(bytes.into_iter().map(char::from).collect())
    } else {
        None
    }
}

/// Decodes `%XX` escapes; a `%` without two hex digits after it makes the value
/// malformed (`None`).
fn percent_decode_strict(s: &str) -> Option<Vec<u8>> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::http::{Exchange, Limits, Method, Part};

    #[test]
    fn reads_the_shapes_servers_send() {
        let cases: &[(&str, Option<&str>)] = &[
            ("attachment; filename=report.pdf", Some("report.pdf")),
            ("attachment;filename=report.pdf", Some("report.pdf")),
            (
                "attachment; filename=\"annual report.pdf\"",
                Some("annual report.pdf"),
            ),
            ("attachment; filename=\"a\\\"b.txt\"", Some("a\"b.txt")),
            ("attachment; filename=\"a;b.txt\"; size=3", Some("a;b.txt")),
            ("inline; FILENAME=x.bin", Some("x.bin")),
            ("Attachment; FileName=\"X.BIN\"", Some("X.BIN")),
            ("filename=bare.txt", Some("bare.txt")),
            ("attachment; size=10; filename=late.txt", Some("late.txt")),
            ("attachment; filename = spaced.txt ", Some("spaced.txt")),
            (
                "attachment; filename=two words.txt; x=1",
                Some("two words.txt"),
            ),
            ("attachment; filename=7.txt", Some("7.txt")),
            ("attachment", None),
            ("inline", None),
            ("", None),
            ("attachment; filename=", None),
            ("attachment; filename=\"\"", None),
            ("attachment; name=\"field\"", None),
            // Percent escapes in a plain `filename` are not decoded (RFC 6266 §4.3).
            (
                "attachment; filename=\"%E2%82%AC.txt\"",
                Some("%E2%82%AC.txt"),
            ),
            // Hostile names come back as sent: making them safe is the policy's job.
            (
                "attachment; filename=\"../../etc/passwd\"",
                Some("../../etc/passwd"),
            ),
            ("attachment; filename=\".bashrc\"", Some(".bashrc")),
            (
                "attachment; filename=\"C:\\\\x\\\\y.txt\"",
                Some("C:\\x\\y.txt"),
            ),
            // An unterminated quote takes the rest.
            ("attachment; filename=\"open.txt", Some("open.txt")),
        ];
        for (value, expected) in cases {
            assert_eq!(
                disposition_filename(value).as_deref(),
                *expected,
                "{value:?}"
            );
        }
    }

    #[test]
    fn prefers_and_decodes_filename_star() {
        let cases: &[(&str, Option<&str>)] = &[
            (
                "attachment; filename*=UTF-8''%E2%82%AC%20rates.txt",
                Some("\u{20ac} rates.txt"),
            ),
            (
                "attachment; filename=\"EURO rates.txt\"; filename*=utf-8''%e2%82%ac%20rates.txt",
                Some("\u{20ac} rates.txt"),
            ),
            // Order does not matter: `filename*` still wins.
            (
                "attachment; filename*=UTF-8''caf%C3%A9.txt; filename=\"cafe.txt\"",
                Some("caf\u{e9}.txt"),
            ),
            (
                "attachment; filename*=iso-8859-1'en'%A3%20rates",
                Some("\u{a3} rates"),
            ),
            ("attachment; filename*=UTF-8'de'plain", Some("plain")),
            ("attachment; FILENAME*=UTF-8''x%2Fy", Some("x/y")),
            // Quoted, against the grammar, still read.
            ("attachment; filename*=\"UTF-8''q%20d\"", Some("q d")),
            // Unusable `filename*` (bad charset, bad escape, bad UTF-8, no quotes):
            // `filename` is used.
            (
                "attachment; filename*=koi8-r''%C1; filename=fallback.txt",
                Some("fallback.txt"),
            ),
            (
                "attachment; filename*=UTF-8''%zz; filename=fallback.txt",
                Some("fallback.txt"),
            ),
            (
                "attachment; filename*=UTF-8''%FF; filename=fallback.txt",
                Some("fallback.txt"),
            ),
            (
                "attachment; filename*=%E2%82%AC.txt; filename=fallback.txt",
                Some("fallback.txt"),
            ),
            ("attachment; filename*=UTF-8''%E2%82", None),
            ("attachment; filename*=UTF-8''", None),
        ];
        for (value, expected) in cases {
            assert_eq!(
                disposition_filename(value).as_deref(),
                *expected,
                "{value:?}"
            );
        }
    }

    /// The header as part of an answer cut at every position: the name is the same
    /// however the bytes arrive.
    #[test]
    fn the_name_survives_every_split_of_the_answer() {
        let answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Disposition: attachment; filename=\"a b.txt\"; filename*=UTF-8''%C3%A9.txt\r\n\r\nhi";
        for cut in 0..=answer.len() {
            let mut ex = Exchange::new(Method::Get, true, Limits::default());
            let mut buf = answer[..cut].to_vec();
            let mut name = None;
            let mut rest = &answer[cut..];
            for _ in 0..4 {
                let (used, part) = ex.feed(&buf).unwrap();
                if let Some(Part::Head(head)) = part {
                    name = head
                        .header("content-disposition")
                        .and_then(disposition_filename);
                }
                buf.drain(..used);
                buf.extend_from_slice(rest);
                rest = &[];
            }
            assert_eq!(name.as_deref(), Some("\u{e9}.txt"), "cut at {cut}");
        }
    }
}
