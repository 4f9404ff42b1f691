//! IETF syslog, RFC 5424:
//! `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD-ID k="v"...] MSG`.
//!
//! Severity comes from `PRI & 7` (see [`crate::level`]); `facility`,
//! `host`, `procid`, `msgid` and structured-data params (`k`, with `\"`,
//! `\\`, `\]` escapes kept verbatim) become fields; APP-NAME is the service.
//! `-` (nil) values are skipped. A leading UTF-8 BOM in MSG is dropped.

use std::borrow::Cow;

use crate::format::{Field, Format, ParseConfig, ParsedEvent};
use crate::level::Severity;
use crate::timestamp;

/// Read `<PRI>` at the start: (pri, bytes used).
pub(crate) fn read_pri(b: &[u8]) -> Option<(u8, usize)> {
    if b.first() != Some(&b'<') {
        return None;
    }
    let mut i = 1;
    let mut v: u32 = 0;
    while i < b.len() && i <= 3 && b[i].is_ascii_digit() {
        v = v * 10 + (b[i] - b'0') as u32;
        i += 1;
    }
    if i == 1 || b.get(i) != Some(&b'>') || v > 191 {
        return None;
    }
    Some((v as u8, i + 1))
}

/// `<PRI>1 ` at the start.
pub fn looks_like(b: &[u8]) -> bool {
    match read_pri(b) {
        Some((_, n)) => {
            let v = &b[n..];
            let d = v.iter().take_while(|c| c.is_ascii_digit()).count();
            (1..=2).contains(&d) && v.get(d) == Some(&b' ')
        }
        None => false,
    }
}

/// Parse an RFC 5424 line.
pub fn parse<'a>(line: &'a str, cfg: &ParseConfig) -> Option<ParsedEvent<'a>> {
    let b = line.as_bytes();
    let (pri, mut i) = read_pri(b)?;
    // VERSION
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let next = |i: &mut usize| -> Option<&'a str> {
        if b.get(*i) != Some(&b' ') {
            return None;
        }
        *i += 1;
        let s = *i;
        while *i < b.len() && b[*i] != b' ' {
            *i += 1;
        }
        (s < *i).then(|| &line[s..*i])
    };
    let ts = next(&mut i)?;
    let host = next(&mut i)?;
    let app = next(&mut i)?;
    let procid = next(&mut i)?;
    let msgid = next(&mut i)?;
    let mut ev = ParsedEvent::new(Format::Syslog5424, "");
    ev.severity = Some(Severity::from_syslog(pri & 7));
    if ts != "-" {
        ev.timestamp_ms = timestamp::parse_value(ts, &cfg.time);
    }
    ev.fields.push(Field {
        key: Cow::Borrowed("facility"),
        value: Cow::Owned((pri >> 3).to_string()),
    });
    for (k, v) in [("host", host), ("procid", procid), ("msgid", msgid)] {
        if v != "-" {
            ev.fields.push(Field::new(k, v));
        }
    }
    if app != "-" {
        ev.service = Some(Cow::Borrowed(app));
    }
    // STRUCTURED-DATA
    if b.get(i) != Some(&b' ') {
        return None;
    }
    i += 1;
    if b.get(i) == Some(&b'-') {
        i += 1;
    } else {
        while b.get(i) == Some(&b'[') {
            i = structured_element(line, i, &mut ev)?;
        }
    }
    // MSG
    let mut msg = line.get(i..).unwrap_or("");
    msg = msg.strip_prefix(' ').unwrap_or(msg);
    msg = msg.strip_prefix('\u{feff}').unwrap_or(msg);
    ev.message = Cow::Borrowed(msg);
    Some(ev)
}

/// Parse one `[id k="v" ...]` at `i`; return the index after `]`.
fn structured_element<'a>(line: &'a str, mut i: usize, ev: &mut ParsedEvent<'a>) -> Option<usize> {
    let b = line.as_bytes();
    i += 1; // [
    while i < b.len() && !matches!(b[i], b' ' | b']') {
        i += 1;
    }
    loop {
        match *b.get(i)? {
            b']' => return Some(i + 1),
            b' ' => i += 1,
            _ => {
                let ks = i;
                while i < b.len() && !matches!(b[i], b'=' | b' ' | b']' | b'"') {
                    i += 1;
                }
                let key = &line[ks..i];
                if b.get(i) != Some(&b'=') || b.get(i + 1) != Some(&b'"') || key.is_empty() {
                    return None;
                }
                i += 2;
                let vs = i;
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                let v = line.get(vs..i)?;
                if i >= b.len() {
                    return None;
                }
                i += 1;
                ev.fields.push(Field::new(key, v));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timestamp::TimeConfig;

    const CFG: ParseConfig = ParseConfig {
        time: TimeConfig {
            reference_year: 2024,
        },
        message_only: false,
    };

    #[test]
    fn rfc_examples() {
        let ev = parse(
            "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \u{feff}'su root' failed for lonvick on /dev/pts/8",
            &CFG,
        )
        .unwrap();
        assert_eq!(ev.severity, Some(Severity::Fatal)); // 34 & 7 = 2 (crit)
        assert_eq!(ev.service.as_deref(), Some("su"));
        assert_eq!(ev.field("host"), Some("mymachine.example.com"));
        assert_eq!(ev.field("msgid"), Some("ID47"));
        assert_eq!(ev.field("facility"), Some("4"));
        assert_eq!(ev.message, "'su root' failed for lonvick on /dev/pts/8");
        assert_eq!(ev.timestamp_ms, Some(1_065_910_455_003));

        let ev = parse(
            r#"<165>1 2003-10-11T22:14:15.003Z host evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][x@1 a="q\"b"] An application event"#,
            &CFG,
        )
        .unwrap();
        assert_eq!(ev.severity, Some(Severity::Info));
        assert_eq!(ev.field("eventID"), Some("1011"));
        assert_eq!(ev.field("a"), Some(r#"q\"b"#));
        assert_eq!(ev.message, "An application event");

        let ev = parse("<11>1 - - - - - -", &CFG).unwrap();
        assert_eq!(ev.severity, Some(Severity::Error));
        assert_eq!(ev.message, "");
    }

    #[test]
    fn rejects() {
        assert!(parse("<34>1 2003", &CFG).is_none());
        assert!(parse("<34>1 a b c d e [x k=v] m", &CFG).is_none());
        assert!(parse("<34>1 a b c d e [x k=\"v", &CFG).is_none());
        assert!(!looks_like(b"<34>Oct 11"));
        assert!(looks_like(b"<34>1 x"));
    }
}
