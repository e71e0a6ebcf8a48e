//! Reruns with `--skip-existing`, and names from the server with `-J`: a file an earlier
//! run saved for the same URL (get) or id (crawl) is not requested again, also where
//! names are not a function of the URL alone (two URLs, one name; `-J`; shards writing
//! into one directory at once; a run killed with SIGKILL), and the servers count it.

mod support;

use std::fs;
use std::path::Path;
use std::time::Duration;

use support::scripted::*;
use support::{
    crawl, eventually, get_args, list_url, miodl, names_in, reference, start, verify_text, Run,
    ENGINES, PATIENCE,
};

/// Each path answers with its own path as the body; `/j/...` paths also send a
/// `Content-Disposition` whose name (`../same.txt`, made `same.txt`) they all share,
/// except `/j/none`, which sends none.
fn server() -> Server {
    Server::start(|request| {
        let body = request.path.clone();
        if request.path.starts_with("/j/") && request.path != "/j/none" {
            let disposition = "attachment; filename=\"../same.txt\"";
            Script::status(200, &[("Content-Disposition", disposition)], body)
        } else {
            Script::ok(body)
        }
    })
}

/// The list of URLs: two that map to one name (`x`), and eight more.
fn urls(server: &Server) -> Vec<String> {
    let mut urls = vec![server.url("/a/x"), server.url("/b/x")];
    urls.extend((1..=8).map(|n| server.url(&format!("/f{n}"))));
    urls
}

fn write_list(dir: &Path, urls: &[String]) -> String {
    let list = dir.join("urls.txt");
    fs::write(&list, urls.join("\n") + "\n").unwrap();
    list.to_str().unwrap().to_string()
}

fn get(out: &Path, list: &str, engine: &str, extra: &[&str]) -> Run {
    let mut args = get_args(out, &["-i", list, "--skip-existing", "--engine", engine]);
    args.extend_from_slice(extra);
    miodl(&args)
}

fn events(run: &Run, kind: &str) -> usize {
    let tag = format!("\"event\":\"{kind}\"");
    run.stdout.lines().filter(|l| l.contains(&tag)).count()
}

#[test]
fn a_get_rerun_requests_nothing_and_refetches_only_what_was_deleted() {
    for engine in ENGINES {
        let server = server();
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let list = write_list(tmp.path(), &urls(&server));

        let first = get(&out, &list, engine, &[]);
        assert_eq!(first.status, Some(0), "{first}");
        assert_eq!(
            (first.count("ok"), first.count("skipped")),
            (10, 0),
            "{first}"
        );
        assert_eq!(fs::read(out.join("x")).unwrap(), b"/a/x");
        assert_eq!(fs::read(out.join("x.1")).unwrap(), b"/b/x");
        assert!(names_in(&out).contains(&".miodl-saved".to_string()));
        let asked = server.stats().requests.len();
        assert_eq!(asked, 10);

        // Everything was saved: not one request, every file skipped.
        let again = get(&out, &list, engine, &["--events"]);
        assert_eq!(again.status, Some(0), "{again}");
        assert_eq!(server.stats().requests.len(), asked, "{again}");
        assert_eq!(
            (again.count("ok"), again.count("skipped")),
            (0, 10),
            "{again}"
        );
        assert_eq!(again.count("requests"), 0, "{again}");
        assert_eq!(events(&again, "skipped"), 10, "{again}");

        // The file of the second URL named `x` is gone: it alone is fetched, under its
        // own name again (not over the first URL's `x`).
        fs::remove_file(out.join("x.1")).unwrap();
        let third = get(&out, &list, engine, &[]);
        let stats = server.stats();
        assert_eq!(stats.requests.len(), asked + 1, "{third}");
        assert_eq!(stats.requests.last().unwrap().path, "/b/x");
        assert_eq!(
            (third.count("ok"), third.count("skipped")),
            (1, 9),
            "{third}"
        );
        assert_eq!(fs::read(out.join("x")).unwrap(), b"/a/x");
        assert_eq!(fs::read(out.join("x.1")).unwrap(), b"/b/x");

        // And the first one's: fetched back into `x`.
        fs::remove_file(out.join("x")).unwrap();
        let fourth = get(&out, &list, engine, &[]);
        assert_eq!(server.stats().requests.len(), asked + 2, "{fourth}");
        assert_eq!(fs::read(out.join("x")).unwrap(), b"/a/x");
        assert_eq!(fs::read(out.join("x.1")).unwrap(), b"/b/x");
        let mut files = names_in(&out);
        files.retain(|n| !n.starts_with('.'));
        assert_eq!(files.len(), 10, "{files:?}");
    }
}

