//! Kafka adapters: client configuration (with librdkafka pass-through), the consumer source
//! with rebalance tracking and checkpoint metadata, the acknowledging producer sink, and
//! topic creation.

use crate::config::KafkaConfig;
use crate::metrics::{labels, Metrics};
use crate::resume_gap::{ResumeRewind, Verdict};
use crate::stage::{InMessage, OutRecord, PartitionId};
use crate::transport::{Assigned, Checkpoint, CommitPosition, Polled, Rebalance, Sink, Source};
use anyhow::Context as _;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::util::Timeout;
use rdkafka::{ClientContext, Message, Offset, TopicPartitionList};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Base client configuration: brokers, then CloudSage's defaults, then the user's
/// pass-through properties (which win).
pub fn client_config(cfg: &KafkaConfig) -> anyhow::Result<ClientConfig> {
    let brokers = cfg
        .brokers
        .as_deref()
        .context("kafka.brokers is not set (CLOUDSAGE_KAFKA__BROKERS)")?;
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", brokers);
    for (k, v) in cfg.rdkafka_properties() {
        c.set(k, v);
    }
    Ok(c)
}

fn with_defaults(
    mut base: ClientConfig,
    cfg: &KafkaConfig,
    defaults: &[(&str, &str)],
) -> ClientConfig {
    let user: Vec<String> = cfg
        .rdkafka_properties()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    for (k, v) in defaults {
        if !user.iter().any(|u| u == k) {
            base.set(*k, *v);
        }
    }
    base
}

/// Creates any missing topic among `topics`.
pub async fn ensure_topics(cfg: &KafkaConfig, topics: &[String]) -> anyhow::Result<()> {
    let admin: AdminClient<DefaultClientContext> = client_config(cfg)?.create()?;
    let physical: Vec<String> = topics.iter().map(|t| cfg.physical_topic(t)).collect();
    let new: Vec<NewTopic> = physical
        .iter()
        .map(|t| {
            NewTopic::new(
                t.as_str(),
                cfg.topic_partitions,
                TopicReplication::Fixed(cfg.topic_replication),
            )
        })
        .collect();
    let results = admin
        .create_topics(
            &new,
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10))),
        )
        .await?;
    for r in results {
        match r {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((t, e)) => anyhow::bail!("creating topic {t}: {e}"),
        }
    }
    Ok(())
}

/// Records partition assignments and revocations as librdkafka reports them, for the
/// driver to apply between batches (the driver never holds uncommitted work across a poll,
/// so a revoke needs no draining here: everything handled is already committed).
#[derive(Clone)]
pub struct RebalanceRecorder {
    /// Strips the topic prefix from the broker's partition lists.
    topic_prefix: Arc<str>,
    pending: Arc<Mutex<PendingRebalance>>,
    /// Set by every assignment, even an empty one.
    assigned_any: Arc<std::sync::atomic::AtomicBool>,
    /// Set when librdkafka reports every broker down; cleared by the next record or answered
    /// metadata request (see [`KafkaSource::check_brokers_back`]).
    brokers_down: Arc<std::sync::atomic::AtomicBool>,
}

impl RebalanceRecorder {
    fn new(topic_prefix: &str) -> Self {
        Self {
            topic_prefix: topic_prefix.into(),
            pending: Arc::default(),
            assigned_any: Arc::default(),
            brokers_down: Arc::default(),
        }
    }
}

fn partitions_of(tpl: &TopicPartitionList, prefix: &str) -> Vec<PartitionId> {
    tpl.elements()
        .iter()
        .map(|e| PartitionId {
            topic: e
                .topic()
                .strip_prefix(prefix)
                .unwrap_or(e.topic())
                .to_string(),
            partition: e.partition(),
        })
        .collect()
}

impl ClientContext for RebalanceRecorder {
    fn error(&self, error: KafkaError, reason: &str) {
        if error.rdkafka_error_code() == Some(RDKafkaErrorCode::AllBrokersDown) {
            self.brokers_down
                .store(true, std::sync::atomic::Ordering::SeqCst);
        }
        // As librdkafka's default does.
        tracing::error!("librdkafka: {error}: {reason}");
    }
}

