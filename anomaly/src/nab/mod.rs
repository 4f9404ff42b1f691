//! Scoring anomaly detectors the way the Numenta Anomaly Benchmark does
//! (NAB, https://github.com/numenta/NAB: `nab/sweeper.py`, `nab/runner.py`,
//! and Lavin & Ahmad, "Evaluating Real-time Anomaly Detection Algorithms – the
//! Numenta Anomaly Benchmark", 2015).
//!
//! The rules, as implemented here:
//! * Each labelled anomaly has a *window* of rows around it. The first 15 % of
//!   each file (at most 750 rows) is *probationary*: detections there are not
//!   scored, and windows with no row after it do not count.
//! * A detection inside a window at relative position `p ∈ [−1, 0)` (−1 = the
//!   window's first row) earns `tpWeight · σ(p) / σ(−1)` with the scaled
//!   sigmoid `σ(p) = 2/(1 + e^{5p}) − 1`: early detections earn almost full
//!   credit, late ones little. Only the best, i.e. the first, detection of a
//!   window counts; further detections in it are neither rewarded nor
//!   penalized.
//! * A window without a detection costs `fnWeight`.
//! * A detection outside every window is a false positive costing
//!   `fpWeight · σ(d)` (σ negative here), where `d` is its distance after the
//!   preceding window's right edge relative to that window's width (just
//!   after a window is cheap, ≥ 3 widths or before any window costs the full
//!   `fpWeight`).
//! * A file's raw score is the sum; the corpus's is the sum over files,
//!   normalized to `100 · (raw − null) / (perfect − null)` with `null` the raw
//!   score of the detector that never detects and `perfect` = `tpWeight` × the
//!   number of windows.
//! * NAB reports each detector at the threshold on its anomaly score that
//!   maximizes the corpus score ([`optimize_threshold`]); a detector with its
//!   own fixed decision is scored with [`score_detections`].

mod corpus;
mod error;
mod labels;
mod normalize;
mod points;
mod profile;
mod score;
mod sweep;

pub use corpus::{load_corpus, Corpus, Series};
pub use error::NabError;
pub use labels::{parse_windows, Window};
pub use normalize::normalized_score;
pub use points::{label_points, probationary_length, scaled_sigmoid, LabelledPoint};
pub use profile::{parse_profiles, CostMatrix};
pub use score::{score_detections, SeriesScore};
pub use sweep::{optimize_threshold, ThresholdScore};