#[test]
fn without_skip_existing_a_rerun_fetches_again_and_replaces() {
    let server = server();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let list = write_list(tmp.path(), &urls(&server)[..1]);
    fs::create_dir_all(&out).unwrap();
    fs::write(out.join("x"), "old").unwrap();
    let run = miodl(&get_args(&out, &["-i", &list]));
    assert_eq!(run.count("ok"), 1, "{run}");
    assert_eq!(fs::read(out.join("x")).unwrap(), b"/a/x");
    // No record without the option.
    assert_eq!(names_in(&out), ["x"]);
}

#[test]
fn dash_j_names_files_from_the_answer_and_a_rerun_skips_them() {
    for engine in ENGINES {
        let server = server();
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let urls = [
            server.url("/j/one"),
            server.url("/j/two"),
            server.url("/j/none"),
        ];
        let list = write_list(tmp.path(), &urls);
        let first = get(&out, &list, engine, &["-J", "-c", "1"]);
        assert_eq!(first.count("ok"), 3, "{first}");
        let mut files = names_in(&out);
        files.retain(|n| !n.starts_with('.'));
        // `../same.txt` lost its directory part; the second claim is numbered; no
        // header: the URL's name.
        assert_eq!(files, ["none", "same.txt", "same.txt.1"], "{first}");
        let mut bodies: Vec<Vec<u8>> = ["same.txt", "same.txt.1"]
            .iter()
            .map(|n| fs::read(out.join(n)).unwrap())
            .collect();
        bodies.sort();
        assert_eq!(bodies, [b"/j/one".to_vec(), b"/j/two".to_vec()]);
        assert!(!tmp.path().join("same.txt").exists(), "never outside -o");

        let again = get(&out, &list, engine, &["-J"]);
        assert_eq!(server.stats().requests.len(), 3, "{again}");
        assert_eq!(again.count("skipped"), 3, "{again}");

        // One -J file deleted: fetched again under a name no other file has.
        fs::remove_file(out.join("same.txt")).unwrap();
        let third = get(&out, &list, engine, &["-J"]);
        assert_eq!(server.stats().requests.len(), 4, "{third}");
        let mut files = names_in(&out);
        files.retain(|n| !n.starts_with('.'));
        assert_eq!(files.len(), 3, "{files:?}");
    }
}

#[test]
fn a_crawl_rerun_reads_the_pages_and_requests_no_file() {
    for engine in ENGINES {
        let server = reference().files(25).start();
        let out = tempfile::tempdir().unwrap();
        let first = crawl(
            &list_url(&server),
            out.path(),
            &["--skip-existing", "-J", "--engine", engine],
        );
        assert_eq!(first.count("ok"), 25, "{first}");
        // `miodl serve` names each download `<id>.txt`.
        for id in server.ids() {
            assert!(
                out.path().join(format!("{id}.txt")).is_file(),
                "{id}\n{first}"
            );
        }
        assert_eq!(verify_text(out.path()), "ok: 25 files");
        let stats = server.stats();
        let downloads = |s: &miodl::serve::ServerStats| -> u64 {
            server
                .ids()
                .iter()
                .map(|id| s.path_count(&format!("/api/download/{id}")))
                .sum()
        };
        assert_eq!(downloads(&stats), 25);

        let again = crawl(
            &list_url(&server),
            out.path(),
            &["--skip-existing", "-J", "--engine", engine, "--events"],
        );
        assert_eq!(again.status, Some(0), "{again}");
        assert_eq!(downloads(&server.stats()), 25, "{again}");
        assert_eq!(
            (again.count("ok"), again.count("skipped")),
            (0, 25),
            "{again}"
        );
        assert_eq!(again.count("pages"), 5, "the pages are still read\n{again}");
        assert_eq!(events(&again, "skipped"), 25, "{again}");

        let victim = &server.ids()[7];
        fs::remove_file(out.path().join(format!("{victim}.txt"))).unwrap();
        let third = crawl(
            &list_url(&server),
            out.path(),
            &["--skip-existing", "-J", "--engine", engine],
        );
        assert_eq!(downloads(&server.stats()), 26, "{third}");
        assert_eq!(
            server
                .stats()
                .path_count(&format!("/api/download/{victim}")),
            2
        );
        assert_eq!(verify_text(out.path()), "ok: 25 files");
        server.shutdown().unwrap();
    }
}

