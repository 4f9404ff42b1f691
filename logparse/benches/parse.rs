//! Hot-path throughput over the Loghub 2k samples (16,000 raw lines from
//! https://github.com/logpai/loghub, read from `shared/data/loghub`).
//!
//! ```text
//! cargo bench -p logparse -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! Throughput is reported in elements = lines. `pipeline` is what the
//! scorer does per line: detect the format, parse, extract features and mine
//! the template of the message (steady state: the miner has seen the data),
//! with `TemplateMiner::add_with_features` (one split of the message into
//! words); `pipeline_separate` is the same with `extract_features` and
//! `TemplateMiner::add` each walking the message.

use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use logparse::{
    detect_format, extract_features, parse_line, MinerConfig, ParseConfig, TemplateMiner,
};

/// The allocator of the binaries this measures.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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

fn load_lines() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/loghub");
    let mut lines = Vec::new();
    for set in SETS {
        let path = dir.join(set).join(format!("{set}_2k.log"));
        let bytes = std::fs::read(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (shared/data/loghub next to the workspace)",
                path.display()
            )
        });
        lines.extend(String::from_utf8_lossy(&bytes).lines().map(str::to_owned));
    }
    lines
}

fn bench(c: &mut Criterion) {
    let lines = load_lines();
    let cfg = ParseConfig::default();
    let mut g = c.benchmark_group("loghub_16k_lines");
    g.throughput(Throughput::Elements(lines.len() as u64));

    g.bench_function("detect_format", |b| {
        b.iter(|| {
            for l in &lines {
                black_box(detect_format(black_box(l)));
            }
        })
    });
    g.bench_function("parse_line", |b| {
        b.iter(|| {
            for l in &lines {
                black_box(parse_line(black_box(l), &cfg));
            }
        })
    });
    g.bench_function("parse_line+features", |b| {
        b.iter(|| {
            for l in &lines {
                let ev = parse_line(black_box(l), &cfg);
                black_box(extract_features(&ev));
            }
        })
    });
    let messages: Vec<String> = lines
        .iter()
        .map(|l| parse_line(l, &cfg).message.into_owned())
        .collect();
    let mut miner = TemplateMiner::new(MinerConfig::default());
    g.bench_function("mine_message", |b| {
        b.iter(|| {
            for m in &messages {
                black_box(miner.add(black_box(m)).template_id);
            }
        })
    });
    let mut miner = TemplateMiner::new(MinerConfig::default());
    g.bench_function("pipeline_separate", |b| {
        b.iter(|| {
            for l in &lines {
                let ev = parse_line(black_box(l), &cfg);
                let f = extract_features(&ev);
                let m = miner.add(&ev.message);
                black_box((f, m.template_id));
            }
        })
    });
    let mut miner = TemplateMiner::new(MinerConfig::default());
    g.bench_function("pipeline", |b| {
        b.iter(|| {
            for l in &lines {
                let ev = parse_line(black_box(l), &cfg);
                let (f, m) = miner.add_with_features(&ev);
                black_box((f, m.template_id));
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
