//! `[forecaster]`: forecasts and actions.

use serde::Deserialize;

/// `[forecaster]`.
///
/// Each series is forecast with damped Holt exponential smoothing on its recent windows
/// until `history_hours` holds two full days, then with Holt-Winters (additive daily season)
/// on hourly means. After a restart the forecaster replays its input from the oldest window
/// it still needs, up to `history_hours` plus `horizon_hours` back, so topic retention
/// should be longer than that.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ForecasterConfig {
    /// How far ahead to forecast, in hours (1-72).
    pub horizon_hours: u32,
    /// How many recent windows per series the short-term model (used until two days of
    /// history exist) is fitted on.
    pub history_windows: usize,
    /// How many hours of hourly mean scores to keep per series (at most 336). The daily
    /// season is modelled once 49 of them exist (two full days and the current hour), so
    /// values below 49 turn the seasonal model off; more hours give the season more cycles
    /// to learn from but a longer replay after a restart.
    pub history_hours: u32,
    /// How many recent checks of past forecasts against actual scores the reported
    /// backtest MAE averages, per lead time (1 h ahead and the horizon).
    pub backtest_checks: usize,
    /// Optional enrichment of forecasts by a language model (see [`super::LlmConfig`]).
    pub llm: super::LlmConfig,
}

impl ForecasterConfig {
    /// The most `history_hours` allowed (two weeks).
    pub const MAX_HISTORY_HOURS: u32 = 336;
}

impl Default for ForecasterConfig {
    fn default() -> Self {
        Self {
            horizon_hours: 24,
            history_windows: 30,
            history_hours: 72,
            backtest_checks: 60,
            llm: super::LlmConfig::default(),
        }
    }
}
