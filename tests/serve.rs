//! The reference server, checked over real loopback sockets with a plain std::net client.

mod support;

use std::collections::HashSet;
use std::io::Write;
use std::time::{Duration, Instant};

use miodl::serve::pattern_byte;
use support::client::{split_head, Client, End, Response};
use support::{eventually, reference, ServerHandle};

fn server(files: usize, lag: Duration) -> ServerHandle {
    reference().files(files).lag(lag).seed(42).start()
}

fn urls(resp: &Response) -> Vec<String> {
    let json: serde_json::Value = serde_json::from_slice(&resp.body).expect("json body");
    serde_json::from_value(json["urls"].clone()).expect("urls array")
}

#[test]
fn pages_follow_start_and_per_page_with_default_3_and_cap_5() {
    let srv = server(7, Duration::ZERO);
    let ids = srv.ids().to_vec();
    let mut c = Client::open(srv.addr());

    let first = c.post_form("/api/list_files", "start=0");
    assert_eq!(first.status, 200);
    assert_eq!(urls(&first), ids[0..3]);
    assert_eq!(first.header("More"), Some("True"));

    let capped = c.post_form("/api/list_files", "start=3&per_page=10");
    assert_eq!(urls(&capped), ids[3..7]);
    assert_eq!(capped.header("more"), Some("False"));

    let exact = c.post_form("/api/list_files", "start=0&per_page=5");
    assert_eq!(urls(&exact), ids[0..5]);
    assert_eq!(exact.header("More"), Some("True"));

    let last = c.post_form("/api/list_files", "per_page=2&start=5");
    assert_eq!(urls(&last), ids[5..7]);
    assert_eq!(last.header("More"), Some("False"));

    let beyond = c.post_form("/api/list_files", "start=100");
    assert!(urls(&beyond).is_empty());
    assert_eq!(beyond.header("More"), Some("False"));

    assert_eq!(c.post_form("/api/list_files", "start=x").status, 400);
    assert_eq!(c.post_form("/api/list_files", "per_page=0").status, 400);
}

#[test]
fn the_full_listing_maps_every_id_to_its_index() {
    let srv = server(4, Duration::ZERO);
    let resp = Client::open(srv.addr()).get("/api/list_files");
    let json: serde_json::Value = serde_json::from_slice(&resp.body).unwrap();
    let data = json["data"].as_array().unwrap();
    assert_eq!(data.len(), 4);
    for (n, id) in srv.ids().iter().enumerate() {
        assert_eq!(data[n][id], n);
    }
}

#[test]
fn downloads_say_n_of_total_and_unknown_ids_are_404() {
    let srv = server(3, Duration::ZERO);
    let mut c = Client::open(srv.addr());
    for (n, id) in srv.ids().iter().enumerate() {
        let resp = c.get(&format!("/api/download/{id}"));
        assert_eq!(resp.status, 200);
        assert_eq!(resp.text(), format!("{} of 3", n + 1));
        assert_eq!(
            resp.header("Content-Type"),
            Some("text/plain; charset=UTF-8")
        );
        let disposition = format!("attachment; filename={id}.txt");
        assert_eq!(
            resp.header("Content-Disposition"),
            Some(disposition.as_str())
        );
    }
    assert_eq!(
        c.get("/api/download/0123456789abcdef0123456789abcdef")
            .status,
        404
    );
    assert_eq!(c.get("/nowhere").status, 404);
    let stats = srv.stats();
    assert_eq!(
        stats.path_count(&format!("/api/download/{}", srv.ids()[1])),
        1
    );
    assert_eq!(
        stats.connections_accepted(),
        1,
        "all on one keep-alive socket"
    );
}

#[test]
fn the_seed_reproduces_the_ids() {
    let a = server(5, Duration::ZERO);
    let b = server(5, Duration::ZERO);
    assert_eq!(a.ids(), b.ids());
    assert_eq!(a.ids(), miodl::serve::catalog(5, 42));
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let srv = server(5, Duration::from_millis(20));
    let ids = srv.ids().to_vec();
    let mut c = Client::open(srv.addr());
    let batch: String = (ids.iter().rev())
        .map(|id| format!("GET /api/download/{id} HTTP/1.1\r\nHost: t\r\n\r\n"))
        .collect();
    c.send(&batch);
    for n in (1..=5).rev() {
        assert_eq!(c.read_response().text(), format!("{n} of 5"));
    }
    assert_eq!(srv.stats().requests(), 5);
}

