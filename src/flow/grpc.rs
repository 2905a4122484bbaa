//! gRPC framing: a body is a sequence of messages, each prefixed by a flags
//! byte (bit 0: compressed with the stream's `grpc-encoding`; bit 7: a
//! gRPC-Web trailers frame) and a 4-byte big-endian length.
//!
//! The [`Deframer`] keeps at most one incomplete message, so a streaming
//! call is inspected message by message and never held to its end.

/// Bytes of a frame's prefix.
pub(super) const PREFIX: usize = 5;

/// Splits a body into frames, whatever its chunking.
#[derive(Debug, Default)]
pub(super) struct Deframer {
    pending: Vec<u8>,
    /// Where the next frame starts in `pending`.
    start: usize,
    /// Body offset of `pending[0]`.
    offset: u64,
}

/// What [`Deframer::next`] found.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Next<'a> {
    Frame(Frame<'a>),
    /// The next frame is not complete yet.
    Partial,
    /// The next frame is longer than the limit, or would end past it.
    OverLimit,
}

#[derive(Debug, PartialEq, Eq)]
pub(super) struct Frame<'a> {
    pub flags: u8,
    pub payload: &'a [u8],
    /// Body offset of the payload.
    pub at: u64,
}

impl Frame<'_> {
    pub(super) fn compressed(&self) -> bool {
        self.flags & 1 != 0
    }

    /// A gRPC-Web trailers frame: metadata, not a message.
    pub(super) fn trailers(&self) -> bool {
        self.flags & 0x80 != 0
    }
}

impl Deframer {
    pub(super) fn push(&mut self, chunk: &[u8]) {
        self.pending.drain(..self.start);
        self.offset += self.start as u64;
        self.start = 0;
        self.pending.extend_from_slice(chunk);
    }

    /// The next complete frame, if its payload is at most `max_len` bytes
    /// and ends by body offset `max_end`.
    pub(super) fn next(&mut self, max_len: usize, max_end: u64) -> Next<'_> {
        let rest = &self.pending[self.start..];
        let Some(prefix) = rest.get(..PREFIX) else { return Next::Partial };
        let len = u32::from_be_bytes([prefix[1], prefix[2], prefix[3], prefix[4]]) as usize;
        let at = self.offset + (self.start + PREFIX) as u64;
        if len > max_len || at + len as u64 > max_end {
            return Next::OverLimit;
        }
        let Some(payload) = rest.get(PREFIX..PREFIX + len) else { return Next::Partial };
        self.start += PREFIX + len;
        Next::Frame(Frame { flags: prefix[0], payload, at })
    }

    /// Whether part of a frame is waiting for the rest.
    pub(super) fn partial(&self) -> bool {
        self.start < self.pending.len()
    }

    /// Takes the bytes not yet returned as frames.
    pub(super) fn take_rest(&mut self) -> Vec<u8> {
        let rest = self.pending.split_off(self.start);
        self.push(&[]);
        self.offset += rest.len() as u64;
        rest
    }
}

/// gRPC-Web's text mode (`application/grpc-web-text`) sends the frames in
/// base64, in one or several padded segments (a sender may encode each
/// write on its own). Decodes the complete 4-character groups of `rest` and
/// `chunk`, keeping an incomplete group in `rest` for the next chunk. Group
/// by group, so that how the text was cut into chunks changes nothing: what
/// the groups before the first that is not base64 decode to, and whether
/// every group was.
pub(super) fn decode_text(rest: &mut Vec<u8>, chunk: &[u8]) -> (Vec<u8>, bool) {
    rest.extend_from_slice(chunk);
    let whole = rest.len() - rest.len() % 4;
    let mut out = Vec::with_capacity(whole / 4 * 3);
    // A padded group ends a segment; the next group may start another.
    for group in rest[..whole].chunks_exact(4) {
        match crate::engine::validate::base64_decode(group) {
            Some(bytes) => out.extend(bytes),
            None => return (out, false),
        }
    }
    rest.drain(..whole);
    (out, true)
}

