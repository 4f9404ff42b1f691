//! Fuzz target bodies, shared by the cargo-fuzz targets in `fuzz/` (nightly, libFuzzer)
//! and the bounded stable runner `tests/fuzz_bounded.rs` (every `cargo test`), so both
//! check the same calls and invariants. Each body takes arbitrary bytes, must not panic,
//! and asserts the invariants the property tests check.
//!
//! Under `cfg(test)`, [`strategies`] holds the proptest input generators of the modules'
//! property tests.

use crate::format::{access, json, logfmt, plain, rfc3164, rfc5424, ParseConfig};
use crate::timestamp::{parse_prefix, parse_value, TimeConfig};
use crate::{
    detect_format, detect_level, extract_features, map_level_name, parse_line, MinerConfig,
    MultilineConfig, MultilineJoiner, TemplateId, TemplateMiner,
};

/// A target body: arbitrary bytes in, a panic on a bug or a broken invariant.
pub type TargetBody = fn(&[u8]);

/// Every target: name (as in `fuzz/Cargo.toml`) and body.
pub const TARGETS: &[(&str, TargetBody)] = &[
    ("parse_line", parse_line_target),
    ("json", json_target),
    ("logfmt", logfmt_target),
    ("rfc3164", rfc3164_target),
    ("rfc5424", rfc5424_target),
    ("access", access_target),
    ("plain", plain_target),
    ("timestamp", timestamp_target),
    ("level", level_target),
    ("features", features_target),
    ("mask", mask_target),
    ("miner", miner_target),
    ("multiline", multiline_target),
];

fn assert_ratios(f: &crate::Features) {
    for r in [f.memory_pressure, f.cpu_pressure].into_iter().flatten() {
        assert!((0.0..=1.0).contains(&r), "ratio {r} outside 0..1");
    }
}

/// Format detection + parsing + features, the scorer's per-line path.
pub fn parse_line_target(data: &[u8]) {
    let line = String::from_utf8_lossy(data);
    let _ = detect_format(&line);
    let ev = parse_line(&line, &ParseConfig::default());
    let _ = ev.clone().into_owned();
    assert_ratios(&extract_features(&ev));
}

/// Each parser directly, not only through format detection.
pub fn json_target(data: &[u8]) {
    if let Ok(line) = std::str::from_utf8(data) {
        let _ = json::parse(line, &ParseConfig::default());
    }
}

pub fn logfmt_target(data: &[u8]) {
    if let Ok(line) = std::str::from_utf8(data) {
        let _ = logfmt::parse(line, &ParseConfig::default());
    }
}

pub fn rfc3164_target(data: &[u8]) {
    if let Ok(line) = std::str::from_utf8(data) {
        let _ = rfc3164::parse(line, &ParseConfig::default());
    }
}

pub fn rfc5424_target(data: &[u8]) {
    if let Ok(line) = std::str::from_utf8(data) {
        let _ = rfc5424::parse(line, &ParseConfig::default());
    }
}

pub fn access_target(data: &[u8]) {
    if let Ok(line) = std::str::from_utf8(data) {
        let _ = access::parse(line, &ParseConfig::default());
    }
}

pub fn plain_target(data: &[u8]) {
    if let Ok(line) = std::str::from_utf8(data) {
        let _ = plain::parse(line, &ParseConfig::default());
    }
}

/// Timestamp layouts: a parsed prefix never claims more bytes than the input has.
pub fn timestamp_target(data: &[u8]) {
    if let Ok(s) = std::str::from_utf8(data) {
        let cfg = TimeConfig {
            reference_year: 2024,
        };
        if let Some((_, used)) = parse_prefix(s, &cfg) {
            assert!(
                used <= s.len(),
                "prefix of {used} bytes in {} bytes",
                s.len()
            );
        }
        let _ = parse_value(s, &cfg);
    }
}

pub fn level_target(data: &[u8]) {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = detect_level(s);
        let _ = map_level_name(s);
    }
}

/// Features on raw text: ratios stay in 0..1.
pub fn features_target(data: &[u8]) {
    if let Ok(s) = std::str::from_utf8(data) {
        assert_ratios(&crate::features::text_features(s));
    }
}

pub fn mask_target(data: &[u8]) {
    let _ = crate::mask::mask_line(&String::from_utf8_lossy(data));
}

