//! A proxy-wasm HTTP filter that does nothing: the baseline of the Envoy
//! overhead benchmark (`scripts/bench-envoy.sh`), so sieve's cost is
//! measured against the cost of any Wasm filter.
#![cfg(target_arch = "wasm32")]

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::ContextType;

proxy_wasm::main! {{
    proxy_wasm::set_root_context(|_| Box::new(Noop));
}}

struct Noop;

impl Context for Noop {}

impl RootContext for Noop {
    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Noop))
    }
}

impl HttpContext for Noop {}
