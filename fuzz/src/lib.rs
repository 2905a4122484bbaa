//! What sieve's fuzz targets share: choices read off the fuzzer's bytes, and
//! what Envoy forwards of a body given the filter's answers.
//!
//! Each target runs sieve's plain-Rust layers (the policy, the engine, the
//! HTTP exchange, the TCP connection) on inputs a fuzzer shapes, and checks
//! what must hold on every input: no panic, and chunking that changes nothing.

use sieve::flow::BodyAction;

/// The fuzzer's input, read front to back: small choices first, then data.
pub struct Choices<'a> {
    data: &'a [u8],
}

impl<'a> Choices<'a> {
    pub fn new(data: &'a [u8]) -> Choices<'a> {
        Choices { data }
    }

    /// A number below `n` (0 once the input is used up).
    pub fn below(&mut self, n: usize) -> usize {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b as usize % n
            }
            None => 0,
        }
    }

    /// One of `items`.
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    /// The next bytes, as many as a choice below `max` says.
    pub fn bytes(&mut self, max: usize) -> &'a [u8] {
        let n = self.below(max).min(self.data.len());
        let (taken, rest) = self.data.split_at(n);
        self.data = rest;
        taken
    }

    /// Everything left.
    pub fn rest(self) -> &'a [u8] {
        self.data
    }
}

/// `bytes` cut where the fuzzer's `cuts` say: each cut byte is the length of
/// the next chunk (at least 1), and what is left after the cuts is one chunk.
pub fn chunks<'b>(bytes: &'b [u8], cuts: &[u8]) -> Vec<&'b [u8]> {
    let (mut out, mut rest) = (Vec::new(), bytes);
    for &cut in cuts {
        if rest.is_empty() {
            break;
        }
        let (chunk, tail) = rest.split_at((cut as usize + 1).min(rest.len()));
        out.push(chunk);
        rest = tail;
    }
    if !rest.is_empty() || out.is_empty() {
        out.push(rest);
    }
    out
}

/// What Envoy sends on of a body, from the filter's answer to each chunk:
/// held chunks stay in its buffer until an answer lets them go, as they are
/// (`Continue`) or replaced (`Replace`).
#[derive(Debug, Default)]
pub struct Forwarded {
    pub bytes: Vec<u8>,
    held: Vec<u8>,
    /// The body ended in a local reply or a reset: nothing more goes on.
    pub stopped: bool,
}

/// Two bodies went on alike: both whole and the same, or both stopped. What
/// went on before a stop may differ: a body copied as it comes (a
/// compressed stream of records) stops at whichever chunk completes what
/// blocks it.
impl PartialEq for Forwarded {
    fn eq(&self, other: &Forwarded) -> bool {
        self.stopped == other.stopped && (self.stopped || self.bytes == other.bytes)
    }
}

impl Eq for Forwarded {}

impl Forwarded {
    /// A body that a local reply or a reset stopped before it began.
    pub fn stopped() -> Forwarded {
        Forwarded { stopped: true, ..Forwarded::default() }
    }

    /// Bytes Envoy holds for the filter, not yet sent on.
    pub fn held(&self) -> &[u8] {
        &self.held
    }

    /// Takes the filter's answer to `chunk`.
    pub fn answer(&mut self, chunk: &[u8], action: &BodyAction) {
        if self.stopped {
            return;
        }
        self.held.extend_from_slice(chunk);
        match action {
            BodyAction::Continue => self.bytes.append(&mut self.held),
            BodyAction::Hold => {}
            BodyAction::Replace(with) => {
                self.held.clear();
                self.bytes.extend_from_slice(with);
            }
            BodyAction::Block(_) | BodyAction::Reset => self.stopped = true,
        }
    }
}
