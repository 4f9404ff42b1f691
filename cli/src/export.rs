//! `cloudsage export PROJECT [--since 7d] [--out FILE]`: a project's window history as CSV,
//! one row per window (each once, replays included), ordered by service and time.
//!
//! Columns: `project, service, window_start, window_end` (RFC 3339 UTC), `window_id, score,
//! event_count, error_count, warn_count, late_count`, then `labels` and `top_factors`
//! (`|`-separated) and `factors` (`name=points|…`, every factor's points towards the score).

use crate::analytics::{self, TimeRange, WindowRecord};
use cloudsage_runtime::Config;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

pub const HEADER: [&str; 13] = [
    "project",
    "service",
    "window_start",
    "window_end",
    "window_id",
    "score",
    "event_count",
    "error_count",
    "warn_count",
    "late_count",
    "labels",
    "top_factors",
    "factors",
];

/// Exports the windows of `project` starting in the `since` before its newest window (all of
/// them without `since`) to `out`, or stdout. Returns the number of rows written.
pub async fn run(
    config: &Config,
    project: &str,
    since: Option<Duration>,
    out: Option<&Path>,
) -> anyhow::Result<usize> {
    let wh = analytics::connect(config)?;
    let range = match (since, analytics::newest_window(&wh, project, None).await?) {
        (Some(span), Some(newest)) => TimeRange::ending_at(newest, span),
        _ => TimeRange::all(),
    };
    let windows = analytics::history(&wh, project, None, range).await?;
    let written = match out {
        Some(path) => write_csv(std::fs::File::create(path)?, &windows)?,
        None => write_csv(std::io::stdout().lock(), &windows)?,
    };
    if let Some(path) = out {
        eprintln!(
            "{written} windows of {project} written to {}",
            path.display()
        );
    }
    Ok(written)
}

/// Writes the header and one row per window; the csv crate quotes fields that need it.
pub fn write_csv<W: Write>(out: W, windows: &[WindowRecord]) -> anyhow::Result<usize> {
    let mut csv = csv::Writer::from_writer(out);
    csv.write_record(HEADER)?;
    for w in windows {
        let factors: Vec<String> = w
            .factor_names
            .iter()
            .zip(&w.factor_points)
            .map(|(name, points)| format!("{name}={points}"))
            .collect();
        csv.write_record([
            w.project.clone(),
            w.service.clone(),
            analytics::utc(w.window_start),
            analytics::utc(w.window_end),
            w.window_id.clone(),
            w.score.to_string(),
            w.event_count.to_string(),
            w.error_count.to_string(),
            w.warn_count.to_string(),
            w.late_count.to_string(),
            w.labels.join("|"),
            w.top_factors.join("|"),
            factors.join("|"),
        ])?;
    }
    csv.flush()?;
    Ok(windows.len())
}
