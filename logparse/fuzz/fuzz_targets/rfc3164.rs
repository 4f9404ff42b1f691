#![no_main]
//! The `rfc3164` body of `logparse::fuzzing` (shared with the stable bounded runner,
//! `logparse/tests/fuzz_bounded.rs`).

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    logparse::fuzzing::rfc3164_target(data);
});
