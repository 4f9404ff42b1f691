#![no_main]
//! Fuzz the rfc5424 parser directly (not only through format detection).

use libfuzzer_sys::fuzz_target;
use logparse::format::{rfc5424, ParseConfig};

fuzz_target!(|data: &[u8]| {
    if let Ok(line) = std::str::from_utf8(data) {
        let _ = rfc5424::parse(line, &ParseConfig::default());
    }
});
