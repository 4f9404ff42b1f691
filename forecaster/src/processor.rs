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

use crate::series::{Series, Settings};
use cloudsage_runtime::config::ForecasterConfig;
use cloudsage_runtime::{InMessage, Outputs, PartitionId, Processor, TableRow};
use cloudsage_schemas::topics::{FORECASTS, WINDOWS_SCORED};
use cloudsage_schemas::{Message as _, ScoredWindow};
use std::collections::HashMap;

pub struct ForecasterProcessor {
    settings: Settings,
    /// Per input partition, per (project, service).
    series: HashMap<PartitionId, HashMap<(String, String), Series>>,
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
        }
    }
}

impl Processor for ForecasterProcessor {
    type Input = ScoredWindow;

    fn name(&self) -> &'static str {
        "forecaster"
    }

    fn input_topics(&self) -> Vec<&'static str> {
        vec![WINDOWS_SCORED]
    }

    fn decode(&self, msg: &InMessage) -> Result<ScoredWindow, String> {
        ScoredWindow::decode(&msg.payload).map_err(|e| e.to_string())
    }

    fn process(&mut self, msg: &InMessage, w: ScoredWindow, _now_ms: i64, out: &mut Outputs) {
        let settings = self.settings;
        let series = self
            .series
            .entry(msg.partition_id())
            .or_default()
            .entry((w.project.clone(), w.service.clone()))
            .or_insert_with(|| Series::new(&settings));
        if let Some(f) = series.observe(msg.offset, w) {
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

    fn forget(&mut self, p: &PartitionId) {
        self.series.remove(p);
    }
}
