//! The incident loop's adapter: `alerts` (and vendor records of `logs.raw`) in, `incidents`
//! and `decisions` rows out. At-least-once: incident and decision ids are deterministic and
//! both tables are ReplacingMergeTrees, so a replay rewrites the same rows. The loop commits
//! the offset of the first signal of every incident still open, so a restart rebuilds them.
//! Automatic actions are handed to the runbook caller ([`crate::decision::runbook`]), which
//! skips decisions it has already carried out.

use crate::decision::{decide, Execution, HourlyCap, Inputs, Shared, Thresholds, Verdict};
use crate::incidents::grouping::{Grouper, Incident};
use crate::incidents::signal::{from_alert, from_raw, Signal, SignalKind};
use crate::incidents::suggest::{suggest, Suggestion};
use cloudsage_runtime::config::IncidentsConfig;
use cloudsage_runtime::stage::{DecisionRecord, IncidentRecord};
use cloudsage_runtime::{InMessage, Outputs, PartitionId, Processor, TableRow};
use cloudsage_schemas::topics::{ALERTS, LOGS_RAW};
use cloudsage_schemas::MAGIC;
use cloudsage_schemas::{stable_id, Alert, Message as _, RawLog};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Where automatic actions go (a channel to the runbook caller; a `Vec` in tests).
pub type ExecutionSink = Box<dyn FnMut(Execution) + Send>;

pub struct IncidentProcessor {
    cfg: IncidentsConfig,
    thresholds: Thresholds,
    grouper: Grouper,
    cap: HourlyCap,
    shared: Shared,
    executions: Option<ExecutionSink>,
    /// The latest decision id per incident: a decision is taken again only when the
    /// incident's severity or best action changes.
    decided: HashMap<String, String>,
    /// Actions already run automatically, per incident.
    remediated: HashMap<String, BTreeSet<String>>,
    /// Latest deploy (event time) per (project, service).
    deploys: HashMap<(String, String), i64>,
    /// Per open incident: the lowest offset of each partition it was built from.
    offsets: HashMap<String, BTreeMap<PartitionId, i64>>,
    watermark: i64,
}

impl IncidentProcessor {
    pub fn new(cfg: &IncidentsConfig, shared: Shared, executions: Option<ExecutionSink>) -> Self {
        Self {
            thresholds: Thresholds::from(cfg),
            grouper: Grouper::new(cfg.group_window.as_millis() as i64, cfg.group_by_rule),
            cfg: cfg.clone(),
            cap: HourlyCap::default(),
            shared,
            executions,
            decided: HashMap::new(),
            remediated: HashMap::new(),
            deploys: HashMap::new(),
            offsets: HashMap::new(),
            watermark: i64::MIN,
        }
    }

    fn handle(&mut self, msg: &InMessage, s: Signal, now_ms: i64, out: &mut Outputs) {
        self.watermark = self.watermark.max(s.at_ms);
        if s.kind == SignalKind::Deploy {
            let e = self
                .deploys
                .entry((s.project.clone(), s.service.clone()))
                .or_insert(s.at_ms);
            *e = (*e).max(s.at_ms);
            return;
        }
        let Some(incident) = self.grouper.add(&s).cloned() else {
            return;
        };
        let offsets = self
            .offsets
            .entry(incident.incident_id.clone())
            .or_default();
        offsets.entry(msg.partition_id()).or_insert(msg.offset);
        let last_deploy = self
            .deploys
            .get(&(incident.project.clone(), incident.service.clone()))
            .copied();
        let suggestions: Vec<Suggestion> = {
            let learner = self.shared.learner();
            suggest(
                &incident,
                last_deploy,
                self.cfg.deploy_window.as_millis() as i64,
            )
            .into_iter()
            .map(|mut x| {
                let (c, why) = learner.confidence(&incident.project, x.kind, x.confidence);
                x.confidence = c;
                x.reason = format!("{}; {why}", x.reason);
                x
            })
            .collect()
        };
        let mut suggestions = suggestions;
        suggestions.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
        let record = incident_record(&incident, &suggestions);
        out.store(TableRow::Incident(record.clone()));
        if incident.resolved_at_ms.is_none() {
            if let Some(d) = self.decide(&incident, &suggestions, &s, now_ms) {
                self.shared
                    .latest()
                    .insert(d.incident_id.clone(), d.clone());
                out.store(TableRow::Decision(d.clone()));
                if d.outcome == "pending" {
                    if let Some(sink) = self.executions.as_mut() {
                        sink(Execution {
                            decision: d,
                            incident: record,
                        });
                    }
                }
            }
        }
        for gone in self.grouper.expire(self.watermark) {
            self.offsets.remove(&gone);
            self.decided.remove(&gone);
            self.remediated.remove(&gone);
        }
    }

