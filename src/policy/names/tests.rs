//! Tests of output names: unsafe names repaired or refused, collisions numbered.
//!
//! Layer: `policy`; may use `protocol` and `model` (see `src/policy/mod.rs`).

use super::*;

fn name(url: &str) -> String {
    file_name_for_url(&Url::parse(url).unwrap())
}

#[test]
fn names_urls() {
    let cases = [
        ("http://h/", "index.html"),
        ("http://h", "index.html"),
        ("http://h/dir/", "index.html"),
        ("http://h/a/file.txt", "file.txt"),
        ("http://h/a/file.txt?x=1/2", "file.txt"),
        ("http://h/a/file.txt#frag", "file.txt"),
        ("http://h/report%202015.pdf", "report 2015.pdf"),
        ("http://h/caf%C3%A9", "caf\u{e9}"),
        ("http://h/caf\u{e9}", "caf\u{e9}"),
        ("http://h/bad%FFutf8", "bad\u{fffd}utf8"),
        ("http://h/a%2Fb", "a_b"),
        ("http://h/a%5Cb", "a_b"),
        ("http://h/..%2F..%2Fetc%2Fpasswd", "___.._etc_passwd"),
        ("http://h/%2E%2E", "__"),
        ("http://h/%2e", "_"),
        ("http://h/.bashrc", "_bashrc"),
        ("http://h/...x", "___x"),
        ("http://h/a%00b", "a_b"),
        ("http://h/a%0D%0Ab", "a__b"),
        ("http://h/a%1B[31m", "a_[31m"),
        ("http://h/a%C2%85b", "a_b"),
        ("http://h/100%", "100%"),
        ("http://h/%zz", "%zz"),
        ("http://h/a.b.", "a.b."),
        ("http://h/invoice%E2%80%AEtxt.exe", "invoice_txt.exe"),
        ("http://h/invoice\u{202e}txt.exe", "invoice_txt.exe"),
        ("http://h/a%E2%80%8Bb%E2%80%8F", "a_b_"),
        ("http://h/%E2%80%AAx%E2%80%ADy", "_x_y"),
        ("http://h/%E2%81%A6x%E2%81%A9", "_x_"),
        ("http://h/%EF%BB%BFbom", "_bom"),
        // Neighbours of the ranges stay.
        ("http://h/a%E2%80%8Ab%E2%80%90", "a\u{200a}b\u{2010}"),
    ];
    for (url, expected) in cases {
        assert_eq!(name(url), expected, "{url:?}");
    }
}

#[test]
fn caps_length_on_a_char_boundary() {
    let long = "\u{e9}".repeat(200); // 400 bytes
    let got = name(&format!("http://h/{long}"));
    assert_eq!(got.len(), 254);
    assert!(got.chars().all(|c| c == '\u{e9}'));
    assert_eq!(name(&format!("http://h/{}", "a".repeat(300))).len(), 255);
}

#[test]
fn accepts_and_refuses_ids() {
    let id = "0123456789abcdef0123456789abcdef";
    assert_eq!(safe_id_file_name(id), Ok(id));
    assert_eq!(safe_id_file_name("a.b-c_d e"), Ok("a.b-c_d e"));
    let cases = [
        ("", UnsafeReason::Empty),
        (".", UnsafeReason::DotName),
        ("..", UnsafeReason::DotName),
        ("../etc", UnsafeReason::Separator),
        ("a/b", UnsafeReason::Separator),
        ("a\\b", UnsafeReason::Separator),
        ("a\0b", UnsafeReason::Nul),
        ("a\r\nb", UnsafeReason::Control),
        ("a\u{1b}b", UnsafeReason::Control),
        ("a\u{85}", UnsafeReason::Control),
        ("invoice\u{202e}txt.exe", UnsafeReason::Invisible),
        ("a\u{200b}b", UnsafeReason::Invisible),
        ("a\u{2066}b", UnsafeReason::Invisible),
        ("\u{feff}a", UnsafeReason::Invisible),
        (".hidden", UnsafeReason::LeadingDot),
    ];
    for (id, reason) in cases {
        assert_eq!(safe_id_file_name(id).unwrap_err().reason, reason, "{id:?}");
    }
    let long = "x".repeat(256);
    assert_eq!(
        safe_id_file_name(&long).unwrap_err().reason,
        UnsafeReason::TooLong(256)
    );
    assert!(safe_id_file_name(&"x".repeat(255)).is_ok());
}

#[test]
fn unsafe_name_reports_on_one_escaped_line() {
    let err = safe_id_file_name("a\r\nb").unwrap_err();
    assert_eq!(
        err.to_string(),
        "unsafe id \"a\\r\\nb\" as a file name: it contains a control character"
    );
    let long = safe_id_file_name(&"y".repeat(300)).unwrap_err().to_string();
    assert!(
        long.contains(&format!("\"{}...\"", "y".repeat(64))),
        "{long}"
    );
    assert!(long.ends_with("it is 300 bytes long, over 255"), "{long}");
}

#[test]
fn registry_hands_out_unique_names() {
    let mut names = NameRegistry::new();
    assert_eq!(names.claim("a.txt".into()), "a.txt");
    assert_eq!(names.claim("a.txt".into()), "a.txt.1");
    assert_eq!(names.claim("a.txt".into()), "a.txt.2");
    assert_eq!(names.claim("a.txt.1".into()), "a.txt.1.1");
    assert_eq!(names.claim("b".into()), "b");
    assert!(names.is_taken("a.txt.2"));
    assert!(!names.is_taken("a.txt.3"));
}

#[test]
fn registry_suffix_respects_the_length_cap() {
    let mut names = NameRegistry::new();
    let long = "z".repeat(255);
    assert_eq!(names.claim(long.clone()), long);
    let second = names.claim(long.clone());
    assert_eq!(second.len(), 255);
    assert!(second.ends_with(".1"));
    let third = names.claim(long);
    assert!(third.ends_with(".2") && third.len() == 255);
}

#[test]
fn makes_header_names_plain() {
    let cases: &[(&str, Option<&str>)] = &[
        ("report.pdf", Some("report.pdf")),
        ("annual report.pdf", Some("annual report.pdf")),
        ("../../etc/passwd", Some("passwd")),
        ("/etc/passwd", Some("passwd")),
        ("C:\\x\\y.txt", Some("y.txt")),
        ("dir/", None),
        ("..", Some("__")),
        (".", Some("_")),
        (".bashrc", Some("_bashrc")),
        ("a/.hidden", Some("_hidden")),
        ("  spaced.txt  ", Some("spaced.txt")),
        ("", None),
        ("   ", None),
        ("a\r\nb", Some("a__b")),
        ("a\u{1b}[31mb", Some("a_[31mb")),
        ("invoice\u{202e}txt.exe", Some("invoice_txt.exe")),
        ("\u{feff}bom", Some("_bom")),
        ("caf\u{e9}.txt", Some("caf\u{e9}.txt")),
        ("a\0b", Some("a_b")),
    ];
    for (suggested, expected) in cases {
        assert_eq!(
            safe_header_name(suggested).as_deref(),
            *expected,
            "{suggested:?}"
        );
    }
    let long = safe_header_name(&"\u{e9}".repeat(200)).unwrap();
    assert_eq!(long.len(), 254);
}
