//! Vendor webhooks (`POST /v1/webhooks/<vendor>`) normalised onto `logs.raw`: one record per
//! alert, `source` = the vendor, the vendor's severity in `fields["level"]` (`error`, `warn`,
//! `info`, …), the vendor's title and message in `line`, the service from the payload where it
//! has one (else `?service=`, `X-Service` or the default). Each vendor module is pure.

pub mod cloudwatch;
pub mod datadog;
pub mod github;
pub mod sentry;

use cloudsage_schemas::{RawDefaults, RawLog};
use serde_json::Value;
use std::collections::BTreeMap;

/// The vendors with a webhook endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vendor {
    Datadog,
    CloudWatch,
    Sentry,
    GitHub,
}

impl Vendor {
    pub const ALL: [Vendor; 4] = [
        Vendor::Datadog,
        Vendor::CloudWatch,
        Vendor::Sentry,
        Vendor::GitHub,
    ];

    /// The path segment and the records' `source`.
    pub fn name(self) -> &'static str {
        match self {
            Vendor::Datadog => "datadog",
            Vendor::CloudWatch => "cloudwatch",
            Vendor::Sentry => "sentry",
            Vendor::GitHub => "github",
        }
    }

    pub fn from_name(name: &str) -> Option<Vendor> {
        Vendor::ALL.into_iter().find(|v| v.name() == name)
    }
}

/// What a webhook delivery asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Records for `logs.raw`.
    Records(Vec<RawLog>),
    /// A delivery that carries nothing to score (a ping, a run that has not finished); the
    /// reason is returned to the vendor.
    Ignored(String),
    /// AWS SNS asks to confirm the subscription by fetching this URL.
    ConfirmSubscription { subscribe_url: String },
}

/// Normalises one delivery. `event` is the vendor's event-type header (GitHub's
/// `X-GitHub-Event`), if any. `Err` is a payload that cannot be used (it goes to the DLQ).
pub fn normalize(
    vendor: Vendor,
    payload: &Value,
    event: Option<&str>,
    defaults: &RawDefaults,
) -> Result<Outcome, String> {
    let defaults = RawDefaults {
        source: vendor.name().to_string(),
        ..defaults.clone()
    };
    match vendor {
        Vendor::Datadog => datadog::normalize(payload, &defaults),
        Vendor::CloudWatch => cloudwatch::normalize(payload, &defaults),
        Vendor::Sentry => sentry::normalize(payload, &defaults),
        Vendor::GitHub => github::normalize(payload, event, &defaults),
    }
}

/// A record with the common parts filled in.
pub(crate) fn record(
    defaults: &RawDefaults,
    service: Option<String>,
    level: &str,
    line: String,
    event_time_ms: Option<i64>,
    extra: impl IntoIterator<Item = (&'static str, Option<String>)>,
) -> RawLog {
    let mut fields = BTreeMap::new();
    fields.insert("level".to_string(), level.to_string());
    for (k, v) in extra {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            fields.insert(k.to_string(), v);
        }
    }
    RawLog {
        project: defaults.project.clone(),
        service: service.unwrap_or_else(|| defaults.service.clone()),
        source: defaults.source.clone(),
        received_at_ms: defaults.received_at_ms,
        event_time_ms,
        line: Some(line),
        fields,
        ingest_id: None,
    }
}

/// The non-empty string at a JSON pointer (numbers are stringified).
pub(crate) fn text(v: &Value, pointer: &str) -> Option<String> {
    match v.pointer(pointer)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `title: message`, or whichever of the two exists.
pub(crate) fn title_and_message(title: Option<String>, message: Option<String>) -> Option<String> {
    match (title, message) {
        (Some(t), Some(m)) if t != m => Some(format!("{t}: {m}")),
        (Some(t), _) => Some(t),
        (None, m) => m,
    }
}

/// Epoch seconds / milliseconds (number or numeric string) or an ISO 8601 time.
pub(crate) fn time_ms(v: Option<&Value>) -> Option<i64> {
    let n = match v? {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => match s.trim().parse::<f64>() {
            Ok(n) => n,
            Err(_) => return iso8601_ms(s.trim()),
        },
        _ => return None,
    };
    if !n.is_finite() || n <= 0.0 || n >= 1e14 {
        return None;
    }
    Some(if n < 1e11 {
        (n * 1e3).round()
    } else {
        n.round()
    } as i64)
}

/// RFC 3339, or the `+0000` offset form AWS uses (`2024-05-01T10:00:00.123+0000`).
fn iso8601_ms(s: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(s)
        .or_else(|_| chrono::DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .ok()
        .map(|t| t.timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    pub(crate) fn defaults() -> RawDefaults {
        RawDefaults {
            project: "shop".into(),
            service: "default".into(),
            source: "http".into(),
            received_at_ms: 1_700_000_000_000,
        }
    }

    #[test]
    fn times() {
        assert_eq!(
            time_ms(Some(&json!(1_406_662_672_000i64))),
            Some(1_406_662_672_000)
        );
        assert_eq!(time_ms(Some(&json!("1406662672"))), Some(1_406_662_672_000));
        assert_eq!(
            time_ms(Some(&json!(1566248777.123))),
            Some(1_566_248_777_123)
        );
        assert_eq!(
            time_ms(Some(&json!("2021-07-14T23:20:50.708+0000"))),
            Some(1_626_304_850_708)
        );
        assert_eq!(
            time_ms(Some(&json!("2020-01-22T19:33:08Z"))),
            Some(1_579_721_588_000)
        );
        assert_eq!(time_ms(Some(&json!("$DATE"))), None);
        assert_eq!(time_ms(Some(&json!(-5))), None);
        assert_eq!(time_ms(None), None);
    }

    #[test]
    fn vendors_by_name() {
        for v in Vendor::ALL {
            assert_eq!(Vendor::from_name(v.name()), Some(v));
        }
        assert_eq!(Vendor::from_name("pagerduty"), None);
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<f64>().prop_map(|f| json!(f)),
            any::<i64>().prop_map(|i| json!(i)),
            "[a-zA-Z_ :.0-9{}\"-]{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            let key = prop_oneof![
                Just("Type".to_string()),
                Just("Message".to_string()),
                Just("data".to_string()),
                Just("event".to_string()),
                Just("workflow_run".to_string()),
                Just("action".to_string()),
                Just("conclusion".to_string()),
                Just("title".to_string()),
                Just("tags".to_string()),
                Just("Trigger".to_string()),
                Just("Dimensions".to_string()),
                "[a-zA-Z_]{1,8}",
            ];
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::btree_map(key, inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn normalizers_never_panic(v in arb_json(), event in proptest::option::of("[a-z_]{0,12}")) {
            for vendor in Vendor::ALL {
                let _ = normalize(vendor, &v, event.as_deref(), &defaults());
            }
        }

        #[test]
        fn normalizers_never_panic_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            if let Ok(v) = serde_json::from_slice::<Value>(&bytes) {
                for vendor in Vendor::ALL {
                    let _ = normalize(vendor, &v, Some("workflow_run"), &defaults());
                }
            }
        }
    }
}
