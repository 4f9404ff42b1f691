//! The action rule table: labels, top factors and chain → concrete, time-bound candidate
//! actions naming the service and the evidence, in table order (specific rules first, generic
//! ones fill up). [`propose`] takes the first three; the forecaster re-ranks the candidates
//! with what the project taught it first (see [`crate::feedback`]).

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
        label: Some("Memory Pressure"),
        kind: "restart_pods",
        title: "Restart {service}'s pods with the highest memory use and look for a leak",
        deadline_hours: 1.0,
    },
    Rule {
        label: Some("Latency Spike"),
        kind: "scale_service",
        title: "Add replicas to {service} and check its slowest dependency",
        deadline_hours: 2.0,
    },
    Rule {
        label: Some("CPU Saturation"),
        kind: "scale_service",
        title: "Add replicas (or CPU) to {service} and find the hot code path",
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

/// How many actions a forecast proposes.
pub const PROPOSED: usize = 3;

/// Every action kind the rule table can propose (feedback is learned for these only).
pub fn kinds() -> Vec<&'static str> {
    let mut kinds: Vec<&'static str> = vec![];
    for r in RULES {
        if !kinds.contains(&r.kind) {
            kinds.push(r.kind);
        }
    }
    kinds
}

/// Three actions for the window, most urgent first: the first [`PROPOSED`] candidates.
pub fn propose(window: &ScoredWindow, chain_name: &str) -> Vec<Action> {
    let mut actions = candidates(window, chain_name);
    actions.truncate(PROPOSED);
    actions
}

/// Every rule's action that applies to the window, in table order, one per kind. The
/// critical chain halves deadlines.
pub fn candidates(window: &ScoredWindow, chain_name: &str) -> Vec<Action> {
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
    let mut seen: Vec<&str> = vec![];
    RULES
        .iter()
        .filter(|r| {
            r.label
                .is_none_or(|l| window.labels.iter().any(|wl| wl == l))
        })
        .filter(|r| {
            let first = !seen.contains(&r.kind);
            seen.push(r.kind);
            first
        })
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
    fn candidates_hold_every_matching_kind_once_in_table_order() {
        let c = candidates(
            &window(&["Latency Spike", "CPU Saturation", "Memory Pressure"]),
            chain::STANDARD,
        );
        let kinds: Vec<_> = c.iter().map(|x| x.kind.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "restart_pods",
                "scale_service",
                "watch_trend",
                "review_alert_thresholds",
                "add_runbook"
            ]
        );
        // The first scale_service rule (latency) wins.
        assert!(c[1].title.contains("slowest dependency"));
        assert_eq!(
            propose(&window(&["Memory Pressure"]), chain::STANDARD).len(),
            3
        );
        assert_eq!(super::kinds().len(), 7);
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