impl ConsumerContext for RebalanceRecorder {
    fn pre_rebalance(&self, _c: &BaseConsumer<Self>, rebalance: &rdkafka::consumer::Rebalance<'_>) {
        if let rdkafka::consumer::Rebalance::Revoke(tpl) = rebalance {
            let revoked = partitions_of(tpl, &self.topic_prefix);
            tracing::info!(?revoked, "partitions revoked");
            let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            p.1.retain(|a| !revoked.contains(a));
            p.0.extend(revoked);
        }
    }

    fn post_rebalance(
        &self,
        _c: &BaseConsumer<Self>,
        rebalance: &rdkafka::consumer::Rebalance<'_>,
    ) {
        if let rdkafka::consumer::Rebalance::Assign(tpl) = rebalance {
            let assigned = partitions_of(tpl, &self.topic_prefix);
            tracing::info!(?assigned, "partitions assigned");
            self.assigned_any
                .store(true, std::sync::atomic::Ordering::SeqCst);
            self.pending
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .1
                .extend(assigned);
        }
    }
}

/// Revoked and assigned partitions reported by librdkafka, not yet applied by the driver.
type PendingRebalance = (Vec<PartitionId>, Vec<PartitionId>);

/// Puts a rebalance taken from `pending` but not applied back, as if reported again ahead of
/// whatever was reported since (a partition revoked since is no longer assigned).
fn put_back(pending: &mut PendingRebalance, revoked: Vec<PartitionId>, assigned: Vec<PartitionId>) {
    let (revoked_since, assigned_since) = std::mem::take(pending);
    let mut still_assigned = assigned;
    still_assigned.retain(|a| !revoked_since.contains(a));
    still_assigned.extend(assigned_since);
    let mut all_revoked = revoked;
    all_revoked.extend(revoked_since);
    *pending = (all_revoked, still_assigned);
}

type Consumer_ = StreamConsumer<RebalanceRecorder>;

/// A consumer-group member reading the stage's input topics.
pub struct KafkaSource {
    consumer: Arc<Consumer_>,
    recorder: RebalanceRecorder,
    group: String,
    /// Physical (prefixed) names of the subscribed topics.
    topics: Vec<String>,
    /// Prepended to logical topic names on the broker (`kafka.topic_prefix`).
    topic_prefix: String,
    /// Set while this member has joined but owns nothing; see [`KafkaSource::rejoin_if_stranded`].
    empty_since: Option<Instant>,
    rejoined: bool,
    /// Partitions being re-read from their committed offset.
    rewinds: HashMap<PartitionId, ResumeRewind>,
    /// Set while a commit is waiting for the broker's answer.
    commit_in_flight: Arc<std::sync::atomic::AtomicBool>,
    /// `auto.offset.reset` is earliest: a partition without a committed offset is read from
    /// its log start (taps reading from the end set it to latest).
    reads_from_earliest: bool,
}

impl KafkaSource {
    /// The consumer of a stage: group `<group_prefix>-<stage>`.
    pub fn new(cfg: &KafkaConfig, stage: &str, topics: &[&str]) -> anyhow::Result<Self> {
        Self::with_group(cfg, &format!("{}-{}", cfg.group_prefix, stage), topics, &[])
    }

