//! Risk analytics over ClickHouse, for `cloudsage risk`, `cloudsage export` and anyone
//! embedding the library: a project's window history, the 7-day rolling average, the trend
//! slope, projects ranked by current risk, and the templates behind the most errors.
//!
//! Every query reads with `FINAL`, so replayed writes count once, and sticks to SQL that
//! ClickHouse 18.16 understands (no window functions): rolling averages and slopes are
//! computed here, over the rows a query returns.

use anyhow::Context as _;
use cloudsage_runtime::warehouse::Warehouse;
use cloudsage_runtime::Config;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};

/// Span of the rolling average shown next to the latest score.
pub const ROLLING_SPAN: Duration = Duration::from_secs(7 * 24 * 3600);

/// The warehouse configured in `clickhouse.*`, or an error telling how to configure one.
pub fn connect(config: &Config) -> anyhow::Result<Warehouse> {
    Warehouse::from_config(&config.clickhouse)
        .ok_or_else(|| anyhow::anyhow!("clickhouse.url is not set (CLOUDSAGE_CLICKHOUSE__URL)"))
}

/// Unix seconds as RFC 3339 UTC, e.g. `2026-11-20T08:00:00Z`.
pub fn utc(secs: u32) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(secs.into())).to_string()
}

/// Inclusive range of window starts, in Unix seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    pub from: u32,
    pub to: u32,
}

impl TimeRange {
    /// The `span` before `end`, both ends included.
    pub fn ending_at(end: u32, span: Duration) -> TimeRange {
        let span = u32::try_from(span.as_secs()).unwrap_or(u32::MAX);
        TimeRange {
            from: end.saturating_sub(span),
            to: end,
        }
    }

    /// Everything a `DateTime` column can hold.
    pub fn all() -> TimeRange {
        TimeRange {
            from: 0,
            to: u32::MAX,
        }
    }
}

/// One scored window as stored in `risk_windows` (the row the stages write).
pub type WindowRecord = cloudsage_runtime::rows::RiskWindowRow;

/// Start of the newest window of `project` (optionally one service), if it has any.
pub async fn newest_window(
    wh: &Warehouse,
    project: &str,
    service: Option<&str>,
) -> anyhow::Result<Option<u32>> {
    // count() alongside max(): an empty table still answers one row, with max() = 0.
    let (n, newest): (u64, u32) = wh
        .client()
        .query(
            "SELECT count(), toUInt32(max(window_start)) FROM risk_windows \
             WHERE project = ? AND (? = '' OR service = ?)",
        )
        .bind(project)
        .bind(service.unwrap_or(""))
        .bind(service.unwrap_or(""))
        .fetch_one()
        .await
        .context("reading the newest window")?;
    Ok((n > 0).then_some(newest))
}

/// Windows of `project` (optionally one service) starting within `range`, each once, ordered
/// by service then time.
pub async fn history(
    wh: &Warehouse,
    project: &str,
    service: Option<&str>,
    range: TimeRange,
) -> anyhow::Result<Vec<WindowRecord>> {
    wh.client()
        .query(
            "SELECT project, service, toUInt32(window_start), toUInt32(window_end), window_id, \
             score, factor_names, factor_values, factor_points, labels, top_factors, \
             event_count, error_count, warn_count, late_count, version \
             FROM risk_windows FINAL \
             WHERE project = ? AND (? = '' OR service = ?) \
             AND window_start >= toDateTime(?) AND window_start <= toDateTime(?) \
             ORDER BY service, window_start",
        )
        .bind(project)
        .bind(service.unwrap_or(""))
        .bind(service.unwrap_or(""))
        .bind(range.from)
        .bind(range.to)
        .fetch_all()
        .await
        .context("reading the window history")
}

/// For each `(time, value)` point (sorted by time), the mean of the points in the `span`
/// ending at it: `(time - span, time]`. Points are windows, so a quiet stretch (no windows)
/// does not pull the average down.
pub fn rolling_average(points: &[(u32, f64)], span: Duration) -> Vec<(u32, f64)> {
    let span = span.as_secs();
    let mut out = Vec::with_capacity(points.len());
    let (mut first, mut sum) = (0, 0.0);
    for (i, &(t, v)) in points.iter().enumerate() {
        sum += v;
        while first < i && u64::from(t) - u64::from(points[first].0) >= span {
            sum -= points[first].1;
            first += 1;
        }
        out.push((t, sum / (i + 1 - first) as f64));
    }
    out
}

