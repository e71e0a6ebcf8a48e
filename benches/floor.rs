//! The floor: the same files from the same server with only the work no downloader can
//! avoid, so `benches/compare.sh` can say how far miodl (and every peer) is from the
//! machine itself.
//!
//! ```text
//! cargo bench --bench floor -- LIST OUT N
//! cargo bench --bench floor -- connect HOST:PORT N
//! ```
//!
//! The second form is the floor of opening sockets (`benches/ten-thousand.sh`): N
//! nonblocking `connect`s to HOST:PORT in a row, each socket made nonblocking by
//! `socket(2)` and given `TCP_NODELAY` as miodl's are, and nothing else (no poll, no
//! request); it prints how long they took. On loopback each `connect` runs the whole
//! handshake, the server's half included, in the caller.
//!
//! LIST holds one `http://HOST:PORT/PATH` a line, every file of one size and every URL on
//! one server (compare.sh's lists). The first URL's head is asked alone (`HEAD`) to learn
//! the length of one whole answer (head and body); every answer is then assumed to have
//! exactly that length, which holds for equally sized files from one nginx. Then:
//!
//! - **small** bodies (under 256 KiB, where miodl stops splicing): one thread, one `mio::Poll`, N kept-alive sockets.
//!   Each request is prepared before the clock matters (one buffer, offsets into it);
//!   each answer is read with `recvfrom` into a buffer of the known length, nothing is
//!   parsed, and the body is made a file the way miodl makes one whole: `openat(O_TMPFILE)`,
//!   `write`, `linkat`, `close`;
//! - **large** bodies: the same one thread and N sockets; the head is read to its known
//!   length and no further, and the body moves socket → pipe → file with `splice(2)`
//!   (one pipe, enlarged to 1 MiB and emptied after every move, as miodl's), then
//!   `linkat`.
//!
//! What the floor leaves out is exactly what a downloader adds: parsing heads, framing,
//! checking URLs and names, the policy (pool, retries, timeouts), events, and reading
//! until `EAGAIN` (the floor knows when an answer is over). Errors end the run: a floor
//! that fails is not a floor. The output is checked like every peer's (diff -r).
//!
//! Linux only (O_TMPFILE, splice); the program says so and exits elsewhere.

#[cfg(target_os = "linux")]
fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if let [what, address, n] = args.as_slice() {
        if what == "connect" {
            let address = std::net::ToSocketAddrs::to_socket_addrs(address.as_str())
                .expect("HOST:PORT")
                .next()
                .expect("an address");
            linux::connect_only(address, n.parse().expect("N: a number of sockets"));
            return;
        }
    }
    let [list, out, n] = args.as_slice() else {
        eprintln!("usage: floor LIST OUT N | floor connect HOST:PORT N");
        std::process::exit(2);
    };
    let conn: usize = n.parse().expect("N: a number of connections");
    let text = std::fs::read_to_string(list).expect("LIST: readable");
    let urls: Vec<Url> = text
        .lines()
        .filter(|l| !l.is_empty())
        .map(Url::parse)
        .collect();
    std::fs::create_dir_all(out).expect("OUT: creatable");
    let dir = linux::Dir::open(out);
    let (head_len, body_len) = linux::probe(&urls[0]);
    if body_len < 256 << 10 {
        linux::small(&urls, &dir, conn, head_len + body_len, head_len);
    } else {
        linux::large(&urls, &dir, conn, head_len, body_len);
    }
}

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("floor: Linux only (O_TMPFILE, splice)");
    std::process::exit(2);
}

/// One URL of the list, split once: where to connect, what to ask, what to name.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
struct Url {
    authority: String,
    path: String,
    name: std::ffi::CString,
}

#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
impl Url {
    fn parse(line: &str) -> Url {
        let rest = line.strip_prefix("http://").expect("only http:// URLs");
        let (authority, path) = rest.split_at(rest.find('/').expect("URL: a path"));
        let name = path.rsplit('/').next().expect("URL: a name");
        Url {
            authority: authority.to_string(),
            path: path.to_string(),
            name: std::ffi::CString::new(name).expect("name without NUL"),
        }
    }

    fn request(&self) -> String {
        format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\n\r\n",
            self.path, self.authority
        )
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use std::fs::File;
    use std::io::{self, Read, Write};
    use std::net::TcpStream;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

    use mio::{Events, Interest, Poll, Token};
    use rustix::pipe::{fcntl_setpipe_size, pipe, splice, SpliceFlags};

    use super::Url;

    /// The output directory, opened once.
    pub struct Dir(OwnedFd);

    impl Dir {
        pub fn open(path: &str) -> Dir {
            Dir(File::open(path).expect("OUT: openable").into())
        }

