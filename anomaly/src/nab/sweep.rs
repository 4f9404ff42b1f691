//! NAB's threshold optimization (`calcScoreByThreshold` in `nab/sweeper.py`
//! and `optimizeThreshold` in `nab/optimizer.py`,
//! https://github.com/numenta/NAB): every distinct anomaly score of the
//! corpus is tried as the threshold (`score ≥ threshold` detects) and the one
//! with the best total raw score over all files is kept.

use super::{CostMatrix, LabelledPoint};

/// A window: (file index, window index in the file).
type WindowKey = (usize, usize);

/// The corpus score at one threshold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ThresholdScore {
    pub threshold: f64,
    /// Raw score summed over the files.
    pub raw: f64,
}

/// The threshold maximizing the summed raw score over `files`
/// (each: labelled rows and the detector's anomaly scores, same length).
/// Ties keep the highest threshold, as NAB does; NaN scores never detect.
/// Starts from NAB's 1.1 (nothing detected).
pub fn optimize_threshold(
    files: &[(&[LabelledPoint], &[f64])],
    cost: &CostMatrix,
) -> ThresholdScore {
    // (score, sweep score, window key)
    let mut rows: Vec<(f64, f64, Option<WindowKey>)> = Vec::new();
    let mut window_best: std::collections::BTreeMap<WindowKey, f64> = Default::default();
    for (f, (points, scores)) in files.iter().enumerate() {
        for (p, s) in points.iter().zip(scores.iter()) {
            if p.probationary {
                continue;
            }
            let key = p.window.map(|w| (f, w));
            if let Some(k) = key {
                window_best.insert(k, -cost.fn_weight);
            }
            if !s.is_nan() {
                rows.push((*s, p.sweep_score, key));
            }
        }
    }
    rows.sort_by(|a, b| b.0.total_cmp(&a.0));

    let mut total: f64 = window_best.values().sum();
    let mut best = ThresholdScore {
        threshold: 1.1,
        raw: total,
    };
    let mut i = 0;
    while i < rows.len() {
        let threshold = rows[i].0;
        // Everything at this score detects together.
        while i < rows.len() && rows[i].0 == threshold {
            let (_, sweep, key) = rows[i];
            match key {
                None => total += sweep,
                Some(k) => {
                    let b = window_best.entry(k).or_insert(-cost.fn_weight);
                    if sweep > *b {
                        total += sweep - *b;
                        *b = sweep;
                    }
                }
            }
            i += 1;
        }
        if total > best.raw {
            best = ThresholdScore {
                threshold,
                raw: total,
            };
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::super::{label_points, score_detections, Window};
    use super::*;

    fn file() -> Vec<LabelledPoint> {
        let ts: Vec<i64> = (0..100).collect();
        let w = [Window {
            start_ms: 40,
            end_ms: 49,
        }];
        label_points(&ts, &w, &CostMatrix::STANDARD).unwrap()
    }

    #[test]
    fn finds_the_threshold_that_separates_the_window() {
        let p = file();
        // High in the window's first rows, medium noise elsewhere, one false high.
        let scores: Vec<f64> = (0..100)
            .map(|i| match i {
                40..=42 => 0.9,
                80 => 0.95,
                _ => 0.3,
            })
            .collect();
        let best = optimize_threshold(&[(&p, &scores)], &CostMatrix::STANDARD);
        assert_eq!(best.threshold, 0.9);
        // Equals scoring the fixed detections at that threshold.
        let detected: Vec<bool> = scores.iter().map(|s| *s >= 0.9).collect();
        let fixed = score_detections(&p, &detected, &CostMatrix::STANDARD);
        assert!((best.raw - fixed.raw).abs() < 1e-12);
        assert!(fixed.raw > 0.0);
    }

    #[test]
    fn a_useless_detector_keeps_the_null_score() {
        let p = file();
        let scores = vec![0.5; 100];
        let best = optimize_threshold(&[(&p, &scores)], &CostMatrix::STANDARD);
        assert_eq!(
            best,
            ThresholdScore {
                threshold: 1.1,
                raw: -1.0
            }
        );
        let nan = vec![f64::NAN; 100];
        assert_eq!(
            optimize_threshold(&[(&p, &nan)], &CostMatrix::STANDARD).raw,
            -1.0
        );
    }

    #[test]
    fn sums_over_files() {
        let p = file();
        let good: Vec<f64> = (0..100).map(|i| if i == 40 { 1.0 } else { 0.0 }).collect();
        let best = optimize_threshold(&[(&p, &good), (&p, &good)], &CostMatrix::STANDARD);
        assert_eq!(best.threshold, 1.0);
        assert!((best.raw - 2.0).abs() < 1e-12);
    }
}
