#![no_main]
//! Fuzz severity detection.

use libfuzzer_sys::fuzz_target;
use logparse::{detect_level, map_level_name};

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = detect_level(s);
        let _ = map_level_name(s);
    }
});
