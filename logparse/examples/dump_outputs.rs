//! Prints everything the per-line path computes for every raw Loghub line (parsed event,
//! features, masked message, template id and text), one line per input, so a change meant
//! to be output-neutral (e.g. a speed-up) can be checked with `diff` against the previous
//! version's output:
//!
//! ```text
//! cargo run --release -p logparse --example dump_outputs > before.txt   # then after.txt
//! ```

use logparse::{
    extract_features, extract_features_and_mask, parse_line, ParseConfig, TemplateMiner, TimeConfig,
};
use std::path::PathBuf;

const SETS: [&str; 8] = [
    "HDFS",
    "Hadoop",
    "Spark",
    "Zookeeper",
    "OpenSSH",
    "Apache",
    "HealthApp",
    "Proxifier",
];

fn main() {
    let dir = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/loghub")
        });
    // A fixed reference year: the output must not depend on when it runs.
    let cfg = ParseConfig {
        time: TimeConfig {
            reference_year: 2024,
        },
        message_only: false,
    };
    for set in SETS {
        let path = dir.join(set).join(format!("{set}_2k.log"));
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let text = String::from_utf8_lossy(&bytes);
        let mut miner = TemplateMiner::default();
        // The combined entry points must agree with the separate calls.
        let mut combined = TemplateMiner::default();
        for (n, line) in text.lines().enumerate() {
            let ev = parse_line(line, &cfg);
            let f = extract_features(&ev);
            let masked = logparse::mask::mask_line(&ev.message);
            assert_eq!(
                extract_features_and_mask(&ev),
                (f, masked.clone()),
                "{set}:{n}"
            );
            let (fc, mc) = combined.add_with_features(&ev);
            let mc = (
                mc.template_id,
                mc.template.to_owned(),
                mc.cluster_id,
                mc.is_new,
            );
            let m = miner.add(&ev.message);
            assert_eq!(fc, f, "{set}:{n}");
            let ms = (m.template_id, m.template.to_owned(), m.cluster_id, m.is_new);
            assert_eq!(mc, ms, "{set}:{n}");
            println!(
                "{set}:{n}\t{ev:?}\t{f:?}\t{masked}\t{}\t{}\t{:?}\t{}\t{}\t{}",
                m.template_id,
                m.template,
                m.cluster_id,
                m.is_new,
                m.template_changed,
                m.cluster_size
            );
        }
        for t in miner.templates() {
            println!("{set} final\t{t:?}");
        }
    }
}
