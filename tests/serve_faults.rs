//! Every fault kind, observed from a plain std::net client over loopback.

mod support;

use std::time::Duration;

use miodl::serve::pattern_byte;
use support::client::{split_head, Client, End};
use support::{eventually, reference, ServerHandle};

fn faulty(spec: &str) -> ServerHandle {
    reference().files(3).seed(5).faults(spec).start()
}

/// Sends one GET and reads raw bytes until the server ends the exchange (or `limit`).
fn raw_get(srv: &ServerHandle, path: &str, limit: usize) -> (Vec<u8>, End) {
    let mut c = Client::open(srv.addr());
    c.send(&format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n"));
    c.read_raw(limit)
}

fn content_length(head: &str) -> usize {
    (head.lines())
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .expect("a Content-Length")
        .parse()
        .unwrap()
}

#[test]
fn reset_head_resets_before_any_byte() {
    let srv = faulty("reset-head");
    let (bytes, end) = raw_get(&srv, "/bytes/100", usize::MAX);
    assert!(bytes.is_empty());
    assert!(matches!(end, End::Reset | End::Eof), "{end:?}");
    assert_eq!(srv.stats().faults_injected(), 1);
}

#[test]
fn reset_body_sends_part_of_the_body_then_resets() {
    let srv = faulty("reset-body");
    let (bytes, end) = raw_get(&srv, "/bytes/200000", usize::MAX);
    assert_eq!(end, End::Reset);
    // The kernel may drop what was queued when the RST lands; what did arrive is a prefix.
    if bytes.len() > 4 {
        assert!(bytes.starts_with(b"HTTP/1.1 200 OK\r\n"));
        assert!(bytes.len() < 200_000);
    }
}

#[test]
fn eof_body_closes_after_half_the_body() {
    let srv = faulty("eof-body");
    let (bytes, end) = raw_get(&srv, "/bytes/1000", usize::MAX);
    assert_eq!(end, End::Eof);
    let (head, body) = split_head(&bytes);
    assert_eq!(content_length(&head), 1000);
    assert_eq!(body.len(), 500);
    assert!(body
        .iter()
        .enumerate()
        .all(|(i, &b)| b == pattern_byte(i as u64)));
}

#[test]
fn close_idle_answers_fully_then_closes_a_keep_alive_socket() {
    let srv = faulty("close-idle");
    let mut c = Client::open(srv.addr());
    let resp = c.get("/bytes/10");
    assert_eq!(resp.status, 200);
    assert_eq!(resp.body.len(), 10);
    assert_eq!(resp.header("Connection"), None, "looks like keep-alive");
    assert_eq!(c.read_raw(usize::MAX), (Vec::new(), End::Eof));
}

#[test]
fn status_faults_send_their_status_and_retry_after() {
    for (spec, status, retry) in [
        ("503", 503, Some(false)),
        ("status-503", 503, Some(false)),
        ("429", 429, Some(false)),
        ("503-date", 503, Some(true)),
        ("429-date", 429, Some(true)),
        ("500", 500, None),
        ("502", 502, None),
        ("504", 504, None),
    ] {
        let srv = faulty(spec);
        let mut c = Client::open(srv.addr());
        let resp = c.get("/bytes/10");
        assert_eq!(resp.status, status, "{spec}");
        match (retry, resp.header("Retry-After")) {
            (Some(false), Some(v)) => assert_eq!(v, "1", "{spec}"),
            (Some(true), Some(v)) => assert!(v.ends_with(" GMT") && v.len() == 29, "{spec}: {v}"),
            (None, None) => {}
            (want, got) => panic!("{spec}: wanted {want:?}, got {got:?}"),
        }
        // The connection stays usable after an honest error status.
        assert_eq!(c.get("/bytes/1").status, status);
    }
}

#[test]
fn fail_first_attempt_then_succeed() {
    let srv = faulty("503:1@1");
    let id = srv.ids()[0].clone();
    let mut c = Client::open(srv.addr());
    let first = c.get(&format!("/api/download/{id}"));
    assert_eq!(first.status, 503);
    assert_eq!(first.header("Retry-After"), Some("1"));
    let second = c.get(&format!("/api/download/{id}"));
    assert_eq!(second.status, 200);
    assert_eq!(second.text(), "1 of 3");
    // Each target counts its own attempts; every pager page too.
    assert_eq!(
        c.get(&format!("/api/download/{}", srv.ids()[1])).status,
        503
    );
    assert_eq!(c.post_form("/api/list_files", "start=0").status, 503);
    assert_eq!(c.post_form("/api/list_files", "start=0").status, 200);
    assert_eq!(c.post_form("/api/list_files", "start=3").status, 503);
}

#[test]
fn a_prefix_limits_the_fault_to_matching_targets() {
    let srv = faulty("500=/api/download/");
    let mut c = Client::open(srv.addr());
    assert_eq!(c.post_form("/api/list_files", "start=0").status, 200);
    assert_eq!(
        c.get(&format!("/api/download/{}", srv.ids()[0])).status,
        500
    );
}

#[test]
fn stall_sends_nothing_and_holds_the_request() {
    let srv = faulty("stall");
    let mut c = Client::open(srv.addr());
    c.stream
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    c.send("GET /bytes/10 HTTP/1.1\r\n\r\n");
    assert_eq!(c.read_raw(usize::MAX), (Vec::new(), End::Timeout));
    let stats = srv.stats();
    assert_eq!(stats.in_flight_requests(), 1);
    drop(c);
    assert!(eventually(
        || stats.open_connections() == 0 && stats.in_flight_requests() == 0
    ));
}

#[test]
fn stall_body_sends_the_head_and_half_then_nothing() {
    let srv = faulty("stall-body");
    let mut c = Client::open(srv.addr());
    c.stream
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    c.send("GET /bytes/1000 HTTP/1.1\r\n\r\n");
    let (bytes, end) = c.read_raw(usize::MAX);
    assert_eq!(end, End::Timeout);
    let (head, body) = split_head(&bytes);
    assert_eq!(content_length(&head), 1000);
    assert_eq!(body.len(), 500);
}

#[test]
fn truncated_chunked_misses_the_last_chunk() {
    let srv = faulty("truncated-chunked");
    for path in [
        "/bytes/100000".to_string(),
        format!("/api/download/{}", srv.ids()[0]),
    ] {
        let (bytes, end) = raw_get(&srv, &path, usize::MAX);
        assert_eq!(end, End::Eof, "{path}");
        let (head, body) = split_head(&bytes);
        assert!(head.contains("Transfer-Encoding: chunked"), "{path}");
        assert!(!body.is_empty(), "{path}");
        assert!(!body.ends_with(b"0\r\n\r\n"), "{path}");
    }
}

#[test]
fn garbage_is_not_a_status_line() {
    let srv = faulty("garbage");
    let (bytes, end) = raw_get(&srv, "/bytes/10", usize::MAX);
    assert_eq!(end, End::Eof);
    assert!(!bytes.is_empty() && !bytes.starts_with(b"HTTP/"));
}

#[test]
fn huge_head_sends_a_two_mebibyte_header() {
    let srv = faulty("huge-head");
    let (bytes, end) = raw_get(&srv, "/bytes/10", usize::MAX);
    assert_eq!(end, End::Eof);
    let (head, body) = split_head(&bytes);
    assert!(head.len() > 2 * 1024 * 1024);
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"));
    assert_eq!(body.len(), 10);
}

#[test]
fn short_body_promises_more_than_it_sends() {
    let srv = faulty("short-body");
    let (bytes, end) = raw_get(&srv, "/bytes/100", usize::MAX);
    assert_eq!(end, End::Eof);
    let (head, body) = split_head(&bytes);
    assert!(content_length(&head) > body.len());
    assert_eq!(body.len(), 100);
}

#[test]
fn long_body_sends_more_than_it_promises() {
    let srv = faulty("long-body");
    for path in [
        "/bytes/100".to_string(),
        format!("/api/download/{}", srv.ids()[0]),
    ] {
        let (bytes, end) = raw_get(&srv, &path, usize::MAX);
        assert_eq!(end, End::Eof);
        let (head, body) = split_head(&bytes);
        assert!(body.len() > content_length(&head), "{path}");
    }
}

#[test]
fn endless_chunked_never_ends() {
    let srv = faulty("endless-chunked");
    let limit = 8 * 1024 * 1024;
    let (bytes, end) = raw_get(&srv, "/bytes/10", limit);
    assert_eq!(end, End::Limit);
    let (head, body) = split_head(&bytes);
    assert!(head.contains("Transfer-Encoding: chunked"));
    assert!(body.len() > limit / 2);
}

#[test]
fn redirect_loop_points_at_itself() {
    let srv = faulty("redirect-loop");
    let mut c = Client::open(srv.addr());
    for _ in 0..3 {
        let resp = c.get("/bytes/10?x=1");
        assert_eq!(resp.status, 302);
        assert_eq!(resp.header("Location"), Some("/bytes/10?x=1"));
    }
}

#[test]
fn the_same_seed_gives_the_same_faults_whatever_the_order() {
    let outcome = |order: &[usize]| {
        let srv = faulty("500:0.5");
        let mut c = Client::open(srv.addr());
        let mut statuses = vec![Vec::new(); 10];
        for &n in order {
            statuses[n].push(c.get(&format!("/bytes/{n}")).status);
        }
        statuses
    };
    let forward: Vec<usize> = (0..10).flat_map(|n| [n, n, n]).collect();
    let mut shuffled = forward.clone();
    shuffled.reverse();
    shuffled.rotate_left(7);
    let a = outcome(&forward);
    assert_eq!(a, outcome(&shuffled));
    let failures = a.iter().flatten().filter(|&&s| s == 500).count();
    assert!((3..=27).contains(&failures), "{failures} of 30 at rate 0.5");
}

#[test]
fn an_endless_stream_to_a_fast_reader_does_not_starve_other_clients() {
    let srv = faulty("endless-chunked=/bytes/");
    let addr = srv.addr();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut c = Client::open(addr);
            c.send("GET /bytes/1 HTTP/1.1\r\n\r\n");
            let mut chunk = vec![0u8; 1 << 20];
            let mut total = 0usize;
            // Bounded: at most ~10 GiB or until the main thread is done.
            while !stop.load(std::sync::atomic::Ordering::SeqCst) && total < 10 << 30 {
                match std::io::Read::read(&mut c.stream, &mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => total += n,
                }
            }
            total
        })
    };
    assert!(eventually(|| srv.stats().requests() == 1));
    let mut c = Client::open(addr);
    for _ in 0..5 {
        assert_eq!(c.post_form("/api/list_files", "start=0").status, 200);
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    assert!(reader.join().unwrap() > 0);
}
