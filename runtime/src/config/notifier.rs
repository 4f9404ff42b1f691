//! `[notifier]`: alert rules and receivers.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// `[notifier]`: alert rules and receivers.
///
/// Receivers are named; a name must be unique across all kinds (and not `console`), since
/// the notification history and the dedup log are keyed by it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotifierConfig {
    /// Score at or above which a series' alert fires.
    pub threshold: f64,
    /// Per-project thresholds overriding `threshold`.
    pub project_thresholds: BTreeMap<String, f64>,
    /// `[[notifier.rules]]`: the alert rules. Without any, one `risk_threshold` rule named
    /// `risk_threshold` watches every series at `threshold` / `project_thresholds` (the
    /// behaviour before rules existed). With rules, exactly the configured ones apply.
    pub rules: Vec<RuleConfig>,
    /// Print every notification to standard output.
    pub console: bool,
    /// Generic JSON webhooks (Alertmanager webhook payload, version 4).
    pub webhooks: Vec<WebhookReceiver>,
    /// Slack incoming webhooks (`[[notifier.slack]]`), Block Kit messages.
    pub slack: Vec<SlackReceiver>,
    /// Discord webhooks (`[[notifier.discord]]`), one embed per alert.
    pub discord: Vec<DiscordReceiver>,
    /// Email over SMTP (`[[notifier.email]]`), plain text and HTML.
    pub email: Vec<EmailReceiver>,
    /// Per-attempt timeout of a delivery.
    #[serde(with = "humantime_serde")]
    pub delivery_timeout: Duration,
    /// How long transient delivery failures (5xx, 429, network, SMTP 4xx) are retried, with
    /// exponential backoff or the receiver's announced delay, before the alert goes to
    /// `alerts.dlq`.
    #[serde(with = "humantime_serde")]
    pub delivery_retry_for: Duration,
    /// A local file recording each delivery the moment the receiver confirms it, read back at
    /// start-up. The ClickHouse notification log is written just after, so without this file
    /// a crash (kill -9, OOM) between a receiver's answer and that write re-sends that one
    /// notification after the restart; with it, only a crash within the same few
    /// microseconds can. Put it on a volume that survives restarts (docker-compose does).
    /// Empty: ClickHouse only.
    pub delivery_journal: Option<std::path::PathBuf>,
    /// `[[notifier.routes]]`: which receivers get which alerts, and how alerts are grouped
    /// into notifications. Routes are tried in order; the first match wins unless it sets
    /// `continue = true`. An alert no route matches is not sent (it is recorded with result
    /// `unrouted`). Without any route, every alert goes to every receiver at once.
    pub routes: Vec<RouteConfig>,
    /// `[[notifier.silences]]`: alerts matching a silence are not sent while it is active
    /// (recorded with result `silenced`). More can be added at run time over
    /// `POST /v1/silences`.
    pub silences: Vec<SilenceConfig>,
    /// `[notifier.dnd]`: do-not-disturb hours per receiver, keyed by receiver name
    /// (`console` included), e.g. `ops-slack = { start = "22:00", end = "07:00" }`.
    /// Non-critical notifications due during those hours are deferred until they end.
    pub dnd: BTreeMap<String, DndConfig>,
}

