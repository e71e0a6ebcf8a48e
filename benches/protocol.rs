//! Micro-benchmarks of the sans-IO protocol layer (`miodl::protocol::http`): no sockets, only bytes.
//!
//! What each group measures, and why it matters for a downloader of many small files:
//!
//! - `head_parse`: a response head through `ResponseHead::parse` (httparse plus the copy
//!   into an owned head) and through `Exchange::feed` (the same plus framing), beside
//!   httparse alone as the floor. Paid once
//!   per file; for 4 KiB files it is a visible share of the per-file cost.
//! - `dechunk`: `Dechunker` throughput on 1 MiB of chunked body, in 16 KiB and 1 KiB chunks.
//! - `encode`: one GET head with `Host` and `User-Agent` into a reused buffer.
//! - `exchange`: a whole answer (nginx-like head + 4 KiB body) through `Exchange::feed`,
//!   as the reactor does it for one small file.
//!
//! Run: `cargo bench --bench protocol`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use miodl::protocol::http::{
    encode, Dechunker, Exchange, Limits, Method, Part, Request, ResponseHead,
};

/// A head as nginx 1.2x sends it for a static file (about 240 bytes).
const NGINX_HEAD: &[u8] = b"HTTP/1.1 200 OK\r\n\
Server: nginx/1.26.3\r\n\
Date: Mon, 04 May 2026 10:00:00 GMT\r\n\
Content-Type: application/octet-stream\r\n\
Content-Length: 4096\r\n\
Last-Modified: Mon, 04 May 2026 09:59:00 GMT\r\n\
Connection: keep-alive\r\n\
ETag: \"6818b5e4-1000\"\r\n\
Accept-Ranges: bytes\r\n\
\r\n";

/// A head with 20 header fields, as a CDN or an application server might send.
fn twenty_header_head() -> Vec<u8> {
    let mut head = b"HTTP/1.1 200 OK\r\n".to_vec();
    let fields = [
        ("Server", "nginx/1.26.3"),
        ("Date", "Mon, 04 May 2026 10:00:00 GMT"),
        ("Content-Type", "text/plain; charset=UTF-8"),
        ("Content-Length", "4096"),
        ("Last-Modified", "Mon, 04 May 2026 09:59:00 GMT"),
        ("Connection", "keep-alive"),
        ("ETag", "\"6818b5e4-1000\""),
        ("Accept-Ranges", "bytes"),
        ("Cache-Control", "public, max-age=3600"),
        ("Vary", "Accept-Encoding"),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("X-Request-Id", "0f8e2c3a-6b1d-4c6e-9a57-3f0e2b1d4c6e"),
        ("Strict-Transport-Security", "max-age=63072000"),
        ("Content-Disposition", "attachment; filename=file.txt"),
        ("Access-Control-Allow-Origin", "*"),
        ("Age", "12"),
        ("Via", "1.1 varnish"),
        ("X-Cache", "HIT"),
        ("More", "True"),
    ];
    for (name, value) in fields {
        head.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    head.extend_from_slice(b"\r\n");
    head
}

/// Runs one whole answer through a fresh exchange; returns the body bytes seen.
fn run_exchange(input: &[u8]) -> usize {
    let mut exchange = Exchange::new(Method::Get, true, Limits::default());
    let mut pos = 0;
    let mut body = 0;
    loop {
        let (used, event) = exchange.feed(&input[pos..]).expect("valid answer");
        pos += used;
        match event {
            Some(Part::Head(head)) => {
                black_box(&head);
            }
            Some(Part::Body(bytes)) => body += bytes.len(),
            Some(Part::End { .. }) => return body,
            None if used == 0 => panic!("answer incomplete"),
            None => {}
        }
    }
}

fn head_parse(c: &mut Criterion) {
    let limits = Limits::default();
    let twenty = twenty_header_head();
    let mut group = c.benchmark_group("head_parse");
    group.throughput(Throughput::Elements(1));
    for (name, head) in [("nginx_9_headers", NGINX_HEAD), ("20_headers", &twenty[..])] {
        // The floor: httparse alone, 32 header slots on the stack, nothing copied.
        group.bench_function(format!("httparse_baseline/{name}"), |b| {
            b.iter(|| {
                let mut slots = [httparse::EMPTY_HEADER; 32];
                let mut response = httparse::Response::new(&mut slots);
                let status = response.parse(black_box(head)).unwrap();
                black_box((status, response.code))
            })
        });
        group.bench_function(format!("ResponseHead::parse/{name}"), |b| {
            b.iter(|| {
                let parsed = ResponseHead::parse(black_box(head), &limits).unwrap();
                black_box(parsed)
            })
        });
        group.bench_function(format!("Exchange::feed/{name}"), |b| {
            b.iter(|| {
                let mut exchange = Exchange::new(Method::Get, true, Limits::default());
                let (used, event) = exchange.feed(black_box(head)).unwrap();
                black_box((used, event.is_some()))
            })
        });
    }
    group.finish();
}

/// 1 MiB of pattern bytes framed as chunks of `chunk` bytes, plus the last chunk.
fn chunked_body(total: usize, chunk: usize) -> Vec<u8> {
    let data: Vec<u8> = (0..total).map(|i| (i % 251) as u8).collect();
    let mut out = Vec::with_capacity(total + total / chunk * 12 + 8);
    for piece in data.chunks(chunk) {
        out.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        out.extend_from_slice(piece);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

fn dechunk(c: &mut Criterion) {
    const TOTAL: usize = 1 << 20;
    let mut group = c.benchmark_group("dechunk");
    group.throughput(Throughput::Bytes(TOTAL as u64));
    for (name, chunk) in [
        ("1MiB_in_16KiB_chunks", 16 << 10),
        ("1MiB_in_1KiB_chunks", 1 << 10),
    ] {
        let body = chunked_body(TOTAL, chunk);
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut decoder = Dechunker::new();
                let mut input = black_box(&body[..]);
                let mut data = 0;
                while !decoder.is_ended() {
                    let (used, piece) = decoder.decode(input).unwrap();
                    if let Some(piece) = piece {
                        data += piece.len();
                        black_box(piece);
                    }
                    input = &input[used..];
                }
                assert_eq!(data, TOTAL);
                data
            })
        });
    }
    group.finish();
}

