//! `miodl demo`: the seed's comparison, run and explained in one table.
//!
//! The demo starts the reference server in this process, on a free loopback port, and
//! crawls it once per row: each engine, and the reactor under each way of limiting
//! concurrency, then under each request rate (`--rate`, `--per-host-rate`: the knob
//! that counts requests per second, not at once). Every run is verified, and printed
//! next to the lower bound a perfect client could reach with the same limits (`bound`),
//! so the table answers the seed's question in one look: what each strategy costs in
//! time, requests and sockets.
//!
//! Layer: `app`; may use `protocol`, `model`, `policy`, `output`, `transport`, `engine`, `report` and `serve` (see `src/app/mod.rs`).

mod bound;

use std::io::{self, Write};
use std::path::PathBuf;
use std::time::Duration;

use serde_json::json;

use crate::app::run::CrawlOptions;
use crate::app::run::{execute, prepare_crawl, CrawlTask, Report, Stderr};
use crate::model::options::{Engine, Rate, TransferOptions};
use crate::model::stop::Stop;
use crate::serve::{self, ServeConfig};
use bound::{lower_bound, Shape};

/// The reference server caps pages at this many ids.
const SERVER_PAGE_CAP: u64 = 5;

/// How `miodl demo` runs: the size of the list, the server's lag, and what it prints.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoOptions {
    /// Ids the reference server lists (at least 1; `--files`).
    pub files: usize,
    /// The server's answer time for every request (`--lag`).
    pub lag: Duration,
    /// No progress display for the rows' runs (`-q`).
    pub quiet: bool,
    /// One JSON array on stdout instead of the table (`--json`).
    pub json: bool,
    /// The same comparison over HTTPS, with a handshakes column (`--tls`).
    pub tls: bool,
}

/// One configuration of the comparison.
#[derive(Debug, Clone)]
struct Row {
    /// The engine.
    engine: Engine,
    /// What the row shows, for the table.
    strategy: &'static str,
    /// `-c`.
    connections: Option<usize>,
    /// `--max-in-flight`.
    max_in_flight: Option<usize>,
    /// Keep-alive on.
    keep_alive: bool,
    /// `--lookahead`.
    lookahead: u32,
    /// `--rate`.
    rate: Option<Rate>,
    /// `--per-host-rate` (the demo's server is one host: it binds as `--rate` would).
    per_host_rate: Option<Rate>,
}

/// `count` requests a second.
const fn per_second(count: u32) -> Rate {
    Rate {
        count,
        per: Duration::from_secs(1),
    }
}

/// The rows of the demo, in the order they run.
fn rows() -> Vec<Row> {
    let row = |engine, strategy, connections| Row {
        engine,
        strategy,
        connections: Some(connections),
        max_in_flight: None,
        keep_alive: true,
        lookahead: 0,
        rate: None,
        per_host_rate: None,
    };
    let reactor = |strategy, connections| row(Engine::Reactor, strategy, connections);
    vec![
        row(
            Engine::Blocking,
            "one request at a time (seed: requests)",
            1,
        ),
        row(Engine::Threads, "20 worker threads (seed: executor)", 20),
        reactor("connector -c 100 (aiohttp's default)", 100),
        Row {
            max_in_flight: Some(5),
            ..reactor("semaphore --max-in-flight 5, -c 100", 100)
        },
        reactor("connector -c 5", 5),
        Row {
            keep_alive: false,
            ..reactor("connector -c 5 --no-keepalive", 5)
        },
        Row {
            lookahead: 8,
            ..reactor("-c 100 --lookahead 8", 100)
        },
        Row {
            rate: Some(per_second(10)),
            ..reactor("--rate 10/s, -c 100", 100)
        },
        Row {
            per_host_rate: Some(per_second(20)),
            lookahead: 8,
            ..reactor("--per-host-rate 20/s, -c 100 --lookahead 8", 100)
        },
    ]
}

/// The rate a row's requests are paced by: the slower of `--rate` and
/// `--per-host-rate` (the demo's server is one host), if either is set.
fn pacing(row: &Row) -> Option<Duration> {
    [row.rate, row.per_host_rate]
        .into_iter()
        .flatten()
        .map(|rate| rate.interval())
        .max()
}

/// A finished row.
struct Outcome {
    row: Row,
    report: Report,
    verified: String,
    verified_ok: bool,
    bound: Duration,
    bound_requests: u64,
}

/// Runs the demo; the exit status is 0 when every run verified.
pub fn run_command(args: &DemoOptions) -> i32 {
    match run_demo(args) {
        Ok(true) => 0,
        Ok(false) => 1,
        Err(e) => {
            eprintln!("miodl demo: {e}");
            1
        }
    }
}

