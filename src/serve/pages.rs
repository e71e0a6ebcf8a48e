//! The reference server's `GET` paging styles (`miodl serve --pages STYLE`): the same
//! catalog, paged the way real APIs page, so every `miodl crawl --pages` style has a
//! counterpart on loopback.
//!
//! Every style answers `GET /api/list_files` with up to 5 items a page (`--page-cap N`
//! says N; `per_page` or `limit` asks for fewer), each item `{"id": "<id>", "url": "/api/download/<id>"}`:
//!
//! ```text
//!   link    ?page=N        → [items], Link: </api/list_files?page=N+1&per_page=P>; rel="next",
//!                            <...page=LAST...>; rel="last"   (relative URLs)
//!   next    ?page=N        → {"count", "next": "/api/list_files?page=N+1" | null, "results"}
//!   cursor  ?cursor=C      → {"items", "response_metadata": {"next_cursor": C' | ""}}
//!   number  ?page=N        → {"results"}  (empty beyond the end)
//!   offset  ?offset=O      → {"results"}  (empty beyond the end)
//! ```
//!
//! Layer: `serve`; may use `protocol`, `model`, `policy`, `output`, `transport`, `engine` and `report` (see `src/serve/mod.rs`).

use serde_json::{json, Value};

use super::response::Reply;
use super::routes::url_decode;

/// How the server pages `GET /api/list_files`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ServePages {
    /// `POST` pages with `More`; `GET` lists every item at once (docs/reference.md §1).
    #[default]
    More,
    /// `Link: rel="next"` headers.
    Link,
    /// A relative next URL at `/next`.
    Next,
    /// A cursor at `/response_metadata/next_cursor`, asked back as `cursor`.
    Cursor,
    /// `page=1, 2, ...`.
    Number,
    /// `offset=0, n, ...`.
    Offset,
}

impl ServePages {
    /// Parses `more`, `link`, `next`, `cursor`, `number`, `offset`.
    pub fn parse(text: &str) -> Option<ServePages> {
        Some(match text {
            "more" => ServePages::More,
            "link" => ServePages::Link,
            "next" => ServePages::Next,
            "cursor" => ServePages::Cursor,
            "number" => ServePages::Number,
            "offset" => ServePages::Offset,
            _ => return None,
        })
    }
}

/// The server's cap on a page unless `--page-cap` says otherwise.
pub const DEFAULT_PAGE_CAP: usize = 5;

/// The cursor of the item at `start`: opaque, and with characters that need encoding.
fn cursor_of(start: usize) -> String {
    format!("c+{start:x}/=")
}

fn start_of_cursor(cursor: &str) -> Option<usize> {
    let hex = cursor.strip_prefix("c+")?.strip_suffix("/=")?;
    usize::from_str_radix(hex, 16).ok()
}

/// Answers `GET /api/list_files?query` in the `style`.
pub(super) fn page(ids: &[String], style: ServePages, cap: usize, query: &str) -> Reply {
    let param = |name: &str| {
        query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| url_decode(v.as_bytes()))
    };
    let number = |name: &str| param(name).and_then(|v| v.parse::<usize>().ok());
    let per_page = number("per_page")
        .or(number("limit"))
        .unwrap_or(cap)
        .clamp(1, cap.max(1));
    let page_no = number("page").unwrap_or(1).max(1);
    let start = match style {
        ServePages::Offset => number("offset").unwrap_or(0),
        ServePages::Cursor => match param("cursor") {
            None => 0,
            Some(c) => match start_of_cursor(&c) {
                Some(start) => start,
                None => return Reply::text(400, "bad cursor\n"),
            },
        },
        _ => (page_no - 1).saturating_mul(per_page),
    };
    let n = ids.len();
    let end = start.saturating_add(per_page).min(n);
    let items: Vec<Value> = ids
        .get(start.min(n)..end)
        .unwrap_or_default()
        .iter()
        .map(|id| json!({ "id": id, "url": format!("/api/download/{id}") }))
        .collect();
    let more = end < n;
    match style {
        ServePages::More | ServePages::Link => {
            let mut reply = Reply::json(&Value::Array(items));
            let last = n.div_ceil(per_page).max(1);
            let link = |p: usize, rel: &str| {
                format!("</api/list_files?page={p}&per_page={per_page}>; rel=\"{rel}\"")
            };
            let mut links = vec![link(1, "first")];
            if more {
                links.push(link(page_no + 1, "next"));
            }
            links.push(link(last, "last"));
            reply.header("Link", &links.join(", "));
            reply
        }
        ServePages::Next => {
            let next =
                more.then(|| format!("/api/list_files?page={}&per_page={per_page}", page_no + 1));
            Reply::json(&json!({ "count": n, "next": next, "results": items }))
        }
        ServePages::Cursor => {
            let next = if more { cursor_of(end) } else { String::new() };
            Reply::json(&json!({ "items": items, "response_metadata": { "next_cursor": next } }))
        }
        ServePages::Number | ServePages::Offset => Reply::json(&json!({ "results": items })),
    }
}