    /// A consumer in `group`; `overrides` win over CloudSage's defaults (not over the user's).
    pub fn with_group(
        cfg: &KafkaConfig,
        group: &str,
        topics: &[&str],
        overrides: &[(&str, &str)],
    ) -> anyhow::Result<Self> {
        let mut base = client_config(cfg)?;
        base.set("group.id", group);
        let mut defaults: Vec<(&str, &str)> = overrides.to_vec();
        for d in [
            // Offsets are committed by the driver only after outputs are acknowledged.
            ("enable.auto.commit", "false"),
            ("enable.auto.offset.store", "false"),
            ("auto.offset.reset", "earliest"),
            // tansu (CI's broker) only completes group joins with a short poll interval;
            // the driver polls at least every batch, so this is safe for Kafka too.
            ("max.poll.interval.ms", "7000"),
            ("session.timeout.ms", "6000"),
            ("partition.assignment.strategy", "range"),
        ] {
            if !defaults.iter().any(|(k, _)| *k == d.0) {
                defaults.push(d);
            }
        }
        let c = with_defaults(base, cfg, &defaults);
        let reads_from_earliest = c
            .get("auto.offset.reset")
            .is_none_or(|v| matches!(v, "earliest" | "smallest" | "beginning"));
        let recorder = RebalanceRecorder::new(&cfg.topic_prefix);
        let consumer: Consumer_ = c.create_with_context(recorder.clone())?;
        let physical: Vec<String> = topics.iter().map(|t| cfg.physical_topic(t)).collect();
        consumer.subscribe(&physical.iter().map(String::as_str).collect::<Vec<_>>())?;
        Ok(Self {
            consumer: Arc::new(consumer),
            recorder,
            group: group.to_string(),
            topics: physical,
            topic_prefix: cfg.topic_prefix.clone(),
            empty_since: None,
            rejoined: false,
            rewinds: HashMap::new(),
            commit_in_flight: Arc::default(),
            reads_from_earliest,
        })
    }
}

/// Limit of each broker request made while applying a rebalance (committed offsets, log
/// starts). Those run between two polls, so they must end well within `max.poll.interval.ms`
/// (7 s by default here) or the member is dropped from the group; a rebalance whose
/// requests fail stays pending and is tried again after the next poll.
const REBALANCE_REQUEST_TIMEOUT: Duration = Duration::from_secs(3);

/// How long the driver waits for a commit's answer before going on polling (the commit
/// itself stays out until the broker answers).
const COMMIT_TIMEOUT: Duration = Duration::from_secs(5);

/// Limit of the metadata request that tells whether a broker answers again after all were
/// reported down; made between two polls, so short.
const BROKER_PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// How long a member that joined with an empty assignment waits before rejoining once.
const STRANDED_REJOIN_AFTER: Duration = Duration::from_secs(8);

impl KafkaSource {
    /// tansu 0.6 (CI's broker) hands a member that joins while a crashed member's session is
    /// still alive an empty assignment and never rebalances it afterwards; Kafka would. So a
    /// member that started with nothing rejoins once, after the crashed member's session has
    /// expired. On Kafka this costs at most one extra rebalance at start-up.
    fn rejoin_if_stranded(&mut self) {
        let stranded = self
            .empty_since
            .is_some_and(|t| t.elapsed() >= STRANDED_REJOIN_AFTER);
        if !stranded || self.rejoined {
            return;
        }
        self.rejoined = true;
        self.empty_since = None;
        tracing::info!(group = %self.group, "joined with no partitions; rejoining once");
        self.consumer.unsubscribe();
        let topics: Vec<&str> = self.topics.iter().map(String::as_str).collect();
        if let Err(e) = self.consumer.subscribe(&topics) {
            tracing::warn!(error = %e, "re-subscribing failed");
        }
    }
}

