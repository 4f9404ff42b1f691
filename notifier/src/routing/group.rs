//! One aggregation group: the alerts of one route and group key, for one receiver, with the
//! Alertmanager timing: the first notification `group_wait` after the group formed, further
//! changes at most every `group_interval`, an unchanged firing group again after
//! `repeat_interval`. Pure: time, silences and quiet hours are passed in.

use crate::routing::notification::GroupNotification;
use crate::routing::route::Route;
use cloudsage_runtime::PartitionId;
use cloudsage_schemas::{Alert, AlertStatus, Severity};
use std::collections::BTreeMap;

/// An alert in a group, with where it was read (to hold the committed offset).
#[derive(Debug, Clone)]
pub struct Member {
    pub alert: Alert,
    pub at: (PartitionId, i64),
    /// This state of the alert (its `alert_id`) reached the receiver.
    pub notified: bool,
    /// Its firing state reached the receiver (so its resolution is worth telling).
    pub firing_notified: bool,
    /// Its silencing was logged already (once per alert state).
    pub silence_logged: bool,
}

#[derive(Debug, Clone)]
pub struct Group {
    pub receiver: String,
    pub key: String,
    pub created_ms: i64,
    pub last_sent_ms: Option<i64>,
    /// By fingerprint: the latest state of each alert.
    pub members: BTreeMap<String, Member>,
}

/// What a flush produced.
#[derive(Debug, Default)]
pub struct Flush {
    pub notification: Option<GroupNotification>,
    /// Alert states held back by a silence (first time only), with the silence id.
    pub silenced: Vec<(Alert, String)>,
    /// Due, but deferred by quiet hours.
    pub deferred: bool,
}

impl Group {
    pub fn new(receiver: &str, key: &str, now_ms: i64) -> Group {
        Group {
            receiver: receiver.into(),
            key: key.into(),
            created_ms: now_ms,
            last_sent_ms: None,
            members: BTreeMap::new(),
        }
    }

    /// Takes in a new alert state. A replayed state already held changes nothing; a
    /// resolution of an alert whose firing was never notified drops it (nothing to tell), as
    /// does any resolution when the route does not send them.
    pub fn add(&mut self, alert: Alert, at: (PartitionId, i64), send_resolved: bool) {
        let fp = alert.fingerprint.clone();
        let prev = self.members.get(&fp);
        if prev.is_some_and(|m| m.alert.alert_id == alert.alert_id) {
            return;
        }
        let firing_notified = prev.is_some_and(|m| {
            m.firing_notified || (m.notified && m.alert.status == AlertStatus::Firing)
        });
        if alert.status == AlertStatus::Resolved {
            // Unknown firing state (e.g. notified before a restart): tell, to be safe.
            let told = prev.is_none() || firing_notified;
            if !send_resolved || !told {
                self.members.remove(&fp);
                return;
            }
        }
        self.members.insert(
            fp,
            Member {
                alert,
                at,
                notified: false,
                firing_notified,
                silence_logged: false,
            },
        );
    }

    /// When the group is next due, and whether that is a repeat.
    pub fn due_at(&self, route: &Route) -> Option<(i64, bool)> {
        let pending = self.members.values().any(|m| !m.notified);
        match self.last_sent_ms {
            None if pending => Some((self.created_ms + route.group_wait_ms, false)),
            Some(last) if pending => Some((last + route.group_interval_ms, false)),
            Some(last) => {
                let firing = self
                    .members
                    .values()
                    .any(|m| m.alert.status == AlertStatus::Firing);
                let every = route.repeat_interval_ms?;
                firing.then_some((last + every, true))
            }
            None => None,
        }
    }

    /// Sends what is due at `now_ms`: the group's alerts except silenced ones, unless
    /// quiet hours defer it (`dnd_allows(critical)`).
    pub fn flush(
        &mut self,
        route: &Route,
        now_ms: i64,
        silenced_by: impl Fn(&Alert) -> Option<String>,
        dnd_allows: impl Fn(bool) -> bool,
    ) -> Flush {
        let mut out = Flush::default();
        let Some((due, repeat)) = self.due_at(route) else {
            return out;
        };
        if now_ms < due {
            return out;
        }
        let mut send = vec![];
        for m in self.members.values_mut() {
            match silenced_by(&m.alert) {
                Some(id) => {
                    if !m.silence_logged && !m.notified {
                        m.silence_logged = true;
                        out.silenced.push((m.alert.clone(), id));
                    }
                }
                None => send.push(m.alert.fingerprint.clone()),
            }
        }
        let changed = send.iter().any(|fp| !self.members[fp].notified);
        if send.is_empty() || (!repeat && !changed) {
            return out;
        }
        let critical = send.iter().any(|fp| {
            let a = &self.members[fp].alert;
            a.status == AlertStatus::Firing && a.severity == Severity::Critical
        });
        if !dnd_allows(critical) {
            out.deferred = true;
            return out;
        }
        let mut alerts = vec![];
        for fp in &send {
            let m = self.members.get_mut(fp).expect("member");
            m.notified = true;
            if m.alert.status == AlertStatus::Firing {
                m.firing_notified = true;
            }
            alerts.push(m.alert.clone());
        }
        self.last_sent_ms = Some(now_ms);
        out.notification = Some(GroupNotification {
            receiver: self.receiver.clone(),
            group_key: self.key.clone(),
            repeat,
            alerts,
        });
        // Resolved alerts are told once; firing ones stay for repeats (if the route has them).
        let keep_firing = route.repeat_interval_ms.is_some();
        self.members
            .retain(|_, m| !m.notified || (keep_firing && m.alert.status == AlertStatus::Firing));
        out
    }

