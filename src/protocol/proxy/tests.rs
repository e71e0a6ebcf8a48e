//! The proxy URL, `--noproxy`, the routes, the `CONNECT` request, and the proxy's answer
//! fed split at every position.
//!
//! Layer: `protocol`; may use nothing else of the crate (see `src/protocol/mod.rs`).

use super::*;

#[test]
fn a_proxy_url_is_read_as_curl_reads_it() {
    let p = Proxy::parse("http://127.0.0.1:3128").unwrap();
    assert_eq!(
        (p.host(), p.port(), p.authorization()),
        ("127.0.0.1", 3128, None)
    );
    let p = Proxy::parse("Proxy.Example/").unwrap();
    assert_eq!((p.host(), p.port()), ("proxy.example", DEFAULT_PROXY_PORT));
    let p = Proxy::parse("http://[::1]").unwrap();
    assert_eq!((p.host(), p.port()), ("::1", 1080));
    assert_eq!(p.to_string(), "[::1]:1080");
    let p = Proxy::parse("http://al%40ice:s%3Acret@proxy:8080").unwrap();
    assert_eq!(
        p.authorization(),
        Some(basic_authorization("al@ice", "s:cret").as_str())
    );
    assert_eq!(p.to_string(), "proxy:8080");
    assert!(!format!("{p:?}").contains("Basic"));
}

#[test]
fn other_proxy_schemes_are_refused_without_showing_credentials() {
    for (text, scheme) in [
        ("socks5://u:secret@127.0.0.1:1080", "socks5"),
        ("socks4://127.0.0.1:1080", "socks4"),
        ("HTTPS://proxy:443", "https"),
    ] {
        let e = Proxy::parse(text).unwrap_err();
        assert!(matches!(&e, ProxyUrlError::Scheme { scheme: s, .. } if s == scheme));
        let message = e.to_string();
        assert!(message.contains("only http:// proxies"), "{message}");
        assert!(!message.contains("secret"), "{message}");
    }
    let e = Proxy::parse("http://u:secret@proxy:99999").unwrap_err();
    assert!(!e.to_string().contains("secret"), "{e}");
    assert!(Proxy::parse("http://proxy:3128/path").is_err());
    assert!(Proxy::parse("http://").is_err());
}

#[test]
fn no_proxy_takes_names_suffixes_addresses_and_star() {
    let list = NoProxy::parse("example.com, .internal,10.0.0.1 [::1]");
    for host in [
        "example.com",
        "a.example.com",
        "b.internal",
        "10.0.0.1",
        "::1",
    ] {
        assert!(list.covers(host), "{host}");
    }
    for host in ["notexample.com", "example.org", "10.0.0.2", "internal.x"] {
        assert!(!list.covers(host), "{host}");
    }
    assert_eq!(NoProxy::parse("a, *"), NoProxy::Everybody);
    assert_eq!(NoProxy::parse(""), NoProxy::Nobody);
    assert!(NoProxy::Everybody.covers("anything"));
}

#[test]
fn each_scheme_takes_its_own_route() {
    let proxy = Proxy::parse("http://p:1").unwrap();
    let mut proxies = Proxies::default();
    let http = Url::parse("http://h/x").unwrap();
    let https = Url::parse("https://h/x").unwrap();
    assert_eq!(proxies.route(&http), Route::Direct);
    proxies.http = Some(proxy.clone());
    assert_eq!(proxies.route(&http), Route::Forward(&proxy));
    assert_eq!(proxies.route(&https), Route::Direct);
    proxies.https = Some(proxy.clone());
    assert_eq!(proxies.route(&https), Route::Tunnel(&proxy));
    proxies.no_proxy = NoProxy::parse("h");
    assert_eq!(proxies.route(&http), Route::Direct);
    assert_eq!(proxies.route(&https), Route::Direct);
}

#[test]
fn a_connect_request_names_the_origin_and_carries_the_proxy_credentials() {
    let mut out = Vec::new();
    encode_connect("xn--bcher-kva.example", 443, Some("Basic eDp5"), &mut out);
    assert_eq!(
        out,
        b"CONNECT xn--bcher-kva.example:443 HTTP/1.1\r\nHost: xn--bcher-kva.example:443\r\n\
          Proxy-Authorization: Basic eDp5\r\n\r\n"
    );
    out.clear();
    encode_connect("::1", 8443, None, &mut out);
    assert_eq!(
        out,
        b"CONNECT [::1]:8443 HTTP/1.1\r\nHost: [::1]:8443\r\n\r\n"
    );
}

/// Feeds `bytes` in two pieces cut at `at`: the result, and the bytes fed before the
/// piece that ended the head.
fn feed_split(bytes: &[u8], at: usize) -> (Result<Option<Reply>, HttpError>, usize) {
    let mut reply = ConnectReply::default();
    let mut fed = 0;
    for piece in [&bytes[..at], &bytes[at..]] {
        fed += piece.len();
        match reply.feed(piece) {
            Ok(None) => continue,
            done => return (done, fed - piece.len()),
        }
    }
    (Ok(None), fed)
}

#[test]
fn the_proxy_answer_is_the_same_wherever_it_is_cut() {
    let open =
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 Connection established\r\nVia: x\r\n\r\n";
    for at in 0..=open.len() {
        let (result, before) = feed_split(open, at);
        let Ok(Some(Reply::Open { used })) = result else {
            panic!("cut at {at}: {result:?}");
        };
        assert_eq!(before + used, open.len(), "cut at {at}");
    }
    let refused = b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n\
                    Content-Length: 0\r\n\r\n";
    for at in 0..=refused.len() {
        let (result, _) = feed_split(refused, at);
        assert_eq!(
            result,
            Ok(Some(Reply::Refused {
                status: 407,
                reason: "Proxy Authentication Required".to_string()
            })),
            "cut at {at}"
        );
    }
}

#[test]
fn bytes_after_the_open_head_are_not_counted_as_used() {
    let mut reply = ConnectReply::default();
    assert_eq!(reply.feed(b"HTTP/1.1 200 OK\r"), Ok(None));
    assert_eq!(
        reply.feed(b"\n\r\nEXTRA"),
        Ok(Some(Reply::Open { used: 3 }))
    );
}

#[test]
fn a_proxy_that_speaks_no_http_is_an_error() {
    let mut reply = ConnectReply::default();
    assert!(reply.feed(b"SSH-2.0-OpenSSH\r\n\r\n").is_err());
    let mut reply = ConnectReply::default();
    let endless = vec![b'a'; 70 * 1024];
    assert!(reply.feed(b"HTTP/1.1 200 OK\r\nX: ").unwrap().is_none());
    assert!(reply.feed(&endless).is_err());
}
