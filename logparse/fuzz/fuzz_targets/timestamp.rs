#![no_main]
//! Fuzz timestamp parsing.

use libfuzzer_sys::fuzz_target;
use logparse::timestamp::{parse_prefix, parse_value, TimeConfig};

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let cfg = TimeConfig { reference_year: 2024 };
        if let Some((_, used)) = parse_prefix(s, &cfg) {
            assert!(used <= s.len());
        }
        let _ = parse_value(s, &cfg);
    }
});