#[test]
fn connection_close_and_http10_end_the_connection() {
    let srv = server(2, Duration::ZERO);
    let id = srv.ids()[0].clone();

    let mut c = Client::open(srv.addr());
    c.send(&format!("GET /api/download/{id} HTTP/1.1\r\nConnection: close\r\n\r\nGET /api/download/{id} HTTP/1.1\r\n\r\n"));
    let resp = c.read_response();
    assert_eq!(resp.header("Connection"), Some("close"));
    assert_eq!(
        c.read_raw(usize::MAX),
        (Vec::new(), End::Eof),
        "nothing after a close"
    );

    let mut c = Client::open(srv.addr());
    c.send(&format!("GET /api/download/{id} HTTP/1.0\r\n\r\n"));
    assert_eq!(c.read_response().text(), "1 of 2");
    assert_eq!(c.read_raw(usize::MAX).1, End::Eof);

    let mut c = Client::open(srv.addr());
    c.send(&format!(
        "GET /api/download/{id} HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
    ));
    let resp = c.read_response();
    assert_eq!(resp.header("Connection"), Some("keep-alive"));
    c.send(&format!("GET /api/download/{id} HTTP/1.0\r\n\r\n"));
    assert_eq!(c.read_response().text(), "1 of 2");
}

#[test]
fn a_malformed_request_gets_400_then_close() {
    let srv = server(1, Duration::ZERO);
    let mut c = Client::open(srv.addr());
    c.send("THIS IS NOT HTTP\r\n\r\n");
    let resp = c.read_response();
    assert_eq!(resp.status, 400);
    assert_eq!(c.read_raw(usize::MAX).1, End::Eof);
}

#[test]
fn a_client_that_half_closes_still_gets_its_answers() {
    let srv = server(2, Duration::from_millis(50));
    let mut c = Client::open(srv.addr());
    c.send("GET /bytes/10 HTTP/1.1\r\n\r\nGET /bytes/20 HTTP/1.1\r\n\r\n");
    c.stream.shutdown(std::net::Shutdown::Write).unwrap();
    assert_eq!(c.read_response().body.len(), 10);
    assert_eq!(c.read_response().body.len(), 20);
    assert_eq!(c.read_raw(usize::MAX).1, End::Eof);
}

#[test]
fn every_response_waits_out_the_lag() {
    let lag = Duration::from_millis(150);
    let srv = server(2, lag);
    let mut c = Client::open(srv.addr());
    for path in ["/api/list_files", "/bytes/3", "/nowhere"] {
        let start = Instant::now();
        c.get(path);
        assert!(start.elapsed() >= lag, "{path} came back early");
    }
    let start = Instant::now();
    c.post_form("/api/list_files", "start=0");
    assert!(start.elapsed() >= lag);
}

#[test]
fn bytes_and_chunked_serve_the_pattern() {
    let srv = server(1, Duration::ZERO);
    let mut c = Client::open(srv.addr());
    for path in ["/bytes", "/chunked"] {
        for n in [0usize, 1, 16_383, 16_384, 16_385, 3_000_000] {
            let resp = c.get(&format!("{path}/{n}"));
            assert_eq!(resp.status, 200);
            assert_eq!(resp.body.len(), n, "{path}/{n}");
            assert!(
                resp.body
                    .iter()
                    .enumerate()
                    .all(|(i, &b)| b == pattern_byte(i as u64)),
                "{path}/{n}"
            );
            if path == "/bytes" {
                assert_eq!(resp.header("Content-Length"), Some(n.to_string().as_str()));
            } else {
                assert_eq!(resp.header("Transfer-Encoding"), Some("chunked"));
            }
        }
    }
    assert_eq!(c.get("/bytes/lots").status, 404);
}

