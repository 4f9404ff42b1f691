//! Folding signals into incidents. An incident's group is (project, service), or (project,
//! service, rule) with `group_by_rule`; a signal joins the group's open incident when it comes
//! at most `window` after the incident's last signal (event time), else it opens a new one.
//! The incident resolves when every alert in it has resolved, and reopens if one fires again
//! within the window. Ids are hashes of the group key and the first signal's time, so a replay
//! from the first signal rebuilds the same incidents.

use crate::incidents::signal::{Signal, SignalKind};
use cloudsage_runtime::config::IncidentSeverity;
use cloudsage_schemas::stable_id;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, PartialEq)]
pub struct Incident {
    pub incident_id: String,
    pub key: String,
    pub project: String,
    pub service: String,
    pub title: String,
    pub severity: IncidentSeverity,
    pub alert_ids: Vec<String>,
    pub sources: BTreeSet<String>,
    /// Alert keys currently firing.
    pub firing: BTreeSet<String>,
    /// Lower-cased text of every firing signal, for the suggestion rules.
    pub texts: Vec<String>,
    pub opened_at_ms: i64,
    pub updated_at_ms: i64,
    pub resolved_at_ms: Option<i64>,
}

impl Incident {
    pub fn status(&self) -> &'static str {
        if self.resolved_at_ms.is_some() {
            "resolved"
        } else {
            "open"
        }
    }
}

/// The group key of a signal.
pub fn group_key(s: &Signal, by_rule: bool) -> String {
    if by_rule {
        stable_id(&[&s.project, &s.service, &s.rule])
    } else {
        stable_id(&[&s.project, &s.service])
    }
}

pub struct Grouper {
    pub window_ms: i64,
    pub by_rule: bool,
    /// The latest incident of each group.
    incidents: BTreeMap<String, Incident>,
}

impl Grouper {
    pub fn new(window_ms: i64, by_rule: bool) -> Self {
        Self {
            window_ms,
            by_rule,
            incidents: BTreeMap::new(),
        }
    }

    /// Applies a firing or resolved signal. Returns the incident it changed, or `None` when
    /// nothing changed (a duplicate, or a resolution without an open incident).
    pub fn add(&mut self, s: &Signal) -> Option<&Incident> {
        if s.kind == SignalKind::Deploy {
            return None;
        }
        let key = group_key(s, self.by_rule);
        let joins = self
            .incidents
            .get(&key)
            .is_some_and(|i| s.at_ms <= i.updated_at_ms + self.window_ms);
        if !joins {
            if s.kind == SignalKind::Resolved {
                return None;
            }
            let incident = Incident {
                incident_id: stable_id(&[&key, &s.at_ms.to_string()]),
                key: key.clone(),
                project: s.project.clone(),
                service: s.service.clone(),
                title: format!("{}/{}: {}", s.project, s.service, s.summary),
                severity: s.severity,
                alert_ids: vec![],
                sources: BTreeSet::new(),
                firing: BTreeSet::new(),
                texts: vec![],
                opened_at_ms: s.at_ms,
                updated_at_ms: s.at_ms,
                resolved_at_ms: None,
            };
            self.incidents.insert(key.clone(), incident);
        }
        let i = self.incidents.get_mut(&key)?;
        if i.alert_ids.contains(&s.id) {
            return None;
        }
        i.alert_ids.push(s.id.clone());
        i.sources.insert(s.source.clone());
        i.updated_at_ms = i.updated_at_ms.max(s.at_ms);
        match s.kind {
            SignalKind::Firing => {
                i.firing.insert(s.alert_key());
                i.texts.push(s.text.clone());
                if s.severity > i.severity {
                    i.severity = s.severity;
                    i.title = format!("{}/{}: {}", s.project, s.service, s.summary);
                }
                i.resolved_at_ms = None;
            }
            SignalKind::Resolved => {
                i.firing.remove(&s.alert_key());
                if i.firing.is_empty() {
                    i.resolved_at_ms = Some(s.at_ms);
                }
            }
            SignalKind::Deploy => {}
        }
        Some(i)
    }

    /// Drops incidents no signal can join any more: last signal more than the window before
    /// `watermark` (the latest event time seen). Returns their ids.
    pub fn expire(&mut self, watermark: i64) -> Vec<String> {
        let window = self.window_ms;
        let mut gone = vec![];
        self.incidents.retain(|_, i| {
            let keep = i.updated_at_ms + window >= watermark;
            if !keep {
                gone.push(i.incident_id.clone());
            }
            keep
        });
        gone
    }

