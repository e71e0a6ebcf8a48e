//! The paging styles by name (`--pages STYLE`), and the one place each builds its pager.
//!
//! Adding a style: a variant here, its spelling in [`Style::parse`], its pager in
//! [`Style::build`], and the pager's own file beside this one.
//!
//! Layer: `protocol`; may use [`crate::protocol::url`] (see `src/protocol/mod.rs`).

use std::fmt;

use super::chain::ChainPager;
use super::cursor::CursorAt;
use super::link::LinkNext;
use super::next::NextAt;
use super::number::NumberPager;
use super::offset::OffsetPager;
use super::{Items, MorePager, Paging};
use crate::protocol::url::Url;

/// How a list pages (docs/reference.md §6).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Style {
    /// `POST LIST_URL`, form `start=S&per_page=P`, header `More`.
    #[default]
    More,
    /// `GET`, follow `Link: <URL>; rel="next"`.
    Link,
    /// `GET`, the next URL at a JSON Pointer in the body.
    Next {
        /// The JSON Pointer.
        pointer: String,
    },
    /// `GET` LIST_URL with query `param` set to the cursor at a JSON Pointer.
    Cursor {
        /// The JSON Pointer.
        pointer: String,
        /// The query parameter.
        param: String,
    },
    /// `GET` LIST_URL with query `param` = 1, 2, 3, ...
    Number {
        /// The query parameter.
        param: String,
    },
    /// `GET` LIST_URL with query `param` = 0, n, 2n, ...
    Offset {
        /// The query parameter.
        param: String,
    },
}

/// Why a `--pages` value (or a pointer or parameter in it) is refused: one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StyleError(pub String);

impl fmt::Display for StyleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StyleError {}

/// What every style's pager is built from.
#[derive(Debug, Clone)]
pub struct PagerConfig {
    /// LIST_URL.
    pub list_url: Url,
    /// `--start` (`more`).
    pub start: u64,
    /// `--per-page` (`more`).
    pub per_page: u32,
    /// `--lookahead K`.
    pub lookahead: u32,
    /// `--page-size PARAM=N` (the `GET` styles).
    pub page_size: Option<(String, u32)>,
    /// `--items`, `--item` and whether values are URLs (the `GET` styles).
    pub items: Items,
}

impl Style {
    /// Parses `more`, `link`, `next=POINTER`, `cursor=POINTER,PARAM`, `number=PARAM`,
    /// `offset=PARAM`.
    pub fn parse(text: &str) -> Result<Style, StyleError> {
        let (name, arg) = text.split_once('=').unwrap_or((text, ""));
        let needs = |what: &str| {
            StyleError(format!(
                "{name} needs {what}, e.g. {}",
                match name {
                    "next" => "next=/next",
                    "cursor" => "cursor=/next_cursor,cursor",
                    "number" => "number=page",
                    _ => "offset=offset",
                }
            ))
        };
        let style = match name {
            "more" | "link" if !arg.is_empty() => {
                return Err(StyleError(format!("{name} takes no value")))
            }
            "more" => Style::More,
            "link" => Style::Link,
            "next" if arg.is_empty() => return Err(needs("a JSON Pointer")),
            "next" => Style::Next {
                pointer: check_pointer(arg)?,
            },
            "cursor" => {
                let (pointer, param) = arg
                    .rsplit_once(',')
                    .ok_or_else(|| needs("POINTER,PARAM"))?;
                Style::Cursor {
                    pointer: check_pointer(pointer)?,
                    param: check_param(param)?,
                }
            }
            "number" | "offset" if arg.is_empty() => return Err(needs("a query parameter")),
            "number" => Style::Number {
                param: check_param(arg)?,
            },
            "offset" => Style::Offset {
                param: check_param(arg)?,
            },
            _ => {
                return Err(StyleError(
                    "is not one of more, link, next=POINTER, cursor=POINTER,PARAM, number=PARAM, offset=PARAM"
                        .to_string(),
                ))
            }
        };
        Ok(style)
    }

    /// True for the styles that cannot look ahead (`link`, `next`, `cursor`).
    pub fn is_chained(&self) -> bool {
        matches!(
            self,
            Style::Link | Style::Next { .. } | Style::Cursor { .. }
        )
    }

    /// The default `--item-url` of the style.
    pub fn default_item_url(&self) -> &'static str {
        match self {
            Style::More => "{origin}/api/download/{id}",
            _ => "{url}",
        }
    }

    /// The style's pager.
    pub fn build(&self, config: PagerConfig) -> Box<dyn Paging> {
        let PagerConfig {
            list_url,
            start,
            per_page,
            lookahead,
            page_size,
            items,
        } = config;
        match self {
            Style::More => Box::new(MorePager::new(start, per_page, lookahead)),
            Style::Link => Box::new(ChainPager::with_lookahead(
                LinkNext, list_url, items, page_size, lookahead,
            )),
            Style::Next { pointer } => {
                let chain = NextAt {
                    pointer: pointer.clone(),
                };
                Box::new(ChainPager::new(chain, list_url, items, page_size))
            }
            Style::Cursor { pointer, param } => {
                let chain = CursorAt {
                    pointer: pointer.clone(),
                    param: param.clone(),
                };
                Box::new(ChainPager::new(chain, list_url, items, page_size))
            }
            Style::Number { param } => Box::new(NumberPager::new(
                list_url,
                param.clone(),
                page_size,
                lookahead,
                items,
            )),
            Style::Offset { param } => Box::new(OffsetPager::new(
                list_url,
                param.clone(),
                page_size,
                lookahead,
                items,
            )),
        }
    }
}

/// A JSON Pointer (RFC 6901): empty (the whole document) or `/`-separated tokens, with
/// `~` only as `~0` or `~1`.
pub fn check_pointer(text: &str) -> Result<String, StyleError> {
    if !text.is_empty() && !text.starts_with('/') {
        return Err(StyleError(format!(
            "{text:?} is not a JSON Pointer: it starts with '/', e.g. /{text}"
        )));
    }
    let bytes = text.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'~' && !matches!(bytes.get(i + 1), Some(b'0' | b'1')) {
            return Err(StyleError(format!(
                "{text:?} is not a JSON Pointer: '~' must be written ~0 (and '/' in a key ~1)"
            )));
        }
    }
    Ok(text.to_string())
}

/// A query parameter name: letters, digits and `-_.~[]`, not empty.
pub fn check_param(text: &str) -> Result<String, StyleError> {
    let ok = !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.~[]".contains(&b));
    if ok {
        Ok(text.to_string())
    } else {
        Err(StyleError(format!(
            "{text:?} is not a query parameter name (letters, digits, - _ . ~ [ ])"
        )))
    }
}
