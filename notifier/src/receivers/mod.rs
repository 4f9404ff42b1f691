//! Receivers: the console, generic JSON webhooks, Slack, Discord and email, one file per
//! kind. Every kind shares the retry policy ([`attempt`]): transient failures (network, 5xx,
//! 429 honouring the announced delay, SMTP 4xx) are retried with exponential backoff for up
//! to `delivery_retry_for`; anything else is permanent. Each receiver may be throttled
//! ([`limit`]). A notification log (ClickHouse `notifications`, or memory without
//! ClickHouse, and the local [`journal`] when configured) makes replays and restarts skip
//! receivers already notified. Webhook URLs and passwords never reach logs or errors.

pub mod attempt;
pub mod console;
pub mod discord;
pub mod email;
pub mod http;
pub mod journal;
pub mod limit;
pub mod slack;
pub mod webhook;

use crate::routing::notification::Envelope;
use attempt::{next_wait, Attempt};
use cloudsage_runtime::config::{DiscordReceiver, SlackReceiver};
use cloudsage_runtime::config::{NotifierConfig, WebhookReceiver};
use cloudsage_runtime::deliver::{Deliverer, DeliveryReport};
use cloudsage_runtime::driver::now_ms;
use cloudsage_runtime::rows::status_name;
use cloudsage_runtime::stage::NotificationRecord;
use cloudsage_runtime::warehouse::Warehouse;
use cloudsage_schemas::Alert;
pub use console::CONSOLE;
use email::Email;
use journal::DeliveryJournal;
use limit::SendLimit;
use std::collections::HashSet;
use std::sync::Mutex;
use std::time::{Duration, Instant};

enum Kind {
    Webhook(WebhookReceiver),
    Slack(SlackReceiver),
    Discord(DiscordReceiver),
    Email(Box<Email>),
}

/// One configured receiver.
struct Target {
    name: String,
    kind: Kind,
    limit: SendLimit,
}

impl Target {
    async fn attempt(&self, http: &reqwest::Client, alert: &Alert) -> Attempt {
        match &self.kind {
            Kind::Webhook(h) => webhook::send(http, h, alert).await,
            Kind::Slack(h) => slack::send(http, h, alert).await,
            Kind::Discord(h) => discord::send(http, h, alert).await,
            Kind::Email(e) => e.send(alert).await,
        }
    }
}

pub struct Receivers {
    console: bool,
    targets: Vec<Target>,
    http: reqwest::Client,
    retry_for: Duration,
    warehouse: Option<Warehouse>,
    delivered: Mutex<HashSet<(String, String)>>,
    journal: Option<DeliveryJournal>,
}

/// Receiver names key the notification history and the dedup log, so they must be unique
/// across kinds; `max_per_minute = 0` would mean "never send".
pub fn validate(c: &NotifierConfig) -> anyhow::Result<()> {
    let receivers = c
        .webhooks
        .iter()
        .map(|r| (&r.name, r.max_per_minute))
        .chain(c.slack.iter().map(|r| (&r.name, r.max_per_minute)))
        .chain(c.discord.iter().map(|r| (&r.name, r.max_per_minute)))
        .chain(c.email.iter().map(|r| (&r.name, r.max_per_minute)));
    let mut seen = HashSet::new();
    for (name, max) in receivers {
        anyhow::ensure!(
            !name.trim().is_empty(),
            "[notifier]: a receiver has an empty name"
        );
        anyhow::ensure!(
            name != CONSOLE,
            "[notifier]: receiver name {name:?} is reserved"
        );
        anyhow::ensure!(
            seen.insert(name.as_str()),
            "[notifier]: two receivers are named {name:?}; names must be unique"
        );
        anyhow::ensure!(
            max != Some(0),
            "[notifier]: receiver {name:?}: max_per_minute must be at least 1 (leave it out for no limit)"
        );
    }
    Ok(())
}

