//! The story of `--trace` end to end: twelve files from a small keep-alive server over
//! three sockets on the real reactor, the trace read back, and the timeline drawn with a
//! row per socket.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use miodl::app::run::{execute, prepare_get, GetTask, Stderr};
use miodl::model::options::TransferOptions;
use miodl::model::stop::Stop;
use miodl::report::timeline::render_svg;
use miodl::report::trace::{parse_trace, SpanPhase};

/// A keep-alive HTTP/1.1 server, a thread per connection: every GET answers its own
/// path as a Content-Length body after a short delay. Returns its port.
fn serve() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            thread::spawn(move || answer(stream));
        }
    });
    port
}

fn answer(stream: TcpStream) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut out = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        // Skip the headers: the client sends no body with a GET.
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            if line == "\r\n" {
                break;
            }
        }
        let path = request_line.split(' ').nth(1).unwrap_or("/").to_string();
        thread::sleep(Duration::from_millis(5));
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: text/plain\r\n\r\n{path}",
            path.len()
        );
        if out.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}

#[test]
fn a_traced_run_draws_one_row_per_socket() {
    let port = serve();
    let dir = tempfile::tempdir().unwrap();
    let trace_path = dir.path().join("run.json");
    let urls = (0..12)
        .map(|i| format!("http://127.0.0.1:{port}/files/{i}"))
        .collect();
    let args = GetTask {
        urls,
        input_files: Vec::new(),
        transfer: TransferOptions {
            output_dir: Some(dir.path().join("out")),
            trace: Some(trace_path.clone()),
            connections: Some(3),
            quiet: true,
            ..TransferOptions::default()
        },
    };
    let plan = prepare_get(args).unwrap();
    let report = execute(plan, &Stop::new(), Stderr::Silent).unwrap();
    assert_eq!(report.exit_code(), 0);
    assert_eq!(report.summary.ok, 12);

    let text = std::fs::read_to_string(&trace_path).expect("the trace was written");
    let root: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    assert_eq!(root["otherData"]["requests"], 12);
    assert_eq!(root["otherData"]["sockets_opened"], 3);

    let trace = parse_trace(&text).unwrap();
    let slots: Vec<usize> = trace.slots.iter().map(|s| s.slot).collect();
    assert_eq!(slots.len(), 3, "{slots:?}");
    let all = || trace.slots.iter().flat_map(|s| &s.spans);
    assert_eq!(all().filter(|s| s.phase == SpanPhase::Body).count(), 12);
    assert_eq!(all().filter(|s| s.phase == SpanPhase::Connect).count(), 3);
    assert!(all().all(|s| !s.is_page && s.url.is_some()));
    for slot in &trace.slots {
        for pair in slot.spans.windows(2) {
            assert!(pair[0].start_us + pair[0].dur_us <= pair[1].start_us);
        }
    }
    // Each file waited at least the server's 5 ms on its socket.
    let waits = all().filter(|s| s.phase == SpanPhase::Wait);
    assert!(waits.clone().count() == 12 && waits.clone().all(|s| s.dur_us >= 4_000));
    assert!(
        trace.wall_us >= 4 * 5_000,
        "12 files over 3 sockets: 4 rounds of 5 ms"
    );
    assert!(trace.wall_us <= report.elapsed.as_micros() as u64);

    let svg = render_svg(&trace, "12 files, -c 3");
    let rows = svg.matches("class=\"label\"").count();
    assert_eq!(rows, 3);
    for slot in &slots {
        assert!(svg.contains(&format!(">socket {slot}</text>")));
    }
    assert_eq!(svg.matches("class=\"bar ").count(), trace.span_count());
    std::fs::write(dir.path().join("run.svg"), &svg).unwrap();
    if let Ok(keep) = std::env::var("MIODL_KEEP_TRACE") {
        std::fs::copy(&trace_path, format!("{keep}.json")).unwrap();
        std::fs::write(format!("{keep}.svg"), &svg).unwrap();
    }
}

/// With no `--resolve`, a name is looked up: `localhost` (from /etc/hosts) shows as a
/// lookup on the trace's "dns" track, with its addresses, and as a "dns" row in the
/// timeline; the reactor looks a host up once, the threads engine before each connect.
#[test]
fn a_lookup_of_localhost_is_in_the_trace_and_on_the_timeline() {
    use miodl::model::options::Engine;
    let port = serve();
    for engine in [Engine::Reactor, Engine::Threads] {
        let dir = tempfile::tempdir().unwrap();
        let trace_path = dir.path().join("run.json");
        let urls = (0..6)
            .map(|i| format!("http://localhost:{port}/files/{i}"))
            .collect();
        let args = GetTask {
            urls,
            input_files: Vec::new(),
            transfer: TransferOptions {
                output_dir: Some(dir.path().join("out")),
                trace: Some(trace_path.clone()),
                connections: Some(2),
                // localhost may name ::1 too, where nothing listens: the next address.
                quiet: true,
                engine,
                ..TransferOptions::default()
            },
        };
        let plan = prepare_get(args).unwrap();
        let report = execute(plan, &Stop::new(), Stderr::Silent).unwrap();
        assert_eq!(report.summary.ok, 6, "{engine:?}");
        let text = std::fs::read_to_string(&trace_path).unwrap();
        let root: serde_json::Value = serde_json::from_str(&text).unwrap();
        let lookups = root["otherData"]["dns_lookups"].as_u64().unwrap();
        assert_eq!(lookups, report.summary.dns_lookups, "{engine:?}");
        let trace = parse_trace(&text).unwrap();
        assert_eq!(trace.lookups.len() as u64, lookups, "{engine:?}");
        match engine {
            Engine::Reactor => assert_eq!(lookups, 1, "once per host"),
            _ => assert!(lookups >= 1, "before each connect"),
        }
        for lookup in &trace.lookups {
            assert_eq!(lookup.host, "localhost");
            assert!(matches!(lookup.found, Ok(n) if n >= 1), "{lookup:?}");
            assert!(lookup.start_us + lookup.dur_us <= trace.wall_us);
        }
        // The reactor's jobs wait for the lookup before their connect starts; a
        // worker thread looks up inside its connect phase.
        let first_connect = (trace.slots.iter().flat_map(|s| &s.spans))
            .filter(|s| s.phase == SpanPhase::Connect)
            .map(|s| s.start_us)
            .min()
            .unwrap();
        let first = &trace.lookups[0];
        if engine == Engine::Reactor {
            assert!(first.start_us + first.dur_us <= first_connect, "{first:?}");
        }
        let svg = render_svg(&trace, "localhost");
        assert!(svg.contains(">dns</text>"), "a dns row");
        assert!(svg.contains("lookup localhost · "), "its bar");
    }
}
