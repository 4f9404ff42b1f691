//! Peak memory of the scorer with many active series: N series each with one open window
//! and a warm baseline (`cargo run --release -p scorer --example series_memory -- 100000`).
//! Prints the process's peak RSS.

use cloudsage_runtime::config::ScorerConfig;
use cloudsage_runtime::{InMessage, Outputs, Processor};
use scorer::ScorerProcessor;

fn main() {
    let series: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let windows = 6; // 5 closed windows warm each baseline, the sixth stays open
    let mut p = ScorerProcessor::new(&ScorerConfig::default()).unwrap();
    let mut out = Outputs::default();
    let mut offset = 0i64;
    let start = std::time::Instant::now();
    for w in 0..windows {
        for s in 0..series {
            let t = 1_795_161_600_000i64 + w * 60_000 + (s % 50_000) as i64;
            let line = format!(
                r#"{{"ts":{t},"level":"info","msg":"request {s} served","duration_ms":{}}}"#,
                20 + s % 100
            );
            let m = InMessage {
                topic: "logs.raw".into(),
                partition: (s % 4) as i32,
                offset,
                key: Some(format!("mem/svc{s}").into_bytes()),
                payload: line.into_bytes(),
                timestamp_ms: Some(t),
            };
            offset += 1;
            if let Ok(raw) = p.decode(&m) {
                p.process(&m, raw, 0, &mut out);
            }
            if offset % 5000 == 0 {
                // As the driver does per batch: outputs are produced, then dropped.
                out = Outputs::default();
            }
        }
    }
    println!(
        "{series} series, {windows} windows each ({} events) in {:.2}s; peak RSS {} MiB",
        offset,
        start.elapsed().as_secs_f64(),
        cloudsage_runtime::process::peak_rss_kib().map_or("?".into(), |k| (k / 1024).to_string())
    );
}
