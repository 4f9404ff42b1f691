//! Per-line format detection and parsing into a [`ParsedEvent`].
//!
//! Detection looks at the first bytes of the line only, in this order:
//!
//! | first bytes | format | parser |
//! |---|---|---|
//! | `{` | [`Format::Json`] | [`json`] |
//! | `<PRI>1 ` | [`Format::Syslog5424`] | [`rfc5424`] |
//! | `<PRI>` or `MMM dd HH:mm:ss host tag:` | [`Format::Syslog3164`] | [`rfc3164`] |
//! | `host ident user [date] "` | [`Format::AccessLog`] | [`access`] |
//! | `key=value key=value` | [`Format::Logfmt`] | [`logfmt`] |
//! | anything else | [`Format::Plain`] | [`plain`] |
//!
//! A line that looks like one format but does not parse as it falls back to
//! plain text, so every line yields an event. Parsing borrows from the line
//! where it can (`Cow::Borrowed`), and allocates only for unescaped JSON /
//! logfmt strings and flattened nested JSON keys.

use std::borrow::Cow;
use std::fmt;

use smallvec::SmallVec;

use crate::level::{map_level_name, Severity};
use crate::timestamp::{self, TimeConfig};

pub mod access;
pub mod json;
pub mod logfmt;
pub mod plain;
pub mod rfc3164;
pub mod rfc5424;

/// The detected layout of a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// One JSON object per line.
    Json,
    /// `key=value` pairs (values optionally double-quoted).
    Logfmt,
    /// BSD syslog (RFC 3164), with or without `<PRI>`.
    Syslog3164,
    /// IETF syslog (RFC 5424).
    Syslog5424,
    /// NCSA common / combined access log (Apache, nginx).
    AccessLog,
    /// Anything else: free text with optional timestamp and level.
    Plain,
}

impl Format {
    /// Short lowercase name (`"json"`, `"logfmt"`, `"syslog3164"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Logfmt => "logfmt",
            Format::Syslog3164 => "syslog3164",
            Format::Syslog5424 => "syslog5424",
            Format::AccessLog => "access",
            Format::Plain => "plain",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A key/value pair extracted from a line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field<'a> {
    /// Field name (nested JSON keys are joined with `.`).
    pub key: Cow<'a, str>,
    /// Field value as text (JSON numbers/booleans verbatim, arrays raw).
    pub value: Cow<'a, str>,
}

impl<'a> Field<'a> {
    /// A borrowed field.
    pub fn new(key: &'a str, value: &'a str) -> Self {
        Field {
            key: Cow::Borrowed(key),
            value: Cow::Borrowed(value),
        }
    }
}

/// Small inline vector of fields: no allocation up to 8 fields.
pub type Fields<'a> = SmallVec<[Field<'a>; 8]>;

/// One parsed log line.
#[derive(Clone, Debug, PartialEq)]
pub struct ParsedEvent<'a> {
    /// Detected format.
    pub format: Format,
    /// Event time, milliseconds since the Unix epoch (UTC), if found.
    pub timestamp_ms: Option<i64>,
    /// Severity, if found (level field/token, syslog PRI, HTTP status).
    pub severity: Option<Severity>,
    /// The message: the text after the header (plain/syslog), the
    /// `message`/`msg` field (JSON/logfmt), the request line (access log).
    /// When a structured line has no message field, the whole line.
    pub message: Cow<'a, str>,
    /// Service / application name, if found (`service`, `app`, syslog tag).
    pub service: Option<Cow<'a, str>>,
    /// Remaining key/values (level, time, message and service removed).
    pub fields: Fields<'a>,
}

impl<'a> ParsedEvent<'a> {
    /// An event with only a message.
    pub fn new(format: Format, message: &'a str) -> Self {
        ParsedEvent {
            format,
            timestamp_ms: None,
            severity: None,
            message: Cow::Borrowed(message),
            service: None,
            fields: Fields::new(),
        }
    }

