//! Which model a series' history supports, and what a lead time means in that model's steps.
//!
//! Until the history holds two full days, the series is modelled at its window cadence with
//! damped Holt (no season: one day of data cannot tell a daily pattern from a trend). From
//! two full days of hourly means on (48 complete hours plus the one filling), the hourly
//! series is modelled with additive Holt-Winters, season 24 h.

use crate::history::{History, HOUR_MS};
use crate::model::{self, Model, Prediction};

/// Hours in the daily season.
pub const DAY_HOURS: usize = 24;
/// Hourly means needed before the seasonal model is used.
pub const SEASONAL_MIN_HOURS: usize = 2 * DAY_HOURS + 1;

/// A model fitted to a series, with the step it was fitted at.
#[derive(Debug, Clone, PartialEq)]
pub struct Fitted {
    pub model: Model,
    /// Milliseconds per model step: the window cadence, or one hour.
    pub step_ms: i64,
    /// End of the newest window.
    pub latest_end_ms: i64,
}

/// Fits the model the history supports. `None` for an empty history.
pub fn fit(history: &History) -> Option<Fitted> {
    let latest = history.latest()?;
    let hourly = history.hourly_means();
    let (model, step_ms) = if hourly.len() >= SEASONAL_MIN_HOURS {
        (model::fit(&hourly, Some(DAY_HOURS))?, HOUR_MS)
    } else {
        let cadence = (latest.window_end_ms - latest.window_start_ms).max(1);
        (model::fit(&history.window_scores(), None)?, cadence)
    };
    Some(Fitted {
        model,
        step_ms,
        latest_end_ms: latest.window_end_ms,
    })
}

impl Fitted {
    pub fn seasonal(&self) -> bool {
        self.model.season.is_some()
    }

    /// Steps from the last observation to `lead_ms` after the newest window's end. Hourly
    /// steps count clock hours: the newest mean is the hour the newest window started in.
    pub fn steps(&self, lead_ms: i64) -> usize {
        let steps = if self.seasonal() {
            let now_hour = (self.latest_end_ms - 1).div_euclid(HOUR_MS);
            let target_hour = (self.latest_end_ms + lead_ms - 1).div_euclid(HOUR_MS);
            target_hour - now_hour
        } else {
            (lead_ms + self.step_ms - 1) / self.step_ms
        };
        steps.max(1) as usize
    }

    pub fn predict(&self, lead_ms: i64) -> Prediction {
        self.model.predict(self.steps(lead_ms))
    }

    /// The fitted trend in points per hour.
    pub fn trend_per_hour(&self) -> f64 {
        self.model.trend_per_step() * HOUR_MS as f64 / self.step_ms as f64
    }

    /// One line for people: which model, on what, with which parameters.
    pub fn describe(&self) -> String {
        let p = self.model.params;
        let what = if self.seasonal() {
            format!(
                "Holt-Winters ETS(A,Ad,A), daily season, on {} hourly means",
                self.model.points
            )
        } else {
            format!(
                "damped Holt ETS(A,Ad,N) on the last {} windows ({} s each)",
                self.model.points,
                self.step_ms / 1000
            )
        };
        let gamma = if self.seasonal() {
            format!(" γ={:.2}", p.gamma)
        } else {
            String::new()
        };
        let sd = if self.model.sigma_from_data {
            format!("one-step residual sd {:.2}", self.model.sigma)
        } else {
            format!(
                "residual sd assumed {:.0} (too few values)",
                self.model.sigma
            )
        };
        format!(
            "{what}: α={:.2} β={:.3} φ={:.2}{gamma} (least one-step SSE on a fixed grid), \
             trend {:+.2} points/h, {sd}",
            p.alpha,
            p.beta,
            p.phi,
            self.trend_per_hour()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloudsage_schemas::ScoredWindow;

    fn w(start_min: i64, minutes: i64, score: f64) -> ScoredWindow {
        ScoredWindow {
            window_id: format!("w{start_min}"),
            project: "p".into(),
            service: "api".into(),
            window_start_ms: start_min * 60_000,
            window_end_ms: (start_min + minutes) * 60_000,
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
    fn short_histories_use_windows_and_two_days_switch_to_the_season() {
        let mut h = History::new(30, 72);
        for i in 0..48 {
            h.push(i, w(i * 60, 60, 20.0));
        }
        let f = fit(&h).unwrap();
        assert!(!f.seasonal());
        assert_eq!(f.step_ms, HOUR_MS);
        assert_eq!(f.model.points, 30);
        h.push(48, w(48 * 60, 60, 20.0));
        let f = fit(&h).unwrap();
        assert!(f.seasonal());
        assert_eq!(f.model.points, 49);
        assert!(f.describe().contains("Holt-Winters"));
        assert!(fit(&History::new(3, 3)).is_none());
    }

    #[test]
    fn lead_times_become_steps() {
        let mut h = History::new(30, 72);
        for i in 0..10 {
            h.push(i, w(i, 1, 10.0 + i as f64));
        }
        let f = fit(&h).unwrap();
        assert_eq!(f.steps(HOUR_MS), 60);
        assert_eq!(f.steps(1), 1);
        assert!(
            (f.trend_per_hour() - 60.0).abs() < 6.0,
            "{}",
            f.trend_per_hour()
        );
        let seasonal = Fitted {
            model: model::fit(&[1.0; 60], Some(DAY_HOURS)).unwrap(),
            step_ms: HOUR_MS,
            latest_end_ms: 10 * HOUR_MS,
        };
        // The newest mean is hour 9 (the window ending at 10:00); 1 h ahead is hour 10.
        assert_eq!(seasonal.steps(HOUR_MS), 1);
        assert_eq!(seasonal.steps(24 * HOUR_MS), 24);
        assert_eq!(seasonal.steps(60_000), 1);
    }
}
