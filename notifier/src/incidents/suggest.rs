//! Suggested remediation, from what the incident's alerts say:
//!
//! | evidence | action | confidence |
//! |---|---|---|
//! | OOM / memory pressure (`memory` factor, "oom", "out of memory") | `restart_pods` | 0.85 |
//! | error spike starting within `deploy_window` after a deploy event | `rollback` | 0.80 |
//! | error spike and an alert mentioning a deploy (no deploy event) | `rollback` | 0.65 |
//! | latency or CPU (`latency`/`cpu` factor or text) | `scale_service` | 0.70 |
//! | always, last | `investigate` | 0.30 |
//!
//! These are prior confidences; [`crate::decision::learning`] adjusts them per project from
//! reported outcomes.

use crate::incidents::grouping::Incident;

#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    pub kind: &'static str,
    pub confidence: f64,
    pub reason: String,
}

pub const RESTART_PODS: &str = "restart_pods";
pub const ROLLBACK: &str = "rollback";
pub const SCALE_SERVICE: &str = "scale_service";
pub const INVESTIGATE: &str = "investigate";

fn mentions(i: &Incident, words: &[&str]) -> bool {
    i.texts.iter().any(|t| words.iter().any(|w| t.contains(w)))
}

/// Suggestions, most confident first. `last_deploy_ms` is the latest deploy of the service
/// at or before the incident opened, if any.
pub fn suggest(
    i: &Incident,
    last_deploy_ms: Option<i64>,
    deploy_window_ms: i64,
) -> Vec<Suggestion> {
    let mut out = vec![];
    if mentions(i, &["memory", "oom", "out of memory", "oomkilled"]) {
        out.push(Suggestion {
            kind: RESTART_PODS,
            confidence: 0.85,
            reason: "memory pressure / OOM in the alerts".into(),
        });
    }
    if mentions(i, &["error"]) {
        let deployed = last_deploy_ms
            .filter(|d| *d <= i.opened_at_ms && i.opened_at_ms - d <= deploy_window_ms);
        if let Some(d) = deployed {
            out.push(Suggestion {
                kind: ROLLBACK,
                confidence: 0.80,
                reason: format!(
                    "error spike {} min after a deploy",
                    (i.opened_at_ms - d) / 60_000
                ),
            });
        } else if mentions(i, &["deploy"]) {
            out.push(Suggestion {
                kind: ROLLBACK,
                confidence: 0.65,
                reason: "error spike with an alert mentioning a deploy".into(),
            });
        }
    }
    if mentions(i, &["latency", "cpu", "slow", "timeout"]) {
        out.push(Suggestion {
            kind: SCALE_SERVICE,
            confidence: 0.70,
            reason: "latency / CPU pressure in the alerts".into(),
        });
    }
    out.push(Suggestion {
        kind: INVESTIGATE,
        confidence: 0.30,
        reason: "no specific remediation matches; look at the logs".into(),
    });
    out.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloudsage_runtime::config::IncidentSeverity;

    fn incident(texts: &[&str], opened: i64) -> Incident {
        Incident {
            incident_id: "i".into(),
            key: "k".into(),
            project: "shop".into(),
            service: "api".into(),
            title: "t".into(),
            severity: IncidentSeverity::Medium,
            alert_ids: vec![],
            sources: Default::default(),
            firing: Default::default(),
            texts: texts.iter().map(|t| t.to_string()).collect(),
            opened_at_ms: opened,
            updated_at_ms: opened,
            resolved_at_ms: None,
        }
    }

    const MIN: i64 = 60_000;

    #[test]
    fn table() {
        let cases: [(&[&str], Option<i64>, &str); 7] = [
            (
                &["risk 80: memory pressure top_factor memory"],
                None,
                RESTART_PODS,
            ),
            (&["container oomkilled"], None, RESTART_PODS),
            (
                &["high error rate error_rate"],
                Some(100 * MIN - 10 * MIN),
                ROLLBACK,
            ),
            (&["high error rate", "deploy v42 finished"], None, ROLLBACK),
            (
                &["high error rate"],
                Some(100 * MIN - 45 * MIN),
                INVESTIGATE,
            ),
            (&["p95 latency 4s top_factor latency"], None, SCALE_SERVICE),
            (&["something odd"], None, INVESTIGATE),
        ];
        for (texts, deploy, want) in cases {
            let s = suggest(&incident(texts, 100 * MIN), deploy, 30 * MIN);
            assert_eq!(s[0].kind, want, "{texts:?} {deploy:?}: {s:?}");
            assert_eq!(s.last().unwrap().kind, INVESTIGATE);
        }
    }

    #[test]
    fn deploy_event_beats_a_mention_and_later_deploys_do_not_count() {
        let with_event = suggest(
            &incident(&["error spike"], 100 * MIN),
            Some(95 * MIN),
            30 * MIN,
        );
        assert_eq!(
            (with_event[0].kind, with_event[0].confidence),
            (ROLLBACK, 0.80)
        );
        let after = suggest(
            &incident(&["error spike"], 100 * MIN),
            Some(101 * MIN),
            30 * MIN,
        );
        assert_eq!(after[0].kind, INVESTIGATE);
    }
}
