//! The forecaster's adapter: keeps each series' state and forecasts after each window.
//!
//! State survives restarts by replay, not by checkpoint: the runtime commits the lowest input
//! offset any series still needs ([`Series::needs_offset`]: its kept windows, its hourly
//! means, and the history behind every forecast its backtest still holds), and a new owner
//! replays from there. Everything a series keeps is a function of the windows alone, so the
//! replay rebuilds it exactly and the first forecasts after a restart equal those an
//! uninterrupted forecaster would have made. The price is a replay of up to
//! `history_hours` + the horizon of input after a restart; the state itself is too large for
//! Kafka's commit metadata (4 KiB by default).
//!
//! Feedback (topic `feedback`, the second input) is the opposite: its state is small (per
//! project, two counters per known action kind and at most
//! [`MAX_IGNORES`](crate::feedback::MAX_IGNORES) ignore rules) but is built from records that
//! may be months old, so it survives restarts by checkpoint, not by replay. The runtime
//! commits each `feedback` partition right after the last record handled, with that
//! partition's [`Learning`] as the checkpoint (in the commit metadata, or ClickHouse's
//! `stage_checkpoints` for brokers that drop metadata), and restores it when the partition is
//! assigned, before any record is handled: the first forecast after a restart already ranks
//! with everything learned, and the topic's retention does not matter. Offset and checkpoint
//! are committed together, so a commit that fails (e.g. metadata over the broker's
//! `offset.metadata.max.bytes` with very many projects in one partition) leaves the previous
//! consistent pair and the feedback after it is replayed. With several forecaster instances,
//! a project's feedback is learned by the instance that owns its `feedback` partition (the
//! record key is the project) and applied to the series that instance owns.

use crate::enrich::{Handoff, WindowContext};
use crate::feedback::{self, Learning, ProjectLearning};
use crate::series::{Series, Settings};
use cloudsage_runtime::config::ForecasterConfig;
use cloudsage_runtime::{InMessage, Outputs, PartitionId, Processor, TableRow};
use cloudsage_schemas::topics::{FEEDBACK, FORECASTS, WINDOWS_SCORED};
use cloudsage_schemas::{Feedback, Message as _, ScoredWindow};
use std::collections::HashMap;

pub struct ForecasterProcessor {
    settings: Settings,
    /// Per input partition, per (project, service).
    series: HashMap<PartitionId, HashMap<(String, String), Series>>,
    /// Per `feedback` partition: what the projects taught.
    learning: HashMap<PartitionId, Learning>,
    /// The rule table's action kinds (the only ones feedback is counted for).
    known_kinds: Vec<&'static str>,
    /// Optional LLM enrichment: forecasts are also offered here (never waited on).
    enrich: Option<Handoff>,
}

impl ForecasterProcessor {
    pub fn new(c: &ForecasterConfig) -> Self {
        Self {
            settings: Settings {
                horizon_hours: c.horizon_hours.clamp(1, 72),
                history_windows: c.history_windows.max(2),
                history_hours: c.history_hours.min(ForecasterConfig::MAX_HISTORY_HOURS) as usize,
                backtest_checks: c.backtest_checks.max(1),
            },
            series: HashMap::new(),
            learning: HashMap::new(),
            known_kinds: crate::actions::kinds(),
            enrich: None,
        }
    }

    /// Also offers each forecast to the LLM enrichment task (see [`crate::enrich`]).
    pub fn with_enrichment(mut self, handoff: Handoff) -> Self {
        self.enrich = Some(handoff);
        self
    }
}

/// A record of either input topic.
#[derive(Debug, Clone, PartialEq)]
pub enum ForecasterInput {
    Window(ScoredWindow),
    Feedback(Feedback),
}

impl ForecasterProcessor {
    /// What `project` taught, over every `feedback` partition held (normally one).
    pub fn learned(&self, project: &str) -> Option<ProjectLearning> {
        let mut found = self
            .learning
            .values()
            .filter_map(|l| l.projects.get(project));
        let mut merged = found.next()?.clone();
        found.for_each(|other| merged.merge(other));
        Some(merged)
    }

    fn learn(&mut self, msg: &InMessage, f: Feedback, out: &mut Outputs) {
        self.learning
            .entry(msg.partition_id())
            .or_default()
            .learn(&f, &self.known_kinds);
        out.store(TableRow::Feedback(f));
    }
}

impl Processor for ForecasterProcessor {
    type Input = ForecasterInput;

    fn name(&self) -> &'static str {
        "forecaster"
    }

    fn input_topics(&self) -> Vec<&'static str> {
        vec![WINDOWS_SCORED, FEEDBACK]
    }

    fn decode(&self, msg: &InMessage) -> Result<ForecasterInput, String> {
        if msg.topic == FEEDBACK {
            let f = Feedback::decode(&msg.payload).map_err(|e| e.to_string())?;
            f.validate()?;
            return Ok(ForecasterInput::Feedback(f));
        }
        ScoredWindow::decode(&msg.payload)
            .map(ForecasterInput::Window)
            .map_err(|e| e.to_string())
    }

    fn process(&mut self, msg: &InMessage, input: ForecasterInput, now_ms: i64, out: &mut Outputs) {
        let w = match input {
            ForecasterInput::Window(w) => w,
            ForecasterInput::Feedback(f) => return self.learn(msg, f, out),
        };
        let learned = self.learned(&w.project);
        let window = learned.as_ref().map(|_| w.clone());
        let settings = self.settings;
        let series = self
            .series
            .entry(msg.partition_id())
            .or_default()
            .entry((w.project.clone(), w.service.clone()))
            .or_insert_with(|| Series::new(&settings));
        let context = self.enrich.as_ref().map(|_| WindowContext::of(&w));
        if let Some(mut f) = series.observe(msg.offset, w) {
            if let Some(window) = &window {
                feedback::apply(&mut f, window, learned.as_ref());
            }
            if let (Some(handoff), Some(context)) = (&self.enrich, context) {
                handoff.offer(&f, context, now_ms);
            }
            out.publish(
                FORECASTS,
                format!("{}/{}", f.project, f.service),
                f.encode(),
            );
            out.store(TableRow::Forecast(f));
        }
    }

    fn retained_offset(&self, p: &PartitionId) -> Option<i64> {
        self.series
            .get(p)?
            .values()
            .filter_map(Series::needs_offset)
            .min()
    }

    fn checkpoint(&self, p: &PartitionId) -> Option<String> {
        (p.topic == FEEDBACK).then(|| {
            self.learning
                .get(p)
                .map(Learning::to_checkpoint)
                .unwrap_or_else(|| Learning::default().to_checkpoint())
        })
    }

    fn restore(&mut self, p: &PartitionId, checkpoint: &str) {
        if p.topic != FEEDBACK {
            return;
        }
        match Learning::from_checkpoint(checkpoint) {
            Ok(l) => {
                self.learning.insert(p.clone(), l);
            }
            // Nothing better to do than to start over; the audit trail keeps every feedback.
            Err(e) => tracing::warn!(partition = p.partition, error = %e, "feedback state lost"),
        }
    }

    fn forget(&mut self, p: &PartitionId) {
        self.series.remove(p);
        self.learning.remove(p);
    }
}
