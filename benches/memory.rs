//! Heap memory natively: what compiling the default policy keeps and needs
//! at its peak, and what the exchange benchmark's traffic adds to it (the
//! lazy DFAs' states and the memos of header values). A global allocator
//! that wraps the system's counts the bytes live.
//!
//! In Envoy each Wasm VM (one per worker, and one on the main thread)
//! holds this in its linear memory, which never shrinks: the peak is what a
//! VM keeps. `scripts/bench-envoy.sh` measures Envoy's resident memory.
//!
//! `cargo bench --bench memory`

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use sieve::flow::Inspector;

#[path = "../tests/wire/mod.rs"]
mod wire;
mod workload;

use workload::{authorized, bearer, body, exchange, exchange_of, headers, token_response, FINDINGS, REQUEST, RESPONSE};

/// The system's allocator, counting the bytes live and their peak.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(by: usize) {
    let live = LIVE.fetch_add(by, Relaxed) + by;
    PEAK.fetch_max(live, Relaxed);
}

// SAFETY: every call is passed on to `System` unchanged; only counts are kept.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, size: usize) -> *mut u8 {
        match size.checked_sub(layout.size()) {
            Some(more) => grew(more),
            None => _ = LIVE.fetch_sub(layout.size() - size, Relaxed),
        }
        unsafe { System.realloc(ptr, layout, size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn main() {
    let base = LIVE.load(Relaxed);
    PEAK.store(base, Relaxed);
    println!("| after | live MiB | peak MiB |");
    println!("|---|---|---|");
    let row = |after: &str| {
        let mib = |bytes: usize| (bytes - base) as f64 / f64::from(1 << 20);
        println!("| {after} | {:.2} | {:.2} |", mib(LIVE.load(Relaxed)), mib(PEAK.load(Relaxed)));
    };
    let inspector = Inspector::from_policy_text("").expect("the default policy compiles");
    row("compiling the default policy");
    let (request, response) = (headers(&REQUEST), headers(&RESPONSE));
    let (clean, findings) = (body(""), body(FINDINGS));
    for _ in 0..1000 {
        exchange(&inspector, &request, &response, &clean);
    }
    row("1,000 clean exchanges");
    for _ in 0..1000 {
        exchange(&inspector, &request, &response, &findings);
    }
    row("1,000 exchanges with three findings each way");
    // A token per exchange, none seen before: each is scanned and remembered.
    for seed in 0..1000 {
        let token = bearer(seed);
        exchange(&inspector, &authorized(&request, &token), &response, &clean);
    }
    row("1,000 exchanges, each under a bearer JWT not seen before");
    let grant = br#"{"grant_type": "client_credentials"}"#;
    for seed in 0..1000 {
        exchange_of(&inspector, &request, grant, &response, &token_response(&bearer(seed)));
    }
    row("1,000 token responses, each with new JWTs");
}
