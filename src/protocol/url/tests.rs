//! Table-driven tests of URL parsing, resolution and encoding, hostile inputs included.
//!
//! Layer: `protocol`; may use nothing else of the crate (see `src/protocol/mod.rs`).

use super::*;

#[test]
fn parses_good_urls() {
    // input, host, port, target, Display
    let cases = [
        (
            "http://example.com",
            "example.com",
            80,
            "/",
            "http://example.com/",
        ),
        (
            "HTTP://Example.COM/Path",
            "example.com",
            80,
            "/Path",
            "http://example.com/Path",
        ),
        (
            "http://h:8080/a?b=c",
            "h",
            8080,
            "/a?b=c",
            "http://h:8080/a?b=c",
        ),
        ("http://h:80/x", "h", 80, "/x", "http://h/x"),
        ("http://h:00080/x", "h", 80, "/x", "http://h/x"),
        ("http://h?q", "h", 80, "/?q", "http://h/?q"),
        ("http://h/x#frag", "h", 80, "/x", "http://h/x"),
        ("http://h#frag", "h", 80, "/", "http://h/"),
        ("http://h/a?q#f?g", "h", 80, "/a?q", "http://h/a?q"),
        (
            "http://127.0.0.1:5000/api/list_files",
            "127.0.0.1",
            5000,
            "/api/list_files",
            "http://127.0.0.1:5000/api/list_files",
        ),
        (
            "http://[::1]:8080/x",
            "::1",
            8080,
            "/x",
            "http://[::1]:8080/x",
        ),
        ("http://[::1]/", "::1", 80, "/", "http://[::1]/"),
        (
            "http://[2001:DB8:0:0::1]/",
            "2001:db8::1",
            80,
            "/",
            "http://[2001:db8::1]/",
        ),
        ("http://h/a/./b/../c", "h", 80, "/a/c", "http://h/a/c"),
        (
            "http://h/../../etc/passwd",
            "h",
            80,
            "/etc/passwd",
            "http://h/etc/passwd",
        ),
        (
            "http://h/caf\u{e9}",
            "h",
            80,
            "/caf%C3%A9",
            "http://h/caf%C3%A9",
        ),
        (
            "http://h/a?\u{e9}=1",
            "h",
            80,
            "/a?%C3%A9=1",
            "http://h/a?%C3%A9=1",
        ),
        ("http://h/a%20b", "h", 80, "/a%20b", "http://h/a%20b"),
        ("http://h/100%", "h", 80, "/100%25", "http://h/100%25"),
        ("http://h/%zz", "h", 80, "/%25zz", "http://h/%25zz"),
        (
            "http://h/a\"<>`{}|^\\b",
            "h",
            80,
            "/a%22%3C%3E%60%7B%7D%7C%5E%5Cb",
            "http://h/a%22%3C%3E%60%7B%7D%7C%5E%5Cb",
        ),
        (
            "http://h/a?x=/y?z",
            "h",
            80,
            "/a?x=/y?z",
            "http://h/a?x=/y?z",
        ),
        (
            "http://my_host.local./x",
            "my_host.local.",
            80,
            "/x",
            "http://my_host.local./x",
        ),
    ];
    for (input, host, port, target, shown) in cases {
        let url = Url::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(url.host(), host, "{input:?}");
        assert_eq!(url.port(), port, "{input:?}");
        assert_eq!(url.target(), target, "{input:?}");
        assert_eq!(url.to_string(), shown, "{input:?}");
        // Display round-trips.
        assert_eq!(Url::parse(shown).unwrap(), url, "{input:?}");
    }
}

