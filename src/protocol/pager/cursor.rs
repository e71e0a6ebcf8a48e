//! The `cursor=POINTER,PARAM` paging style: an opaque cursor at a JSON Pointer in the
//! body goes into query parameter PARAM of the list URL.
//!
//! Slack's `/response_metadata/next_cursor`, Stripe-style `starting_after`: the next
//! page is LIST_URL with PARAM set to the cursor, percent-encoded (it is often base64,
//! `+`, `/` and `=` included); null, absent or `""` ends the list. A cursor seen before
//! is a next URL seen before: the listing ends with an error. A chained style
//! ([`super::chain`]).
//!
//! Layer: `protocol`; may use [`crate::protocol::http`], [`crate::protocol::url`] (see
//! `src/protocol/mod.rs`).

use serde_json::Value;

use super::chain::Chain;
use super::items::{pointed_text, with_query_param};
use super::PageError;
use crate::protocol::http::ResponseHead;
use crate::protocol::url::Url;

/// Puts the cursor at a JSON Pointer into a query parameter of the list URL.
#[derive(Debug, Clone)]
pub struct CursorAt {
    /// The JSON Pointer (RFC 6901) of the cursor, e.g. `/response_metadata/next_cursor`.
    pub pointer: String,
    /// The query parameter that carries it, e.g. `cursor`.
    pub param: String,
}

impl Chain for CursorAt {
    fn next_url(
        &self,
        list_url: &Url,
        _page_url: &Url,
        _head: &ResponseHead,
        doc: &Value,
    ) -> Result<Option<Url>, PageError> {
        let cursor = pointed_text(doc, &self.pointer)?;
        Ok(cursor.map(|cursor| with_query_param(list_url, &self.param, &cursor)))
    }
}
