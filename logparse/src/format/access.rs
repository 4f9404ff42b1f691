//! NCSA common / combined access logs (Apache httpd, nginx):
//! `host ident user [10/Oct/2000:13:55:36 -0700] "GET /x HTTP/1.1" 200 2326 "referer" "agent"`,
//! optionally followed by extra tokens (nginx `$request_time`,
//! `rt=0.123 uct="0.001"` pairs).
//!
//! Fields: `client`, `user`, `method`, `path`, `protocol`, `status`,
//! `bytes`, `referer`, `user_agent`, and `request_time` (a trailing bare
//! number, in seconds as nginx logs it) or any trailing `k=v` pairs.
//! Severity from the status: 5xx → Error, 4xx → Warn, otherwise Info.
//! The message is the request line (`GET /x HTTP/1.1`).

use std::borrow::Cow;

use crate::format::{Field, Format, ParseConfig, ParsedEvent};
use crate::level::Severity;
use crate::timestamp;

/// Quick check: three tokens then `[` and later `] "`.
///
/// On x86_64, lines of 16+ bytes are scanned with SSE2 (one 16-byte compare
/// per step, [`third_space16`] and [`has_close_quote16`]); the same answer as
/// [`looks_like_scalar`] (checked in the tests). Not `memchr::memchr_iter`:
/// its per-call dispatch costs more on these 160-byte heads (tried: +3.4 M
/// instructions over the 32 000 Loghub lines of `mine_throughput`).
#[cfg(target_arch = "x86_64")]
pub fn looks_like(b: &[u8]) -> bool {
    let head = &b[..b.len().min(160)];
    if head.len() < 16 {
        return looks_like_scalar(head);
    }
    let Some(i) = third_space16(head) else {
        return false;
    };
    if head.get(i + 1) != Some(&b'[') {
        return false;
    }
    has_close_quote16(&head[i..])
}

/// Quick check: three tokens then `[` and later `] "`.
#[cfg(not(target_arch = "x86_64"))]
pub fn looks_like(b: &[u8]) -> bool {
    looks_like_scalar(b)
}

/// One bit per byte of `c[..16]` equal to `x`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn eq_mask16(c: &[u8], x: u8) -> u32 {
    use core::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8,
    };
    let c: &[u8; 16] = c[..16].try_into().expect("16 bytes");
    // SAFETY: SSE2 is part of the x86_64 baseline; the one load reads the 16
    // bytes of `c` (`_mm_loadu_si128` has no alignment requirement).
    unsafe {
        let v = _mm_loadu_si128(c.as_ptr().cast::<__m128i>());
        _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(x as i8))) as u32
    }
}

/// [`third_space`] of `b`, `b.len() >= 16`: 16 bytes per step, the last step
/// from the last 16 bytes with the bytes already seen shifted out.
#[cfg(target_arch = "x86_64")]
#[inline]
fn third_space16(b: &[u8]) -> Option<usize> {
    let mut need = 3u32;
    let mut k = 0;
    while k < b.len() {
        let mut m = if k + 16 <= b.len() {
            eq_mask16(&b[k..], b' ')
        } else {
            let s = b.len() - 16;
            eq_mask16(&b[s..], b' ') >> (k - s)
        };
        while m != 0 {
            need -= 1;
            if need == 0 {
                return Some(k + m.trailing_zeros() as usize);
            }
            m &= m - 1;
        }
        k += 16;
    }
    None
}

/// Does `r` hold `] "`? Each `"` at 2 or later is checked for `] ` before
/// it; the `"` are found 16 bytes per step (the last step overlapping).
#[cfg(target_arch = "x86_64")]
#[inline]
fn has_close_quote16(r: &[u8]) -> bool {
    if r.len() < 16 {
        return r.windows(3).any(|w| w == b"] \"");
    }
    let mut k = 0;
    while k < r.len() {
        let (base, mut m) = if k + 16 <= r.len() {
            (k, eq_mask16(&r[k..], b'"'))
        } else {
            (r.len() - 16, eq_mask16(&r[r.len() - 16..], b'"'))
        };
        while m != 0 {
            let q = base + m.trailing_zeros() as usize;
            if q >= 2 && r[q - 2] == b']' && r[q - 1] == b' ' {
                return true;
            }
            m &= m - 1;
        }
        k += 16;
    }
    false
}

