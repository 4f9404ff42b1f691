//! The forecaster's adapter: keeps each series' recent windows and forecasts after each one.
//! State is rebuilt after a restart by replaying the retained windows (the runtime commits
//! the offset of the oldest window still kept).

use crate::forecast::make_forecast;
use cloudsage_runtime::config::ForecasterConfig;
use cloudsage_runtime::{InMessage, Outputs, PartitionId, Processor, TableRow};
use cloudsage_schemas::topics::{FORECASTS, WINDOWS_SCORED};
use cloudsage_schemas::{Message as _, ScoredWindow};
use std::collections::{HashMap, VecDeque};

/// A series' recent windows, each with the input offset it came from, oldest first.
type History = VecDeque<(i64, ScoredWindow)>;

pub struct ForecasterProcessor {
    horizon_hours: u32,
    history_windows: usize,
    /// Per input partition, per series: recent windows with the offsets they came from.
    series: HashMap<PartitionId, HashMap<(String, String), History>>,
}

impl ForecasterProcessor {
    pub fn new(c: &ForecasterConfig) -> Self {
        Self {
            horizon_hours: c.horizon_hours.clamp(1, 72),
            history_windows: c.history_windows.max(2),
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
        let history = self
            .series
            .entry(msg.partition_id())
            .or_default()
            .entry((w.project.clone(), w.service.clone()))
            .or_default();
        // A replayed window already in history (same id) is not counted twice.
        if history.iter().any(|(_, h)| h.window_id == w.window_id) {
            return;
        }
        history.push_back((msg.offset, w));
        while history.len() > self.history_windows {
            history.pop_front();
        }
        let windows: Vec<ScoredWindow> = history.iter().map(|(_, w)| w.clone()).collect();
        if let Some(f) = make_forecast(&windows, self.horizon_hours) {
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
            .filter_map(|h| h.front().map(|(o, _)| *o))
            .min()
    }

    fn forget(&mut self, p: &PartitionId) {
        self.series.remove(p);
    }
}
