//! Amazon CloudWatch alarms delivered by an Amazon SNS HTTP(S) subscription. The body is an
//! SNS envelope (`Type`):
//!
//! - `SubscriptionConfirmation`: the subscription is confirmed by fetching its `SubscribeURL`
//!   (the API layer does that, for allowed hosts only);
//! - `Notification`: `Message` is the alarm as a JSON string (`AlarmName`, `NewStateValue`,
//!   `NewStateReason`, `StateChangeTime`, `Trigger`, …). `ALARM` → error,
//!   `INSUFFICIENT_DATA` → warn, `OK` → info. The service is the alarm's `ServiceName`,
//!   `FunctionName`, `ApiName`, `DBInstanceIdentifier`, `TableName` or `QueueName` dimension;
//! - `UnsubscribeConfirmation`: ignored.

use super::{record, text, time_ms, title_and_message, Outcome};
use cloudsage_schemas::RawDefaults;
use serde_json::Value;

const SERVICE_DIMENSIONS: &[&str] = &[
    "ServiceName",
    "FunctionName",
    "ApiName",
    "DBInstanceIdentifier",
    "TableName",
    "QueueName",
];

pub fn normalize(envelope: &Value, defaults: &RawDefaults) -> Result<Outcome, String> {
    match envelope.get("Type").and_then(Value::as_str) {
        Some("SubscriptionConfirmation") => {
            let subscribe_url = text(envelope, "/SubscribeURL")
                .ok_or("SNS SubscriptionConfirmation without a `SubscribeURL`")?;
            Ok(Outcome::ConfirmSubscription { subscribe_url })
        }
        Some("UnsubscribeConfirmation") => Ok(Outcome::Ignored(
            "SNS UnsubscribeConfirmation: nothing to do".into(),
        )),
        Some("Notification") => {
            let message = envelope
                .get("Message")
                .and_then(Value::as_str)
                .ok_or("SNS Notification without a `Message` string")?;
            let alarm: Value = serde_json::from_str(message).map_err(|e| {
                format!("SNS Notification `Message` is not CloudWatch alarm JSON ({e}): subscribe this endpoint to the alarm's SNS topic with raw message delivery off")
            })?;
            alarm_record(&alarm, envelope, defaults)
        }
        Some(other) => Err(format!("unknown SNS message `Type` {other:?}")),
        None => Err(
            "not an SNS message (no `Type`): point an SNS HTTPS subscription at this endpoint"
                .into(),
        ),
    }
}