/// [`looks_like`] one byte word at a time (other targets, and the tests'
/// reference).
fn looks_like_scalar(b: &[u8]) -> bool {
    let head = &b[..b.len().min(160)];
    let Some(i) = third_space(head) else {
        return false;
    };
    if head.get(i + 1) != Some(&b'[') {
        return false;
    }
    // `] "` after it: jump from `]` to `]`.
    let rest = &head[i..];
    let mut from = 0;
    while let Some(p) = find_byte(&rest[from..], b']') {
        let close = from + p;
        if rest[close + 1..].starts_with(b" \"") {
            return true;
        }
        from = close + 1;
    }
    false
}

/// Index of the third space of `b`. Eight bytes at a time (most lines have it after a few
/// dozen bytes, some not at all), then byte by byte inside the word holding it.
fn third_space(b: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let mut seen = 0u32;
    let mut chunks = b.chunks_exact(8);
    let mut base = 0;
    for chunk in chunks.by_ref() {
        let x = u64::from_le_bytes(chunk.try_into().expect("8 bytes")) ^ (ONES * b' ' as u64);
        // High bit of each byte set where the byte was a space (exact, no carries across bytes).
        let spaces = !(((x & LOW7) + LOW7) | x | LOW7);
        // Number of set high bits (no popcnt instruction on the baseline x86-64 target).
        let n = ((spaces >> 7).wrapping_mul(ONES) >> 56) as u32;
        if seen + n >= 3 {
            // Drop the spaces before the third one, then its byte.
            let mut m = spaces;
            for _ in seen..2 {
                m &= m - 1;
            }
            return Some(base + (m.trailing_zeros() / 8) as usize);
        }
        seen += n;
        base += 8;
    }
    b[base..]
        .iter()
        .enumerate()
        .filter(|(_, &c)| c == b' ')
        .nth((2 - seen) as usize)
        .map(|(k, _)| base + k)
}

/// The first index of `x` in `b`, eight bytes per step.
fn find_byte(b: &[u8], x: u8) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut i = 0;
    while i + 8 <= b.len() {
        let v = u64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes")) ^ (x as u64 * ONES);
        // The lowest flagged byte is exact (borrows only flag bytes above it).
        let m = v.wrapping_sub(ONES) & !v & HIGH;
        if m != 0 {
            return Some(i + (m.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    b[i..].iter().position(|&c| c == x).map(|p| i + p)
}

/// Severity of an HTTP status code.
pub fn status_severity(status: u16) -> Severity {
    match status {
        500..=599 => Severity::Error,
        400..=499 => Severity::Warn,
        _ => Severity::Info,
    }
}

/// Parse an access-log line.
pub fn parse<'a>(line: &'a str, _cfg: &ParseConfig) -> Option<ParsedEvent<'a>> {
    let b = line.as_bytes();
    let mut i = 0;
    let tok = |i: &mut usize| -> Option<&'a str> {
        let s = *i;
        while *i < b.len() && b[*i] != b' ' {
            *i += 1;
        }
        let t = &line[s..*i];
        if b.get(*i) == Some(&b' ') {
            *i += 1;
        }
        (!t.is_empty()).then_some(t)
    };
    let client = tok(&mut i)?;
    let _ident = tok(&mut i)?;
    let user = tok(&mut i)?;
    if b.get(i) != Some(&b'[') {
        return None;
    }
    let (ts, used) = timestamp::parse_clf(&b[i + 1..])?;
    i += 1 + used;
    if b.get(i) != Some(&b']') || b.get(i + 1) != Some(&b' ') || b.get(i + 2) != Some(&b'"') {
        return None;
    }
    i += 3;
    let (request, ni) = quoted(line, i)?;
    i = ni;
    if b.get(i) == Some(&b' ') {
        i += 1;
    }
    let status = tok(&mut i)?;
    let code: u16 = status.parse().ok().filter(|c| (100..=999).contains(c))?;
    let mut ev = ParsedEvent::new(Format::AccessLog, request);
    ev.timestamp_ms = Some(ts);
    ev.severity = Some(status_severity(code));
    ev.fields.push(Field::new("client", client));
    if user != "-" {
        ev.fields.push(Field::new("user", user));
    }
    let mut parts = request.splitn(3, ' ');
    if let (Some(m), Some(p)) = (parts.next(), parts.next()) {
        ev.fields.push(Field::new("method", m));
        ev.fields.push(Field::new("path", p));
        if let Some(proto) = parts.next() {
            ev.fields.push(Field::new("protocol", proto));
        }
    }
    ev.fields.push(Field::new("status", status));
    if let Some(bytes) = tok(&mut i) {
        if bytes != "-" {
            ev.fields.push(Field::new("bytes", bytes));
        }
    }
    // Combined: "referer" "agent".
    for key in ["referer", "user_agent"] {
        if b.get(i) != Some(&b'"') {
            break;
        }
        let (v, ni) = quoted(line, i + 1)?;
        i = ni;
        if b.get(i) == Some(&b' ') {
            i += 1;
        }
        if v != "-" {
            ev.fields.push(Field::new(key, v));
        }
    }
    // Extras: k=v pairs or a bare request time.
    while i < b.len() {
        let Some(t) = tok(&mut i) else {
            i += 1;
            continue;
        };
        if let Some((k, v)) = t.split_once('=') {
            ev.fields.push(Field {
                key: Cow::Borrowed(k),
                value: Cow::Borrowed(v.trim_matches('"')),
            });
        } else if t.parse::<f64>().is_ok() && ev.field("request_time").is_none() {
            ev.fields.push(Field::new("request_time", t));
        }
    }
    Some(ev)
}

