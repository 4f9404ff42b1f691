//! The routing state machine: alerts in, group notifications (and `silenced` / `unrouted`
//! log rows) out. Holds one [`Group`] per (route, receiver, group key). Pure: time comes in
//! as arguments; silences are read from the shared set.

use crate::receivers::CONSOLE;
use crate::routing::dnd::Dnd;
use crate::routing::group::Group;
use crate::routing::route::{matching, Route};
use crate::silences::Silences;
use cloudsage_runtime::config::NotifierConfig;
use cloudsage_runtime::rows::status_name;
use cloudsage_runtime::stage::NotificationRecord;
use cloudsage_runtime::PartitionId;
use cloudsage_schemas::Alert;
use std::collections::{BTreeMap, HashMap};

/// What routing decided.
#[derive(Debug, Default)]
pub struct Emitted {
    /// Encoded group notifications (see [`crate::routing::notification`]) to deliver.
    pub notifications: Vec<Alert>,
    /// `silenced` and `unrouted` rows for the notification log.
    pub records: Vec<NotificationRecord>,
}

type GroupId = (usize, String, String);

pub struct Router {
    routes: Vec<Route>,
    groups: BTreeMap<GroupId, Group>,
    silences: Silences,
    dnd: HashMap<String, Dnd>,
}

/// Every receiver name of the configuration (`console` first when on).
pub fn receiver_names(c: &NotifierConfig) -> Vec<String> {
    let mut names: Vec<String> = c.console.then(|| CONSOLE.to_string()).into_iter().collect();
    names.extend(c.webhooks.iter().map(|r| r.name.clone()));
    names.extend(c.slack.iter().map(|r| r.name.clone()));
    names.extend(c.discord.iter().map(|r| r.name.clone()));
    names.extend(c.email.iter().map(|r| r.name.clone()));
    names
}

pub fn record(alert: &Alert, receiver: &str, result: &str, now_ms: i64) -> NotificationRecord {
    NotificationRecord {
        alert_id: alert.alert_id.clone(),
        receiver: receiver.to_string(),
        project: alert.project.clone(),
        status: status_name(alert.status).to_string(),
        result: result.to_string(),
        attempts: 0,
        sent_at_ms: now_ms,
    }
}

impl Router {
    pub fn new(c: &NotifierConfig, silences: Silences) -> anyhow::Result<Router> {
        let known = receiver_names(c);
        let routes = if c.routes.is_empty() {
            vec![Route::implicit(&known)]
        } else {
            c.routes
                .iter()
                .enumerate()
                .map(|(i, r)| Route::from_config(r, i, &known))
                .collect::<anyhow::Result<_>>()?
        };
        let mut dnd = HashMap::new();
        for (name, d) in &c.dnd {
            anyhow::ensure!(
                known.contains(name),
                "[notifier.dnd]: unknown receiver {name:?}"
            );
            let d =
                Dnd::from_config(d).map_err(|e| anyhow::anyhow!("[notifier.dnd] {name}: {e}"))?;
            dnd.insert(name.clone(), d);
        }
        Ok(Router {
            routes,
            groups: BTreeMap::new(),
            silences,
            dnd,
        })
    }

    /// Takes in one alert state read at `at`, and sends whatever became due.
    pub fn ingest(
        &mut self,
        alert: &Alert,
        at: (PartitionId, i64),
        now_ms: i64,
        out: &mut Emitted,
    ) {
        let hits = matching(&self.routes, alert);
        if hits.is_empty() {
            tracing::info!(alert_id = %alert.alert_id, "no route matches the alert");
            out.records.push(record(alert, "-", "unrouted", now_ms));
            return;
        }
        let mut touched = vec![];
        for i in hits {
            let route = &self.routes[i];
            let key = route.group_key(alert);
            for receiver in &route.receivers {
                let id = (i, receiver.clone(), key.clone());
                self.groups
                    .entry(id.clone())
                    .or_insert_with(|| Group::new(receiver, &key, now_ms))
                    .add(alert.clone(), at.clone(), route.send_resolved);
                touched.push(id);
            }
        }
        for id in touched {
            self.flush(&id, now_ms, out);
        }
    }

    /// Sends every group that is due (call regularly).
    pub fn tick(&mut self, now_ms: i64, out: &mut Emitted) {
        let ids: Vec<GroupId> = self.groups.keys().cloned().collect();
        for id in ids {
            self.flush(&id, now_ms, out);
        }
    }

    fn flush(&mut self, id: &GroupId, now_ms: i64, out: &mut Emitted) {
        let Some(group) = self.groups.get_mut(id) else {
            return;
        };
        let route = &self.routes[id.0];
        let silences = &self.silences;
        let dnd = self.dnd.get(&id.1);
        let f = group.flush(
            route,
            now_ms,
            |a| silences.silenced_by(a, now_ms),
            |critical| dnd.is_none_or(|d| d.allows(now_ms, critical)),
        );
        for (a, silence) in &f.silenced {
            tracing::info!(alert_id = %a.alert_id, receiver = %id.1, %silence, "alert silenced");
            out.records.push(record(a, &id.1, "silenced", now_ms));
        }
        if let Some(n) = f.notification {
            out.notifications.push(n.to_alert());
        }
        if group.is_empty() {
            self.groups.remove(id);
        }
    }

