//! Sieve's block reply in a response's `content-encoding`. A response
//! blocked once its headers went out keeps them, `content-encoding`
//! included, so the reply that replaces its body must be in that encoding
//! for the client to read it. Each format's stored (uncompressed) blocks do:
//! the reply is a few hundred bytes, and no compressor is needed.

use super::decode::{Coding, Encoding};

/// `data` with the codings of `encoding` applied in order.
pub(super) fn encode(encoding: Encoding, data: &[u8]) -> Vec<u8> {
    encoding.codings().fold(data.to_vec(), |data, coding| match coding {
        Coding::Gzip => gzip(&data),
        Coding::Deflate => zlib(&data),
        Coding::Brotli => brotli(&data),
        Coding::Zstd => zstd(&data),
    })
}

/// A gzip member (RFC 1952) without options.
fn gzip(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    stored(data, &mut out);
    out.extend(crc32(data).to_le_bytes());
    out.extend((data.len() as u32).to_le_bytes());
    out
}

/// A zlib stream (RFC 1950), as HTTP's `deflate` is.
fn zlib(data: &[u8]) -> Vec<u8> {
    // Deflate with a 32 KiB window; the header's check bits make it a multiple of 31.
    let mut out = vec![0x78, 0x01];
    stored(data, &mut out);
    out.extend(adler32(data).to_be_bytes());
    out
}

/// Deflate stored blocks (RFC 1951 §3.2.4), at most 65,535 bytes each.
fn stored(data: &[u8], out: &mut Vec<u8>) {
    let mut blocks = data.chunks(usize::from(u16::MAX)).peekable();
    if data.is_empty() {
        return out.extend([1, 0, 0, 0xff, 0xff]);
    }
    while let Some(block) = blocks.next() {
        let len = block.len() as u16;
        out.push(u8::from(blocks.peek().is_none()));
        out.extend(len.to_le_bytes());
        out.extend((!len).to_le_bytes());
        out.extend_from_slice(block);
    }
}

/// A brotli stream (RFC 7932) of uncompressed meta-blocks in a 64 KiB window.
fn brotli(data: &[u8]) -> Vec<u8> {
    const BLOCK: usize = 1 << 15;
    let mut out = Vec::with_capacity(data.len() + 4 * (data.len() / BLOCK + 1));
    // The stream's first bit is WBITS (0: a 64 KiB window); each meta-block
    // then starts where the one before it ended, on a byte boundary.
    let mut first = true;
    for block in data.chunks(BLOCK) {
        // ISLAST 0, MNIBBLES 0 (four nibbles of MLEN - 1), MLEN - 1, ISUNCOMPRESSED 1.
        let header = ((block.len() as u32 - 1) << 3) | 1 << 19;
        let header = if first { header << 1 } else { header };
        out.extend(&header.to_le_bytes()[..3]);
        out.extend_from_slice(block);
        first = false;
    }
    // ISLAST 1, ISLASTEMPTY 1.
    out.push(if first { 0b110 } else { 0b11 });
    out
}

/// A zstd frame (RFC 8878) of raw blocks, its content size declared.
fn zstd(data: &[u8]) -> Vec<u8> {
    const BLOCK: usize = 128 << 10;
    // Single segment (the window is the content), a 4-byte content size.
    let mut out = vec![0x28, 0xb5, 0x2f, 0xfd, 0b1010_0000];
    out.extend((data.len() as u32).to_le_bytes());
    let mut blocks = data.chunks(BLOCK).peekable();
    if data.is_empty() {
        out.extend([1, 0, 0]);
    }
    while let Some(block) = blocks.next() {
        // Block size, type 0 (raw), last block.
        let header = (block.len() as u32) << 3 | u32::from(blocks.peek().is_none());
        out.extend(&header.to_le_bytes()[..3]);
        out.extend_from_slice(block);
    }
    out
}

/// CRC-32 (ISO 3309), bit by bit: the reply is short.
fn crc32(data: &[u8]) -> u32 {
    let step = |crc: u32, _| if crc & 1 == 1 { (crc >> 1) ^ 0xedb8_8320 } else { crc >> 1 };
    !data.iter().fold(!0, |crc, &b| (0..8).fold(crc ^ u32::from(b), step))
}

fn adler32(data: &[u8]) -> u32 {
    const MOD: u32 = 65_521;
    let (a, b) = data.iter().fold((1, 0), |(a, b), &x| {
        let a = (a + u32::from(x)) % MOD;
        (a, (b + a) % MOD)
    });
    b << 16 | a
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::decode::{decode, Decoded};

    #[test]
    fn checksums_match_their_check_values_and_crc32fast() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
        assert_eq!(adler32(b"Wikipedia"), 0x11e6_0398);
        let data: Vec<u8> = (0..10_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        assert_eq!(crc32(&data), crc32fast::hash(&data));
    }

    #[test]
    fn every_encoding_decodes_back_whatever_the_size() {
        let long: Vec<u8> = (0..200_000u32).map(|i| (i * 7919 % 251) as u8).collect();
        for value in ["gzip", "deflate", "br", "zstd", "gzip, br", "deflate, zstd, gzip"] {
            let encoding = Encoding::of(value.as_bytes()).unwrap();
            for data in [&b""[..], b"{}", br#"{"error": "blocked by sieve"}"#, &long[..70_000], &long] {
                let encoded = encode(encoding, data);
                assert_eq!(
                    decode(encoding, &encoded, 1 << 20),
                    Decoded::Whole(data.to_vec()),
                    "{value}, {}",
                    data.len()
                );
            }
        }
    }

    #[test]
    fn each_format_is_the_one_its_reference_decoder_reads() {
        use std::io::Read;
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 97) as u8).collect();
        let mut out = Vec::new();
        brotli_decompressor::Decompressor::new(&brotli(&data)[..], 4096).read_to_end(&mut out).unwrap();
        assert_eq!(out, data);
        let zlib_stream = zlib(&data);
        // miniz checks the Adler-32.
        assert_eq!(miniz_oxide::inflate::decompress_to_vec_zlib(&zlib_stream).unwrap(), data);
        let member = gzip(&data);
        let deflate = &member[10..member.len() - 8];
        assert_eq!(miniz_oxide::inflate::decompress_to_vec(deflate).unwrap(), data);
        assert_eq!(member[member.len() - 8..], [crc32(&data).to_le_bytes(), 100_000u32.to_le_bytes()].concat());
        let frame = zstd(&data);
        let mut out = Vec::new();
        ruzstd::decoding::StreamingDecoder::new(&frame[..]).unwrap().read_to_end(&mut out).unwrap();
        assert_eq!(out, data);
    }
}