    pub fn open(&self) -> impl Iterator<Item = &Incident> {
        self.incidents.values()
    }

    /// Forgets incidents (a revoked partition's new owner rebuilds them).
    pub fn remove(&mut self, ids: &BTreeSet<String>) {
        self.incidents.retain(|_, i| !ids.contains(&i.incident_id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    fn sig(service: &str, rule: &str, kind: SignalKind, sev: IncidentSeverity, at: i64) -> Signal {
        Signal {
            id: format!("{service}-{rule}-{kind:?}-{at}"),
            project: "shop".into(),
            service: service.into(),
            rule: rule.into(),
            source: "cloudsage".into(),
            kind,
            severity: sev,
            summary: format!("{rule} on {service}"),
            text: rule.into(),
            at_ms: at,
        }
    }

    use IncidentSeverity::*;
    use SignalKind::*;

    #[test]
    fn alerts_within_the_window_join_later_ones_open_a_new_incident() {
        let mut g = Grouper::new(30 * MIN, false);
        let a = g
            .add(&sig("api", "r", Firing, Medium, 0))
            .unwrap()
            .incident_id
            .clone();
        // 25 min after the last alert: joins; the window slides from the latest alert.
        let b = g
            .add(&sig("api", "datadog", Firing, High, 25 * MIN))
            .unwrap();
        assert_eq!(b.incident_id, a);
        assert_eq!((b.alert_ids.len(), b.severity), (2, High));
        let c = g.add(&sig("api", "r", Firing, Medium, 54 * MIN)).unwrap();
        assert_eq!(c.incident_id, a, "29 min after the last one");
        // More than 30 min after the last alert: a new incident.
        let d = g
            .add(&sig("api", "r", Firing, Medium, 85 * MIN))
            .unwrap()
            .incident_id
            .clone();
        assert_ne!(d, a);
        // Another service is another incident.
        let e = g.add(&sig("db", "r", Firing, Medium, 85 * MIN)).unwrap();
        assert_ne!(e.incident_id, d);
    }

    #[test]
    fn group_by_rule_splits_and_ids_are_deterministic() {
        let mut g = Grouper::new(30 * MIN, true);
        let a = g
            .add(&sig("api", "r", Firing, Medium, 0))
            .unwrap()
            .incident_id
            .clone();
        let b = g
            .add(&sig("api", "datadog", Firing, Medium, MIN))
            .unwrap()
            .incident_id
            .clone();
        assert_ne!(a, b);
        let mut again = Grouper::new(30 * MIN, true);
        assert_eq!(
            again
                .add(&sig("api", "r", Firing, Medium, 0))
                .unwrap()
                .incident_id,
            a
        );
    }

    #[test]
    fn resolves_when_every_alert_resolved_and_duplicates_change_nothing() {
        let mut g = Grouper::new(30 * MIN, false);
        g.add(&sig("api", "r", Firing, Medium, 0));
        g.add(&sig("api", "datadog", Firing, Medium, MIN));
        assert!(
            g.add(&sig("api", "r", Firing, Medium, 0)).is_none(),
            "duplicate"
        );
        let i = g.add(&sig("api", "r", Resolved, Low, 5 * MIN)).unwrap();
        assert_eq!(i.resolved_at_ms, None, "datadog still firing");
        let i = g
            .add(&sig("api", "datadog", Resolved, Low, 6 * MIN))
            .unwrap();
        assert_eq!((i.resolved_at_ms, i.status()), (Some(6 * MIN), "resolved"));
        assert_eq!(i.severity, Medium, "resolutions do not lower the severity");
        assert!(
            g.add(&sig("db", "r", Resolved, Low, 0)).is_none(),
            "nothing open"
        );
    }

    #[test]
    fn expiry_uses_the_window_after_the_last_alert() {
        let mut g = Grouper::new(30 * MIN, false);
        g.add(&sig("api", "r", Firing, Medium, 0));
        g.add(&sig("db", "r", Firing, Medium, 20 * MIN));
        assert!(g.expire(30 * MIN).is_empty());
        assert_eq!(g.expire(31 * MIN).len(), 1);
        assert_eq!(g.open().count(), 1);
    }
}