/// Least-squares slope of value over time, in value per hour; `None` with fewer than two
/// distinct times.
pub fn trend_slope_per_hour(points: &[(u32, f64)]) -> Option<f64> {
    let n = points.len() as f64;
    if points.len() < 2 {
        return None;
    }
    // Hours from the first point keep the sums small (Unix seconds squared lose precision).
    let t0 = points[0].0;
    let x = |t: u32| (f64::from(t) - f64::from(t0)) / 3600.0;
    let mean_x = points.iter().map(|&(t, _)| x(t)).sum::<f64>() / n;
    let mean_y = points.iter().map(|&(_, v)| v).sum::<f64>() / n;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for &(t, v) in points {
        let dx = x(t) - mean_x;
        sxy += dx * (v - mean_y);
        sxx += dx * dx;
    }
    (sxx > 0.0).then(|| sxy / sxx)
}

/// A service's risk over a range, as `cloudsage risk` prints it.
#[derive(Debug, Clone)]
pub struct ServiceRisk {
    pub service: String,
    /// Windows in the range, oldest first.
    pub windows: Vec<WindowRecord>,
    pub latest_score: f64,
    /// Start of the latest window (Unix seconds).
    pub latest_at: u32,
    /// Mean score over the [`ROLLING_SPAN`] ending at the latest window.
    pub rolling_average: f64,
    /// Least-squares trend over the range, score points per hour.
    pub slope_per_hour: Option<f64>,
}

/// Risk of each service of `project` (or just `service`) over the `since` before the
/// project's newest window. The range ends at the newest data rather than now, so history
/// loaded from old logs reads the same as live data. `None` when the project has no windows.
pub async fn service_risk(
    wh: &Warehouse,
    project: &str,
    service: Option<&str>,
    since: Duration,
) -> anyhow::Result<Option<(TimeRange, Vec<ServiceRisk>)>> {
    let Some(newest) = newest_window(wh, project, service).await? else {
        return Ok(None);
    };
    let range = TimeRange::ending_at(newest, since);
    // The rolling average at the start of the range needs the span before it.
    let fetch = TimeRange::ending_at(newest, since.max(ROLLING_SPAN));
    let mut by_service: BTreeMap<String, Vec<WindowRecord>> = BTreeMap::new();
    for w in history(wh, project, service, fetch).await? {
        by_service.entry(w.service.clone()).or_default().push(w);
    }
    let mut out = vec![];
    for (service, all) in by_service {
        let points: Vec<(u32, f64)> = all.iter().map(|w| (w.window_start, w.score)).collect();
        let rolling = rolling_average(&points, ROLLING_SPAN);
        let windows: Vec<WindowRecord> = all
            .into_iter()
            .filter(|w| w.window_start >= range.from)
            .collect();
        let Some(latest) = windows.last() else {
            // Nothing in the range: the service went quiet before it.
            continue;
        };
        let in_range: Vec<(u32, f64)> = windows.iter().map(|w| (w.window_start, w.score)).collect();
        out.push(ServiceRisk {
            latest_score: latest.score,
            latest_at: latest.window_start,
            rolling_average: rolling.last().map_or(latest.score, |&(_, avg)| avg),
            slope_per_hour: trend_slope_per_hour(&in_range),
            service,
            windows,
        });
    }
    Ok(Some((range, out)))
}

/// A project's current risk: the highest latest score among its services.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectRisk {
    pub project: String,
    pub score: f64,
    /// The service with that score.
    pub riskiest_service: String,
    /// Start of that service's latest window (Unix seconds).
    pub at: u32,
    pub services: usize,
}

#[derive(Debug, clickhouse::Row, Deserialize)]
struct LatestWindow {
    project: String,
    service: String,
    at: u32,
    score: f64,
}

