//! Run the default [`Detector`] over every series of a NAB corpus and print
//! per-series and overall NAB scores under the standard profile
//! (https://github.com/numenta/NAB).
//!
//! ```text
//! cargo run --release -p anomaly --example nab_eval -- /work/shared/data/nab
//! ```
//!
//! One configuration (`DetectorConfig::default()`) for every series, a fresh
//! detector per series. Two overall numbers are printed:
//! * **fixed threshold**: the detector's own `detected` flags (score ≥ 0.5,
//!   rising edge), what `cloudsage detect` and the scorer use;
//! * **NAB-optimized threshold**: NAB's procedure, which sweeps the threshold
//!   on `anomaly_score` over the whole corpus and keeps the best. This is how
//!   the published scoreboard is made, but it fits the threshold to the labels,
//!   so it is a diagnostic, not what ships.

use std::path::PathBuf;
use std::time::Instant;

use anomaly::nab::{
    label_points, load_corpus, normalized_score, optimize_threshold, score_detections, CostMatrix,
    LabelledPoint,
};
use anomaly::{Detector, DetectorConfig};

/// NAB v1.1 scoreboard, standard profile, full 58-file corpus (README of
/// https://github.com/numenta/NAB).
const BOARD: [(&str, f64); 4] = [
    ("ARTime", 74.9),
    ("Numenta HTM", 70.5),
    ("Random Cut Forest", 51.7),
    ("Windowed Gaussian", 39.6),
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/nab"));
    let corpus = load_corpus(&dir)?;
    let cost = corpus
        .profiles
        .get("standard")
        .copied()
        .unwrap_or(CostMatrix::STANDARD);
    let config = DetectorConfig::default();

    println!(
        "NAB standard profile (tp {}, fp {}, fn {}), corpus {}",
        cost.tp_weight,
        cost.fp_weight,
        cost.fn_weight,
        dir.display()
    );
    println!(
        "detector: anomaly::Detector, DetectorConfig::default(), threshold {} (fixed)\n",
        config.threshold
    );
    println!(
        "{:<52} {:>5} {:>3} {:>3} {:>3} {:>3} {:>8} {:>7}",
        "series", "rows", "win", "TP", "FN", "FP", "raw", "score"
    );

    let mut labelled: Vec<Vec<LabelledPoint>> = Vec::new();
    let mut all_scores: Vec<Vec<f64>> = Vec::new();
    let (mut raw_total, mut null_total) = (0.0, 0.0);
    let (mut tp, mut fn_, mut fp) = (0, 0, 0);
    let (mut points, mut observe_time) = (0usize, 0.0f64);
    for s in &corpus.series {
        let mut detector = Detector::new(config.clone());
        let started = Instant::now();
        let obs: Vec<_> = s
            .timestamps
            .iter()
            .zip(&s.values)
            .map(|(t, v)| detector.observe(*t, *v))
            .collect();
        observe_time += started.elapsed().as_secs_f64();
        points += obs.len();
        let detected: Vec<bool> = obs.iter().map(|o| o.detected).collect();
        let scores: Vec<f64> = obs.iter().map(|o| o.score).collect();

        let lp = label_points(&s.timestamps, &s.windows, &cost)?;
        let got = score_detections(&lp, &detected, &cost);
        let null = score_detections(&lp, &vec![false; lp.len()], &cost);
        let perfect = s.windows.len() as f64 * cost.tp_weight;
        let per_series = normalized_score(got.raw, null.raw, perfect)
            .map_or_else(|| "-".to_string(), |v| format!("{v:.1}"));
        println!(
            "{:<52} {:>5} {:>3} {:>3} {:>3} {:>3} {:>8.3} {:>7}",
            s.name,
            s.values.len(),
            s.windows.len(),
            got.true_positives,
            got.false_negatives,
            got.false_positives,
            got.raw,
            per_series
        );
        raw_total += got.raw;
        null_total += null.raw;
        tp += got.true_positives;
        fn_ += got.false_negatives;
        fp += got.false_positives;
        labelled.push(lp);
        all_scores.push(scores);
    }

    let perfect_total = corpus.window_count() as f64 * cost.tp_weight;
    let fixed = normalized_score(raw_total, null_total, perfect_total).unwrap_or(f64::NAN);
    let files: Vec<(&[LabelledPoint], &[f64])> = labelled
        .iter()
        .zip(&all_scores)
        .map(|(l, s)| (l.as_slice(), s.as_slice()))
        .collect();
    let best = optimize_threshold(&files, &cost);
    let optimized = normalized_score(best.raw, null_total, perfect_total).unwrap_or(f64::NAN);

    println!(
        "\n{} series, {} windows: TP {tp}, FN {fn_}, FP {fp}",
        corpus.series.len(),
        corpus.window_count()
    );
    println!("raw {raw_total:.3}, null {null_total:.3}, perfect {perfect_total:.3}");
    println!("NAB standard score, fixed threshold (detected flag):       {fixed:6.1}");
    println!(
        "NAB standard score, NAB-optimized threshold ({:.4}) [diagnostic]: {optimized:6.1}",
        best.threshold
    );
    println!("\nPublished NAB v1.1 standard scores (full 58-file corpus, optimized thresholds):");
    for (name, score) in BOARD {
        println!("  {name:<20} {score:5.1}");
    }
    println!(
        "\nobserve(): {points} points in {:.3} s = {:.0} points/s (single thread, including result collection)",
        observe_time,
        points as f64 / observe_time
    );
    Ok(())
}