#[test]
fn rejects_hostile_and_malformed_urls() {
    // input, a fragment the one-line message must contain
    let cases = [
        ("gopher://example.com/", "unsupported scheme \"gopher\""),
        ("WSS://example.com/", "unsupported scheme \"wss\""),
        ("ftp://example.com/", "unsupported scheme \"ftp\""),
        ("file:///etc/passwd", "unsupported scheme \"file\""),
        ("javascript:alert(1)", "unsupported scheme \"javascript\""),
        ("example.com/x", "missing scheme"),
        ("localhost:8080/x", "missing scheme"),
        ("/just/a/path", "missing scheme"),
        ("", "missing scheme"),
        ("http:example.com", "expected \"//\""),
        ("http:/example.com", "expected \"//\""),
        ("http://", "empty host"),
        ("http:///x", "empty host"),
        ("http://:80/", "empty host"),
        (
            "http://h/a\r\nHost: evil",
            "forbidden carriage return at byte 10",
        ),
        ("http://h/a\nb", "forbidden line feed"),
        ("http://h/a\0b", "forbidden nul byte"),
        ("http://h/a b", "forbidden space"),
        ("http://h/a\tb", "forbidden tab"),
        ("http://h/a\u{7f}", "control character U+007F"),
        ("http://h/a\u{85}", "control character U+0085"),
        (" http://h/", "forbidden space at byte 0"),
        ("http://h:/", "empty port"),
        ("http://h:abc/", "not a number"),
        ("http://h:-1/", "not a number"),
        ("http://h:+80/", "not a number"),
        ("http://h:0/", "out of range"),
        ("http://h:65536/", "out of range"),
        ("http://h:99999999999999999999/", "out of range"),
        ("http://h:80:80/", "not a number"),
        ("http://::1/", "empty host"),
        ("http://[::1/", "missing \"]\""),
        ("http://[nope]/", "not an ipv6 address"),
        ("http://[fe80::1%25eth0]/", "not an ipv6 address"),
        ("http://[::1]x/", "text after \"]\""),
        ("http://[::1]:/", "empty port"),
        ("http://ex%41mple.com/", "only letters"),
        ("http://exa\\mple.com/", "only letters"),
        ("http://\u{301}caf.example/", "(IDNA)"),
        ("http://user:secret@h/", "is not supported: use -u"),
        ("http://evil.com\\@good.com/", "user name or password"),
        ("http://a@b@c/", "user name or password"),
    ];
    for (input, expected) in cases {
        let err = Url::parse(input).expect_err(input);
        assert_eq!(Url::check(input).unwrap_err(), err, "{input:?}");
        let message = err.to_string();
        assert!(
            message.contains(expected),
            "{input:?}: {message:?} lacks {expected:?}"
        );
        assert!(
            !message.contains('\n') && !message.contains('\r'),
            "{message:?}"
        );
        assert!(!message.contains("secret"), "{message:?}");
    }
}

#[test]
fn scheme_error_carries_the_scheme() {
    assert_eq!(
        Url::parse("FTP://x/"),
        Err(UrlError::UnsupportedScheme {
            scheme: "ftp".into(),
            url: "FTP://x/".into()
        })
    );
}

#[cfg(feature = "tls")]
#[test]
fn https_has_its_own_default_port_and_pool_key() {
    let url = Url::parse("HTTPS://Example.com/a").unwrap();
    assert_eq!(url.scheme(), Scheme::Https);
    assert_eq!(url.port(), 443);
    assert_eq!(url.host_header(), "example.com", "no :443 in Host");
    assert_eq!(url.to_string(), "https://example.com/a");
    let odd = Url::parse("https://example.com:80/").unwrap();
    assert_eq!(odd.host_header(), "example.com:80");
    let plain = Url::parse("http://example.com:443/").unwrap();
    assert_eq!(plain.host_header(), "example.com:443");
    assert_ne!(
        odd.authority_key(),
        Url::parse("http://example.com:80/")
            .unwrap()
            .authority_key(),
        "http and https to one host:port never share a socket"
    );
    // Redirects may change the scheme; a scheme-relative one keeps it.
    assert_eq!(
        url.join("http://example.com/b").unwrap().to_string(),
        "http://example.com/b"
    );
    assert_eq!(
        url.join("//other.org/c").unwrap().to_string(),
        "https://other.org/c"
    );
}

#[cfg(not(feature = "tls"))]
#[test]
fn https_without_the_feature_says_so() {
    let e = Url::parse("https://example.com/").unwrap_err();
    assert!(
        e.to_string().contains("https:// needs the tls feature"),
        "{e}"
    );
}

#[test]
fn user_info_is_redacted() {
    let err = Url::parse("http://alice:hunter2@example.com/x").unwrap_err();
    assert_eq!(
        err,
        UrlError::UserInfo {
            url: "http://***@example.com/x".into()
        }
    );
}

