//! The scorer's per-event path: decode → parse → features → template → window counting, and
//! window closing with scoring. `cargo bench -p scorer --bench score`.

use cloudsage_runtime::config::ScorerConfig;
use cloudsage_runtime::{InMessage, Outputs, Processor};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use scorer::ScorerProcessor;

/// The allocator of the binaries this measures.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Mixed shapes as producers send them: plain text with a timestamp, JSON, logfmt.
fn messages(n: usize, services: usize) -> Vec<InMessage> {
    (0..n)
        .map(|i| {
            let t = 1_795_161_600_000i64 + (i as i64) * 10;
            let service = format!("svc{}", i % services);
            let line = match i % 3 {
                0 => format!(
                    "2026-11-20T08:00:{:02}.{:03}Z INFO [http-{}] order {} placed in {}ms",
                    (i / 100) % 60,
                    i % 1000,
                    i % 8,
                    100_000 + i,
                    20 + i % 200
                ),
                1 => format!(
                    r#"{{"ts":{t},"level":"{}","msg":"charge {} captured","duration_ms":{}}}"#,
                    if i % 50 == 0 { "error" } else { "info" },
                    i,
                    i % 300
                ),
                _ => format!("ts={t} level=warn msg=\"cache miss\" key=user:{i} heap=71%"),
            };
            InMessage {
                topic: "logs.raw".into(),
                partition: (i % 4) as i32,
                offset: (i / 4) as i64,
                key: Some(format!("bench/{service}").into_bytes()),
                payload: line.into_bytes(),
                timestamp_ms: Some(t),
            }
        })
        .collect()
}

fn per_event(c: &mut Criterion) {
    let msgs = messages(20_000, 50);
    let mut g = c.benchmark_group("scorer");
    g.throughput(Throughput::Elements(msgs.len() as u64));
    g.bench_function("decode_and_count_20k_events_50_series", |b| {
        b.iter(|| {
            let mut p = ScorerProcessor::new(&ScorerConfig::default()).unwrap();
            let mut out = Outputs::default();
            for m in &msgs {
                if let Ok(raw) = p.decode(m) {
                    p.process(m, raw, 0, &mut out);
                }
            }
            p.finish(&mut out);
            out.records.len()
        })
    });
    g.finish();
}

criterion_group!(benches, per_event);
criterion_main!(benches);
