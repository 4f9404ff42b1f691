#![no_main]
//! Fuzz the multi-line joiner.

use libfuzzer_sys::fuzz_target;
use logparse::{MultilineConfig, MultilineJoiner};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut j = MultilineJoiner::new(MultilineConfig {
        max_lines: 8,
        max_bytes: 1024,
    });
    for line in text.split('\n') {
        if let Some(ev) = j.push(line) {
            assert!(ev.len() <= 1024);
        }
    }
    if let Some(ev) = j.flush() {
        assert!(ev.len() <= 1024);
    }
});