#[test]
fn a_slow_reader_of_a_big_body_gets_every_byte() {
    let srv = server(1, Duration::ZERO);
    let mut c = Client::open(srv.addr());
    c.stream.set_nodelay(true).unwrap();
    c.send("GET /bytes/5000000 HTTP/1.1\r\n\r\n");
    std::thread::sleep(Duration::from_millis(100)); // let the server fill the socket buffers
    let resp = c.read_response();
    assert_eq!(resp.body.len(), 5_000_000);
    assert!(resp
        .body
        .iter()
        .enumerate()
        .all(|(i, &b)| b == pattern_byte(i as u64)));
}

#[test]
fn stats_count_connections_and_requests_in_flight() {
    let srv = server(3, Duration::from_millis(300));
    let stats = srv.stats();
    let mut clients: Vec<Client> = (0..10).map(|_| Client::open(srv.addr())).collect();
    for c in &mut clients {
        c.send("GET /bytes/1 HTTP/1.1\r\n\r\n");
    }
    assert!(
        eventually(|| stats.in_flight_requests() == 10),
        "10 requests waiting in the lag"
    );
    assert_eq!(stats.open_connections(), 10);
    for c in &mut clients {
        assert_eq!(c.read_response().status, 200);
    }
    assert!(eventually(|| stats.in_flight_requests() == 0));
    drop(clients);
    assert!(eventually(|| stats.open_connections() == 0));
    assert_eq!(stats.max_open_connections(), 10);
    assert_eq!(stats.max_in_flight_requests(), 10);
    assert_eq!(stats.connections_accepted(), 10);
    assert_eq!(stats.requests(), 10);
    assert_eq!(stats.path_count("/bytes/1"), 10);
}

/// The soft limit on open files, so the big test fits where it runs (two fds a socket).
fn open_file_limit() -> usize {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    (limits.lines())
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|n| n.parse().ok())
        .unwrap_or(1024)
}

#[test]
fn a_thousand_lagged_requests_are_held_at_once_on_one_thread() {
    let wanted = 1000.min(open_file_limit().saturating_sub(200) / 2);
    let lag = Duration::from_millis(500);
    let srv = server(wanted, lag);
    let stats = srv.stats();
    let ids = srv.ids().to_vec();
    let start = Instant::now();
    let mut clients: Vec<Client> = Vec::with_capacity(wanted);
    for id in &ids {
        let mut c = Client::open(srv.addr());
        c.send(&format!("GET /api/download/{id} HTTP/1.1\r\n\r\n"));
        clients.push(c);
    }
    let mut seen = HashSet::new();
    for c in &mut clients {
        let resp = c.read_response();
        assert_eq!(resp.status, 200);
        assert!(seen.insert(resp.text()));
    }
    assert!(start.elapsed() >= lag);
    assert_eq!(seen.len(), wanted);
    assert_eq!(stats.requests(), wanted as u64);
    // All were parsed before the first lag ran out only if the client was quick enough;
    // what must hold is that many were held at once, not one after another.
    assert!(
        stats.max_in_flight_requests() > (wanted as u64) / 2,
        "{}",
        stats.max_in_flight_requests()
    );
    assert_eq!(stats.max_open_connections(), wanted as u64);
}

#[test]
fn shutdown_stops_the_server_and_closes_its_sockets() {
    let srv = server(1, Duration::from_secs(60));
    let addr = srv.addr();
    let mut c = Client::open(addr);
    c.send("GET /bytes/1 HTTP/1.1\r\n\r\n");
    let stats = srv.stats();
    assert!(eventually(|| stats.in_flight_requests() == 1));
    srv.shutdown().expect("clean stop");
    let (_, end) = c.read_raw(usize::MAX);
    assert!(matches!(end, End::Eof | End::Reset), "{end:?}");
    assert_eq!(stats.open_connections(), 0);
    assert_eq!(stats.in_flight_requests(), 0);
}

#[test]
fn an_oversized_head_is_refused() {
    let srv = server(1, Duration::ZERO);
    let mut c = Client::open(srv.addr());
    let head = format!("GET / HTTP/1.1\r\nX-Big: {}\r\n\r\n", "a".repeat(40_000));
    // The server may answer and close before it has read all of this.
    let _ = c.stream.write_all(head.as_bytes());
    let (raw, _) = c.read_raw(usize::MAX);
    let (status_head, _) = split_head(&raw);
    assert!(status_head.starts_with("HTTP/1.1 431 "), "{status_head}");
}