#[test]
fn host_header_writes_every_port_in_decimal() {
    for (port, header) in [
        (1, "h:1"),
        (9, "h:9"),
        (10, "h:10"),
        (99, "h:99"),
        (100, "h:100"),
        (8080, "h:8080"),
        (40357, "h:40357"),
        (65535, "h:65535"),
    ] {
        let url = Url::parse(&format!("http://h:{port}/x")).unwrap();
        let mut out = String::from("kept ");
        url.write_host_header(&mut out);
        assert_eq!(out, format!("kept {header}"));
    }
    let v6 = Url::parse("http://[2001:db8::1]:443/").unwrap();
    assert_eq!(v6.host_header(), "[2001:db8::1]:443");
}

#[test]
fn header_origin_and_authority() {
    let cases = [
        ("http://h/", "h", "http://h", "http://h:80"),
        ("http://H:8080/", "h:8080", "http://h:8080", "http://h:8080"),
        ("http://[::1]/", "[::1]", "http://[::1]", "http://[::1]:80"),
        (
            "http://[::1]:5000/x",
            "[::1]:5000",
            "http://[::1]:5000",
            "http://[::1]:5000",
        ),
    ];
    for (input, header, origin, authority) in cases {
        let url = Url::parse(input).unwrap();
        assert_eq!(url.host_header(), header);
        assert_eq!(url.origin(), origin);
        assert_eq!(url.authority_key().to_string(), authority);
        // Checking without building gives the same key.
        assert_eq!(
            Url::check(input).unwrap().authority_key(),
            url.authority_key()
        );
    }
    // One server, one key, whatever the spelling.
    assert_eq!(
        Url::parse("http://EXAMPLE.com:80/a")
            .unwrap()
            .authority_key(),
        Url::parse("http://example.com/b").unwrap().authority_key()
    );
}

#[test]
fn joins_redirect_locations() {
    // RFC 3986 section 5.4.1 examples (those that stay http) plus miodl's own.
    let base = Url::parse("http://a/b/c/d;p?q").unwrap();
    let cases = [
        ("g", "http://a/b/c/g"),
        ("./g", "http://a/b/c/g"),
        ("g/", "http://a/b/c/g/"),
        ("/g", "http://a/g"),
        ("//g", "http://g/"),
        ("?y", "http://a/b/c/d;p?y"),
        ("g?y", "http://a/b/c/g?y"),
        ("#s", "http://a/b/c/d;p?q"),
        ("g#s", "http://a/b/c/g"),
        ("g?y#s", "http://a/b/c/g?y"),
        (";x", "http://a/b/c/;x"),
        ("g;x", "http://a/b/c/g;x"),
        ("", "http://a/b/c/d;p?q"),
        (".", "http://a/b/c/"),
        ("./", "http://a/b/c/"),
        ("..", "http://a/b/"),
        ("../", "http://a/b/"),
        ("../g", "http://a/b/g"),
        ("../..", "http://a/"),
        ("../../g", "http://a/g"),
        ("../../../g", "http://a/g"),
        ("../../../../g", "http://a/g"),
        ("/./g", "http://a/g"),
        ("/../g", "http://a/g"),
        ("g.", "http://a/b/c/g."),
        (".g", "http://a/b/c/.g"),
        ("g..", "http://a/b/c/g.."),
        ("..g", "http://a/b/c/..g"),
        ("./../g", "http://a/b/g"),
        ("./g/.", "http://a/b/c/g/"),
        ("g/./h", "http://a/b/c/g/h"),
        ("g/../h", "http://a/b/c/h"),
        ("g;x=1/./y", "http://a/b/c/g;x=1/y"),
        ("g;x=1/../y", "http://a/b/c/y"),
        ("http://other:8080/x", "http://other:8080/x"),
        ("HTTP://Other/x", "http://other/x"),
        ("//[::1]:81/z", "http://[::1]:81/z"),
        ("new file.txt", "http://a/b/c/new%20file.txt"),
        ("/caf\u{e9}", "http://a/caf%C3%A9"),
    ];
    for (location, expected) in cases {
        let joined = base
            .join(location)
            .unwrap_or_else(|e| panic!("{location:?}: {e}"));
        assert_eq!(joined.to_string(), expected, "{location:?}");
    }
}

