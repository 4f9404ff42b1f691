//! BSD syslog, RFC 3164: `<PRI>MMM dd HH:mm:ss HOST TAG[PID]: MSG`.
//!
//! Also accepted: no `<PRI>` (syslog files such as `/var/log/auth.log`:
//! `Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user ...`), an ISO 8601
//! timestamp instead of the BSD one (rsyslog high precision), no HOST
//! (`<13>Oct 11 22:14:15 su: msg`), no timestamp (`<13>su: msg`).
//!
//! Severity comes from `PRI & 7`; without PRI, from the message text
//! ([`crate::level::detect_level`], e.g. sshd's `error:` / `fatal:`
//! prefixes). The TAG is the service; `host`, `pid` and `facility` become
//! fields. The year of a BSD timestamp is the configured reference year.

use std::borrow::Cow;

use crate::format::rfc5424::read_pri;
use crate::format::{Field, Format, ParseConfig, ParsedEvent};
use crate::level::{detect_level, Severity};
use crate::timestamp;

/// Starts with `<PRI>`.
pub fn has_pri(b: &[u8]) -> bool {
    read_pri(b).is_some()
}

/// Starts with a BSD timestamp followed by `host tag...:` (no PRI).
pub fn looks_like_headerless_pri(b: &[u8]) -> bool {
    // "Mmm dd hh:mm:ss " is 16 bytes; then host, tag and a colon.
    if b.len() < 20 || !b[0].is_ascii_uppercase() || b[3] != b' ' || b[6] != b' ' || b[15] != b' ' {
        return false;
    }
    if b[9] != b':' || b[12] != b':' {
        return false;
    }
    // host and tag: two more tokens, the second ending in ':' or ']:'.
    let rest = &b[16..b.len().min(16 + 128)];
    let Some(sp) = rest.iter().position(|&c| c == b' ') else {
        return false;
    };
    let tag = &rest[sp + 1..];
    let tag_end = tag.iter().position(|&c| c == b' ').unwrap_or(tag.len());
    sp > 0 && tag_end > 1 && tag[tag_end - 1] == b':'
}

fn is_tag_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b'/' | b'@')
}

