//! Compressed input read as the text it holds: rotated logs are gzip (or
//! zstd) files, and scanning their compressed bytes would find nothing and
//! say so. A stream is told by its first bytes, not its name, and decoded as
//! it is read, so memory stays bounded however large the file.

use std::io::{self, BufRead, BufReader, Read};

use miniz_oxide::inflate::stream::{inflate, InflateState};
use miniz_oxide::{DataFormat, MZError, MZFlush, MZStatus};
use ruzstd::decoding::{FrameDecoder, StreamingDecoder};
use sieve::flow::take_gzip_header;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// `reader` decoded where it starts as a gzip or zstd stream; as it is
/// otherwise. Every member of a gzip file and every frame of a zstd one is
/// read, as `zcat` and `zstdcat` read them.
pub fn decoded(reader: Box<dyn Read>) -> io::Result<Box<dyn BufRead>> {
    let mut reader = BufReader::with_capacity(64 * 1024, reader);
    let head = reader.fill_buf()?;
    Ok(if head.starts_with(&GZIP_MAGIC) {
        Box::new(BufReader::new(Gunzip {
            input: reader,
            state: InflateState::new_boxed(DataFormat::Raw),
            in_member: false,
        }))
    } else if head.starts_with(&ZSTD_MAGIC) {
        Box::new(BufReader::new(Unzstd { input: Some(reader), frame: None }))
    } else {
        Box::new(reader)
    })
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

/// The members of a gzip stream, one after another (RFC 1952). Their
/// checksums are not verified: a scan reads whatever decodes.
struct Gunzip<R> {
    input: R,
    state: Box<InflateState>,
    /// Whether a member's deflate data is being read (else its header is next).
    in_member: bool,
}

impl<R: BufRead> Gunzip<R> {
    /// Reads a member's header; false at the end of the stream.
    fn header(&mut self) -> io::Result<bool> {
        if self.input.fill_buf()?.is_empty() {
            return Ok(false);
        }
        let mut failed = None;
        let mut bytes = (&mut self.input).bytes().map_while(|b| b.map_err(|e| failed = Some(e)).ok());
        let taken = take_gzip_header(&mut bytes);
        if let Some(e) = failed {
            return Err(e);
        }
        taken.ok_or_else(|| invalid("not a gzip member (or trailing bytes after one), or one cut short"))?;
        self.state.reset(DataFormat::Raw);
        Ok(true)
    }
}

impl<R: BufRead> Read for Gunzip<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if !self.in_member {
                if !self.header()? {
                    return Ok(0);
                }
                self.in_member = true;
            }
            let input = self.input.fill_buf()?;
            let flush = if input.is_empty() { MZFlush::Finish } else { MZFlush::None };
            let result = inflate(&mut self.state, input, buf, flush);
            self.input.consume(result.bytes_consumed);
            match result.status {
                Ok(MZStatus::StreamEnd) => {
                    self.input.read_exact(&mut [0u8; 8])?; // CRC-32 and size.
                    self.in_member = false;
                    if result.bytes_written > 0 {
                        return Ok(result.bytes_written);
                    }
                }
                Ok(_) if result.bytes_written > 0 => return Ok(result.bytes_written),
                // No output, and no input left to give it.
                Ok(_) | Err(MZError::Buf) if flush == MZFlush::Finish => return Err(invalid("gzip data cut short")),
                Ok(_) | Err(MZError::Buf) => {}
                Err(_) => return Err(invalid("gzip data does not decode")),
            }
        }
    }
}

/// The frames of a zstd stream, one after another.
struct Unzstd<R: BufRead> {
    /// The input between frames.
    input: Option<R>,
    frame: Option<StreamingDecoder<R, FrameDecoder>>,
}

impl<R: BufRead> Read for Unzstd<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if let Some(frame) = &mut self.frame {
                match frame.read(buf)? {
                    0 => self.input = self.frame.take().map(StreamingDecoder::into_inner),
                    n => return Ok(n),
                }
            }
            let Some(mut input) = self.input.take() else { return Ok(0) };
            if input.fill_buf()?.is_empty() {
                return Ok(0);
            }
            let frame =
                StreamingDecoder::new(input).map_err(|e| invalid(&format!("zstd frame does not decode: {e}")))?;
            self.frame = Some(frame);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(bytes: Vec<u8>) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        decoded(Box::new(io::Cursor::new(bytes)))?.read_to_end(&mut out)?;
        Ok(out)
    }

    /// A gzip member of `data`, stored (deflate's uncompressed blocks), with a file name.
    fn gzip_member(data: &[u8]) -> Vec<u8> {
        let mut out = vec![0x1f, 0x8b, 8, 0x08, 0, 0, 0, 0, 0, 255];
        out.extend_from_slice(b"app.log\0");
        out.extend(miniz_oxide::deflate::compress_to_vec(data, 6));
        out.extend_from_slice(&[0; 8]);
        out
    }

    #[test]
    fn every_gzip_member_is_read_and_plain_text_passes_as_it_is() {
        let mut two = gzip_member(b"first line\n");
        two.extend(gzip_member(&b"card 4111 1111 1111 1111\n".repeat(5000)));
        let text = read_all(two).unwrap();
        assert!(text.starts_with(b"first line\ncard 4111"));
        assert_eq!(text.len(), 11 + 25 * 5000);
        assert_eq!(read_all(b"plain text".to_vec()).unwrap(), b"plain text");
        assert_eq!(read_all(Vec::new()).unwrap(), b"");
    }

    #[test]
    fn a_gzip_stream_cut_short_or_followed_by_garbage_is_an_error() {
        let member = gzip_member(&b"some text, long enough to be cut\n".repeat(100));
        assert!(read_all(member[..member.len() / 2].to_vec()).is_err());
        let mut trailing = member.clone();
        trailing.extend_from_slice(b"garbage");
        assert!(read_all(trailing).is_err());
    }

    #[test]
    fn every_zstd_frame_is_read() {
        // Two raw (uncompressed) frames: magic, a header with a single segment
        // and a one-byte content size, then one last raw block.
        let frame = |data: &[u8]| {
            let mut out = ZSTD_MAGIC.to_vec();
            out.extend_from_slice(&[0x20, data.len() as u8]);
            let block = ((data.len() as u32) << 3) | 1; // Last block, raw.
            out.extend_from_slice(&block.to_le_bytes()[..3]);
            out.extend_from_slice(data);
            out
        };
        let mut two = frame(b"hello ");
        two.extend(frame(b"world"));
        assert_eq!(read_all(two).unwrap(), b"hello world");
    }
}
