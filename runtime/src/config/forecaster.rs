//! `[forecaster]`: forecasts and actions.

use serde::Deserialize;

/// `[forecaster]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ForecasterConfig {
    /// How far ahead to forecast, in hours (1-72).
    pub horizon_hours: u32,
    /// How many recent windows per series the trend is fitted on.
    pub history_windows: usize,
}

impl Default for ForecasterConfig {
    fn default() -> Self {
        Self {
            horizon_hours: 24,
            history_windows: 30,
        }
    }
}
