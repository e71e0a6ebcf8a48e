//! The dechunker on its own: what it consumes, what it hands back, where it stops.
//!
//! Layer: `protocol`; may use nothing else of the crate (see `src/protocol/mod.rs`).

use crate::protocol::http::chunked::{MAX_LINE, MAX_TRAILER_BYTES};
use crate::protocol::http::{ChunkError, Dechunker};

/// Decodes `input` whole, as a caller would: returns the body and the bytes consumed.
fn decode_all(input: &[u8]) -> Result<(Vec<u8>, usize, bool), ChunkError> {
    let mut d = Dechunker::new();
    let (mut body, mut pos) = (Vec::new(), 0);
    loop {
        let (used, data) = d.decode(&input[pos..])?;
        if let Some(data) = data {
            // Zero copy: the data is a slice of the input, ending where consumption ends.
            let start = data.as_ptr() as usize - input.as_ptr() as usize;
            assert_eq!(start + data.len(), pos + used);
            body.extend_from_slice(data);
        }
        pos += used;
        if used == 0 {
            return Ok((body, pos, d.is_ended()));
        }
    }
}

#[test]
fn data_is_handed_back_as_slices_of_the_input() {
    let input = b"3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\n\r\nNEXT";
    assert_eq!(
        decode_all(input),
        Ok((b"abcde".to_vec(), input.len() - 4, true))
    );
}

#[test]
fn one_call_stops_right_after_the_first_data() {
    let mut d = Dechunker::new();
    assert_eq!(
        d.decode(b"3\r\nabc\r\n0\r\n\r\n"),
        Ok((6, Some(&b"abc"[..])))
    );
    assert_eq!(d.decode(b"\r\n0\r\n\r\n"), Ok((7, None)));
    assert!(d.is_ended());
    assert_eq!(d.decode(b"more"), Ok((0, None)), "nothing after the end");
}

#[test]
fn partial_data_and_partial_size_lines() {
    let mut d = Dechunker::new();
    assert_eq!(d.decode(b"1"), Ok((1, None)));
    assert_eq!(d.decode(b"0\r"), Ok((2, None)));
    assert_eq!(d.decode(b"\nabc"), Ok((4, Some(&b"abc"[..]))));
    assert_eq!(
        d.decode(b"defghijklmnop"),
        Ok((13, Some(&b"defghijklmnop"[..])))
    );
    assert_eq!(d.decode(b""), Ok((0, None)));
    assert!(!d.is_ended());
}

#[test]
fn trailers_are_read_and_discarded() {
    let input = b"1\r\nx\r\n0\r\nExpires: never\r\nX-Checksum: abc\r\n\r\n";
    assert_eq!(decode_all(input), Ok((b"x".to_vec(), input.len(), true)));
}

#[test]
fn sizes_up_to_u64_max_are_accepted_one_more_digit_overflows() {
    let mut d = Dechunker::new();
    assert_eq!(d.decode(b"ffffffffffffffff\r\n"), Ok((18, None)));
    assert_eq!(
        decode_all(b"1ffffffffffffffff\r\n"),
        Err(ChunkError::SizeOverflow)
    );
}

#[test]
fn malformed_framing_is_a_typed_error() {
    let cases: [(&[u8], ChunkError); 8] = [
        (b"\r\n", ChunkError::InvalidSize),
        (b";ext\r\n", ChunkError::InvalidSize),
        (b"-1\r\n", ChunkError::InvalidSize),
        (b"5 5\r\n", ChunkError::InvalidSize),
        (b"3\rX", ChunkError::MissingLineFeed),
        (b"3\r\nabc\rX", ChunkError::MissingLineFeed),
        (b"0\r\n\rX", ChunkError::MissingLineFeed),
        (b"0\r\nX: y\rZ", ChunkError::MissingLineFeed),
    ];
    for (input, expected) in cases {
        assert_eq!(
            decode_all(input),
            Err(expected),
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
}

#[test]
fn long_lines_are_an_error_not_a_buffer() {
    let too_long = ChunkError::LineTooLong { limit: MAX_LINE };
    let mut ext = b"1;".to_vec();
    ext.resize(MAX_LINE, b'x');
    assert_eq!(
        decode_all(&ext),
        Ok((vec![], MAX_LINE, false)),
        "at the limit: fine"
    );
    ext.push(b'x');
    assert_eq!(decode_all(&ext), Err(too_long));

    let zeros = vec![b'0'; MAX_LINE + 1];
    assert_eq!(decode_all(&zeros), Err(too_long));

    let mut trailer = b"0\r\nX: ".to_vec();
    trailer.resize(3 + MAX_LINE + 1, b'y');
    assert_eq!(decode_all(&trailer), Err(too_long));
}

#[test]
fn whitespace_before_an_extension_is_allowed() {
    let input = b"2 \t ;a=b\r\nhi\r\n0 \r\n\r\n";
    assert_eq!(decode_all(input), Ok((b"hi".to_vec(), input.len(), true)));
}

#[test]
fn the_trailer_section_is_bounded() {
    let too_long = Err(ChunkError::TrailersTooLong {
        limit: MAX_TRAILER_BYTES,
    });
    // Trailer lines of 16 bytes each, line ends included, up to the limit exactly.
    let line = b"X-Trailer: abc\r\n";
    let mut input = b"0\r\n".to_vec();
    input.extend(line.repeat(MAX_TRAILER_BYTES / line.len()));
    let at_limit = [&input[..], b"\r\n"].concat();
    assert_eq!(
        decode_all(&at_limit),
        Ok((vec![], at_limit.len(), true)),
        "at the limit: fine"
    );
    input.push(b'X');
    assert_eq!(decode_all(&input), too_long, "one byte more");
    // Bare LF line ends count too.
    let mut bare = b"0\n".to_vec();
    bare.extend(b"X: y\n".repeat(MAX_TRAILER_BYTES / 5 + 1));
    assert_eq!(decode_all(&bare), too_long);
}

#[test]
fn endless_trailers_fail_after_a_bounded_number_of_bytes() {
    let mut d = Dechunker::new();
    assert_eq!(d.decode(b"1\r\nx"), Ok((4, Some(&b"x"[..]))));
    assert_eq!(d.decode(b"\r\n0\r\n"), Ok((5, None)));
    let piece = b"X-More: yes\r\n".repeat(100);
    let mut sent = 0;
    let error = loop {
        match d.decode(&piece) {
            Ok((used, None)) => assert_eq!(used, piece.len()),
            Ok(other) => panic!("unexpected {other:?}"),
            Err(e) => break e,
        }
        sent += piece.len();
        assert!(
            sent <= MAX_TRAILER_BYTES,
            "kept reading trailers past the limit"
        );
    };
    assert_eq!(
        error,
        ChunkError::TrailersTooLong {
            limit: MAX_TRAILER_BYTES
        }
    );
    assert!(!d.is_ended());
}

#[test]
fn the_trailer_bound_can_be_set() {
    let mut d = Dechunker::with_max_trailer_bytes(6);
    assert_eq!(d.decode(b"0\r\nX: y\r\n\r\n"), Ok((11, None)));
    assert!(d.is_ended());
    let mut d = Dechunker::with_max_trailer_bytes(5);
    assert_eq!(
        d.decode(b"0\r\nX: y\r\n\r\n"),
        Err(ChunkError::TrailersTooLong { limit: 5 })
    );
    let mut d = Dechunker::with_max_trailer_bytes(0);
    assert_eq!(d.decode(b"0\r\n\r\n"), Ok((5, None)), "no trailers: fine");
    assert!(d.is_ended());
}