impl Receivers {
    pub fn new(c: &NotifierConfig, warehouse: Option<Warehouse>) -> anyhow::Result<Self> {
        validate(c)?;
        let target = |name: &str, kind, max| Target {
            name: name.to_string(),
            kind,
            limit: SendLimit::per_minute(max),
        };
        let mut targets = Vec::new();
        for h in &c.webhooks {
            targets.push(target(&h.name, Kind::Webhook(h.clone()), h.max_per_minute));
        }
        for h in &c.slack {
            targets.push(target(&h.name, Kind::Slack(h.clone()), h.max_per_minute));
        }
        for h in &c.discord {
            targets.push(target(&h.name, Kind::Discord(h.clone()), h.max_per_minute));
        }
        for e in &c.email {
            let email = Email::new(e, c.delivery_timeout)?;
            targets.push(target(
                &e.name,
                Kind::Email(Box::new(email)),
                e.max_per_minute,
            ));
        }
        let (journal, delivered) = match &c.delivery_journal {
            Some(path) => {
                let (j, seen) = DeliveryJournal::open(path).map_err(|e| {
                    anyhow::anyhow!("[notifier] delivery_journal {}: {e}", path.display())
                })?;
                tracing::info!(path = %path.display(), deliveries = seen.len(), "delivery journal loaded");
                (Some(j), seen)
            }
            None => (None, HashSet::new()),
        };
        Ok(Self {
            console: c.console,
            targets,
            http: reqwest::Client::builder()
                .timeout(c.delivery_timeout)
                .build()?,
            retry_for: c.delivery_retry_for,
            warehouse,
            delivered: Mutex::new(delivered),
            journal,
        })
    }

    async fn already_delivered(&self, alert_id: &str, receiver: &str) -> bool {
        let key = (alert_id.to_string(), receiver.to_string());
        if self
            .delivered
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&key)
        {
            return true;
        }
        let Some(w) = &self.warehouse else {
            return false;
        };
        let q = w
            .client()
            .query("SELECT count() FROM notifications WHERE alert_id = ? AND receiver = ? AND result = 'delivered'")
            .bind(alert_id)
            .bind(receiver);
        matches!(q.fetch_one::<u64>().await, Ok(n) if n > 0)
    }

    /// Attempts until delivered, permanently failed, or out of retry time. Time spent
    /// waiting for the receiver's own send limit does not count against the retry budget.
    async fn deliver_to(
        &self,
        target: &Target,
        alert: &Alert,
    ) -> (NotificationRecord, Option<String>) {
        let started = Instant::now();
        let mut throttled = Duration::ZERO;
        let mut attempts = 0u32;
        let (result, permanent) = loop {
            throttled += target.limit.ready().await;
            attempts += 1;
            match target.attempt(&self.http, alert).await {
                Attempt::Delivered => break ("delivered".to_string(), None),
                Attempt::Permanent(reason) => break (format!("failed: {reason}"), Some(reason)),
                Attempt::Transient {
                    reason,
                    retry_after,
                } => {
                    let elapsed = started.elapsed().saturating_sub(throttled);
                    let Some(wait) = next_wait(attempts, retry_after, elapsed, self.retry_for)
                    else {
                        let r = format!("gave up after {attempts} attempts: {reason}");
                        break (format!("failed: {r}"), Some(r));
                    };
                    tracing::warn!(receiver = %target.name, attempts, %reason, wait_ms = wait.as_millis() as u64, "delivery failed, retrying");
                    tokio::time::sleep(wait).await;
                }
            }
        };
        if let Some(p) = &permanent {
            tracing::error!(receiver = %target.name, alert_id = %alert.alert_id, attempts, reason = %p, "delivery failed permanently");
        }
        (
            self.record(alert, &target.name, &result, attempts),
            permanent,
        )
    }

    /// Remembers a confirmed delivery: in memory, and in the journal before anything else
    /// happens (the ClickHouse log row follows with the batch).
    fn mark_delivered(&self, alert_id: &str, receiver: &str) {
        if let Some(j) = &self.journal {
            j.record(alert_id, receiver);
        }
        self.delivered
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert((alert_id.to_string(), receiver.to_string()));
    }

    fn record(
        &self,
        alert: &Alert,
        receiver: &str,
        result: &str,
        attempts: u32,
    ) -> NotificationRecord {
        if result == "delivered" {
            self.mark_delivered(&alert.alert_id, receiver);
        }
        NotificationRecord {
            alert_id: alert.alert_id.clone(),
            receiver: receiver.to_string(),
            project: alert.project.clone(),
            status: status_name(alert.status).to_string(),
            result: result.to_string(),
            attempts,
            sent_at_ms: now_ms(),
        }
    }
}