/// Every input line is added to a tiny miner so merges and evictions happen: the returned
/// id is the hash of the returned template, the cluster exists, the cap holds.
pub fn miner_target(data: &[u8]) {
    const CAP: usize = 4;
    let text = String::from_utf8_lossy(data);
    let mut m = TemplateMiner::new(MinerConfig {
        max_clusters: CAP,
        max_tokens: 64,
        ..MinerConfig::default()
    });
    for line in text.split('\n') {
        let r = m.add(line);
        assert_eq!(r.template_id, TemplateId::of(r.template));
        let id = r.cluster_id;
        assert!(m.cluster(id).is_some(), "the returned cluster exists");
        let _ = m.match_only(line);
        assert!(m.len() <= CAP, "{} clusters over the cap {CAP}", m.len());
    }
    assert_eq!(m.templates().count(), m.len());
    // The combined entry points give the separate calls' results.
    let cfg = ParseConfig::default();
    let config = MinerConfig {
        max_clusters: CAP,
        max_tokens: 64,
        ..MinerConfig::default()
    };
    let (mut a, mut b) = (
        TemplateMiner::new(config.clone()),
        TemplateMiner::new(config),
    );
    for line in text.split('\n') {
        let ev = parse_line(line, &cfg);
        let (fa, ra) = a.add_with_features(&ev);
        let ra = (ra.template_id, ra.template.to_owned(), ra.cluster_id);
        let fb = extract_features(&ev);
        let rb = b.add(&ev.message);
        assert_eq!(
            (fa, ra),
            (fb, (rb.template_id, rb.template.to_owned(), rb.cluster_id))
        );
        let masked = crate::mask::mask_line(&ev.message);
        assert_eq!(crate::extract_features_and_mask(&ev), (fb, masked));
    }
}

/// The joiner's byte cap holds for every event it returns.
pub fn multiline_target(data: &[u8]) {
    const MAX_BYTES: usize = 1024;
    let text = String::from_utf8_lossy(data);
    let mut j = MultilineJoiner::new(MultilineConfig {
        max_lines: 8,
        max_bytes: MAX_BYTES,
    });
    for line in text.split('\n') {
        if let Some(ev) = j.push(line) {
            assert!(ev.len() <= MAX_BYTES);
        }
    }
    if let Some(ev) = j.flush() {
        assert!(ev.len() <= MAX_BYTES);
    }
}

/// Input generators of the property tests.
#[cfg(test)]
pub mod strategies {
    use proptest::prelude::*;

    /// Prefixes that steer a random tail into each parser.
    const PREFIXES: [&str; 16] = [
        "",
        "{",
        "{\"msg\":\"",
        "{\"a\":{\"b\":[",
        "<13>",
        "<165>1 2003-10-11T22:14:15.003Z host app - ID47 [x@1 a=\"",
        "Dec 10 06:55:46 LabSZ sshd[24200]: ",
        "127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] \"GET ",
        "level=info msg=\"",
        "2015-10-18 18:01:47,978 INFO [",
        "[Sun Dec 04 04:47:44 2005] [error] ",
        "20171223-22:15:29:606|",
        "W0412 10:00:00.123456 ",
        "081109 203615 148 INFO ",
        "Traceback (most recent call last):",
        "\tat ",
    ];

    /// Log-ish or arbitrary strings, up to ~64 KiB.
    pub fn log_line() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => any::<String>(),
            4 => (0..PREFIXES.len(), any::<String>()).prop_map(|(i, s)| format!("{}{s}", PREFIXES[i])),
            4 => (0..PREFIXES.len(), "[ -~\t\\x00-\\x1f\u{80}-\u{10ffff}]{0,200}")
                .prop_map(|(i, s)| format!("{}{s}", PREFIXES[i])),
            2 => "[0-9a-z:./=_\\-\\[\\]{}\" <>%@]{0,120}",
            1 => (any::<String>(), 1usize..2000).prop_map(|(s, n)| s.repeat(n).chars().take(70_000).collect()),
            1 => (0..PREFIXES.len(), 1usize..20_000).prop_map(|(i, n)| format!("{}{}", PREFIXES[i], "a1 ".repeat(n))),
        ]
    }
}
