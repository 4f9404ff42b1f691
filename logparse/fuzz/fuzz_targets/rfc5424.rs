#![no_main]
//! The `rfc5424` body of `logparse::fuzzing` (shared with the stable bounded runner,
//! `logparse/tests/fuzz_bounded.rs`).

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    logparse::fuzzing::rfc5424_target(data);
});
