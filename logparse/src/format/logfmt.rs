//! logfmt lines: `time=... level=info msg="hello world" latency=35ms`.
//!
//! Values are bare (up to the next space) or double-quoted with `\"`, `\\`,
//! `\n`, `\t`, `\r` escapes. A bare key without `=` is kept with an empty
//! value. A line counts as logfmt when it starts with `key=` and has at
//! least two `key=value` pairs.

use std::borrow::Cow;

use crate::format::{assign_roles, Field, Format, ParseConfig, ParsedEvent};

#[inline]
fn is_key_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-' | b'@' | b'/')
}

/// Does the line start with `key=`?
pub fn looks_like(b: &[u8]) -> bool {
    // The first byte first: most plain lines start with a digit or `[`, and
    // need no scan of their first token.
    if !b.first().is_some_and(u8::is_ascii_alphabetic) {
        return false;
    }
    let k = b.iter().take_while(|&&c| is_key_byte(c)).count();
    k <= 64 && b.get(k) == Some(&b'=')
}

/// Parse a logfmt line; `None` if it has fewer than two `key=value` pairs or
/// an unterminated quote.
pub fn parse<'a>(line: &'a str, cfg: &ParseConfig) -> Option<ParsedEvent<'a>> {
    let b = line.as_bytes();
    let mut ev = ParsedEvent::new(Format::Logfmt, line);
    let mut i = 0;
    let mut pairs = 0;
    while i < b.len() {
        while i < b.len() && matches!(b[i], b' ' | b'\t') {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        let ks = i;
        while i < b.len() && is_key_byte(b[i]) {
            i += 1;
        }
        if i == ks {
            // Not a key character: not logfmt.
            return None;
        }
        let key = &line[ks..i];
        if i >= b.len() || b[i] == b' ' || b[i] == b'\t' {
            ev.fields.push(Field::new(key, ""));
            continue;
        }
        if b[i] != b'=' {
            return None;
        }
        i += 1;
        pairs += 1;
        let value: Cow<'a, str> = if b.get(i) == Some(&b'"') {
            i += 1;
            let vs = i;
            let mut owned: Option<String> = None;
            loop {
                let c = *b.get(i)?;
                match c {
                    b'"' => break,
                    b'\\' => {
                        let o = owned.get_or_insert_with(|| line[vs..i].to_string());
                        let e = *b.get(i + 1)?;
                        match e {
                            b'n' => o.push('\n'),
                            b't' => o.push('\t'),
                            b'r' => o.push('\r'),
                            b'"' | b'\\' => o.push(e as char),
                            _ => {
                                o.push('\\');
                                // Keep the next char as is (may be multi-byte).
                                i += 1;
                                continue;
                            }
                        }
                        i += 2;
                    }
                    _ => {
                        let from = i;
                        while i < b.len() && !matches!(b[i], b'"' | b'\\') {
                            i += 1;
                        }
                        if let Some(o) = owned.as_mut() {
                            o.push_str(&line[from..i]);
                        }
                    }
                }
            }
            let v = match owned {
                Some(o) => Cow::Owned(o),
                None => Cow::Borrowed(&line[vs..i]),
            };
            i += 1; // closing quote
            v
        } else {
            let vs = i;
            while i < b.len() && b[i] != b' ' && b[i] != b'\t' {
                i += 1;
            }
            Cow::Borrowed(&line[vs..i])
        };
        ev.fields.push(Field {
            key: Cow::Borrowed(key),
            value,
        });
    }
    if pairs < 2 {
        return None;
    }
    assign_roles(&mut ev, cfg);
    Some(ev)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::level::Severity;
    use crate::timestamp::TimeConfig;

    #[test]
    fn looks_like_equals_scan_first_form() {
        // The form before the first-byte check: the key run, then its tests.
        let reference = |b: &[u8]| {
            let k = b.iter().take_while(|&&c| is_key_byte(c)).count();
            k > 0 && k <= 64 && b.get(k) == Some(&b'=') && b[0].is_ascii_alphabetic()
        };
        // Every line of up to 4 bytes over an alphabet holding each class.
        let alphabet: [&[u8]; 10] = [
            b"a",
            b"Z",
            b"7",
            b"_",
            b".",
            b"=",
            b" ",
            b"[",
            b"\xc3\xa9",
            b"@",
        ];
        let mut lines: Vec<Vec<u8>> = vec![Vec::new()];
        for _ in 0..4 {
            for l in lines.clone() {
                for a in alphabet {
                    lines.push([l.as_slice(), a].concat());
                }
            }
        }
        for n in [63, 64, 65] {
            lines.push([vec![b'k'; n], b"=v".to_vec()].concat());
        }
        lines.push(b"time=1 level=info msg=x".to_vec());
        lines.push(b"2024-01-02 x=1".to_vec());
        for l in &lines {
            assert_eq!(
                looks_like(l),
                reference(l),
                "{:?}",
                String::from_utf8_lossy(l)
            );
        }
    }

    const CFG: ParseConfig = ParseConfig {
        time: TimeConfig {
            reference_year: 2024,
        },
        message_only: false,
    };

    #[test]
    fn basic() {
        let ev = parse(
            r#"time=2024-01-02T03:04:05Z level=warn msg="slow \"query\"" latency=1.2s app=db debug"#,
            &CFG,
        )
        .unwrap();
        assert_eq!(ev.severity, Some(Severity::Warn));
        assert_eq!(ev.message, r#"slow "query""#);
        assert_eq!(ev.service.as_deref(), Some("db"));
        assert_eq!(ev.field("latency"), Some("1.2s"));
        assert_eq!(ev.field("debug"), Some(""));
        assert!(ev.timestamp_ms.is_some());
    }

    #[test]
    fn unicode_and_escapes() {
        let ev = parse(r#"a=1 msg="héllo\é wörld""#, &CFG).unwrap();
        assert_eq!(ev.message, "héllo\\é wörld");
    }

    #[test]
    fn rejects() {
        assert!(parse("a=1", &CFG).is_none());
        assert!(parse(r#"a=1 b="open"#, &CFG).is_none());
        assert!(parse("a=1 (b)=2", &CFG).is_none());
        assert!(looks_like(b"level=info"));
        assert!(!looks_like(b"hello world"));
        assert!(!looks_like(b"=x"));
    }
}
