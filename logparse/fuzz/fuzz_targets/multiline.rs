#![no_main]
//! The `multiline` body of `logparse::fuzzing` (shared with the stable bounded runner,
//! `logparse/tests/fuzz_bounded.rs`).

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    logparse::fuzzing::multiline_target(data);
});
