//! A loopback round trip through the real reactor: `miodl get -q -c 16` of 1000 URLs
//! (4 KiB each) from an in-process keep-alive server, through the same
//! `run::prepare_get` + `run::execute` path the command line takes.
//!
//! The time per element is the whole cost of one small file as a user sees it: request
//! encoding, the mio loop, the exchange, the temporary file, the rename. The server
//! (benches/common) is a minimal mio loop on its own thread, so both cores are busy.
//! Output goes to a fresh directory on tmpfs per iteration; creating and removing it is
//! not timed.
//!
//! Run: `cargo bench --bench reactor`.

mod common;

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use miodl::app::run::{execute, prepare_get, Stderr};
use miodl::model::stop::Stop;

use common::{get_args, scratch_dir, BenchServer, BODY_BYTES};

/// Files per iteration.
const FILES: usize = 1000;
/// `-c`: the connector limit.
const CONNECTIONS: usize = 16;

fn loopback_get(c: &mut Criterion) {
    let server = BenchServer::start().expect("bench server");
    let urls = server.urls(FILES);
    let stop = Stop::new();

    // One checked run first: every file saved, whole, before anything is timed.
    let dir = scratch_dir();
    let plan = prepare_get(get_args(
        urls.clone(),
        dir.path().to_path_buf(),
        CONNECTIONS,
    ));
    let report = execute(plan.expect("plan"), &stop, Stderr::Silent).expect("run");
    assert_eq!(report.exit_code(), 0, "the checked run failed");
    assert_eq!(report.summary.ok as usize, FILES);
    let sizes: Vec<u64> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .collect();
    assert_eq!(sizes.len(), FILES, "one file per URL, no temporaries left");
    assert!(sizes.iter().all(|&len| len == BODY_BYTES as u64));
    drop(dir);

    let mut group = c.benchmark_group("reactor");
    group.throughput(Throughput::Elements(FILES as u64));
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(2));
    group.measurement_time(Duration::from_secs(10));
    group.bench_function(format!("get_{FILES}x4KiB_c{CONNECTIONS}"), |b| {
        b.iter_batched(
            || {
                let dir = scratch_dir();
                let args = get_args(urls.clone(), dir.path().to_path_buf(), CONNECTIONS);
                (dir, args)
            },
            |(dir, args)| {
                let plan = prepare_get(args).expect("plan");
                let report = execute(plan, &stop, Stderr::Silent).expect("run");
                assert_eq!(report.summary.ok as usize, FILES);
                // Returned, so the directory is removed after the clock stops.
                (dir, report)
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, loopback_get);
criterion_main!(benches);
