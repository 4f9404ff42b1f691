//! Rule evaluation adapter: windows and forecasts in, alert state changes out (to `alerts`
//! and ClickHouse `alerts`). The decisions are [`crate::rules`]'; this keeps their states.
//!
//! Recovery: each pending or firing state remembers the offset of the record where its
//! condition started holding (a `windows.scored` record for window rules, a `forecasts`
//! record for forecast rules), and [`Processor::retained_offset`] keeps each input
//! partition's committed offset at the earliest of them. After a restart the runtime replays
//! from there, which rebuilds every pending and firing state (outputs already published
//! are suppressed), so `for` clocks and firing alerts survive restarts.

use crate::rules::alert::{self, SeriesFacts};
use crate::rules::state::{step, RuleState};
use crate::rules::{build_rules, Input, Rule};
use cloudsage_runtime::config::NotifierConfig;
use cloudsage_runtime::{InMessage, Outputs, PartitionId, Processor, TableRow};
use cloudsage_schemas::topics::{ALERTS, FORECASTS, WINDOWS_SCORED};
use cloudsage_schemas::{Forecast, Message as _, ScoredWindow};
use std::collections::HashMap;
use std::time::Duration;

pub enum Signal {
    Window(ScoredWindow),
    Forecast(Forecast),
}

type Series = (String, String);

/// A rule's state on a series, and the offset of the record it started at.
struct Tracked {
    state: RuleState,
    offset: i64,
}

pub struct EvaluatorProcessor {
    rules: Vec<Rule>,
    /// Event time a forecast stands for (one scorer window).
    window_ms: i64,
    /// Per input partition: (rule name, series) → state. A series' records are all on one
    /// partition of each topic (the key is `project/service`).
    states: HashMap<PartitionId, HashMap<(String, Series), Tracked>>,
    /// Per series: the latest window's and forecast's facts, shown with every alert. Not
    /// rebuilt after a restart beyond what the replay brings back.
    facts: HashMap<Series, SeriesFacts>,
}

impl EvaluatorProcessor {
    /// The evaluator for `c`'s rules; `window` is the scorer's window length (the default
    /// `resolve_after` and the event time a forecast stands for). Fails on an invalid rule.
    pub fn new(c: &NotifierConfig, window: Duration) -> anyhow::Result<Self> {
        Ok(Self {
            rules: build_rules(c, window)?,
            window_ms: i64::try_from(window.as_millis()).unwrap_or(i64::MAX),
            states: HashMap::new(),
            facts: HashMap::new(),
        })
    }
}

impl Processor for EvaluatorProcessor {
    type Input = Signal;

    fn name(&self) -> &'static str {
        "notifier"
    }

    fn input_topics(&self) -> Vec<&'static str> {
        vec![WINDOWS_SCORED, FORECASTS]
    }

    fn decode(&self, msg: &InMessage) -> Result<Signal, String> {
        let r = if msg.topic == FORECASTS {
            Forecast::decode(&msg.payload).map(Signal::Forecast)
        } else {
            ScoredWindow::decode(&msg.payload).map(Signal::Window)
        };
        r.map_err(|e| e.to_string())
    }

    fn process(&mut self, msg: &InMessage, input: Signal, _now_ms: i64, out: &mut Outputs) {
        let series = match &input {
            Signal::Window(w) => (w.project.clone(), w.service.clone()),
            Signal::Forecast(f) => (f.project.clone(), f.service.clone()),
        };
        let facts = self.facts.entry(series.clone()).or_default();
        match &input {
            Signal::Window(w) => {
                facts.window_id = Some(w.window_id.clone());
                facts.top_factors = w.top_factors.clone();
            }
            Signal::Forecast(f) => facts.forecast = Some(f.clone()),
        }
        let facts = &*facts;
        let observed = match &input {
            Signal::Window(w) => Input::Window(w),
            Signal::Forecast(f) => Input::Forecast(f),
        };
        let states = self.states.entry(msg.partition_id()).or_default();
        for rule in &self.rules {
            let Some(eval) = rule.observe(observed, self.window_ms) else {
                continue;
            };
            let key = (rule.name.clone(), series.clone());
            let current = states.get(&key).map(|t| t.state);
            let (transitions, next) = step(current, &eval.observation, &rule.timing());
            match next {
                Some(state) => {
                    // Keep the offset while the condition's run continues; a new run
                    // (e.g. after a gap) starts at this record.
                    let same_run = states
                        .get(&key)
                        .is_some_and(|t| since(t.state) == since(state));
                    let offset = match states.get(&key) {
                        Some(t) if same_run => t.offset,
                        _ => msg.offset,
                    };
                    states.insert(key, Tracked { state, offset });
                }
                None => {
                    states.remove(&key);
                }
            }
            for t in transitions {
                let a = alert::build(rule, &series.0, &series.1, t, &eval, facts);
                out.publish(ALERTS, a.fingerprint.clone(), a.encode());
                out.store(TableRow::Alert(a));
            }
        }
    }

    fn retained_offset(&self, p: &PartitionId) -> Option<i64> {
        self.states.get(p)?.values().map(|t| t.offset).min()
    }

    fn forget(&mut self, p: &PartitionId) {
        self.states.remove(p);
    }
}

