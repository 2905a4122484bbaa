//! `content-encoding` gzip, deflate, brotli and zstd, one or several stacked
//! (`gzip, br`), decoded with a cap on the output so a small compressed body
//! cannot expand into gigabytes (zip bombs), and for brotli and zstd, whose
//! windows reach megabytes, a cap on the decoder's window as well. Damaged
//! streams give what decoded before the damage: a lenient reader upstream
//! may take it, so it is scanned too.

use brotli_decompressor::{
    Allocator, BrotliDecoderErrorCode, BrotliDecompressStream, BrotliResult, BrotliState, StandardAlloc,
};
use miniz_oxide::inflate::core::inflate_flags::{
    TINFL_FLAG_PARSE_ZLIB_HEADER, TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF,
};
use miniz_oxide::inflate::core::{decompress, DecompressorOxide};
use miniz_oxide::inflate::TINFLStatus;
use ruzstd::decoding::errors::{FrameDecoderError, ReadFrameHeaderError};
use ruzstd::decoding::{BlockDecodingStrategy, FrameDecoder};

use crate::engine::bytes::eq_ignore_case;

/// A content coding sieve decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Coding {
    Gzip,
    Deflate,
    Brotli,
    Zstd,
}

/// The most codings one body may have been through: undoing each is a
/// decoding of up to the scan limit.
const MAX_CODINGS: usize = 3;

/// The codings a body went through, in the order they were applied (RFC
/// 9110 §8.4), then `None`s: only `None`s for `identity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Encoding {
    codings: [Option<Coding>; MAX_CODINGS],
}

impl Encoding {
    pub(super) const IDENTITY: Encoding = Encoding { codings: [None; MAX_CODINGS] };

    /// The encoding a `content-encoding` value (a list, `gzip, br`) names;
    /// `Err` for one sieve cannot read.
    pub(super) fn of(header: &[u8]) -> Result<Encoding, &'static str> {
        Encoding::IDENTITY.then(header)
    }

    /// This encoding, then the codings of a further `content-encoding`
    /// line: a list may span lines.
    pub(super) fn then(self, header: &[u8]) -> Result<Encoding, &'static str> {
        let mut encoding = self;
        for name in header.split(|&b| b == b',').map(<[u8]>::trim_ascii) {
            let is = |wanted: &[u8]| eq_ignore_case(name, wanted);
            let coding = match name.len() {
                // Empty list elements are allowed (RFC 9110 §5.6.1).
                0 => continue,
                _ if is(b"identity") => continue,
                _ if is(b"gzip") || is(b"x-gzip") => Coding::Gzip,
                _ if is(b"deflate") => Coding::Deflate,
                _ if is(b"br") => Coding::Brotli,
                _ if is(b"zstd") => Coding::Zstd,
                _ => return Err("unsupported content-encoding"),
            };
            let slot = encoding.codings.iter_mut().find(|c| c.is_none()).ok_or("too many content-codings")?;
            *slot = Some(coding);
        }
        Ok(encoding)
    }

    pub(super) fn is_identity(&self) -> bool {
        self.codings[0].is_none()
    }

    /// The codings, in the order they were applied.
    pub(super) fn codings(&self) -> impl DoubleEndedIterator<Item = Coding> + '_ {
        self.codings.iter().flatten().copied()
    }
}

#[derive(Debug, PartialEq, Eq)]
pub(super) enum Decoded {
    /// The whole body.
    Whole(Vec<u8>),
    /// The first `limit` bytes: the body expands past the cap.
    Truncated(Vec<u8>),
    /// Not valid for its encoding: what decoded before the damage.
    Corrupt(Vec<u8>),
}

/// How a decoding ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Whole,
    /// At the cap on its output (or its window).
    Limit,
    Corrupt,
}

impl End {
    /// How undoing two codings ended, the outer (undone first) and the
    /// inner: past the limit if either was, as the inner one's input was cut
    /// short there.
    fn then(self, inner: End) -> End {
        match (self, inner) {
            (End::Limit, _) | (_, End::Limit) => End::Limit,
            (End::Corrupt, _) | (_, End::Corrupt) => End::Corrupt,
            (End::Whole, End::Whole) => End::Whole,
        }
    }
}