    /// First field named `key` (exact match).
    pub fn field(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|f| f.key == key)
            .map(|f| f.value.as_ref())
    }

    /// Copy into an event that owns its strings.
    pub fn into_owned(self) -> ParsedEvent<'static> {
        ParsedEvent {
            format: self.format,
            timestamp_ms: self.timestamp_ms,
            severity: self.severity,
            message: Cow::Owned(self.message.into_owned()),
            service: self.service.map(|s| Cow::Owned(s.into_owned())),
            fields: self
                .fields
                .into_iter()
                .map(|f| Field {
                    key: Cow::Owned(f.key.into_owned()),
                    value: Cow::Owned(f.value.into_owned()),
                })
                .collect(),
        }
    }
}

/// Parser settings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ParseConfig {
    /// Timestamp assumptions (reference year for year-less timestamps;
    /// zone-less timestamps are UTC).
    pub time: TimeConfig,
    /// Parse only as far as the message needs: a plain-text line whose
    /// header has no level token, or a syslog line without `<PRI>`, is not
    /// scanned for one (its severity stays unset). For template mining,
    /// which reads the message alone; the message is the same either way.
    pub message_only: bool,
}

/// Role of a well-known structured key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyRole {
    Time,
    Level,
    SeverityNumber,
    SyslogPriority,
    Message,
    Service,
    Other,
}

/// Classify a structured field name (case-insensitive).
pub(crate) fn key_role(key: &str) -> KeyRole {
    if key.len() > 24 {
        return KeyRole::Other;
    }
    let mut buf = [0u8; 24];
    let k = &mut buf[..key.len()];
    k.copy_from_slice(key.as_bytes());
    k.make_ascii_lowercase();
    match &k[..] {
        b"time" | b"timestamp" | b"@timestamp" | b"ts" | b"datetime" | b"date" | b"t"
        | b"eventtime" | b"event_time" | b"time_local" | b"time_iso8601" | b"asctime"
        | b"observedtimestamp" | b"timeunixnano" | b"time_unix_nano" => KeyRole::Time,
        b"level" | b"lvl" | b"severity" | b"loglevel" | b"log_level" | b"log.level"
        | b"levelname" | b"severity_text" | b"severitytext" | b"level_name" => KeyRole::Level,
        b"priority" | b"syslog.severity" => KeyRole::SyslogPriority,
        b"severity_number" | b"severitynumber" => KeyRole::SeverityNumber,
        b"message" | b"msg" | b"log" | b"text" | b"body" | b"@message" | b"event"
        | b"message_text" => KeyRole::Message,
        b"service" | b"service.name" | b"service_name" | b"servicename" | b"app" | b"app_name"
        | b"application" | b"appname" | b"program" => KeyRole::Service,
        _ => KeyRole::Other,
    }
}

/// Move the well-known fields of a structured line into the event slots.
/// The first occurrence of each role wins; later ones stay in `fields`.
pub(crate) fn assign_roles<'a>(ev: &mut ParsedEvent<'a>, cfg: &ParseConfig) {
    let mut have_msg = false;
    let mut i = 0;
    while i < ev.fields.len() {
        let role = key_role(&ev.fields[i].key);
        let take = match role {
            KeyRole::Time if ev.timestamp_ms.is_none() => {
                ev.timestamp_ms = timestamp::parse_value(&ev.fields[i].value, &cfg.time);
                ev.timestamp_ms.is_some()
            }
            KeyRole::Level if ev.severity.is_none() => {
                ev.severity = map_level_name(&ev.fields[i].value);
                ev.severity.is_some()
            }
            KeyRole::SeverityNumber if ev.severity.is_none() => {
                ev.severity = ev.fields[i]
                    .value
                    .trim()
                    .parse::<i64>()
                    .ok()
                    .and_then(Severity::from_otel_number);
                ev.severity.is_some()
            }
            KeyRole::SyslogPriority if ev.severity.is_none() => {
                let v = ev.fields[i].value.trim();
                ev.severity = match v.parse::<u8>() {
                    Ok(n) if n <= 7 => Some(Severity::from_syslog(n)),
                    Ok(_) => None,
                    Err(_) => map_level_name(v),
                };
                ev.severity.is_some()
            }
            KeyRole::Message if !have_msg => {
                have_msg = true;
                true
            }
            KeyRole::Service if ev.service.is_none() => true,
            _ => false,
        };
        if take {
            let f = ev.fields.remove(i);
            match role {
                KeyRole::Message => ev.message = f.value,
                KeyRole::Service => ev.service = Some(f.value),
                _ => {}
            }
        } else {
            i += 1;
        }
    }
}