#[test]
fn shards_writing_into_one_directory_at_once_then_a_rerun_skips_everything() {
    let server = server();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let urls: Vec<String> = (0..200).map(|n| server.url(&format!("/s/{n}"))).collect();
    let list = write_list(tmp.path(), &urls);
    let out_s = out.to_str().unwrap();
    let shards: Vec<_> = (0..4)
        .map(|i| {
            let shard = format!("{i}/4");
            start(&[
                "get",
                "-q",
                "--json",
                "-o",
                out_s,
                "-i",
                &list,
                "--skip-existing",
                "--shard",
                &shard,
                "-c",
                "4",
            ])
        })
        .collect();
    let mut ok = 0;
    for shard in shards {
        let run = shard.finish();
        assert_eq!(run.status, Some(0), "{run}");
        ok += run.count("ok");
    }
    assert_eq!(ok, 200);
    assert_eq!(server.stats().requests.len(), 200);
    let record = fs::read_to_string(out.join(".miodl-saved")).unwrap();
    assert_eq!(record.lines().count(), 200, "whole lines, one per file");
    assert!(
        record.lines().all(|l| l.split('\t').count() == 4),
        "{record}"
    );

    let again = get(&out, &list, "reactor", &[]);
    assert_eq!(server.stats().requests.len(), 200, "{again}");
    assert_eq!(again.count("skipped"), 200, "{again}");
}

#[test]
fn after_a_sigkill_a_rerun_saves_every_id_exactly_once() {
    const FILES: usize = 400;
    const IN_FLIGHT: u64 = 8;
    let server = reference()
        .files(FILES)
        .lag(Duration::from_millis(20))
        .start();
    let out = tempfile::tempdir().unwrap();
    let url = list_url(&server);
    let out_s = out.path().to_str().unwrap();
    let args = [
        "crawl",
        &url,
        "-q",
        "-o",
        out_s,
        "--skip-existing",
        "-c",
        "8",
        "--max-in-flight",
        "8",
        "--lookahead",
        "2",
    ];
    let mut running = start(&args);
    let count = || {
        names_in(out.path())
            .iter()
            .filter(|n| !n.starts_with('.'))
            .count()
    };
    assert!(eventually(|| count() >= FILES / 4), "no progress to kill");
    running.kill();
    let _ = running.wait(PATIENCE);
    let before = count();
    assert!(before < FILES, "the kill came too late to test anything");

    let rerun = crawl(&url, out.path(), &["--skip-existing"]);
    assert_eq!(rerun.status, Some(0), "{rerun}");
    assert_eq!(verify_text(out.path()), format!("ok: {FILES} files"));
    let stats = server.stats();
    let mut total = 0;
    for id in server.ids() {
        let n = stats.path_count(&format!("/api/download/{id}"));
        assert!((1..=2).contains(&n), "{id} downloaded {n} times");
        total += n;
    }
    assert!(
        total <= FILES as u64 + IN_FLIGHT,
        "{total} downloads for {FILES} files and at most {IN_FLIGHT} in flight at the kill"
    );
    assert!(
        rerun.count("skipped") >= before as u64 - IN_FLIGHT,
        "{rerun}"
    );
    server.shutdown().unwrap();
}