/// A `"..."` body starting at `i` (after the opening quote), `\"` allowed.
/// Returns the body and the index after the closing quote.
fn quoted(line: &str, mut i: usize) -> Option<(&str, usize)> {
    let b = line.as_bytes();
    let s = i;
    while i < b.len() && b[i] != b'"' {
        if b[i] == b'\\' {
            i += 1;
        }
        i += 1;
    }
    let body = line.get(s..i)?;
    (i < b.len()).then_some((body, i + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn third_space_and_find_byte_equal_byte_loops() {
        let line = b"a b  c d]] \"x ] \" 12345678 ]]]]]]]]]   y z         \xe9\xff] end";
        for s in 0..line.len() {
            let b = &line[s..];
            let want = b
                .iter()
                .enumerate()
                .filter(|(_, &c)| c == b' ')
                .nth(2)
                .map(|(k, _)| k);
            assert_eq!(third_space(b), want, "{s}");
            for x in [b']', b' ', 0xff, b'q'] {
                assert_eq!(find_byte(b, x), b.iter().position(|&c| c == x), "{s} {x}");
            }
        }
    }

    #[test]
    fn third_space_matches_a_byte_scan() {
        let naive = |b: &[u8]| {
            b.iter()
                .enumerate()
                .filter(|(_, &c)| c == b' ')
                .nth(2)
                .map(|(i, _)| i)
        };
        let samples: [&[u8]; 8] = [
            b"",
            b"a b",
            b"a b c",
            b"a b c d",
            b"        ",
            b"1234567 1234567 1234567 [x",
            b"\xa0\x20\xff\x00 \x7f\x80\xe0 \xc0\x21\x1f\x20",
            b"no spaces at all in this longer line of text............",
        ];
        for s in samples {
            assert_eq!(third_space(s), naive(s), "{s:?}");
        }
        for n in 0..40 {
            let line: Vec<u8> = (0..n)
                .map(|k| if k % 7 == 3 { b' ' } else { b'x' })
                .collect();
            assert_eq!(third_space(&line), naive(&line), "{line:?}");
        }
    }
    /// The SSE2 steps against their scalar forms (the whole check rarely
    /// tells them apart: most wrong indices are not followed by `[`).
    fn check_sse2_parts(b: &[u8]) {
        #[cfg(target_arch = "x86_64")]
        if b.len() >= 16 {
            assert_eq!(third_space16(b), third_space(b), "{b:?}");
            for from in 0..b.len().min(4) {
                let r = &b[from..];
                assert_eq!(
                    has_close_quote16(r),
                    r.windows(3).any(|w| w == b"] \""),
                    "{r:?}"
                );
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = b;
    }

    #[test]
    fn has_close_quote16_equals_window_scan() {
        // Every string of up to 5 bytes over `]`, ` `, `"`, `x`, at every
        // offset of 16-40 byte texts (across the 16-byte steps and the
        // overlapping last one).
        #[cfg(target_arch = "x86_64")]
        {
            let alphabet = [b']', b' ', b'"', b'x'];
            let mut n = 1;
            for len in 0..=5 {
                for code in 0..n {
                    let mut c = code;
                    let s: Vec<u8> = (0..len)
                        .map(|_| {
                            let x = alphabet[c % 4];
                            c /= 4;
                            x
                        })
                        .collect();
                    for total in [16, 17, 31, 32, 33, 40] {
                        for at in 0..=total - len {
                            let mut r = vec![b'x'; total];
                            r[at..at + len].copy_from_slice(&s);
                            let want = r.windows(3).any(|w| w == b"] \"");
                            assert_eq!(has_close_quote16(&r), want, "{r:?}");
                        }
                    }
                }
                n *= 4;
            }
        }
    }

    #[test]
    fn looks_like_equals_scalar_form() {
        // Every string of up to 5 bytes over the bytes the check looks at,
        // after 0-20 filler bytes and padded to lengths around the 16-byte
        // steps and the 160-byte head.
        let alphabet = [b' ', b'[', b']', b'"', b'x'];
        for s in crate::every_word::every_word(&alphabet, 5) {
            for pad in 0..=20 {
                for (lead, fill) in [(b'x', b'y'), (b' ', b'x')] {
                    let mut line = vec![lead; pad];
                    line.extend_from_slice(&s);
                    for total in [0, 15, 16, 17, 18, 31, 33, 159, 160, 161, 175] {
                        let mut l = line.clone();
                        while l.len() < total {
                            l.push(fill);
                        }
                        assert_eq!(looks_like(&l), looks_like_scalar(&l), "{l:?}");
                        check_sse2_parts(&l);
                    }
                }
            }
        }
        for line in [
            &br#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326"#[..],
            b"2015-10-18 18:01:47,978 INFO [main] org.apache.hadoop.mapreduce.v2.app.MRAppMaster: Created",
            b"20171223-22:15:29:606|Step_LSC|30002312|onStandStepChanged 3579",
        ] {
            for end in 0..=line.len() {
                assert_eq!(looks_like(&line[..end]), looks_like_scalar(&line[..end]));
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]
        #[test]
        fn looks_like_equals_scalar_form_random(
            b in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::sample::select(vec![b' ', b'[', b']', b'"', b'x', b'-']),
                    proptest::num::u8::ANY,
                ],
                0..240,
            )
        ) {
            proptest::prop_assert_eq!(looks_like(&b), looks_like_scalar(&b));
            check_sse2_parts(&b);
        }
    }

    use crate::timestamp::{to_epoch_ms, TimeConfig};

    const CFG: ParseConfig = ParseConfig {
        time: TimeConfig {
            reference_year: 2024,
        },
        message_only: false,
    };

    #[test]
    fn combined() {
        let line = r#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)""#;
        let ev = parse(line, &CFG).unwrap();
        assert_eq!(ev.message, "GET /apache_pb.gif HTTP/1.0");
        assert_eq!(ev.severity, Some(Severity::Info));
        assert_eq!(ev.timestamp_ms, to_epoch_ms(2000, 10, 10, 20, 55, 36, 0));
        assert_eq!(ev.field("method"), Some("GET"));
        assert_eq!(ev.field("path"), Some("/apache_pb.gif"));
        assert_eq!(ev.field("status"), Some("200"));
        assert_eq!(ev.field("bytes"), Some("2326"));
        assert_eq!(ev.field("user"), Some("frank"));
        assert_eq!(
            ev.field("user_agent"),
            Some("Mozilla/4.08 [en] (Win98; I ;Nav)")
        );
    }

    #[test]
    fn nginx_with_timing_and_status_severity() {
        let line = r#"10.0.0.1 - - [10/Oct/2023:13:55:36 +0000] "POST /api/pay HTTP/1.1" 503 0 "-" "curl/8" 0.350"#;
        let ev = parse(line, &CFG).unwrap();
        assert_eq!(ev.severity, Some(Severity::Error));
        assert_eq!(ev.field("request_time"), Some("0.350"));
        assert_eq!(ev.field("referer"), None);
        let line = r#"10.0.0.1 - - [10/Oct/2023:13:55:36 +0000] "GET /x HTTP/1.1" 404 10 "-" "-" rt=0.002 uct="0.001""#;
        let ev = parse(line, &CFG).unwrap();
        assert_eq!(ev.severity, Some(Severity::Warn));
        assert_eq!(ev.field("rt"), Some("0.002"));
        assert_eq!(ev.field("uct"), Some("0.001"));
        // Common log format (no referer / agent).
        let ev = parse(
            r#"h - - [10/Oct/2023:13:55:36 +0000] "GET / HTTP/1.1" 200 -"#,
            &CFG,
        )
        .unwrap();
        assert_eq!(ev.field("bytes"), None);
    }

    #[test]
    fn rejects() {
        assert!(parse(r#"h - - [bad] "GET / HTTP/1.1" 200 1"#, &CFG).is_none());
        assert!(parse(
            r#"h - - [10/Oct/2023:13:55:36 +0000] "GET / HTTP/1.1" abc 1"#,
            &CFG
        )
        .is_none());
        assert!(parse(
            r#"h - - [10/Oct/2023:13:55:36 +0000] "GET / HTTP/1.1"#,
            &CFG
        )
        .is_none());
        assert!(!looks_like(
            b"just some words here [x] \"y\""[..10].as_ref()
        ));
    }
}
