//! The console receiver: one line per notification on standard output.

use cloudsage_runtime::rows::{severity_name, status_name};
use cloudsage_schemas::Alert;

pub const CONSOLE: &str = "console";

/// `[FIRING] critical <alert id> — <summary>`
pub fn line(alert: &Alert) -> String {
    format!(
        "[{}] {} {} — {}",
        status_name(alert.status).to_uppercase(),
        severity_name(alert.severity),
        alert.alert_id,
        alert.summary
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::sample_alert;

    #[test]
    fn one_line_with_status_severity_and_id() {
        assert_eq!(
            line(&sample_alert()),
            "[FIRING] critical a1 — shop/checkout risk 93 ≥ threshold 70"
        );
    }
}
