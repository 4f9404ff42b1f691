//! How fast the configured broker serves a topic to one consumer through the runtime's
//! `KafkaSource` (no processing): `cargo run --release -p cloudsage-runtime --example
//! consume_rate -- <topic> [batch_size]`, brokers from `CLOUDSAGE_KAFKA__BROKERS`.
//! Reads from the start with a fresh group until the topic has been quiet for 3 s.

use cloudsage_runtime::kafka::KafkaSource;
use cloudsage_runtime::transport::{Polled, Source};
use cloudsage_runtime::Config;
use std::time::{Duration, Instant};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let topic = args
        .next()
        .expect("usage: consume_rate <topic> [batch_size]");
    let batch: usize = args.next().map_or(Ok(5000), |b| b.parse())?;
    let config = Config::load(None)?;
    let group = format!("consume-rate-{}", std::process::id());
    let mut source = KafkaSource::with_group(&config.kafka, &group, &[topic.as_str()], &[])?;
    let (mut count, mut bytes, mut polls) = (0u64, 0u64, 0u64);
    let mut first: Option<Instant> = None;
    let mut last = Instant::now();
    loop {
        match source.next_batch(batch, Duration::from_millis(100)).await? {
            Polled::Messages(m) if !m.is_empty() => {
                first.get_or_insert_with(Instant::now);
                polls += 1;
                count += m.len() as u64;
                bytes += m.iter().map(|m| m.payload.len() as u64).sum::<u64>();
                last = Instant::now();
            }
            Polled::End => break,
            _ if first.is_some() && last.elapsed() > Duration::from_secs(3) => break,
            _ => {}
        }
        let _ = source.take_rebalance().await;
    }
    let secs = first.map_or(0.0, |f| last.duration_since(f).as_secs_f64());
    println!(
        "{count} records ({} MiB) in {secs:.2} s over {polls} polls: {:.0} records/s",
        bytes / (1 << 20),
        count as f64 / secs.max(1e-9)
    );
    Ok(())
}