/// More saved URLs than one refill reports at once (1024): the rerun still ends, every
/// one skipped, none requested.
#[test]
fn a_long_list_of_saved_urls_is_skipped_in_batches() {
    let server = server();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let urls: Vec<String> = (0..2500).map(|n| server.url(&format!("/l/{n}"))).collect();
    let list = write_list(tmp.path(), &urls);
    let first = get(&out, &list, "reactor", &["-c", "8"]);
    assert_eq!(first.count("ok"), 2500, "{first}");
    // One more URL at the end, after all the saved ones: it alone is fetched (once).
    let mut longer = urls.clone();
    longer.push(server.url("/l/new"));
    let list = write_list(tmp.path(), &longer);
    for engine in ENGINES {
        let before = server.stats().requests.len();
        let again = get(&out, &list, engine, &[]);
        assert_eq!(again.status, Some(0), "{again}");
        // The first engine fetches the new URL; the next ones find it saved too.
        let first_rerun = engine == ENGINES[0];
        let expected = if first_rerun { 2500 } else { 2501 };
        assert_eq!(again.count("skipped"), expected, "{again}");
        let asked = server.stats().requests.len() - before;
        assert_eq!(asked, usize::from(first_rerun), "{again}");
    }
}

/// Large bodies go to the reactor's disk threads (and `splice(2)`): they are recorded
/// like the others, with each engine.
#[test]
fn large_bodies_are_recorded_and_skipped_too() {
    let server = reference().start();
    for engine in ENGINES {
        let out = tempfile::tempdir().unwrap();
        let urls: Vec<String> = [300_000, 1_000_000]
            .iter()
            .map(|n| format!("{}/bytes/{n}", server.base_url()))
            .collect();
        let mut args = get_args(out.path(), &["--skip-existing", "--engine", engine]);
        args.extend(urls.iter().map(String::as_str));
        let first = miodl(&args);
        assert_eq!(first.count("ok"), 2, "{first}");
        assert_eq!(
            fs::read(out.path().join("1000000")).unwrap(),
            support::pattern(1_000_000)
        );
        let again = miodl(&args);
        assert_eq!(
            (again.count("skipped"), again.count("requests")),
            (2, 0),
            "{again}"
        );
    }
    server.shutdown().unwrap();
}

/// Two processes that each map a different URL to the name `x`, one after the other:
/// the second finds `x` taken in the record and saves `x.1`. And a file replaced under
/// its name by someone else (as a shard writing at the same moment would) is not the
/// recorded file any more: the rerun fetches its URL again.
#[test]
fn names_recorded_by_one_process_are_kept_by_the_next() {
    let server = server();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let (a, b) = (server.url("/a/x"), server.url("/b/x"));
    for url in [&a, &b] {
        let run = miodl(&get_args(&out, &["--skip-existing", url]));
        assert_eq!(run.count("ok"), 1, "{run}");
    }
    assert_eq!(fs::read(out.join("x")).unwrap(), b"/a/x");
    assert_eq!(fs::read(out.join("x.1")).unwrap(), b"/b/x");

    let other = tmp.path().join("other");
    fs::write(&other, "written by another process").unwrap();
    fs::rename(&other, out.join("x")).unwrap();
    let list = write_list(tmp.path(), &[a, b]);
    let rerun = get(&out, &list, "reactor", &[]);
    assert_eq!(
        (rerun.count("ok"), rerun.count("skipped")),
        (1, 1),
        "{rerun}"
    );
    assert_eq!(server.stats().requests.last().unwrap().path, "/a/x");
    assert_eq!(fs::read(out.join("x")).unwrap(), b"/a/x");
    assert_eq!(fs::read(out.join("x.1")).unwrap(), b"/b/x");
    let last = get(&out, &list, "reactor", &[]);
    assert_eq!(
        (last.count("requests"), last.count("skipped")),
        (0, 2),
        "{last}"
    );
}