    /// The lowest offset of `p` an alert still held (pending, silenced, deferred, or firing
    /// with repeats due) was read at.
    pub fn retained_offset(&self, p: &PartitionId) -> Option<i64> {
        self.groups
            .values()
            .flat_map(|g| g.members.values())
            .filter(|m| m.at.0 == *p)
            .map(|m| m.at.1)
            .min()
    }

    /// Drops the alerts read from a revoked partition (its new owner replays them).
    pub fn forget(&mut self, p: &PartitionId) {
        for g in self.groups.values_mut() {
            g.members.retain(|_, m| m.at.0 != *p);
        }
        self.groups.retain(|_, g| !g.is_empty());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routing::matcher::tests::alert;
    use crate::routing::matcher::Matcher;
    use crate::routing::notification::Envelope;
    use crate::silences::Silence;
    use cloudsage_runtime::config::Config;
    use cloudsage_schemas::Severity;

    fn p() -> PartitionId {
        PartitionId {
            topic: "alerts".into(),
            partition: 0,
        }
    }

    fn router(extra: &str, silences: Silences) -> Router {
        let c = Config::from_toml(&format!(
            "[notifier]\nconsole = false\nwebhooks = [{{ name = \"pager\", url = \"http://x\" }}, {{ name = \"chat\", url = \"http://y\" }}]\n{extra}"
        ))
        .unwrap()
        .notifier;
        Router::new(&c, silences).unwrap()
    }

    fn sent(out: &Emitted) -> Vec<(String, usize)> {
        out.notifications
            .iter()
            .map(|a| {
                let e = Envelope::open(a).unwrap();
                (e.receiver, e.members.len())
            })
            .collect()
    }

    #[test]
    fn without_routes_every_alert_goes_to_every_receiver_at_once() {
        let mut r = router("", Silences::default());
        let mut out = Emitted::default();
        r.ingest(
            &alert("shop", "cart", Severity::Info),
            (p(), 7),
            0,
            &mut out,
        );
        assert_eq!(
            sent(&out),
            [("pager".to_string(), 1), ("chat".to_string(), 1)]
        );
        assert_eq!(r.retained_offset(&p()), None, "nothing held after sending");
    }

    #[test]
    fn routed_groups_wait_hold_offsets_and_unmatched_alerts_are_logged() {
        let mut r = router(
            "[[notifier.routes]]\nmatchers = [\"project=shop\"]\nreceivers = [\"chat\"]\ngroup_by = [\"project\"]\ngroup_wait = \"30s\"\n",
            Silences::default(),
        );
        let mut out = Emitted::default();
        r.ingest(
            &alert("shop", "cart", Severity::Info),
            (p(), 3),
            0,
            &mut out,
        );
        r.ingest(
            &alert("shop", "web", Severity::Info),
            (p(), 4),
            1_000,
            &mut out,
        );
        r.ingest(
            &alert("blog", "web", Severity::Info),
            (p(), 5),
            1_000,
            &mut out,
        );
        assert!(out.notifications.is_empty());
        assert_eq!(out.records[0].result, "unrouted");
        assert_eq!(r.retained_offset(&p()), Some(3));
        r.tick(30_000, &mut out);
        assert_eq!(sent(&out), [("chat".to_string(), 2)]);
        // Firing alerts stay for repeats, so their offsets stay held.
        assert_eq!(r.retained_offset(&p()), Some(3));
        r.forget(&p());
        assert_eq!(r.retained_offset(&p()), None);
    }

    #[test]
    fn silences_hold_back_and_log_per_receiver() {
        let s = Silences::default();
        s.upsert(Silence {
            id: "s".into(),
            matchers: vec![Matcher::parse("service=cart").unwrap()],
            starts_at_ms: 0,
            ends_at_ms: 10_000,
            created_by: "t".into(),
            comment: String::new(),
        });
        let mut r = router("", s);
        let mut out = Emitted::default();
        r.ingest(
            &alert("shop", "cart", Severity::Critical),
            (p(), 1),
            5_000,
            &mut out,
        );
        assert!(out.notifications.is_empty());
        let logged: Vec<_> = out
            .records
            .iter()
            .map(|x| (x.receiver.as_str(), x.result.as_str()))
            .collect();
        assert_eq!(logged, [("pager", "silenced"), ("chat", "silenced")]);
        r.tick(10_000, &mut out);
        assert_eq!(sent(&out).len(), 2, "sent once the silence expired");
    }

    #[test]
    fn dnd_defers_non_critical_per_receiver() {
        // 2026-11-20 23:00 UTC is inside 22:00-07:00.
        let night = 1_795_132_800_000 + 23 * 3_600_000;
        let mut r = router(
            "[notifier.dnd]\npager = { start = \"22:00\", end = \"07:00\" }\n",
            Silences::default(),
        );
        let mut out = Emitted::default();
        r.ingest(
            &alert("shop", "cart", Severity::Warning),
            (p(), 1),
            night,
            &mut out,
        );
        r.ingest(
            &alert("shop", "db", Severity::Critical),
            (p(), 2),
            night,
            &mut out,
        );
        assert_eq!(
            sent(&out),
            [
                ("chat".to_string(), 1),
                ("pager".to_string(), 1),
                ("chat".to_string(), 1)
            ],
            "the warning waits for pager; the critical one breaks through"
        );
        assert_eq!(r.retained_offset(&p()), Some(1));
        let mut later = Emitted::default();
        r.tick(night + 8 * 3_600_000, &mut later);
        assert_eq!(sent(&later), [("pager".to_string(), 1)]);
        assert_eq!(r.retained_offset(&p()), None);
    }
}
