//! `--compressed`: `Accept-Encoding: gzip, deflate` asked, gzip and deflate bodies saved
//! decoded as they arrive in every engine, `--max-filesize` counting decoded bytes (a
//! decompression bomb fails cleanly), a corrupt body one line, another coding saved as it
//! came, and nothing changed without the option (docs/reference.md §3, "Compressed
//! bodies").

mod support;

use std::io::Write;
use std::time::Duration;

use flate2::write::{GzEncoder, ZlibEncoder};
use flate2::Compression;
use support::scripted::*;
use support::*;

const ENGINES: [&str; 3] = ["reactor", "blocking", "threads"];

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut e = ZlibEncoder::new(Vec::new(), Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// Bytes that do not compress (xorshift), so that the encoded body is large too.
fn noise(n: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// An answer with `Content-Encoding: coding`, framed by length or chunked, written in
/// pieces cut at odd places with short pauses between, so they arrive apart.
fn encoded_answer(coding: &str, body: &[u8], chunked: bool) -> Script {
    let mut script = Script::new();
    if chunked {
        script = script.write(format!(
            "HTTP/1.1 200 OK\r\nContent-Encoding: {coding}\r\nTransfer-Encoding: chunked\r\n\r\n"
        ));
        for piece in body.chunks(7919) {
            let mut chunk = format!("{:x}\r\n", piece.len()).into_bytes();
            chunk.extend_from_slice(piece);
            chunk.extend_from_slice(b"\r\n");
            // Each chunk in two writes, cut inside it.
            let cut = chunk.len() / 3;
            script = script
                .write(&chunk[..cut])
                .sleep(Duration::from_millis(1))
                .write(&chunk[cut..]);
        }
        script.write("0\r\n\r\n")
    } else {
        let whole = response(200, &[("Content-Encoding", coding)], body);
        let mut at = 0;
        for step in [1, 10, 13, 101, 4099] {
            let end = (at + step).min(whole.len());
            script = script
                .write(&whole[at..end])
                .sleep(Duration::from_millis(1));
            at = end;
        }
        script.write(&whole[at..])
    }
}

#[test]
fn gzip_and_deflate_bodies_are_saved_decoded_in_every_engine() {
    let small: Vec<u8> = (0..50_000u32).map(|i| (i % 97) as u8).collect();
    // Encoded, this one is past the size the reactor would splice or lend to a disk
    // thread: those copy raw bytes, so it must not take that path.
    let large = noise(600_000);
    let (small_gz, small_z, large_gz) = (gzip(&small), zlib(&small), gzip(&large));
    assert!(large_gz.len() > 300_000);
    let server = Server::start(move |req| match req.path.as_str() {
        "/s.gz" => encoded_answer("gzip", &small_gz, false),
        "/s.gz.chunked" => encoded_answer("x-gzip", &small_gz, true),
        "/s.z" => encoded_answer("deflate", &small_z, false),
        "/s.z.chunked" => encoded_answer("deflate", &small_z, true),
        "/l.gz" => encoded_answer("gzip", &large_gz, false),
        "/l.gz.chunked" => encoded_answer("gzip", &large_gz, true),
        _ => Script::not_found(),
    });
    let names = [
        "s.gz",
        "s.gz.chunked",
        "s.z",
        "s.z.chunked",
        "l.gz",
        "l.gz.chunked",
    ];
    let urls: Vec<String> = names.iter().map(|n| server.url(&format!("/{n}"))).collect();
    for engine in ENGINES {
        let dir = out_dir();
        let mut args = get_args(dir.path(), &["--compressed", "--engine", engine, "-c", "3"]);
        args.extend(urls.iter().map(String::as_str));
        let run = miodl(&args);
        assert_eq!(run.status, Some(0), "{engine}: {run}");
        let files = saved(dir.path());
        for name in names {
            let want = if name.starts_with('s') {
                &small
            } else {
                &large
            };
            let got = files
                .get(name)
                .unwrap_or_else(|| panic!("{engine}: no {name}"));
            assert!(
                got == want,
                "{engine}: {name} is {} bytes, not the decoded {}",
                got.len(),
                want.len()
            );
        }
        assert_no_temp_files(dir.path());
    }
    for req in server.stats().requests {
        assert_eq!(
            req.header("accept-encoding"),
            Some("gzip, deflate"),
            "{req:?}"
        );
    }
}

#[test]
fn without_the_option_nothing_is_asked_and_bytes_are_saved_as_sent() {
    let encoded = gzip(b"hello, hello, hello");
    let body = encoded.clone();
    let server = Server::start(move |_| {
        Script::new().write(response(200, &[("Content-Encoding", "gzip")], &body))
    });
    for engine in ENGINES {
        let dir = out_dir();
        let url = server.url("/x.gz");
        let run = miodl(&get_args(dir.path(), &["--engine", engine, &url]));
        assert_eq!(run.status, Some(0), "{engine}: {run}");
        assert_eq!(saved(dir.path())["x.gz"], encoded, "{engine}");
    }
    for req in server.stats().requests {
        assert_eq!(req.header("accept-encoding"), None, "{req:?}");
    }
}

#[test]
fn an_unknown_coding_is_saved_as_it_came() {
    let server = Server::start(|_| {
        Script::new().write(response(
            200,
            &[("Content-Encoding", "br")],
            b"\x0b\x02\x80raw",
        ))
    });
    let dir = out_dir();
    let url = server.url("/x.br");
    let run = miodl(&get_args(dir.path(), &["--compressed", &url]));
    assert_eq!(run.status, Some(0), "{run}");
    assert_eq!(saved(dir.path())["x.br"], b"\x0b\x02\x80raw");
}

/// 100 MiB of zeros is about 100 KiB of gzip (deflate gives at most about 1:1032); with
/// `--max-filesize 1000000` it fails once a million decoded bytes are passed, and leaves
/// no file. Without `--compressed` the same bytes fit.
#[test]
fn a_decompression_bomb_fails_cleanly_on_max_filesize() {
    let bomb = gzip(&vec![0u8; 100 << 20]);
    assert!(bomb.len() < 200_000, "{}", bomb.len());
    let body = bomb.clone();
    let server =
        Server::start(move |req| encoded_answer("gzip", &body, req.path.ends_with("chunked")));
    for engine in ENGINES {
        for path in ["/bomb.gz", "/bomb.chunked"] {
            let dir = out_dir();
            let url = server.url(path);
            let args = [
                "--compressed",
                "--max-filesize",
                "1000000",
                "--engine",
                engine,
                "--retries",
                "0",
                &url,
            ];
            let run = miodl(&get_args(dir.path(), &args));
            assert_eq!(run.status, Some(1), "{engine} {path}: {run}");
            let errors: Vec<_> = run
                .stderr_lines()
                .into_iter()
                .filter(|l| l.starts_with("error:"))
                .collect();
            assert_eq!(errors.len(), 1, "{engine}: {run}");
            assert!(errors[0].contains("1000000"), "{engine}: {errors:?}");
            assert!(saved(dir.path()).is_empty(), "{engine}: a file was left");
            assert_no_temp_files(dir.path());
        }
    }
    let dir = out_dir();
    let url = server.url("/bomb.gz");
    let run = miodl(&get_args(dir.path(), &["--max-filesize", "1000000", &url]));
    assert_eq!(run.status, Some(0), "raw, it fits: {run}");
    assert_eq!(saved(dir.path())["bomb.gz"], bomb);
}

#[test]
fn a_corrupt_gzip_body_fails_with_one_line_and_no_file() {
    let mut corrupt = gzip(&noise(20_000));
    let at = corrupt.len() - 6;
    corrupt[at] ^= 0x55; // the trailer's CRC
    let mut truncated = gzip(&noise(20_000));
    truncated.truncate(truncated.len() / 2);
    let server = Server::start(move |req| match req.path.as_str() {
        "/crc.gz" => encoded_answer("gzip", &corrupt, false),
        "/short.gz" => encoded_answer("gzip", &truncated, true),
        _ => encoded_answer("gzip", b"this is not gzip at all", false),
    });
    for engine in ENGINES {
        for path in ["/crc.gz", "/short.gz", "/plain.gz"] {
            let dir = out_dir();
            let url = server.url(path);
            let run = miodl(&get_args(
                dir.path(),
                &["--compressed", "--engine", engine, &url],
            ));
            assert_eq!(run.status, Some(1), "{engine} {path}: {run}");
            let lines = run.stderr_lines();
            assert_eq!(lines.len(), 1, "{engine} {path}: {lines:?}");
            assert!(
                lines[0].starts_with("error: ") && lines[0].contains("gzip"),
                "{lines:?}"
            );
            assert!(
                saved(dir.path()).is_empty(),
                "{engine} {path}: a file was left"
            );
            assert_eq!(
                run.count("retries"),
                0,
                "{engine}: the same bytes would come again"
            );
        }
    }
}

/// A crawl's list page may come gzip too: it is decoded before it is read.
#[test]
fn a_gzip_list_page_is_decoded_before_it_is_read() {
    let page = gzip(b"[\"/a.txt\", \"/b.txt\"]");
    let server = Server::start(move |req| match req.path.as_str() {
        "/list" => encoded_answer("gzip", &page, false),
        other => Script::new().write(response(
            200,
            &[("Content-Encoding", "gzip")],
            &gzip(other.as_bytes()),
        )),
    });
    for engine in ENGINES {
        let dir = out_dir();
        let run = crawl(
            &server.url("/list"),
            dir.path(),
            &["--pages", "link", "--compressed", "--engine", engine],
        );
        assert_eq!(run.status, Some(0), "{engine}: {run}");
        let files = saved(dir.path());
        assert_eq!(files["a.txt"], b"/a.txt", "{engine}");
        assert_eq!(files["b.txt"], b"/b.txt", "{engine}");
    }
}

/// An empty answer that says `Content-Encoding: gzip` is an empty file, as in curl.
#[test]
fn an_empty_gzip_answer_is_an_empty_file() {
    let server =
        Server::start(|_| Script::new().write(response(200, &[("Content-Encoding", "gzip")], b"")));
    for engine in ENGINES {
        let dir = out_dir();
        let url = server.url("/empty");
        let run = miodl(&get_args(
            dir.path(),
            &["--compressed", "--engine", engine, &url],
        ));
        assert_eq!(run.status, Some(0), "{engine}: {run}");
        assert_eq!(saved(dir.path())["empty"], b"", "{engine}");
    }
}
