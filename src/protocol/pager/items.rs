//! What every `GET` paging style shares: where a page's items are, what each item's
//! value is, and which values are new.
//!
//! A page of a real list API is JSON whose array of items sits somewhere (`--items
//! POINTER`, a JSON Pointer, RFC 6901; the page itself when it is an array), and each
//! item is a string or number, or an object holding one (`--item POINTER`). With a
//! `{url}` template the value is a URL reference, resolved here against the page's URL,
//! so the same file reached by two spellings is one file. `Tally` keeps the
//! exactly-once set and the count of pages in a row without a new id, as the `more`
//! style does ([`BARREN_PAGES`]).
//!
//! A page that is not what the options say fails the listing with a one-line hint that
//! names the arrays the page does hold (`the page is an object; arrays are at /results:
//! give --items`).
//!
//! Layer: `protocol`; may use [`crate::protocol::url`] (see `src/protocol/mod.rs`).

use std::collections::HashSet;

use serde_json::Value;

use super::{PageError, PageOutcome, PagerStats, RejectedId, BARREN_PAGES};
use crate::protocol::url::Url;

/// How a page's items are found and read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Items {
    /// `--items`: the JSON Pointer of the array; `None`: the page itself.
    pub items: Option<String>,
    /// `--item`: the JSON Pointer inside each item; `None`: the item itself.
    pub item: Option<String>,
    /// The value is a URL reference (`{url}` in the template): resolved against the page.
    pub as_url: bool,
}

/// How many array pointers a hint names at most.
const HINT_ARRAYS: usize = 4;

impl Items {
    /// Parses `body` as JSON.
    pub(crate) fn parse(body: &[u8]) -> Result<Value, PageError> {
        serde_json::from_slice(body).map_err(PageError::NotJson)
    }

    /// The values of the page `doc` answered at `page_url`: each new-or-not value, or
    /// why an item is refused. A page without the array the options name is an error.
    pub(crate) fn values(
        &self,
        doc: &mut Value,
        page_url: &Url,
    ) -> Result<Vec<Result<String, RejectedId>>, PageError> {
        let array = match &self.items {
            None => doc,
            Some(pointer) => match doc.pointer_mut(pointer) {
                Some(found) => found,
                None => {
                    return Err(PageError::Shape(format!(
                        "the page has nothing at {pointer}{}: check --items",
                        arrays_hint(doc, "; arrays are at ")
                    )))
                }
            },
        };
        let entries = match array.take() {
            Value::Array(entries) => entries,
            other => return Err(PageError::Shape(self.not_an_array(&other))),
        };
        if self.item.is_none() {
            if let Some(Value::Object(first)) = entries.first() {
                let keys: Vec<&str> = first.keys().take(6).map(String::as_str).collect();
                let example = ["id", "url", "href", "name"]
                    .into_iter()
                    .find(|k| first.contains_key(*k))
                    .unwrap_or_else(|| keys.first().copied().unwrap_or("id"));
                return Err(PageError::Shape(format!(
                    "the items are objects (keys: {}): give --item, e.g. --item /{example}",
                    keys.join(", ")
                )));
            }
        }
        Ok(entries
            .into_iter()
            .map(|entry| self.value_of(entry, page_url))
            .collect())
    }

    /// The one-line hint for a page (or `--items` target) that is not an array.
    fn not_an_array(&self, found: &Value) -> String {
        let what = kind(found);
        match &self.items {
            None if found.is_object() => {
                let hint = arrays_hint(found, "");
                if hint.is_empty() {
                    "the page is an object with no array in it: give --items POINTER".to_string()
                } else {
                    format!("the page is an object; arrays are at {hint}: give --items")
                }
            }
            None => format!("the page is {what}, not an array of items: give --items POINTER"),
            Some(pointer) => {
                format!("the value at {pointer} is {what}, not an array: check --items")
            }
        }
    }

    /// One item's value: the string or number at `--item`, resolved when it is a URL.
    fn value_of(&self, mut entry: Value, page_url: &Url) -> Result<String, RejectedId> {
        let value = match &self.item {
            None => entry,
            Some(pointer) => match entry.pointer_mut(pointer) {
                Some(found) => found.take(),
                None => return Err(RejectedId::new(&entry, "has no value at --item")),
            },
        };
        let text = match value {
            Value::String(text) => text,
            Value::Number(n) => n.to_string(),
            other => return Err(RejectedId::new(&other, "not a string or number")),
        };
        if text.is_empty() {
            return Err(RejectedId::new(&Value::String(text), "empty"));
        }
        if text.chars().any(char::is_control) {
            return Err(RejectedId::new(
                &Value::String(text),
                "contains a control character",
            ));
        }
        if !self.as_url {
            return Ok(text);
        }
        match page_url.join(&text) {
            Ok(url) => Ok(url.to_string()),
            Err(_) => Err(RejectedId::new(
                &Value::String(text),
                "not a URL miodl can fetch",
            )),
        }
    }
}

