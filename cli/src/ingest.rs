//! `cloudsage ingest FILE|-`: streams lines onto `logs.raw` in batches, with a progress bar.
//! `cloudsage ingest FILE --follow`: tails a growing file across rotation (see [`crate::follow`])
//! until SIGINT/SIGTERM.

use cloudsage_runtime::kafka::{ensure_topics, KafkaSink};
use cloudsage_runtime::transport::Sink;
use cloudsage_runtime::Config;
use cloudsage_schemas::RawDefaults;
use indicatif::{ProgressBar, ProgressStyle};
use ingestor::api::{log_records, rejected_records};
use ingestor::body::{parse_body, BodyFormat};
use std::io::BufRead;
use std::path::Path;

/// Reads `file` (`-` = stdin) in chunks of lines and hands each chunk's records to `send`.
pub async fn for_each_chunk<F, Fut>(
    file: &Path,
    project: &str,
    service: &str,
    source: &str,
    mut send: F,
) -> anyhow::Result<(u64, u64)>
where
    F: FnMut(Vec<cloudsage_runtime::stage::OutRecord>) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let reader: Box<dyn BufRead> = if file == Path::new("-") {
        Box::new(std::io::BufReader::new(std::io::stdin()))
    } else {
        let f = std::fs::File::open(file)
            .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", file.display()))?;
        Box::new(std::io::BufReader::with_capacity(1 << 20, f))
    };
    let (mut accepted, mut rejected) = (0u64, 0u64);
    let mut chunk: Vec<u8> = Vec::with_capacity(1 << 20);
    let mut lines = 0;
    for line in reader.split(b'\n') {
        chunk.extend_from_slice(&line?);
        chunk.push(b'\n');
        lines += 1;
        if lines == 5000 {
            let (a, r) = flush(&mut chunk, project, service, source, &mut send).await?;
            accepted += a;
            rejected += r;
            lines = 0;
        }
    }
    let (a, r) = flush(&mut chunk, project, service, source, &mut send).await?;
    Ok((accepted + a, rejected + r))
}

async fn flush<F, Fut>(
    chunk: &mut Vec<u8>,
    project: &str,
    service: &str,
    source: &str,
    send: &mut F,
) -> anyhow::Result<(u64, u64)>
where
    F: FnMut(Vec<cloudsage_runtime::stage::OutRecord>) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    if chunk.is_empty() {
        return Ok((0, 0));
    }
    let defaults = RawDefaults {
        project: project.into(),
        service: service.into(),
        source: source.into(),
        received_at_ms: cloudsage_runtime::driver::now_ms(),
    };
    let parsed = parse_body(BodyFormat::Text, chunk, &defaults).map_err(anyhow::Error::msg)?;
    chunk.clear();
    let mut records = log_records(&parsed.records);
    records.extend(rejected_records(project, &parsed.rejected, None));
    send(records).await?;
    Ok((parsed.records.len() as u64, parsed.rejected.len() as u64))
}

pub async fn ingest(
    config: &Config,
    file: &Path,
    project: &str,
    service: &str,
) -> anyhow::Result<()> {
    ensure_topics(&config.kafka, &cloudsage_schemas::topics::all_topics()).await?;
    let sink = KafkaSink::new(&config.kafka)?;
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {pos} lines {per_sec} {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    let started = std::time::Instant::now();
    let (accepted, rejected) = for_each_chunk(file, project, service, "file", |records| {
        let n = records.len() as u64;
        let bar = bar.clone();
        let fut = sink.send(records);
        async move {
            fut.await?;
            bar.inc(n);
            Ok(())
        }
    })
    .await?;
    bar.finish_and_clear();
    sink.flush();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "ingested {accepted} lines ({rejected} rejected to logs.raw.dlq) in {secs:.2} s ({:.0} lines/s)",
        accepted as f64 / secs.max(1e-9)
    );
    Ok(())
}

/// How often a followed file is checked for new lines and rotation.
const FOLLOW_POLL: std::time::Duration = std::time::Duration::from_millis(200);

/// `cloudsage ingest FILE --follow`: sends the lines appended to `file` (all of it first with
/// `from_beginning`) until SIGINT/SIGTERM, then sends what was read, a partial last line
/// included, and waits for the broker's acknowledgements before returning.
pub async fn follow(
    config: &Config,
    file: &Path,
    project: &str,
    service: &str,
    from_beginning: bool,
) -> anyhow::Result<()> {
    anyhow::ensure!(file != Path::new("-"), "--follow needs a file, not stdin");
    ensure_topics(&config.kafka, &cloudsage_schemas::topics::all_topics()).await?;
    let sink = KafkaSink::new(&config.kafka)?;
    let stop = cloudsage_runtime::shutdown::shutdown_on_signals();
    let mut follower = crate::follow::Follower::new(file, from_beginning)
        .map_err(|e| anyhow::anyhow!("cannot follow {}: {e}", file.display()))?;
    tracing::info!(file = %file.display(), from_beginning, "following");
    let (mut accepted, mut rejected) = (0u64, 0u64);
    let mut chunk: Vec<u8> = Vec::with_capacity(1 << 20);
    let mut send = |records: Vec<cloudsage_runtime::stage::OutRecord>| sink.send(records);
    loop {
        let stopping = stop.is_cancelled();
        let read = follower.poll(&mut chunk)?;
        // On a stop, first read the file to its current end, then the partial last line.
        let done = stopping && read == 0;
        if done {
            follower.finish(&mut chunk);
        }
        let (a, r) = flush(&mut chunk, project, service, "file", &mut send).await?;
        accepted += a;
        rejected += r;
        if done {
            break;
        }
        if read == 0 {
            tokio::select! {
                _ = stop.cancelled() => {}
                _ = tokio::time::sleep(FOLLOW_POLL) => {}
            }
        }
    }
    sink.flush();
    println!("ingested {accepted} lines ({rejected} rejected to logs.raw.dlq)");
    Ok(())
}
