//! `cloudsage risk PROJECT [--service S] [--since 24h]`: one line per service with its latest
//! score, the 7-day rolling average, the trend over the range and a sparkline, read from
//! ClickHouse.

use crate::analytics::{self, ServiceRisk, TimeRange};
use cloudsage_runtime::Config;
use std::fmt::Write as _;
use std::time::Duration;

/// Widest sparkline printed; longer ranges show each column's peak window.
pub const SPARKLINE_WIDTH: usize = 48;

pub async fn run(
    config: &Config,
    project: &str,
    service: Option<&str>,
    since: Duration,
) -> anyhow::Result<()> {
    let wh = analytics::connect(config)?;
    match analytics::service_risk(&wh, project, service, since).await? {
        Some((range, services)) => print!("{}", render(project, range, &services)),
        None => println!(
            "no windows for project {project}{} in database {}",
            service
                .map(|s| format!(", service {s}"))
                .unwrap_or_default(),
            wh.database()
        ),
    }
    Ok(())
}

/// The table `cloudsage risk` prints.
pub fn render(project: &str, range: TimeRange, services: &[ServiceRisk]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Risk of {project}, {} → {} (UTC)",
        analytics::utc(range.from),
        analytics::utc(range.to)
    );
    let _ = writeln!(
        s,
        "{:<20} {:>7} {:>6} {:>6} {:>8}  score over the range (0-100)",
        "service", "windows", "latest", "7d avg", "slope/h"
    );
    for r in services {
        let slope = r
            .slope_per_hour
            .map_or_else(|| "-".to_string(), |v| format!("{v:+.2}"));
        let _ = writeln!(
            s,
            "{:<20} {:>7} {:>6.1} {:>6.1} {:>8}  {}",
            r.service,
            r.windows.len(),
            r.latest_score,
            r.rolling_average,
            slope,
            sparkline(&peaks(r, SPARKLINE_WIDTH))
        );
    }
    s
}

/// At most `width` scores: the range cut into equal runs of windows, the peak of each (a
/// spike must stay visible when squeezed).
fn peaks(r: &ServiceRisk, width: usize) -> Vec<f64> {
    let per_column = r.windows.len().div_ceil(width.max(1)).max(1);
    r.windows
        .chunks(per_column)
        .map(|c| c.iter().map(|w| w.score).fold(f64::NEG_INFINITY, f64::max))
        .collect()
}

/// One block character per score, on the scale of `cloudsage run`'s timeline. (Its helper,
/// `report::sparkline`, draws published windows; the warehouse does not keep every field of
/// one, e.g. each factor's maximum points.)
pub fn sparkline(scores: &[f64]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    scores
        .iter()
        .map(|s| BARS[((s.clamp(0.0, 100.0) / 100.0) * 7.0).round() as usize])
        .collect()
}
