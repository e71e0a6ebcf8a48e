//! A tiny blocking HTTP/1.1 client for the reference server's tests.
//!
//! Deliberately independent of miodl's own client so the server is checked by a second
//! implementation. Every socket has read and write timeouts; every loop is bounded.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// How long any single read may wait before a test fails instead of hanging.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// A parsed response.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        (self.headers.iter())
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// How a raw read ended.
#[derive(Debug, PartialEq, Eq)]
pub enum End {
    Eof,
    Reset,
    Timeout,
    /// `limit` bytes arrived first.
    Limit,
    Other(io::ErrorKind),
}

/// One client connection with a read buffer.
pub struct Client {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    pub fn open(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect_timeout(&addr, TIMEOUT).expect("connect");
        stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        stream.set_write_timeout(Some(TIMEOUT)).unwrap();
        Client {
            stream,
            buf: Vec::new(),
        }
    }

    pub fn send(&mut self, raw: &str) {
        self.stream.write_all(raw.as_bytes()).expect("send request");
    }

    pub fn get(&mut self, path: &str) -> Response {
        self.send(&format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n"));
        self.read_response()
    }

    pub fn post_form(&mut self, path: &str, form: &str) -> Response {
        self.send(&format!(
            "POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
            form.len()
        ));
        self.read_response()
    }

    /// Reads one more chunk into the buffer; panics on EOF or error.
    fn more(&mut self) {
        let mut chunk = [0u8; 64 * 1024];
        let n = self.stream.read(&mut chunk).expect("read response");
        assert!(n > 0, "unexpected EOF after {} bytes", self.buf.len());
        self.buf.extend_from_slice(&chunk[..n]);
    }

    fn take(&mut self, n: usize) -> Vec<u8> {
        while self.buf.len() < n {
            self.more();
        }
        self.buf.drain(..n).collect()
    }

    fn line(&mut self) -> String {
        for _ in 0..10_000 {
            if let Some(i) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = String::from_utf8_lossy(&self.buf[..i]).into_owned();
                self.buf.drain(..i + 2);
                return line;
            }
            self.more();
        }
        panic!("no line end");
    }

    /// Reads one whole response (Content-Length, chunked, or until EOF).
    pub fn read_response(&mut self) -> Response {
        let (status, headers, used) = loop {
            let mut headers = [httparse::EMPTY_HEADER; 64];
            let mut resp = httparse::Response::new(&mut headers);
            match resp.parse(&self.buf).expect("valid response head") {
                httparse::Status::Complete(used) => {
                    let headers = (resp.headers.iter())
                        .map(|h| {
                            (
                                h.name.to_string(),
                                String::from_utf8_lossy(h.value).into_owned(),
                            )
                        })
                        .collect::<Vec<_>>();
                    break (resp.code.unwrap(), headers, used);
                }
                httparse::Status::Partial => self.more(),
            }
        };
        self.buf.drain(..used);
        let mut response = Response {
            status,
            headers,
            body: Vec::new(),
        };
        if response.header("transfer-encoding").is_some() {
            loop {
                let size = usize::from_str_radix(self.line().trim(), 16).expect("chunk size");
                if size == 0 {
                    assert_eq!(self.line(), "", "no trailers expected");
                    break;
                }
                let data = self.take(size);
                response.body.extend_from_slice(&data);
                assert_eq!(self.take(2), b"\r\n");
            }
        } else if let Some(len) = response.header("content-length") {
            response.body = self.take(len.parse().expect("content-length"));
        } else {
            let (rest, end) = self.read_raw(usize::MAX);
            assert_eq!(end, End::Eof);
            response.body = rest;
        }
        response
    }

    /// Reads whatever arrives until EOF, an error, or `limit` bytes; returns it and how
    /// the read ended (bytes already buffered come first).
    pub fn read_raw(&mut self, limit: usize) -> (Vec<u8>, End) {
        let mut out = std::mem::take(&mut self.buf);
        let mut chunk = [0u8; 64 * 1024];
        while out.len() < limit {
            match self.stream.read(&mut chunk) {
                Ok(0) => return (out, End::Eof),
                Ok(n) => out.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => return (out, End::Reset),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    return (out, End::Timeout)
                }
                Err(e) => return (out, End::Other(e.kind())),
            }
        }
        (out, End::Limit)
    }
}

/// Splits a raw response into (head, body) at the first blank line.
pub fn split_head(raw: &[u8]) -> (String, &[u8]) {
    let at = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete head");
    (
        String::from_utf8_lossy(&raw[..at]).into_owned(),
        &raw[at + 4..],
    )
}
