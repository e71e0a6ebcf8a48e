//! Heap allocations per downloaded file, counted by a global allocator.
//!
//! Not a timing benchmark: it runs `miodl get -q -c 16` through the library
//! (`run::prepare_get` + `run::execute`, the reactor engine) against the in-process
//! server of benches/common, once for 1000 and once for 2000 URLs of 4 KiB, and prints
//! the allocations of each run and the difference per file. The difference is the
//! marginal cost of one more file, free of the fixed costs of a run (the reactor's read
//! buffer, the pool, the first connections).
//!
//! Only allocations made on the calling thread are counted: the reactor is that thread,
//! the server has its own. The protocol layer alone (`Exchange::feed` of one answer, the
//! same with the buffer of the head before reused as the engines do, `http::encode` into a
//! reused buffer) is counted too, to show where the per-file allocations are not.
//!
//! Run: `cargo bench --bench allocations`.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use miodl::app::run::{execute, prepare_get, Stderr};
use miodl::model::stop::Stop;
use miodl::protocol::http::{encode, Exchange, Limits, Method, Part, Request};

use common::{get_args, scratch_dir, BenchServer};

/// The system allocator, counting the calls made on threads that asked to be counted.
struct Counting;

thread_local! {
    // Const-initialized and without `Drop`: touching it never allocates.
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
    static REALLOCS: Cell<u64> = const { Cell::new(0) };
    static BYTES: Cell<u64> = const { Cell::new(0) };
}

fn note(count: &'static std::thread::LocalKey<Cell<u64>>, bytes: usize) {
    if COUNTING.with(Cell::get) {
        count.with(|c| c.set(c.get() + 1));
        BYTES.with(|b| b.set(b.get() + bytes as u64));
    }
}

// SAFETY: every call is passed unchanged to `System`; the counters are thread-local
// `Cell`s that never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(&ALLOCS, layout.size());
        System.alloc(layout)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(&ALLOCS, layout.size());
        System.alloc_zeroed(layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(&REALLOCS, new_size);
        System.realloc(ptr, layout, new_size)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// What `f` allocated on this thread: (allocations, reallocations, bytes asked for).
fn counted<T>(f: impl FnOnce() -> T) -> (T, Counts) {
    let read = || Counts {
        allocs: ALLOCS.with(Cell::get),
        reallocs: REALLOCS.with(Cell::get),
        bytes: BYTES.with(Cell::get),
    };
    let before = read();
    COUNTING.with(|c| c.set(true));
    let out = f();
    COUNTING.with(|c| c.set(false));
    let after = read();
    let counts = Counts {
        allocs: after.allocs - before.allocs,
        reallocs: after.reallocs - before.reallocs,
        bytes: after.bytes - before.bytes,
    };
    (out, counts)
}

#[derive(Debug, Clone, Copy)]
struct Counts {
    allocs: u64,
    reallocs: u64,
    bytes: u64,
}

/// One `get` run of `files` URLs; the URL strings are made before counting starts.
fn get_run(server: &BenchServer, files: usize) -> Counts {
    get_run_with(server, files, &[])
}

/// [`get_run`] with custom headers (`-H`), rendered once at start.
fn get_run_with(server: &BenchServer, files: usize, headers: &[(&str, &str)]) -> Counts {
    let urls = server.urls(files);
    let dir = scratch_dir();
    let mut args = get_args(urls, dir.path().to_path_buf(), 16);
    args.transfer.headers.0 = (headers.iter())
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    let stop = Stop::new();
    let (report, counts) = counted(|| {
        let plan = prepare_get(args).expect("plan");
        execute(plan, &stop, Stderr::Silent).expect("run")
    });
    assert_eq!(report.exit_code(), 0, "the run failed");
    assert_eq!(report.summary.ok as usize, files);
    counts
}

/// The protocol layer alone: one encode into a reused buffer, one whole answer fed.
fn protocol_only() -> (Counts, Counts, Counts) {
    let request = Request {
        method: Method::Get,
        target: "/f/000001",
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
    let ((), encode_counts) = counted(|| {
        out.clear();
        encode(&request, &mut out).unwrap();
    });
    let mut answer = b"HTTP/1.1 200 OK\r\nServer: bench\r\nContent-Length: 4096\r\n\r\n".to_vec();
    answer.resize(answer.len() + 4096, b'a');
    // One answer fed, its head parsed into `storage` and the buffer given back after.
    let feed_one = |storage: &mut Vec<u8>| {
        let mut exchange = Exchange::new(Method::Get, true, Limits::default());
        let mut pos = 0;
        loop {
            let (used, event) = exchange.feed_reusing(&answer[pos..], storage).unwrap();
            pos += used;
            match event {
                Some(Part::Head(head)) => *storage = head.into_storage(),
                Some(Part::End { .. }) => break,
                _ => {}
            }
        }
    };
    let ((), feed_counts) = counted(|| feed_one(&mut Vec::new()));
    // The engines' way: the buffer of the answer before is reused.
    let mut storage = Vec::new();
    feed_one(&mut storage);
    let ((), reused_counts) = counted(|| feed_one(&mut storage));
    (encode_counts, feed_counts, reused_counts)
}

fn main() {
    let server = BenchServer::start().expect("bench server");
    // A warm-up run, so one-time costs of the process (std's lazies) are not counted.
    get_run(&server, 100);
    let small = get_run(&server, 1000);
    let large = get_run(&server, 2000);
    let per_file = |f: fn(&Counts) -> u64| (f(&large) - f(&small)) as f64 / 1000.0;

    println!("allocations on the client thread, miodl get -q -c 16, 4 KiB files:");
    println!("| run | allocs | reallocs | bytes asked | allocs/file | reallocs/file |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    for (files, c) in [(1000, small), (2000, large)] {
        println!(
            "| {files} files | {} | {} | {} | {:.1} | {:.1} |",
            c.allocs,
            c.reallocs,
            c.bytes,
            c.allocs as f64 / files as f64,
            c.reallocs as f64 / files as f64,
        );
    }
    println!(
        "| difference per file | {:.2} | {:.2} | {:.0} | | |",
        per_file(|c| c.allocs),
        per_file(|c| c.reallocs),
        per_file(|c| c.bytes),
    );
    // The same with `-A bench -H 'X-Probe: 1' -H 'Authorization: Bearer x'` (the
    // secret goes to the one trusted host): the lines are rendered once, so the
    // difference per file is the same.
    let headers = [
        ("User-Agent", "bench"),
        ("X-Probe", "1"),
        ("Authorization", "Bearer x"),
    ];
    let small_h = get_run_with(&server, 1000, &headers);
    let large_h = get_run_with(&server, 2000, &headers);
    println!(
        "with -A and two -H: difference per file {:.2} allocs, {:.2} reallocs",
        (large_h.allocs - small_h.allocs) as f64 / 1000.0,
        (large_h.reallocs - small_h.reallocs) as f64 / 1000.0,
    );
    let (encode_counts, feed_counts, reused_counts) = protocol_only();
    println!(
        "protocol alone: http::encode into a reused buffer: {} allocs; \
         Exchange::feed of head + 4 KiB: {} allocs, {} reallocs; \
         the same with the last head's buffer reused (feed_reusing): {} allocs",
        encode_counts.allocs, feed_counts.allocs, feed_counts.reallocs, reused_counts.allocs
    );
}
