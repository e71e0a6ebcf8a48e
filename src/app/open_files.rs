//! Open files as a resource the run plans for: raise the limit, then size the pool to it.
//!
//! Every transfer holds descriptors: its socket, and while a body is written the staged
//! file; a large body lent to a disk thread holds duplicates of both there. So `-c` is
//! also a claim on the process's open-file limit (`RLIMIT_NOFILE`), whose soft value is
//! often 1024 while the hard one is far higher. Before the engine starts, [`plan`]:
//!
//! 1. raises the soft limit to the hard one (on macOS at most `OPEN_MAX`, which
//!    `setrlimit` there refuses to exceed), as Go's runtime and many servers do;
//! 2. counts the descriptors the process holds already (stdio, the output directory,
//!    `-i` files, a library caller's listeners) and adds what the engine opens for
//!    itself (its poller, waker and pipes, a resolver's files), the reserve;
//! 3. shrinks `-c` to what fits beside the reserve, and says so once. The threads
//!    engine's workers (which `-c` bounds) hold a socket and a file each for a whole
//!    transfer: [`PER_TRANSFER`] descriptors a worker. The reactor's sockets count one
//!    each: a staged file is open only while its body is written, so when a file for
//!    every socket does not fit, the files get what is left (at least [`STAGED_MIN`])
//!    and the reactor holds a socket back before it starts a body while that share is
//!    taken (`TransferOptions::staged_files`). So `-c 10000` under a limit of 20,000
//!    keeps its 10,000 sockets. `-c 0` (no limit) splits the limit evenly.
//!
//! That is an estimate, made once; what it misses (descriptors taken later by something
//! else) is met as backpressure during the run: `EMFILE` sends the job back to wait for
//! a socket to close (`Scheduler::on_error`, `Pool::shrink_to_open`). See
//! docs/reference.md, "Bounds".
//!
//! Layer: `app`; may use `protocol`, `model`, `policy`, `output`, `transport`, `engine`, `report` and `serve` (see `src/app/mod.rs`).

use std::fmt;

use crate::model::options::{Engine, TransferOptions};

/// Descriptors one transfer holds at most: its socket and its staged file (a threads
/// engine's worker holds both for the whole transfer).
pub const PER_TRANSFER: u64 = 2;
/// Descriptors the reactor keeps for staged files at least, however many sockets `-c`
/// asks for.
pub const STAGED_MIN: u64 = 16;
/// Descriptors the engine may open besides its transfers: the reactor's poller, waker and
/// splice pipe, a resolver's sockets and files, the `--trace` file, with room to spare.
const ENGINE_OWN: u64 = 16;
/// Descriptors each disk thread may hold: its pipe, and the duplicates of a lent socket
/// and staged file.
const PER_DISK_THREAD: u64 = 4;

/// `-c` had to shrink to fit the open-file limit: the line said once on stderr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shrunk {
    /// The connections (or workers) asked for.
    pub wanted: usize,
    /// About how many open files they would need, the reserve included.
    pub needed: u64,
    /// The open-file limit in force (after raising it).
    pub limit: u64,
    /// The connections the run uses instead.
    pub using: usize,
}

impl fmt::Display for Shrunk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "-c {} needs about {} open files and the limit is {}: using -c {}",
            self.wanted,
            grouped(self.needed),
            grouped(self.limit),
            self.using
        )
    }
}

/// Raises the open-file limit and sizes `options.connections` to it; `Some` when a `-c`
/// the user asked for had to shrink (the caller says so). `-c 0` (no limit) becomes the
/// number that fits, silently: the open-file limit is then the limit.
pub fn plan(options: &mut TransferOptions) -> Option<Shrunk> {
    let limit = raise_limit()?;
    let open = open_now().unwrap_or(ENGINE_OWN);
    fit(options, limit, open)
}

/// [`plan`] without the system: `limit` open files, `open` of them held already.
pub fn fit(options: &mut TransferOptions, limit: u64, open: u64) -> Option<Shrunk> {
    match options.engine {
        Engine::Blocking => None,
        Engine::Reactor => {
            let disk = PER_DISK_THREAD.saturating_mul(options.disk_threads as u64);
            fit_reactor(options, limit, open + ENGINE_OWN + disk)
        }
        Engine::Threads => {
            let wanted = crate::engine::thread_workers(options);
            let reserve = open + ENGINE_OWN;
            let fits = to_usize((limit.saturating_sub(reserve) / PER_TRANSFER).max(1));
            if wanted <= fits {
                return None;
            }
            options.connections = Some(fits);
            Some(Shrunk {
                wanted,
                needed: reserve.saturating_add(PER_TRANSFER.saturating_mul(wanted as u64)),
                limit,
                using: fits,
            })
        }
    }
}

/// The reactor's share: a descriptor per socket, and what is left for staged files,
/// at least [`STAGED_MIN`]. A file is open only while its body is being written, so
/// fewer files than sockets still keeps every socket busy; the reactor holds a socket
/// back before it starts a body when the files' share is taken
/// (`TransferOptions::staged_files`). `-c 0` splits the limit evenly: a file for every
/// socket.
fn fit_reactor(options: &mut TransferOptions, limit: u64, reserve: u64) -> Option<Shrunk> {
    let available = limit.saturating_sub(reserve);
    let Some(wanted) = options.connections else {
        options.connections = Some(to_usize((available / PER_TRANSFER).max(1)));
        return None;
    };
    let fits = to_usize(available.saturating_sub(STAGED_MIN).max(1));
    let sockets = wanted.min(fits);
    let files = available.saturating_sub(sockets as u64);
    if files < sockets as u64 {
        options.staged_files = Some(to_usize(files.max(1)));
    }
    if sockets == wanted {
        return None;
    }
    options.connections = Some(sockets);
    Some(Shrunk {
        wanted,
        needed: reserve.saturating_add(STAGED_MIN + wanted as u64),
        limit,
        using: sockets,
    })
}