/// Guess the format of a line from its first bytes (no full parse).
pub fn detect_format(line: &str) -> Format {
    // `trim_start` decodes chars to find Unicode whitespace; a line that
    // starts with a printable ASCII byte has none to trim.
    let b = match line.as_bytes().first() {
        Some(&c) if c > b' ' && c < 0x80 => line.as_bytes(),
        _ => line.trim_start().as_bytes(),
    };
    match b.first() {
        Some(b'{') => Format::Json,
        Some(b'<') => {
            if rfc5424::looks_like(b) {
                Format::Syslog5424
            } else if rfc3164::has_pri(b) {
                Format::Syslog3164
            } else {
                Format::Plain
            }
        }
        Some(_) => {
            if access::looks_like(b) {
                Format::AccessLog
            } else if rfc3164::looks_like_headerless_pri(b) {
                Format::Syslog3164
            } else if logfmt::looks_like(b) {
                Format::Logfmt
            } else {
                Format::Plain
            }
        }
        None => Format::Plain,
    }
}

/// `line.trim_end_matches(['\r', '\n'])` by bytes (no char decoding: a
/// UTF-8 continuation byte is never `\r` or `\n`).
#[inline]
fn trim_line_end(line: &str) -> &str {
    let b = line.as_bytes();
    let mut n = b.len();
    while n > 0 && matches!(b[n - 1], b'\r' | b'\n') {
        n -= 1;
    }
    &line[..n]
}

/// Detect the format of `line` and parse it. Never fails: a line that does
/// not parse as its detected format is parsed as plain text. Trailing
/// `\r`/`\n` are ignored.
pub fn parse_line<'a>(line: &'a str, cfg: &ParseConfig) -> ParsedEvent<'a> {
    let line = trim_line_end(line);
    let parsed = match detect_format(line) {
        Format::Json => json::parse(line, cfg),
        Format::Syslog5424 => rfc5424::parse(line, cfg),
        Format::Syslog3164 => rfc3164::parse(line, cfg),
        Format::AccessLog => access::parse(line, cfg),
        Format::Logfmt => logfmt::parse(line, cfg),
        // Straight into the return slot: the event (~480 bytes) is not
        // built in an `Option` and then moved out of it.
        Format::Plain => return plain::parse(line, cfg),
    };
    match parsed {
        Some(ev) => ev,
        None => plain::parse(line, cfg),
    }
}

/// A parser holding its configuration; `parse` is [`parse_line`].
#[derive(Clone, Copy, Debug, Default)]
pub struct Parser {
    config: ParseConfig,
}

impl Parser {
    /// A parser with the given settings.
    pub fn new(config: ParseConfig) -> Self {
        Parser { config }
    }

    /// The settings.
    pub fn config(&self) -> &ParseConfig {
        &self.config
    }

