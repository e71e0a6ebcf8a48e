//! What `-C/--continue` reads in an answer: the validator a part is resumed against,
//! and the `Content-Range` of a `206 Partial Content`.
//!
//! Read with: RFC 9110 §14.4 (`Content-Range`), §13.1.5 (`If-Range`: never a weak
//! entity tag, and a date only when there is no entity tag), §8.8 (validators).
//!
//! Layer: `protocol`; may use nothing else of the crate (see `src/protocol/mod.rs`).

use super::ResponseHead;

/// The `If-Range` value a body could be resumed with later: its `ETag` when it is
/// strong; nothing when it is weak (`W/`: a weak tag may not be sent in `If-Range`, and
/// with a tag the date may not be either); else its `Last-Modified` date.
pub fn resume_validator(head: &ResponseHead) -> Option<&str> {
    match head.header("etag").map(str::trim) {
        Some(tag) if tag.starts_with("W/") || tag.is_empty() => None,
        Some(tag) => Some(tag),
        None => head
            .header("last-modified")
            .map(str::trim)
            .filter(|d| !d.is_empty()),
    }
}

/// A `Content-Range: bytes FIRST-LAST/COMPLETE` value (`COMPLETE` may be `*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentRange {
    /// The first byte's position.
    pub first: u64,
    /// The last byte's position (inclusive).
    pub last: u64,
    /// The whole representation's length, when said.
    pub complete: Option<u64>,
}

/// Reads a `Content-Range` value; `None` for anything but one satisfied byte range.
pub fn content_range(value: &str) -> Option<ContentRange> {
    let rest = value.trim().strip_prefix("bytes")?;
    let rest = rest.strip_prefix(' ')?.trim_start();
    let (span, complete) = rest.split_once('/')?;
    let (first, last) = span.split_once('-')?;
    let number = |s: &str| -> Option<u64> {
        let s = s.trim();
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let (first, last) = (number(first)?, number(last)?);
    let complete = match complete.trim() {
        "*" => None,
        n => Some(number(n)?),
    };
    if last < first || complete.is_some_and(|c| last >= c) {
        return None;
    }
    Some(ContentRange {
        first,
        last,
        complete,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_ranges() {
        let r = content_range("bytes 100-199/1000").unwrap();
        assert_eq!((r.first, r.last, r.complete), (100, 199, Some(1000)));
        assert_eq!(content_range("bytes 0-0/*").unwrap().complete, None);
        for bad in [
            "bytes */1000",
            "bytes 5-4/10",
            "bytes 0-10/10",
            "items 0-1/2",
            "bytes -1-2/3",
            "bytes 1-2",
            "",
        ] {
            assert_eq!(content_range(bad), None, "{bad}");
        }
    }
}
