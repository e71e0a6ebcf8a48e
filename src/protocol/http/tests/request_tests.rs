//! Request encoding, byte for byte, and base64 against RFC 4648's test vectors.
//!
//! Layer: `protocol`; may use nothing else of the crate (see `src/protocol/mod.rs`).

use crate::protocol::http::base64::encode_into;
use crate::protocol::http::{
    basic_authorization, encode, HttpError, Method, Request, RequestField,
};

const UA: &str = concat!("User-Agent: miodl/", env!("CARGO_PKG_VERSION"), "\r\n");

fn get(target: &str) -> Request<'_> {
    Request {
        method: Method::Get,
        target,
        host: "127.0.0.1:5000",
        keep_alive: true,
        authorization: None,
        form_body: None,
        custom: None,
        trusted: false,
        absolute: false,
        proxy_authorization: None,
        range: None,
    }
}

#[test]
fn through_a_proxy_the_target_is_absolute_and_the_proxy_gets_its_credentials() {
    let req = Request {
        absolute: true,
        proxy_authorization: Some("Basic cDpx"),
        ..get("/a?b")
    };
    assert_eq!(
        encoded(&req),
        format!(
            "GET http://127.0.0.1:5000/a?b HTTP/1.1\r\nHost: 127.0.0.1:5000\r\n{UA}\
             Accept: */*\r\nProxy-Authorization: Basic cDpx\r\n\r\n"
        )
    );
    let smuggled = Request {
        proxy_authorization: Some("Basic x\r\nX: y"),
        ..req
    };
    assert!(encode(&smuggled, &mut Vec::new()).is_err());
}

fn encoded(req: &Request<'_>) -> String {
    let mut out = Vec::new();
    encode(req, &mut out).expect("valid request");
    String::from_utf8(out).unwrap()
}

#[test]
fn a_keep_alive_get() {
    let expected = format!(
        "GET /api/download/ab12?x=1%202 HTTP/1.1\r\nHost: 127.0.0.1:5000\r\n{UA}Accept: */*\r\n\r\n"
    );
    assert_eq!(encoded(&get("/api/download/ab12?x=1%202")), expected);
}

#[test]
fn a_get_without_keep_alive_and_with_credentials_on_ipv6() {
    let auth = basic_authorization("user", "pass");
    let req = Request {
        host: "[::1]:8080",
        keep_alive: false,
        authorization: Some(&auth),
        ..get("/")
    };
    let expected = format!(
        "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n{UA}Accept: */*\r\nConnection: close\r\n\
         Authorization: Basic dXNlcjpwYXNz\r\n\r\n"
    );
    assert_eq!(encoded(&req), expected);
}

#[test]
fn a_post_with_a_form_body() {
    let req = Request {
        method: Method::Post,
        form_body: Some(b"start=0&per_page=5"),
        ..get("/api/list_files")
    };
    let expected = format!(
        "POST /api/list_files HTTP/1.1\r\nHost: 127.0.0.1:5000\r\n{UA}Accept: */*\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 18\r\n\r\nstart=0&per_page=5"
    );
    assert_eq!(encoded(&req), expected);
}

#[test]
fn a_post_without_body_says_content_length_zero() {
    let req = Request {
        method: Method::Post,
        ..get("/p")
    };
    let expected = format!(
        "POST /p HTTP/1.1\r\nHost: 127.0.0.1:5000\r\n{UA}Accept: */*\r\nContent-Length: 0\r\n\r\n"
    );
    assert_eq!(encoded(&req), expected);
}

#[test]
fn a_head_request_and_method_names() {
    assert!(encoded(&Request {
        method: Method::Head,
        ..get("/")
    })
    .starts_with("HEAD / HTTP/1.1\r\n"));
    assert_eq!(
        [Method::Get, Method::Post, Method::Head].map(Method::as_str),
        ["GET", "POST", "HEAD"]
    );
}

#[test]
fn encoding_appends_to_what_is_already_there() {
    let mut out = b"previous".to_vec();
    encode(&get("/"), &mut out).unwrap();
    assert!(out.starts_with(b"previousGET / HTTP/1.1\r\n"));
}