    /// Parse one line.
    pub fn parse<'a>(&self, line: &'a str) -> ParsedEvent<'a> {
        parse_line(line, &self.config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_trims_equal_char_trims() {
        // Every string of up to 3 chars over ASCII and Unicode whitespace,
        // the first bytes the detection looks at and non-ASCII chars, before
        // a few line bodies.
        let chars = [
            ' ', '\t', '\r', '\n', '\u{b}', '\u{c}', '\u{1f}', '\u{85}', '\u{a0}', '\u{2003}',
            '\u{3000}', 'a', '{', '<', '[', '~', '\u{7f}', 'é', '1',
        ];
        for word in crate::every_word::every_word(&chars, 3) {
            let p: String = word.into_iter().collect();
            for body in [
                "",
                "x",
                "{\"a\":1}",
                "<34>1 2003-10-11T22:14:15Z h a - - - m",
                "h - - [x] \"y\"",
            ] {
                for s in [format!("{p}{body}"), format!("{body}{p}")] {
                    assert_eq!(trim_line_end(&s), s.trim_end_matches(['\r', '\n']), "{s:?}");
                    // The round-9 form was `detect_format` of `s.trim_start()`
                    // (which `trim_start` leaves as it is).
                    assert_eq!(detect_format(&s), detect_format(s.trim_start()), "{s:?}");
                }
            }
        }
    }

    const CFG: ParseConfig = ParseConfig {
        time: TimeConfig {
            reference_year: 2024,
        },
        message_only: false,
    };

    #[test]
    fn detection() {
        let cases = [
            (r#"{"level":"info","msg":"x"}"#, Format::Json),
            (
                "<34>1 2003-10-11T22:14:15.003Z mymachine su - ID47 - hi",
                Format::Syslog5424,
            ),
            (
                "<34>Oct 11 22:14:15 mymachine su: 'su root' failed",
                Format::Syslog3164,
            ),
            (
                "Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user",
                Format::Syslog3164,
            ),
            (
                r#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 200 2326"#,
                Format::AccessLog,
            ),
            (
                "time=2024-01-01T00:00:00Z level=info msg=hello",
                Format::Logfmt,
            ),
            ("2015-10-18 18:01:47,978 INFO [main] x: y", Format::Plain),
            ("", Format::Plain),
        ];
        for (line, want) in cases {
            assert_eq!(detect_format(line), want, "{line}");
            assert_eq!(parse_line(line, &CFG).format, want, "{line}");
        }
    }

    #[test]
    fn fallback_to_plain() {
        let ev = parse_line("{not json at all", &CFG);
        assert_eq!(ev.format, Format::Plain);
        assert_eq!(ev.message, "{not json at all");
        let ev = parse_line("<999>nonsense", &CFG);
        assert_eq!(ev.format, Format::Plain);
    }

    #[test]
    fn roles_and_owned() {
        let ev = parse_line(
            r#"{"ts":1700000000,"severity":"WARN","message":"disk slow","service":"api","latency_ms":35}"#,
            &CFG,
        );
        assert_eq!(ev.timestamp_ms, Some(1_700_000_000_000));
        assert_eq!(ev.severity, Some(Severity::Warn));
        assert_eq!(ev.message, "disk slow");
        assert_eq!(ev.service.as_deref(), Some("api"));
        assert_eq!(ev.field("latency_ms"), Some("35"));
        assert_eq!(ev.fields.len(), 1);
        let owned = ev.clone().into_owned();
        assert_eq!(owned, ev);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]
        /// No parser panics, whatever the input; each parser is also called
        /// directly, not only through detection.
        #[test]
        fn parsers_never_panic(line in crate::fuzzing::strategies::log_line()) {
            let ev = parse_line(&line, &CFG);
            let _ = ev.clone().into_owned();
            let _ = detect_format(&line);
            let _ = json::parse(&line, &CFG);
            let _ = logfmt::parse(&line, &CFG);
            let _ = rfc3164::parse(&line, &CFG);
            let _ = rfc5424::parse(&line, &CFG);
            let _ = access::parse(&line, &CFG);
            let _ = plain::parse(&line, &CFG);
        }
    }
}
