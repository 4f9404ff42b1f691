//! Against the real broker: a consumer group that keeps rebalancing while partitions receive
//! their first records still handles every record. Rebalances come from both causes seen in
//! the field: a member exceeding `max.poll.interval.ms` (a batch that takes longer than the
//! 7 s CloudSage sets for tansu; librdkafka leaves the group and rejoins on the next poll) and
//! a second member joining and leaving. Each partition gets its first records in the middle
//! of such a rebalance: a chaos run lost the first three records of a partition this way
//! (the batch holding them was dropped with the revoked partition, and without a committed
//! offset nothing made the consumer read them again).

use cloudsage_runtime::config::PipelineConfig;
use cloudsage_runtime::deliver::NoDelivery;
use cloudsage_runtime::driver::Driver;
use cloudsage_runtime::kafka::{client_config, ensure_topics, KafkaSource};
use cloudsage_runtime::metrics::Metrics;
use cloudsage_runtime::stage::{InMessage, Outputs, Processor};
use cloudsage_runtime::testkit::CapturingSink;
use cloudsage_runtime::Config;
use rdkafka::producer::{FutureProducer, FutureRecord};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

const PARTITIONS: i32 = 4;
/// Longer than the 7 s `max.poll.interval.ms`: the member is thrown out of the group.
const STALL: Duration = Duration::from_secs(8);

/// Records every (partition, offset) it handles; a payload `stall` blocks once.
struct Recorder {
    seen: Arc<Mutex<BTreeSet<(i32, i64)>>>,
    stalled: Arc<Mutex<BTreeSet<(i32, i64)>>>,
}

impl Processor for Recorder {
    type Input = bool;

    fn name(&self) -> &'static str {
        "churn"
    }

    fn input_topics(&self) -> Vec<&'static str> {
        vec!["in"]
    }

    fn decode(&self, msg: &InMessage) -> Result<bool, String> {
        Ok(msg.payload == b"stall")
    }

    fn process(&mut self, msg: &InMessage, stall: bool, _now_ms: i64, _out: &mut Outputs) {
        self.seen
            .lock()
            .unwrap()
            .insert((msg.partition, msg.offset));
        if stall
            && self
                .stalled
                .lock()
                .unwrap()
                .insert((msg.partition, msg.offset))
        {
            // Blocks the driver like a batch that takes too long (e.g. a slow sink).
            std::thread::sleep(STALL);
        }
    }
}

struct Member {
    shutdown: CancellationToken,
    task: JoinHandle<anyhow::Result<Recorder>>,
}

fn start_member(cfg: &Config, name: &'static str, recorder: Recorder) -> Member {
    let source = KafkaSource::new(&cfg.kafka, "churn", &["in"]).unwrap();
    let shutdown = CancellationToken::new();
    let driver = Driver {
        processor: recorder,
        source,
        sink: CapturingSink::default(),
        warehouse: None,
        deliverer: NoDelivery,
        metrics: Metrics::new(),
        pipeline: PipelineConfig {
            // A long linger makes a batch span the rebalance that follows a stall, so it holds
            // records fetched under both the old and the new assignment.
            batch_linger: Duration::from_secs(3),
            ..PipelineConfig::default()
        },
        write_retry_for: Duration::from_secs(1),
        shutdown: shutdown.clone(),
    };
    Member {
        shutdown,
        task: tokio::spawn(driver.run().instrument(tracing::info_span!("member", name))),
    }
}

fn config() -> Option<Config> {
    let brokers = std::env::var("CLOUDSAGE_KAFKA__BROKERS").ok();
    let required = std::env::var("CLOUDSAGE_REQUIRE_SERVICES").is_ok_and(|v| v == "1");
    let Some(brokers) = brokers else {
        assert!(
            !required,
            "CLOUDSAGE_REQUIRE_SERVICES=1 but CLOUDSAGE_KAFKA__BROKERS is not set"
        );
        eprintln!("SKIPPED: no Kafka configured");
        return None;
    };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let run = format!("churn{}x{nanos}", std::process::id());
    Some(
        Config::from_toml(&format!(
            "[kafka]\nbrokers = \"{brokers}\"\ntopic_prefix = \"{run}.\"\n\
             group_prefix = \"{run}\"\ntopic_partitions = {PARTITIONS}"
        ))
        .unwrap(),
    )
}