impl KafkaSource {
    /// Polls until the group has given this consumer partitions, so a reader started at the
    /// topics' ends (`auto.offset.reset = latest`) sees everything produced afterwards.
    pub async fn wait_for_assignment(&mut self, timeout: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            let _ = self.next_batch(1, Duration::from_millis(200)).await?;
            if self
                .take_rebalance()
                .await?
                .is_some_and(|r| !r.assigned.is_empty())
            {
                return Ok(());
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "the consumer of {:?} got no partitions within {timeout:?}",
                self.topics
            );
        }
    }

    fn physical(&self, topic: &str) -> String {
        format!("{}{topic}", self.topic_prefix)
    }

    /// Passes a record through the partition's rewind, if one is under way.
    async fn admit(&mut self, m: &InMessage) -> anyhow::Result<bool> {
        let p = m.partition_id();
        let Some(rewind) = self.rewinds.get_mut(&p) else {
            return Ok(true);
        };
        match rewind.observe(m.offset) {
            Verdict::Deliver => {
                tracing::info!(
                    partition = p.partition,
                    offset = m.offset,
                    "re-read reached the committed offset"
                );
                self.rewinds.remove(&p);
                Ok(true)
            }
            Verdict::Drop => Ok(false),
            Verdict::SeekToBeginning => {
                tracing::warn!(
                    partition = %format!("{}/{}", p.topic, p.partition),
                    answered = m.offset,
                    "broker answered a seek past its offset; re-reading from the beginning"
                );
                self.seek(&p, Offset::Beginning).await?;
                Ok(false)
            }
        }
    }

    /// After librdkafka reported every broker down, an empty poll is not "caught up" (the
    /// stage's idle timers would run on records still waiting on the broker) until a
    /// metadata request is answered again: until then it is an error.
    async fn check_brokers_back(&self) -> anyhow::Result<()> {
        if !self
            .recorder
            .brokers_down
            .load(std::sync::atomic::Ordering::SeqCst)
        {
            return Ok(());
        }
        let consumer = self.consumer.clone();
        let topic = self.topics.first().cloned();
        tokio::task::spawn_blocking(move || {
            consumer
                .client()
                .fetch_metadata(topic.as_deref(), BROKER_PROBE_TIMEOUT)
        })
        .await?
        .map_err(|e| anyhow::anyhow!("no broker reachable: {e}"))?;
        self.recorder
            .brokers_down
            .store(false, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }

    /// Where each assigned partition resumes: committed offset and checkpoint, or log start.
    /// Nothing to ask the broker for a revoke alone.
    async fn resolve_assignment(&self, assigned: &[PartitionId]) -> anyhow::Result<Vec<Assigned>> {
        if assigned.is_empty() {
            return Ok(vec![]);
        }
        let mut tpl = TopicPartitionList::new();
        for a in assigned {
            tpl.add_partition(&self.physical(&a.topic), a.partition);
        }
        let consumer = self.consumer.clone();
        let committed = tokio::task::spawn_blocking(move || {
            consumer.committed_offsets(tpl, Timeout::After(REBALANCE_REQUEST_TIMEOUT))
        })
        .await??;
        // Read out of the (non-`Send`) partition list before awaiting anything.
        let positions: Vec<(PartitionId, Option<i64>, Option<Checkpoint>)> = assigned
            .iter()
            .cloned()
            .map(|p| {
                let elem = committed.find_partition(&self.physical(&p.topic), p.partition);
                let committed_offset = elem.as_ref().and_then(|e| match e.offset() {
                    Offset::Offset(o) => Some(o),
                    _ => None,
                });
                let checkpoint = elem.and_then(|e| Checkpoint::decode(e.metadata()));
                (p, committed_offset, checkpoint)
            })
            .collect();
        drop(committed);
        let mut with_offsets = Vec::with_capacity(positions.len());
        for (p, committed_offset, checkpoint) in positions {
            let log_start = match committed_offset {
                None if self.reads_from_earliest => Some(self.log_start(&p).await?),
                _ => None,
            };
            with_offsets.push(Assigned {
                partition: p,
                committed_offset,
                checkpoint,
                log_start,
            });
        }
        Ok(with_offsets)
    }

    /// The first offset the broker still holds for `p` (its low watermark).
    async fn log_start(&self, p: &PartitionId) -> anyhow::Result<i64> {
        let consumer = self.consumer.clone();
        let (topic, part) = (self.physical(&p.topic), p.partition);
        let (low, _) = tokio::task::spawn_blocking(move || {
            consumer.fetch_watermarks(&topic, part, REBALANCE_REQUEST_TIMEOUT)
        })
        .await??;
        Ok(low)
    }

    async fn seek(&self, p: &PartitionId, offset: Offset) -> anyhow::Result<()> {
        let consumer = self.consumer.clone();
        let topic = self.physical(&p.topic);
        let p = p.clone();
        tokio::task::spawn_blocking(move || {
            consumer.seek(
                &topic,
                p.partition,
                offset,
                Timeout::After(Duration::from_secs(10)),
            )
        })
        .await??;
        Ok(())
    }
}

