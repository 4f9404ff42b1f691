//! The scorer's adapter to the shared runtime: decoding, per-partition window state,
//! publishing and storing closed windows.

use crate::event::Event;
use crate::rules::Rules;
use crate::window::{Added, Closed, PartitionWindows, WindowConfig};
use cloudsage_runtime::config::ScorerConfig;
use cloudsage_runtime::{InMessage, Outputs, PartitionId, Processor, TableRow};
use cloudsage_schemas::topics::{LOGS_RAW, WINDOWS_SCORED};
use cloudsage_schemas::{decode_raw_logs, Message as _, RawDefaults, RawLog};
use logparse::ParseConfig;
use std::collections::HashMap;

pub struct ScorerProcessor {
    cfg: WindowConfig,
    parse: ParseConfig,
    rules: Rules,
    default_project: String,
    default_service: String,
    partitions: HashMap<PartitionId, PartitionWindows>,
    closed: Vec<Closed>,
    /// Threads a batch is decoded on.
    decode_threads: usize,
    /// Late events seen (also reported per window).
    pub late_events: u64,
    /// Lines a retried request repeated, skipped (see [`crate::dedup`]).
    pub duplicate_events: u64,
}

impl ScorerProcessor {
    /// Fails on invalid `ignore` patterns.
    pub fn new(c: &ScorerConfig) -> anyhow::Result<Self> {
        Ok(Self {
            cfg: WindowConfig {
                size_ms: c.window.as_millis().max(1) as i64,
                allowed_lateness_ms: c.allowed_lateness.as_millis() as i64,
                idle_flush_ms: c.idle_flush.as_millis() as i64,
            },
            parse: ParseConfig::default(),
            rules: Rules::new(c)?,
            default_project: c.default_project.clone(),
            default_service: c.default_service.clone(),
            partitions: HashMap::new(),
            closed: vec![],
            decode_threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            late_events: 0,
            duplicate_events: 0,
        })
    }

    /// The events of a raw log: parsed, with features, template and the user's ignore rules
    /// applied. Stateless, so it runs in [`Processor::decode`], on several threads at once.
    fn event(&self, raw: RawLog) -> Event {
        let rules = self.rules.for_project(&raw.project);
        let ignored_text = rules.ignores_text(crate::event::raw_text(&raw));
        let mut event = Event::from_raw(raw, &self.parse);
        event.ignored = ignored_text || rules.ignores_template(&event);
        event
    }

    fn emit_closed(&mut self, out: &mut Outputs) {
        for Closed { window, templates } in self.closed.drain(..) {
            out.publish(
                WINDOWS_SCORED,
                format!("{}/{}", window.project, window.service),
                window.encode(),
            );
            out.store(TableRow::RiskWindow(window));
            out.rows
                .extend(templates.into_iter().map(TableRow::WindowTemplate));
        }
    }
}

/// Less payload than this is decoded on the calling thread alone (a thread costs more).
const MIN_PARALLEL_BYTES: usize = 64 * 1024;

/// `f` of every message, in order, over up to `threads` threads (the calling one included),
/// each taking a run of consecutive messages of about the same payload size.
fn parallel_map<T: Send>(
    msgs: &[&InMessage],
    threads: usize,
    f: impl Fn(&InMessage) -> T + Sync,
) -> Vec<T> {
    let total: usize = msgs.iter().map(|m| m.payload.len()).sum();
    if threads <= 1 || msgs.len() < 2 || total < MIN_PARALLEL_BYTES {
        return msgs.iter().map(|m| f(m)).collect();
    }
    let mut parts: Vec<&[&InMessage]> = Vec::with_capacity(threads);
    let mut rest = msgs;
    for left in (1..=threads).rev() {
        let share = total.div_ceil(threads);
        let (mut n, mut bytes) = (0, 0);
        while n < rest.len() && (left == 1 || bytes < share) {
            bytes += rest[n].payload.len();
            n += 1;
        }
        let (part, tail) = rest.split_at(n);
        parts.push(part);
        rest = tail;
    }
    let f = &f;
    std::thread::scope(|scope| {
        let spawned: Vec<_> = parts[1..]
            .iter()
            .filter(|p| !p.is_empty())
            .map(|part| scope.spawn(move || part.iter().map(|m| f(m)).collect::<Vec<T>>()))
            .collect();
        let mut all: Vec<T> = parts[0].iter().map(|m| f(m)).collect();
        all.reserve(msgs.len() - all.len());
        for h in spawned {
            all.extend(h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)));
        }
        all
    })
}

