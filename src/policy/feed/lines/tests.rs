//! Tests of reading `-i` lists: blank lines and comments skipped, lines trimmed, bad bytes
//! refused, a line over the cap ending its list.
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

#[test]
fn a_line_of_max_line_bytes_is_read_whole() {
    let mut input = vec![b'a'; MAX_LINE];
    input.extend_from_slice(b"\nhttp://h/next");
    let got = lines(&input);
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].1.len(), MAX_LINE);
    assert_eq!(got[1], ("list:2".into(), "http://h/next".into()));
    // At the end, without a newline, too.
    assert_eq!(lines(&vec![b'a'; MAX_LINE])[0].1.len(), MAX_LINE);
}

#[test]
fn a_line_over_the_cap_ends_its_list_without_being_held() {
    let mut input = b"http://h/first\n".to_vec();
    input.extend_from_slice(&vec![b'a'; MAX_LINE + 1]);
    input.extend_from_slice(b"\nhttp://h/after\n");
    let mut lines = UrlLines::new("list".into(), &input[..]);
    assert_eq!(lines.next_line().unwrap().unwrap(), "http://h/first");
    assert!(matches!(lines.next_line(), Some(Err(LineError::TooLong))));
    assert_eq!(lines.origin().to_string(), "list:2");
    assert!(
        lines.bytes.capacity() <= 2 * (MAX_LINE + 1),
        "not held whole"
    );
    assert!(
        lines.next_line().is_none(),
        "the list ends at the long line"
    );
    assert!(lines.next_line().is_none());
}

/// An endless line (`-i /dev/zero`) ends with the error after reading about the cap.
#[test]
fn an_endless_line_ends_the_list() {
    let mut lines = UrlLines::new("zero".into(), std::io::BufReader::new(std::io::repeat(0)));
    assert!(matches!(lines.next_line(), Some(Err(LineError::TooLong))));
    assert!(lines.next_line().is_none());
    let message = LineError::TooLong.to_string();
    assert_eq!(
        message,
        "the line is longer than 65536 bytes; the rest of the list is not read"
    );
}