/// `[[notifier.rules]]`: one alert rule. Each rule keeps, per (project, service) it matches,
/// a state: inactive, pending (the condition holds, but not yet for `for`) or firing.
/// Times are event times (the windows' and forecasts' own timestamps), so replays and
/// restarts decide exactly as the first run did.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// Unique rule name. It is the alert's `rule` (routes and silences match it as
    /// `rule=NAME`) and part of its fingerprint, so renaming a rule starts new alerts.
    pub name: String,
    /// What the rule watches:
    /// - `risk_threshold`: a window's score reaches `threshold`;
    /// - `forecast_breach`: a forecast's predicted score (the point prediction at the
    ///   forecast's horizon, not the interval's upper bound) reaches `threshold`;
    /// - `critical_chain`: a forecast was made by one of the `chains`;
    /// - `factor`: a window's factor `factor` reaches `min_points` and/or `min_value`.
    pub kind: RuleKind,
    /// Only series of this project (a regular expression matching the whole name; a plain
    /// name matches itself). Unset: every project.
    pub project: Option<String>,
    /// Only series of this service (a whole-name regular expression). Unset: every service.
    pub service: Option<String>,
    /// `risk_threshold` and `forecast_breach`: the score (0-100) at or above which the
    /// condition holds. Unset: the project's entry in `project_thresholds`, else `threshold`.
    pub threshold: Option<f64>,
    /// `risk_threshold` and `forecast_breach`: while firing, the condition keeps holding
    /// until the score drops below `threshold - resolve_margin` (hysteresis, so a score
    /// wobbling around the threshold does not flap). Default 10.
    pub resolve_margin: Option<f64>,
    /// `factor`: the factor's name (`error_rate`, `log_volume`, `latency`, `memory`, `cpu`,
    /// `novelty`).
    pub factor: Option<String>,
    /// `factor`: the condition holds when the factor added at least this many points to the
    /// window's score.
    pub min_points: Option<f64>,
    /// `factor`: the condition holds when the factor's measured value is at least this
    /// (its own unit: error fraction 0..1, p95 latency in ms, memory/CPU pressure 0..1, …).
    /// With `min_points` too, both must hold.
    pub min_value: Option<f64>,
    /// `critical_chain`: the forecast chains that count as critical. Default
    /// `["critical_incident_response"]` (the forecaster's chain for a risk of 70 or more).
    pub chains: Option<Vec<String>>,
    /// How long the condition must hold without interruption (in event time, from the start
    /// of the first window or forecast where it holds) before the alert fires; until then it
    /// is pending. A window or forecast where it does not hold, or no data for
    /// `resolve_after`, ends the pending state. Default 0: fire at once.
    #[serde(rename = "for", default, with = "humantime_serde")]
    pub for_duration: Duration,
    /// A firing alert resolves once the condition has not held for this long (event time).
    /// A gap in the data this long also ends pending and firing states. Default: one scorer
    /// window (`scorer.window`), i.e. the first window (or forecast) where it no longer holds.
    #[serde(default, with = "humantime_serde")]
    pub resolve_after: Option<Duration>,
    /// Severity of the firing alert: `info`, `warning` or `critical`. Unset: `critical` when
    /// the risk is 90 or more (the window's score; for forecast rules the predicted score),
    /// else `warning`.
    pub severity: Option<cloudsage_schemas::Severity>,
}

/// The kinds of [`RuleConfig`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    RiskThreshold,
    ForecastBreach,
    CriticalChain,
    Factor,
}

impl RuleKind {
    /// The name used in the configuration (and in the alert label `rule_kind`).
    pub fn name(self) -> &'static str {
        match self {
            RuleKind::RiskThreshold => "risk_threshold",
            RuleKind::ForecastBreach => "forecast_breach",
            RuleKind::CriticalChain => "critical_chain",
            RuleKind::Factor => "factor",
        }
    }
}

/// `[[notifier.routes]]`: one route, like an Alertmanager route (the tree flattened).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// Conditions that must all hold, Alertmanager style: `name=value`, `name!=value`,
    /// `name=~regex`, `name!~regex` (regexes match the whole value). `project`, `service`,
    /// `severity` (`info`/`warning`/`critical`), `rule` and `status` name the alert's fields;
    /// any other name is a label. No matchers: the route matches every alert.
    #[serde(default)]
    pub matchers: Vec<String>,
    /// Receiver names (`console` included) that get this route's notifications.
    pub receivers: Vec<String>,
    /// Labels (and `project`, `service`, `severity`, `rule`) whose values form the group key:
    /// alerts with equal values are sent together. Empty: one group for the whole route.
    #[serde(default)]
    pub group_by: Vec<String>,
    /// How long a new group waits for more alerts before its first notification.
    #[serde(default = "default_group_wait", with = "humantime_serde")]
    pub group_wait: Duration,
    /// Least time between two notifications of a group about new changes.
    #[serde(default = "default_group_interval", with = "humantime_serde")]
    pub group_interval: Duration,
    /// How long after the last notification a group that is still firing, with no changes,
    /// is notified again.
    #[serde(default = "default_repeat_interval", with = "humantime_serde")]
    pub repeat_interval: Duration,
    /// Also notify when alerts resolve.
    #[serde(default = "default_true")]
    pub send_resolved: bool,
    /// Keep trying the routes after this one when it matches.
    #[serde(default, rename = "continue")]
    pub continue_matching: bool,
}

fn default_group_wait() -> Duration {
    Duration::from_secs(30)
}

fn default_group_interval() -> Duration {
    Duration::from_secs(5 * 60)
}

fn default_repeat_interval() -> Duration {
    Duration::from_secs(4 * 3600)
}

fn default_true() -> bool {
    true
}

/// `[[notifier.silences]]`: mute matching alerts for a time.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SilenceConfig {
    /// Matchers, as in routes (at least one).
    pub matchers: Vec<String>,
    /// Start (RFC 3339, e.g. `2026-11-20T22:00:00Z`); unset means already active.
    #[serde(default, with = "humantime_serde")]
    pub starts_at: Option<std::time::SystemTime>,
    /// End (RFC 3339); after it the silence no longer applies.
    #[serde(with = "humantime_serde")]
    pub ends_at: std::time::SystemTime,
    /// Why, for people.
    #[serde(default)]
    pub comment: String,
}

