#![no_main]
//! Fuzz the rfc3164 parser directly (not only through format detection).

use libfuzzer_sys::fuzz_target;
use logparse::format::{rfc3164, ParseConfig};

fuzz_target!(|data: &[u8]| {
    if let Ok(line) = std::str::from_utf8(data) {
        let _ = rfc3164::parse(line, &ParseConfig::default());
    }
});
