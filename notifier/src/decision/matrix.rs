//! The decision matrix. Rows are checked in order; the first that matches decides:
//!
//! | # | condition | verdict |
//! |---|---|---|
//! | 1 | the service is one of the project's `critical_services` | ESCALATE_HUMAN |
//! | 2 | severity `critical` | ESCALATE_HUMAN |
//! | 3 | business impact `high` | ESCALATE_HUMAN |
//! | 4 | only `investigate` is suggested: severity `high` → ESCALATE_HUMAN, else | SCHEDULE_MAINTENANCE |
//! | 5 | confidence ≥ `auto_min_confidence`, impact `low`, severity ≤ `max_auto_severity`, cap not reached | AUTO_REMEDIATE |
//! | 5r | the same, but this action already ran automatically for this incident (it got worse) | ESCALATE_HUMAN |
//! | 6 | the same, but the hourly cap is reached | SCHEDULE_MAINTENANCE |
//! | 7 | confidence ≥ `schedule_min_confidence` and severity ≤ `medium` | SCHEDULE_MAINTENANCE |
//! | 8 | otherwise (low confidence, or high severity with medium impact) | ESCALATE_HUMAN |

use crate::incidents::suggest::INVESTIGATE;
use cloudsage_runtime::config::{BusinessImpact, IncidentSeverity, IncidentsConfig};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    AutoRemediate,
    ScheduleMaintenance,
    EscalateHuman,
}

impl Verdict {
    pub fn name(self) -> &'static str {
        match self {
            Verdict::AutoRemediate => "AUTO_REMEDIATE",
            Verdict::ScheduleMaintenance => "SCHEDULE_MAINTENANCE",
            Verdict::EscalateHuman => "ESCALATE_HUMAN",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    pub auto_min_confidence: f64,
    pub schedule_min_confidence: f64,
    pub max_auto_severity: IncidentSeverity,
}

impl From<&IncidentsConfig> for Thresholds {
    fn from(c: &IncidentsConfig) -> Self {
        Self {
            auto_min_confidence: c.auto_min_confidence,
            schedule_min_confidence: c.schedule_min_confidence,
            max_auto_severity: c.max_auto_severity.min(IncidentSeverity::High),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Inputs<'a> {
    pub critical_service: bool,
    pub severity: IncidentSeverity,
    pub impact: BusinessImpact,
    pub action: &'a str,
    pub confidence: f64,
    /// Whether the project's hourly cap of automatic actions has room.
    pub cap_available: bool,
    /// Whether this action already ran automatically for this incident.
    pub repeated: bool,
}

/// The verdict and the matrix row that gave it.
pub fn decide(i: &Inputs, t: &Thresholds) -> (Verdict, &'static str) {
    use IncidentSeverity as S;
    use Verdict::*;
    if i.critical_service {
        return (EscalateHuman, "1: critical service");
    }
    if i.severity == S::Critical {
        return (EscalateHuman, "2: critical severity");
    }
    if i.impact == BusinessImpact::High {
        return (EscalateHuman, "3: high business impact");
    }
    if i.action == INVESTIGATE {
        return if i.severity >= S::High {
            (EscalateHuman, "4: no automatable action, high severity")
        } else {
            (ScheduleMaintenance, "4: no automatable action")
        };
    }
    let auto_eligible = i.confidence >= t.auto_min_confidence
        && i.impact == BusinessImpact::Low
        && i.severity <= t.max_auto_severity;
    if auto_eligible {
        return if i.repeated {
            (EscalateHuman, "5r: automatic remediation already tried")
        } else if i.cap_available {
            (AutoRemediate, "5: high confidence, low impact")
        } else {
            (
                ScheduleMaintenance,
                "6: hourly cap of automatic actions reached",
            )
        };
    }
    if i.confidence >= t.schedule_min_confidence && i.severity <= S::Medium {
        return (
            ScheduleMaintenance,
            "7: enough confidence, moderate severity",
        );
    }
    (EscalateHuman, "8: low confidence or high severity")
}

#[cfg(test)]
mod tests {
    use super::*;
    use BusinessImpact as I;
    use IncidentSeverity as S;
    use Verdict::*;

    #[test]
    fn matrix_table() {
        let t = Thresholds::from(&IncidentsConfig::default());
        // (critical service, severity, impact, action, confidence, cap room) → verdict
        let cases = [
            (
                true,
                S::Low,
                I::Low,
                "restart_pods",
                0.99,
                true,
                EscalateHuman,
            ),
            (
                false,
                S::Critical,
                I::Low,
                "restart_pods",
                0.99,
                true,
                EscalateHuman,
            ),
            (
                false,
                S::Medium,
                I::High,
                "restart_pods",
                0.99,
                true,
                EscalateHuman,
            ),
            (
                false,
                S::High,
                I::Low,
                "investigate",
                0.99,
                true,
                EscalateHuman,
            ),
            (
                false,
                S::Medium,
                I::Low,
                "investigate",
                0.30,
                true,
                ScheduleMaintenance,
            ),
            (
                false,
                S::High,
                I::Low,
                "restart_pods",
                0.85,
                true,
                AutoRemediate,
            ),
            (
                false,
                S::Medium,
                I::Low,
                "rollback",
                0.80,
                true,
                AutoRemediate,
            ),
            (
                false,
                S::Medium,
                I::Low,
                "rollback",
                0.80,
                false,
                ScheduleMaintenance,
            ),
            (
                false,
                S::Medium,
                I::Low,
                "scale_service",
                0.70,
                true,
                ScheduleMaintenance,
            ),
            (
                false,
                S::Medium,
                I::Medium,
                "restart_pods",
                0.90,
                true,
                ScheduleMaintenance,
            ),
            (
                false,
                S::High,
                I::Medium,
                "restart_pods",
                0.90,
                true,
                EscalateHuman,
            ),
            (
                false,
                S::Medium,
                I::Low,
                "scale_service",
                0.40,
                true,
                EscalateHuman,
            ),
        ];
        for (critical_service, severity, impact, action, confidence, cap_available, want) in cases {
            let i = Inputs {
                critical_service,
                severity,
                impact,
                action,
                confidence,
                cap_available,
                repeated: false,
            };
            assert_eq!(decide(&i, &t).0, want, "{i:?}");
        }
    }

    #[test]
    fn thresholds_are_configurable() {
        let strict = Thresholds {
            auto_min_confidence: 0.95,
            schedule_min_confidence: 0.5,
            max_auto_severity: S::Low,
        };
        let i = Inputs {
            critical_service: false,
            severity: S::Medium,
            impact: I::Low,
            action: "restart_pods",
            confidence: 0.9,
            cap_available: true,
            repeated: false,
        };
        assert_eq!(decide(&i, &strict).0, ScheduleMaintenance);
        let low = Inputs {
            severity: S::Low,
            confidence: 0.96,
            ..i
        };
        assert_eq!(decide(&low, &strict).0, AutoRemediate);
        let again = Inputs {
            repeated: true,
            ..low
        };
        assert_eq!(decide(&again, &strict).0, EscalateHuman);
    }
}
