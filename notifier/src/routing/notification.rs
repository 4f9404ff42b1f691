//! A group notification crosses from the routing processor to the receivers as one
//! [`Alert`] (the runtime's delivery interface): a representative alert (the single one, or
//! the most severe firing one) whose summary and labels list the whole group, plus internal
//! `__notify_*` labels naming the receiver and the member alerts. The receivers strip the
//! internal labels before rendering and log one notification row per member alert, so the
//! dedup log stays per alert and survives regrouping after a replay.

use crate::routing::matcher::severity_name;
use cloudsage_runtime::rows::status_name;
use cloudsage_schemas::{Alert, AlertStatus};
use serde::{Deserialize, Serialize};

const RECEIVER: &str = "__notify_receiver";
const MEMBERS: &str = "__notify_members";
const REPEAT: &str = "__notify_repeat";
const INTERNAL: &str = "__notify_";
/// At most this many alerts are listed in a group's summary.
const LISTED: usize = 10;

/// One member alert, as the notification log needs it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberRef {
    pub alert_id: String,
    pub project: String,
    pub status: String,
}

/// A notification to one receiver about a group of alerts.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupNotification {
    pub receiver: String,
    /// `name=value` pairs of the group's `group_by` labels.
    pub group_key: String,
    /// A re-send of an unchanged firing group (`repeat_interval`): bypasses the dedup log.
    pub repeat: bool,
    pub alerts: Vec<Alert>,
}

/// What the receivers get back from an encoded notification.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    pub receiver: String,
    pub repeat: bool,
    pub members: Vec<MemberRef>,
    /// The alert to render, internal labels removed.
    pub alert: Alert,
}

impl GroupNotification {
    /// The representative alert carrying the group. `alerts` must not be empty.
    pub fn to_alert(&self) -> Alert {
        let rep = self
            .alerts
            .iter()
            .filter(|a| a.status == AlertStatus::Firing)
            .max_by_key(|a| a.severity)
            .or_else(|| self.alerts.iter().max_by_key(|a| a.starts_at_ms))
            .expect("a notification has at least one alert");
        let mut a = rep.clone();
        if self.alerts.len() > 1 {
            let firing = self
                .alerts
                .iter()
                .filter(|a| a.status == AlertStatus::Firing)
                .count();
            let mut list: Vec<String> = self
                .alerts
                .iter()
                .take(LISTED)
                .map(|m| {
                    format!(
                        "{}/{} ({}, {}): {}",
                        m.project,
                        m.service,
                        severity_name(m.severity),
                        status_name(m.status),
                        m.summary
                    )
                })
                .collect();
            if self.alerts.len() > LISTED {
                list.push(format!("and {} more", self.alerts.len() - LISTED));
            }
            a.summary = format!(
                "{} alerts ({firing} firing, {} resolved): {}",
                self.alerts.len(),
                self.alerts.len() - firing,
                list.join("; ")
            );
            if firing > 0 {
                a.status = AlertStatus::Firing;
            }
            a.labels
                .insert("group_size".into(), self.alerts.len().to_string());
            a.labels.insert(
                "group_services".into(),
                self.alerts
                    .iter()
                    .map(|m| m.service.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
            );
        }
        if !self.group_key.is_empty() {
            a.labels.insert("group_key".into(), self.group_key.clone());
        }
        let members: Vec<MemberRef> = self
            .alerts
            .iter()
            .map(|m| MemberRef {
                alert_id: m.alert_id.clone(),
                project: m.project.clone(),
                status: status_name(m.status).to_string(),
            })
            .collect();
        a.labels.insert(RECEIVER.into(), self.receiver.clone());
        a.labels.insert(
            MEMBERS.into(),
            serde_json::to_string(&members).unwrap_or_default(),
        );
        if self.repeat {
            a.labels.insert(REPEAT.into(), "true".into());
        }
        a
    }
}

impl Envelope {
    /// `None` for a plain alert (not routed: every receiver gets it).
    pub fn open(alert: &Alert) -> Option<Envelope> {
        let receiver = alert.labels.get(RECEIVER)?.clone();
        let members = alert
            .labels
            .get(MEMBERS)
            .and_then(|m| serde_json::from_str(m).ok())
            .unwrap_or_default();
        let repeat = alert.labels.contains_key(REPEAT);
        let mut alert = alert.clone();
        alert.labels.retain(|k, _| !k.starts_with(INTERNAL));
        Some(Envelope {
            receiver,
            repeat,
            members,
            alert,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routing::matcher::tests::alert;
    use cloudsage_schemas::Severity;

    #[test]
    fn a_single_alert_travels_unchanged() {
        let a = alert("shop", "cart", Severity::Warning);
        let n = GroupNotification {
            receiver: "pager".into(),
            group_key: String::new(),
            repeat: false,
            alerts: vec![a.clone()],
        };
        let e = Envelope::open(&n.to_alert()).unwrap();
        assert_eq!(e.alert, a);
        assert_eq!((e.receiver.as_str(), e.repeat), ("pager", false));
        assert_eq!(e.members[0].alert_id, a.alert_id);
        assert!(Envelope::open(&a).is_none());
    }

    #[test]
    fn a_group_is_represented_by_its_most_severe_firing_alert() {
        let mut resolved = alert("shop", "web", Severity::Critical);
        resolved.status = AlertStatus::Resolved;
        let members = vec![
            alert("shop", "cart", Severity::Warning),
            alert("shop", "checkout", Severity::Critical),
            resolved,
        ];
        let n = GroupNotification {
            receiver: "pager".into(),
            group_key: "project=shop".into(),
            repeat: true,
            alerts: members.clone(),
        };
        let e = Envelope::open(&n.to_alert()).unwrap();
        assert_eq!(e.alert.service, "checkout");
        assert_eq!(e.alert.status, AlertStatus::Firing);
        assert!(
            e.alert
                .summary
                .starts_with("3 alerts (2 firing, 1 resolved)"),
            "{}",
            e.alert.summary
        );
        assert!(e.alert.summary.contains("shop/cart (warning, firing)"));
        assert_eq!(e.alert.labels["group_size"], "3");
        assert_eq!(e.alert.labels["group_key"], "project=shop");
        assert!(e.alert.labels.keys().all(|k| !k.starts_with("__")));
        assert!(e.repeat);
        let ids: Vec<_> = e.members.iter().map(|m| m.alert_id.clone()).collect();
        let want: Vec<_> = members.iter().map(|m| m.alert_id.clone()).collect();
        assert_eq!(ids, want);
        assert_eq!(e.members[2].status, "resolved");
    }
}