/// Decodes `data`, undoing its codings from the last applied, producing at
/// most `limit` bytes at every step. An empty body is empty in every
/// encoding, as clients take it.
pub(super) fn decode(encoding: Encoding, data: &[u8], limit: usize) -> Decoded {
    let mut codings = encoding.codings().rev();
    let Some(outer) = codings.next() else { return Decoded::Whole(data.to_vec()) };
    let (mut out, mut end) = undo(outer, data, limit);
    for coding in codings {
        let (inner, inner_end) = undo(coding, &out, limit);
        (out, end) = (inner, end.then(inner_end));
    }
    match end {
        End::Whole => Decoded::Whole(out),
        End::Limit => Decoded::Truncated(out),
        End::Corrupt => Decoded::Corrupt(out),
    }
}

/// Undoes one coding, producing at most `limit` bytes.
fn undo(coding: Coding, data: &[u8], limit: usize) -> (Vec<u8>, End) {
    if data.is_empty() {
        return (Vec::new(), End::Whole);
    }
    match coding {
        Coding::Gzip => gunzip(data, limit),
        Coding::Deflate => {
            // HTTP's "deflate" is zlib-wrapped, but raw deflate is common in the wild.
            let mut out = Vec::new();
            match inflate(data, TINFL_FLAG_PARSE_ZLIB_HEADER, &mut out, limit) {
                (_, End::Corrupt) if out.is_empty() => {
                    let end = inflate(data, 0, &mut out, limit).1;
                    (out, end)
                }
                (_, end) => (out, end),
            }
        }
        Coding::Brotli => brotli(data, limit),
        Coding::Zstd => zstd(data, limit),
    }
}

/// Decodes gzip members (RFC 1952): one after another, as clients decode
/// them, so a second member cannot hide from the scan. Bytes after the last
/// member that do not start another are ignored, as gzip(1) ignores them.
fn gunzip(mut data: &[u8], limit: usize) -> (Vec<u8>, End) {
    let mut out = Vec::new();
    loop {
        let Some(deflate) = gzip_payload(data) else { return (out, End::Corrupt) };
        let (taken, end) = inflate(deflate, 0, &mut out, limit);
        if end != End::Whole {
            return (out, end);
        }
        // The member's CRC-32 and length (not checked, as the upstream will).
        data = deflate.get(taken + 8..).unwrap_or_default();
        if !data.starts_with(&[0x1f, 0x8b]) {
            return (out, End::Whole);
        }
    }
}