    /// Nothing left to send or repeat.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routing::matcher::tests::alert;

    const S: i64 = 1_000;

    fn route(wait: i64, interval: i64, repeat: Option<i64>) -> Route {
        Route {
            group_wait_ms: wait * S,
            group_interval_ms: interval * S,
            repeat_interval_ms: repeat.map(|r| r * S),
            ..Route::implicit(&["r".into()])
        }
    }

    fn at(o: i64) -> (PartitionId, i64) {
        (
            PartitionId {
                topic: "alerts".into(),
                partition: 0,
            },
            o,
        )
    }

    fn firing(service: &str) -> Alert {
        alert("shop", service, Severity::Warning)
    }

    fn resolved(service: &str) -> Alert {
        let mut a = firing(service);
        a.status = AlertStatus::Resolved;
        a.alert_id.push_str("-resolved");
        a
    }

    fn flush(g: &mut Group, r: &Route, now: i64) -> Option<Vec<String>> {
        g.flush(r, now, |_| None, |_| true)
            .notification
            .map(|n| n.alerts.iter().map(|a| a.alert_id.clone()).collect())
    }

    #[test]
    fn group_wait_batches_then_group_interval_spaces_changes() {
        let r = route(30, 300, Some(3600));
        let mut g = Group::new("r", "k", 0);
        g.add(firing("cart"), at(1), true);
        assert_eq!(flush(&mut g, &r, 29 * S), None, "still waiting");
        g.add(firing("web"), at(2), true);
        let first = flush(&mut g, &r, 30 * S).unwrap();
        assert_eq!(first.len(), 2, "both alerts in one notification");
        assert_eq!(flush(&mut g, &r, 31 * S), None, "nothing changed");
        g.add(firing("db"), at(3), true);
        assert_eq!(flush(&mut g, &r, 329 * S), None, "group_interval not over");
        let second = flush(&mut g, &r, 330 * S).unwrap();
        assert_eq!(second.len(), 3, "the whole group, including the change");
        // Unchanged and still firing: repeated after repeat_interval.
        assert_eq!(flush(&mut g, &r, 330 * S + 3599 * S), None);
        let n = g
            .flush(&r, 330 * S + 3600 * S, |_| None, |_| true)
            .notification
            .unwrap();
        assert!(n.repeat && n.alerts.len() == 3);
    }

    #[test]
    fn resolutions_are_sent_once_and_only_if_the_firing_was() {
        let r = route(10, 60, None);
        let mut g = Group::new("r", "k", 0);
        g.add(firing("cart"), at(1), true);
        g.add(resolved("cart"), at(2), true);
        assert!(
            g.is_empty(),
            "fired and resolved within group_wait: nothing to tell"
        );
        g.add(firing("web"), at(3), true);
        assert!(flush(&mut g, &r, 10 * S).is_some());
        assert!(g.is_empty(), "no repeats: notified members are let go");
        g.add(resolved("web"), at(4), true);
        assert_eq!(flush(&mut g, &r, 70 * S).unwrap(), ["shop-web-f-resolved"]);
        assert!(g.is_empty());
        let mut g = Group::new("r", "k", 0);
        g.add(firing("x"), at(5), false);
        flush(&mut g, &r, 10 * S);
        g.add(resolved("x"), at(6), false);
        assert!(g.is_empty(), "send_resolved = false");
    }

    #[test]
    fn replayed_states_change_nothing() {
        let r = route(0, 0, Some(100));
        let mut g = Group::new("r", "k", 0);
        g.add(firing("cart"), at(1), true);
        assert!(flush(&mut g, &r, 0).is_some());
        g.add(firing("cart"), at(1), true);
        assert_eq!(flush(&mut g, &r, 1), None);
    }

    #[test]
    fn silenced_alerts_are_held_and_logged_once() {
        let r = route(0, 10, None);
        let mut g = Group::new("r", "k", 0);
        g.add(firing("cart"), at(1), true);
        let silenced = |a: &Alert| (a.service == "cart").then(|| "s1".to_string());
        let f = g.flush(&r, 0, silenced, |_| true);
        assert!(f.notification.is_none());
        assert_eq!(f.silenced.len(), 1);
        assert!(
            g.flush(&r, 5, silenced, |_| true).silenced.is_empty(),
            "logged once"
        );
        // The silence expired: the held alert goes out.
        assert!(flush(&mut g, &r, 20).is_some());
    }

    #[test]
    fn quiet_hours_defer_but_critical_breaks_through() {
        let r = route(0, 10, None);
        let mut g = Group::new("r", "k", 0);
        g.add(firing("cart"), at(1), true);
        let f = g.flush(&r, 0, |_| None, |critical| critical);
        assert!(f.deferred && f.notification.is_none());
        assert!(
            g.flush(&r, 1, |_| None, |_| true).notification.is_some(),
            "sent when quiet hours end"
        );
        g.add(alert("shop", "db", Severity::Critical), at(2), true);
        let f = g.flush(&r, 11 * S, |_| None, |critical| critical);
        assert!(f.notification.is_some(), "critical breaks through");
    }
}