    /// A new decision when the incident is new or its severity or best action changed.
    fn decide(
        &mut self,
        i: &Incident,
        suggestions: &[Suggestion],
        s: &Signal,
        now_ms: i64,
    ) -> Option<DecisionRecord> {
        let best = suggestions.first()?;
        let decision_id = stable_id(&[&i.incident_id, i.severity.name(), best.kind]);
        if self.decided.get(&i.incident_id) == Some(&decision_id) {
            return None;
        }
        self.decided
            .insert(i.incident_id.clone(), decision_id.clone());
        let impact = self.cfg.impact(&i.project, &i.service);
        let limit = self.cfg.cap_for(&i.project);
        let inputs = Inputs {
            critical_service: self.cfg.is_critical_service(&i.project, &i.service),
            severity: i.severity,
            impact,
            action: best.kind,
            confidence: best.confidence,
            cap_available: self.cap.available(&i.project, now_ms, limit),
            repeated: self
                .remediated
                .get(&i.incident_id)
                .is_some_and(|done| done.contains(best.kind)),
        };
        let (verdict, row) = decide(&inputs, &self.thresholds);
        let (outcome, detail) = match verdict {
            Verdict::AutoRemediate => {
                self.cap.take(&i.project, now_ms, limit);
                self.remediated
                    .entry(i.incident_id.clone())
                    .or_default()
                    .insert(best.kind.to_string());
                if self.cfg.dry_run {
                    ("dry_run", "dry-run mode: nothing called".to_string())
                } else if self.cfg.runbook.is_none() {
                    ("skipped", "no runbook webhook configured".to_string())
                } else {
                    ("pending", String::new())
                }
            }
            _ => ("recorded", String::new()),
        };
        Some(DecisionRecord {
            decision_id,
            incident_id: i.incident_id.clone(),
            project: i.project.clone(),
            service: i.service.clone(),
            verdict: verdict.name().into(),
            action: best.kind.into(),
            confidence: best.confidence,
            severity: i.severity.name().into(),
            impact: impact.name().into(),
            reason: format!("matrix row {row}; {}", best.reason),
            dry_run: self.cfg.dry_run,
            outcome: outcome.into(),
            outcome_detail: detail,
            decided_at_ms: s.at_ms,
            updated_at_ms: s.at_ms,
        })
    }
}

/// The row of an incident.
pub fn incident_record(i: &Incident, suggestions: &[Suggestion]) -> IncidentRecord {
    IncidentRecord {
        incident_id: i.incident_id.clone(),
        project: i.project.clone(),
        service: i.service.clone(),
        fingerprint: i.key.clone(),
        title: i.title.clone(),
        severity: i.severity.name().into(),
        status: i.status().into(),
        alert_ids: i.alert_ids.clone(),
        sources: i.sources.iter().cloned().collect(),
        opened_at_ms: i.opened_at_ms,
        updated_at_ms: i.updated_at_ms,
        resolved_at_ms: i.resolved_at_ms,
        actions: suggestions
            .iter()
            .map(|s| (s.kind.to_string(), s.confidence, s.reason.clone()))
            .collect(),
    }
}

pub enum Input {
    Alert(Alert),
    Raw(RawLog),
    /// A `logs.raw` record that is not an Avro record (the scorer rejects what is invalid).
    Skip,
}

impl Processor for IncidentProcessor {
    type Input = Input;

