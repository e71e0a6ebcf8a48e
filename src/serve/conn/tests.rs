//! The connection's deadlines, driven by hand over a loopback socket: what each is for.
//!
//! Layer: `serve`; may use `protocol`, `model`, `policy`, `output`, `transport`, `engine` and `report` (see `src/serve/mod.rs`).

use super::*;
use crate::serve::catalog::catalog;
use crate::serve::routes::Catalog;
use crate::serve::{ServeConfig, ServerStats};
use std::sync::Arc;

/// A server-side `ServerConn` and the client's end of its socket, over loopback.
fn pair() -> (ServerConn, std::net::TcpStream) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    server.set_nonblocking(true).unwrap();
    let conn = ServerConn::new(Transport::Plain(TcpStream::from_std(server)), 1);
    (conn, client)
}

/// Pumps until the connection has read and queued a request (loopback is quick).
fn progress_until_queued(conn: &mut ServerConn, ctx: &mut Context) {
    for _ in 0..1000 {
        assert_eq!(conn.progress(Instant::now(), ctx), Next::Keep);
        if !conn.queue.is_empty() {
            return;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    panic!("the request never arrived");
}

#[test]
fn each_deadline_says_what_it_is_for() {
    let lag = Duration::from_secs(10);
    let config = ServeConfig {
        lag,
        ..ServeConfig::default()
    };
    let stats = Arc::new(ServerStats::default());
    let mut ctx = Context::new(Catalog::new(catalog(3, 0)), config, stats);
    let (mut conn, mut client) = pair();
    assert_eq!(conn.deadline, None);
    client
        .write_all(b"GET /bytes/10 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .unwrap();
    let sent = Instant::now();
    progress_until_queued(&mut conn, &mut ctx);
    let lagged = conn.deadline.expect("a deadline");
    assert_eq!(lagged.purpose, Purpose::Lag);
    assert!(lagged.at >= sent + lag && lagged.at <= Instant::now() + lag);

    // At the lag's end the answer goes out, and its Connection: close starts the linger.
    let later = lagged.at + Duration::from_millis(1);
    assert_eq!(conn.progress(later, &mut ctx), Next::Keep);
    assert_eq!(
        conn.deadline,
        Some(Deadline::new(Purpose::Linger, later + LINGER))
    );
    let mut answer = Vec::new();
    client.read_to_end(&mut answer).unwrap();
    assert!(answer.starts_with(b"HTTP/1.1 200 OK\r\n"), "{answer:?}");

    // The client never closes: the linger's end closes.
    assert_eq!(conn.progress(later + LINGER / 2, &mut ctx), Next::Keep);
    assert_eq!(conn.progress(later + LINGER, &mut ctx), Next::Close);
}

#[test]
fn a_due_answer_the_socket_will_not_take_waits_for_writable_not_a_timer() {
    let stats = Arc::new(ServerStats::default());
    let mut ctx = Context::new(Catalog::new(catalog(3, 0)), ServeConfig::default(), stats);
    let (mut conn, mut client) = pair();
    // Far more than loopback's buffers hold, and the client reads none of it.
    client
        .write_all(b"GET /bytes/1000000000 HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    progress_until_queued(&mut conn, &mut ctx);
    for _ in 0..1000 {
        assert_eq!(conn.progress(Instant::now(), &mut ctx), Next::Keep);
        match conn.deadline {
            None => {
                assert_eq!(conn.queue.len(), 1, "still being written");
                return;
            }
            // The write budget ran out (1 MiB a call of `progress`) before the socket was full.
            Some(d) => assert!(matches!(d.purpose, Purpose::Pace | Purpose::Lag), "{d:?}"),
        }
    }
    panic!("the socket never filled");
}

#[test]
fn a_stalled_connection_throws_away_a_share_of_its_input_per_call() {
    let config = ServeConfig {
        faults: crate::serve::FaultPlan::parse("stall").unwrap(),
        ..ServeConfig::default()
    };
    let stats = Arc::new(ServerStats::default());
    let mut ctx = Context::new(Catalog::new(catalog(3, 0)), config, stats);
    let (mut conn, mut client) = pair();
    // Room for the whole flood on the server's side, so one call could read all of it.
    socket2::SockRef::from(conn.transport.socket())
        .set_recv_buffer_size(4 << 20)
        .unwrap();
    client
        .write_all(b"GET /bytes/10 HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    progress_until_queued(&mut conn, &mut ctx);
    assert_eq!(conn.progress(Instant::now(), &mut ctx), Next::Keep);
    assert_eq!(conn.state, State::Stalled);

    let flood = vec![b'x'; 1 << 20];
    client.write_all(&flood).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    let now = Instant::now();
    assert_eq!(conn.progress(now, &mut ctx), Next::Keep);
    // 1 MiB waits, 16 reads of 16 KiB were allowed: the rest is for the next turn.
    assert_eq!(conn.deadline, Some(Deadline::new(Purpose::Pace, now)));
    let mut calls = 1;
    while conn.deadline.is_some() && calls < 1000 {
        assert_eq!(conn.progress(Instant::now(), &mut ctx), Next::Keep);
        calls += 1;
    }
    assert!(calls >= 4, "1 MiB in {calls} calls of at most 256 KiB");
    assert_eq!(conn.deadline, None, "drained");
    // The FIN closes it.
    client.shutdown(std::net::Shutdown::Write).unwrap();
    let mut closed = false;
    for _ in 0..1000 {
        if conn.progress(Instant::now(), &mut ctx) == Next::Close {
            closed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(closed);
}
