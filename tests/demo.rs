//! `miodl demo`: the seed's comparison table, every row verified.

mod support;

use serde_json::Value;
use support::{miodl, ENGINES};

#[test]
fn the_table_has_nine_verified_rows() {
    let run = miodl(&["demo", "--files", "10", "--lag", "0.02", "-q"]);
    assert_eq!(run.status, Some(0), "{run}");
    let rows: Vec<&str> = (run.stdout.lines())
        .filter(|l| ENGINES.iter().any(|e| l.starts_with(&format!("{e} "))))
        .collect();
    assert_eq!(rows.len(), 9, "{run}");
    let count = |engine: &str| rows.iter().filter(|r| r.starts_with(engine)).count();
    assert_eq!(
        (count("blocking"), count("threads"), count("reactor")),
        (1, 1, 7),
        "{run}"
    );
    for row in &rows {
        assert!(
            row.trim_end().ends_with("ok: 10 files"),
            "row: {row}\n{run}"
        );
    }
    assert_eq!(run.stderr, "", "-q: nothing on stderr\n{run}");
}

#[test]
fn the_json_is_an_array_of_nine_verified_rows() {
    let run = miodl(&["demo", "--files", "10", "--lag", "0.02", "--json", "-q"]);
    assert_eq!(run.status, Some(0), "{run}");
    let value: Value = serde_json::from_str(run.stdout.trim())
        .unwrap_or_else(|e| panic!("stdout is not one JSON value ({e})\n{run}"));
    let rows = value
        .as_array()
        .unwrap_or_else(|| panic!("not an array\n{run}"));
    assert_eq!(rows.len(), 9, "{run}");
    let mut engines = Vec::new();
    for row in rows {
        assert_eq!(row["verified"], true, "{row}");
        assert_eq!(row["verify"], "ok: 10 files", "{row}");
        let requests = row["requests"].as_u64().unwrap();
        let bound = row["bound_requests"].as_u64().unwrap();
        assert!(requests >= bound, "fewer requests than the bound: {row}");
        assert!(bound >= 10 + 2, "10 files and at least 2 pages: {row}");
        let (elapsed, bound_s) = (
            row["elapsed_s"].as_f64().unwrap(),
            row["bound_s"].as_f64().unwrap(),
        );
        assert!(
            elapsed >= bound_s * 0.99,
            "faster than the lower bound: {row}"
        );
        engines.push(row["engine"].as_str().unwrap().to_string());
        // A rate row is paced: no faster than its requests one interval apart.
        let rate = [&row["rate"], &row["per_host_rate"]]
            .into_iter()
            .find_map(|r| r.as_str())
            .map(|r| r.trim_end_matches("/s").parse::<f64>().unwrap());
        if let Some(rate) = rate {
            let paced = (bound - 1) as f64 / rate;
            assert!(bound_s >= paced, "the bound ignores the rate: {row}");
            assert!(elapsed >= paced * 0.99, "faster than the rate: {row}");
        }
    }
    assert_eq!(rows[7]["rate"], "10/s", "{run}");
    assert_eq!(rows[8]["per_host_rate"], "20/s", "{run}");
    assert_eq!(
        engines,
        [
            "blocking", "threads", "reactor", "reactor", "reactor", "reactor", "reactor",
            "reactor", "reactor"
        ],
        "{run}"
    );
}

/// Over HTTPS every socket pays one handshake: without keep-alive, one per request.
#[cfg(feature = "tls")]
#[test]
fn over_tls_each_socket_pays_a_handshake() {
    let run = miodl(&[
        "demo", "--files", "10", "--lag", "0.02", "--tls", "--json", "-q",
    ]);
    assert_eq!(run.status, Some(0), "{run}");
    let value: Value = serde_json::from_str(run.stdout.trim()).unwrap();
    for row in value.as_array().unwrap() {
        assert_eq!(row["verified"], true, "{row}");
        assert_eq!(row["tls_handshakes"], row["connections_opened"], "{row}");
        if row["keep_alive"] == false {
            assert_eq!(row["tls_handshakes"], row["requests"], "{row}");
        }
    }
}
