//! Rule evaluation adapter: windows and forecasts in, alert state changes out (to `alerts`
//! and ClickHouse `alerts`). Firing state is rebuilt after a restart by replaying from the
//! window that started each firing alert (the runtime commits that offset).

use crate::rules::{evaluate, Firing};
use cloudsage_runtime::config::NotifierConfig;
use cloudsage_runtime::{InMessage, Outputs, PartitionId, Processor, TableRow};
use cloudsage_schemas::topics::{ALERTS, FORECASTS, WINDOWS_SCORED};
use cloudsage_schemas::{Forecast, Message as _, ScoredWindow};
use std::collections::{BTreeMap, HashMap};

pub enum Signal {
    Window(ScoredWindow),
    Forecast(Forecast),
}

type Series = (String, String);

pub struct EvaluatorProcessor {
    threshold: f64,
    project_thresholds: BTreeMap<String, f64>,
    /// Per `windows.scored` partition: firing alerts and the offset of the window that fired.
    firing: HashMap<PartitionId, HashMap<Series, (Firing, i64)>>,
    latest_forecast: HashMap<Series, String>,
}

impl EvaluatorProcessor {
    pub fn new(c: &NotifierConfig) -> Self {
        Self {
            threshold: c.threshold,
            project_thresholds: c.project_thresholds.clone(),
            firing: HashMap::new(),
            latest_forecast: HashMap::new(),
        }
    }

    fn threshold_for(&self, project: &str) -> f64 {
        self.project_thresholds
            .get(project)
            .copied()
            .unwrap_or(self.threshold)
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
        let w = match input {
            Signal::Forecast(f) => {
                self.latest_forecast
                    .insert((f.project, f.service), f.forecast_id);
                return;
            }
            Signal::Window(w) => w,
        };
        let series = (w.project.clone(), w.service.clone());
        let threshold = self.threshold_for(&w.project);
        let forecast = self.latest_forecast.get(&series).map(String::as_str);
        let states = self.firing.entry(msg.partition_id()).or_default();
        let current = states.get(&series).map(|(f, _)| f);
        let (alert, next) = evaluate(&w, threshold, current, forecast);
        match next {
            Some(f) => {
                let offset = states.get(&series).map_or(msg.offset, |(_, o)| *o);
                states.insert(series, (f, offset));
            }
            None => {
                states.remove(&series);
            }
        }
        if let Some(a) = alert {
            out.publish(ALERTS, a.fingerprint.clone(), a.encode());
            out.store(TableRow::Alert(a));
        }
    }

    fn retained_offset(&self, p: &PartitionId) -> Option<i64> {
        self.firing.get(p)?.values().map(|(_, o)| *o).min()
    }

    fn forget(&mut self, p: &PartitionId) {
        self.firing.remove(p);
    }
}
