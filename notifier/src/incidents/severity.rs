//! Incident severity (`low` < `medium` < `high` < `critical`) from alert severities and
//! scores; an incident's severity is the highest of its firing alerts'.

use cloudsage_runtime::config::IncidentSeverity;
use cloudsage_schemas::Severity;

/// Score at or above which a warning counts as `high`.
pub const HIGH_SCORE: f64 = 80.0;
/// Score at or above which any alert counts as `critical`.
pub const CRITICAL_SCORE: f64 = 90.0;

/// A CloudSage alert: `critical` alerts or scores ≥ 90 → critical; scores ≥ 80 → high;
/// other warnings → medium; info → low.
pub fn alert_severity(s: Severity, score: f64) -> IncidentSeverity {
    match s {
        Severity::Critical => IncidentSeverity::Critical,
        _ if score >= CRITICAL_SCORE => IncidentSeverity::Critical,
        Severity::Warning if score >= HIGH_SCORE => IncidentSeverity::High,
        Severity::Warning => IncidentSeverity::Medium,
        Severity::Info => IncidentSeverity::Low,
    }
}

/// A vendor record's level: `critical`/`fatal`/`emergency` → critical, `error` → high,
/// `warn`/`warning` → medium; `None` for info and lower (a recovery, not an alert).
pub fn vendor_severity(level: &str) -> Option<IncidentSeverity> {
    match level.to_ascii_lowercase().as_str() {
        "critical" | "fatal" | "emergency" | "alert" => Some(IncidentSeverity::Critical),
        "error" | "err" => Some(IncidentSeverity::High),
        "warn" | "warning" => Some(IncidentSeverity::Medium),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use IncidentSeverity::*;

    #[test]
    fn alert_severities_follow_level_then_score() {
        let cases = [
            (Severity::Warning, 72.0, Medium),
            (Severity::Warning, 80.0, High),
            (Severity::Warning, 95.0, Critical),
            (Severity::Critical, 50.0, Critical),
            (Severity::Info, 10.0, Low),
        ];
        for (s, score, want) in cases {
            assert_eq!(alert_severity(s, score), want, "{s:?} {score}");
        }
    }

    #[test]
    fn vendor_levels() {
        assert_eq!(vendor_severity("error"), Some(High));
        assert_eq!(vendor_severity("WARN"), Some(Medium));
        assert_eq!(vendor_severity("fatal"), Some(Critical));
        assert_eq!(vendor_severity("info"), None);
    }
}