fn run_demo(args: &DemoOptions) -> io::Result<bool> {
    let scratch = std::env::temp_dir().join(format!("miodl-demo-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)?;
    #[allow(unused_mut)]
    let mut config = ServeConfig {
        port: 0,
        files: args.files,
        lag: args.lag,
        ..ServeConfig::default()
    };
    // Over HTTPS the client trusts the server's fresh certificate through --cacert.
    #[allow(unused_mut)]
    let mut cacert = None;
    #[cfg(feature = "tls")]
    if args.tls {
        let cert = crate::transport::tls::SelfSigned::generate(&["127.0.0.1", "localhost"])
            .map_err(io::Error::other)?;
        let path = scratch.join("server-certificate.pem");
        std::fs::write(&path, &cert.cert_pem)?;
        cacert = Some(path);
        config.tls = Some(cert);
    }
    let server = serve::spawn(config)?;
    let list_url = format!("{}/api/list_files", server.base_url());
    let stop = Stop::new();
    stop.install_signal_handlers()?;
    if !args.json {
        println!(
            "miodl demo: crawling {} ids at {:.2} s lag from the reference server at {}\n",
            args.files,
            args.lag.as_secs_f64(),
            server.base_url()
        );
        print_header(args.tls);
    }
    let mut outcomes = Vec::new();
    for (index, row) in rows().into_iter().enumerate() {
        let dir = scratch.join(format!("row{index}"));
        let outcome = run_row(row, &list_url, dir, cacert.clone(), args, &stop)?;
        if !args.json {
            print_row(&outcome, args.tls);
        }
        outcomes.push(outcome);
        if stop.requested().is_some() {
            break;
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
    if args.json {
        print_json(&outcomes);
    } else {
        print_notes(&outcomes);
    }
    Ok(outcomes.iter().all(|o| o.verified_ok) && stop.requested().is_none())
}

fn run_row(
    row: Row,
    list_url: &str,
    dir: PathBuf,
    cacert: Option<PathBuf>,
    args: &DemoOptions,
    stop: &Stop,
) -> io::Result<Outcome> {
    let transfer = TransferOptions {
        output_dir: Some(dir.clone()),
        connections: row.connections,
        max_in_flight: row.max_in_flight,
        rate: row.rate,
        per_host_rate: row.per_host_rate,
        keep_alive: row.keep_alive,
        engine: row.engine,
        cacert,
        quiet: true,
        ..TransferOptions::default()
    };
    let mut crawl = CrawlOptions::new(list_url);
    crawl.lookahead = row.lookahead;
    let per_page = u64::from(crawl.per_page).min(SERVER_PAGE_CAP);
    let plan = prepare_crawl(CrawlTask { crawl, transfer }).map_err(io::Error::other)?;
    let report = execute(
        plan,
        stop,
        if args.quiet {
            Stderr::Silent
        } else {
            Stderr::Console
        },
    )
    .map_err(io::Error::other)?;
    let (verified, verified_ok) = match crate::app::verify::verify(&dir) {
        Ok(v) if v.is_ok() => (v.to_string(), true),
        Ok(v) => (
            v.to_string().lines().next().unwrap_or("").to_string(),
            false,
        ),
        Err(e) => (e.to_string(), false),
    };
    let slots = row
        .connections
        .unwrap_or(usize::MAX)
        .min(row.max_in_flight.unwrap_or(usize::MAX)) as u64;
    let (bound, bound_requests) = lower_bound(Shape {
        files: args.files as u64,
        per_page,
        lookahead: u64::from(row.lookahead),
        slots,
        lag: args.lag,
        pace: pacing(&row),
    });
    Ok(Outcome {
        row,
        report,
        verified,
        verified_ok,
        bound,
        bound_requests,
    })
}

fn print_header(tls: bool) {
    let handshakes = if tls { "        handshakes" } else { "" };
    println!(
        "{:<9} {:<44} {:>8} {:>8} {:>9} {:>8} {:>7}{handshakes}  verify",
        "engine", "strategy", "wall", "bound", "requests", "sockets", "reused"
    );
    println!("{}", "-".repeat(if tls { 130 } else { 112 }));
}

fn print_row(o: &Outcome, tls: bool) {
    let s = &o.report.summary;
    let handshakes = if tls {
        let shown = format!("{} ({} resumed)", s.tls_handshakes, s.tls_resumed);
        format!("  {shown:>16}")
    } else {
        String::new()
    };
    println!(
        "{:<9} {:<44} {:>6.2} s {:>6.2} s {:>9} {:>8} {:>7}{handshakes}  {}",
        o.row.engine.name(),
        o.row.strategy,
        o.report.elapsed.as_secs_f64(),
        o.bound.as_secs_f64(),
        s.requests,
        s.connections_opened,
        s.connections_reused,
        o.verified
    );
    let _ = io::stdout().flush();
}

fn print_notes(outcomes: &[Outcome]) {
    let extra: Vec<String> = outcomes
        .iter()
        .filter(|o| o.report.summary.requests > o.bound_requests)
        .map(|o| {
            format!(
                "{} made {} requests where a perfect client makes {} ({} pages asked beyond the end)",
                o.row.strategy,
                o.report.summary.requests,
                o.bound_requests,
                o.report.extra_pages.unwrap_or(0)
            )
        })
        .collect();
    println!();
    println!("bound: a perfect client with the same limits, every request taking exactly the lag");
    println!("       (with a rate: and no two requests closer than its interval).");
    println!("sockets: connections opened; reused: requests sent on an already open socket.");
    for line in extra {
        println!("note: {line}");
    }
    println!("why the rows differ: docs/tradeoff.md");
}

fn print_json(outcomes: &[Outcome]) {
    let rows: Vec<_> = outcomes
        .iter()
        .map(|o| {
            let s = &o.report.summary;
            json!({
                "engine": o.row.engine.name(),
                "strategy": o.row.strategy,
                "connections": o.row.connections,
                "max_in_flight": o.row.max_in_flight,
                "keep_alive": o.row.keep_alive,
                "lookahead": o.row.lookahead,
                "rate": o.row.rate.map(|r| format!("{}/s", r.count)),
                "per_host_rate": o.row.per_host_rate.map(|r| format!("{}/s", r.count)),
                "elapsed_s": o.report.elapsed.as_secs_f64(),
                "bound_s": o.bound.as_secs_f64(),
                "requests": s.requests,
                "bound_requests": o.bound_requests,
                "connections_opened": s.connections_opened,
                "connections_reused": s.connections_reused,
                "tls_handshakes": s.tls_handshakes,
                "tls_resumed": s.tls_resumed,
                "extra_pages": o.report.extra_pages,
                "verify": o.verified,
                "verified": o.verified_ok,
            })
        })
        .collect();
    println!("{}", serde_json::Value::Array(rows));
}