/// Do-not-disturb hours of one receiver.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DndConfig {
    /// Start of the quiet hours, `HH:MM` local time.
    pub start: String,
    /// End of the quiet hours, `HH:MM` local time; earlier than `start` means the next day.
    pub end: String,
    /// The local time's offset from UTC: `UTC` (default) or `+02:00` / `-05:30`.
    #[serde(default = "default_timezone")]
    pub timezone: String,
    /// Notifications with a firing critical alert are sent even during quiet hours.
    #[serde(default = "default_true")]
    pub critical_breaks_through: bool,
}

fn default_timezone() -> String {
    "UTC".into()
}

impl Default for NotifierConfig {
    fn default() -> Self {
        Self {
            threshold: 70.0,
            project_thresholds: BTreeMap::new(),
            rules: Vec::new(),
            console: true,
            webhooks: Vec::new(),
            slack: Vec::new(),
            discord: Vec::new(),
            email: Vec::new(),
            delivery_timeout: Duration::from_secs(10),
            delivery_retry_for: Duration::from_secs(120),
            delivery_journal: None,
            routes: Vec::new(),
            silences: Vec::new(),
            dnd: BTreeMap::new(),
        }
    }
}

/// `webhooks = [{ name, url }]`: a generic JSON webhook.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookReceiver {
    /// Receiver name, used in logs and notification history (the URL never is).
    pub name: String,
    /// Target URL. A secret: never logged.
    pub url: Secret,
    /// At most this many messages per minute to this receiver (bursts up to the same
    /// number); unset means no limit.
    pub max_per_minute: Option<u32>,
}

/// `[[notifier.slack]]`: a Slack incoming webhook.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackReceiver {
    /// Receiver name, used in logs and notification history (the URL never is).
    pub name: String,
    /// The incoming-webhook URL (`https://hooks.slack.com/services/…`). A secret.
    pub url: Secret,
    /// At most this many messages per minute (Slack allows about one per second).
    pub max_per_minute: Option<u32>,
}

/// `[[notifier.discord]]`: a Discord channel webhook.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscordReceiver {
    /// Receiver name, used in logs and notification history (the URL never is).
    pub name: String,
    /// The webhook URL (`https://discord.com/api/webhooks/…`). A secret.
    pub url: Secret,
    /// At most this many messages per minute (Discord allows about 30 per channel).
    pub max_per_minute: Option<u32>,
}

/// `[[notifier.email]]`: email over SMTP.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailReceiver {
    /// Receiver name, used in logs and notification history.
    pub name: String,
    /// SMTP server host name (also the name its TLS certificate must carry).
    pub host: String,
    /// SMTP port; default 25 with `tls = "none"`, 587 with `starttls`, 465 with `tls`.
    pub port: Option<u16>,
    /// `none` (plain text, local relays only), `starttls` (default; upgrade required, never
    /// falls back to plain text) or `tls` (implicit TLS, "SMTPS").
    #[serde(default)]
    pub tls: SmtpTls,
    /// Login user name; no authentication when unset.
    pub username: Option<String>,
    /// Login password. A secret: never logged.
    pub password: Option<Secret>,
    /// Sender address, e.g. `CloudSage <alerts@example.com>`.
    pub from: String,
    /// Recipient addresses (at least one).
    pub to: Vec<String>,
    /// At most this many mails per minute to this receiver.
    pub max_per_minute: Option<u32>,
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    None,
    #[default]
    Starttls,
    Tls,
}

impl EmailReceiver {
    /// The configured port, or the usual one for the TLS mode.
    pub fn port_or_default(&self) -> u16 {
        self.port.unwrap_or(match self.tls {
            SmtpTls::None => 25,
            SmtpTls::Starttls => 587,
            SmtpTls::Tls => 465,
        })
    }
}

