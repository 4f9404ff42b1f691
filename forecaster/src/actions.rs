//! The action rule table: labels, top factors and chain → three concrete, time-bound actions
//! naming the service and the evidence. First matching rules win; generic rules fill up.

use crate::chain;
use cloudsage_schemas::{Action, ScoredWindow};

struct Rule {
    /// Applies when the window carries this label (or always, when `None`).
    label: Option<&'static str>,
    kind: &'static str,
    /// `{service}` is replaced with the service name.
    title: &'static str,
    deadline_hours: f64,
}

const RULES: &[Rule] = &[
    Rule {
        label: Some("High Error Rate"),
        kind: "investigate_errors",
        title: "Open the newest ERROR lines of {service} and find the failing dependency",
        deadline_hours: 1.0,
    },
    Rule {
        label: Some("High Error Rate"),
        kind: "rollback",
        title: "If {service} was deployed in the last 24 h, roll back to the previous release",
        deadline_hours: 2.0,
    },
    Rule {
        label: None,
        kind: "watch_trend",
        title: "Check {service}'s risk panel again and confirm the trend",
        deadline_hours: 4.0,
    },
    Rule {
        label: None,
        kind: "review_alert_thresholds",
        title: "Review whether {service}'s alert threshold matches its normal error level",
        deadline_hours: 24.0,
    },
    Rule {
        label: None,
        kind: "add_runbook",
        title: "Write down how to diagnose {service} so the next responder is faster",
        deadline_hours: 72.0,
    },
];

/// Three actions for the window, most urgent first. The critical chain halves deadlines.
pub fn propose(window: &ScoredWindow, chain_name: &str) -> Vec<Action> {
    let urgency = if chain_name == chain::CRITICAL {
        0.5
    } else {
        1.0
    };
    let evidence = format!(
        "score {:.0} in window ending {} ms: {} errors, {} warnings of {} lines{}",
        window.score,
        window.window_end_ms,
        window.error_count,
        window.warn_count,
        window.event_count,
        if window.labels.is_empty() {
            String::new()
        } else {
            format!(" ({})", window.labels.join(", "))
        }
    );
    RULES
        .iter()
        .filter(|r| {
            r.label
                .is_none_or(|l| window.labels.iter().any(|wl| wl == l))
        })
        .take(3)
        .map(|r| Action {
            kind: r.kind.to_string(),
            title: r.title.replace("{service}", &window.service),
            evidence: evidence.clone(),
            deadline_hours: r.deadline_hours * urgency,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(labels: &[&str]) -> ScoredWindow {
        ScoredWindow {
            window_id: "w".into(),
            project: "p".into(),
            service: "checkout".into(),
            window_start_ms: 0,
            window_end_ms: 60_000,
            score: 80.0,
            factors: vec![],
            labels: labels.iter().map(|s| s.to_string()).collect(),
            top_factors: vec![],
            event_count: 10,
            error_count: 8,
            warn_count: 0,
            late_count: 0,
        }
    }

    #[test]
    fn error_windows_get_error_actions_naming_the_service() {
        let a = propose(&window(&["High Error Rate"]), chain::CRITICAL);
        assert_eq!(a.len(), 3);
        assert_eq!(a[0].kind, "investigate_errors");
        assert_eq!(a[1].kind, "rollback");
        assert!(a[0].title.contains("checkout"));
        assert_eq!(a[0].deadline_hours, 0.5);
        assert!(a[0].evidence.contains("8 errors"));
    }

    #[test]
    fn calm_windows_still_get_three_generic_actions() {
        let a = propose(&window(&[]), chain::STANDARD);
        let kinds: Vec<_> = a.iter().map(|x| x.kind.as_str()).collect();
        assert_eq!(
            kinds,
            ["watch_trend", "review_alert_thresholds", "add_runbook"]
        );
    }
}