        /// `openat(O_TMPFILE)`: a file with no name yet.
        fn unnamed(&self) -> File {
            let flags = libc::O_TMPFILE | libc::O_WRONLY | libc::O_CLOEXEC;
            // SAFETY: a NUL-terminated path; the descriptor returned is new and owned here.
            let fd = unsafe { libc::openat(self.0.as_raw_fd(), c".".as_ptr(), flags, 0o666) };
            assert!(fd >= 0, "O_TMPFILE: {}", io::Error::last_os_error());
            // SAFETY: `fd` is freshly opened and owned by nothing else.
            File::from(unsafe { OwnedFd::from_raw_fd(fd) })
        }

        /// `linkat(AT_EMPTY_PATH)`: the file gets its name, whole.
        fn name(&self, file: &File, name: &std::ffi::CStr) {
            let (from, to) = (file.as_raw_fd(), self.0.as_raw_fd());
            // SAFETY: NUL-terminated paths, open descriptors.
            let r =
                unsafe { libc::linkat(from, c"".as_ptr(), to, name.as_ptr(), libc::AT_EMPTY_PATH) };
            assert!(r == 0, "linkat: {}", io::Error::last_os_error());
        }

        /// The small file's whole life on disk: four syscalls.
        fn save(&self, name: &std::ffi::CStr, body: &[u8]) {
            let mut file = self.unnamed();
            file.write_all(body).expect("write");
            self.name(&file, name);
        }
    }

    /// Asks the first URL's head alone (`HEAD`, parsed: the one time the floor parses)
    /// and returns its length and the body's, which every `GET` answer then has.
    pub fn probe(url: &Url) -> (usize, usize) {
        let mut socket = TcpStream::connect(&url.authority).expect("connect");
        let head = url.request().replacen("GET", "HEAD", 1);
        socket.write_all(head.as_bytes()).expect("send");
        let (head_len, body_len, _) = read_head(&mut socket);
        (head_len, body_len)
    }

