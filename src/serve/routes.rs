//! The routes of docs/reference.md §1, plus the byte routes the `get` tests use.
//!
//! A route is a pure function from a request (method, target, form body) and the
//! catalog to a [`Reply`]: status, headers and body, not yet framed into bytes. Framing,
//! keep-alive and faults are [`super::response`]'s job, so this file reads like the
//! route table it implements:
//!
//! ```text
//!   POST /api/list_files   start=S&per_page=P  → {"urls": [...]}, More: True|False
//!   GET  /api/list_files                       → {"data": [{"<id>": n}, ...]}
//!   GET  /api/list_files?...  (serve --pages)  → a page in that style (super::pages)
//!   GET  /api/download/<id>                    → "<n+1> of <N>"  (404 if unknown)
//!   GET  /bytes/<n>                            → n pattern bytes, Content-Length, ETag;
//!                                                 Range: bytes=N- → 206 (416 past the end)
//!   GET  /chunked/<n>                          → n pattern bytes, chunked
//! ```
//!
//! Layer: `serve`; may use `protocol`, `model`, `policy`, `output`, `transport`, `engine` and `report` (see `src/serve/mod.rs`).

use std::collections::HashMap;

use super::pages::ServePages;
use super::response::{Body, Reply};

/// The ids a server hands out and where each one sits in the list.
#[derive(Debug)]
pub(super) struct Catalog {
    pub(super) ids: Vec<String>,
    index: HashMap<String, usize>,
}

/// `per_page` when the form does not say.
const DEFAULT_PER_PAGE: usize = 3;
/// The server's cap on `per_page`.
const MAX_PER_PAGE: usize = 5;

impl Catalog {
    pub(super) fn new(ids: Vec<String>) -> Catalog {
        let index = ids
            .iter()
            .enumerate()
            .map(|(n, id)| (id.clone(), n))
            .collect();
        Catalog { ids, index }
    }
}

/// What a request asks beyond its method and target: the rest of a body (`Range:
/// bytes=N-`, dropped by `serve --no-ranges`), if it is still the one `If-Range` names.
#[derive(Debug, Default)]
pub(super) struct Asked<'a> {
    pub range_from: Option<u64>,
    pub if_range: Option<&'a str>,
    /// `serve --etag-salt`.
    pub etag_salt: &'a str,
}

/// Answers one request.
pub(super) fn route(
    catalog: &Catalog,
    pages: ServePages,
    page_cap: usize,
    method: &str,
    target: &str,
    body: &[u8],
    asked: &Asked<'_>,
) -> Reply {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (method, segments.as_slice()) {
        ("POST", ["api", "list_files"]) => list_page(catalog, body),
        ("GET", ["api", "list_files"]) if pages != ServePages::More => {
            super::pages::page(&catalog.ids, pages, page_cap, query)
        }
        ("GET", ["api", "list_files"]) => list_all(catalog),
        ("GET", ["api", "download", id]) => download(catalog, id),
        ("GET", ["bytes", n]) => bytes(n, asked),
        ("GET", ["chunked", n]) => pattern(n, true),
        (_, ["api", "list_files"]) => method_not_allowed("GET, POST"),
        (_, ["api", "download", _] | ["bytes", _] | ["chunked", _]) => method_not_allowed("GET"),
        _ => Reply::text(404, "not found\n"),
    }
}

fn list_page(catalog: &Catalog, body: &[u8]) -> Reply {
    let form = parse_form(body);
    let number = |name: &str, default: usize| match form.get(name) {
        None => Ok(default),
        Some(v) => v.trim().parse::<usize>().map_err(|_| name.to_string()),
    };
    let (start, per_page) = match (number("start", 0), number("per_page", DEFAULT_PER_PAGE)) {
        (Ok(s), Ok(p)) => (s, p),
        (Err(name), _) | (_, Err(name)) => {
            return Reply::text(
                400,
                &format!("bad {name}: expected a non-negative integer\n"),
            )
        }
    };
    if per_page == 0 {
        // An empty page that says "more" would send a pager round in circles.
        return Reply::text(400, "bad per_page: must be at least 1\n");
    }
    let per_page = per_page.min(MAX_PER_PAGE);
    let n = catalog.ids.len();
    let end = start.saturating_add(per_page).min(n);
    let urls = catalog.ids.get(start.min(n)..end).unwrap_or_default();
    let more = start.saturating_add(per_page) < n;
    let mut reply = Reply::json(&serde_json::json!({ "urls": urls }));
    reply.header("More", if more { "True" } else { "False" });
    reply
}

