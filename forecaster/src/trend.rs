//! Ordinary least squares on (hours, score), extrapolated to the horizon, with a prediction
//! interval from the residual spread. The foundation method; a seasonal model comes later.

/// A fitted line and its uncertainty.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Trend {
    /// Score at the last observation's time, from the fit.
    pub level: f64,
    /// Points per hour.
    pub slope_per_hour: f64,
    /// Residual standard deviation (0 with fewer than 3 points).
    pub residual_sd: f64,
    pub points: usize,
}

/// A prediction at a horizon, clamped to 0-100.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prediction {
    pub value: f64,
    pub lower: f64,
    pub upper: f64,
}

/// Fits `(time_ms, score)` observations, oldest first. `None` when empty.
pub fn fit(obs: &[(i64, f64)]) -> Option<Trend> {
    let (&(t_last, y_last), n) = (obs.last()?, obs.len());
    if n == 1 {
        return Some(Trend {
            level: y_last,
            slope_per_hour: 0.0,
            residual_sd: 0.0,
            points: 1,
        });
    }
    let xs: Vec<f64> = obs
        .iter()
        .map(|(t, _)| (*t - t_last) as f64 / 3_600_000.0)
        .collect();
    let ys: Vec<f64> = obs.iter().map(|(_, y)| *y).collect();
    let nf = n as f64;
    let mx = xs.iter().sum::<f64>() / nf;
    let my = ys.iter().sum::<f64>() / nf;
    let sxx: f64 = xs.iter().map(|x| (x - mx).powi(2)).sum();
    let sxy: f64 = xs.iter().zip(&ys).map(|(x, y)| (x - mx) * (y - my)).sum();
    let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    let intercept = my - slope * mx; // value at x = 0, the last observation's time
    let sse: f64 = xs
        .iter()
        .zip(&ys)
        .map(|(x, y)| (y - (intercept + slope * x)).powi(2))
        .sum();
    let residual_sd = if n > 2 {
        (sse / (nf - 2.0)).sqrt()
    } else {
        0.0
    };
    Some(Trend {
        level: intercept,
        slope_per_hour: slope,
        residual_sd,
        points: n,
    })
}

impl Trend {
    /// Extrapolates `hours` ahead. The interval widens with the horizon relative to the span
    /// the fit saw, and is never narrower than ±5 points (scores are coarse).
    pub fn predict(&self, hours: f64, observed_span_hours: f64) -> Prediction {
        let value = self.level + self.slope_per_hour * hours;
        let stretch = 1.0 + hours / observed_span_hours.max(1.0 / 60.0);
        let half = (1.96 * self.residual_sd * stretch.sqrt()).max(5.0);
        Prediction {
            value: value.clamp(0.0, 100.0),
            lower: (value - half).clamp(0.0, 100.0),
            upper: (value + half).clamp(0.0, 100.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_a_linear_rise() {
        let obs: Vec<(i64, f64)> = (0..10)
            .map(|i| (i * 3_600_000, 10.0 + 2.0 * i as f64))
            .collect();
        let t = fit(&obs).unwrap();
        assert!((t.slope_per_hour - 2.0).abs() < 1e-9);
        assert!((t.level - 28.0).abs() < 1e-9);
        let p = t.predict(5.0, 9.0);
        assert!((p.value - 38.0).abs() < 1e-9);
        assert!(p.lower < p.value && p.value < p.upper);
    }

    #[test]
    fn single_point_is_flat_and_predictions_are_clamped() {
        let t = fit(&[(0, 95.0)]).unwrap();
        assert_eq!(t.slope_per_hour, 0.0);
        let steep = Trend {
            level: 90.0,
            slope_per_hour: 50.0,
            residual_sd: 0.0,
            points: 5,
        };
        assert_eq!(steep.predict(24.0, 1.0).value, 100.0);
        assert!(fit(&[]).is_none());
    }
}