#[test]
fn join_keeps_port_and_rejects_hostile_locations() {
    let base = Url::parse("http://h:8080/dir/file").unwrap();
    assert_eq!(base.join("x").unwrap().to_string(), "http://h:8080/dir/x");
    let cases = [
        ("ws://h/", "unsupported scheme \"ws\""),
        ("ftp://h/", "unsupported scheme"),
        ("/x\r\nSet-Cookie: a=b", "forbidden carriage return"),
        ("/x\0", "forbidden nul byte"),
        ("//user:pw@h/", "user name or password"),
        ("//h:99999/", "out of range"),
        ("//bad host/", "only letters"),
        ("http:x", "expected \"//\""),
    ];
    for (location, expected) in cases {
        let message = base.join(location).expect_err(location).to_string();
        assert!(message.contains(expected), "{location:?}: {message:?}");
    }
}

#[test]
fn encodes_segments() {
    let cases = [
        ("0123abcdef", "0123abcdef"),
        ("a-b.c_d~e", "a-b.c_d~e"),
        ("a/b", "a%2Fb"),
        ("..", "%2E%2E"),
        (".", "%2E"),
        ("...", "..."),
        ("../etc", "..%2Fetc"),
        ("a b", "a%20b"),
        ("a\r\nb", "a%0D%0Ab"),
        ("nul\0", "nul%00"),
        ("?#%", "%3F%23%25"),
        ("\u{e9}", "%C3%A9"),
        ("", ""),
    ];
    for (input, expected) in cases {
        assert_eq!(percent_encode_segment(input), expected, "{input:?}");
    }
}

#[test]
fn encoded_segment_stays_one_segment() {
    for id in ["..", ".", "a/../../b", "x?y#z", "%2e%2e", "\r\n"] {
        let url = Url::parse(&format!(
            "http://h/api/download/{}",
            percent_encode_segment(id)
        ))
        .unwrap();
        let last = url.target().rsplit('/').next().unwrap();
        assert_eq!(url.target(), format!("/api/download/{last}"), "{id:?}");
    }
}

#[test]
fn multibyte_characters_anywhere_never_panic_and_never_reach_the_wire_raw() {
    let base = "http://h:8080/a%2/b?c=d#e";
    for inserted in ["\u{e9}", "\u{20ac}", "\u{1f600}", "\u{85}", "%", "@", ":"] {
        for (position, _) in base.char_indices().chain([(base.len(), ' ')]) {
            let text = format!("{}{inserted}{}", &base[..position], &base[position..]);
            match Url::parse(&text) {
                Ok(url) => {
                    assert!(url.target().is_ascii(), "{text:?}: {}", url.target());
                    assert!(url.host().is_ascii(), "{text:?}");
                }
                Err(e) => assert_eq!(Url::check(&text).unwrap_err(), e),
            }
        }
    }
}

#[test]
fn an_international_host_is_mapped_to_punycode_for_the_wire() {
    for input in [
        "http://bücher.example/x",
        // Upper case and fullwidth letters and dot fold to the same name (UTS #46).
        "http://BÜCHER.EXAMPLE/x",
        "http://ｂüｃｈｅｒ．example/x",
    ] {
        let url = Url::parse(input).unwrap();
        assert_eq!(url.host(), "xn--bcher-kva.example", "{input}");
        assert_eq!(url.host_header(), "xn--bcher-kva.example");
        assert_eq!(url.to_string(), "http://xn--bcher-kva.example/x");
        assert_eq!(url.for_humans().to_string(), "http://bücher.example/x");
        assert_eq!(
            Url::check(input).unwrap().authority_key(),
            url.authority_key()
        );
    }
    let url = Url::parse("https://例え.テスト:8443/a?b").unwrap();
    assert_eq!(url.host(), "xn--r8jz45g.xn--zckzah");
    assert_eq!(url.host_header(), "xn--r8jz45g.xn--zckzah:8443");
    assert_eq!(url.for_humans().to_string(), "https://例え.テスト:8443/a?b");
    // An ASCII host prints as it is; punycode written by hand shows its Unicode form.
    let plain = Url::parse("http://example.com/x").unwrap();
    assert_eq!(plain.for_humans().to_string(), "http://example.com/x");
    let written = Url::parse("http://xn--bcher-kva.example:81/").unwrap();
    assert_eq!(
        written.for_humans().to_string(),
        "http://bücher.example:81/"
    );
}

