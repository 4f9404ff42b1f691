//! Streaming anomaly detection for metric series.
//!
//! * [`Baseline`]: the last N values of a series with mean, standard deviation,
//!   median, MAD and a `[0, 1]` deviation score for a new value. The scorer
//!   keeps one per factor and series (error rate, volume, latency, …).
//! * [`Detector`]: a streaming detector (robust z-score against a rolling
//!   median/MAD, then an extreme-value tail for single points and NAB's anomaly
//!   likelihood for persistent changes), one decision per point,
//!   bounded memory, serializable state.
//! * [`nab`]: the Numenta Anomaly Benchmark's scoring rules
//!   (https://github.com/numenta/NAB), to measure detectors.
//!
//! Everything is pure logic except [`nab::load_corpus`], which reads files.

mod baseline;
mod detector;
mod ew_stats;
mod exceedance;
mod gaussian;
mod likelihood;
pub mod nab;
pub mod series_csv;
mod timestamp;

pub use baseline::{Baseline, BaselineStateError, DEFAULT_CAPACITY};
pub use detector::{Detector, DetectorConfig, Observation};
pub use likelihood::LikelihoodConfig;
pub use timestamp::parse_timestamp_ms;
