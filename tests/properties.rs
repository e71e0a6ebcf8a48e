//! Property tests of the sans-IO layers, without a framework: a deterministic xorshift
//! generator makes up responses and noise, so every run checks the same cases.
//!
//! - a valid response made from random parameters parses to the same head and body
//!   however it is cut;
//! - any bytes (noise, mutated valid responses) go through the fuzz harness unharmed;
//! - the fuzz corpora (`tests/fuzz/corpus/<target>/`) replay through the very functions
//!   the fuzz targets call, so every fuzz finding stays a regression test here.
//!
//! Bounded to well under 5 s in a debug build.

#[path = "fuzz/harness.rs"]
mod harness;

use std::fs;
use std::path::PathBuf;

use harness::{encode_chunked, exchange, fuzz_chunked, fuzz_pager, fuzz_response, Rng};
use miodl::protocol::http::{BodyMode, HttpError, Limits, Method};

/// A response made up from random parameters, and what a client must read from it.
struct Made {
    bytes: Vec<u8>,
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    mode: BodyMode,
    /// The response only ends when the peer closes.
    needs_eof: bool,
}

fn make_response(rng: &mut Rng) -> Made {
    let mut bytes = Vec::new();
    if rng.one_in(5) {
        bytes.extend_from_slice(b"\r\n"); // RFC 9112 §2.2: leading empty lines.
    }
    for _ in 0..rng.below(3) {
        let interim = [100, 102, 103][rng.below(3)];
        bytes
            .extend_from_slice(format!("HTTP/1.1 {interim} Wait\r\nLink: </a>\r\n\r\n").as_bytes());
    }
    let status = [200, 201, 203, 204, 206, 304, 404, 410, 500, 503, 599][rng.below(11)];
    let body_len = [0, 1, 7, rng.below(100), rng.below(5000)][rng.below(5)];
    let body: Vec<u8> = (0..body_len).map(|_| rng.next() as u8).collect();
    let mut headers = Vec::new();
    for i in 0..rng.below(6) {
        let value = ["", "x", "a b  c", "\u{e9}t\u{e9}", "tab\there"][rng.below(5)];
        headers.push((format!("X-H{i}"), value.to_string()));
    }
    let no_body = matches!(status, 204 | 304);
    let framing = if no_body { 0 } else { rng.below(3) };
    let mode = match framing {
        _ if no_body => BodyMode::None,
        0 => BodyMode::Length(body.len() as u64),
        1 => BodyMode::Chunked,
        _ => BodyMode::CloseDelimited,
    };
    let mut payload = body.clone();
    match mode {
        BodyMode::Length(n) => headers.push(("Content-Length".into(), n.to_string())),
        BodyMode::Chunked => {
            let coding = ["chunked", "Chunked", "identity, chunked"][rng.below(3)];
            headers.push(("Transfer-Encoding".into(), coding.into()));
            payload = encode_chunked(rng, &body);
        }
        _ => payload.clear(),
    }
    if mode == BodyMode::CloseDelimited {
        payload = body.clone();
    }
    let version = if rng.one_in(4) { "1.0" } else { "1.1" };
    bytes.extend_from_slice(format!("HTTP/{version} {status} Some Reason\r\n").as_bytes());
    for (name, value) in &headers {
        let sep = [": ", ":", ":  "][rng.below(3)];
        bytes.extend_from_slice(format!("{name}{sep}{value}\r\n").as_bytes());
    }
    bytes.extend_from_slice(b"\r\n");
    bytes.extend_from_slice(&payload);
    Made {
        bytes,
        status,
        headers,
        body: if no_body { Vec::new() } else { body },
        mode,
        needs_eof: mode == BodyMode::CloseDelimited,
    }
}

/// `bytes` cut at a random set of points (empty pieces included).
fn random_cuts<'b>(rng: &mut Rng, bytes: &'b [u8]) -> Vec<&'b [u8]> {
    let mut points: Vec<usize> = (0..rng.below(12))
        .map(|_| rng.below(bytes.len() + 1))
        .collect();
    points.sort_unstable();
    let mut pieces = Vec::new();
    let mut from = 0;
    for p in points {
        pieces.push(&bytes[from..p]);
        from = p;
    }
    pieces.push(&bytes[from..]);
    pieces
}

#[test]
fn valid_responses_parse_the_same_however_cut() {
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    for case in 0..400 {
        let made = make_response(&mut rng);
        let eof = made.needs_eof || rng.one_in(2);
        let limits = Limits::default();
        let whole = exchange(Method::Get, true, limits, [&made.bytes[..]], eof);
        let text = String::from_utf8_lossy(&made.bytes);
        let head = whole
            .head
            .as_ref()
            .unwrap_or_else(|| panic!("no head: {text:?}"));
        assert_eq!(head.status, made.status, "case {case}");
        for (name, value) in &made.headers {
            assert_eq!(
                head.header(name),
                Some(value.as_str()),
                "{name} in {text:?}"
            );
        }
        assert_eq!(whole.mode, Some(made.mode), "case {case}");
        assert_eq!(whole.body, made.body, "case {case}: {text:?}");
        assert!(
            matches!(whole.end, Ok(Some(_))),
            "case {case}: {:?}",
            whole.end
        );
        assert!(whole.leftover.is_empty());
        for _ in 0..4 {
            let cut = exchange(
                Method::Get,
                true,
                limits,
                random_cuts(&mut rng, &made.bytes),
                eof,
            );
            assert_eq!(cut, whole, "case {case}: {text:?}");
        }
    }
}

