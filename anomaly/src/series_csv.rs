//! The `timestamp,value` row format of NAB's data files
//! (https://github.com/numenta/NAB), shared by `cloudsage detect` and the NAB
//! evaluation so both read series the same way.
//!
//! Plain comma-separated text, no quoting (NAB never quotes); surrounding
//! whitespace and a trailing `\r` are ignored.

use crate::timestamp::parse_timestamp_ms;

/// The header NAB files start with.
pub const HEADER: &str = "timestamp,value";

/// One parsed row. `timestamp` is the text as written (trimmed), echoed in
/// outputs so nothing is lost to reformatting.
#[derive(Debug, Clone, PartialEq)]
pub struct Row<'a> {
    pub timestamp: &'a str,
    pub timestamp_ms: i64,
    pub value_text: &'a str,
    pub value: f64,
}

/// Why a row could not be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RowError {
    #[error("expected 2 comma-separated fields (timestamp,value), found {0}")]
    FieldCount(usize),
    #[error("unreadable timestamp {0:?} (expected e.g. 2014-04-01 00:00:00)")]
    Timestamp(String),
    #[error("value {0:?} is not a finite number")]
    Value(String),
}

/// True if `line` is the `timestamp,value` header (case and spaces ignored).
pub fn is_header(line: &str) -> bool {
    let fields: Vec<String> = line
        .trim()
        .split(',')
        .map(|f| f.trim().to_ascii_lowercase())
        .collect();
    fields == ["timestamp", "value"]
}

/// Parse one data row. NaN and ±∞ are refused: a detector ignores them anyway,
/// and a file that contains them has a problem worth reporting.
pub fn parse_row(line: &str) -> Result<Row<'_>, RowError> {
    let line = line.trim();
    let fields: Vec<&str> = line.split(',').map(str::trim).collect();
    let [timestamp, value_text] = fields[..] else {
        return Err(RowError::FieldCount(fields.len()));
    };
    let timestamp_ms =
        parse_timestamp_ms(timestamp).ok_or_else(|| RowError::Timestamp(timestamp.to_owned()))?;
    let value = value_text
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| RowError::Value(value_text.to_owned()))?;
    Ok(Row {
        timestamp,
        timestamp_ms,
        value_text,
        value,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header() {
        assert!(is_header("timestamp,value"));
        assert!(is_header(" Timestamp , Value\r"));
        assert!(!is_header("timestamp,value,label"));
        assert!(!is_header("2014-04-01 00:00:00,1"));
    }

    #[test]
    fn good_row() {
        let r = parse_row("2014-04-01 00:05:00,20.500833287\r").unwrap();
        assert_eq!(r.timestamp, "2014-04-01 00:05:00");
        assert_eq!(r.timestamp_ms, 1_396_310_700_000);
        assert_eq!(r.value_text, "20.500833287");
        assert_eq!(r.value, 20.500833287);
    }

    #[test]
    fn bad_rows() {
        assert_eq!(
            parse_row("2014-04-01 00:05:00"),
            Err(RowError::FieldCount(1))
        );
        assert_eq!(parse_row("a,b,c"), Err(RowError::FieldCount(3)));
        assert!(matches!(parse_row("soon,1"), Err(RowError::Timestamp(_))));
        for v in ["", "abc", "NaN", "inf", "-infinity", "1e999"] {
            let line = format!("2014-04-01 00:05:00,{v}");
            assert!(matches!(parse_row(&line), Err(RowError::Value(_))), "{v}");
        }
    }
}