fn to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit; the soft limit in force after, or
/// `None` if it could not be read.
fn raise_limit() -> Option<u64> {
    let mut limits = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes the struct it is given, which lives on this stack.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limits) } != 0 {
        return None;
    }
    // macOS: setrlimit refuses a soft limit above OPEN_MAX (10240) for descriptors
    // (getrlimit's hard limit there is often "unlimited").
    let target = match cfg!(target_os = "macos") {
        true => limits.rlim_max.min(10240),
        false => limits.rlim_max,
    };
    if limits.rlim_cur < target {
        let raised = libc::rlimit {
            rlim_cur: target,
            rlim_max: limits.rlim_max,
        };
        // SAFETY: setrlimit reads the struct it is given.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            limits.rlim_cur = target;
        }
    }
    Some(limits.rlim_cur)
}

/// Descriptors this process holds now (the directory read is one of them, not counted).
fn open_now() -> Option<u64> {
    let dir = ["/proc/self/fd", "/dev/fd"]
        .iter()
        .find_map(|path| std::fs::read_dir(path).ok())?;
    Some((dir.count() as u64).saturating_sub(1))
}

/// `2010` as `2,010`.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(engine: Engine, connections: Option<usize>) -> TransferOptions {
        TransferOptions {
            engine,
            connections,
            disk_threads: 4,
            ..TransferOptions::default()
        }
    }

    #[test]
    fn a_pool_that_does_not_fit_shrinks_and_says_how() {
        let mut reactor = options(Engine::Reactor, Some(1000));
        let shrunk = fit(&mut reactor, 256, 4).expect("1000 do not fit in 256");
        // 4 held + 16 the engine's + 16 for four disk threads = 36; 256 - 36 = 220, of
        // which 16 for staged files at least: 204 sockets.
        assert_eq!(shrunk.using, 204);
        assert_eq!(reactor.connections, Some(204));
        assert_eq!(reactor.staged_files, Some(16));
        assert_eq!(
            shrunk.to_string(),
            "-c 1000 needs about 1,052 open files and the limit is 256: using -c 204"
        );
        let mut threads = options(Engine::Threads, Some(1000));
        let shrunk = fit(&mut threads, 256, 4).expect("1000 workers do not fit in 256");
        assert_eq!(crate::engine::thread_workers(&threads), shrunk.using);
        assert_eq!(shrunk.using, 118);
    }

    #[test]
    fn sockets_count_one_each_and_staged_files_get_the_rest() {
        // 10,000 sockets under the 20,000 of a common hard limit: they fit, and the
        // 9,963 descriptors left are the staged files' share (fewer than the sockets).
        let mut ten_thousand = options(Engine::Reactor, Some(10_000));
        assert_eq!(fit(&mut ten_thousand, 20_000, 5), None, "no shrinking");
        assert_eq!(ten_thousand.connections, Some(10_000));
        assert_eq!(
            ten_thousand.staged_files,
            Some(20_000 - 5 - 16 - 16 - 10_000)
        );
        // A file for every socket: no share of their own.
        let mut roomy = options(Engine::Reactor, Some(9_000));
        assert_eq!(fit(&mut roomy, 20_000, 5), None);
        assert_eq!(roomy.staged_files, None);
        // The threads engine's workers still hold two each.
        let mut threads = options(Engine::Threads, Some(1000));
        let shrunk = fit(&mut threads, 1000, 5).expect("1,000 workers need 2,000");
        assert_eq!(shrunk.using, (1000 - 5 - 16) / 2);
        assert_eq!(threads.staged_files, None);
    }

    #[test]
    fn a_pool_that_fits_is_left_alone_and_no_limit_becomes_the_fit() {
        let mut fits = options(Engine::Reactor, Some(100));
        assert_eq!(fit(&mut fits, 1024, 4), None);
        assert_eq!(fits.connections, Some(100));
        assert_eq!(fits.staged_files, None);
        let mut unlimited = options(Engine::Reactor, None);
        assert_eq!(fit(&mut unlimited, 1024, 4), None, "-c 0 shrinks silently");
        assert_eq!(unlimited.connections, Some(494));
        let mut tiny = options(Engine::Threads, Some(8));
        assert_eq!(
            fit(&mut tiny, 10, 4).map(|s| s.using),
            Some(1),
            "one at least"
        );
        let mut blocking = options(Engine::Blocking, Some(1000));
        assert_eq!(fit(&mut blocking, 10, 4), None, "one socket, always");
    }

    #[test]
    fn large_numbers_are_grouped_by_thousands() {
        let shown: Vec<String> = [0, 999, 1000, 2010, 1048576].map(grouped).into();
        assert_eq!(shown, ["0", "999", "1,000", "2,010", "1,048,576"]);
    }
}