fn to_in_message(m: &rdkafka::message::BorrowedMessage<'_>, topic_prefix: &str) -> InMessage {
    InMessage {
        topic: m
            .topic()
            .strip_prefix(topic_prefix)
            .unwrap_or(m.topic())
            .to_string(),
        partition: m.partition(),
        offset: m.offset(),
        key: m.key().map(<[u8]>::to_vec),
        payload: m.payload().map(<[u8]>::to_vec).unwrap_or_default(),
        timestamp_ms: m.timestamp().to_millis(),
    }
}

impl Source for KafkaSource {
    async fn next_batch(&mut self, max: usize, linger: Duration) -> anyhow::Result<Polled> {
        self.rejoin_if_stranded();
        let deadline = Instant::now() + linger;
        let mut batch = Vec::new();
        // The linger starts with the first record; until then wait up to one linger.
        let mut wait_until = deadline;
        while batch.len() < max {
            let left = wait_until.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.consumer.recv()).await {
                Ok(Ok(m)) => {
                    self.recorder
                        .brokers_down
                        .store(false, std::sync::atomic::Ordering::SeqCst);
                    let m = to_in_message(&m, &self.topic_prefix);
                    if batch.is_empty() {
                        wait_until = Instant::now() + linger;
                    }
                    if self.admit(&m).await? {
                        batch.push(m);
                    }
                }
                Ok(Err(e)) if batch.is_empty() => return Err(e.into()),
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "consumer error while filling a batch");
                    break;
                }
                Err(_) => break,
            }
        }
        Ok(if batch.is_empty() {
            self.check_brokers_back().await?;
            Polled::Idle
        } else {
            Polled::Messages(batch)
        })
    }

    async fn take_rebalance(&mut self) -> anyhow::Result<Option<Rebalance>> {
        if self
            .recorder
            .assigned_any
            .swap(false, std::sync::atomic::Ordering::SeqCst)
        {
            let owns_nothing = self
                .consumer
                .assignment()
                .map(|a| a.count() == 0)
                .unwrap_or(false);
            self.empty_since = owns_nothing.then(Instant::now);
        }
        let (revoked, assigned) = {
            let mut p = self
                .recorder
                .pending
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if p.0.is_empty() && p.1.is_empty() {
                return Ok(None);
            }
            (std::mem::take(&mut p.0), std::mem::take(&mut p.1))
        };
        match self.resolve_assignment(&assigned).await {
            Ok(with_offsets) => {
                for p in revoked.iter().chain(&assigned) {
                    self.rewinds.remove(p);
                }
                Ok(Some(Rebalance {
                    revoked,
                    assigned: with_offsets,
                }))
            }
            Err(e) => {
                let mut pending = self
                    .recorder
                    .pending
                    .lock()
                    .unwrap_or_else(|e| e.into_inner());
                put_back(&mut pending, revoked, assigned);
                Err(e)
            }
        }
    }

    async fn commit(&mut self, positions: &[CommitPosition]) -> anyhow::Result<()> {
        if positions.is_empty() {
            return Ok(());
        }
        let mut tpl = TopicPartitionList::new();
        for p in positions {
            let topic = self.physical(&p.partition.topic);
            tpl.add_partition_offset(&topic, p.partition.partition, Offset::Offset(p.offset))?;
            if let Some(mut e) = tpl.find_partition(&topic, p.partition.partition) {
                e.set_metadata(p.checkpoint.encode());
            }
        }
        // A synchronous commit waits for the group coordinator however long it is away; the
        // stage must go on polling meanwhile (or leave the group), so it waits at most
        // COMMIT_TIMEOUT and starts no other commit while one is still out. A commit that
        // lands late is harmless: its positions were handled.
        if self
            .commit_in_flight
            .load(std::sync::atomic::Ordering::SeqCst)
        {
            anyhow::bail!("the previous commit is still waiting for the group coordinator");
        }
        self.commit_in_flight
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let consumer = self.consumer.clone();
        let in_flight = self.commit_in_flight.clone();
        let commit = tokio::task::spawn_blocking(move || {
            let result = consumer.commit(&tpl, CommitMode::Sync);
            in_flight.store(false, std::sync::atomic::Ordering::SeqCst);
            result
        });
        match tokio::time::timeout(COMMIT_TIMEOUT, commit).await {
            Ok(result) => result??,
            Err(_) => anyhow::bail!(
                "commit not acknowledged within {COMMIT_TIMEOUT:?} (group coordinator unreachable?)"
            ),
        }
        Ok(())
    }

    async fn rewind(
        &mut self,
        partition: &PartitionId,
        offset: i64,
        skipped_to: Option<i64>,
    ) -> anyhow::Result<()> {
        let consumer = self.consumer.clone();
        let (topic, part) = (self.physical(&partition.topic), partition.partition);
        let (low, _) = tokio::task::spawn_blocking(move || {
            consumer.fetch_watermarks(&topic, part, Duration::from_secs(10))
        })
        .await??;
        let where_ = format!("{}/{}", partition.topic, partition.partition);
        // At `low` itself the records are still there: re-read from the beginning.
        if low > offset {
            tracing::warn!(partition = %where_, committed = offset, ?skipped_to, low, "broker resumed past the committed offset, which is no longer retained");
            return Ok(());
        }
        tracing::warn!(
            partition = %where_,
            committed = offset,
            ?skipped_to,
            "broker resumed past the committed offset (or sent nothing from it); re-reading from the beginning"
        );
        self.seek(partition, Offset::Beginning).await?;
        let rewind = match skipped_to {
            Some(_) => ResumeRewind::start(offset),
            None => ResumeRewind::start_silent(offset),
        };
        self.rewinds.insert(partition.clone(), rewind);
        Ok(())
    }

    async fn reread(&mut self, partition: &PartitionId, offset: i64) -> anyhow::Result<()> {
        let consumer = self.consumer.clone();
        let (topic, part) = (self.physical(&partition.topic), partition.partition);
        let (low, _) = tokio::task::spawn_blocking(move || {
            consumer.fetch_watermarks(&topic, part, Duration::from_secs(10))
        })
        .await??;
        tracing::info!(
            partition = %format!("{}/{}", partition.topic, partition.partition),
            offset,
            low,
            "partition assigned again with records dropped from the revoked batch; re-reading"
        );
        let rewind = if low < offset {
            self.seek(partition, Offset::Offset(offset)).await?;
            ResumeRewind::start_direct(offset)
        } else {
            // At or before the log start: read what is left from the beginning.
            self.seek(partition, Offset::Beginning).await?;
            ResumeRewind::start(offset.max(low))
        };
        self.rewinds.insert(partition.clone(), rewind);
        Ok(())
    }

    async fn unread(&mut self, positions: &[(PartitionId, i64)]) -> anyhow::Result<()> {
        let owned = {
            let consumer = self.consumer.clone();
            tokio::task::spawn_blocking(move || consumer.assignment()).await??
        };
        for (p, offset) in positions {
            if owned
                .find_partition(&self.physical(&p.topic), p.partition)
                .is_none()
            {
                continue;
            }
            self.seek(p, Offset::Offset(*offset)).await?;
        }
        Ok(())
    }

    async fn end_offset(&self, partition: &PartitionId) -> anyhow::Result<Option<i64>> {
        let consumer = self.consumer.clone();
        let (topic, part) = (self.physical(&partition.topic), partition.partition);
        let (_, high) = tokio::task::spawn_blocking(move || {
            consumer.fetch_watermarks(&topic, part, Duration::from_secs(10))
        })
        .await??;
        Ok(Some(high))
    }

    fn group(&self) -> Option<String> {
        Some(self.group.clone())
    }

    /// Lag = the partition's high watermark minus this consumer's position (the next offset
    /// it will read), per assigned partition.
    fn report_lag(&self, metrics: &Metrics) {
        let consumer = self.consumer.clone();
        let lag = metrics.consumer_lag.clone();
        let prefix = self.topic_prefix.clone();
        tokio::task::spawn_blocking(move || {
            let Ok(position) = consumer.position() else {
                return;
            };
            for e in position.elements() {
                let Offset::Offset(at) = e.offset() else {
                    continue;
                };
                let Ok((_, high)) =
                    consumer.fetch_watermarks(e.topic(), e.partition(), Duration::from_secs(5))
                else {
                    continue;
                };
                let part = e.partition().to_string();
                let topic = e.topic().strip_prefix(prefix.as_str()).unwrap_or(e.topic());
                lag.get_or_create(&labels(&[("topic", topic), ("partition", &part)]))
                    .set((high - at).max(0));
            }
        });
    }
}

