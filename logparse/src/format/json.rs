//! JSON object lines (`{"level":"info","msg":"..."}`), scanned by hand.
//!
//! * String values are borrowed unless they contain escapes (then
//!   unescaped into an owned string; invalid `\u` escapes become U+FFFD).
//! * Numbers, booleans are kept verbatim; `null` members are dropped.
//! * Nested objects are flattened with dotted keys (`{"log":{"level":"x"}}`
//!   gives `log.level`), up to [`MAX_DEPTH`] levels; deeper objects and all
//!   arrays are kept as raw JSON text.
//! * Well-known keys fill the event slots (see `format::key_role`): time
//!   (ISO 8601 or epoch s/ms/us/ns), level / severity / severity_number,
//!   message / msg / log, service / app.
//! * Anything that is not a complete JSON object returns `None` (the caller
//!   falls back to plain text). Trailing text after the object is ignored.

use std::borrow::Cow;

use crate::format::{assign_roles, Field, Format, ParseConfig, ParsedEvent};

/// Nesting depth flattened into dotted keys.
pub const MAX_DEPTH: usize = 4;

/// Parse a JSON-object line.
pub fn parse<'a>(line: &'a str, cfg: &ParseConfig) -> Option<ParsedEvent<'a>> {
    let start = line.len() - line.trim_start().len();
    let mut p = Scanner {
        s: line,
        b: line.as_bytes(),
        i: start,
    };
    let mut ev = ParsedEvent::new(Format::Json, line);
    p.object(None, 0, &mut ev)?;
    assign_roles(&mut ev, cfg);
    Some(ev)
}

struct Scanner<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
}