fn alarm_record(
    alarm: &Value,
    envelope: &Value,
    defaults: &RawDefaults,
) -> Result<Outcome, String> {
    let name = text(alarm, "/AlarmName")
        .ok_or("SNS `Message` is not a CloudWatch alarm (no `AlarmName`)")?;
    let state = text(alarm, "/NewStateValue").ok_or("CloudWatch alarm without `NewStateValue`")?;
    let level = match state.as_str() {
        "ALARM" => "error",
        "INSUFFICIENT_DATA" => "warn",
        _ => "info",
    };
    let service = alarm
        .pointer("/Trigger/Dimensions")
        .and_then(Value::as_array)
        .and_then(|dims| {
            SERVICE_DIMENSIONS.iter().find_map(|wanted| {
                dims.iter().find_map(|d| {
                    let name = d.get("name").or_else(|| d.get("Name"))?.as_str()?;
                    let value = d.get("value").or_else(|| d.get("Value"))?.as_str()?;
                    (name == *wanted && !value.is_empty()).then(|| value.to_string())
                })
            })
        });
    let line = title_and_message(
        Some(format!("{name} is {state}")),
        text(alarm, "/NewStateReason"),
    )
    .unwrap_or_default();
    let time = time_ms(alarm.get("StateChangeTime")).or_else(|| time_ms(envelope.get("Timestamp")));
    Ok(Outcome::Records(vec![record(
        defaults,
        service,
        level,
        line,
        time,
        [
            ("alarm_name", Some(name)),
            ("alarm_arn", text(alarm, "/AlarmArn")),
            ("alarm_description", text(alarm, "/AlarmDescription")),
            ("state", Some(state)),
            ("previous_state", text(alarm, "/OldStateValue")),
            ("region", text(alarm, "/Region")),
            ("aws_account_id", text(alarm, "/AWSAccountId")),
            ("namespace", text(alarm, "/Trigger/Namespace")),
            ("metric_name", text(alarm, "/Trigger/MetricName")),
            ("threshold", text(alarm, "/Trigger/Threshold")),
            ("sns_message_id", text(envelope, "/MessageId")),
        ],
    )]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhooks::tests::defaults;
    use serde_json::json;

    pub(crate) fn alarm_notification() -> Value {
        let alarm = json!({
            "AlarmName": "checkout-high-latency",
            "AlarmDescription": "p99 latency of checkout above 2 s",
            "AWSAccountId": "123456789012",
            "AlarmConfigurationUpdatedTimestamp": "2024-04-30T08:00:00.000+0000",
            "NewStateValue": "ALARM",
            "NewStateReason": "Threshold Crossed: 1 out of the last 1 datapoints [2481.0 (01/05/24 09:59:00)] was greater than the threshold (2000.0) (minimum 1 datapoint for OK -> ALARM transition).",
            "StateChangeTime": "2024-05-01T10:00:00.123+0000",
            "Region": "EU (Ireland)",
            "AlarmArn": "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:checkout-high-latency",
            "OldStateValue": "OK",
            "OKActions": [],
            "AlarmActions": ["arn:aws:sns:eu-west-1:123456789012:cloudsage"],
            "InsufficientDataActions": [],
            "Trigger": {
                "MetricName": "TargetResponseTime",
                "Namespace": "AWS/ECS",
                "StatisticType": "ExtendedStatistic",
                "ExtendedStatistic": "p99",
                "Unit": null,
                "Dimensions": [
                    {"value": "prod", "name": "ClusterName"},
                    {"value": "checkout", "name": "ServiceName"}
                ],
                "Period": 60,
                "EvaluationPeriods": 1,
                "ComparisonOperator": "GreaterThanThreshold",
                "Threshold": 2000.0,
                "TreatMissingData": "missing",
                "EvaluateLowSampleCountPercentile": ""
            }
        });
        json!({
            "Type": "Notification",
            "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
            "TopicArn": "arn:aws:sns:eu-west-1:123456789012:cloudsage",
            "Subject": "ALARM: \"checkout-high-latency\" in EU (Ireland)",
            "Message": alarm.to_string(),
            "Timestamp": "2024-05-01T10:00:00.500Z",
            "SignatureVersion": "1",
            "Signature": "EXAMPLEpH+DcEwjAPg8O9mY8dReBSwksfg2S7WKQcikcNKWLQjwu6A4VbeS0QHVCkhRS7fUQvi2egU3N858fiTDN6bkkOxYDVrY0Ad8L10Hs3zH81mtnPk5uvvolIC1CXGu43obcgFxeL3khZl8IKvO61GWB6jI9b5+gLPoBc1Q=",
            "SigningCertURL": "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem",
            "UnsubscribeURL": "https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:eu-west-1:123456789012:cloudsage:c9135db0-26c4-47ec-8998-413945fb5a96"
        })
    }

    #[test]
    fn an_alarm_notification_is_an_error_of_the_ecs_service() {
        let Outcome::Records(r) = normalize(&alarm_notification(), &defaults()).unwrap() else {
            panic!()
        };
        let r = &r[0];
        assert_eq!(r.service, "checkout");
        assert_eq!(r.fields["level"], "error");
        assert!(r
            .line
            .as_deref()
            .unwrap()
            .starts_with("checkout-high-latency is ALARM: Threshold Crossed"));
        assert_eq!(r.event_time_ms, Some(1_714_557_600_123));
        assert_eq!(r.fields["metric_name"], "TargetResponseTime");
        assert_eq!(r.fields["previous_state"], "OK");
        assert_eq!(r.fields["threshold"], "2000.0");
    }

    #[test]
    fn ok_and_insufficient_data() {
        for (state, level) in [("OK", "info"), ("INSUFFICIENT_DATA", "warn")] {
            let mut n = alarm_notification();
            let mut alarm: Value = serde_json::from_str(n["Message"].as_str().unwrap()).unwrap();
            alarm["NewStateValue"] = json!(state);
            alarm["Trigger"]["Dimensions"] = json!([]);
            n["Message"] = json!(alarm.to_string());
            let Outcome::Records(r) = normalize(&n, &defaults()).unwrap() else {
                panic!()
            };
            assert_eq!(r[0].fields["level"], level);
            assert_eq!(r[0].service, "default");
        }
    }

    #[test]
    fn subscription_confirmation_asks_to_fetch_the_subscribe_url() {
        let c = json!({
            "Type": "SubscriptionConfirmation",
            "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
            "Token": "2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768dd60a747ba6f3beb71854e285d6ad02428b09ceece29417f1f02d609c582afbacc99c583a916b9981dd2728f4ae6fdb82efd087cc3b7849e05798d2d2785c03b0879594eeac82c01f235d0e717736",
            "TopicArn": "arn:aws:sns:eu-west-1:123456789012:cloudsage",
            "Message": "You have chosen to subscribe to the topic arn:aws:sns:eu-west-1:123456789012:cloudsage.\nTo confirm the subscription, visit the SubscribeURL included in this message.",
            "SubscribeURL": "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:eu-west-1:123456789012:cloudsage&Token=2336412f37fb",
            "Timestamp": "2024-05-01T09:00:00.000Z",
            "SignatureVersion": "1",
            "Signature": "EXAMPLE",
            "SigningCertURL": "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem"
        });
        assert_eq!(
            normalize(&c, &defaults()).unwrap(),
            Outcome::ConfirmSubscription {
                subscribe_url: "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:eu-west-1:123456789012:cloudsage&Token=2336412f37fb".into()
            }
        );
    }

    #[test]
    fn other_messages() {
        assert!(matches!(
            normalize(&json!({"Type": "UnsubscribeConfirmation"}), &defaults()),
            Ok(Outcome::Ignored(_))
        ));
        assert!(normalize(
            &json!({"Type": "Notification", "Message": "plain"}),
            &defaults()
        )
        .is_err());
        assert!(normalize(
            &json!({"Type": "Notification", "Message": "{}"}),
            &defaults()
        )
        .is_err());
        assert!(normalize(&json!({"AlarmName": "x"}), &defaults()).is_err());
    }
}
