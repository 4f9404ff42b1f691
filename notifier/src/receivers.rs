//! Receivers: the console and generic JSON webhooks. Transient failures (network, 5xx, 429
//! honouring `Retry-After`) are retried with backoff; other 4xx answers are permanent.
//! A notification log (ClickHouse `notifications`, or memory without ClickHouse) makes
//! replays and restarts skip receivers already notified. Webhook URLs never reach logs.

use crate::payload::webhook_body;
use cloudsage_runtime::config::{NotifierConfig, WebhookReceiver};
use cloudsage_runtime::deliver::{Deliverer, DeliveryReport};
use cloudsage_runtime::driver::now_ms;
use cloudsage_runtime::rows::status_name;
use cloudsage_runtime::stage::NotificationRecord;
use cloudsage_runtime::warehouse::Warehouse;
use cloudsage_schemas::Alert;
use std::collections::HashSet;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const CONSOLE: &str = "console";

pub struct Receivers {
    console: bool,
    webhooks: Vec<WebhookReceiver>,
    http: reqwest::Client,
    retry_for: Duration,
    warehouse: Option<Warehouse>,
    delivered: Mutex<HashSet<(String, String)>>,
}

/// One attempt's classification.
#[derive(Debug, PartialEq)]
enum Attempt {
    Delivered,
    Transient {
        reason: String,
        retry_after: Option<Duration>,
    },
    Permanent(String),
}

impl Receivers {
    pub fn new(c: &NotifierConfig, warehouse: Option<Warehouse>) -> anyhow::Result<Self> {
        Ok(Self {
            console: c.console,
            webhooks: c.webhooks.clone(),
            http: reqwest::Client::builder()
                .timeout(c.delivery_timeout)
                .build()?,
            retry_for: c.delivery_retry_for,
            warehouse,
            delivered: Mutex::new(HashSet::new()),
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

    async fn post(&self, hook: &WebhookReceiver, alert: &Alert) -> Attempt {
        let body = webhook_body(alert, &hook.name);
        match self.http.post(&hook.url).json(&body).send().await {
            Err(e) => Attempt::Transient {
                // reqwest errors may contain the URL: keep only the kind.
                reason: format!("network error ({})", error_kind(&e)),
                retry_after: None,
            },
            Ok(resp) => {
                let status = resp.status();
                if status.is_success() {
                    Attempt::Delivered
                } else if status.as_u16() == 429 || status.is_server_error() {
                    let retry_after = resp
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<f64>().ok())
                        .filter(|s| s.is_finite() && *s >= 0.0)
                        .map(|s| Duration::from_secs_f64(s.min(300.0)));
                    Attempt::Transient {
                        reason: format!("HTTP {status}"),
                        retry_after,
                    }
                } else {
                    Attempt::Permanent(format!("HTTP {status} from webhook {}", hook.name))
                }
            }
        }
    }

    async fn deliver_webhook(
        &self,
        hook: &WebhookReceiver,
        alert: &Alert,
    ) -> (NotificationRecord, Option<String>) {
        let started = Instant::now();
        let mut attempts = 0u32;
        let (result, permanent) = loop {
            attempts += 1;
            match self.post(hook, alert).await {
                Attempt::Delivered => break ("delivered".to_string(), None),
                Attempt::Permanent(reason) => break (format!("failed: {reason}"), Some(reason)),
                Attempt::Transient {
                    reason,
                    retry_after,
                } => {
                    let wait = retry_after.unwrap_or_else(|| {
                        Duration::from_millis((200u64 << attempts.min(6)).min(10_000))
                    });
                    if started.elapsed() + wait > self.retry_for {
                        let r = format!("gave up after {attempts} attempts: {reason}");
                        break (format!("failed: {r}"), Some(r));
                    }
                    tracing::warn!(receiver = %hook.name, attempts, %reason, "webhook delivery failed, retrying");
                    tokio::time::sleep(wait).await;
                }
            }
        };
        (self.record(alert, &hook.name, &result, attempts), permanent)
    }

    fn record(
        &self,
        alert: &Alert,
        receiver: &str,
        result: &str,
        attempts: u32,
    ) -> NotificationRecord {
        if result == "delivered" {
            self.delivered
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert((alert.alert_id.clone(), receiver.to_string()));
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

fn error_kind(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect"
    } else if e.is_request() {
        "request"
    } else {
        "other"
    }
}

impl Deliverer for Receivers {
    async fn deliver(&self, alert: &Alert) -> DeliveryReport {
        let mut report = DeliveryReport::default();
        if self.console && !self.already_delivered(&alert.alert_id, CONSOLE).await {
            println!(
                "[{}] {} {} — {}",
                status_name(alert.status).to_uppercase(),
                cloudsage_runtime::rows::severity_name(alert.severity),
                alert.alert_id,
                alert.summary
            );
            report
                .notifications
                .push(self.record(alert, CONSOLE, "delivered", 1));
        }
        for hook in &self.webhooks {
            if self.already_delivered(&alert.alert_id, &hook.name).await {
                tracing::info!(alert_id = %alert.alert_id, receiver = %hook.name, "already notified, skipping");
                continue;
            }
            let (record, permanent) = self.deliver_webhook(hook, alert).await;
            report.notifications.push(record);
            if let Some(p) = permanent {
                report.permanent_failure = Some(p);
            }
        }
        report
    }
}
