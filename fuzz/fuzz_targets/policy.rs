//! Any text as a policy: accepted, or refused with an error that says why,
//! never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Err(error) = sieve::flow::Inspector::from_policy_text(text) {
            assert!(!error.to_string().is_empty(), "a refusal without a reason");
        }
    }
});