#[test]
fn what_idna_refuses_is_an_invalid_host_naming_it() {
    let long = format!("http://ü{}.example/", "a".repeat(70));
    for input in [
        // A label that starts with a combining mark.
        "http://\u{301}abc.example/",
        // Right-to-left and left-to-right letters in one label (the bidi rule).
        "http://a\u{5d0}.example/",
        // A forbidden character beside a non-ASCII one.
        "http://bü%63her.example/",
        "http://bü<her.example/",
        // A label past 63 bytes once mapped.
        long.as_str(),
    ] {
        let err = Url::parse(input).expect_err(input);
        assert_eq!(Url::check(input).unwrap_err(), err, "{input:?}");
        let message = err.to_string();
        assert!(message.starts_with("invalid host \""), "{message}");
        assert!(message.contains("(IDNA)"), "{input:?}: {message}");
        assert!(!message.contains('\n'));
    }
}

/// URLs that share a first part with one another in every way that matters to
/// [`AuthorityMemo`]: the same authority, one that extends it, a port or user info after
/// it, forbidden characters after it (in the path, the query, the fragment).
const MEMO_CORPUS: &[&str] = &[
    "http://h/x",
    "http://h",
    "http://h?q",
    "http://h#f",
    "http://h/x#frag with space",
    "http://h/x y",
    "http://h/x\u{85}",
    "http://h/x\r\nHost: evil",
    "http://h/a/../b?c d",
    "http://h/%zz?q=%41",
    "http://h/ü?ü#ü",
    "http://hx/y",
    "http://h.example/x",
    "http://h@evil/x",
    "http://h:80@evil/x",
    "http://h:80/x",
    "http://h:8/x",
    "http://h:8080/x",
    "http://h:8080",
    "http://h:80:80/x",
    "http://h:/x",
    "http://h:0/x",
    "http://h:99999/x",
    "http://h%41/x",
    "http://h\t/x",
    "HTTP://h/x",
    "HTTP://H/x",
    "https://h/x",
    "ftp://h/x",
    "http:/h/x",
    "http://[::1]/x",
    "http://[::1]",
    "http://[::1]:8080/x",
    "http://[::1]x/",
    "http://[::1]:8080@e/x",
    "http://bücher.example/x",
    "http://bücher.example/y",
    "",
];

#[test]
fn a_memo_never_changes_what_a_check_finds() {
    for first in MEMO_CORPUS {
        for second in MEMO_CORPUS {
            let mut memo = AuthorityMemo::default();
            let _ = Url::check_with(first, &mut memo);
            let spared = Url::parse_with(second, &mut memo);
            assert_eq!(spared, Url::parse(second), "{second:?} after {first:?}");
            // Its own memo now, if it kept one.
            let again = Url::parse_with(second, &mut memo);
            assert_eq!(again, Url::parse(second), "{second:?} twice");
        }
    }
}

#[test]
fn a_memo_spares_the_authority_only_up_to_where_it_ends() {
    let mut memo = AuthorityMemo::default();
    Url::check_with("http://H:8080/a", &mut memo).unwrap();
    assert_eq!(memo.prefix, "http://H:8080");
    for spared in [
        "http://H:8080/b",
        "http://H:8080",
        "http://H:8080?q",
        "http://H:8080#f",
    ] {
        assert!(memo.reuse(spared).is_some(), "{spared}");
    }
    for whole in [
        "http://H:80801/b",
        "http://H:8080@e/b",
        "http://h:8080/b",
        "http://H:8080/b c",
        "http://H:8080/b#c d",
        "http://H:808",
    ] {
        assert!(memo.reuse(whole).is_none(), "{whole}");
    }
    // An international host is mapped again each time: not kept.
    Url::check_with("http://bücher.example/x", &mut memo).unwrap();
    assert!(memo.reuse("http://bücher.example/y").is_none());
    assert!(
        memo.reuse("http://H:8080/b").is_none(),
        "the memo before is gone"
    );
}