/// Produces `payloads` to `partition`, counting them in `produced` (records per partition).
async fn produce(
    producer: &FutureProducer,
    topic: &str,
    produced: &mut [i64],
    partition: i32,
    payloads: &[&str],
) {
    for payload in payloads {
        producer
            .send(
                FutureRecord::<(), str>::to(topic)
                    .partition(partition)
                    .payload(payload),
                Duration::from_secs(10),
            )
            .await
            .map_err(|(e, _)| e)
            .expect("producing to the input topic");
        produced[partition as usize] += 1;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rebalances_while_partitions_get_their_first_records_lose_nothing() {
    let Some(cfg) = config() else { return };
    cloudsage_runtime::logging::init_logging(&cfg.log);
    ensure_topics(&cfg.kafka, &["in".to_string()])
        .await
        .unwrap();
    let topic = cfg.kafka.physical_topic("in");
    let producer: FutureProducer = client_config(&cfg.kafka).unwrap().create().unwrap();
    let seen = Arc::new(Mutex::new(BTreeSet::new()));
    let stalled = Arc::new(Mutex::new(BTreeSet::new()));
    let recorder = || Recorder {
        seen: seen.clone(),
        stalled: stalled.clone(),
    };
    let mut produced = vec![0i64; PARTITIONS as usize];
    let steady: Vec<String> = (0..20).map(|i| format!("line {i}")).collect();
    let steady: Vec<&str> = steady.iter().map(String::as_str).collect();

    let first = start_member(&cfg, "first", recorder());
    // Partition 0 has records from the start; partition k > 0 gets its first records in
    // round k, while the group is rebalancing.
    produce(&producer, &topic, &mut produced, 0, &steady).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut second: Option<Member> = None;
    for round in 1..PARTITIONS {
        // The first member stalls past its poll interval...
        produce(&producer, &topic, &mut produced, 0, &["stall"]).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        // ...a second member joins or leaves meanwhile...
        match second.take() {
            None => second = Some(start_member(&cfg, "second", recorder())),
            Some(m) => {
                m.shutdown.cancel();
                m.task.await.unwrap().unwrap();
            }
        }
        // ...and a partition receives its first records, then everyone gets more.
        produce(&producer, &topic, &mut produced, round, &steady[..3]).await;
        tokio::time::sleep(STALL).await;
        for p in 0..=round {
            produce(&producer, &topic, &mut produced, p, &steady).await;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }

    let deadline = Instant::now() + Duration::from_secs(90);
    let total: i64 = produced.iter().sum();
    while (seen.lock().unwrap().len() as i64) < total && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    for m in [Some(first), second].into_iter().flatten() {
        m.shutdown.cancel();
        m.task.await.unwrap().unwrap();
    }
    // Offsets of a partition run 0..n without gaps (no transactions here).
    let seen = seen.lock().unwrap().clone();
    let expected: BTreeSet<(i32, i64)> = (0..PARTITIONS)
        .flat_map(|p| (0..produced[p as usize]).map(move |offset| (p, offset)))
        .collect();
    let produced: i64 = produced.iter().sum();
    let lost: Vec<_> = expected.difference(&seen).collect();
    println!(
        "produced {produced}, handled {} distinct, lost {}, stalls {}",
        seen.len(),
        lost.len(),
        stalled.lock().unwrap().len()
    );
    assert!(lost.is_empty(), "records never handled: {lost:?}");
    assert_eq!(stalled.lock().unwrap().len(), PARTITIONS as usize - 1);
}
