#![no_main]
//! Fuzz format detection + parsing + features, the scorer's per-line path.

use libfuzzer_sys::fuzz_target;
use logparse::{detect_format, extract_features, parse_line, ParseConfig};

fuzz_target!(|data: &[u8]| {
    let line = String::from_utf8_lossy(data);
    let _ = detect_format(&line);
    let ev = parse_line(&line, &ParseConfig::default());
    let _ = extract_features(&ev);
});
