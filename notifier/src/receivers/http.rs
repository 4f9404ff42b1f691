//! What an HTTP answer means for delivery, shared by the webhook, Slack and Discord
//! receivers: 2xx delivered; 429 and 5xx transient (honouring `Retry-After`); other 4xx
//! permanent. Network errors are transient and reported by kind only: reqwest's messages
//! contain the URL, which is a secret.

use super::attempt::{Attempt, MAX_RETRY_AFTER};
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::StatusCode;
use std::time::{Duration, SystemTime};

/// Classifies a status alone (for receivers whose body carries no verdict).
pub fn classify_status(status: StatusCode, retry_after: Option<Duration>) -> Attempt {
    if status.is_success() {
        Attempt::Delivered
    } else if is_transient(status) {
        Attempt::Transient {
            reason: format!("HTTP {status}"),
            retry_after,
        }
    } else {
        Attempt::Permanent(format!("HTTP {status}"))
    }
}

pub fn is_transient(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

/// The `Retry-After` header, if present and meaningful.
pub fn retry_after_header(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    parse_retry_after(value, SystemTime::now())
}

/// `Retry-After` as seconds (fractions tolerated, since some services send them) or an
/// HTTP date; capped at [`MAX_RETRY_AFTER`]. Anything else is `None` (default backoff).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<f64>() {
        return seconds(secs);
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(
        at.duration_since(now)
            .unwrap_or(Duration::ZERO)
            .min(MAX_RETRY_AFTER),
    )
}

/// A non-negative, finite number of seconds as a capped duration.
pub fn seconds(secs: f64) -> Option<Duration> {
    (secs.is_finite() && secs >= 0.0)
        .then(|| Duration::from_secs_f64(secs.min(MAX_RETRY_AFTER.as_secs_f64())))
}

/// A failed request (no HTTP answer): transient, described without the URL.
pub fn network_error(e: &reqwest::Error) -> Attempt {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect"
    } else if e.is_body() || e.is_decode() {
        "body"
    } else if e.is_request() {
        "request"
    } else {
        "other"
    };
    Attempt::transient(format!("network error ({kind})"))
}

/// At most `max` bytes of an answer body, for error messages: only the leading run of
/// characters that an error code uses (`invalid_payload`), so echoes of our own payload or
/// an HTML error page never reach logs.
pub fn error_code(body: &str, max: usize) -> &str {
    let end = body
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
        .map_or(body.len(), |(i, _)| i);
    &body[..end.min(max)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_classify() {
        assert_eq!(
            classify_status(StatusCode::NO_CONTENT, None),
            Attempt::Delivered
        );
        let ra = Some(Duration::from_secs(2));
        assert_eq!(
            classify_status(StatusCode::TOO_MANY_REQUESTS, ra),
            Attempt::Transient {
                reason: "HTTP 429 Too Many Requests".into(),
                retry_after: ra
            }
        );
        assert!(matches!(
            classify_status(StatusCode::BAD_GATEWAY, None),
            Attempt::Transient { .. }
        ));
        assert!(matches!(
            classify_status(StatusCode::NOT_FOUND, None),
            Attempt::Permanent(_)
        ));
    }

    #[test]
    fn retry_after_values() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(parse_retry_after(" 3 ", now), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after("0.25", now),
            Some(Duration::from_millis(250))
        );
        assert_eq!(parse_retry_after("1e9", now), Some(MAX_RETRY_AFTER));
        for garbage in ["", "soon", "-1", "NaN", "inf"] {
            assert_eq!(parse_retry_after(garbage, now), None, "{garbage:?}");
        }
        let later = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(
            parse_retry_after(&later, now),
            Some(Duration::from_secs(30))
        );
        let past = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(parse_retry_after(&past, now), Some(Duration::ZERO));
    }

    #[test]
    fn error_codes_are_cut_to_a_token() {
        assert_eq!(error_code("invalid_payload", 64), "invalid_payload");
        assert_eq!(error_code("no_text\n", 64), "no_text");
        assert_eq!(error_code("<html>https://hooks/secret", 64), "");
        assert_eq!(error_code("abcdef", 3), "abc");
    }
}