/// A configuration value that must not reach logs, metrics or error messages (webhook URLs
/// carry their credentials in the path). `Debug` and `Display` print `***`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself, for the one place that uses it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn receivers_of_every_kind_parse() {
        let c = Config::from_toml(
            r#"
[notifier]
webhooks = [{ name = "ops", url = "https://example.invalid/hook" }]

[[notifier.slack]]
name = "team"
url = "https://hooks.slack.invalid/services/T/B/secret"
max_per_minute = 20

[[notifier.discord]]
name = "chat"
url = "https://discord.invalid/api/webhooks/1/secret"

[[notifier.email]]
name = "mail"
host = "smtp.example.invalid"
tls = "tls"
username = "bot"
password = "hunter2"
from = "CloudSage <alerts@example.invalid>"
to = ["a@example.invalid", "b@example.invalid"]
"#,
        )
        .unwrap();
        let n = &c.notifier;
        assert_eq!(n.webhooks[0].max_per_minute, None);
        assert_eq!(n.slack[0].max_per_minute, Some(20));
        assert_eq!(
            n.discord[0].url.expose(),
            "https://discord.invalid/api/webhooks/1/secret"
        );
        let e = &n.email[0];
        assert_eq!((e.tls, e.port_or_default()), (SmtpTls::Tls, 465));
        assert_eq!(e.to.len(), 2);
        // Secrets never show in the config's Debug output (which may be logged).
        let debug = format!("{c:?}");
        assert!(
            !debug.contains("secret") && !debug.contains("hunter2"),
            "{debug}"
        );
    }

    #[test]
    fn email_defaults_to_starttls_on_587() {
        let c = Config::from_toml(
            "[[notifier.email]]\nname = \"m\"\nhost = \"h\"\nfrom = \"a@b.c\"\nto = [\"d@e.f\"]\n",
        )
        .unwrap();
        let e = &c.notifier.email[0];
        assert_eq!((e.tls, e.port_or_default()), (SmtpTls::Starttls, 587));
        assert!(e.password.is_none());
    }

    #[test]
    fn unknown_receiver_keys_and_tls_modes_are_errors() {
        assert!(Config::from_toml(
            "[[notifier.slack]]\nname = \"s\"\nurl = \"u\"\nchannel = \"#x\"\n"
        )
        .is_err());
        assert!(Config::from_toml(
            "[[notifier.email]]\nname = \"m\"\nhost = \"h\"\ntls = \"ssl\"\nfrom = \"a@b.c\"\nto = []\n"
        )
        .is_err());
    }

    #[test]
    fn routes_silences_and_dnd_parse_with_defaults() {
        let c = Config::from_toml(
            r#"
[[notifier.routes]]
matchers = ["severity=critical", "service=~api|web"]
receivers = ["pager"]
group_by = ["project", "service"]
group_wait = "10s"
continue = true

[[notifier.routes]]
receivers = ["console"]

[[notifier.silences]]
matchers = ["project=shop"]
ends_at = "2030-01-01T00:00:00Z"

[notifier.dnd]
pager = { start = "22:00", end = "07:00", timezone = "+02:00" }
"#,
        )
        .unwrap();
        let n = &c.notifier;
        let r = &n.routes[0];
        assert_eq!(r.group_wait, Duration::from_secs(10));
        assert!(r.continue_matching && r.send_resolved);
        let d = &n.routes[1];
        assert_eq!(
            (d.group_wait, d.group_interval, d.repeat_interval),
            (
                Duration::from_secs(30),
                Duration::from_secs(300),
                Duration::from_secs(4 * 3600)
            )
        );
        assert!(!d.continue_matching);
        assert!(n.silences[0].starts_at.is_none());
        let dnd = &n.dnd["pager"];
        assert!(dnd.critical_breaks_through && dnd.timezone == "+02:00");
        assert!(Config::from_toml("[[notifier.routes]]\nreceivers = []\nwait = \"1s\"\n").is_err());
    }

    #[test]
    fn rules_parse_with_typed_durations_and_defaults() {
        let c = Config::from_toml(
            r#"
[[notifier.rules]]
name = "shop-risk"
kind = "risk_threshold"
project = "shop"
for = "2m"
resolve_after = "5m"
severity = "critical"

[[notifier.rules]]
name = "memory"
kind = "factor"
factor = "memory"
min_points = 5
"#,
        )
        .unwrap();
        let r = &c.notifier.rules;
        assert_eq!(r[0].kind, RuleKind::RiskThreshold);
        assert_eq!(r[0].for_duration, Duration::from_secs(120));
        assert_eq!(r[0].resolve_after, Some(Duration::from_secs(300)));
        assert_eq!(r[0].severity, Some(cloudsage_schemas::Severity::Critical));
        assert_eq!(r[1].kind.name(), "factor");
        assert_eq!(r[1].for_duration, Duration::ZERO);
        assert!(r[1].resolve_after.is_none() && r[1].severity.is_none());
        assert_eq!(r[1].min_points, Some(5.0));
        // Unknown keys and kinds are errors.
        assert!(Config::from_toml(
            "[[notifier.rules]]\nname = \"x\"\nkind = \"factor\"\nfor_ = \"1m\"\n"
        )
        .is_err());
        assert!(
            Config::from_toml("[[notifier.rules]]\nname = \"x\"\nkind = \"anomaly\"\n").is_err()
        );
        assert!(Config::from_toml(
            "[[notifier.rules]]\nname = \"x\"\nkind = \"factor\"\nfor = \"soon\"\n"
        )
        .is_err());
    }

    #[test]
    fn secret_display_is_redacted() {
        let s = Secret::new("https://hooks.example/abc");
        assert_eq!(format!("{s} {s:?}"), "*** Secret(***)");
    }
}
