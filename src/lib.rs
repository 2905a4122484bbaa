//! sieve: an in-mesh data-classification filter for Envoy and Istio.
//!
//! The crate is built in layers, each using only the ones before it:
//!
//! 1. [`policy`]: the configuration users write, parsed and checked.
//! 2. [`engine`]: the compiled detectors and the streaming scanner/redactor.
//! 3. [`flow`]: an HTTP exchange as a state machine: headers and body
//!    chunks in, tags, edits, local replies and a log record out.
//! 4. `filter` (wasm32 only): the proxy-wasm glue over [`flow`].
//!
//! The `sieve` binary (`src/bin/sieve`) runs the engine on files; the
//! `.wasm` build adds the proxy-wasm filter.

pub mod engine;
#[cfg(target_arch = "wasm32")]
mod filter;
pub mod flow;
pub mod policy;