/// Inflates one deflate stream at the start of `data` (zlib-wrapped with
/// `TINFL_FLAG_PARSE_ZLIB_HEADER` in `flags`), appending to `out` until it
/// holds `limit` bytes; returns the input bytes the stream took. On damage,
/// `out` keeps what decoded before it.
fn inflate(data: &[u8], flags: u32, out: &mut Vec<u8>, limit: usize) -> (usize, End) {
    let flags = flags | TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF;
    let mut state = Box::<DecompressorOxide>::default();
    let (mut taken, mut at) = (0, out.len());
    // Back-references reach into what is already written, so the stream
    // writes into one buffer that grows.
    out.resize(limit.min(at.saturating_add(data.len().saturating_mul(4).max(4096))).max(at), 0);
    loop {
        let (status, read, written) = decompress(&mut state, data.get(taken..).unwrap_or_default(), out, at, flags);
        (taken, at) = (taken + read, at + written);
        let end = match status {
            TINFLStatus::Done => End::Whole,
            TINFLStatus::HasMoreOutput if out.len() < limit => {
                out.resize(limit.min(out.len().saturating_mul(2).max(4096)), 0);
                continue;
            }
            TINFLStatus::HasMoreOutput => End::Limit,
            _ => End::Corrupt,
        };
        out.truncate(at);
        return (taken, end);
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
fn brotli(data: &[u8], limit: usize) -> (Vec<u8>, End) {
    brotli_with(&mut brotli_decoder(limit), data, limit)
}

type BrotliDecoder = BrotliState<Capped, StandardAlloc, StandardAlloc>;

/// A decoder whose ring buffer is capped as [`brotli`] says.
fn brotli_decoder(limit: usize) -> BrotliDecoder {
    // Ring buffers carry a few hundred bytes of slack past their size.
    let bytes = Capped { max: window_cap(limit).saturating_add(4 << 10), largest: 0 };
    BrotliState::new(bytes, StandardAlloc::default(), StandardAlloc::default())
}

fn brotli_with(state: &mut BrotliDecoder, data: &[u8], limit: usize) -> (Vec<u8>, End) {
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
        let end = match result {
            BrotliResult::ResultSuccess => End::Whole,
            BrotliResult::NeedsMoreOutput if out.len() < limit => {
                out.resize(limit.min(out.len() * 2), 0);
                continue;
            }
            BrotliResult::NeedsMoreOutput => End::Limit,
            // The whole body was given: a stream that wants more is cut short.
            BrotliResult::NeedsMoreInput => End::Corrupt,
            BrotliResult::ResultFailure => match state.error_code {
                BrotliDecoderErrorCode::BROTLI_DECODER_ERROR_ALLOC_RING_BUFFER_1
                | BrotliDecoderErrorCode::BROTLI_DECODER_ERROR_ALLOC_RING_BUFFER_2 => End::Limit,
                _ => End::Corrupt,
            },
        };
        out.truncate(written);
        return (out, end);
    }
}

/// Decodes zstd frames (skippable ones skipped), producing at most `limit`
/// bytes.
///
/// A frame declares its window before its first block, and the decoder keeps
/// that much of the output to copy from, so a frame whose window is over
/// [`window_cap`] is not decoded: it is past the limit. Output comes a block
/// (at most 128 KiB) at a time, and decoding stops once it passes `limit`.
fn zstd(mut data: &[u8], limit: usize) -> (Vec<u8>, End) {
    let mut decoder = FrameDecoder::new();
    decoder.set_max_window_size(window_cap(limit) as u64);
    let mut out = Vec::new();
    while !data.is_empty() {
        let frame = data;
        match decoder.init(&mut data) {
            Ok(()) => {}
            Err(FrameDecoderError::ReadFrameHeaderError(ReadFrameHeaderError::SkipFrame { length, .. })) => {
                match data.get(length as usize..) {
                    Some(rest) => data = rest,
                    None => return (out, End::Corrupt),
                }
                continue;
            }
            Err(FrameDecoderError::WindowSizeTooBig { .. }) => return (out, End::Limit),
            // Bytes after the last frame that do not start another, too.
            Err(_) => return (out, End::Corrupt),
        }
        let before = out.len();
        match zstd_blocks(&mut decoder, &mut data, &mut out, limit) {
            End::Whole => {}
            End::Limit => return (out, End::Limit),
            End::Corrupt => {
                // `data` starts at the damaged block: the blocks before it decode.
                out.truncate(before);
                let intact = &frame[..frame.len() - data.len()];
                let end = zstd_intact(intact, &mut out, limit);
                return (out, if end == End::Limit { End::Limit } else { End::Corrupt });
            }
        }
    }
    (out, End::Whole)
}

/// Decodes the blocks of an initialised frame into `out`, a block at a
/// time; on damage, `data` is left at the start of the damaged block.
fn zstd_blocks(decoder: &mut FrameDecoder, data: &mut &[u8], out: &mut Vec<u8>, limit: usize) -> End {
    loop {
        let mut block = *data;
        let decoded = decoder.decode_blocks(&mut block, BlockDecodingStrategy::UptoBlocks(1));
        if decoded.is_err() || decoder.collect_to_writer(&mut *out).is_err() {
            out.truncate(limit);
            return End::Corrupt;
        }
        *data = block;
        if out.len() > limit {
            out.truncate(limit);
            return End::Limit;
        }
        if decoder.is_finished() {
            return End::Whole;
        }
    }
}

/// The output of a frame's blocks before a damaged one. The decoder keeps
/// the frame's last window (megabytes) until the frame ends, and gives no
/// way to take it before: so the intact blocks are decoded again as a frame
/// of their own, ended with an empty last block.
fn zstd_intact(intact: &[u8], out: &mut Vec<u8>, limit: usize) -> End {
    // A raw block of no bytes with its last-block bit; then a checksum,
    // which is read if the frame has one and never checked.
    let frame = [intact, &[1, 0, 0], &[0; 4]].concat();
    let mut decoder = FrameDecoder::new();
    decoder.set_max_window_size(window_cap(limit) as u64);
    let mut data = &frame[..];
    if decoder.init(&mut data).is_err() {
        return End::Corrupt;
    }
    zstd_blocks(&mut decoder, &mut data, out, limit)
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
    let mut bytes = data.iter().copied();
    take_gzip_header(&mut bytes)?;
    data.get(data.len() - bytes.len()..)
}

/// Takes a gzip member's header (RFC 1952) from the front of `bytes`:
/// `None` where they do not start one, or end inside it. Byte by byte, so a
/// reader of a stream (the CLI's) takes it as this module takes it from a
/// body.
pub fn take_gzip_header(bytes: &mut impl Iterator<Item = u8>) -> Option<()> {
    const FHCRC: u8 = 2;
    const FEXTRA: u8 = 4;
    const FNAME: u8 = 8;
    const FCOMMENT: u8 = 16;
    let mut fixed = [0; 10];
    for byte in &mut fixed {
        *byte = bytes.next()?;
    }
    if fixed[..3] != [0x1f, 0x8b, 8] {
        return None;
    }
    let flags = fixed[3];
    if flags & FEXTRA != 0 {
        let len = u16::from_le_bytes([bytes.next()?, bytes.next()?]);
        if let Some(last) = usize::from(len).checked_sub(1) {
            bytes.nth(last)?;
        }
    }
    for field in [FNAME, FCOMMENT] {
        // Zero-terminated.
        if flags & field != 0 {
            bytes.find(|&b| b == 0)?;
        }
    }
    if flags & FHCRC != 0 {
        bytes.nth(1)?;
    }
    Some(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use miniz_oxide::deflate::{compress_to_vec, compress_to_vec_zlib};

    const GZIP: Encoding = one(Coding::Gzip);
    const DEFLATE: Encoding = one(Coding::Deflate);
    const BROTLI: Encoding = one(Coding::Brotli);
    const ZSTD: Encoding = one(Coding::Zstd);

    const fn one(coding: Coding) -> Encoding {
        Encoding { codings: [Some(coding), None, None] }
    }

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
        assert_eq!(decode(GZIP, &gzip(&text), 1 << 20), Decoded::Whole(text.clone()));
        assert_eq!(decode(DEFLATE, &compress_to_vec_zlib(&text, 6), 1 << 20), Decoded::Whole(text.clone()));
        assert_eq!(decode(DEFLATE, &compress_to_vec(&text, 6), 1 << 20), Decoded::Whole(text));
    }

    #[test]
    fn every_optional_field_of_a_gzip_header_is_skipped_and_a_cut_header_is_refused() {
        // FHCRC, FEXTRA (3 bytes), FNAME and FCOMMENT, then the deflate data.
        let mut member = vec![0x1f, 0x8b, 8, 2 | 4 | 8 | 16, 0, 0, 0, 0, 0, 255, 3, 0, b'x', b'y', b'z'];
        member.extend_from_slice(b"name.json\0a comment\0\xab\xcd");
        let header = member.len();
        member.extend_from_slice(&compress_to_vec(b"card 4111 1111 1111 1111", 6));
        assert_eq!(gzip_payload(&member), Some(&member[header..]));
        for cut in 0..header {
            assert_eq!(gzip_payload(&member[..cut]), None, "a header cut after {cut} bytes");
        }
        member[2] = 9; // Not deflate.
        assert_eq!(gzip_payload(&member), None);
    }

    #[test]
    fn a_bomb_stops_at_the_cap() {
        let zeros = vec![0u8; 8 << 20];
        let bomb = gzip(&zeros);
        assert!(bomb.len() < 20_000, "{} bytes expand to 8 MiB", bomb.len());
        match decode(GZIP, &bomb, 64 << 10) {
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
            assert_eq!(decode(BROTLI, &compressed, 1 << 20), Decoded::Whole(text.clone()));
            assert_eq!(decode(BROTLI, &compressed, text.len()), Decoded::Whole(text.clone()), "exactly the cap");
            match decode(BROTLI, &compressed, 4096) {
                Decoded::Truncated(out) => assert_eq!(out, text[..4096]),
                other => panic!("q{quality} w{window}: {other:?}"),
            }
        }
        assert_eq!(Encoding::of(b"BR"), Ok(BROTLI));
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
                (out, End::Limit) => assert_eq!(out, text[..limit], "read up to the limit"),
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
                (out, End::Limit) => assert!(out.len() <= limit && out.iter().all(|&b| b == b'a')),
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
        assert_eq!(decode(ZSTD, &compressed, 1 << 20), Decoded::Whole(text.clone()));
        assert_eq!(decode(ZSTD, &compressed, text.len()), Decoded::Whole(text.clone()), "exactly the cap");
        match decode(ZSTD, &compressed, 4096) {
            Decoded::Truncated(out) => assert_eq!(out, text[..4096]),
            other => panic!("{other:?}"),
        }
        // Two frames with a skippable frame between them: one body.
        let mut frames = zstd(b"card 4111 ");
        frames.extend_from_slice(&[0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3]);
        frames.extend(zstd(b"1111 1111 1111"));
        assert_eq!(decode(ZSTD, &frames, 1024), Decoded::Whole(b"card 4111 1111 1111 1111".to_vec()));
        assert_eq!(Encoding::of(b"zstd"), Ok(ZSTD));
    }

    #[test]
    fn a_zstd_bomb_stops_at_the_cap_and_a_window_over_it_is_not_decoded() {
        let bomb = zstd(&vec![b'a'; 16 << 20]);
        assert!(bomb.len() < 64 << 10, "{} bytes expand to 16 MiB", bomb.len());
        match decode(ZSTD, &bomb, 64 << 10) {
            Decoded::Truncated(out) => assert_eq!(out, vec![b'a'; 64 << 10]),
            other => panic!("{other:?}"),
        }
        // A frame header asking for a 16 MiB window (exponent 14), then a raw block of "abc".
        let wide = [0x28, 0xb5, 0x2f, 0xfd, 0x00, 14 << 3, 0x19, 0, 0, b'a', b'b', b'c'];
        assert_eq!(decode(ZSTD, &wide, 1 << 20), Decoded::Truncated(Vec::new()), "past the limit");
        // The same frame asking for 8 MiB (exponent 13), the most HTTP allows, or 1 KiB, decodes.
        for exponent in [13, 0] {
            let frame = [0x28, 0xb5, 0x2f, 0xfd, 0x00, exponent << 3, 0x19, 0, 0, b'a', b'b', b'c'];
            assert_eq!(decode(ZSTD, &frame, 64 << 10), Decoded::Whole(b"abc".to_vec()), "{exponent}");
        }
    }

    #[test]
    fn streams_from_the_reference_encoders_decode() {
        // Written by Google's brotli 1.2 (Python `brotli`) and libzstd 1.5.7
        // (Python `zstandard`): the tests' own encoders share code with the
        // decoders, so these show the formats as others write them.
        let body = br#"{"order": 7, "card": "4111 1111 1111 1111", "note": "thanks"}"#.repeat(3);
        let vectors = [
            (BROTLI, "quality 11, window 22", "1bb600202c0a6c1ba537d176b13230f452f3ea181091bd29725356346ea5d3972c6f748e71e403d9b5cc93cdb6100e1ec376bbc52139af29d9403688bc04f63aebd43e"),
            (BROTLI, "quality 4, window 16", "c2160080c07f37a7f57b73cb1171db968a88a2da525a1255845960a8c71fbec595822879575c443393599420e6ba0d17b7e7390e3f00"),
            (ZSTD, "level 19, checksum", "28b52ffd24b7bd010012c30a11a0ab03a1b4f3623b551df7631a27ff7710eecd501aa7dddc34952e188b88e1e6650d728168be4c596a1702002d1052068ee204b890e52a"),
            (ZSTD, "level 3", "28b52ffd20b7cd0100c4027b226f72646572223a20372c202263617264223a2022343131312031222c20226e6f74657468616e6b73227d03001708c9855a39388a13"),
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
            (GZIP, gzip(&text)),
            (DEFLATE, compress_to_vec_zlib(&text, 6)),
            (BROTLI, brotli(&text, 5, 22)),
            (ZSTD, zstd(&text)),
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
        let corrupt = |encoding, data: &[u8]| matches!(decode(encoding, data, 1024), Decoded::Corrupt(_));
        assert!(corrupt(GZIP, b"\x1f\x8b\x08\x00garbage"));
        assert!(corrupt(GZIP, b"not gzip"));
        assert!(corrupt(DEFLATE, b"\xff\xff\xff"));
        let stream = brotli(b"card 4111 1111 1111 1111", 5, 22);
        assert!(corrupt(BROTLI, &stream[..stream.len() - 2]), "cut short");
        assert!(corrupt(BROTLI, b"\xff\xff\xff\xff garbage"));
        assert!(corrupt(ZSTD, b"\x28\xb5\x2f\xfd garbage"));
        let frame = zstd(b"card 4111 1111 1111 1111");
        assert!(corrupt(ZSTD, &frame[..frame.len() - 3]), "cut short");
        for encoding in [GZIP, DEFLATE, BROTLI, ZSTD] {
            assert_eq!(decode(encoding, b"", 1024), Decoded::Whole(Vec::new()), "{encoding:?}: nothing to decode");
        }
    }

    #[test]
    fn what_decodes_before_the_damage_is_kept() {
        let text = records(4000);
        let streams = [
            (GZIP, gzip(&text)),
            (DEFLATE, compress_to_vec_zlib(&text, 6)),
            (BROTLI, brotli(&text, 5, 22)),
            (ZSTD, zstd(&text)),
        ];
        for (encoding, stream) in streams {
            match decode(encoding, &stream[..stream.len() * 3 / 4], 1 << 20) {
                Decoded::Corrupt(out) => {
                    assert!(!out.is_empty(), "{encoding:?}: nothing");
                    assert!(text.starts_with(&out), "{encoding:?}");
                }
                other => panic!("{encoding:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_damaged_zstd_frame_gives_every_block_before_the_damage() {
        // ruzstd keeps a frame's last window (here all of it) until the frame ends.
        let text = records(10_000);
        let frame = zstd(&text);
        let mut starts = Vec::new(); // Where each block starts in the frame.
        let mut decoder = FrameDecoder::new();
        let mut data = &frame[..];
        decoder.init(&mut data).unwrap();
        while !decoder.is_finished() {
            starts.push(frame.len() - data.len());
            decoder.decode_blocks(&mut data, BlockDecodingStrategy::UptoBlocks(1)).unwrap();
        }
        // The encoder puts 128 KiB of the text in each block.
        assert_eq!(starts.len(), text.len().div_ceil(128 << 10));
        let at = starts[2];
        let mut reserved = frame.clone();
        reserved[at] |= 0b110; // Block type 3, which no block may have.
        for (stream, what) in [(&frame[..at + 5], "cut short"), (&reserved[..], "a reserved block type")] {
            match decode(ZSTD, stream, 1 << 20) {
                Decoded::Corrupt(out) => assert!(out == text[..2 << 17], "{what}: {} bytes", out.len()),
                other => panic!("{what}: {other:?}"),
            }
        }
    }

    #[test]
    fn content_encoding_lists_name_the_codings_in_the_order_applied() {
        let of = |value: &[u8]| Encoding::of(value).map(|e| e.codings().collect::<Vec<_>>());
        assert_eq!(of(b""), Ok(vec![]));
        assert_eq!(of(b"identity"), Ok(vec![]));
        assert_eq!(of(b" GZIP "), Ok(vec![Coding::Gzip]));
        assert_eq!(of(b"x-gzip"), Ok(vec![Coding::Gzip]));
        assert_eq!(of(b"BR"), Ok(vec![Coding::Brotli]));
        assert_eq!(of(b"deflate,Zstd"), Ok(vec![Coding::Deflate, Coding::Zstd]));
        assert_eq!(of(b"gzip, identity, , br"), Ok(vec![Coding::Gzip, Coding::Brotli]));
        assert_eq!(of(b"gzip, gzip, gzip"), Ok(vec![Coding::Gzip; 3]));
        assert_eq!(of(b"gzip, gzip, gzip, gzip"), Err("too many content-codings"));
        assert_eq!(of(b"compress"), Err("unsupported content-encoding"));
        assert_eq!(of(b"gzip, aes128gcm"), Err("unsupported content-encoding"));
        assert!(Encoding::of(b" ,identity").unwrap().is_identity());
    }

    #[test]
    fn stacked_codings_are_undone_from_the_last_applied() {
        let text = records(300);
        let gzip_then_br = brotli(&gzip(&text), 5, 22);
        let encoding = Encoding::of(b"gzip, br").unwrap();
        assert_eq!(decode(encoding, &gzip_then_br, 1 << 20), Decoded::Whole(text.clone()));
        assert!(matches!(decode(Encoding::of(b"br, gzip").unwrap(), &gzip_then_br, 1 << 20), Decoded::Corrupt(_)));
        let three = zstd(&compress_to_vec_zlib(&gzip(&text), 6));
        assert_eq!(
            decode(Encoding::of(b"gzip, deflate, zstd").unwrap(), &three, 1 << 20),
            Decoded::Whole(text.clone())
        );
        match decode(encoding, &gzip_then_br, 4096) {
            Decoded::Truncated(out) => assert_eq!(out, text[..4096]),
            other => panic!("{other:?}"),
        }
        // A bomb inside a bomb: 16 MiB of zeros gzipped twice, in a few hundred bytes.
        let bomb = gzip(&gzip(&vec![0; 16 << 20]));
        assert!(bomb.len() < 1024, "{} bytes", bomb.len());
        match decode(Encoding::of(b"gzip, gzip").unwrap(), &bomb, 64 << 10) {
            Decoded::Truncated(out) => assert_eq!(out, vec![0; 64 << 10]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_gzip_member_is_decoded_and_trailing_bytes_are_ignored() {
        let mut members = gzip(br#"{"note": "nothing here"}"#);
        members.extend(gzip(br#"{"card": "4111 1111 1111 1111"}"#));
        let both = br#"{"note": "nothing here"}{"card": "4111 1111 1111 1111"}"#.to_vec();
        assert_eq!(decode(GZIP, &members, 1 << 20), Decoded::Whole(both.clone()));
        match decode(GZIP, &members, 30) {
            Decoded::Truncated(out) => assert_eq!(out, both[..30]),
            other => panic!("{other:?}"),
        }
        let mut padded = members.clone();
        padded.extend_from_slice(&[0; 16]);
        assert_eq!(decode(GZIP, &padded, 1 << 20), Decoded::Whole(both.clone()), "padding after the last member");
        let mut damaged = members;
        damaged.extend_from_slice(b"\x1f\x8b\x08\x00 not a member");
        assert_eq!(decode(GZIP, &damaged, 1 << 20), Decoded::Corrupt(both), "a member that does not decode");
    }
}
