//! `cloudsage feedback PROJECT [--since 7d]`: the project's feedback on proposed actions, from
//! ClickHouse's `feedback` table (the audit trail the forecaster writes), oldest first, then
//! what the forecaster learned from it: the score of each action kind and the ignore rules.

use crate::analytics;
use anyhow::Context as _;
use cloudsage_runtime::warehouse::Warehouse;
use cloudsage_runtime::Config;
use cloudsage_schemas::{Feedback, FeedbackVerdict};
use forecaster::feedback::ProjectLearning;
use serde::Deserialize;
use std::fmt::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// One row of `feedback`; absent optional fields are `''`.
#[derive(Debug, Clone, PartialEq, clickhouse::Row, Deserialize)]
pub struct FeedbackRecord {
    /// Unix seconds.
    pub received_at: u32,
    pub feedback_id: String,
    pub service: String,
    pub forecast_id: String,
    pub action_kind: String,
    pub verdict: String,
    pub pattern: String,
    pub comment: String,
    pub user: String,
}

impl FeedbackRecord {
    /// Back to the message (for learning from it as the forecaster did); `None` for an
    /// unknown verdict.
    pub fn to_feedback(&self, project: &str) -> Option<Feedback> {
        let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
        Some(Feedback {
            feedback_id: self.feedback_id.clone(),
            project: project.to_string(),
            service: opt(&self.service),
            forecast_id: opt(&self.forecast_id),
            action_kind: opt(&self.action_kind),
            verdict: FeedbackVerdict::from_name(&self.verdict)?,
            pattern: opt(&self.pattern),
            comment: opt(&self.comment),
            user: opt(&self.user),
            received_at_ms: i64::from(self.received_at) * 1000,
        })
    }
}

/// Feedback of `project` received at or after `since_secs` (Unix seconds), each once, oldest
/// first.
pub async fn list(
    wh: &Warehouse,
    project: &str,
    since_secs: u32,
) -> anyhow::Result<Vec<FeedbackRecord>> {
    wh.client()
        .query(
            "SELECT toUInt32(received_at), feedback_id, service, forecast_id, action_kind, \
             verdict, pattern, comment, user \
             FROM feedback FINAL \
             WHERE project = ? AND received_at >= toDateTime(?) \
             ORDER BY received_at, feedback_id",
        )
        .bind(project)
        .bind(since_secs)
        .fetch_all()
        .await
        .context("reading feedback (run `cloudsage migrate` if the table is missing)")
}

pub async fn run(config: &Config, project: &str, since: Option<Duration>) -> anyhow::Result<()> {
    let wh = analytics::connect(config)?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let since_secs = since.map_or(0, |s| now.saturating_sub(s.as_secs()));
    let since_secs = u32::try_from(since_secs).unwrap_or(u32::MAX);
    let rows = list(&wh, project, since_secs).await?;
    print!("{}", render(project, &rows));
    Ok(())
}

/// What `cloudsage feedback` prints.
pub fn render(project: &str, rows: &[FeedbackRecord]) -> String {
    let mut s = String::new();
    if rows.is_empty() {
        let _ = writeln!(s, "no feedback for project {project}");
        return s;
    }
    let _ = writeln!(s, "Feedback of {project} ({} records)", rows.len());
    let _ = writeln!(
        s,
        "{:<20} {:<14} {:<24} {:<14} {:<16} {:<10} comment",
        "received (UTC)", "verdict", "action / pattern", "service", "forecast", "user"
    );
    let dash = |v: &str| {
        if v.is_empty() {
            "-".to_string()
        } else {
            v.to_string()
        }
    };
    for r in rows {
        let target = match (r.action_kind.as_str(), r.pattern.as_str()) {
            (k, "") => dash(k),
            ("", p) => format!("~{p:?}"),
            (k, p) => format!("{k} ~{p:?}"),
        };
        let _ = writeln!(
            s,
            "{:<20} {:<14} {:<24} {:<14} {:<16} {:<10} {}",
            analytics::utc(r.received_at),
            r.verdict,
            target,
            dash(&r.service),
            dash(&r.forecast_id),
            dash(&r.user),
            r.comment.replace('\n', " ")
        );
    }
    let learning = learned(project, rows);
    if !learning.tallies.is_empty() || !learning.ignores.is_empty() {
        let _ = writeln!(s, "\nWhat the forecaster learned (Beta(1,1) prior):");
        for (kind, t) in &learning.tallies {
            let _ = writeln!(s, "  {kind:<24} {}", t.describe());
        }
        for i in &learning.ignores {
            let what = match (&i.kind, &i.pattern) {
                (Some(k), Some(p)) => format!("kind {k} or containing {p:?}"),
                (Some(k), None) => format!("kind {k}"),
                (None, Some(p)) => format!("actions containing {p:?}"),
                (None, None) => continue,
            };
            let scope = i
                .service
                .as_deref()
                .map_or_else(|| "every service".to_string(), |s| format!("service {s}"));
            let _ = writeln!(s, "  ignored: {what} ({scope})");
        }
    }
    s
}

/// What the forecaster learns from these rows (when it saw all of them).
pub fn learned(project: &str, rows: &[FeedbackRecord]) -> ProjectLearning {
    let kinds = forecaster::actions::kinds();
    let mut l = ProjectLearning::default();
    for f in rows.iter().filter_map(|r| r.to_feedback(project)) {
        l.learn(&f, &kinds);
    }
    l
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(verdict: &str, kind: &str, pattern: &str) -> FeedbackRecord {
        FeedbackRecord {
            received_at: 1_700_000_000,
            feedback_id: format!("{verdict}{kind}"),
            service: "checkout".into(),
            forecast_id: String::new(),
            action_kind: kind.into(),
            verdict: verdict.into(),
            pattern: pattern.into(),
            comment: "line\nbreak".into(),
            user: String::new(),
        }
    }

    #[test]
    fn lists_feedback_and_what_was_learned() {
        let mut rows: Vec<_> = (0..4).map(|_| row("helpful", "restart_pods", "")).collect();
        rows.push(row("not_helpful", "restart_pods", ""));
        rows.push(row("ignore_pattern", "", "runbook"));
        rows.push(row("bogus", "rollback", ""));
        let out = render("shop", &rows);
        assert!(out.contains("Feedback of shop (7 records)"), "{out}");
        assert!(out.contains("2023-11-14T22:13:20Z helpful"), "{out}");
        assert!(out.contains("~\"runbook\""), "{out}");
        assert!(out.contains("line break"), "{out}");
        assert!(
            out.contains("restart_pods             4 helpful / 1 not (0.71)"),
            "{out}"
        );
        assert!(
            out.contains("ignored: actions containing \"runbook\" (service checkout)"),
            "{out}"
        );
        let l = learned("shop", &rows);
        assert!(
            !l.tallies.contains_key("rollback"),
            "unknown verdicts teach nothing"
        );
        assert_eq!(l.ignores.len(), 1);
        assert_eq!(render("shop", &[]), "no feedback for project shop\n");
    }
}
