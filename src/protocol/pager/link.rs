//! The `link` paging style: `GET` each page, follow `Link: <URL>; rel="next"`.
//!
//! GitHub's API, json-server and many others page this way (RFC 8288, Web Linking). The
//! header is parsed properly, not searched: several links in one header or several
//! headers, parameters in any order, quoted values holding `,` or `;`, a `rel` naming
//! several relation types (`rel="next last"`), relation types compared without case,
//! and a relative URL resolved against the page's own URL. No `rel="next"` ends the
//! list. A chained style ([`super::chain`]), unless `--lookahead K` is given and the
//! first page's `rel="last"` URL differs from its `rel="next"` URL in one number only:
//! then pages next..=last are known, and asked up to K ahead ([`one_number_apart`]).
//!
//! Layer: `protocol`; may use [`crate::protocol::http`], [`crate::protocol::url`] (see
//! `src/protocol/mod.rs`).

use serde_json::Value;

use super::chain::{Chain, Plan};
use super::PageError;
use crate::protocol::http::ResponseHead;
use crate::protocol::url::Url;

/// Follows `rel="next"`.
#[derive(Debug, Clone, Copy, Default)]
pub struct LinkNext;

impl Chain for LinkNext {
    fn next_url(
        &self,
        _list_url: &Url,
        page_url: &Url,
        head: &ResponseHead,
        _doc: &Value,
    ) -> Result<Option<Url>, PageError> {
        for value in head.header_all("link") {
            let text = String::from_utf8_lossy(value);
            for link in parse_links(&text) {
                if link.has_rel("next") {
                    return page_url.join(&link.target).map(Some).map_err(|e| {
                        PageError::Shape(format!(
                            "the Link rel=\"next\" URL {:?} is not one miodl can fetch: {e}",
                            link.target
                        ))
                    });
                }
            }
        }
        Ok(None)
    }

    /// With `--lookahead`: when the first page's `rel="last"` URL differs from its
    /// `rel="next"` URL in one number only (GitHub, json-server), pages next..=last are
    /// known and asked ahead.
    fn plan(&self, page_url: &Url, head: &ResponseHead) -> Option<Plan> {
        let (mut next, mut last) = (None, None);
        for value in head.header_all("link") {
            for link in parse_links(&String::from_utf8_lossy(value)) {
                if next.is_none() && link.has_rel("next") {
                    next = page_url.join(&link.target).ok();
                }
                if last.is_none() && link.has_rel("last") {
                    last = page_url.join(&link.target).ok();
                }
            }
        }
        one_number_apart(&next?.to_string(), &last?.to_string())
    }
}

/// The [`Plan`] of pages from `next` to `last` when the two URLs differ in one run of
/// digits only, and `last`'s number is not below `next`'s.
pub fn one_number_apart(next: &str, last: &str) -> Option<Plan> {
    let (a, b) = (next.as_bytes(), last.as_bytes());
    let common = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    // Back to the start of the digit run the first difference is in.
    let start = (0..common)
        .rev()
        .take_while(|&i| a[i].is_ascii_digit())
        .last()
        .unwrap_or(common);
    let digits = |s: &[u8]| s[start..].iter().take_while(|c| c.is_ascii_digit()).count();
    let (na, nb) = (digits(a), digits(b));
    if na == 0 || nb == 0 || a[start + na..] != b[start + nb..] {
        return None;
    }
    let number = |s: &str, len: usize| s[start..start + len].parse::<u64>().ok();
    let (from, to) = (number(next, na)?, number(last, nb)?);
    // A leading zero would not survive the round trip through a number.
    if next.as_bytes()[start] == b'0' || to < from {
        return None;
    }
    Some(Plan {
        prefix: next[..start].to_string(),
        suffix: next[start + na..].to_string(),
        next: from,
        last: to,
    })
}

/// One link of a `Link` header: its target (as written) and its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The URI reference between `<` and `>`.
    pub target: String,
    /// The parameters, names lowercased, values unquoted.
    pub params: Vec<(String, String)>,
}

impl Link {
    /// Whether its `rel` (the first one, as RFC 8288 says) names `relation`.
    pub fn has_rel(&self, relation: &str) -> bool {
        self.params
            .iter()
            .find(|(name, _)| name == "rel")
            .is_some_and(|(_, rels)| {
                rels.split_ascii_whitespace()
                    .any(|r| r.eq_ignore_ascii_case(relation))
            })
    }
}

/// Parses a `Link` header value (RFC 8288 section 3) into its links; a malformed link
/// is skipped up to the next `,` outside quotes and brackets.
pub fn parse_links(value: &str) -> Vec<Link> {
    let bytes = value.as_bytes();
    let mut links = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        while i < bytes.len() && (bytes[i] == b',' || bytes[i].is_ascii_whitespace()) {
            i += 1;
        }
        if i >= bytes.len() {
            break;
        }
        if bytes[i] != b'<' {
            i = skip_link(bytes, i);
            continue;
        }
        let Some(close) = value[i + 1..].find('>') else {
            break;
        };
        let target = value[i + 1..i + 1 + close].trim().to_string();
        i += close + 2;
        let mut params = Vec::new();
        loop {
            while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            if i >= bytes.len() || bytes[i] != b';' {
                break;
            }
            i += 1;
            let (param, next) = parse_param(value, i);
            i = next;
            if let Some(param) = param {
                params.push(param);
            }
        }
        links.push(Link { target, params });
        i = skip_link(bytes, i);
    }
    links
}

/// One `name[=value]` parameter from `i` on (after its `;`); returns it and where it ends.
fn parse_param(value: &str, mut i: usize) -> (Option<(String, String)>, usize) {
    let bytes = value.as_bytes();
    while i < bytes.len() && bytes[i].is_ascii_whitespace() {
        i += 1;
    }
    let start = i;
    while i < bytes.len() && !matches!(bytes[i], b'=' | b';' | b',') {
        i += 1;
    }
    let name = value[start..i].trim().to_ascii_lowercase();
    let mut text = String::new();
    if i < bytes.len() && bytes[i] == b'=' {
        i += 1;
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if i < bytes.len() && bytes[i] == b'"' {
            i += 1;
            while i < bytes.len() && bytes[i] != b'"' {
                if bytes[i] == b'\\' && i + 1 < bytes.len() {
                    i += 1;
                }
                let c = value[i..].chars().next().unwrap_or(' ');
                text.push(c);
                i += c.len_utf8();
            }
            i += 1;
        } else {
            let start = i;
            while i < bytes.len() && !matches!(bytes[i], b';' | b',') {
                i += 1;
            }
            text = value[start..i].trim().to_string();
        }
    }
    let param = (!name.is_empty()).then_some((name, text));
    (param, i.min(bytes.len()))
}

/// From `i`, the index just past the next `,` outside a quoted string (or the end).
fn skip_link(bytes: &[u8], mut i: usize) -> usize {
    let mut quoted = false;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if quoted => i += 1,
            b'"' => quoted = !quoted,
            b',' if !quoted => return i + 1,
            _ => {}
        }
        i += 1;
    }
    i
}
