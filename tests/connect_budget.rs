//! A dispatch connects at most 256 new sockets before the loop polls again
//! (docs/architecture.md, "One socket, one turn"): with `-c 600`, the first requests go
//! out while later sockets are still to be connected, instead of after all 600
//! connects. Read from `--trace`: a `send` span starts before the last `connect` does.

mod support;

use std::time::Duration;

use serde_json::Value;
use support::*;

#[test]
fn the_first_requests_leave_before_the_last_sockets_are_connected() {
    let server = reference()
        .files(600)
        .lag(Duration::from_millis(300))
        .start();
    let scratch = out_dir();
    let urls: Vec<String> = (1..=600)
        .map(|n| format!("{}/bytes/{n}", server.base_url()))
        .collect();
    let list = scratch.path().join("urls.txt");
    std::fs::write(&list, urls.join("\n")).unwrap();
    let trace = scratch.path().join("trace.json");
    let out = scratch.path().join("out");
    let extra = [
        "-c",
        "600",
        "-i",
        list.to_str().unwrap(),
        "--trace",
        trace.to_str().unwrap(),
    ];
    let run = miodl(&get_args(&out, &extra));
    assert_eq!(run.status, Some(0), "{run}");
    assert_eq!(run.count("ok"), 600, "{run}");
    assert_eq!(run.count("connections_opened"), 600, "{run}");

    let trace: Value = serde_json::from_slice(&std::fs::read(&trace).unwrap()).unwrap();
    let starts = |name: &str| -> Vec<f64> {
        (trace["traceEvents"].as_array().unwrap().iter())
            .filter(|e| e["name"] == name)
            .filter_map(|e| e["ts"].as_f64())
            .collect()
    };
    let connects = starts("connect");
    let sends = starts("send");
    assert_eq!(connects.len(), 600);
    let last_connect = connects.iter().cloned().fold(f64::MIN, f64::max);
    let first_send = sends.iter().cloned().fold(f64::MAX, f64::min);
    assert!(
        first_send < last_connect,
        "the first request left at {first_send} µs, after the last connect began at {last_connect} µs"
    );
}