/// An acknowledging producer: `send` resolves after every record is acknowledged.
pub struct KafkaSink {
    producer: FutureProducer,
    /// Prepended to logical topic names on the broker (`kafka.topic_prefix`).
    topic_prefix: String,
}

impl KafkaSink {
    pub fn new(cfg: &KafkaConfig) -> anyhow::Result<Self> {
        let c = with_defaults(
            client_config(cfg)?,
            cfg,
            &[
                // Retries must neither duplicate nor reorder records: windows are event-time
                // and a reordered batch would turn a minute of a series into late events.
                ("enable.idempotence", "true"),
                ("acks", "all"),
                ("linger.ms", "5"),
                ("compression.type", "lz4"),
                ("message.timeout.ms", "60000"),
            ],
        );
        Ok(Self {
            producer: c.create()?,
            topic_prefix: cfg.topic_prefix.clone(),
        })
    }

    /// Checks the broker answers a metadata request (for `/health`).
    pub fn ping(&self) -> anyhow::Result<()> {
        self.producer
            .client()
            .fetch_metadata(None, Duration::from_secs(3))?;
        Ok(())
    }

    pub fn flush(&self) {
        let _ = self.producer.flush(Duration::from_secs(10));
    }
}

impl Sink for KafkaSink {
    async fn send(&self, records: Vec<OutRecord>) -> anyhow::Result<()> {
        let topics: Vec<String> = records
            .iter()
            .map(|r| format!("{}{}", self.topic_prefix, r.topic))
            .collect();
        let deliveries: Vec<_> = records
            .iter()
            .zip(&topics)
            .map(|(r, topic)| {
                self.producer.send(
                    FutureRecord::to(topic).key(&r.key).payload(&r.payload),
                    Timeout::After(Duration::from_secs(60)),
                )
            })
            .collect();
        for d in futures::future::join_all(deliveries).await {
            if let Err((e, _)) = d {
                anyhow::bail!("produce failed: {e}");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(n: i32) -> PartitionId {
        PartitionId {
            topic: "t".into(),
            partition: n,
        }
    }

    #[test]
    fn a_rebalance_put_back_comes_before_what_was_reported_since() {
        // Taken: 1 revoked, 2 and 3 assigned. Since: 3 revoked, 4 assigned.
        let mut pending: PendingRebalance = (vec![p(3)], vec![p(4)]);
        put_back(&mut pending, vec![p(1)], vec![p(2), p(3)]);
        assert_eq!(pending, (vec![p(1), p(3)], vec![p(2), p(4)]));

        // Nothing since: exactly what was taken.
        let mut pending = PendingRebalance::default();
        put_back(&mut pending, vec![p(1)], vec![p(2)]);
        assert_eq!(pending, (vec![p(1)], vec![p(2)]));
    }
}