fn since(s: RuleState) -> i64 {
    match s {
        RuleState::Pending { since_ms, .. } | RuleState::Firing { since_ms, .. } => since_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloudsage_runtime::Config;
    use cloudsage_schemas::{Alert, AlertStatus};

    fn window(n: i64, score: f64) -> ScoredWindow {
        ScoredWindow {
            window_id: format!("w{n}"),
            project: "shop".into(),
            service: "api".into(),
            window_start_ms: n * 60_000,
            window_end_ms: (n + 1) * 60_000,
            score,
            factors: vec![],
            labels: vec![],
            top_factors: vec!["error_rate=30.0% (+40)".into()],
            event_count: 1,
            error_count: 1,
            warn_count: 0,
            late_count: 0,
        }
    }

    fn msg(topic: &str, offset: i64, payload: Vec<u8>) -> InMessage {
        InMessage {
            topic: topic.into(),
            partition: 0,
            offset,
            key: None,
            payload,
            timestamp_ms: None,
        }
    }

    fn feed(p: &mut EvaluatorProcessor, topic: &str, offset: i64, payload: Vec<u8>) -> Vec<Alert> {
        let m = msg(topic, offset, payload);
        let input = p.decode(&m).unwrap();
        let mut out = Outputs::default();
        p.process(&m, input, 0, &mut out);
        out.records
            .iter()
            .map(|r| Alert::decode(&r.payload).unwrap())
            .collect()
    }

    fn evaluator(toml: &str) -> EvaluatorProcessor {
        let c = Config::from_toml(toml).unwrap();
        EvaluatorProcessor::new(&c.notifier, c.scorer.window).unwrap()
    }

    fn windows_partition() -> PartitionId {
        PartitionId {
            topic: WINDOWS_SCORED.into(),
            partition: 0,
        }
    }

    #[test]
    fn pending_and_firing_states_retain_the_offset_where_the_condition_started() {
        let mut p = evaluator(
            "[[notifier.rules]]\nname = \"hot\"\nkind = \"risk_threshold\"\nthreshold = 70\nfor = \"2m\"\n",
        );
        assert!(feed(&mut p, WINDOWS_SCORED, 10, window(0, 20.0).encode()).is_empty());
        assert_eq!(p.retained_offset(&windows_partition()), None);
        assert!(feed(&mut p, WINDOWS_SCORED, 11, window(1, 80.0).encode()).is_empty());
        assert_eq!(p.retained_offset(&windows_partition()), Some(11), "pending");
        let fired = feed(&mut p, WINDOWS_SCORED, 12, window(2, 85.0).encode());
        assert_eq!(fired.len(), 1);
        assert_eq!(fired[0].starts_at_ms, 60_000);
        assert_eq!(p.retained_offset(&windows_partition()), Some(11), "firing");
        let resolved = feed(&mut p, WINDOWS_SCORED, 13, window(3, 10.0).encode());
        assert_eq!(resolved[0].status, AlertStatus::Resolved);
        assert_eq!(p.retained_offset(&windows_partition()), None);
    }

    #[test]
    fn a_replay_from_the_retained_offset_rebuilds_the_same_alerts() {
        let toml = "[[notifier.rules]]\nname = \"hot\"\nkind = \"risk_threshold\"\nfor = \"2m\"\n";
        let scores = [20.0, 80.0, 85.0, 90.0, 10.0];
        let mut first = evaluator(toml);
        let mut all = Vec::new();
        for (i, s) in scores.iter().enumerate() {
            all.extend(feed(
                &mut first,
                WINDOWS_SCORED,
                i as i64,
                window(i as i64, *s).encode(),
            ));
            if i == 3 {
                // A restart after the alert fired: replay from the committed offset.
                let from = first.retained_offset(&windows_partition()).unwrap();
                let mut second = evaluator(toml);
                let mut replayed = Vec::new();
                for (j, s) in scores.iter().enumerate().skip(from as usize) {
                    replayed.extend(feed(
                        &mut second,
                        WINDOWS_SCORED,
                        j as i64,
                        window(j as i64, *s).encode(),
                    ));
                }
                let resolved_after_restart = replayed.last().unwrap();
                assert_eq!(resolved_after_restart.status, AlertStatus::Resolved);
                assert_eq!(replayed[0].alert_id, all[0].alert_id, "same firing alert");
            }
        }
        assert_eq!(all.len(), 2);
    }

    #[test]
    fn forecast_rules_retain_forecasts_offsets_and_alerts_carry_the_latest_forecast() {
        let mut p = evaluator(
            "[[notifier.rules]]\nname = \"breach\"\nkind = \"forecast_breach\"\nthreshold = 80\n",
        );
        let mut f = crate::rules::forecast::sample(60_000, 85.0, "critical_incident_response");
        feed(&mut p, WINDOWS_SCORED, 0, window(0, 30.0).encode());
        let fired = feed(&mut p, FORECASTS, 5, f.encode());
        assert_eq!(fired.len(), 1);
        let a = &fired[0];
        assert_eq!(a.rule, "breach");
        assert_eq!(a.fingerprint, alert::fingerprint("shop", "api", "breach"));
        assert_eq!(
            a.starts_at_ms, 0,
            "the forecast stands for the window before it"
        );
        assert_eq!(a.window_id.as_deref(), Some("w0"));
        assert_eq!(crate::payload::actions(a).len(), 3);
        assert_eq!(crate::payload::top_factors(a), ["error_rate=30.0% (+40)"]);
        let forecasts = PartitionId {
            topic: FORECASTS.into(),
            partition: 0,
        };
        assert_eq!(p.retained_offset(&forecasts), Some(5));
        assert_eq!(p.retained_offset(&windows_partition()), None);
        f.generated_at_ms = 120_000;
        f.predicted_score = 40.0;
        let resolved = feed(&mut p, FORECASTS, 6, f.encode());
        assert_eq!(resolved[0].status, AlertStatus::Resolved);
        assert_eq!(p.retained_offset(&forecasts), None);
        p.forget(&forecasts);
    }
}
