//! Bodies that are streams of records: server-sent events and JSON lines.
//! Such a body may never end (a feed, a model's tokens, a watch), so it is
//! never held whole: each record goes on once it is complete, and only the
//! one still arriving is held back.

use crate::engine::bytes::{ends_with_ignore_case, eq_ignore_case};

/// How records are delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Records {
    /// `text/event-stream`: an event ends with a blank line.
    Events,
    /// JSON lines (`application/x-ndjson`, `application/jsonl`, ...): a
    /// record ends with a line feed.
    Lines,
}

impl Records {
    /// The record stream a media type (its essence, parameters removed) names, if any.
    pub(super) fn of(essence: &[u8]) -> Option<Records> {
        let is = |name: &[u8]| eq_ignore_case(essence, name);
        if is(b"text/event-stream") {
            Some(Records::Events)
        } else if is(b"application/x-ndjson")
            || is(b"application/ndjson")
            || is(b"application/jsonl")
            || is(b"application/x-jsonlines")
            || is(b"application/json-seq")
            || ends_with_ignore_case(essence, b"/stream+json")
        {
            Some(Records::Lines)
        } else {
            None
        }
    }

    /// Where each complete record of `data` ends, in order: records are
    /// found from the start, one after the other, so the records of a
    /// stream are the same however it was cut into chunks.
    pub(super) fn ends(self, data: &[u8]) -> impl Iterator<Item = usize> + '_ {
        let mut at = 0;
        std::iter::from_fn(move || {
            at += self.first_end(&data[at..])?;
            Some(at)
        })
    }

    /// Where the first complete record of `data` ends.
    fn first_end(self, data: &[u8]) -> Option<usize> {
        match self {
            // A blank line: two line endings (LF, CR or CRLF) in a row, ended
            // at the first line-ending byte that completes one.
            Records::Events => memchr::memchr2_iter(b'\n', b'\r', data).map(|at| at + 1).find(|&end| {
                let head = &data[..end];
                [&b"\n\n"[..], b"\r\r", b"\r\n\r\n", b"\n\r\n"].iter().any(|blank| head.ends_with(blank))
            }),
            Records::Lines => memchr::memchr(b'\n', data).map(|at| at + 1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Records;

    #[test]
    fn record_streams_are_named_by_their_media_type() {
        assert_eq!(Records::of(b"text/event-stream"), Some(Records::Events));
        assert_eq!(Records::of(b"Text/Event-Stream"), Some(Records::Events));
        assert_eq!(Records::of(b"application/x-ndjson"), Some(Records::Lines));
        assert_eq!(Records::of(b"application/stream+json"), Some(Records::Lines));
        assert_eq!(Records::of(b"application/json"), None);
        assert_eq!(Records::of(b"text/plain"), None);
    }

    #[test]
    fn the_last_complete_record_ends_after_its_delimiter() {
        let last = |r: Records, data: &[u8]| r.ends(data).last().unwrap_or(0);
        let events = Records::Events;
        assert_eq!(last(events, b"data: a\n\ndata: b\n\ndata: c"), 18);
        assert_eq!(last(events, b"data: a\r\n\r\ndata: b"), 11);
        assert_eq!(last(events, b"data: a\r\rdata: b\r\r"), 18);
        assert_eq!(last(events, b"data: a\ndata: b\n"), 0, "one event, not yet ended");
        assert_eq!(last(events, b"data: a\n\r\ndata: b"), 10, "LF, then CRLF");
        assert_eq!(last(events, b"data: a\r\n\ndata: b"), 10, "CRLF, then LF");
        assert_eq!(last(events, b""), 0);
        let lines = Records::Lines;
        assert_eq!(last(lines, b"{\"a\": 1}\n{\"b\": 2}\n{\"c\""), 18);
        assert_eq!(last(lines, b"{\"a\": 1}"), 0);
    }

    #[test]
    fn records_are_found_one_after_the_other_from_the_start() {
        let ends = |r: Records, data: &[u8]| r.ends(data).collect::<Vec<_>>();
        assert_eq!(ends(Records::Events, b"data: a\n\ndata: b\r\n\r\ndata: c"), [9, 20]);
        // A third line ending after a blank line starts the next event, whatever follows.
        assert_eq!(ends(Records::Events, b"a\n\n\nb\n\n"), [3, 7]);
        assert_eq!(ends(Records::Events, b"a\r\r\nb\r\r"), [3, 7]);
        assert_eq!(ends(Records::Lines, b"{}\n\n{}\n{"), [3, 4, 7]);
        // So a stream's records are the same whichever bytes came first.
        let stream = b"data: a\r\n\r\n\n\ndata: b\n\r\ndata: c\r\rx";
        let whole = ends(Records::Events, stream);
        for split in 0..stream.len() {
            let first = Records::Events.ends(&stream[..split]).last().unwrap_or(0);
            let rest = ends(Records::Events, &stream[first..]).into_iter().map(|e| e + first);
            let cut: Vec<usize> = ends(Records::Events, &stream[..first]).into_iter().chain(rest).collect();
            assert_eq!(cut, whole, "split at {split}");
        }
    }
}
