//! `Detector::observe` throughput over real series from NAB
//! (https://github.com/numenta/NAB, read from `shared/data/nab`).
//!
//! ```text
//! cargo bench -p anomaly -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! Throughput is in elements = points; each iteration runs a fresh detector
//! over the whole series (probation included, as in production).

use std::hint::black_box;
use std::path::Path;

use anomaly::nab::load_corpus;
use anomaly::{Baseline, Detector};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn bench(c: &mut Criterion) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/nab");
    let corpus =
        load_corpus(&dir).unwrap_or_else(|e| panic!("{e} (shared/data/nab next to the workspace)"));
    let series = corpus
        .series
        .iter()
        .find(|s| s.name.ends_with("ec2_cpu_utilization_24ae8d.csv"))
        .expect("ec2_cpu_utilization_24ae8d.csv in the corpus");
    let points: Vec<(i64, f64)> = series
        .timestamps
        .iter()
        .copied()
        .zip(series.values.iter().copied())
        .collect();

    let mut g = c.benchmark_group("nab_ec2_cpu_24ae8d");
    g.throughput(Throughput::Elements(points.len() as u64));
    g.bench_function("detector_observe", |b| {
        b.iter(|| {
            let mut d = Detector::default();
            for (t, v) in &points {
                black_box(d.observe(*t, black_box(*v)));
            }
        })
    });
    g.bench_function("baseline30_score_then_push", |b| {
        b.iter(|| {
            let mut base = Baseline::default();
            for (_, v) in &points {
                black_box(base.deviation_score(black_box(*v)));
                base.push(*v);
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