/// `bytes` as one padded base64 segment of gRPC-Web text.
pub(super) fn encode_text(bytes: &[u8]) -> Vec<u8> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::with_capacity(bytes.len().div_ceil(3) * 4);
    for group in bytes.chunks(3) {
        let bits = group.iter().enumerate().fold(0u32, |acc, (i, &b)| acc | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            out.push(if i <= group.len() { ALPHABET[(bits >> (18 - 6 * i)) as usize & 63] } else { b'=' });
        }
    }
    out
}

/// gRPC-Web's status frame (flags 0x80): trailers in the body.
pub(super) fn status_frame(message: &str) -> Vec<u8> {
    let mut frame = Vec::new();
    put_frame(&mut frame, 0x80, format!("grpc-status:7\r\ngrpc-message:{message}\r\n").as_bytes());
    frame
}

/// Appends a frame with this payload.
pub(super) fn put_frame(out: &mut Vec<u8>, flags: u8, payload: &[u8]) {
    out.push(flags);
    // Payloads stay under the buffer limit, far below 4 GiB.
    out.extend_from_slice(&u32::try_from(payload.len()).unwrap_or(u32::MAX).to_be_bytes());
    out.extend_from_slice(payload);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(body: &[u8], split: usize) -> Vec<(u8, Vec<u8>, u64)> {
        let mut d = Deframer::default();
        let mut out = Vec::new();
        for chunk in [&body[..split], &body[split..]] {
            d.push(chunk);
            while let Next::Frame(f) = d.next(1 << 20, u64::MAX) {
                out.push((f.flags, f.payload.to_vec(), f.at));
            }
        }
        out
    }

    #[test]
    fn frames_come_out_whole_at_every_split_point() {
        let mut body = Vec::new();
        put_frame(&mut body, 0, b"first");
        put_frame(&mut body, 1, b"");
        put_frame(&mut body, 0x80, b"grpc-status:0\r\n");
        let expected = vec![(0, b"first".to_vec(), 5), (1, Vec::new(), 15), (0x80, b"grpc-status:0\r\n".to_vec(), 20)];
        for split in 0..=body.len() {
            assert_eq!(frames(&body, split), expected, "split at {split}");
        }
    }

    #[test]
    fn base64_text_decodes_group_by_group_across_chunks_and_padded_segments() {
        // "ABCD" padded, then "EF" padded: two segments, as two writes encoded on their own.
        let text = b"QUJDRA==RUY=";
        for split in 0..=text.len() {
            let mut rest = Vec::new();
            let (mut out, ok) = decode_text(&mut rest, &text[..split]);
            assert!(ok);
            out.extend(decode_text(&mut rest, &text[split..]).0);
            assert_eq!((out.as_slice(), rest.as_slice()), (&b"ABCDEF"[..], &b""[..]), "split at {split}");
        }
        let mut rest = Vec::new();
        assert_eq!(decode_text(&mut rest, b"QUJDR"), (b"ABC".to_vec(), true));
        assert_eq!(rest, b"R", "an incomplete group waits for the next chunk");
        assert_eq!(decode_text(&mut Vec::new(), b"QUJDQU*D"), (b"ABC".to_vec(), false), "not base64 after a group");
        assert_eq!(decode_text(&mut Vec::new(), b"QQ=A"), (Vec::new(), false), "padding inside a group");
        assert_eq!(decode_text(&mut Vec::new(), b"===="), (Vec::new(), false), "padding alone");
    }

    #[test]
    fn encoded_text_decodes_back() {
        for len in 0..10 {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 200) as u8).collect();
            let text = encode_text(&bytes);
            assert_eq!(text.len() % 4, 0);
            assert_eq!(decode_text(&mut Vec::new(), &text), (bytes, true), "{len} bytes");
        }
        assert_eq!(encode_text(b"ABCD"), b"QUJDRA==");
    }

    #[test]
    fn an_incomplete_frame_is_kept_and_one_over_the_limits_reported() {
        let mut d = Deframer::default();
        d.push(&[0, 0, 0, 0, 9, b'a']);
        assert_eq!(d.next(100, 100), Next::Partial);
        assert_eq!(d.next(8, 100), Next::OverLimit);
        assert_eq!(d.next(100, 13), Next::OverLimit, "would end past offset 13");
        assert_eq!(d.take_rest(), [0, 0, 0, 0, 9, b'a']);
        assert_eq!(d.next(100, 100), Next::Partial);
    }
}
