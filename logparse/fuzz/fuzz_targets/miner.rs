#![no_main]
//! Fuzz the template miner: every input line (split on '\n') is added to a
//! small miner so merges and evictions happen.

use libfuzzer_sys::fuzz_target;
use logparse::{MinerConfig, TemplateId, TemplateMiner};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut m = TemplateMiner::new(MinerConfig {
        max_clusters: 4,
        ..MinerConfig::default()
    });
    for line in text.split('\n') {
        let r = m.add(line);
        assert_eq!(r.template_id, TemplateId::of(r.template));
        let _ = m.match_only(line);
        assert!(m.len() <= 4);
    }
});
