//! Everything the forecaster keeps about one (project, service): its history and its
//! backtest, and what happens when its next window arrives (pure).

use crate::backtest::Backtest;
use crate::forecast::make_forecast;
use crate::history::{History, HOUR_MS};
use cloudsage_schemas::{Forecast, ScoredWindow};

/// Settings shared by all series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    pub horizon_hours: u32,
    pub history_windows: usize,
    pub history_hours: usize,
    pub backtest_checks: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    history: History,
    backtest: Backtest,
    horizon_hours: u32,
}

impl Series {
    /// Backtests the 1 h-ahead point and the horizon point.
    pub fn new(s: &Settings) -> Self {
        Self {
            history: History::new(s.history_windows, s.history_hours),
            backtest: Backtest::new(
                &[HOUR_MS, i64::from(s.horizon_hours) * HOUR_MS],
                s.backtest_checks,
            ),
            horizon_hours: s.horizon_hours,
        }
    }

    /// Takes the window read at input `offset`: checks earlier forecasts against it, then
    /// forecasts from it. `None` for a window that was not newer than the last one.
    pub fn observe(&mut self, offset: i64, w: ScoredWindow) -> Option<Forecast> {
        let (start, end, score) = (w.window_start_ms, w.window_end_ms, w.score);
        if !self.history.push(offset, w) {
            return None;
        }
        self.backtest.observe(start, end, score.clamp(0.0, 100.0));
        let (forecast, fitted) =
            make_forecast(&self.history, &self.backtest.errors(), self.horizon_hours)?;
        let needs = self.history.first_offset().unwrap_or(offset);
        self.backtest
            .file(start, end, needs, |lead| fitted.predict(lead).value);
        Some(forecast)
    }

    /// The lowest input offset a replay must start from to rebuild this series exactly.
    pub fn needs_offset(&self) -> Option<i64> {
        let h = self.history.first_offset();
        h.into_iter().chain(self.backtest.needs_offset()).min()
    }

    pub fn backtest(&self) -> &Backtest {
        &self.backtest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Settings = Settings {
        horizon_hours: 2,
        history_windows: 30,
        history_hours: 72,
        backtest_checks: 10,
    };

    fn w(i: i64, score: f64) -> ScoredWindow {
        ScoredWindow {
            window_id: format!("w{i}"),
            project: "p".into(),
            service: "api".into(),
            window_start_ms: i * 60_000,
            window_end_ms: (i + 1) * 60_000,
            score,
            factors: vec![],
            labels: vec![],
            top_factors: vec![],
            event_count: 1,
            error_count: 0,
            warn_count: 0,
            late_count: 0,
        }
    }

    #[test]
    fn a_constant_series_backtests_to_zero_error_and_says_so() {
        let mut s = Series::new(&S);
        let mut last = None;
        for i in 0..200 {
            last = s.observe(i, w(i, 30.0));
        }
        let e = s.backtest().errors();
        assert_eq!((e[0].comparisons, e[1].comparisons), (10, 10));
        assert_eq!((e[0].mae, e[1].mae), (Some(0.0), Some(0.0)));
        let f = last.unwrap();
        assert!(f.chain_steps[2]
            .detail
            .contains("MAE 2 h ahead 0.00 over 10 checks"));
        // All 4 hours are kept, so everything back to the first window is needed.
        assert_eq!(s.needs_offset(), Some(0));
    }

    #[test]
    fn checked_forecasts_pin_the_history_they_were_made_from() {
        let mut s = Series::new(&Settings {
            history_hours: 1,
            ..S
        });
        for i in 0..200 {
            s.observe(i, w(i, 30.0));
        }
        // The oldest kept check is the 2 h forecast made at minute 61 (from windows 32..61);
        // the current history alone would only need minute 170.
        assert_eq!(s.needs_offset(), Some(32));
    }

    #[test]
    fn duplicates_are_not_forecast_twice() {
        let mut s = Series::new(&S);
        assert!(s.observe(0, w(0, 10.0)).is_some());
        assert!(s.observe(1, w(0, 10.0)).is_none());
    }
}