#[test]
fn fields_that_could_break_the_head_are_refused_and_nothing_is_written() {
    let bad = |req: Request<'_>, field| {
        let mut out = b"kept".to_vec();
        assert_eq!(
            encode(&req, &mut out),
            Err(HttpError::InvalidRequest { field }),
            "{req:?}"
        );
        assert_eq!(out, b"kept");
    };
    for target in [
        "",
        "/a b",
        "/a\r\nX-Injected: 1",
        "/\n",
        "/\0",
        "/\x7f",
        "/\t",
        "/é",
    ] {
        bad(get(target), RequestField::Target);
    }
    for host in ["", "a b", "h\r\nX: 1", "h\0", "hé"] {
        bad(Request { host, ..get("/") }, RequestField::Host);
    }
    for auth in ["Basic a\r\nX: 1", "Basic \n", "Basic \0", "\x1b[31m"] {
        bad(
            Request {
                authorization: Some(auth),
                ..get("/")
            },
            RequestField::Authorization,
        );
    }
    // A tab and non-ASCII text are legal in a field value.
    let ok = Request {
        authorization: Some("Bearer\tjeton-é"),
        ..get("/")
    };
    assert!(encoded(&ok).contains("Authorization: Bearer\tjeton-é\r\n"));
}

#[test]
fn base64_matches_rfc_4648_test_vectors() {
    let vectors = [
        ("", ""),
        ("f", "Zg=="),
        ("fo", "Zm8="),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="),
        ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ];
    for (input, expected) in vectors {
        let mut out = String::new();
        encode_into(input.as_bytes(), &mut out);
        assert_eq!(out, expected, "base64({input:?})");
    }
    let mut out = String::new();
    encode_into(&[0xfb, 0xff, 0xbf], &mut out);
    assert_eq!(out, "+/+/", "the last two alphabet characters");
}

#[test]
fn basic_authorization_follows_rfc_7617() {
    // RFC 7617 §2's example.
    assert_eq!(
        basic_authorization("Aladdin", "open sesame"),
        "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
    );
    // The password may itself hold colons; only the first one separates.
    assert_eq!(basic_authorization("u", "a:b"), "Basic dTphOmI=");
    assert_eq!(basic_authorization("", ""), "Basic Og==");
}

#[test]
fn custom_headers_replace_the_defaults_and_secrets_go_only_where_trusted() {
    use crate::protocol::http::CustomHeaders;
    let custom = CustomHeaders::new(
        [
            ("User-Agent", "probe/1"),
            ("X-Trace", "7"),
            ("Authorization", "Bearer SECRET"),
        ],
        true,
    );
    let untrusted = Request {
        custom: Some(&custom),
        ..get("/")
    };
    assert_eq!(
        encoded(&untrusted),
        "GET / HTTP/1.1\r\nHost: 127.0.0.1:5000\r\nAccept: */*\r\n\
         Accept-Encoding: gzip, deflate\r\nUser-Agent: probe/1\r\nX-Trace: 7\r\n\r\n"
    );
    let trusted = Request {
        trusted: true,
        ..untrusted
    };
    assert!(encoded(&trusted).ends_with("X-Trace: 7\r\nAuthorization: Bearer SECRET\r\n\r\n"));
    let removed = CustomHeaders::new([("Accept", "")], false);
    let text = encoded(&Request {
        custom: Some(&removed),
        ..get("/")
    });
    assert!(!text.contains("Accept"), "{text}");
    assert!(text.contains("User-Agent: miodl/"), "{text}");
}

#[test]
fn a_resumed_get_asks_the_rest_if_the_body_is_the_same() {
    let req = Request {
        range: Some((1048576, "\"v1\"")),
        ..get("/big")
    };
    assert!(
        encoded(&req).ends_with("Accept: */*\r\nRange: bytes=1048576-\r\nIf-Range: \"v1\"\r\n\r\n")
    );
    let smuggled = Request {
        range: Some((1, "\"v\"\r\nX: y")),
        ..get("/big")
    };
    let mut out = Vec::new();
    assert_eq!(
        encode(&smuggled, &mut out),
        Err(HttpError::InvalidRequest {
            field: RequestField::IfRange
        })
    );
    assert!(out.is_empty());
}