    /// Reads until the head is whole; returns its length, the Content-Length and the
    /// bytes read so far.
    fn read_head(socket: &mut TcpStream) -> (usize, usize, Vec<u8>) {
        let mut got = Vec::new();
        let mut chunk = [0u8; 65536];
        loop {
            let n = socket.read(&mut chunk).expect("read");
            assert!(n > 0, "the server closed before the head ended");
            got.extend_from_slice(&chunk[..n]);
            if let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = std::str::from_utf8(&got[..end]).expect("a text head");
                let length = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().to_string())
                    })
                    .expect("Content-Length")
                    .parse()
                    .expect("a number");
                return (end + 4, length, got);
            }
        }
    }

    /// `n` nonblocking connects to `address` in a row, timed; the sockets stay open until
    /// the report is printed.
    pub fn connect_only(address: std::net::SocketAddr, n: usize) {
        use socket2::{Domain, Protocol, Socket, Type};
        let started = std::time::Instant::now();
        let sockets: Vec<Socket> = (0..n)
            .map(|_| {
                let kind = Type::STREAM.nonblocking();
                let socket = Socket::new(Domain::for_address(address), kind, Some(Protocol::TCP))
                    .expect("socket");
                socket.set_tcp_nodelay(true).expect("TCP_NODELAY");
                match socket.connect(&address.into()) {
                    Ok(()) => {}
                    Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
                    Err(e) => panic!("connect: {e}"),
                }
                socket
            })
            .collect();
        let took = started.elapsed();
        println!(
            "{n} connects in a row: {:.1} ms, {:.1} µs each",
            took.as_secs_f64() * 1e3,
            took.as_secs_f64() * 1e6 / n.max(1) as f64
        );
        drop(sockets);
    }

    /// A poll and `conn` sockets (at most one per URL) connecting to the list's server,
    /// socket `i` registered as token `i`.
    fn connect_all(urls: &[Url], conn: usize) -> (Poll, Vec<mio::net::TcpStream>) {
        let address = std::net::ToSocketAddrs::to_socket_addrs(&urls[0].authority)
            .expect("address")
            .next()
            .expect("an address");
        let poll = Poll::new().expect("epoll");
        let sockets = (0..conn.min(urls.len()))
            .map(|i| {
                let mut socket = mio::net::TcpStream::connect(address).expect("connect");
                let interest = Interest::READABLE | Interest::WRITABLE;
                poll.registry()
                    .register(&mut socket, Token(i), interest)
                    .expect("register");
                socket
            })
            .collect();
        (poll, sockets)
    }

    /// One socket of the small-file loop.
    struct Slot {
        socket: mio::net::TcpStream,
        file: usize,
        sent: usize,
        got: usize,
        answer: Vec<u8>,
    }

    /// Small files: one thread, N sockets, fixed-length reads.
    pub fn small(urls: &[Url], dir: &Dir, conn: usize, answer_len: usize, head_len: usize) {
        let mut requests = String::new();
        let mut at = vec![0];
        for url in urls {
            requests.push_str(&url.request());
            at.push(requests.len());
        }
        let requests = requests.as_bytes();
        let (mut poll, sockets) = connect_all(urls, conn);
        let mut slots: Vec<Slot> = (sockets.into_iter().enumerate())
            .map(|(file, socket)| Slot {
                socket,
                file,
                sent: 0,
                got: 0,
                answer: vec![0; answer_len],
            })
            .collect();
        let (mut next, mut done) = (slots.len(), 0);
        let mut events = Events::with_capacity(1024);
        while done < urls.len() {
            poll.poll(&mut events, None).expect("epoll_wait");
            for event in events.iter() {
                let slot = &mut slots[event.token().0];
                if slot.file >= urls.len() {
                    continue;
                }
                loop {
                    let request = &requests[at[slot.file]..at[slot.file + 1]];
                    if slot.sent < request.len() {
                        match slot.socket.write(&request[slot.sent..]) {
                            Ok(n) => slot.sent += n,
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                            Err(e) if e.kind() == io::ErrorKind::NotConnected => break,
                            Err(e) => panic!("send: {e}"),
                        }
                        continue;
                    }
                    match slot.socket.read(&mut slot.answer[slot.got..]) {
                        Ok(0) => panic!("the server closed a kept-alive socket"),
                        Ok(n) => slot.got += n,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) => panic!("read: {e}"),
                    }
                    if slot.got < answer_len {
                        continue;
                    }
                    dir.save(&urls[slot.file].name, &slot.answer[head_len..]);
                    done += 1;
                    (slot.file, slot.sent, slot.got) = (next, 0, 0);
                    next += 1;
                    if slot.file >= urls.len() {
                        break;
                    }
                }
            }
        }
    }

    /// Where one socket of the large-file loop is.
    enum Step {
        /// Writing the request (this many bytes of it sent).
        Send(usize),
        /// Reading the head, exactly its known length, no further (so many bytes read).
        Head(usize),
        /// Moving the body into its file; so many bytes still to come.
        Body(File, usize),
    }

    /// Large files: one thread, N sockets, each body spliced socket -> pipe -> file
    /// (one 1 MiB pipe, emptied after every move), as miodl's reactor does it.
    pub fn large(urls: &[Url], dir: &Dir, conn: usize, head_len: usize, body_len: usize) {
        let (read_end, write_end) = pipe().expect("pipe");
        let _ = fcntl_setpipe_size(&write_end, 1 << 20);
        let (mut poll, sockets) = connect_all(urls, conn);
        let mut slots: Vec<_> = (sockets.into_iter().enumerate())
            .map(|(file, socket)| (socket, file, Step::Send(0)))
            .collect();
        let (mut next, mut done) = (slots.len(), 0);
        let mut head = vec![0u8; head_len];
        let mut events = Events::with_capacity(1024);
        while done < urls.len() {
            poll.poll(&mut events, None).expect("epoll_wait");
            for event in events.iter() {
                let (socket, file_no, step) = &mut slots[event.token().0];
                while *file_no < urls.len() {
                    let url = &urls[*file_no];
                    let blocked = match step {
                        Step::Send(sent) => {
                            let request = url.request();
                            match socket.write(&request.as_bytes()[*sent..]) {
                                Ok(n) => {
                                    *sent += n;
                                    if *sent == request.len() {
                                        *step = Step::Head(0);
                                    }
                                    false
                                }
                                Err(e)
                                    if matches!(
                                        e.kind(),
                                        io::ErrorKind::WouldBlock | io::ErrorKind::NotConnected
                                    ) =>
                                {
                                    true
                                }
                                Err(e) => panic!("send: {e}"),
                            }
                        }
                        Step::Head(got) => match socket.read(&mut head[*got..]) {
                            Ok(0) => panic!("the server closed a kept-alive socket"),
                            Ok(n) if *got + n == head_len => {
                                *step = Step::Body(dir.unnamed(), body_len);
                                false
                            }
                            Ok(n) => {
                                *got += n;
                                false
                            }
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => true,
                            Err(e) => panic!("read: {e}"),
                        },
                        Step::Body(file, left) => {
                            let flags = SpliceFlags::MOVE | SpliceFlags::NONBLOCK;
                            match splice(
                                &*socket,
                                None,
                                &write_end,
                                None,
                                (*left).min(1 << 20),
                                flags,
                            ) {
                                Ok(0) => panic!("the server closed mid-body"),
                                Ok(moved) => {
                                    let mut in_pipe = moved;
                                    while in_pipe > 0 {
                                        in_pipe -= splice(
                                            &read_end,
                                            None,
                                            &*file,
                                            None,
                                            in_pipe,
                                            SpliceFlags::MOVE,
                                        )
                                        .expect("splice into the file");
                                    }
                                    *left -= moved;
                                    if *left == 0 {
                                        dir.name(file, &url.name);
                                        done += 1;
                                        (*file_no, *step) = (next, Step::Send(0));
                                        next += 1;
                                    }
                                    false
                                }
                                Err(e) if e == rustix::io::Errno::AGAIN => true,
                                Err(e) => panic!("splice from the socket: {e}"),
                            }
                        }
                    };
                    if blocked {
                        break;
                    }
                }
            }
        }
    }
}
