//! Tests of reading `-i` lists: blank lines and comments skipped, lines trimmed, bad bytes refused.
//!
//! Layer: `policy`; may use `protocol` and `model` (see `src/policy/mod.rs`).

use super::*;

/// Every line `UrlLines` lends from `input`, with the number its error would name.
fn lines(input: &[u8]) -> Vec<(String, String)> {
    let mut lines = UrlLines::new("list".into(), input);
    let mut out = Vec::new();
    while let Some(text) = lines.next_line() {
        let text = match text {
            Ok(text) => text.to_string(),
            Err(error) => format!("<{error}>"),
        };
        out.push((lines.origin().to_string(), text));
    }
    out
}

#[test]
fn skips_blanks_and_comments_and_trims() {
    let input = b"http://h/a\r\n\n  # a comment\n\t http://h/b  \n#\nhttp://h/c";
    let expected = [
        ("list:1", "http://h/a"),
        ("list:4", "http://h/b"),
        ("list:6", "http://h/c"),
    ];
    let got = lines(input);
    let got: Vec<(&str, &str)> = got.iter().map(|(o, t)| (&**o, &**t)).collect();
    assert_eq!(got, expected);
}

#[test]
fn a_line_that_is_not_utf8_is_refused_not_repaired_nor_dropped() {
    let got = lines(b"http://h/ok\nhttp://h/\xFFbad\n# caf\xE9\nhttp://h/next\n");
    assert_eq!(
        got,
        [
            ("list:1".into(), "http://h/ok".into()),
            ("list:2".into(), "<the line is not valid UTF-8>".into()),
            ("list:4".into(), "http://h/next".into()),
        ]
    );
}

#[test]
fn an_empty_list_has_no_lines() {
    assert!(lines(b"").is_empty());
    assert!(lines(b"\n\n# only comments\n").is_empty());
}
