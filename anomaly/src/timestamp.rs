//! Parsing the timestamps of metric series files.
//!
//! NAB (https://github.com/numenta/NAB) writes `2014-04-01 00:00:00` in data
//! files and `2014-04-10 07:15:00.000000` in its label windows; exporters often
//! write ISO 8601 with a `T` and a `Z`. All are read as UTC, to milliseconds
//! since the Unix epoch, so data rows and windows compare exactly.

use chrono::{DateTime, NaiveDateTime};

/// Parse `YYYY-MM-DD HH:MM:SS[.fraction]` (space or `T`, optional trailing `Z`),
/// or RFC 3339 with an offset, to UTC epoch milliseconds.
pub fn parse_timestamp_ms(text: &str) -> Option<i64> {
    let t = text.trim();
    let naive = t.strip_suffix('Z').unwrap_or(t);
    for fmt in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(naive, fmt) {
            return Some(dt.and_utc().timestamp_millis());
        }
    }
    DateTime::parse_from_rfc3339(t)
        .ok()
        .map(|dt| dt.timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nab_formats() {
        // 2014-04-01T00:00:00Z = 1396310400 s.
        assert_eq!(
            parse_timestamp_ms("2014-04-01 00:00:00"),
            Some(1_396_310_400_000)
        );
        assert_eq!(
            parse_timestamp_ms("2014-04-01 00:05:00.000000"),
            Some(1_396_310_700_000)
        );
        assert_eq!(
            parse_timestamp_ms("2014-04-01T00:00:00.250Z"),
            Some(1_396_310_400_250)
        );
        assert_eq!(
            parse_timestamp_ms("2014-04-01T02:00:00+02:00"),
            Some(1_396_310_400_000)
        );
    }

    #[test]
    fn garbage_is_none() {
        for t in [
            "",
            "yesterday",
            "2014-13-01 00:00:00",
            "2014-04-01",
            "1396310400",
        ] {
            assert_eq!(parse_timestamp_ms(t), None, "{t}");
        }
    }
}
