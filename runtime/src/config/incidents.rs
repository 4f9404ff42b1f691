//! `[incidents]`: grouping alerts into incidents and deciding what to do about each one.

use super::Secret;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// `[incidents]`: the notifier's third loop. It reads `alerts` (and vendor alerts from
/// `logs.raw`), groups them into incidents, suggests a remediation, and decides per incident:
/// `AUTO_REMEDIATE` (call the runbook webhook), `SCHEDULE_MAINTENANCE` or `ESCALATE_HUMAN`.
/// Every incident and decision is written to ClickHouse (`incidents`, `decisions`).
///
/// ```toml
/// [incidents]
/// dry_run = false                      # default true: decide and record, call nothing
/// runbook = { url = "https://runbooks.example/hook" }
/// max_actions_per_hour = 5
/// [incidents.projects.shop]
/// critical_services = ["payments"]     # always escalated to a person
/// service_impact = { checkout = "high" }
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IncidentsConfig {
    /// Run the incident loop in the `notifier` binary.
    pub enabled: bool,
    /// An incident stays open for alerts of its group this long after its last alert (event
    /// time); a later alert opens a new incident.
    #[serde(with = "humantime_serde")]
    pub group_window: Duration,
    /// Group per (project, service, rule) instead of per (project, service). With the
    /// default (`false`) vendor alerts of a service join the service's risk incident.
    pub group_by_rule: bool,
    /// `logs.raw` sources (vendor webhooks) whose `warn`/`error` records are external alerts
    /// that open or join incidents.
    pub external_sources: Vec<String>,
    /// An error spike starting this long after a deploy of the same service (a GitHub
    /// workflow run or an alert whose text mentions a deploy) suggests a rollback.
    #[serde(with = "humantime_serde")]
    pub deploy_window: Duration,
    /// Decide and record only; never call the runbook webhook. On by default.
    pub dry_run: bool,
    /// Where `AUTO_REMEDIATE` decisions are sent (POST JSON with the incident and the
    /// action) when `dry_run = false`.
    pub runbook: Option<RunbookWebhook>,
    /// At most this many automatic actions per project in any sliding hour; further
    /// eligible incidents are scheduled for maintenance instead.
    pub max_actions_per_hour: u32,
    /// Confidence (0..1) at or above which an action may run automatically.
    pub auto_min_confidence: f64,
    /// Confidence at or above which an action is scheduled rather than escalated.
    pub schedule_min_confidence: f64,
    /// Highest incident severity (`low`, `medium`, `high`) that may be remediated
    /// automatically; `critical` incidents always go to a person.
    pub max_auto_severity: IncidentSeverity,
    /// Weight, in observations, of an action's built-in confidence against reported
    /// outcomes (Beta prior strength): with 4, four outcomes weigh as much as the prior.
    pub prior_strength: f64,
    /// Per-project policy.
    pub projects: BTreeMap<String, ProjectPolicy>,
}

impl Default for IncidentsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            group_window: Duration::from_secs(30 * 60),
            group_by_rule: false,
            external_sources: vec!["datadog".into(), "cloudwatch".into(), "sentry".into()],
            deploy_window: Duration::from_secs(30 * 60),
            dry_run: true,
            runbook: None,
            max_actions_per_hour: 5,
            auto_min_confidence: 0.8,
            schedule_min_confidence: 0.5,
            max_auto_severity: IncidentSeverity::High,
            prior_strength: 4.0,
            projects: BTreeMap::new(),
        }
    }
}

/// `runbook = { url, timeout }`: the remediation webhook.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunbookWebhook {
    /// Target URL. A secret: never logged.
    pub url: Secret,
    /// Per-call timeout; a timeout counts as a failed action.
    #[serde(with = "humantime_serde", default = "default_runbook_timeout")]
    pub timeout: Duration,
}

fn default_runbook_timeout() -> Duration {
    Duration::from_secs(10)
}

/// `[incidents.projects.<name>]`: one project's decision policy.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProjectPolicy {
    /// Services whose incidents always go to a person.
    pub critical_services: Vec<String>,
    /// Business impact (`low`, `medium`, `high`) per service; unlisted services have
    /// `default_impact`.
    pub service_impact: BTreeMap<String, BusinessImpact>,
    /// Impact of services not in `service_impact` (default `low`).
    pub default_impact: Option<BusinessImpact>,
    /// Overrides `max_actions_per_hour` for this project.
    pub max_actions_per_hour: Option<u32>,
}

/// How bad an incident is, from its alerts' severities and scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IncidentSeverity {
    Low,
    Medium,
    High,
    Critical,
}

impl IncidentSeverity {
    pub fn name(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }
}

/// What an outage of a service costs the business.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BusinessImpact {
    #[default]
    Low,
    Medium,
    High,
}

impl BusinessImpact {
    pub fn name(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
        }
    }
}

impl IncidentsConfig {
    /// The business impact of `service` in `project`.
    pub fn impact(&self, project: &str, service: &str) -> BusinessImpact {
        self.projects
            .get(project)
            .map(|p| {
                p.service_impact
                    .get(service)
                    .copied()
                    .unwrap_or(p.default_impact.unwrap_or_default())
            })
            .unwrap_or_default()
    }

    /// Whether `service` is one of `project`'s critical services.
    pub fn is_critical_service(&self, project: &str, service: &str) -> bool {
        self.projects
            .get(project)
            .is_some_and(|p| p.critical_services.iter().any(|s| s == service))
    }

    /// The hourly cap of automatic actions for `project`.
    pub fn cap_for(&self, project: &str) -> u32 {
        self.projects
            .get(project)
            .and_then(|p| p.max_actions_per_hour)
            .unwrap_or(self.max_actions_per_hour)
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    use super::*;

    #[test]
    fn defaults_are_safe() {
        let c = Config::from_toml("").unwrap().incidents;
        assert!(c.dry_run && c.runbook.is_none());
        assert_eq!(c.max_actions_per_hour, 5);
        assert_eq!(c.group_window, Duration::from_secs(1800));
    }

    #[test]
    fn project_policies_parse_and_unknown_keys_fail() {
        let c = Config::from_toml(
            r#"
[incidents]
dry_run = false
runbook = { url = "http://127.0.0.1:1/hook", timeout = "2s" }
max_auto_severity = "medium"
[incidents.projects.shop]
critical_services = ["payments"]
service_impact = { checkout = "high" }
max_actions_per_hour = 2
"#,
        )
        .unwrap()
        .incidents;
        assert!(!c.dry_run);
        assert_eq!(c.runbook.as_ref().unwrap().timeout, Duration::from_secs(2));
        assert!(c.is_critical_service("shop", "payments"));
        assert!(!c.is_critical_service("shop", "checkout"));
        assert_eq!(c.impact("shop", "checkout"), BusinessImpact::High);
        assert_eq!(c.impact("shop", "api"), BusinessImpact::Low);
        assert_eq!((c.cap_for("shop"), c.cap_for("other")), (2, 5));
        assert!(Config::from_toml("[incidents]\ndryrun = true").is_err());
        assert!(Config::from_toml("[incidents.projects.p]\ncritical = []").is_err());
    }
}
