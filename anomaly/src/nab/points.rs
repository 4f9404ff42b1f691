//! What each row of a labelled file is worth if detected: NAB's
//! `calcSweepScore` (`nab/sweeper.py`, https://github.com/numenta/NAB).

use super::{CostMatrix, NabError, Window};

/// Fraction of each file that is probationary (NAB: 0.15).
const PROBATION_PERCENT: f64 = 0.15;

/// A row's worth if it is detected.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LabelledPoint {
    /// Weighted score of a detection here: positive inside a window, negative
    /// outside.
    pub sweep_score: f64,
    /// Window holding this row, numbered in time order among the file's
    /// windows that contain rows.
    pub window: Option<usize>,
    /// Within the first 15 % (at most 750 rows): not scored.
    pub probationary: bool,
}

/// NAB's scaled sigmoid: `2/(1 + e^{5x}) − 1`, and −1 from `x ≥ 3` on.
pub fn scaled_sigmoid(relative_position: f64) -> f64 {
    if relative_position.is_nan() || relative_position >= 3.0 {
        -1.0
    } else {
        2.0 / (1.0 + (5.0 * relative_position).exp()) - 1.0
    }
}

/// Probationary rows of a file of `rows` rows: `min(⌊0.15·rows⌋, 0.15·5000)`.
pub fn probationary_length(rows: usize) -> usize {
    ((PROBATION_PERCENT * rows as f64).floor() as usize).min((PROBATION_PERCENT * 5000.0) as usize)
}

/// Label every row of one file.
///
/// `timestamps` must be ascending (NAB files are). A window covers the rows
/// with `start ≤ t ≤ end` (NAB matches the window edges to rows exactly;
/// ranges give the same rows for NAB's labels and tolerate edges between rows).
/// A window with no rows is dropped; overlapping windows are cut so each row
/// belongs to one window.
pub fn label_points(
    timestamps: &[i64],
    windows: &[Window],
    cost: &CostMatrix,
) -> Result<Vec<LabelledPoint>, NabError> {
    if let Some(i) = timestamps.windows(2).position(|w| w[1] < w[0]) {
        return Err(NabError::Invalid(format!(
            "timestamps are not ascending at row {}",
            i + 2
        )));
    }
    // Row ranges [left, right] of each window.
    let mut ranges: Vec<(usize, usize)> = Vec::with_capacity(windows.len());
    for w in windows {
        let mut left = timestamps.partition_point(|t| *t < w.start_ms);
        let right_end = timestamps.partition_point(|t| *t <= w.end_ms);
        if let Some(&(_, prev_right)) = ranges.last() {
            left = left.max(prev_right + 1);
        }
        if left < right_end {
            ranges.push((left, right_end - 1));
        }
    }

    let max_tp = scaled_sigmoid(-1.0);
    let probation = probationary_length(timestamps.len());
    let mut points = Vec::with_capacity(timestamps.len());
    let mut next = 0; // next window not yet passed
    let mut previous: Option<(usize, usize)> = None; // last window fully passed
    for i in 0..timestamps.len() {
        while next < ranges.len() && ranges[next].1 < i {
            previous = Some(ranges[next]);
            next += 1;
        }
        let current = ranges.get(next).filter(|(left, _)| *left <= i);
        let (sweep_score, window) = match current {
            Some(&(left, right)) => {
                let width = (right - left + 1) as f64;
                let position = -((right - i + 1) as f64) / width;
                (
                    scaled_sigmoid(position) * cost.tp_weight / max_tp,
                    Some(next),
                )
            }
            None => {
                let past = match previous {
                    Some((left, right)) if right > left => {
                        (i - right) as f64 / (right - left) as f64
                    }
                    _ => 3.0,
                };
                (scaled_sigmoid(past) * cost.fp_weight, None)
            }
        };
        points.push(LabelledPoint {
            sweep_score,
            window,
            probationary: i < probation,
        });
    }
    Ok(points)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(start_ms: i64, end_ms: i64) -> Window {
        Window { start_ms, end_ms }
    }

    #[test]
    fn scaled_sigmoid_matches_nab_doc_values() {
        assert!((scaled_sigmoid(-1.0) - 0.98661).abs() < 1e-5);
        assert!((scaled_sigmoid(-0.5) - 0.84828).abs() < 1e-5);
        assert_eq!(scaled_sigmoid(0.0), 0.0);
        assert!((scaled_sigmoid(1.0) + 0.98661).abs() < 1e-5);
        assert_eq!(scaled_sigmoid(3.0), -1.0);
        assert_eq!(scaled_sigmoid(f64::NAN), -1.0);
    }

    #[test]
    fn probation() {
        assert_eq!(probationary_length(4032), 604);
        assert_eq!(probationary_length(1243), 186);
        assert_eq!(probationary_length(100_000), 750);
        assert_eq!(probationary_length(0), 0);
    }

    #[test]
    fn labels_a_small_file() {
        // 40 rows, timestamps 0..40; probation = 6 rows; one window on rows 20..=29.
        let ts: Vec<i64> = (0..40).collect();
        let p = label_points(&ts, &[w(20, 29)], &CostMatrix::STANDARD).unwrap();
        assert!(p[..6].iter().all(|x| x.probationary));
        assert!(p[6..].iter().all(|x| !x.probationary));
        // Before any window: the full false-positive cost.
        assert!((p[10].sweep_score + 0.11).abs() < 1e-12);
        assert_eq!(p[10].window, None);
        // First row of the window: full credit; then decreasing.
        assert_eq!(p[20].window, Some(0));
        assert!((p[20].sweep_score - 1.0).abs() < 1e-12);
        for i in 21..30 {
            assert!(p[i].sweep_score < p[i - 1].sweep_score);
            assert!(p[i].sweep_score > 0.0);
        }
        // Last row: position −1/10.
        let last = scaled_sigmoid(-0.1) / scaled_sigmoid(-1.0);
        assert!((p[29].sweep_score - last).abs() < 1e-12);
        // After the window: distance / (width − 1), cheap at first.
        assert_eq!(p[30].window, None);
        let after = 0.11 * scaled_sigmoid(1.0 / 9.0);
        assert!((p[30].sweep_score - after).abs() < 1e-12);
        assert!(p[30].sweep_score > -0.11 && p[30].sweep_score < 0.0);
        assert!(p[39].sweep_score < p[30].sweep_score);
    }

    #[test]
    fn window_edges_between_rows_and_empty_windows() {
        let ts: Vec<i64> = (0..20).map(|i| i * 10).collect();
        let p = label_points(&ts, &[w(45, 75), w(300, 400)], &CostMatrix::STANDARD).unwrap();
        let inside: Vec<usize> = (0..20).filter(|i| p[*i].window.is_some()).collect();
        assert_eq!(inside, vec![5, 6, 7]);
    }

    #[test]
    fn overlapping_windows_are_cut() {
        let ts: Vec<i64> = (0..20).collect();
        let p = label_points(&ts, &[w(5, 10), w(8, 12)], &CostMatrix::STANDARD).unwrap();
        let owner: Vec<Option<usize>> = p.iter().map(|x| x.window).collect();
        assert_eq!(owner[10], Some(0));
        assert_eq!(owner[11], Some(1));
        assert_eq!(owner[13], None);
    }

    #[test]
    fn unsorted_timestamps_are_an_error() {
        assert!(label_points(&[0, 2, 1], &[], &CostMatrix::STANDARD).is_err());
        assert_eq!(
            label_points(&[], &[], &CostMatrix::STANDARD).unwrap(),
            vec![]
        );
    }
}