/// Parse an RFC 3164 line (with or without PRI).
pub fn parse<'a>(line: &'a str, cfg: &ParseConfig) -> Option<ParsedEvent<'a>> {
    let b = line.as_bytes();
    let mut ev = ParsedEvent::new(Format::Syslog3164, "");
    let mut i = 0;
    if let Some((pri, n)) = read_pri(b) {
        ev.severity = Some(Severity::from_syslog(pri & 7));
        ev.fields.push(Field {
            key: Cow::Borrowed("facility"),
            value: Cow::Owned((pri >> 3).to_string()),
        });
        i = n;
    }
    let had_pri = i > 0;
    if let Some((ts, used)) = timestamp::parse_prefix(&line[i..], &cfg.time) {
        ev.timestamp_ms = Some(ts);
        i += used;
        if b.get(i) != Some(&b' ') {
            return None;
        }
        i += 1;
        // HOST unless the next token already is the tag ("tag:" / "tag[pid]:").
        let t_end = i + b[i..]
            .iter()
            .position(|&c| c == b' ')
            .unwrap_or(b.len() - i);
        let tok = &b[i..t_end];
        let is_tag = tok.last() == Some(&b':') || tok.contains(&b'[');
        if !is_tag && t_end < b.len() {
            ev.fields.push(Field::new("host", &line[i..t_end]));
            i = t_end + 1;
        }
    } else if !had_pri {
        return None;
    }
    // TAG[PID]:
    let ts = i;
    while i < b.len() && is_tag_byte(b[i]) {
        i += 1;
    }
    let tag_end = i;
    if b.get(i) == Some(&b'[') {
        let ps = i + 1;
        let pe = ps + b[ps..].iter().position(|&c| c == b']')?;
        ev.fields.push(Field::new("pid", &line[ps..pe]));
        i = pe + 1;
    }
    if tag_end > ts && b.get(i) == Some(&b':') && tag_end - ts <= 48 {
        ev.service = Some(Cow::Borrowed(&line[ts..tag_end]));
        i += 1;
        if b.get(i) == Some(&b' ') {
            i += 1;
        }
    } else {
        // No tag: the message starts right after the header.
        if !had_pri {
            return None;
        }
        ev.fields.retain(|f| f.key != "pid");
        i = ts;
    }
    let msg = &line[i..];
    ev.message = Cow::Borrowed(msg);
    if ev.severity.is_none() && !cfg.message_only {
        ev.severity = detect_level(msg);
    }
    Some(ev)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timestamp::{to_epoch_ms, TimeConfig};

    const CFG: ParseConfig = ParseConfig {
        time: TimeConfig {
            reference_year: 2024,
        },
        message_only: false,
    };

    #[test]
    fn openssh_file_layout() {
        let ev = parse(
            "Dec 10 06:55:46 LabSZ sshd[24200]: reverse mapping checking getaddrinfo for ns.example.com [173.234.31.186] failed - POSSIBLE BREAK-IN ATTEMPT!",
            &CFG,
        )
        .unwrap();
        assert_eq!(ev.service.as_deref(), Some("sshd"));
        assert_eq!(ev.field("host"), Some("LabSZ"));
        assert_eq!(ev.field("pid"), Some("24200"));
        assert!(ev.message.starts_with("reverse mapping"));
        assert_eq!(ev.timestamp_ms, to_epoch_ms(2024, 12, 10, 6, 55, 46, 0));
        assert_eq!(ev.severity, None);
        let ev = parse(
            "Dec 10 06:55:46 LabSZ sshd[24200]: error: Received disconnect",
            &CFG,
        )
        .unwrap();
        assert_eq!(ev.severity, Some(Severity::Error));
    }

    #[test]
    fn with_pri() {
        let ev = parse("<34>Oct 11 22:14:15 mymachine su: 'su root' failed", &CFG).unwrap();
        assert_eq!(ev.severity, Some(Severity::Fatal));
        assert_eq!(ev.service.as_deref(), Some("su"));
        assert_eq!(ev.field("host"), Some("mymachine"));
        assert_eq!(ev.message, "'su root' failed");
        let ev = parse("<13>Oct 11 22:14:15 su: hi", &CFG).unwrap();
        assert_eq!(ev.service.as_deref(), Some("su"));
        assert_eq!(ev.field("host"), None);
        let ev = parse("<13>su[1]: hi", &CFG).unwrap();
        assert_eq!(ev.service.as_deref(), Some("su"));
        assert_eq!(ev.message, "hi");
        let ev = parse("<13>just a message", &CFG).unwrap();
        assert_eq!(ev.service, None);
        assert_eq!(ev.message, "just a message");
        let ev = parse("<30>2024-01-02T03:04:05.123+00:00 host app[9]: x", &CFG).unwrap();
        assert_eq!(ev.service.as_deref(), Some("app"));
        assert!(ev.timestamp_ms.is_some());
    }

    #[test]
    fn message_only_parses_the_same_message_without_scanning_it_for_a_level() {
        let message_only = ParseConfig {
            message_only: true,
            ..CFG
        };
        for (line, lean_severity) in [
            (
                "Dec 10 06:55:46 LabSZ sshd[24200]: error: Received disconnect",
                None,
            ),
            ("Jan  1 00:00:00 host cron: fatal: x", None),
            // The PRI is read either way.
            (
                "<34>Oct 11 22:14:15 mymachine su: error: x",
                Some(Severity::Fatal),
            ),
        ] {
            let full = parse(line, &CFG).unwrap();
            let lean = parse(line, &message_only).unwrap();
            assert_eq!(lean.message, full.message, "{line}");
            assert_eq!(lean.timestamp_ms, full.timestamp_ms, "{line}");
            assert_eq!(lean.service, full.service, "{line}");
            assert_eq!(lean.fields, full.fields, "{line}");
            assert_eq!(lean.severity, lean_severity, "{line}");
            assert!(full.severity.is_some(), "{line}");
        }
    }

    #[test]
    fn detection_helper() {
        assert!(looks_like_headerless_pri(
            b"Dec 10 06:55:46 LabSZ sshd[24200]: x"
        ));
        assert!(looks_like_headerless_pri(b"Jan  1 00:00:00 host cron: x"));
        assert!(!looks_like_headerless_pri(
            b"Dec 10 06:55:46 just some text here"
        ));
        assert!(!looks_like_headerless_pri(b"short"));
    }
}
