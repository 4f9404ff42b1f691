//! Score one file's fixed detections under NAB's rules (the inner sums of
//! `calcScoreByThreshold` in `nab/sweeper.py`, https://github.com/numenta/NAB,
//! at a single threshold).

use std::collections::BTreeMap;

use super::{CostMatrix, LabelledPoint};

/// One file's NAB result.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SeriesScore {
    /// Raw NAB score: window credits − missed windows + false-positive costs.
    pub raw: f64,
    /// Scored windows (those with a row after probation).
    pub windows: usize,
    /// Windows with at least one detection.
    pub true_positives: usize,
    /// Windows without a detection.
    pub false_negatives: usize,
    /// Detections outside every window (after probation).
    pub false_positives: usize,
}

/// Score `detected[i]` against `points[i]` (extra entries of the longer slice
/// are ignored). Only the best — earliest — detection of a window counts.
pub fn score_detections(
    points: &[LabelledPoint],
    detected: &[bool],
    cost: &CostMatrix,
) -> SeriesScore {
    // Each scored window starts as a miss.
    let mut windows: BTreeMap<usize, Option<f64>> = points
        .iter()
        .filter(|p| !p.probationary)
        .filter_map(|p| p.window)
        .map(|w| (w, None))
        .collect();
    let mut fp_sum = 0.0;
    let mut false_positives = 0;
    for (p, _) in points
        .iter()
        .zip(detected)
        .filter(|(p, d)| **d && !p.probationary)
    {
        match p.window {
            None => {
                fp_sum += p.sweep_score;
                false_positives += 1;
            }
            Some(w) => {
                let best = windows.entry(w).or_insert(None);
                *best = Some(best.map_or(p.sweep_score, |b: f64| b.max(p.sweep_score)));
            }
        }
    }
    let true_positives = windows.values().filter(|b| b.is_some()).count();
    let window_sum: f64 = windows
        .values()
        .map(|b| b.map_or(-cost.fn_weight, |s| s.max(-cost.fn_weight)))
        .sum();
    SeriesScore {
        raw: window_sum + fp_sum,
        windows: windows.len(),
        true_positives,
        false_negatives: windows.len() - true_positives,
        false_positives,
    }
}

#[cfg(test)]
mod tests {
    use super::super::{label_points, normalized_score, Window};
    use super::*;

    /// 100 rows (probation 15), windows on rows 40..=49 and 70..=79.
    fn file() -> Vec<LabelledPoint> {
        let ts: Vec<i64> = (0..100).collect();
        let windows = [
            Window {
                start_ms: 40,
                end_ms: 49,
            },
            Window {
                start_ms: 70,
                end_ms: 79,
            },
        ];
        label_points(&ts, &windows, &CostMatrix::STANDARD).unwrap()
    }

    fn at(rows: &[usize]) -> Vec<bool> {
        (0..100).map(|i| rows.contains(&i)).collect()
    }

    fn normalized(rows: &[usize]) -> f64 {
        let p = file();
        let c = CostMatrix::STANDARD;
        let raw = score_detections(&p, &at(rows), &c).raw;
        let null = score_detections(&p, &at(&[]), &c).raw;
        normalized_score(raw, null, 2.0 * c.tp_weight).unwrap()
    }

    #[test]
    fn null_detector_scores_zero() {
        let s = score_detections(&file(), &at(&[]), &CostMatrix::STANDARD);
        assert_eq!(s.raw, -2.0);
        assert_eq!((s.windows, s.true_positives, s.false_negatives), (2, 0, 2));
        assert_eq!(normalized(&[]), 0.0);
    }

    #[test]
    fn perfect_detector_scores_one_hundred() {
        // Detecting each window on its first row earns exactly tpWeight.
        let s = score_detections(&file(), &at(&[40, 70]), &CostMatrix::STANDARD);
        assert!((s.raw - 2.0).abs() < 1e-12);
        assert!((normalized(&[40, 70]) - 100.0).abs() < 1e-9);
    }

    #[test]
    fn only_the_first_detection_in_a_window_counts() {
        let once = score_detections(&file(), &at(&[40]), &CostMatrix::STANDARD);
        let many = score_detections(&file(), &at(&[40, 41, 45, 49]), &CostMatrix::STANDARD);
        assert_eq!(once, many);
        assert_eq!(many.true_positives, 1);
        assert_eq!(many.false_positives, 0);
    }

    #[test]
    fn late_detection_earns_less() {
        assert!(normalized(&[45, 70]) < normalized(&[40, 70]));
        assert!(normalized(&[45, 70]) > normalized(&[70]));
    }

    #[test]
    fn false_positives_cost_by_distance_and_probation_is_free() {
        let p = file();
        let c = CostMatrix::STANDARD;
        let base = score_detections(&p, &at(&[40, 70]), &c).raw;
        // Row 20: before any window → −0.11.
        let early = score_detections(&p, &at(&[20, 40, 70]), &c);
        assert_eq!(early.false_positives, 1);
        assert!((early.raw - (base - 0.11)).abs() < 1e-12);
        // Row 50, right after the first window: cheaper than row 65.
        let near = score_detections(&p, &at(&[40, 50, 70]), &c).raw;
        let far = score_detections(&p, &at(&[40, 65, 70]), &c).raw;
        assert!(base > near && near > far && far >= base - 0.11);
        // Row 5 is probationary: ignored.
        assert_eq!(score_detections(&p, &at(&[5, 40, 70]), &c).raw, base);
    }

    #[test]
    fn hand_computed_mixed_case() {
        // Window 1 detected on its 6th row (position −5/10), window 2 missed,
        // one false positive before any window, one 10 rows after window 1.
        let c = CostMatrix::STANDARD;
        let s = score_detections(&file(), &at(&[30, 45, 59]), &c);
        let tp = scaled(-0.5);
        let fp_after = 0.11 * super::super::scaled_sigmoid(10.0 / 9.0);
        let expected = tp - 1.0 - 0.11 + fp_after;
        assert!((s.raw - expected).abs() < 1e-12, "{} vs {expected}", s.raw);
        assert_eq!(
            (s.true_positives, s.false_negatives, s.false_positives),
            (1, 1, 2)
        );
    }

    fn scaled(position: f64) -> f64 {
        use super::super::scaled_sigmoid;
        scaled_sigmoid(position) / scaled_sigmoid(-1.0)
    }
}
