//! A proxy-wasm HTTP filter that reads every header and body and does
//! nothing with them: the floor of any filter that inspects traffic,
//! measured next to sieve by `scripts/bench-envoy.sh`.
#![cfg(target_arch = "wasm32")]

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType};

proxy_wasm::main! {{
    proxy_wasm::set_root_context(|_| Box::new(Reader(0)));
}}

/// Counts the bytes read, so the reads are not optimised away.
struct Reader(usize);

impl Context for Reader {}

impl RootContext for Reader {
    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Reader(0)))
    }
}

impl HttpContext for Reader {
    fn on_http_request_headers(&mut self, _n: usize, _end_of_stream: bool) -> Action {
        self.0 += self.get_http_request_headers_bytes().len();
        Action::Continue
    }

    fn on_http_request_body(&mut self, body_size: usize, _end_of_stream: bool) -> Action {
        self.0 += self.get_http_request_body(0, body_size).map_or(0, |b| b.len());
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _n: usize, _end_of_stream: bool) -> Action {
        self.0 += self.get_http_response_headers_bytes().len();
        Action::Continue
    }

    fn on_http_response_body(&mut self, body_size: usize, _end_of_stream: bool) -> Action {
        self.0 += self.get_http_response_body(0, body_size).map_or(0, |b| b.len());
        Action::Continue
    }
}
