#![no_main]
//! Fuzz feature extraction on raw text.

use libfuzzer_sys::fuzz_target;
use logparse::features::text_features;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let f = text_features(s);
        for r in [f.memory_pressure, f.cpu_pressure].into_iter().flatten() {
            assert!((0.0..=1.0).contains(&r));
        }
    }
});
