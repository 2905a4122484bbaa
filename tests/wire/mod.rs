//! Encoders for test payloads: gzip members, brotli streams, zstd frames, protobuf fields, gRPC frames.

#![allow(dead_code)] // Each test file uses a different part.

/// Makes a body of some `content-encoding`.
pub type Encoder = fn(&[u8]) -> Vec<u8>;

/// Each `content-encoding` sieve reads, with its encoder at a typical level:
/// gzip and zlib-wrapped deflate at 6, brotli at quality 5 in a 4 MiB
/// window, zstd at its fastest (about its level 1).
pub const ENCODINGS: [(&str, Encoder); 4] = [
    ("gzip", gzip),
    ("deflate", |data| miniz_oxide::deflate::compress_to_vec_zlib(data, 6)),
    ("br", |data| brotli(data, 5, 22)),
    ("zstd", zstd),
];

/// A gzip member, its trailer's CRC-32 and length right (zlib, and so
/// Envoy's decompressor, checks them).
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];
    out.extend(miniz_oxide::deflate::compress_to_vec(data, 6));
    out.extend_from_slice(&crc32fast::hash(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

/// `data` in `encoding` (a `content-encoding` list), codings applied in order.
pub fn encode(encoding: &str, data: &[u8]) -> Vec<u8> {
    let apply = |data: Vec<u8>, coding: &str| match coding {
        "identity" => data,
        coding => ENCODINGS.iter().find(|(name, _)| *name == coding).expect("a coding sieve reads").1(&data),
    };
    encoding.split(',').map(str::trim).fold(data.to_vec(), apply)
}

/// What a client reads from a body in `encoding` (a `content-encoding`
/// list), by the codings' reference decoders: miniz for gzip (its CRC-32
/// checked) and deflate, the
/// port of Google's decoder for brotli, ruzstd for zstd.
pub fn decode(encoding: &str, body: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let undo = |coding: &str, data: Vec<u8>| -> Vec<u8> {
        match coding {
            "gzip" => {
                assert!(data.len() >= 18 && data[..4] == [0x1f, 0x8b, 8, 0], "a gzip member without options");
                let out = miniz_oxide::inflate::decompress_to_vec(&data[10..data.len() - 8]).expect("deflate data");
                let trailer = [crc32fast::hash(&out).to_le_bytes(), (out.len() as u32).to_le_bytes()].concat();
                assert_eq!(data[data.len() - 8..], trailer, "the member's CRC-32 and length");
                out
            }
            "deflate" => miniz_oxide::inflate::decompress_to_vec_zlib(&data).expect("zlib data"),
            "br" => {
                let mut out = Vec::new();
                brotli::Decompressor::new(&data[..], 4096).read_to_end(&mut out).expect("a brotli stream");
                out
            }
            "zstd" => {
                let mut out = Vec::new();
                let mut frames = ruzstd::decoding::StreamingDecoder::new(&data[..]).expect("a zstd frame");
                frames.read_to_end(&mut out).expect("zstd blocks");
                out
            }
            "identity" => data,
            other => panic!("no decoder for {other}"),
        }
    };
    encoding.split(',').rev().map(str::trim).fold(body.to_vec(), |data, coding| undo(coding, data))
}

/// A brotli stream at `quality` (0 to 11) with a window of `1 << window` bytes.
pub fn brotli(data: &[u8], quality: u32, window: u32) -> Vec<u8> {
    let mut writer = brotli::CompressorWriter::new(Vec::new(), 4096, quality, window);
    std::io::Write::write_all(&mut writer, data).expect("writing to a Vec");
    writer.into_inner()
}

/// A zstd frame, at about zstd's level 1.
pub fn zstd(data: &[u8]) -> Vec<u8> {
    ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest)
}

/// Base-128 varint, written here independently of the crate's encoder.
fn varint(out: &mut Vec<u8>, value: u64) {
    let mut rest = value;
    loop {
        let low = (rest & 0x7f) as u8;
        rest >>= 7;
        if rest == 0 {
            return out.push(low);
        }
        out.push(low | 0x80);
    }
}

/// Protobuf field `number`, length-delimited (a string, bytes or a message).
pub fn field(number: u64, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    varint(&mut out, number << 3 | 2);
    varint(&mut out, value.len() as u64);
    out.extend_from_slice(value);
    out
}

/// Protobuf field `number` as a varint.
pub fn int_field(number: u64, value: u64) -> Vec<u8> {
    let mut out = Vec::new();
    varint(&mut out, number << 3);
    varint(&mut out, value);
    out
}

/// A gRPC frame: flags (1: compressed), big-endian length, message.
pub fn frame(flags: u8, message: &[u8]) -> Vec<u8> {
    let mut out = vec![flags];
    out.extend_from_slice(&(message.len() as u32).to_be_bytes());
    out.extend_from_slice(message);
    out
}

/// Base64 with padding (RFC 4648 §4), as gRPC-Web's text mode sends frames.
pub fn base64(data: &[u8]) -> Vec<u8> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    for group in data.chunks(3) {
        let bits = group.iter().enumerate().fold(0u32, |acc, (i, &b)| acc | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            let sextet = (bits >> (18 - 6 * i)) & 63;
            out.push(if i <= group.len() { ALPHABET[sextet as usize] } else { b'=' });
        }
    }
    out
}

/// The messages of a gRPC body, or `None` if its framing is broken.
pub fn messages(mut body: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    while !body.is_empty() {
        let len = u32::from_be_bytes(body.get(1..5)?.try_into().ok()?) as usize;
        out.push(body.get(5..5 + len)?.to_vec());
        body = &body[5 + len..];
    }
    Some(out)
}

/// A part of a `multipart/form-data` body: the field name, the file name
/// and content type if it is a file, and the content.
pub type FormPart<'a> = (&'a str, Option<(&'a str, &'a str)>, &'a [u8]);

/// A `multipart/form-data` body.
pub fn multipart(boundary: &str, parts: &[FormPart]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, file, content) in parts {
        out.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"").bytes());
        if let Some((filename, content_type)) = file {
            out.extend(format!("; filename=\"{filename}\"\r\nContent-Type: {content_type}").bytes());
        }
        out.extend_from_slice(b"\r\n\r\n");
        out.extend_from_slice(content);
        out.extend_from_slice(b"\r\n");
    }
    out.extend(format!("--{boundary}--\r\n").bytes());
    out
}