fn list_all(catalog: &Catalog) -> Reply {
    let data: Vec<serde_json::Value> = (catalog.ids.iter().enumerate())
        .map(|(n, id)| serde_json::json!({ id.as_str(): n }))
        .collect();
    Reply::json(&serde_json::json!({ "data": data }))
}

fn download(catalog: &Catalog, id: &str) -> Reply {
    let Some(&n) = catalog.index.get(id) else {
        return Reply::text(404, "no such file\n");
    };
    let mut reply = Reply::new(
        200,
        Body::Static(format!("{} of {}", n + 1, catalog.ids.len()).into()),
    );
    reply.header("Content-Type", "text/plain; charset=UTF-8");
    reply.header(
        "Content-Disposition",
        &format!("attachment; filename={id}.txt"),
    );
    reply
}

fn pattern(n: &str, chunked: bool) -> Reply {
    let Ok(len) = n.parse::<u64>() else {
        return Reply::text(404, "not found: /bytes/<n> wants a byte count\n");
    };
    let mut reply = Reply::new(200, Body::Pattern(len));
    reply.chunked = chunked;
    reply.header("Content-Type", "application/octet-stream");
    reply
}

/// `GET /bytes/<n>`: the pattern with a strong `ETag` (`"<n>"`, or `"<n>-<salt>"`),
/// or its bytes from N on when a `Range: bytes=N-` asks (with an `If-Range` that names
/// this `ETag`, or none): `206` with `Content-Range`, `416` when N is past the end (RFC
/// 9110 §14, §15.3.7, §15.5.17).
fn bytes(n: &str, asked: &Asked<'_>) -> Reply {
    let Ok(len) = n.parse::<u64>() else {
        return pattern(n, false);
    };
    let etag = if asked.etag_salt.is_empty() {
        format!("\"{len}\"")
    } else {
        format!("\"{len}-{}\"", asked.etag_salt)
    };
    let from = asked
        .range_from
        .filter(|_| asked.if_range.is_none_or(|v| v == etag));
    let mut reply = match from {
        None => pattern(n, false),
        Some(start) if start >= len => {
            let mut reply = Reply::new(416, Body::Static(Vec::new()));
            reply.header("Content-Range", &format!("bytes */{len}"));
            reply
        }
        Some(start) => {
            let mut reply = Reply::new(206, Body::PatternRange { start, end: len });
            reply.header("Content-Type", "application/octet-stream");
            let range = format!("bytes {start}-{}/{len}", len - 1);
            reply.header("Content-Range", &range);
            reply
        }
    };
    reply.header("ETag", &etag);
    reply
}

fn method_not_allowed(allow: &str) -> Reply {
    let mut reply = Reply::text(405, "method not allowed\n");
    reply.header("Allow", allow);
    reply
}

/// Parses an `application/x-www-form-urlencoded` body; the last of repeated names wins.
pub(super) fn parse_form(body: &[u8]) -> HashMap<String, String> {
    body.split(|&b| b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let mut parts = pair.splitn(2, |&b| b == b'=');
            let name = url_decode(parts.next().unwrap_or_default());
            let value = url_decode(parts.next().unwrap_or_default());
            (name, value)
        })
        .collect()
}

/// Decodes `+` as space and `%XX` escapes; a malformed escape is kept as written.
pub(super) fn url_decode(raw: &[u8]) -> String {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'+' => out.push(b' '),
            b'%' => match (raw.get(i + 1), raw.get(i + 2)) {
                (Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                    out.push(hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0));
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
