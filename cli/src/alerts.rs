//! `cloudsage alerts PROJECT [--since 24h]`: the project's notification history from
//! ClickHouse (`notifications`, joined with `alerts` for what each alert was about): when,
//! which alert, which receiver, the result (`delivered`, `failed: …`, `silenced`,
//! `unrouted`) and the number of attempts, newest first.

use crate::analytics::{self, utc};
use cloudsage_runtime::Config;
use serde::Deserialize;
use std::fmt::Write as _;
use std::time::Duration;

/// One notification, as listed.
#[derive(Debug, Clone, PartialEq, clickhouse::Row, Deserialize)]
pub struct NotificationLine {
    pub sent_at: u32,
    pub alert_id: String,
    pub receiver: String,
    pub status: String,
    pub result: String,
    pub attempts: u32,
    pub service: String,
    pub severity: String,
    pub summary: String,
}

const QUERY: &str =
    "SELECT toUInt32(sent_at) AS sent_at, alert_id, receiver, status, result, attempts, \
     service, severity, summary \
     FROM (SELECT alert_id, receiver, status, result, attempts, sent_at FROM notifications FINAL \
           WHERE project = ? AND sent_at >= toDateTime(?)) \
     ANY LEFT JOIN (SELECT alert_id, any(service) AS service, any(severity) AS severity, \
           any(summary) AS summary FROM alerts WHERE project = ? GROUP BY alert_id) \
     USING alert_id \
     ORDER BY sent_at DESC, alert_id, receiver";

/// The notifications of `project` sent at or after `from` (Unix seconds).
pub async fn history(
    wh: &cloudsage_runtime::warehouse::Warehouse,
    project: &str,
    from: u32,
) -> anyhow::Result<Vec<NotificationLine>> {
    Ok(wh
        .client()
        .query(QUERY)
        .bind(project)
        .bind(from)
        .bind(project)
        .fetch_all()
        .await?)
}

pub async fn run(config: &Config, project: &str, since: Duration) -> anyhow::Result<()> {
    let wh = analytics::connect(config)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let from = now.saturating_sub(since.as_secs()) as u32;
    let lines = history(&wh, project, from).await?;
    print!("{}", render(project, from, &lines));
    Ok(())
}

fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut c: String = s.chars().take(max.saturating_sub(1)).collect();
        c.push('…');
        c
    }
}

/// The table `cloudsage alerts` prints.
pub fn render(project: &str, from: u32, lines: &[NotificationLine]) -> String {
    let mut s = String::new();
    if lines.is_empty() {
        let _ = writeln!(
            s,
            "no notifications for project {project} since {}",
            utc(from)
        );
        return s;
    }
    let _ = writeln!(
        s,
        "Notifications of {project} since {} (UTC), newest first",
        utc(from)
    );
    let _ = writeln!(
        s,
        "{:<20} {:<16} {:<12} {:<9} {:<8} {:<14} {:>8}  result / summary",
        "when", "alert", "service", "status", "severity", "receiver", "attempts"
    );
    for l in lines {
        let service = if l.service.is_empty() {
            "-"
        } else {
            &l.service
        };
        let severity = if l.severity.is_empty() {
            "-"
        } else {
            &l.severity
        };
        let _ = writeln!(
            s,
            "{:<20} {:<16} {:<12} {:<9} {:<8} {:<14} {:>8}  {} — {}",
            utc(l.sent_at),
            clip(&l.alert_id, 16),
            clip(service, 12),
            l.status,
            severity,
            clip(&l.receiver, 14),
            l.attempts,
            l.result,
            clip(&l.summary, 60)
        );
    }
    let count = |f: &dyn Fn(&str) -> bool| lines.iter().filter(|l| f(&l.result)).count();
    let _ = writeln!(
        s,
        "{} notifications: {} delivered, {} failed, {} silenced",
        lines.len(),
        count(&|r| r == "delivered"),
        count(&|r| r.starts_with("failed")),
        count(&|r| r == "silenced")
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(at: u32, receiver: &str, result: &str, attempts: u32) -> NotificationLine {
        NotificationLine {
            sent_at: at,
            alert_id: "a1b2c3".into(),
            receiver: receiver.into(),
            status: "firing".into(),
            result: result.into(),
            attempts,
            service: "checkout".into(),
            severity: "critical".into(),
            summary: "checkout risk 91 (error_rate)".into(),
        }
    }

    #[test]
    fn lists_each_notification_and_totals() {
        let out = render(
            "shop",
            1_795_132_800,
            &[
                line(1_795_136_400, "pager", "delivered", 1),
                line(1_795_136_400, "chat", "failed: 404 Not Found", 1),
                line(1_795_136_460, "mail", "silenced", 0),
            ],
        );
        let rows: Vec<&str> = out.lines().collect();
        assert!(
            rows[0].contains("shop") && rows[0].contains("2026-11-20T00:00:00Z"),
            "{out}"
        );
        assert!(
            rows[2].starts_with("2026-11-20T01:00:00Z") && rows[2].contains("pager"),
            "{out}"
        );
        assert!(rows[3].contains("failed: 404 Not Found"), "{out}");
        assert!(
            rows[4].contains("mail") && rows[4].contains("silenced"),
            "{out}"
        );
        assert_eq!(
            rows[5],
            "3 notifications: 1 delivered, 1 failed, 1 silenced"
        );
    }

    #[test]
    fn empty_history_says_so_and_long_fields_are_clipped() {
        assert!(render("shop", 0, &[]).starts_with("no notifications for project shop"));
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("abc", 4), "abc");
    }
}
