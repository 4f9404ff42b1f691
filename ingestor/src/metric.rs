//! Metric samples on `logs.raw`.
//!
//! A JSON object (an NDJSON line, a JSON array element, a single JSON body, or a line of an
//! uploaded file) is a **metric sample** when it has a `value` and names the metric in
//! `metric` (or in `name`, when `value` is a number), and carries no log message (`message`,
//! `msg`, `log`, `line`):
//!
//! ```json
//! {"metric": "cpu.utilization", "value": 93.5, "unit": "percent",
//!  "timestamp": "2024-05-01T10:00:00Z", "service": "checkout", "host": "web-1"}
//! ```
//!
//! It becomes a `RawLog` without a `line`, whose `fields` carry the convention the scorer
//! reads:
//!
//! - `fields["metric.name"]`: the metric name (`cpu.utilization`, `memory.used_bytes`,
//!   `http.latency_ms`, …);
//! - `fields["metric.value"]`: the value as a decimal number string (`"93.5"`);
//! - `fields["metric.unit"]`: the unit, when the sample had a `unit`;
//! - every other key (e.g. `host`) as a field, as for JSON log lines.
//!
//! `timestamp` (or `time`, `@timestamp`, `ts`: RFC 3339 or epoch s/ms) is the event time and
//! `service` (or `app`, `service.name`) the service, exactly as for JSON log lines. A sample
//! naming its metric in `metric` whose `value` is not a finite number is rejected (DLQ).

use cloudsage_schemas::{decode_raw_log, RawDefaults, RawLog};
use serde_json::{Map, Value};

/// Field holding a metric sample's name.
pub const METRIC_NAME: &str = "metric.name";
/// Field holding a metric sample's value, a decimal number string.
pub const METRIC_VALUE: &str = "metric.value";
/// Field holding a metric sample's unit, if it had one.
pub const METRIC_UNIT: &str = "metric.unit";

const LINE_KEYS: &[&str] = &["message", "msg", "log", "line"];

/// `None` when `object` is not a metric sample; `Some(Err(reason))` when it is one but unusable.
pub fn metric_sample(
    object: &Map<String, Value>,
    defaults: &RawDefaults,
) -> Option<Result<RawLog, String>> {
    let value = object.get("value")?;
    if LINE_KEYS.iter().any(|k| object.contains_key(*k)) {
        return None;
    }
    let number = as_number(value);
    let (name_key, name) = match (object.get("metric"), object.get("name")) {
        (Some(Value::String(m)), _) if !m.trim().is_empty() => ("metric", m.trim()),
        (_, Some(Value::String(n))) if !n.trim().is_empty() && number.is_some() => {
            ("name", n.trim())
        }
        _ => return None,
    };
    let Some(number) = number else {
        return Some(Err(format!(
            "metric sample `{name}` has a `value` that is not a finite number"
        )));
    };
    let mut rest = object.clone();
    rest.remove(name_key);
    rest.remove("value");
    rest.insert(METRIC_NAME.into(), Value::String(name.to_string()));
    rest.insert(METRIC_VALUE.into(), Value::String(number));
    if let Some(unit) = rest.remove("unit") {
        let unit = match unit {
            Value::String(s) => s,
            other => other.to_string(),
        };
        rest.insert(METRIC_UNIT.into(), Value::String(unit));
    }
    let bytes = Value::Object(rest).to_string();
    Some(decode_raw_log(bytes.as_bytes(), defaults).map_err(|e| e.to_string()))
}

/// A finite number, or a string holding one, as a decimal string.
fn as_number(value: &Value) -> Option<String> {
    match value {
        Value::Number(n) => n.as_f64().filter(|f| f.is_finite()).map(|_| n.to_string()),
        Value::String(s) => {
            let s = s.trim();
            s.parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .map(|_| s.to_string())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn d() -> RawDefaults {
        RawDefaults {
            project: "shop".into(),
            service: "api".into(),
            source: "http".into(),
            received_at_ms: 7,
        }
    }

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn samples_carry_name_value_unit_time_and_service() {
        let s = obj(
            json!({"metric": "cpu.utilization", "value": 93.5, "unit": "percent",
            "timestamp": "2024-05-01T10:00:00Z", "service": "checkout", "host": "web-1"}),
        );
        let r = metric_sample(&s, &d()).unwrap().unwrap();
        assert_eq!(r.service, "checkout");
        assert_eq!(r.event_time_ms, Some(1_714_557_600_000));
        assert_eq!(r.line, None);
        assert_eq!(r.fields[METRIC_NAME], "cpu.utilization");
        assert_eq!(r.fields[METRIC_VALUE], "93.5");
        assert_eq!(r.fields[METRIC_UNIT], "percent");
        assert_eq!(r.fields["host"], "web-1");
        assert_eq!(r.fields.len(), 4);
    }

    #[test]
    fn name_with_numeric_value_and_defaults() {
        let r = metric_sample(&obj(json!({"name": "latency_ms", "value": "120"})), &d())
            .unwrap()
            .unwrap();
        assert_eq!(r.service, "api");
        assert_eq!(r.event_time_ms, None);
        assert_eq!(r.fields[METRIC_VALUE], "120");
    }

    #[test]
    fn logs_are_not_samples_and_bad_values_are_rejected() {
        assert!(metric_sample(&obj(json!({"name": "bob", "value": "x"})), &d()).is_none());
        assert!(
            metric_sample(&obj(json!({"metric": "m", "value": 1, "msg": "hi"})), &d()).is_none()
        );
        assert!(metric_sample(&obj(json!({"metric": "m"})), &d()).is_none());
        assert!(
            metric_sample(&obj(json!({"metric": "m", "value": "NaN"})), &d())
                .unwrap()
                .is_err()
        );
        assert!(
            metric_sample(&obj(json!({"metric": "m", "value": null})), &d())
                .unwrap()
                .is_err()
        );
    }
}