impl<'a> Scanner<'a> {
    fn ws(&mut self) {
        while self.i < self.b.len() && matches!(self.b[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn expect(&mut self, c: u8) -> Option<()> {
        self.ws();
        (self.peek()? == c).then(|| self.i += 1)
    }

    /// Parse an object at the cursor, pushing its members into `ev.fields`.
    fn object(
        &mut self,
        prefix: Option<&str>,
        depth: usize,
        ev: &mut ParsedEvent<'a>,
    ) -> Option<()> {
        self.expect(b'{')?;
        self.ws();
        if self.peek()? == b'}' {
            self.i += 1;
            return Some(());
        }
        loop {
            self.ws();
            let key = self.string()?;
            self.expect(b':')?;
            self.ws();
            let full_key: Cow<'a, str> = match prefix {
                Some(p) => Cow::Owned(format!("{p}.{key}")),
                None => key,
            };
            match self.peek()? {
                b'"' => {
                    let v = self.string()?;
                    ev.fields.push(Field {
                        key: full_key,
                        value: v,
                    });
                }
                b'{' if depth + 1 < MAX_DEPTH => {
                    let k = full_key.into_owned();
                    self.object(Some(&k), depth + 1, ev)?;
                }
                b'{' | b'[' => {
                    let from = self.i;
                    self.skip_container()?;
                    ev.fields.push(Field {
                        key: full_key,
                        value: Cow::Borrowed(&self.s[from..self.i]),
                    });
                }
                _ => {
                    let from = self.i;
                    while self.i < self.b.len()
                        && !matches!(
                            self.b[self.i],
                            b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r'
                        )
                    {
                        self.i += 1;
                    }
                    let raw = &self.s[from..self.i];
                    if !is_literal(raw) {
                        return None;
                    }
                    if raw != "null" {
                        ev.fields.push(Field {
                            key: full_key,
                            value: Cow::Borrowed(raw),
                        });
                    }
                }
            }
            self.ws();
            match self.peek()? {
                b',' => self.i += 1,
                b'}' => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// Skip a `{...}` or `[...]` value, strings aware, without recursion.
    fn skip_container(&mut self) -> Option<()> {
        let mut depth = 0usize;
        while self.i < self.b.len() {
            match self.b[self.i] {
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    depth = depth.checked_sub(1)?;
                    if depth == 0 {
                        self.i += 1;
                        return Some(());
                    }
                }
                b'"' => {
                    self.string()?;
                    continue;
                }
                _ => {}
            }
            self.i += 1;
        }
        None
    }

    /// A string at the cursor (which must be `"`), unescaped if needed.
    fn string(&mut self) -> Option<Cow<'a, str>> {
        if self.peek()? != b'"' {
            return None;
        }
        self.i += 1;
        let start = self.i;
        // Fast path: no escapes.
        while self.i < self.b.len() {
            match self.b[self.i] {
                b'"' => {
                    let v = &self.s[start..self.i];
                    self.i += 1;
                    return Some(Cow::Borrowed(v));
                }
                b'\\' => break,
                _ => self.i += 1,
            }
        }
        if self.i >= self.b.len() {
            return None;
        }
        let mut out = String::with_capacity(self.i - start + 16);
        out.push_str(&self.s[start..self.i]);
        loop {
            let c = self.peek()?;
            match c {
                b'"' => {
                    self.i += 1;
                    return Some(Cow::Owned(out));
                }
                b'\\' => {
                    self.i += 1;
                    let e = self.peek()?;
                    self.i += 1;
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let hi = self.hex4()?;
                            let ch = if (0xd800..0xdc00).contains(&hi) {
                                // Surrogate pair.
                                if self.b.get(self.i..self.i + 2) == Some(b"\\u") {
                                    self.i += 2;
                                    let lo = self.hex4()?;
                                    if (0xdc00..0xe000).contains(&lo) {
                                        char::from_u32(
                                            0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00),
                                        )
                                    } else {
                                        None
                                    }
                                } else {
                                    None
                                }
                            } else {
                                char::from_u32(hi)
                            };
                            out.push(ch.unwrap_or('\u{fffd}'));
                        }
                        _ => return None,
                    }
                }
                _ => {
                    // Copy the run up to the next quote or backslash.
                    let from = self.i;
                    while self.i < self.b.len() && !matches!(self.b[self.i], b'"' | b'\\') {
                        self.i += 1;
                    }
                    out.push_str(&self.s[from..self.i]);
                }
            }
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let h = self.b.get(self.i..self.i + 4)?;
        let mut v = 0u32;
        for &c in h {
            v = v * 16 + (c as char).to_digit(16)?;
        }
        self.i += 4;
        Some(v)
    }
}

fn is_literal(raw: &str) -> bool {
    match raw {
        "true" | "false" | "null" => true,
        _ => {
            let b = raw.as_bytes();
            !b.is_empty()
                && (b[0] == b'-' || b[0].is_ascii_digit())
                && b.iter()
                    .all(|c| c.is_ascii_digit() || matches!(c, b'-' | b'+' | b'.' | b'e' | b'E'))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::level::Severity;
    use crate::timestamp::TimeConfig;

    const CFG: ParseConfig = ParseConfig {
        time: TimeConfig {
            reference_year: 2024,
        },
        message_only: false,
    };

    #[test]
    fn flat_object() {
        let line = r#"{"time":"2024-01-02T03:04:05Z","level":"error","msg":"db \"main\" down","service":"api","status":503,"ok":false,"x":null}"#;
        let ev = parse(line, &CFG).unwrap();
        assert_eq!(ev.format, Format::Json);
        assert_eq!(ev.severity, Some(Severity::Error));
        assert_eq!(ev.message, "db \"main\" down");
        assert_eq!(ev.service.as_deref(), Some("api"));
        assert_eq!(ev.timestamp_ms, Some(1_704_164_645_000));
        assert_eq!(ev.field("status"), Some("503"));
        assert_eq!(ev.field("ok"), Some("false"));
        assert_eq!(ev.field("x"), None);
    }

    #[test]
    fn nested_and_arrays() {
        let line = r#"{"log":{"level":"warn"},"service":{"name":"pay"},"message":"m","tags":["a","b]"],"deep":{"a":{"b":{"c":{"d":1}}}}}"#;
        let ev = parse(line, &CFG).unwrap();
        assert_eq!(ev.severity, Some(Severity::Warn));
        assert_eq!(ev.service.as_deref(), Some("pay"));
        assert_eq!(ev.field("tags"), Some(r#"["a","b]"]"#));
        assert_eq!(ev.field("deep.a.b.c"), Some(r#"{"d":1}"#));
    }

    #[test]
    fn unicode_escapes() {
        let ev = parse(r#"{"msg":"caf\u00e9 \ud83d\ude00 \ud800x"}"#, &CFG).unwrap();
        assert_eq!(ev.message, "café 😀 \u{fffd}x");
        let ev = parse(r#"{"msg":"ünï"}"#, &CFG).unwrap();
        assert_eq!(ev.message, "ünï");
    }

    #[test]
    fn numeric_levels_and_epochs() {
        let ev = parse(r#"{"level":50,"time":1700000000123,"msg":"x"}"#, &CFG).unwrap();
        assert_eq!(ev.severity, Some(Severity::Error));
        assert_eq!(ev.timestamp_ms, Some(1_700_000_000_123));
        let ev = parse(r#"{"severity_number":13,"body":"x"}"#, &CFG).unwrap();
        assert_eq!(ev.severity, Some(Severity::Warn));
        let ev = parse(r#"{"PRIORITY":"3","MESSAGE":"x"}"#, &CFG).unwrap();
        assert_eq!(ev.severity, Some(Severity::Error));
        assert_eq!(ev.message, "x");
    }

    #[test]
    fn no_message_uses_line() {
        let line = r#"{"a":1}"#;
        assert_eq!(parse(line, &CFG).unwrap().message, line);
        assert!(parse("{}", &CFG).is_some());
    }

    #[test]
    fn rejects_broken() {
        for s in [
            "{",
            r#"{"a"}"#,
            r#"{"a":}"#,
            r#"{"a":1,}"#,
            r#"{"a":"x}"#,
            r#"{"a":tru}"#,
            r#"{"a":"\q"}"#,
            r#"{"a":[1,2}"#,
            r#"{"a":1"#,
        ] {
            assert!(parse(s, &CFG).is_none(), "{s}");
        }
    }
}