impl Receivers {
    /// A routed group notification to its one receiver. Skipped when every member alert
    /// was already notified to it (unless it is a repeat); logged once per member alert.
    async fn deliver_routed(&self, env: Envelope) -> DeliveryReport {
        let mut report = DeliveryReport::default();
        let receiver = env.receiver.as_str();
        if !env.repeat {
            let mut all_done = !env.members.is_empty();
            for m in &env.members {
                if !self.already_delivered(&m.alert_id, receiver).await {
                    all_done = false;
                    break;
                }
            }
            if all_done {
                tracing::info!(alert_id = %env.alert.alert_id, receiver, "already notified, skipping");
                return report;
            }
        }
        let (result, attempts) = if receiver == CONSOLE && self.console {
            println!("{}", console::line(&env.alert));
            ("delivered".to_string(), 1)
        } else if let Some(target) = self.targets.iter().find(|t| t.name == receiver) {
            let (record, permanent) = self.deliver_to(target, &env.alert).await;
            report.permanent_failure = permanent;
            (record.result, record.attempts)
        } else {
            // Routes are validated against the receivers at start-up; a stale notification
            // (configuration changed since) cannot be delivered.
            let reason = format!("unknown receiver {receiver:?}");
            report.permanent_failure = Some(reason.clone());
            (format!("failed: {reason}"), 0)
        };
        for m in &env.members {
            if result == "delivered" {
                self.mark_delivered(&m.alert_id, receiver);
            }
            report.notifications.push(NotificationRecord {
                alert_id: m.alert_id.clone(),
                receiver: receiver.to_string(),
                project: m.project.clone(),
                status: m.status.clone(),
                result: result.clone(),
                attempts,
                sent_at_ms: now_ms(),
            });
        }
        report
    }
}

impl Deliverer for Receivers {
    async fn deliver(&self, alert: &Alert) -> DeliveryReport {
        if let Some(env) = Envelope::open(alert) {
            return self.deliver_routed(env).await;
        }
        let mut report = DeliveryReport::default();
        if self.console && !self.already_delivered(&alert.alert_id, CONSOLE).await {
            println!("{}", console::line(alert));
            report
                .notifications
                .push(self.record(alert, CONSOLE, "delivered", 1));
        }
        for target in &self.targets {
            if self.already_delivered(&alert.alert_id, &target.name).await {
                tracing::info!(alert_id = %alert.alert_id, receiver = %target.name, "already notified, skipping");
                continue;
            }
            let (record, permanent) = self.deliver_to(target, alert).await;
            report.notifications.push(record);
            if let Some(p) = permanent {
                report.permanent_failure = Some(p);
            }
        }
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloudsage_runtime::config::{Config, Secret};

    fn config(toml: &str) -> NotifierConfig {
        Config::from_toml(toml).unwrap().notifier
    }

    #[test]
    fn names_must_be_unique_across_kinds() {
        let c = config(
            "[notifier]\nwebhooks = [{ name = \"ops\", url = \"http://x\" }]\n[[notifier.slack]]\nname = \"ops\"\nurl = \"http://y\"\n",
        );
        let err = validate(&c).unwrap_err().to_string();
        assert!(err.contains("\"ops\""), "{err}");
        assert!(!err.contains("http://"), "{err}");
    }

    #[test]
    fn reserved_empty_names_and_zero_rates_are_refused() {
        let mut c = NotifierConfig::default();
        let hook = |name: &str, max| WebhookReceiver {
            name: name.into(),
            url: Secret::new("http://x"),
            max_per_minute: max,
        };
        c.webhooks = vec![hook("a", Some(10)), hook("b", None)];
        assert!(validate(&c).is_ok());
        for bad in [hook("console", None), hook(" ", None), hook("c", Some(0))] {
            c.webhooks = vec![bad];
            assert!(validate(&c).is_err());
        }
    }
}
