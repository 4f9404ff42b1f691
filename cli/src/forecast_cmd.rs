//! `cloudsage forecast PROJECT [--service S]`: the latest forecast of each service, from
//! ClickHouse's `forecasts` table: the predicted score with its interval, the confidence and
//! why, the reasoning chain step by step (the risk assessment carries the backtest's MAE) and
//! the proposed actions.

use crate::analytics;
use anyhow::Context as _;
use cloudsage_runtime::rows::ForecastRow;
use cloudsage_runtime::warehouse::Warehouse;
use cloudsage_runtime::Config;
use std::fmt::Write as _;

/// The newest forecast of each service of `project` (or of `service` only), by service.
/// Of several horizons made after the same window, the shortest.
pub async fn latest(
    wh: &Warehouse,
    project: &str,
    service: Option<&str>,
) -> anyhow::Result<Vec<ForecastRow>> {
    wh.client()
        .query(
            "SELECT project, service, toUInt32(generated_at), horizon_hours, forecast_id, \
             based_on_window_id, predicted_score, lower, upper, confidence, confidence_reason, \
             trend_per_hour, chain, chain_step_names, chain_step_details, chain_step_us, \
             action_kinds, action_titles, action_evidence, action_deadline_hours, version \
             FROM forecasts FINAL \
             WHERE project = ? AND (? = '' OR service = ?) \
             ORDER BY service, generated_at DESC, horizon_hours \
             LIMIT 1 BY service",
        )
        .bind(project)
        .bind(service.unwrap_or(""))
        .bind(service.unwrap_or(""))
        .fetch_all()
        .await
        .context("reading forecasts")
}

pub async fn run(config: &Config, project: &str, service: Option<&str>) -> anyhow::Result<()> {
    let wh = analytics::connect(config)?;
    let rows = latest(&wh, project, service).await?;
    if rows.is_empty() {
        println!(
            "no forecasts for project {project}{} in database {}",
            service
                .map(|s| format!(", service {s}"))
                .unwrap_or_default(),
            wh.database()
        );
        return Ok(());
    }
    print!("{}", render(&rows));
    Ok(())
}

/// What `cloudsage forecast` prints, one block per service.
pub fn render(rows: &[ForecastRow]) -> String {
    let mut s = String::new();
    for (i, f) in rows.iter().enumerate() {
        if i > 0 {
            s.push('\n');
        }
        let _ = writeln!(
            s,
            "{}/{}: forecast {} made {} (after window {}), {} h ahead",
            f.project,
            f.service,
            f.forecast_id,
            analytics::utc(f.generated_at),
            f.based_on_window_id,
            f.horizon_hours
        );
        let _ = writeln!(
            s,
            "  predicted {:.1} (95 % interval {:.1} to {:.1}), trend {:+.2} points/h",
            f.predicted_score, f.lower, f.upper, f.trend_per_hour
        );
        let _ = writeln!(
            s,
            "  confidence {:.2}: {}",
            f.confidence, f.confidence_reason
        );
        let _ = writeln!(s, "  chain {}:", f.chain);
        for (n, (name, detail)) in f
            .chain_step_names
            .iter()
            .zip(&f.chain_step_details)
            .enumerate()
        {
            let _ = writeln!(s, "    {}. {name}: {detail}", n + 1);
        }
        let _ = writeln!(s, "  actions:");
        let n = f
            .action_kinds
            .len()
            .min(f.action_titles.len())
            .min(f.action_evidence.len())
            .min(f.action_deadline_hours.len());
        if n == 0 {
            let _ = writeln!(s, "    (none)");
        }
        for a in 0..n {
            let _ = writeln!(
                s,
                "    {}. [{}] {} (within {} h)\n       evidence: {}",
                a + 1,
                f.action_kinds[a],
                f.action_titles[a],
                f.action_deadline_hours[a],
                f.action_evidence[a]
            );
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> ForecastRow {
        ForecastRow {
            project: "shop".into(),
            service: "checkout".into(),
            generated_at: 1_700_000_000,
            horizon_hours: 24,
            forecast_id: "abc".into(),
            based_on_window_id: "w9".into(),
            predicted_score: 71.26,
            lower: 60.0,
            upper: 82.5,
            confidence: 0.64,
            confidence_reason: "narrow interval".into(),
            trend_per_hour: 1.5,
            chain: "preventive_forecast".into(),
            chain_step_names: vec!["risk_assessment".into(), "action_generation".into()],
            chain_step_details: vec![
                "backtest MAE 1 h ahead 3.10 over 12 checks".into(),
                "rule table: rollback".into(),
            ],
            chain_step_us: vec![3, 4],
            action_kinds: vec!["rollback".into()],
            action_titles: vec!["Roll checkout back".into()],
            action_evidence: vec!["score 71".into()],
            action_deadline_hours: vec![0.5],
            version: 1,
        }
    }

    #[test]
    fn shows_prediction_confidence_chain_and_actions() {
        let out = render(&[
            row(),
            ForecastRow {
                service: "api".into(),
                action_kinds: vec![],
                ..row()
            },
        ]);
        assert!(out.starts_with("shop/checkout: forecast abc made 2023-11-14T22:13:20Z (after window w9), 24 h ahead\n"), "{out}");
        assert!(out.contains("predicted 71.3 (95 % interval 60.0 to 82.5), trend +1.50 points/h"));
        assert!(out.contains("confidence 0.64: narrow interval"));
        assert!(out.contains("    1. risk_assessment: backtest MAE 1 h ahead 3.10 over 12 checks"));
        assert!(out.contains(
            "    1. [rollback] Roll checkout back (within 0.5 h)\n       evidence: score 71"
        ));
        assert!(out.contains("shop/api:"));
        assert!(out.contains("    (none)"));
    }
}