/// Every project, riskiest first, by the latest window of each of its services (a service
/// that was at 90 an hour ago and is at 20 now counts as 20). Ties go by project name.
pub async fn rank_projects(wh: &Warehouse) -> anyhow::Result<Vec<ProjectRisk>> {
    let latest: Vec<LatestWindow> = wh
        .client()
        .query(
            "SELECT project, service, toUInt32(max(window_start)), argMax(score, window_start) \
             FROM risk_windows FINAL GROUP BY project, service",
        )
        .fetch_all()
        .await
        .context("reading the latest window per service")?;
    let mut by_project: BTreeMap<String, ProjectRisk> = BTreeMap::new();
    for w in latest {
        let p = by_project
            .entry(w.project.clone())
            .or_insert_with(|| ProjectRisk {
                project: w.project.clone(),
                score: f64::NEG_INFINITY,
                riskiest_service: String::new(),
                at: 0,
                services: 0,
            });
        p.services += 1;
        if w.score > p.score || (w.score == p.score && w.service < p.riskiest_service) {
            p.score = w.score;
            p.riskiest_service = w.service;
            p.at = w.at;
        }
    }
    let mut ranked: Vec<ProjectRisk> = by_project.into_values().collect();
    ranked.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.project.cmp(&b.project)));
    Ok(ranked)
}

/// The table `top_templates_by_errors` reads (migration 0004).
pub const TEMPLATES_TABLE: &str = "window_templates";

/// The database has no [`TEMPLATES_TABLE`]: it was migrated before migration 0004 (run
/// `cloudsage migrate`).
#[derive(Debug, thiserror::Error)]
#[error("table {TEMPLATES_TABLE} is missing from database {database}: run `cloudsage migrate`")]
pub struct TemplatesTableMissing {
    pub database: String,
}

/// A log template's share of a project's errors.
#[derive(Debug, Clone, PartialEq, clickhouse::Row, Deserialize)]
pub struct TemplateErrors {
    pub template_id: String,
    pub template: String,
    pub errors: u64,
    pub events: u64,
    /// Unix seconds of the first and last window it appeared in.
    pub first_seen: u32,
    pub last_seen: u32,
}

/// The `limit` templates of `project` with the most errors in windows starting in `range`,
/// most errors first (ties by template id). Fails with [`TemplatesTableMissing`] on a
/// database without the templates table.
pub async fn top_templates_by_errors(
    wh: &Warehouse,
    project: &str,
    range: TimeRange,
    limit: u32,
) -> anyhow::Result<Vec<TemplateErrors>> {
    let exists: u64 = wh
        .client()
        .query("SELECT count() FROM system.tables WHERE database = ? AND name = ?")
        .bind(wh.database())
        .bind(TEMPLATES_TABLE)
        .fetch_one()
        .await?;
    if exists == 0 {
        return Err(TemplatesTableMissing {
            database: wh.database().to_string(),
        }
        .into());
    }
    wh.client()
        .query(&format!(
            "SELECT template_id, any(template), sum(errors) AS errs, sum(events), \
             toUInt32(min(window_start)), toUInt32(max(window_start)) \
             FROM {TEMPLATES_TABLE} FINAL \
             WHERE project = ? AND window_start >= toDateTime(?) AND window_start <= toDateTime(?) \
             GROUP BY template_id ORDER BY errs DESC, template_id LIMIT ?"
        ))
        .bind(project)
        .bind(range.from)
        .bind(range.to)
        .bind(limit)
        .fetch_all()
        .await
        .context("reading the top templates")
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: u32 = 3600;
    const DAY: u32 = 24 * H;

    #[test]
    fn slope_of_a_line_is_its_gradient_in_points_per_hour() {
        let line: Vec<(u32, f64)> = (0..10)
            .map(|i| {
                (
                    1_800_000_000 + i * 600,
                    40.0 - 3.0 * f64::from(i * 600) / 3600.0,
                )
            })
            .collect();
        let slope = trend_slope_per_hour(&line).unwrap();
        assert!((slope + 3.0).abs() < 1e-9, "{slope}");
        assert_eq!(trend_slope_per_hour(&line[..1]), None);
        assert_eq!(trend_slope_per_hour(&[(5, 1.0), (5, 9.0)]), None);
    }

    #[test]
    fn rolling_average_keeps_only_the_trailing_span() {
        // Daily points 0, 10, 20, …: the 7-day mean at day d covers days d-6..=d.
        let points: Vec<(u32, f64)> = (0..10).map(|d| (d * DAY, f64::from(d) * 10.0)).collect();
        let avg = rolling_average(&points, ROLLING_SPAN);
        assert_eq!(avg[0], (0, 0.0));
        assert_eq!(avg[2].1, 10.0); // (0 + 10 + 20) / 3
        assert_eq!(avg[9].1, 60.0); // days 3..=9 → 30..=90
        assert_eq!(avg.len(), points.len());
    }
}
