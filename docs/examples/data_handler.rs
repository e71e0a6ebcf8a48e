//! The seed's second bonus question: handle each result the moment it is saved.
//!
//! This program embeds miodl as a library. It starts the reference server in-process
//! (25 ids, 0.1 s lag), crawls it with a pool of 8 sockets, and a [`FileHandler`] reads
//! each file as soon as it is complete, while the other downloads go on.
//!
//! Run it with `cargo run --example data_handler`.

use std::time::{Duration, Instant};

// The client API is the crate root; `serve` (the reference server) is only the example's
// stand-in for a real list API.
use miodl::serve::{self, ServeConfig};
use miodl::{CrawlOptions, Downloader, FileHandler, JobError, SavedFile, Url};

/// Prints each file with the moment it arrived, and keeps a running total.
struct Printer {
    started: Instant,
    total: u64,
}

impl FileHandler for Printer {
    fn saved(&mut self, file: &SavedFile<'_>) {
        let text = std::fs::read_to_string(file.path).unwrap_or_default();
        self.total += 1;
        println!(
            "{:>6.3} s  #{:<2} {:<8} {}",
            self.started.elapsed().as_secs_f64(),
            self.total,
            text,
            file.url
        );
    }

    fn failed(&mut self, url: &Url, error: &JobError) {
        println!("failed: {url}: {error}");
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = serve::spawn(ServeConfig {
        port: 0,
        lag: Duration::from_millis(100),
        ..ServeConfig::default()
    })?;
    let output = std::env::temp_dir().join(format!("miodl-example-{}", std::process::id()));
    let list = CrawlOptions::new(format!("{}/api/list_files", server.base_url()));

    let report = Downloader::new(&output)
        .connections(8)
        .on_file(Printer {
            started: Instant::now(),
            total: 0,
        })
        .crawl(list)?;

    println!("{}", report.json());
    std::fs::remove_dir_all(&output)?;
    std::process::exit(report.exit_code());
}