/// One random edit of `bytes`: a byte changed, removed, inserted or a run duplicated.
fn mutate(rng: &mut Rng, bytes: &mut Vec<u8>) {
    const ALPHABET: &[u8] = b"\r\n :;,0123456789abcdefxHTP/.\x00\x7f\xff\t";
    let at = rng.below(bytes.len() + 1);
    let byte = ALPHABET[rng.below(ALPHABET.len())];
    match rng.below(5) {
        0 if at < bytes.len() => bytes[at] = byte,
        1 if at < bytes.len() => {
            bytes.remove(at);
        }
        2 if at < bytes.len() => {
            let end = (at + rng.below(16)).min(bytes.len());
            let run = bytes[at..end].to_vec();
            bytes.splice(at..at, run);
        }
        3 => bytes.truncate(at),
        _ => bytes.insert(at, byte),
    }
}

#[test]
fn any_bytes_pass_through_the_exchange_without_harm() {
    let mut rng = Rng(0xbad_c0ffee);
    for _ in 0..1500 {
        // The fuzz input layout: a steering byte, cut sizes, then the response.
        let mut input = vec![rng.next() as u8];
        input.extend((0..rng.below(20)).map(|_| rng.next() as u8));
        let mut bytes = if rng.one_in(3) {
            (0..rng.below(400)).map(|_| rng.next() as u8).collect()
        } else {
            make_response(&mut rng).bytes
        };
        for _ in 0..=rng.below(4) {
            mutate(&mut rng, &mut bytes);
        }
        input.extend_from_slice(&bytes);
        fuzz_response(&input);
    }
}

#[test]
fn any_bytes_pass_through_the_dechunker_and_valid_encodings_round_trip() {
    let mut rng = Rng(7);
    for _ in 0..1500 {
        let len = rng.below(300);
        let mut input: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        if rng.one_in(2) {
            let body: Vec<u8> = (0..rng.below(200)).map(|_| rng.next() as u8).collect();
            let mut encoded = encode_chunked(&mut rng, &body);
            mutate(&mut rng, &mut encoded);
            input.truncate(rng.below(8));
            input.extend_from_slice(&encoded);
        }
        fuzz_chunked(&input);
    }
}

#[test]
fn any_pages_pass_through_the_pager() {
    let mut rng = Rng(99);
    let names = [
        "a", "b", "ab", ".", "..", ".x", "a/b", "\\u0000", "\u{e9}", "a b",
    ];
    for _ in 0..800 {
        let mut input: Vec<u8> = (0..3).map(|_| rng.next() as u8).collect();
        for _ in 0..rng.below(12) {
            input.push(1 + rng.next() as u8 % 255);
            let ids: Vec<String> = (0..rng.below(14))
                .map(|_| match rng.below(4) {
                    0 => "1".to_string(),
                    _ => format!("{:?}", names[rng.below(names.len())]),
                })
                .collect();
            let mut page = format!("{{\"urls\": [{}]}}", ids.join(",")).into_bytes();
            if rng.one_in(8) {
                mutate(&mut rng, &mut page);
                page.retain(|&b| b != 0);
            }
            input.extend_from_slice(&page);
            input.push(0);
        }
        fuzz_pager(&input);
    }
}

/// Every file of `tests/fuzz/corpus/<target>/`, sorted.
fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "empty corpus {}", dir.display());
    files
        .into_iter()
        .map(|path| {
            let bytes = fs::read(&path).unwrap();
            (path, bytes)
        })
        .collect()
}

#[test]
fn the_response_corpus_replays() {
    for (path, bytes) in corpus("response") {
        eprintln!("{}", path.display());
        fuzz_response(&bytes);
    }
}

#[test]
fn the_chunked_corpus_replays() {
    for (path, bytes) in corpus("chunked") {
        eprintln!("{}", path.display());
        fuzz_chunked(&bytes);
    }
}

#[test]
fn the_pager_corpus_replays() {
    for (path, bytes) in corpus("pager") {
        eprintln!("{}", path.display());
        fuzz_pager(&bytes);
    }
}

// Findings of the fuzzers, fixed in src/ and kept here as strict regression tests.

/// Runs `bytes` whole and in `cuts`, GET with keep-alive, then EOF.
fn whole_and_cut(
    limits: Limits,
    bytes: &[u8],
    cuts: &[&[u8]],
) -> [Result<Option<bool>, HttpError>; 2] {
    let whole = exchange(Method::Get, true, limits, [bytes], true);
    let cut = exchange(Method::Get, true, limits, cuts.iter().copied(), true);
    [whole.end, cut.end]
}

#[test]
fn a_lone_cr_is_the_same_error_however_cut() {
    let [whole, cut] = whole_and_cut(Limits::default(), b"\r\r\nX", &[b"\r\r\n", b"X"]);
    assert_eq!(cut, whole);
}

#[test]
fn garbage_past_the_head_limit_is_the_same_error_however_cut() {
    let limits = Limits {
        max_head_bytes: 16,
        ..Limits::default()
    };
    let bytes = [&[b'\n'; 20][..], b"z"].concat();
    let [whole, cut] = whole_and_cut(
        limits,
        &bytes,
        &[&bytes[..10], &bytes[10..20], &bytes[20..]],
    );
    assert_eq!(cut, whole);
}

#[test]
fn the_pager_hands_out_no_hidden_file_names() {
    let run = fuzz_pager(b"\x05\x00\x00\x01{\"urls\":[\".x\"]}");
    assert_eq!(run.leading_dot, Vec::<String>::new());
}
