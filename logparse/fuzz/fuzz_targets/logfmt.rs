#![no_main]
//! Fuzz the logfmt parser directly (not only through format detection).

use libfuzzer_sys::fuzz_target;
use logparse::format::{logfmt, ParseConfig};

fuzz_target!(|data: &[u8]| {
    if let Ok(line) = std::str::from_utf8(data) {
        let _ = logfmt::parse(line, &ParseConfig::default());
    }
});