fn request_encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode");
    group.throughput(Throughput::Elements(1));
    let request = Request {
        method: Method::Get,
        target: "/data/small/000123.bin",
        host: "127.0.0.1:8080",
        keep_alive: true,
        authorization: None,
        form_body: None,
        custom: None,
        trusted: false,
        absolute: false,
        proxy_authorization: None,
        range: None,
    };
    let mut out = Vec::with_capacity(256);
    group.bench_function("GET_host_user_agent", |b| {
        b.iter(|| {
            out.clear();
            encode(black_box(&request), &mut out).unwrap();
            black_box(out.len())
        })
    });
    group.finish();
}

fn whole_exchange(c: &mut Criterion) {
    let mut answer = NGINX_HEAD.to_vec();
    answer.extend((0..4096).map(|i| (i % 251) as u8));
    let mut chunked = std::str::from_utf8(NGINX_HEAD)
        .unwrap()
        .replace("Content-Length: 4096", "Transfer-Encoding: chunked")
        .into_bytes();
    chunked.extend_from_slice(&chunked_body(4096, 4096));

    let mut group = c.benchmark_group("exchange");
    group.throughput(Throughput::Elements(1));
    group.bench_function("head_plus_4KiB_content_length", |b| {
        b.iter(|| assert_eq!(run_exchange(black_box(&answer)), 4096))
    });
    group.bench_function("head_plus_4KiB_chunked", |b| {
        b.iter(|| assert_eq!(run_exchange(black_box(&chunked)), 4096))
    });
    group.finish();
}

/// Short runs: these are nanosecond-scale loops, a few seconds each is plenty.
fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(std::time::Duration::from_secs(1))
        .measurement_time(std::time::Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = head_parse, dechunk, request_encode, whole_exchange
}
criterion_main!(benches);
