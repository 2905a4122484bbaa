//! Bodies that are streams of records: server-sent events and JSON lines.
//! Such a body may never end (a feed, a model's tokens, a watch), so it is
//! never held whole: each record goes on once it is complete, and only the
//! one still arriving is held back.

use memchr::memmem;

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

    /// Where the last complete record of `data` ends (0 if none is).
    pub(super) fn complete(self, data: &[u8]) -> usize {
        match self {
            // A blank line: two line endings (LF, CR or CRLF) in a row. With
            // CRLF and LF mixed, "\r\n\n" holds "\n\n"; "\n\r\n" needs its own.
            Records::Events => [&b"\n\n"[..], b"\r\r", b"\r\n\r\n", b"\n\r\n"]
                .iter()
                .filter_map(|end| memmem::rfind(data, end).map(|at| at + end.len()))
                .max()
                .unwrap_or(0),
            Records::Lines => memchr::memrchr(b'\n', data).map_or(0, |at| at + 1),
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
        let events = Records::Events;
        assert_eq!(events.complete(b"data: a\n\ndata: b\n\ndata: c"), 18);
        assert_eq!(events.complete(b"data: a\r\n\r\ndata: b"), 11);
        assert_eq!(events.complete(b"data: a\r\rdata: b\r\r"), 18);
        assert_eq!(events.complete(b"data: a\ndata: b\n"), 0, "one event, not yet ended");
        assert_eq!(events.complete(b"data: a\n\r\ndata: b"), 10, "LF, then CRLF");
        assert_eq!(events.complete(b"data: a\r\n\ndata: b"), 10, "CRLF, then LF");
        assert_eq!(events.complete(b""), 0);
        let lines = Records::Lines;
        assert_eq!(lines.complete(b"{\"a\": 1}\n{\"b\": 2}\n{\"c\""), 18);
        assert_eq!(lines.complete(b"{\"a\": 1}"), 0);
    }
}
