//! `content-encoding` gzip, deflate, brotli and zstd, decoded with a cap on
//! the output so a small compressed body cannot expand into gigabytes (zip
//! bombs), and for brotli and zstd, whose windows reach megabytes, a cap on
//! the decoder's window as well.

use brotli_decompressor::{
    Allocator, BrotliDecoderErrorCode, BrotliDecompressStream, BrotliResult, BrotliState, StandardAlloc,
};
use miniz_oxide::inflate::{decompress_to_vec_with_limit, decompress_to_vec_zlib_with_limit, TINFLStatus};
use ruzstd::decoding::errors::{FrameDecoderError, ReadFrameHeaderError};
use ruzstd::decoding::{BlockDecodingStrategy, FrameDecoder};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Encoding {
    Identity,
    Gzip,
    Deflate,
    Brotli,
    Zstd,
}

impl Encoding {
    /// The encoding of a `content-encoding` value; `Err` for ones sieve cannot read.
    pub(super) fn of(header: &[u8]) -> Result<Encoding, &'static str> {
        match header.trim_ascii().to_ascii_lowercase().as_slice() {
            b"" | b"identity" => Ok(Encoding::Identity),
            b"gzip" | b"x-gzip" => Ok(Encoding::Gzip),
            b"deflate" => Ok(Encoding::Deflate),
            b"br" => Ok(Encoding::Brotli),
            b"zstd" => Ok(Encoding::Zstd),
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

/// Decodes `data`, producing at most `limit` bytes. An empty body is empty
/// in every encoding, as clients take it.
pub(super) fn decode(encoding: Encoding, data: &[u8], limit: usize) -> Decoded {
    let result = match encoding {
        _ if data.is_empty() => return Decoded::Whole(Vec::new()),
        Encoding::Identity => return Decoded::Whole(data.to_vec()),
        Encoding::Brotli => return brotli(data, limit),
        Encoding::Zstd => return zstd(data, limit),
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

/// The window a brotli or zstd decoder may keep whatever the scan limit:
/// the largest HTTP's zstd allows (RFC 9659), which streaming encoders
/// declare from level 17 up however short the body. Brotli's ring buffer
/// grows with the body, up to its window.
const MIN_WINDOW: usize = 8 << 20;

/// The largest window a decoder may keep when decoding at most `limit`
/// bytes: [`MIN_WINDOW`], or twice `limit` rounded up to a power of two if
/// that is larger. A body that decodes to `limit` bytes or fewer never
/// needs a window larger than `limit` rounded up.
fn window_cap(limit: usize) -> usize {
    let twice = limit.checked_next_power_of_two().and_then(|r| r.checked_mul(2)).unwrap_or(usize::MAX);
    twice.max(MIN_WINDOW)
}

/// Decodes a brotli stream, producing at most `limit` bytes.
///
/// The decoder's ring buffer grows with the output up to the stream's
/// window (up to 16 MiB), and is sized for a whole meta-block before it
/// produces any of it; encoders from quality 4 up put megabytes in one. Its
/// memory is capped at [`window_cap`]: a stream that decodes within `limit`
/// is read whole, and one that expands past it is read up to it where its
/// meta-blocks fit, and else (a bomb's one meta-block of 16 MiB) only up to
/// the one that does not.
fn brotli(data: &[u8], limit: usize) -> Decoded {
    brotli_with(&mut brotli_decoder(limit), data, limit)
}

type BrotliDecoder = BrotliState<Capped, StandardAlloc, StandardAlloc>;

/// A decoder whose ring buffer is capped as [`brotli`] says.
fn brotli_decoder(limit: usize) -> BrotliDecoder {
    // Ring buffers carry a few hundred bytes of slack past their size.
    let bytes = Capped { max: window_cap(limit).saturating_add(4 << 10), largest: 0 };
    BrotliState::new(bytes, StandardAlloc::default(), StandardAlloc::default())
}

fn brotli_with(state: &mut BrotliDecoder, data: &[u8], limit: usize) -> Decoded {
    let mut out = vec![0; limit.min(data.len().saturating_mul(4).max(16 << 10))];
    let (mut available_in, mut read, mut written, mut total) = (data.len(), 0, 0, 0);
    loop {
        let mut available_out = out.len() - written;
        let result = BrotliDecompressStream(
            &mut available_in,
            &mut read,
            data,
            &mut available_out,
            &mut written,
            &mut out,
            &mut total,
            state,
        );
        match result {
            BrotliResult::ResultSuccess => {
                out.truncate(written);
                return Decoded::Whole(out);
            }
            BrotliResult::NeedsMoreOutput if out.len() < limit => {
                out.resize(limit.min(out.len() * 2), 0);
            }
            BrotliResult::NeedsMoreOutput => return Decoded::Truncated(out),
            // The whole body was given: a stream that wants more is cut short.
            BrotliResult::NeedsMoreInput => return Decoded::Corrupt,
            BrotliResult::ResultFailure => {
                return match state.error_code {
                    BrotliDecoderErrorCode::BROTLI_DECODER_ERROR_ALLOC_RING_BUFFER_1
                    | BrotliDecoderErrorCode::BROTLI_DECODER_ERROR_ALLOC_RING_BUFFER_2 => {
                        out.truncate(written);
                        Decoded::Truncated(out)
                    }
                    _ => Decoded::Corrupt,
                };
            }
        }
    }
}

/// Decodes zstd frames (skippable ones skipped), producing at most `limit`
/// bytes.
///
/// A frame declares its window before its first block, and the decoder keeps
/// that much of the output to copy from, so a frame whose window is over
/// [`window_cap`] is not decoded: it is past the limit. Output comes a block
/// (at most 128 KiB) at a time, and decoding stops once it passes `limit`.
fn zstd(mut data: &[u8], limit: usize) -> Decoded {
    let mut decoder = FrameDecoder::new();
    decoder.set_max_window_size(window_cap(limit) as u64);
    let mut out = Vec::new();
    while !data.is_empty() {
        match decoder.init(&mut data) {
            Ok(()) => {}
            Err(FrameDecoderError::ReadFrameHeaderError(ReadFrameHeaderError::SkipFrame { length, .. })) => {
                match data.get(length as usize..) {
                    Some(rest) => data = rest,
                    None => return Decoded::Corrupt,
                }
                continue;
            }
            Err(FrameDecoderError::WindowSizeTooBig { .. }) => return Decoded::Truncated(out),
            Err(_) => return Decoded::Corrupt,
        }
        loop {
            let decoded = decoder.decode_blocks(&mut data, BlockDecodingStrategy::UptoBlocks(1));
            if decoded.is_err() || decoder.collect_to_writer(&mut out).is_err() {
                return Decoded::Corrupt;
            }
            if out.len() > limit {
                out.truncate(limit);
                return Decoded::Truncated(out);
            }
            if decoder.is_finished() {
                break;
            }
        }
    }
    Decoded::Whole(out)
}

/// Brotli's allocator for bytes, refusing any block over `max`: the decoder
/// then stops with an allocation error. Its other allocations (Huffman
/// tables) are bounded by the format.
struct Capped {
    max: usize,
    /// The largest block given, which the tests check against `max`.
    largest: usize,
}

impl Allocator<u8> for Capped {
    type AllocatedMemory = <StandardAlloc as Allocator<u8>>::AllocatedMemory;

    fn alloc_cell(&mut self, len: usize) -> Self::AllocatedMemory {
        if len > self.max {
            return Self::AllocatedMemory::default();
        }
        self.largest = self.largest.max(len);
        StandardAlloc::default().alloc_cell(len)
    }

    fn free_cell(&mut self, data: Self::AllocatedMemory) {
        StandardAlloc::default().free_cell(data)
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

    pub(crate) fn brotli(data: &[u8], quality: u32, window: u32) -> Vec<u8> {
        let mut writer = ::brotli::CompressorWriter::new(Vec::new(), 4096, quality, window);
        std::io::Write::write_all(&mut writer, data).unwrap();
        writer.into_inner()
    }

    /// JSON records, about 61 bytes each, varied enough not to compress away.
    fn records(n: u32) -> Vec<u8> {
        (0..n)
            .flat_map(|i| {
                format!(
                    r#"{{"id": {i}, "name": "user{}", "email": "u{}@example.com"}},"#,
                    i * 7919 % 1000,
                    i * 31 % 977
                )
                .into_bytes()
            })
            .collect()
    }

    #[test]
    fn brotli_decodes_whole_within_the_cap_and_stops_at_it() {
        let text = records(500);
        for (quality, window) in [(1, 10), (5, 22), (11, 24)] {
            let compressed = brotli(&text, quality, window);
            assert_eq!(decode(Encoding::Brotli, &compressed, 1 << 20), Decoded::Whole(text.clone()));
            assert_eq!(
                decode(Encoding::Brotli, &compressed, text.len()),
                Decoded::Whole(text.clone()),
                "exactly the cap"
            );
            match decode(Encoding::Brotli, &compressed, 4096) {
                Decoded::Truncated(out) => assert_eq!(out, text[..4096]),
                other => panic!("q{quality} w{window}: {other:?}"),
            }
        }
        assert_eq!(Encoding::of(b"BR"), Ok(Encoding::Brotli));
    }

    #[test]
    fn brotli_takes_at_most_its_ring_buffer_cap_bombs_included() {
        // Quality 5 puts 1.5 MB of records in one meta-block, so the decoder
        // asks for a ring buffer of 2 MiB before writing a byte.
        let text = records(25_000);
        let compressed = brotli(&text, 5, 22);
        for limit in [64 << 10, 1 << 20] {
            let mut decoder = brotli_decoder(limit);
            match brotli_with(&mut decoder, &compressed, limit) {
                Decoded::Truncated(out) => assert_eq!(out, text[..limit], "read up to the limit"),
                other => panic!("{limit}: {other:?}"),
            }
            let largest = decoder.alloc_u8.largest;
            assert!((2 << 20..=MIN_WINDOW + (4 << 10)).contains(&largest), "{limit}: a block of {largest} bytes");
        }
        // One meta-block of 16 MiB in a 16 MiB window.
        let bomb = brotli(&vec![b'a'; 16 << 20], 11, 24);
        assert!(bomb.len() < 1024, "{} bytes expand to 16 MiB", bomb.len());
        for limit in [0, 1000, 1 << 20, 4 << 20] {
            let mut decoder = brotli_decoder(limit);
            match brotli_with(&mut decoder, &bomb, limit) {
                Decoded::Truncated(out) => assert!(out.len() <= limit && out.iter().all(|&b| b == b'a')),
                other => panic!("{limit}: {other:?}"),
            }
            let largest = decoder.alloc_u8.largest;
            assert!(largest <= window_cap(limit) + (4 << 10), "{limit}: a block of {largest} bytes");
        }
    }

    pub(crate) fn zstd(data: &[u8]) -> Vec<u8> {
        ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest)
    }

    #[test]
    fn zstd_frames_decode_whole_within_the_cap_and_stop_at_it() {
        let text = records(2000);
        let compressed = zstd(&text);
        assert_eq!(decode(Encoding::Zstd, &compressed, 1 << 20), Decoded::Whole(text.clone()));
        assert_eq!(decode(Encoding::Zstd, &compressed, text.len()), Decoded::Whole(text.clone()), "exactly the cap");
        match decode(Encoding::Zstd, &compressed, 4096) {
            Decoded::Truncated(out) => assert_eq!(out, text[..4096]),
            other => panic!("{other:?}"),
        }
        // Two frames with a skippable frame between them: one body.
        let mut frames = zstd(b"card 4111 ");
        frames.extend_from_slice(&[0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3]);
        frames.extend(zstd(b"1111 1111 1111"));
        assert_eq!(decode(Encoding::Zstd, &frames, 1024), Decoded::Whole(b"card 4111 1111 1111 1111".to_vec()));
        assert_eq!(Encoding::of(b"zstd"), Ok(Encoding::Zstd));
    }

    #[test]
    fn a_zstd_bomb_stops_at_the_cap_and_a_window_over_it_is_not_decoded() {
        let bomb = zstd(&vec![b'a'; 16 << 20]);
        assert!(bomb.len() < 64 << 10, "{} bytes expand to 16 MiB", bomb.len());
        match decode(Encoding::Zstd, &bomb, 64 << 10) {
            Decoded::Truncated(out) => assert_eq!(out, vec![b'a'; 64 << 10]),
            other => panic!("{other:?}"),
        }
        // A frame header asking for a 16 MiB window (exponent 14), then a raw block of "abc".
        let wide = [0x28, 0xb5, 0x2f, 0xfd, 0x00, 14 << 3, 0x19, 0, 0, b'a', b'b', b'c'];
        assert_eq!(decode(Encoding::Zstd, &wide, 1 << 20), Decoded::Truncated(Vec::new()), "past the limit");
        // The same frame asking for 8 MiB (exponent 13), the most HTTP allows, or 1 KiB, decodes.
        for exponent in [13, 0] {
            let frame = [0x28, 0xb5, 0x2f, 0xfd, 0x00, exponent << 3, 0x19, 0, 0, b'a', b'b', b'c'];
            assert_eq!(decode(Encoding::Zstd, &frame, 64 << 10), Decoded::Whole(b"abc".to_vec()), "{exponent}");
        }
    }

    #[test]
    fn streams_from_the_reference_encoders_decode() {
        // Written by Google's brotli 1.2 (Python `brotli`) and libzstd 1.5.7
        // (Python `zstandard`): the tests' own encoders share code with the
        // decoders, so these show the formats as others write them.
        let body = br#"{"order": 7, "card": "4111 1111 1111 1111", "note": "thanks"}"#.repeat(3);
        let vectors = [
            (Encoding::Brotli, "quality 11, window 22", "1bb600202c0a6c1ba537d176b13230f452f3ea181091bd29725356346ea5d3972c6f748e71e403d9b5cc93cdb6100e1ec376bbc52139af29d9403688bc04f63aebd43e"),
            (Encoding::Brotli, "quality 4, window 16", "c2160080c07f37a7f57b73cb1171db968a88a2da525a1255845960a8c71fbec595822879575c443393599420e6ba0d17b7e7390e3f00"),
            (Encoding::Zstd, "level 19, checksum", "28b52ffd24b7bd010012c30a11a0ab03a1b4f3623b551df7631a27ff7710eecd501aa7dddc34952e188b88e1e6650d728168be4c596a1702002d1052068ee204b890e52a"),
            (Encoding::Zstd, "level 3", "28b52ffd20b7cd0100c4027b226f72646572223a20372c202263617264223a2022343131312031222c20226e6f74657468616e6b73227d03001708c9855a39388a13"),
        ];
        for (encoding, how, hex) in vectors {
            let bytes: Vec<u8> =
                (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect();
            assert_eq!(decode(encoding, &bytes, 1 << 20), Decoded::Whole(body.clone()), "{encoding:?} {how}");
        }
    }

    #[test]
    fn damaged_streams_of_every_encoding_decode_or_fail_without_a_panic() {
        let text = records(300);
        let streams: [(Encoding, Vec<u8>); 4] = [
            (Encoding::Gzip, gzip(&text)),
            (Encoding::Deflate, compress_to_vec_zlib(&text, 6)),
            (Encoding::Brotli, brotli(&text, 5, 22)),
            (Encoding::Zstd, zstd(&text)),
        ];
        let mut next = crate::engine::xorshift(0x9e37_79b9_7f4a_7c15);
        for (encoding, stream) in streams {
            for cut in (0..stream.len()).step_by(7) {
                decode(encoding, &stream[..cut], 1 << 20);
            }
            for _ in 0..300 {
                let mut damaged = stream.clone();
                for _ in 0..1 + next() % 4 {
                    let at = next() as usize % damaged.len();
                    damaged[at] ^= 1 << (next() % 8);
                }
                decode(encoding, &damaged, 1 << 20);
            }
        }
    }

    #[test]
    fn garbage_is_corrupt_not_a_panic() {
        assert_eq!(decode(Encoding::Gzip, b"\x1f\x8b\x08\x00garbage", 1024), Decoded::Corrupt);
        assert_eq!(decode(Encoding::Gzip, b"not gzip", 1024), Decoded::Corrupt);
        assert_eq!(decode(Encoding::Deflate, b"\xff\xff\xff", 1024), Decoded::Corrupt);
        let stream = brotli(b"card 4111 1111 1111 1111", 5, 22);
        assert_eq!(decode(Encoding::Brotli, &stream[..stream.len() - 2], 1024), Decoded::Corrupt, "cut short");
        assert_eq!(decode(Encoding::Brotli, b"\xff\xff\xff\xff garbage", 1024), Decoded::Corrupt);
        assert_eq!(decode(Encoding::Zstd, b"\x28\xb5\x2f\xfd garbage", 1024), Decoded::Corrupt);
        let frame = zstd(b"card 4111 1111 1111 1111");
        assert_eq!(decode(Encoding::Zstd, &frame[..frame.len() - 3], 1024), Decoded::Corrupt, "cut short");
        assert_eq!(Encoding::of(b"compress"), Err("unsupported content-encoding"));
        for encoding in [Encoding::Gzip, Encoding::Deflate, Encoding::Brotli, Encoding::Zstd] {
            assert_eq!(decode(encoding, b"", 1024), Decoded::Whole(Vec::new()), "{encoding:?}: nothing to decode");
        }
        assert_eq!(Encoding::of(b" GZIP "), Ok(Encoding::Gzip));
    }
}