    fn name(&self) -> &'static str {
        "incidents"
    }

    fn input_topics(&self) -> Vec<&'static str> {
        if self.cfg.external_sources.is_empty() {
            vec![ALERTS]
        } else {
            vec![ALERTS, LOGS_RAW]
        }
    }

    fn decode(&self, msg: &InMessage) -> Result<Input, String> {
        if msg.topic == ALERTS {
            return Alert::decode(&msg.payload)
                .map(Input::Alert)
                .map_err(|e| e.to_string());
        }
        // Vendor records are always Avro (written by the ingestor); anything else is the
        // scorer's to judge, so it is skipped here rather than dead-lettered twice.
        if !msg.payload.starts_with(&MAGIC) {
            return Ok(Input::Skip);
        }
        Ok(RawLog::decode(&msg.payload).map_or(Input::Skip, Input::Raw))
    }

    fn process(&mut self, msg: &InMessage, input: Input, now_ms: i64, out: &mut Outputs) {
        let signal = match input {
            Input::Alert(a) => Some(from_alert(&a)),
            Input::Raw(r) => from_raw(&r, &self.cfg.external_sources),
            Input::Skip => None,
        };
        if let Some(s) = signal {
            self.handle(msg, s, now_ms, out);
        }
    }

    /// `logs.raw` belongs to the scorer: its rejects (including oversized records) are
    /// dead-lettered there, not here.
    fn dead_letters(&self, topic: &str) -> bool {
        topic != LOGS_RAW
    }

    fn retained_offset(&self, p: &PartitionId) -> Option<i64> {
        self.offsets
            .values()
            .filter_map(|m| m.get(p))
            .min()
            .copied()
    }

    fn forget(&mut self, p: &PartitionId) {
        let ids: BTreeSet<String> = self
            .offsets
            .iter()
            .filter(|(_, m)| m.contains_key(p))
            .map(|(id, _)| id.clone())
            .collect();
        self.grouper.remove(&ids);
        self.offsets.retain(|id, _| !ids.contains(id));
        self.decided.retain(|id, _| !ids.contains(id));
        self.remediated.retain(|id, _| !ids.contains(id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloudsage_schemas::{AlertStatus, Severity};
    use std::sync::{Arc, Mutex};

    fn alert(service: &str, summary: &str, score: f64, at: i64) -> Alert {
        Alert {
            alert_id: format!("{service}-{at}"),
            fingerprint: stable_id(&["shop", service, "risk_threshold"]),
            project: "shop".into(),
            service: service.into(),
            rule: "risk_threshold".into(),
            status: AlertStatus::Firing,
            severity: Severity::Warning,
            summary: summary.into(),
            score,
            starts_at_ms: at,
            ends_at_ms: None,
            window_id: None,
            forecast_id: None,
            labels: Default::default(),
        }
    }

    fn msg(offset: i64) -> InMessage {
        InMessage {
            topic: ALERTS.into(),
            partition: 0,
            offset,
            key: None,
            payload: vec![],
            timestamp_ms: None,
        }
    }

    fn run(
        cfg: IncidentsConfig,
        alerts: &[Alert],
    ) -> (Vec<DecisionRecord>, Vec<Execution>, IncidentProcessor) {
        let calls = Arc::new(Mutex::new(vec![]));
        let c = calls.clone();
        let mut p = IncidentProcessor::new(
            &cfg,
            Shared::new(cfg.prior_strength),
            Some(Box::new(move |e| c.lock().unwrap().push(e))),
        );
        let mut out = Outputs::default();
        for (n, a) in alerts.iter().enumerate() {
            p.process(
                &msg(n as i64),
                Input::Alert(a.clone()),
                1_000 + n as i64,
                &mut out,
            );
        }
        let decisions = out
            .rows
            .iter()
            .filter_map(|r| match r {
                TableRow::Decision(d) => Some(d.clone()),
                _ => None,
            })
            .collect();
        let calls = calls.lock().unwrap().clone();
        (decisions, calls, p)
    }

    fn oom(service: &str, at: i64) -> Alert {
        alert(service, "memory pressure OOM", 75.0, at)
    }

    #[test]
    fn dry_run_is_the_default_and_calls_nothing() {
        let (d, calls, _) = run(IncidentsConfig::default(), &[oom("api", 0)]);
        assert_eq!(d.len(), 1);
        assert_eq!(
            (d[0].verdict.as_str(), d[0].outcome.as_str()),
            ("AUTO_REMEDIATE", "dry_run")
        );
        assert!(d[0].dry_run && calls.is_empty());
    }

    #[test]
    fn live_mode_hands_actions_over_up_to_the_hourly_cap() {
        let cfg = IncidentsConfig {
            dry_run: false,
            max_actions_per_hour: 2,
            runbook: Some(cloudsage_runtime::config::RunbookWebhook {
                url: cloudsage_runtime::config::Secret::new("http://127.0.0.1:1/"),
                timeout: std::time::Duration::from_secs(1),
            }),
            ..Default::default()
        };
        let alerts = [oom("a", 0), oom("b", 0), oom("c", 0)];
        let (d, calls, _) = run(cfg, &alerts);
        let verdicts: Vec<&str> = d.iter().map(|d| d.verdict.as_str()).collect();
        assert_eq!(
            verdicts,
            ["AUTO_REMEDIATE", "AUTO_REMEDIATE", "SCHEDULE_MAINTENANCE"]
        );
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0].decision.action, "restart_pods");
    }

    #[test]
    fn one_decision_per_change_and_critical_services_escalate() {
        let mut cfg = IncidentsConfig::default();
        cfg.projects.insert(
            "shop".into(),
            cloudsage_runtime::config::ProjectPolicy {
                critical_services: vec!["pay".into()],
                ..Default::default()
            },
        );
        let alerts = [
            oom("api", 0),
            oom("api", 60_000), // same severity and action: no new decision
            alert("api", "memory pressure OOM", 85.0, 120_000), // severity high: decide again
            oom("pay", 0),
        ];
        let (d, _, p) = run(cfg, &alerts);
        assert_eq!(d.len(), 3, "{d:?}");
        assert_eq!(d[0].incident_id, d[1].incident_id);
        assert_eq!(d[1].severity, "high");
        assert_eq!(
            (d[0].verdict.as_str(), d[1].verdict.as_str()),
            ("AUTO_REMEDIATE", "ESCALATE_HUMAN"),
            "worse after an automatic action: a person"
        );
        assert_eq!(d[2].verdict, "ESCALATE_HUMAN");
        assert_eq!(p.retained_offset(&msg(0).partition_id()), Some(0));
    }
}
