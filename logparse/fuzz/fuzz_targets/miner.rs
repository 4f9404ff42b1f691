#![no_main]
//! The `miner` body of `logparse::fuzzing` (shared with the stable bounded runner,
//! `logparse/tests/fuzz_bounded.rs`).

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    logparse::fuzzing::miner_target(data);
});
