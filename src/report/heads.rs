//! `-v`: request and response heads as a person reads them on stderr, curl's way.
//!
//! Each line of a head is printed after `> ` (sent) or `< ` (received). The values of
//! the headers that carry credentials (`Authorization`, `Proxy-Authorization`, `Cookie`,
//! `Set-Cookie`) are replaced by `[redacted]`, so `-u user:secret` never reaches a
//! terminal or a log. A server's bytes are not trusted with the terminal either:
//! control characters are printed escaped (`\x1b`), never as themselves.
//!
//! Layer: `report`; may use `protocol`, `model`, `policy`, `output`, `transport` and `engine` (see `src/report/mod.rs`).

use std::fmt::Write as _;

/// Headers whose values are never printed.
const SECRET: [&str; 4] = [
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
];

/// Appends `head` to `out`, one `> ` or `< ` line per line of the head (the blank line
/// that ends it left off), credentials redacted.
pub fn write_head(out: &mut String, head: &[u8], outgoing: bool) {
    let prefix = if outgoing { "> " } else { "< " };
    for line in head.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        out.push_str(prefix);
        let secret_name = line
            .iter()
            .position(|&b| b == b':')
            .map(|colon| &line[..colon])
            .filter(|name| {
                SECRET
                    .iter()
                    .any(|s| name.eq_ignore_ascii_case(s.as_bytes()))
            });
        match secret_name {
            Some(name) => {
                push_escaped(out, name);
                out.push_str(": [redacted]");
            }
            None => push_escaped(out, line),
        }
        out.push('\n');
    }
}

/// Appends `bytes` as text: valid UTF-8 as it is, control characters and bad bytes
/// escaped.
fn push_escaped(out: &mut String, bytes: &[u8]) {
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_control() && c != '\t' {
                let _ = write!(out, "\\x{:02x}", c as u32);
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::write_head;

    fn printed(head: &[u8], outgoing: bool) -> String {
        let mut out = String::new();
        write_head(&mut out, head, outgoing);
        out
    }

    #[test]
    fn a_request_is_printed_line_by_line_with_its_credentials_redacted() {
        let head = b"GET /a HTTP/1.1\r\nHost: h\r\nAuthorization: Basic dXNlcjpzZWNyZXQ=\r\n\
                     cookie: s=1\r\nPROXY-AUTHORIZATION: Basic eA==\r\n\r\n";
        assert_eq!(
            printed(head, true),
            "> GET /a HTTP/1.1\n> Host: h\n> Authorization: [redacted]\n\
             > cookie: [redacted]\n> PROXY-AUTHORIZATION: [redacted]\n"
        );
    }

    #[test]
    fn a_response_is_printed_with_its_cookies_redacted() {
        let head = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nSet-Cookie: id=42\r\n\r\n";
        assert_eq!(
            printed(head, false),
            "< HTTP/1.1 200 OK\n< Content-Length: 3\n< Set-Cookie: [redacted]\n"
        );
    }

    #[test]
    fn control_characters_and_bad_bytes_are_escaped() {
        let head = b"HTTP/1.1 200 OK\r\nX-A: \x1b[2J\xff\r\n\r\n";
        assert_eq!(
            printed(head, false),
            "< HTTP/1.1 200 OK\n< X-A: \\x1b[2J\\xff\n"
        );
    }
}