/// `an object`, `a string`, ...: for the hints.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `prefix` and the JSON Pointers of up to [`HINT_ARRAYS`] arrays in `doc` (three levels
/// deep, the shallowest first), comma-separated; empty when there is none.
fn arrays_hint(doc: &Value, prefix: &str) -> String {
    let mut found = Vec::new();
    find_arrays(doc, &mut String::new(), 0, &mut found);
    if found.is_empty() {
        return String::new();
    }
    // The shallowest first: the items are more often at /results than at /meta/links.
    found.sort_by_key(|pointer| pointer.matches('/').count());
    found.truncate(HINT_ARRAYS);
    format!("{prefix}{}", found.join(", "))
}

fn find_arrays(value: &Value, at: &mut String, depth: usize, found: &mut Vec<String>) {
    let Value::Object(map) = value else { return };
    for (key, child) in map {
        if found.len() == 4 * HINT_ARRAYS {
            return;
        }
        let len = at.len();
        at.push('/');
        at.push_str(&key.replace('~', "~0").replace('/', "~1"));
        if child.is_array() {
            found.push(at.clone());
        } else if depth < 2 {
            find_arrays(child, at, depth + 1, found);
        }
        at.truncate(len);
    }
}

/// Reads the JSON Pointer `pointer` of `doc` as a next URL or cursor: a non-empty string
/// (or a number, as text); null, absent or `""` is `None` (the list has ended).
pub(crate) fn pointed_text(doc: &Value, pointer: &str) -> Result<Option<String>, PageError> {
    match doc.pointer(pointer) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) if text.is_empty() => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(PageError::Shape(format!(
            "the value at {pointer} is {}, not a string: check the pointer of --pages",
            kind(other)
        ))),
    }
}

/// `url` with query parameter `name` set to `value` (percent-encoded), replacing any
/// earlier value of it; the other parameters kept in order.
pub fn with_query_param(url: &Url, name: &str, value: &str) -> Url {
    let target = url.target();
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut out = String::with_capacity(target.len() + name.len() + value.len() + 2);
    out.push_str(path);
    let mut sep = '?';
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let key = pair.split_once('=').map_or(pair, |(k, _)| k);
        if key != name {
            out.push(sep);
            out.push_str(pair);
            sep = '&';
        }
    }
    out.push(sep);
    out.push_str(name);
    out.push('=');
    for &b in value.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    // An absolute path against the URL itself keeps its scheme, host and port.
    url.join(&out).unwrap_or_else(|_| url.clone())
}

/// The exactly-once set of a `GET` style, its counters and its row of pages without a
/// new id.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    seen: HashSet<Box<str>>,
    /// Answered pages in a row that brought no new id.
    barren: u32,
    pub(crate) stats: PagerStats,
}

impl Tally {
    /// Takes the page's values: new ones out, repeats counted, refusals kept.
    pub(crate) fn take(&mut self, values: Vec<Result<String, RejectedId>>) -> PageOutcome {
        let mut outcome = PageOutcome::default();
        for value in values {
            match value {
                Ok(id) if self.seen.contains(id.as_str()) => outcome.duplicates += 1,
                Ok(id) => {
                    self.seen.insert(id.as_str().into());
                    outcome.new_ids.push(id);
                }
                Err(rejected) => outcome.rejected.push(rejected),
            }
        }
        self.stats.pages_answered += 1;
        self.stats.ids += outcome.new_ids.len() as u64;
        self.stats.duplicates += u64::from(outcome.duplicates);
        self.stats.rejected += outcome.rejected.len() as u64;
        outcome
    }

    /// Counts a page that brought no new id although it held items; the
    /// [`BARREN_PAGES`]-th in a row is an error naming `url`.
    pub(crate) fn check_progress(
        &mut self,
        outcome: &PageOutcome,
        held_items: bool,
        url: &Url,
    ) -> Result<(), PageError> {
        if !outcome.new_ids.is_empty() || !held_items {
            self.barren = 0;
            return Ok(());
        }
        self.barren += 1;
        if self.barren < BARREN_PAGES {
            return Ok(());
        }
        Err(PageError::NoNewIdsAt {
            page: self.stats.pages_answered,
            url: url.to_string(),
            in_a_row: self.barren,
        })
    }
}
