//! The `next=POINTER` paging style: `GET` each page, the next page's URL at a JSON
//! Pointer in the body.
//!
//! Django REST framework's `/next`, datasette's `/next_url` and many others: the value
//! is an absolute URL or one relative to the page's own URL; null, absent or `""` ends
//! the list. A chained style ([`super::chain`]).
//!
//! Layer: `protocol`; may use [`crate::protocol::http`], [`crate::protocol::url`] (see
//! `src/protocol/mod.rs`).

use serde_json::Value;

use super::chain::Chain;
use super::items::pointed_text;
use super::PageError;
use crate::protocol::http::ResponseHead;
use crate::protocol::url::Url;

/// Follows the URL at a JSON Pointer.
#[derive(Debug, Clone)]
pub struct NextAt {
    /// The JSON Pointer (RFC 6901) of the next URL, e.g. `/next`.
    pub pointer: String,
}

impl Chain for NextAt {
    fn next_url(
        &self,
        _list_url: &Url,
        page_url: &Url,
        _head: &ResponseHead,
        doc: &Value,
    ) -> Result<Option<Url>, PageError> {
        let Some(text) = pointed_text(doc, &self.pointer)? else {
            return Ok(None);
        };
        page_url.join(&text).map(Some).map_err(|e| {
            PageError::Shape(format!(
                "the next URL at {} ({text:?}) is not one miodl can fetch: {e}",
                self.pointer
            ))
        })
    }
}
