//! Open files as a bound (docs/reference.md, "Bounds"): `-c 1000` under an open-file
//! limit of 256 still saves every file, because miodl raises the soft limit to the hard
//! one, shrinks the pool to what fits (and says so once), and treats `EMFILE` as "wait
//! for a socket to close", never as a broken output.
//!
//! The binary runs under a lowered limit (`sh -c 'ulimit -n 256; exec miodl ...'`);
//! the server is the test's own, in this process with its normal limit.

mod support;

use std::io::Write;

use support::scripted::*;
use support::*;

/// Small files, as many as the reproduction.
const FILES: usize = 1500;

/// A server answering every path with its own path, and a `-i` file of `FILES` URLs.
fn server_and_list(dir: &std::path::Path) -> (Server, std::path::PathBuf) {
    // A short pause before each answer keeps the sockets open side by side, so the
    // peak the server counts is the pool's, not the machine's scheduling.
    let server = Server::start(|req| {
        (Script::new().sleep(std::time::Duration::from_millis(20))).write(response(
            200,
            &[],
            req.path.as_bytes(),
        ))
    });
    let list = dir.join("urls.txt");
    let mut file = std::fs::File::create(&list).expect("create the URL list");
    for i in 0..FILES {
        writeln!(file, "{}", server.url(&format!("/f/{i}.txt"))).expect("write the URL list");
    }
    (server, list)
}

/// `get -c 1000` of the `FILES` URLs under `limits`, with `engine`; every file must be
/// saved, whole, with exit status 0.
fn get_all(limits: &str, connections: &str, engine: &str) -> (Run, Server) {
    let lists = out_dir();
    let (server, list) = server_and_list(lists.path());
    let out = out_dir();
    let list = list.to_str().expect("utf-8 path");
    let extra = ["-c", connections, "--engine", engine, "-i", list];
    let run = miodl_under(limits, &get_args(out.path(), &extra));
    assert_eq!(run.status, Some(0), "{engine}: every file saved\n{run}");
    assert_eq!(run.count("ok"), FILES as u64, "{engine}\n{run}");
    let files = saved(out.path());
    assert_eq!(files.len(), FILES, "{engine}");
    for i in [0, FILES / 2, FILES - 1] {
        let name = format!("{i}.txt");
        assert_eq!(files[&name], format!("/f/{name}").as_bytes(), "{engine}");
    }
    assert_no_temp_files(out.path());
    (run, server)
}

/// The stderr lines that say the pool shrank.
fn shrink_lines(run: &Run) -> Vec<&str> {
    (run.stderr_lines().into_iter())
        .filter(|l| l.contains("open files"))
        .collect()
}

fn a_pool_too_large_for_the_limit_shrinks_with(engine: &str) {
    let (run, server) = get_all("ulimit -n 256", "1000", engine);
    let said = shrink_lines(&run);
    assert_eq!(said.len(), 1, "{engine}: said once\n{run}");
    let line = said[0];
    assert!(
        line.starts_with("miodl: warning: -c 1000 needs about ")
            && line.contains(" open files and the limit is 256: using -c "),
        "{engine}: {line}"
    );
    let using: usize = line.rsplit(' ').next().unwrap().parse().expect("a number");
    // A worker holds a socket and a file for its whole transfer: two descriptors each.
    // The reactor's sockets count one each (staged files share what is left).
    let fits = if engine == "threads" {
        1..128
    } else {
        128..256
    };
    assert!(fits.contains(&using), "{engine}: {line}");
    assert!(
        server.stats().max_open <= using,
        "{engine}: the pool held to it"
    );
}

#[test]
fn a_pool_too_large_for_the_limit_shrinks_and_saves_every_file_reactor() {
    a_pool_too_large_for_the_limit_shrinks_with("reactor");
}

#[test]
fn a_pool_too_large_for_the_limit_shrinks_and_saves_every_file_threads() {
    a_pool_too_large_for_the_limit_shrinks_with("threads");
}

fn the_soft_limit_is_raised_to_the_hard_one_with(engine: &str) {
    // 300 connections need about 620 open files: more than the soft limit, less than
    // the hard one.
    let (run, server) = get_all("ulimit -S -n 256 && ulimit -H -n 4096", "300", engine);
    assert_eq!(
        shrink_lines(&run),
        Vec::<&str>::new(),
        "{engine}: no shrinking\n{run}"
    );
    let held = server.stats().max_open;
    assert!(
        held > 128,
        "{engine}: {held} sockets at once, beyond a soft limit of 256"
    );
}

#[test]
fn the_soft_limit_is_raised_to_the_hard_one_reactor() {
    the_soft_limit_is_raised_to_the_hard_one_with("reactor");
}

#[test]
fn the_soft_limit_is_raised_to_the_hard_one_threads() {
    the_soft_limit_is_raised_to_the_hard_one_with("threads");
}

#[test]
fn bodies_wait_for_a_staged_files_descriptor_instead_of_failing_reactor() {
    // 200 sockets under a limit of 256 leave a few dozen descriptors for staged files.
    // Every body comes in three parts, 600 ms apart, so each file stays open across
    // turns: the reactor must hold the other sockets back before their bodies start
    // (not meet EMFILE, which would send jobs back and ask for them again). Those wait
    // about 1.2 s, beyond `--timeout 1` (the bodies' own silences are 0.6 s): waiting
    // for a descriptor is not the server's silence.
    const BODIES: usize = 300;
    let server = Server::start(|req| {
        let body = req.path.repeat(512);
        let answer = response(200, &[], body.as_bytes());
        let third = answer.len() / 3;
        let pause = std::time::Duration::from_millis(600);
        (Script::new().write(&answer[..third]))
            .sleep(pause)
            .write(&answer[third..2 * third])
            .sleep(pause)
            .write(&answer[2 * third..])
    });
    let lists = out_dir();
    let list = lists.path().join("urls.txt");
    let mut file = std::fs::File::create(&list).expect("create the URL list");
    for i in 0..BODIES {
        writeln!(file, "{}", server.url(&format!("/f/{i}.txt"))).expect("write the list");
    }
    let out = out_dir();
    let list = list.to_str().expect("utf-8 path");
    let extra = ["-c", "200", "--retries", "0", "--timeout", "1", "-i", list];
    let run = miodl_under("ulimit -n 256", &get_args(out.path(), &extra));
    assert_eq!(run.status, Some(0), "every file saved\n{run}");
    assert_eq!(shrink_lines(&run), Vec::<&str>::new(), "-c 200 fits\n{run}");
    let files = saved(out.path());
    assert_eq!(files.len(), BODIES);
    for i in [0, BODIES / 2, BODIES - 1] {
        let path = format!("/f/{i}.txt");
        assert_eq!(files[&format!("{i}.txt")], path.repeat(512).as_bytes());
    }
    assert_no_temp_files(out.path());
    let stats = server.stats();
    assert_eq!(stats.requests.len(), BODIES, "no request asked twice");
    assert!(
        stats.max_open > 128,
        "{} sockets at once: more than half the limit",
        stats.max_open
    );
}
