//! Alertmanager-style matchers (`name=value`, `name!=value`, `name=~re`, `name!~re`) over an
//! alert: `project`, `service`, `severity`, `rule` and `status` name the alert's fields, any
//! other name a label (a missing label is the empty string, as in Alertmanager).

use cloudsage_runtime::rows::status_name;
use cloudsage_schemas::{Alert, Severity};
use regex::Regex;
use std::fmt;

#[derive(Debug, Clone)]
enum Op {
    Equal(String),
    NotEqual(String),
    Regex(Regex),
    NotRegex(Regex),
}

/// One condition on an alert.
#[derive(Debug, Clone)]
pub struct Matcher {
    name: String,
    op: Op,
    /// The text it was parsed from, for listings and storage.
    source: String,
}

pub fn severity_name(s: Severity) -> &'static str {
    match s {
        Severity::Info => "info",
        Severity::Warning => "warning",
        Severity::Critical => "critical",
    }
}

/// The value a matcher (or `group_by`) sees for `name`.
pub fn field(alert: &Alert, name: &str) -> String {
    match name {
        "project" => alert.project.clone(),
        "service" => alert.service.clone(),
        "severity" => severity_name(alert.severity).to_string(),
        "rule" | "alertname" => alert.rule.clone(),
        "status" => status_name(alert.status).to_string(),
        _ => alert.labels.get(name).cloned().unwrap_or_default(),
    }
}

impl Matcher {
    pub fn parse(text: &str) -> anyhow::Result<Matcher> {
        let bad = || {
            anyhow::anyhow!(
                "matcher {text:?}: expected name=value, name!=value, name=~regex or name!~regex"
            )
        };
        let (pos, op_len) = ["!~", "=~", "!=", "="]
            .iter()
            .filter_map(|op| text.find(op).map(|p| (p, op.len())))
            .min_by_key(|(p, len)| (*p, std::cmp::Reverse(*len)))
            .ok_or_else(bad)?;
        let name = text[..pos].trim();
        anyhow::ensure!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '.' || c == '-'),
            "matcher {text:?}: bad label name"
        );
        let op_text = &text[pos..pos + op_len];
        let value = text[pos + op_len..].trim().trim_matches('"').to_string();
        let anchored = |v: &str| {
            Regex::new(&format!("^(?:{v})$"))
                .map_err(|e| anyhow::anyhow!("matcher {text:?}: bad regex: {e}"))
        };
        let op = match op_text {
            "=" => Op::Equal(value),
            "!=" => Op::NotEqual(value),
            "=~" => Op::Regex(anchored(&value)?),
            "!~" => Op::NotRegex(anchored(&value)?),
            _ => return Err(bad()),
        };
        Ok(Matcher {
            name: name.to_string(),
            op,
            source: text.trim().to_string(),
        })
    }

    pub fn matches(&self, alert: &Alert) -> bool {
        let v = field(alert, &self.name);
        match &self.op {
            Op::Equal(x) => v == *x,
            Op::NotEqual(x) => v != *x,
            Op::Regex(r) => r.is_match(&v),
            Op::NotRegex(r) => !r.is_match(&v),
        }
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

/// Parses every matcher of a list.
pub fn parse_all(texts: &[String]) -> anyhow::Result<Vec<Matcher>> {
    texts.iter().map(|t| Matcher::parse(t)).collect()
}

/// All of `matchers` hold (an empty list matches everything).
pub fn all_match(matchers: &[Matcher], alert: &Alert) -> bool {
    matchers.iter().all(|m| m.matches(alert))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use cloudsage_schemas::AlertStatus;
    use std::collections::BTreeMap;

    pub(crate) fn alert(project: &str, service: &str, severity: Severity) -> Alert {
        let mut labels = BTreeMap::new();
        labels.insert("region".to_string(), "eu-west".to_string());
        Alert {
            alert_id: format!("{project}-{service}-f"),
            fingerprint: format!("{project}-{service}"),
            project: project.into(),
            service: service.into(),
            rule: "risk_threshold".into(),
            status: AlertStatus::Firing,
            severity,
            summary: format!("{service} is at risk"),
            score: 80.0,
            starts_at_ms: 1_000,
            ends_at_ms: None,
            window_id: None,
            forecast_id: None,
            labels,
        }
    }

    fn m(t: &str) -> Matcher {
        Matcher::parse(t).unwrap()
    }

    #[test]
    fn equality_and_regex_on_fields_and_labels() {
        let a = alert("shop", "checkout", Severity::Critical);
        assert!(m("project=shop").matches(&a));
        assert!(!m("project=blog").matches(&a));
        assert!(m("project!=blog").matches(&a));
        assert!(m("severity=critical").matches(&a));
        assert!(m("rule=risk_threshold").matches(&a));
        assert!(m("status=firing").matches(&a));
        assert!(m("service=~check.*|cart").matches(&a));
        assert!(!m("service=~check").matches(&a), "regexes are anchored");
        assert!(m("region!~us-.*").matches(&a));
        assert!(!m("region=~us-.*").matches(&a));
        assert!(m("team=").matches(&a), "a missing label is empty");
        assert!(m("service = \"checkout\"").matches(&a));
    }

    #[test]
    fn malformed_matchers_are_errors() {
        for bad in ["project", "=shop", "service=~(", "a b=c"] {
            assert!(Matcher::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(m("service!=a=b").to_string(), "service!=a=b");
        assert!(m("service!=a=b").matches(&alert("p", "x", Severity::Info)));
    }
}
