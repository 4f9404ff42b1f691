//! Exponential smoothing recursions in error-correction form: ETS(A,Ad,N) (Holt's linear
//! method with a damped trend) and, with a season length, ETS(A,Ad,A) (additive Holt-Winters
//! with a damped trend). Hyndman, Koehler, Ord & Snyder, "Forecasting with Exponential
//! Smoothing" (2008), table 2.3. The error-correction form is used because the same
//! coefficients give the forecast variance (see `interval.rs`).

/// Smoothing parameters. `beta` is the ETS β (= α·β* in Holt's component form), so the
/// admissible region is simply 0 < β ≤ α, 0 ≤ γ ≤ 1 − α, 0 < φ < 1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    pub alpha: f64,
    pub beta: f64,
    pub phi: f64,
    /// Seasonal smoothing; ignored without a season.
    pub gamma: f64,
}

/// The state after the last observation.
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    pub level: f64,
    /// Trend per step, before damping.
    pub trend: f64,
    /// Seasonal components by phase (`t % m`); empty without a season.
    pub season: Vec<f64>,
    /// Index the next observation would have (the series' length).
    pub next: usize,
}

/// The outcome of running the recursions over a series.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub state: State,
    /// Sum of squared one-step-ahead errors, over the observations after initialisation.
    pub sse: f64,
    /// How many one-step errors `sse` sums.
    pub errors: usize,
}

impl State {
    /// Point forecast `h ≥ 1` steps after the last observation.
    pub fn point(&self, phi: f64, h: usize) -> f64 {
        let damped = damped_sum(phi, h);
        let seasonal = if self.season.is_empty() {
            0.0
        } else {
            self.season[(self.next + h - 1) % self.season.len()]
        };
        self.level + damped * self.trend + seasonal
    }
}

/// φ + φ² + … + φ^h: how much of the current trend an h-step forecast carries.
pub fn damped_sum(phi: f64, h: usize) -> f64 {
    let mut sum = 0.0;
    let mut p = 1.0;
    for _ in 0..h {
        p *= phi;
        sum += p;
    }
    sum
}

/// Runs the recursions over `y` (oldest first). Without a season the level starts at the
/// first value and the trend at the mean slope of the first few steps; with season `m` it
/// needs `2m` values and starts from the first two seasons (classical decomposition).
/// `None` when `y` is too short.
pub fn run(y: &[f64], p: Params, season: Option<usize>) -> Option<Run> {
    let (mut state, start) = match season {
        None => init_nonseasonal(y)?,
        Some(m) => init_seasonal(y, m)?,
    };
    let mut sse = 0.0;
    let mut errors = 0;
    for (t, &yt) in y.iter().enumerate().skip(start) {
        let phase = if state.season.is_empty() {
            None
        } else {
            Some(t % state.season.len())
        };
        let s = phase.map_or(0.0, |i| state.season[i]);
        let e = yt - (state.level + p.phi * state.trend + s);
        state.level += p.phi * state.trend + p.alpha * e;
        state.trend = p.phi * state.trend + p.beta * e;
        if let Some(i) = phase {
            state.season[i] = s + p.gamma * e;
        }
        sse += e * e;
        errors += 1;
    }
    state.next = y.len();
    Some(Run { state, sse, errors })
}

fn init_nonseasonal(y: &[f64]) -> Option<(State, usize)> {
    let first = *y.first()?;
    // The mean slope over up to 4 steps: one step alone would read noise as trend.
    let k = (y.len() - 1).min(4);
    let trend = if k == 0 {
        0.0
    } else {
        (y[k] - first) / k as f64
    };
    Some((
        State {
            level: first,
            trend,
            season: vec![],
            next: 1,
        },
        1,
    ))
}

fn init_seasonal(y: &[f64], m: usize) -> Option<(State, usize)> {
    if m < 2 || y.len() < 2 * m {
        return None;
    }
    let mean = |s: &[f64]| s.iter().sum::<f64>() / s.len() as f64;
    let (m1, m2) = (mean(&y[..m]), mean(&y[m..2 * m]));
    let trend = (m2 - m1) / m as f64;
    let centre = (m as f64 - 1.0) / 2.0;
    let season: Vec<f64> = (0..m)
        .map(|j| y[j] - (m1 + trend * (j as f64 - centre)))
        .collect();
    // The level at the end of the first season; the recursions continue from there, so
    // the first season (which the seasonal start was read from) adds no errors.
    Some((
        State {
            level: m1 + trend * centre,
            trend,
            season,
            next: m,
        },
        m,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: Params = Params {
        alpha: 0.5,
        beta: 0.1,
        phi: 0.9,
        gamma: 0.1,
    };

    #[test]
    fn the_level_follows_the_data_as_closely_as_alpha_says() {
        let y: Vec<f64> = (0..20).map(|i| 10.0 + 2.0 * i as f64).collect();
        let follow = Params { alpha: 1.0, ..P };
        let r = run(&y, follow, None).unwrap();
        assert_eq!(r.errors, 19);
        assert!((r.state.level - 48.0).abs() < 1e-9, "{:?}", r.state);
        assert!(r.state.trend > 1.0);
        let slow = run(&y, Params { alpha: 0.1, ..P }, None).unwrap();
        assert!(slow.state.level < r.state.level && slow.sse > r.sse);
    }

    #[test]
    fn damped_sum_is_bounded() {
        assert!((damped_sum(0.5, 1) - 0.5).abs() < 1e-12);
        assert!((damped_sum(0.5, 2) - 0.75).abs() < 1e-12);
        assert!(damped_sum(0.9, 10_000) < 9.0 + 1e-9);
        assert_eq!(damped_sum(0.9, 0), 0.0);
    }

    #[test]
    fn seasonal_start_needs_two_seasons_and_reads_the_pattern() {
        assert!(run(&[1.0; 5], P, Some(3)).is_none());
        assert!(run(&[], P, None).is_none());
        let y: Vec<f64> = (0..12).map(|i| [0.0, 10.0, 0.0, 10.0][i % 4]).collect();
        let r = run(&y, P, Some(4)).unwrap();
        assert_eq!(r.errors, 8);
        assert!(r.sse < 1e-9);
        assert!((r.state.point(P.phi, 2) - 10.0).abs() < 1e-9);
        assert!((r.state.point(P.phi, 3) - 0.0).abs() < 1e-9);
    }
}