/// `project/service` from a record key, the convention of every CloudSage producer.
fn series_from_key(key: Option<&[u8]>) -> (Option<String>, Option<String>) {
    let Some(k) = key.and_then(|k| std::str::from_utf8(k).ok()) else {
        return (None, None);
    };
    match k.split_once('/') {
        Some((p, s)) if !p.is_empty() && !s.is_empty() => (Some(p.into()), Some(s.into())),
        _ if !k.is_empty() => (None, Some(k.into())),
        _ => (None, None),
    }
}

impl Processor for ScorerProcessor {
    /// A record's events: one, or one per line of newline-delimited JSON.
    type Input = Vec<Event>;

    fn name(&self) -> &'static str {
        "scorer"
    }

    fn input_topics(&self) -> Vec<&'static str> {
        vec![LOGS_RAW]
    }

    fn decode(&self, msg: &InMessage) -> Result<Vec<Event>, String> {
        let (project, service) = series_from_key(msg.key.as_deref());
        let defaults = RawDefaults {
            project: project.unwrap_or_else(|| self.default_project.clone()),
            service: service.unwrap_or_else(|| self.default_service.clone()),
            source: "kafka".into(),
            received_at_ms: msg
                .timestamp_ms
                .unwrap_or_else(cloudsage_runtime::driver::now_ms),
        };
        let raws = decode_raw_logs(&msg.payload, &defaults).map_err(|e| e.to_string())?;
        Ok(raws.into_iter().map(|raw| self.event(raw)).collect())
    }

    /// Decoding is stateless: the batch is split by payload size over the machine's cores.
    fn decode_batch(&self, msgs: &[&InMessage]) -> Option<Vec<Result<Vec<Event>, String>>> {
        Some(parallel_map(msgs, self.decode_threads, |m| self.decode(m)))
    }

    fn process(&mut self, msg: &InMessage, events: Vec<Event>, now_ms: i64, out: &mut Outputs) {
        let pw = self.partitions.entry(msg.partition_id()).or_default();
        // The events of one record share its offset: a replay from it re-reads them all, and
        // the restored watermarks skip those of windows already emitted.
        for event in events {
            let added = pw.add(
                &self.cfg,
                event,
                msg.offset,
                now_ms,
                &self.rules,
                &mut self.closed,
            );
            match added {
                Added::Late => {
                    self.late_events += 1;
                    out.count("late_event", 1);
                }
                Added::Duplicate => {
                    self.duplicate_events += 1;
                    out.count("retried_line_skipped", 1);
                }
                Added::Counted | Added::AlreadyEmitted => {}
            }
        }
        self.emit_closed(out);
    }

    fn on_tick(&mut self, now_ms: i64, out: &mut Outputs) {
        for pw in self.partitions.values_mut() {
            pw.flush_if_idle(&self.cfg, now_ms, &self.rules, &mut self.closed);
        }
        self.emit_closed(out);
    }

    fn input_stalled(&mut self, stalled_ms: i64) {
        for pw in self.partitions.values_mut() {
            pw.postpone_idle(stalled_ms);
        }
    }

    fn finish(&mut self, out: &mut Outputs) {
        for pw in self.partitions.values_mut() {
            pw.flush_all(&self.cfg, &self.rules, &mut self.closed);
        }
        self.emit_closed(out);
    }

    fn retained_offset(&self, p: &PartitionId) -> Option<i64> {
        self.partitions
            .get(p)
            .and_then(PartitionWindows::retained_offset)
    }

    fn checkpoint(&self, p: &PartitionId) -> Option<String> {
        self.partitions
            .get(p)
            .and_then(|pw| pw.checkpoint(&self.cfg))
    }

    fn restore(&mut self, p: &PartitionId, checkpoint: &str) {
        self.partitions
            .insert(p.clone(), PartitionWindows::restore(checkpoint));
    }

    fn forget(&mut self, p: &PartitionId) {
        self.partitions.remove(p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(offset: i64, payload: Vec<u8>) -> InMessage {
        InMessage {
            topic: LOGS_RAW.into(),
            partition: 0,
            offset,
            key: Some(b"shop/api".to_vec()),
            payload,
            timestamp_ms: Some(0),
        }
    }

    /// Every window the processor publishes for `records`, closed at the end of input.
    fn windows_of(records: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
        let mut p = ScorerProcessor::new(&ScorerConfig::default()).unwrap();
        let mut out = Outputs::default();
        for (offset, payload) in records.into_iter().enumerate() {
            let m = message(offset as i64, payload);
            let input = p.decode(&m).unwrap();
            p.process(&m, input, 0, &mut out);
        }
        p.finish(&mut out);
        out.records.into_iter().map(|r| r.payload).collect()
    }

    #[test]
    fn newline_delimited_records_score_like_one_record_per_line() {
        let lines: Vec<String> = (0..600)
            .map(|i| {
                let level = if i % 7 == 0 { "error" } else { "info" };
                format!(
                    r#"{{"ts":{},"level":"{level}","msg":"request {i} took {} ms"}}"#,
                    1_699_999_980_000i64 + i * 1_000, // on a minute boundary
                    i % 50
                )
            })
            .collect();
        let one_per_record = windows_of(lines.iter().map(|l| l.clone().into_bytes()).collect());
        let batched = windows_of(
            lines
                .chunks(64)
                .map(|c| c.join("\n").into_bytes())
                .collect(),
        );
        assert_eq!(one_per_record.len(), 10);
        assert_eq!(batched, one_per_record);
    }

    #[test]
    fn a_retried_request_scores_like_one_delivery() {
        // Avro records as the ingestor writes them for a request with an Idempotency-Key.
        let records = |request: &str, n: i64| -> Vec<Vec<u8>> {
            (0..n)
                .map(|seq| {
                    let log = RawLog {
                        project: "shop".into(),
                        service: "api".into(),
                        source: "http".into(),
                        received_at_ms: 0,
                        event_time_ms: Some(1_699_999_980_000 + seq * 1_000),
                        line: Some(format!("ERROR request {seq} failed")),
                        fields: Default::default(),
                        ingest_id: Some(cloudsage_schemas::IngestId {
                            request: request.into(),
                            seq,
                        }),
                    };
                    log.encode()
                })
                .collect()
        };
        let once = windows_of(records("r1", 150));
        // The first attempt got 90 lines out before the ingestor died; the retry sends all.
        let mut retried = records("r1", 90);
        retried.extend(records("r1", 150));
        assert_eq!(windows_of(retried), once);
        assert_eq!(once.len(), 3);
        // A different request with the same lines is new data.
        let mut twice = records("r1", 150);
        twice.extend(records("r2", 150));
        assert_ne!(windows_of(twice), once);
    }

    #[test]
    fn late_and_repeated_lines_are_counted_for_the_metrics() {
        let mut p = ScorerProcessor::new(&ScorerConfig::default()).unwrap();
        let mut out = Outputs::default();
        let t0 = 1_699_999_980_000i64;
        let lines = [
            format!(r#"{{"ts":{t0},"msg":"a"}}"#),
            // Two minutes later: the first window closes.
            format!(r#"{{"ts":{},"msg":"b"}}"#, t0 + 120_000),
            // Back in the closed window: late.
            format!(r#"{{"ts":{},"msg":"c"}}"#, t0 + 1_000),
        ];
        for (offset, line) in lines.into_iter().enumerate() {
            let m = message(offset as i64, line.into_bytes());
            let input = p.decode(&m).unwrap();
            p.process(&m, input, 0, &mut out);
        }
        assert_eq!(out.events, vec![("late_event", 1)]);
        assert_eq!(p.late_events, 1);
    }

    #[test]
    fn batches_decode_on_several_threads_like_one_by_one() {
        let p = ScorerProcessor::new(&ScorerConfig::default()).unwrap();
        let records: Vec<InMessage> = (0..300)
            .map(|r| {
                let lines: Vec<String> = (0..(r % 13 + 1))
                    .map(|i| {
                        format!(
                            r#"{{"ts":{},"level":"warn","msg":"record {r} line {i}"}}"#,
                            1_700_000_000_000i64 + r * 10 + i
                        )
                    })
                    .collect();
                message(r, lines.join("\n").into_bytes())
            })
            .chain([message(300, vec![])])
            .collect();
        let refs: Vec<&InMessage> = records.iter().collect();
        assert!(records.iter().map(|m| m.payload.len()).sum::<usize>() > MIN_PARALLEL_BYTES);
        let one_by_one: Vec<_> = refs.iter().map(|m| p.decode(m)).collect();
        assert!(one_by_one.last().unwrap().is_err());
        for threads in [1, 2, 3, 8] {
            assert_eq!(parallel_map(&refs, threads, |m| p.decode(m)), one_by_one);
        }
        assert_eq!(p.decode_batch(&refs).unwrap(), one_by_one);
    }

    #[test]
    fn series_key_convention() {
        assert_eq!(
            series_from_key(Some(b"shop/api")),
            (Some("shop".into()), Some("api".into()))
        );
        assert_eq!(series_from_key(Some(b"api")), (None, Some("api".into())));
        assert_eq!(series_from_key(None), (None, None));
    }
}
