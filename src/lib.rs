//! sieve: an in-mesh data-classification filter for Envoy and Istio.
//!
//! The crate is built in layers, each using only the ones before it:
//!
//! 1. [`policy`]: the configuration users write, parsed and checked.
//! 2. [`engine`]: the compiled detectors and the streaming scanner/redactor.
//!
//! The `sieve` binary (`src/bin/sieve`) runs the engine on files; the
//! `.wasm` build adds the proxy-wasm filter.

pub mod engine;
pub mod policy;
