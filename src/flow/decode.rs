//! `content-encoding` gzip and deflate, decoded with a cap on the output so
//! a small compressed body cannot expand into gigabytes (zip bombs).

use miniz_oxide::inflate::{decompress_to_vec_with_limit, decompress_to_vec_zlib_with_limit, TINFLStatus};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Encoding {
    Identity,
    Gzip,
    Deflate,
}

impl Encoding {
    /// The encoding of a `content-encoding` value; `Err` for ones sieve cannot read.
    pub(super) fn of(header: &[u8]) -> Result<Encoding, &'static str> {
        match header.trim_ascii().to_ascii_lowercase().as_slice() {
            b"" | b"identity" => Ok(Encoding::Identity),
            b"gzip" | b"x-gzip" => Ok(Encoding::Gzip),
            b"deflate" => Ok(Encoding::Deflate),
            _ => Err("unsupported content-encoding"),
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub(super) enum Decoded {
    /// The whole body.
    Whole(Vec<u8>),
    /// The first `limit` bytes: the body expands past the cap.
    Truncated(Vec<u8>),
    /// Not valid for its encoding.
    Corrupt,
}

/// Decodes `data`, producing at most `limit` bytes.
pub(super) fn decode(encoding: Encoding, data: &[u8], limit: usize) -> Decoded {
    let result = match encoding {
        Encoding::Identity => return Decoded::Whole(data.to_vec()),
        Encoding::Gzip => match gzip_payload(data) {
            Some(deflate) => decompress_to_vec_with_limit(deflate, limit),
            None => return Decoded::Corrupt,
        },
        // HTTP's "deflate" is zlib-wrapped, but raw deflate is common in the wild.
        Encoding::Deflate => decompress_to_vec_zlib_with_limit(data, limit).or_else(|e| {
            if e.status == TINFLStatus::HasMoreOutput {
                Err(e)
            } else {
                decompress_to_vec_with_limit(data, limit)
            }
        }),
    };
    match result {
        Ok(out) => Decoded::Whole(out),
        Err(e) if e.status == TINFLStatus::HasMoreOutput => Decoded::Truncated(e.output),
        Err(_) => Decoded::Corrupt,
    }
}

/// The deflate stream inside a gzip member (RFC 1952), past its header.
fn gzip_payload(data: &[u8]) -> Option<&[u8]> {
    const FHCRC: u8 = 2;
    const FEXTRA: u8 = 4;
    const FNAME: u8 = 8;
    const FCOMMENT: u8 = 16;
    if data.get(..3)? != [0x1f, 0x8b, 8] {
        return None;
    }
    let flags = data[3];
    let mut rest = data.get(10..)?;
    if flags & FEXTRA != 0 {
        let len = usize::from(u16::from_le_bytes([*rest.first()?, *rest.get(1)?]));
        rest = rest.get(2 + len..)?;
    }
    for flag in [FNAME, FCOMMENT] {
        if flags & flag != 0 {
            rest = rest.get(memchr::memchr(0, rest)? + 1..)?;
        }
    }
    if flags & FHCRC != 0 {
        rest = rest.get(2..)?;
    }
    Some(rest)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use miniz_oxide::deflate::{compress_to_vec, compress_to_vec_zlib};

    /// A gzip member with a file name; the trailer's CRC is not checked by the decoder.
    pub(crate) fn gzip(data: &[u8]) -> Vec<u8> {
        let mut out = vec![0x1f, 0x8b, 8, 8, 0, 0, 0, 0, 0, 255];
        out.extend_from_slice(b"body.json\0");
        out.extend(compress_to_vec(data, 6));
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out
    }

    #[test]
    fn gzip_and_both_deflate_flavours_decode() {
        let text = b"card 4111 1111 1111 1111".repeat(10);
        assert_eq!(decode(Encoding::Gzip, &gzip(&text), 1 << 20), Decoded::Whole(text.clone()));
        assert_eq!(decode(Encoding::Deflate, &compress_to_vec_zlib(&text, 6), 1 << 20), Decoded::Whole(text.clone()));
        assert_eq!(decode(Encoding::Deflate, &compress_to_vec(&text, 6), 1 << 20), Decoded::Whole(text));
    }

    #[test]
    fn a_bomb_stops_at_the_cap() {
        let zeros = vec![0u8; 8 << 20];
        let bomb = gzip(&zeros);
        assert!(bomb.len() < 20_000, "{} bytes expand to 8 MiB", bomb.len());
        match decode(Encoding::Gzip, &bomb, 64 << 10) {
            Decoded::Truncated(out) => assert_eq!(out.len(), 64 << 10),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn garbage_is_corrupt_not_a_panic() {
        assert_eq!(decode(Encoding::Gzip, b"\x1f\x8b\x08\x00garbage", 1024), Decoded::Corrupt);
        assert_eq!(decode(Encoding::Gzip, b"not gzip", 1024), Decoded::Corrupt);
        assert_eq!(decode(Encoding::Deflate, b"\xff\xff\xff", 1024), Decoded::Corrupt);
        assert_eq!(Encoding::of(b"br"), Err("unsupported content-encoding"));
        assert_eq!(Encoding::of(b" GZIP "), Ok(Encoding::Gzip));
    }
}
