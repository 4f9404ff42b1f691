//! A series' learned normal: exponentially weighted mean and variance of each factor over
//! its recent windows, and the templates it has shown. Updated when a window closes (after
//! that window was scored against it), kept in the scorer's checkpoint so a restart or a
//! rebalance does not forget it. Compact on purpose: 100k series must fit in memory.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Windows the baseline roughly remembers: the EW weight is `2 / (SPAN + 1)`, the usual
/// "span" convention, so the last 30 windows carry ~86 % of the weight.
pub const SPAN: f64 = 30.0;
/// Windows a series must have closed before its baseline is trusted.
pub const WARMUP_WINDOWS: u32 = 5;
/// Templates remembered per series (least recently seen forgotten first).
pub const MAX_KNOWN_TEMPLATES: usize = 512;

/// Exponentially weighted mean and variance of one value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct EwStats {
    #[serde(rename = "m")]
    pub mean: f64,
    #[serde(rename = "v")]
    pub var: f64,
    #[serde(rename = "n")]
    pub n: u32,
    /// Outlying windows left out in a row.
    #[serde(rename = "k", default)]
    pub skipped: u32,
}

impl EwStats {
    pub fn update(&mut self, x: f64) {
        if !x.is_finite() {
            return;
        }
        if self.n == 0 {
            self.mean = x;
            self.var = 0.0;
        } else {
            // West's incremental EW update; the alpha floor 1/n makes the first windows
            // count as a plain mean instead of over-weighting the first one.
            let alpha = (2.0 / (SPAN + 1.0)).max(1.0 / f64::from(self.n + 1));
            let diff = x - self.mean;
            let incr = alpha * diff;
            self.mean += incr;
            self.var = (1.0 - alpha) * (self.var + diff * incr);
        }
        self.n = self.n.saturating_add(1);
    }

    /// Like [`update`](Self::update), but once warm a value more than three (floored)
    /// standard deviations from the mean is left out, so an incident does not become
    /// "normal" within a few windows. After [`SPAN`] such windows in a row the series is
    /// taken to have shifted for good, and the baseline follows it again.
    pub fn update_robust(&mut self, x: f64, floor: f64) {
        let outlier = self.z(x, floor).is_some_and(|z| z.abs() > 3.0);
        if outlier && f64::from(self.skipped) < SPAN {
            self.skipped += 1;
            return;
        }
        if !outlier {
            self.skipped = 0;
        }
        self.update(x);
    }

    pub fn sd(&self) -> f64 {
        self.var.max(0.0).sqrt()
    }

    /// How many (floored) standard deviations `x` lies above the mean; `None` until warm.
    /// `floor` keeps a perfectly steady series from turning every wobble into a huge z.
    pub fn z(&self, x: f64, floor: f64) -> Option<f64> {
        self.z_with_noise(x, floor, 0.0)
    }

    /// [`z`](Self::z) with `noise_var` (the sampling variance of this one observation, e.g.
    /// binomial noise of a rate measured on few lines) added to the baseline's variance.
    pub fn z_with_noise(&self, x: f64, floor: f64, noise_var: f64) -> Option<f64> {
        (self.n >= WARMUP_WINDOWS && x.is_finite()).then(|| {
            let sd = (self.var.max(0.0) + noise_var.max(0.0)).sqrt();
            (x - self.mean) / sd.max(floor)
        })
    }
}

/// Everything a series has learned.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SeriesBaseline {
    /// Windows closed so far (saturating).
    #[serde(rename = "w")]
    pub windows: u32,
    #[serde(rename = "e")]
    pub error_rate: EwStats,
    /// ln(1 + events): volume changes are multiplicative.
    #[serde(rename = "vol")]
    pub volume: EwStats,
    /// ln(1 + p95 latency ms), over windows that had latency.
    #[serde(rename = "lat")]
    pub latency: EwStats,
    #[serde(rename = "mem")]
    pub memory: EwStats,
    #[serde(rename = "cpu")]
    pub cpu: EwStats,
    /// Template id → the window number it was last seen in.
    #[serde(rename = "t", default)]
    pub known_templates: HashMap<u64, u32>,
}

impl SeriesBaseline {
    pub fn is_warm(&self) -> bool {
        self.windows >= WARMUP_WINDOWS
    }

    pub fn knows(&self, template: u64) -> bool {
        self.known_templates.contains_key(&template)
    }

    /// Records a closed window's templates, forgetting the stalest beyond the cap.
    pub fn remember(&mut self, templates: impl IntoIterator<Item = u64>) {
        let now = self.windows;
        for t in templates {
            self.known_templates.insert(t, now);
        }
        if self.known_templates.len() > MAX_KNOWN_TEMPLATES {
            let mut by_age: Vec<(u32, u64)> =
                self.known_templates.iter().map(|(t, w)| (*w, *t)).collect();
            by_age.sort_unstable();
            let excess = self.known_templates.len() - MAX_KNOWN_TEMPLATES;
            for (_, t) in by_age.into_iter().take(excess) {
                self.known_templates.remove(&t);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steady_values_give_their_mean_and_no_spread() {
        let mut s = EwStats::default();
        for _ in 0..50 {
            s.update(4.0);
        }
        assert!((s.mean - 4.0).abs() < 1e-9 && s.sd() < 1e-9);
        assert_eq!(s.z(4.0, 0.5), Some(0.0));
        assert_eq!(s.z(6.0, 0.5), Some(4.0));
    }

    #[test]
    fn cold_baselines_give_no_z_and_nan_is_ignored() {
        let mut s = EwStats::default();
        s.update(1.0);
        s.update(f64::NAN);
        assert_eq!(s.n, 1);
        assert_eq!(s.z(10.0, 1.0), None);
    }

    #[test]
    fn the_mean_follows_a_level_shift_within_the_span() {
        let mut s = EwStats::default();
        for _ in 0..30 {
            s.update(0.0);
        }
        for _ in 0..30 {
            s.update(10.0);
        }
        assert!(s.mean > 8.0, "{}", s.mean);
    }

    #[test]
    fn robust_updates_learn_an_incident_slowly_and_a_lasting_shift_eventually() {
        let (mut plain, mut robust) = (EwStats::default(), EwStats::default());
        for _ in 0..30 {
            plain.update(0.01);
            robust.update_robust(0.01, 0.01);
        }
        for _ in 0..5 {
            plain.update(0.5);
            robust.update_robust(0.5, 0.01);
        }
        assert!(robust.z(0.5, 0.01).unwrap() > 4.0 * plain.z(0.5, 0.01).unwrap());
        assert!(
            (robust.mean - 0.01).abs() < 1e-9,
            "the incident taught nothing yet"
        );
        for _ in 0..200 {
            robust.update_robust(0.5, 0.01);
        }
        assert!((robust.mean - 0.5).abs() < 0.05, "{}", robust.mean);
    }

    #[test]
    fn known_templates_are_bounded_and_keep_the_recent_ones() {
        let mut b = SeriesBaseline::default();
        for w in 0..(MAX_KNOWN_TEMPLATES as u64 + 20) {
            b.windows = w as u32;
            b.remember([w]);
        }
        assert_eq!(b.known_templates.len(), MAX_KNOWN_TEMPLATES);
        assert!(!b.knows(0) && b.knows(MAX_KNOWN_TEMPLATES as u64 + 19));
    }
}
