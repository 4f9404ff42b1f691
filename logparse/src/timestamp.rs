//! Timestamp parsing for the common log layouts, by hand (no regex, no
//! allocation).
//!
//! Assumptions, documented once here:
//! * a timestamp without a zone is **UTC**;
//! * a timestamp without a year (`Dec 10 06:55:46`, `[10.30 16:49:06]`,
//!   glog `0412 10:00:00`, logcat `01-02 03:04:05.678`) takes the
//!   configurable [`TimeConfig::reference_year`] (by default the current UTC
//!   year when the config is built);
//! * two-digit years (`17/06/09`, HDFS `081109`) are 2000 + yy.

use std::time::{SystemTime, UNIX_EPOCH};

/// Settings for timestamps that lack information.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeConfig {
    /// Year used for timestamps without a year.
    pub reference_year: i32,
}

impl Default for TimeConfig {
    fn default() -> Self {
        TimeConfig {
            reference_year: current_utc_year(),
        }
    }
}

/// The current year in UTC from the system clock.
pub fn current_utc_year() -> i32 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    civil_from_days(secs.div_euclid(86_400)).0
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant).
pub fn days_from_civil(y: i32, m: u32, d: u32) -> i64 {
    let y = y as i64 - if m <= 2 { 1 } else { 0 };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// [`days_from_civil`] for a year in `0..=9999` and a month in `1..=12`
/// (what [`to_epoch_ms`] accepts): unsigned arithmetic, the year moved up
/// by one 400-year era so that January / February of year 0 stay
/// non-negative (no floor divisions).
#[inline]
fn days_from_civil_in_range(y: u32, m: u32, d: u32) -> i64 {
    let y = y + 400 - (m <= 2) as u32;
    let era = y / 400;
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era as i64 - 1) * 146_097 + doe as i64 - 719_468
}

/// (year, month, day) of a day count since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    ((y + if m <= 2 { 1 } else { 0 }) as i32, m, d)
}

/// Milliseconds since the epoch of a UTC date-time; `None` when a field is
/// out of range.
pub fn to_epoch_ms(
    year: i32,
    month: u32,
    day: u32,
    h: u32,
    mi: u32,
    s: u32,
    ms: u32,
) -> Option<i64> {
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || h > 23
        || mi > 59
        || s > 60
        || ms > 999
        || !(0..=9999).contains(&year)
    {
        return None;
    }
    let days = days_from_civil_in_range(year as u32, month, day);
    Some(((days * 24 + h as i64) * 60 + mi as i64) * 60_000 + s as i64 * 1000 + ms as i64)
}

/// A cursor over bytes with small fixed-width number readers.
struct Cur<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Cur<'a> {
    fn num(&mut self, n: usize) -> Option<u32> {
        let d = self.b.get(self.i..self.i + n)?;
        let mut v = 0u32;
        for &c in d {
            if !c.is_ascii_digit() {
                return None;
            }
            v = v * 10 + (c - b'0') as u32;
        }
        self.i += n;
        Some(v)
    }
    /// 1 or 2 digits (day of month / hour, possibly space padded).
    fn num12(&mut self) -> Option<u32> {
        if self.peek() == Some(b' ') {
            self.i += 1;
            return self.num(1);
        }
        let a = self.num(1)?;
        match self.peek() {
            Some(c) if c.is_ascii_digit() => {
                self.i += 1;
                Some(a * 10 + (c - b'0') as u32)
            }
            _ => Some(a),
        }
    }
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
    fn eat(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.i += 1)
    }
    fn eat_any(&mut self, set: &[u8]) -> Option<u8> {
        let c = self.peek()?;
        set.contains(&c).then(|| {
            self.i += 1;
            c
        })
    }
    /// Optional fraction after `.` or `,` (or `:` for HealthApp): ms.
    ///
    /// By index, the cursor moved once at the end (the same result as
    /// `Cur::frac_by_steps`, its previous form, which moved the cursor
    /// and peeked byte by byte through `Option`s).
    #[inline]
    fn frac(&mut self, seps: &[u8]) -> u32 {
        let b = self.b;
        match b.get(self.i) {
            Some(c) if seps.contains(c) => {}
            _ => return 0,
        }
        let start = self.i + 1;
        let mut j = start;
        let mut ms = 0u32;
        while j < b.len() && b[j].is_ascii_digit() {
            if j - start < 3 {
                ms = ms * 10 + (b[j] - b'0') as u32;
            }
            j += 1;
        }
        if j == start {
            return 0;
        }
        for _ in j - start..3 {
            ms *= 10;
        }
        self.i = j;
        ms
    }

    /// The byte-by-byte form of [`Cur::frac`], to test it against.
    #[cfg(test)]
    fn frac_by_steps(&mut self, seps: &[u8]) -> u32 {
        let save = self.i;
        if self.eat_any(seps).is_none() {
            return 0;
        }
        let start = self.i;
        let mut ms = 0u32;
        let mut n = 0;
        while let Some(c) = self.peek() {
            if !c.is_ascii_digit() {
                break;
            }
            if n < 3 {
                ms = ms * 10 + (c - b'0') as u32;
            }
            n += 1;
            self.i += 1;
        }
        if self.i == start {
            self.i = save;
            return 0;
        }
        while n < 3 {
            ms *= 10;
            n += 1;
        }
        ms
    }
    /// Optional zone: `Z`, `±HH:MM`, `±HHMM`, `±HH`, ` UTC`. Offset in minutes.
    fn zone(&mut self) -> i64 {
        match self.peek() {
            Some(b'Z') | Some(b'z') => {
                self.i += 1;
                0
            }
            Some(c @ (b'+' | b'-')) => {
                let save = self.i;
                self.i += 1;
                let sign = if c == b'-' { -1 } else { 1 };
                let Some(h) = self.num(2) else {
                    self.i = save;
                    return 0;
                };
                let had_colon = self.eat(b':').is_some();
                let m = match self.num(2) {
                    Some(m) => m,
                    None if had_colon => {
                        self.i = save;
                        return 0;
                    }
                    None => 0,
                };
                if h > 18 || m > 59 {
                    self.i = save;
                    return 0;
                }
                sign * (h as i64 * 60 + m as i64)
            }
            _ => 0,
        }
    }
    /// `HH:MM:SS`, read as one 8-byte number (the same result as
    /// `num(2)`, `eat(b':')`, ... in turn; on `None` the caller gives up, so
    /// the cursor does not matter then).
    ///
    /// XOR with `00:00:00` turns each digit into its value and each colon
    /// into 0; then every byte is at most 15 (high nibbles clear), at most 9
    /// (adding 6 leaves the high nibble clear: no carry, each byte <= 15),
    /// and the colon bytes are 0. Six range tests and two compares become
    /// three masks.
    #[inline]
    fn hms(&mut self) -> Option<(u32, u32, u32)> {
        const PATTERN: u64 = u64::from_le_bytes(*b"00:00:00");
        const HIGH_NIBBLES: u64 = 0xf0f0_f0f0_f0f0_f0f0;
        const SIXES: u64 = 0x0606_0606_0606_0606;
        const COLONS: u64 = 0x0000_ff00_00ff_0000;
        let d: [u8; 8] = self.b.get(self.i..self.i + 8)?.try_into().ok()?;
        let t = u64::from_le_bytes(d) ^ PATTERN;
        if t & HIGH_NIBBLES != 0 || (t + SIXES) & HIGH_NIBBLES != 0 || t & COLONS != 0 {
            return None;
        }
        self.i += 8;
        let v = |k: u32| (t >> (8 * k)) as u8 as u32;
        Some((v(0) * 10 + v(1), v(3) * 10 + v(4), v(6) * 10 + v(7)))
    }

    /// The field-by-field form of [`Cur::hms`], to test it against.
    #[cfg(test)]
    fn hms_by_fields(&mut self) -> Option<(u32, u32, u32)> {
        let h = self.num(2)?;
        self.eat(b':')?;
        let m = self.num(2)?;
        self.eat(b':')?;
        let s = self.num(2)?;
        Some((h, m, s))
    }
}

fn month_from_name(b: &[u8]) -> Option<u32> {
    let m = b.get(..3)?;
    let mut l = [0u8; 3];
    l.copy_from_slice(m);
    l.make_ascii_lowercase();
    Some(match &l {
        b"jan" => 1,
        b"feb" => 2,
        b"mar" => 3,
        b"apr" => 4,
        b"may" => 5,
        b"jun" => 6,
        b"jul" => 7,
        b"aug" => 8,
        b"sep" => 9,
        b"oct" => 10,
        b"nov" => 11,
        b"dec" => 12,
        _ => return None,
    })
}

/// Parse a timestamp at the start of `s`. Returns the epoch milliseconds and
/// the number of bytes consumed (a closing `]` of a bracketed timestamp is
/// consumed too). Layouts:
///
/// | layout | example |
/// |---|---|
/// | ISO 8601 / RFC 3339 | `2024-01-02T03:04:05.123Z`, `2024-01-02 03:04:05,123+02:00` |
/// | slashed | `2024/01/02 03:04:05`, Spark `17/06/09 20:10:40` |
/// | HDFS | `081109 203615` |
/// | HealthApp | `20171223-22:15:29:606` |
/// | syslog | `Dec 10 06:55:46`, `Dec  1 06:55:46` (reference year) |
/// | ctime / Apache | `[Sun Dec 04 04:47:44 2005]`, `Sun Dec 04 04:47:44 2005` |
/// | access log | `[10/Oct/2000:13:55:36 -0700]` |
/// | Proxifier | `[10.30 16:49:06]` (reference year) |
/// | logcat | `01-02 03:04:05.678` (reference year) |
pub fn parse_prefix(s: &str, cfg: &TimeConfig) -> Option<(i64, usize)> {
    let b = s.as_bytes();
    let bracket = b.first() == Some(&b'[');
    let off = bracket as usize;
    let body = &b[off..];
    let (ms, mut used) = parse_body(body, cfg)?;
    if bracket {
        if body.get(used) == Some(&b']') {
            used += 1;
        } else {
            return None;
        }
    }
    Some((ms, used + off))
}

fn parse_body(b: &[u8], cfg: &TimeConfig) -> Option<(i64, usize)> {
    let first = *b.first()?;
    if first.is_ascii_digit() {
        return parse_numeric(b, cfg);
    }
    if first.is_ascii_alphabetic() {
        return parse_named(b, cfg);
    }
    None
}

fn finish(
    c: &Cur,
    y: i32,
    mo: u32,
    d: u32,
    hms: (u32, u32, u32),
    ms: u32,
    zone_min: i64,
) -> Option<(i64, usize)> {
    let t = to_epoch_ms(y, mo, d, hms.0, hms.1, hms.2, ms)?;
    Some((t - zone_min * 60_000, c.i))
}

fn parse_numeric(b: &[u8], cfg: &TimeConfig) -> Option<(i64, usize)> {
    // Count the leading digit run to pick a layout.
    let run = b.iter().take_while(|c| c.is_ascii_digit()).count();
    let sep = b.get(run).copied();
    if (1..=2).contains(&run)
        && sep == Some(b'/')
        && b.get(run + 1).is_some_and(u8::is_ascii_alphabetic)
    {
        return parse_clf(b);
    }
    let mut c = Cur { b, i: 0 };
    match (run, sep) {
        // 2024-01-02[T ]03:04:05  /  2024/01/02 03:04:05
        (4, Some(sp @ (b'-' | b'/'))) => {
            let y = c.num(4)? as i32;
            c.eat(sp)?;
            let mo = c.num(2)?;
            c.eat(sp)?;
            let d = c.num(2)?;
            c.eat_any(b"T t")?;
            while c.peek() == Some(b' ') {
                c.i += 1;
            }
            let hms = c.hms()?;
            let ms = c.frac(b".,");
            // Optional space before a zone: "2024-01-02 03:04:05 +0000".
            let save = c.i;
            if c.peek() == Some(b' ') {
                c.i += 1;
                if !matches!(c.peek(), Some(b'+' | b'-' | b'Z')) {
                    c.i = save;
                }
            }
            let before = c.i;
            let z = c.zone();
            if c.i == before {
                c.i = save;
            }
            finish(&c, y, mo, d, hms, ms, z)
        }
        // 17/06/09 20:10:40 (yy/MM/dd) or 01-02 03:04:05.678 (logcat MM-dd)
        (2, Some(sp @ (b'/' | b'-' | b'.'))) => {
            let a = c.num(2)?;
            c.eat(sp)?;
            let bb = c.num(2)?;
            if sp == b'/' && c.peek() == Some(b'/') {
                c.i += 1;
                let d = c.num(2)?;
                c.eat(b' ')?;
                let hms = c.hms()?;
                let ms = c.frac(b".,");
                return finish(&c, 2000 + a as i32, bb, d, hms, ms, 0);
            }
            // MM-dd / MM.dd (Proxifier) without a year.
            c.eat(b' ')?;
            let hms = c.hms()?;
            let ms = c.frac(b".,");
            finish(&c, cfg.reference_year, a, bb, hms, ms, 0)
        }
        // HDFS 081109 203615
        (6, Some(b' ')) => {
            let yy = c.num(2)?;
            let mo = c.num(2)?;
            let d = c.num(2)?;
            c.eat(b' ')?;
            let h = c.num(2)?;
            let mi = c.num(2)?;
            let s = c.num(2)?;
            if c.peek().is_some_and(|x| x.is_ascii_digit()) {
                return None;
            }
            finish(&c, 2000 + yy as i32, mo, d, (h, mi, s), 0, 0)
        }
        // 20171223-22:15:29:606 / 20171223 22:15:29 / 20171223T221529Z
        (8, Some(b'-' | b' ' | b'T')) => {
            let y = c.num(4)? as i32;
            let mo = c.num(2)?;
            let d = c.num(2)?;
            c.i += 1;
            let (h, mi, s) = if b.get(c.i + 2) == Some(&b':') || b.get(c.i + 1) == Some(&b':') {
                // HealthApp writes unpadded fields: 22:16:0:119.
                let h = c.num12()?;
                c.eat(b':')?;
                let mi = c.num12()?;
                c.eat(b':')?;
                (h, mi, c.num12()?)
            } else {
                (c.num(2)?, c.num(2)?, c.num(2)?)
            };
            let ms = c.frac(b".,:");
            let z = c.zone();
            finish(&c, y, mo, d, (h, mi, s), ms, z)
        }
        _ => None,
    }
}

/// `10/Oct/2000:13:55:36 -0700` (Common Log Format).
pub fn parse_clf(b: &[u8]) -> Option<(i64, usize)> {
    let mut c = Cur { b, i: 0 };
    let d = c.num12()?;
    c.eat(b'/')?;
    let mo = month_from_name(b.get(c.i..)?)?;
    c.i += 3;
    c.eat(b'/')?;
    let y = c.num(4)? as i32;
    c.eat(b':')?;
    let hms = c.hms()?;
    let ms = c.frac(b".");
    let save = c.i;
    let mut z = 0;
    if c.eat(b' ').is_some() {
        let before = c.i;
        z = c.zone();
        if c.i == before {
            c.i = save;
        }
    }
    finish(&c, y, mo, d, hms, ms, z)
}

fn parse_named(b: &[u8], cfg: &TimeConfig) -> Option<(i64, usize)> {
    let mut c = Cur { b, i: 0 };
    // Optional weekday: "Sun ". Without a year the reference year applies.
    if b.len() > 4 && b[3] == b' ' && month_from_name(b).is_none() {
        let wd = &b[..3];
        if !wd.iter().all(u8::is_ascii_alphabetic) {
            return None;
        }
        c.i = 4;
    }
    let mo = month_from_name(b.get(c.i..)?)?;
    c.i += 3;
    // Full month names ("December") are not handled: require a space.
    c.eat(b' ')?;
    let d = c.num12()?;
    c.eat(b' ')?;
    // "Dec 10 2005 06:55:46" (year before time) is accepted too.
    let mut year = None;
    if b.get(c.i + 4) == Some(&b' ') {
        let save = c.i;
        match c.num(4) {
            Some(y) => {
                year = Some(y as i32);
                c.i += 1;
            }
            None => c.i = save,
        }
    }
    let hms = c.hms()?;
    let ms = c.frac(b".,");
    if year.is_none() {
        // ctime: "... 04:47:44 2005"
        let save = c.i;
        if c.eat(b' ').is_some() {
            match c.num(4) {
                Some(y) if !c.peek().is_some_and(|x| x.is_ascii_digit()) => year = Some(y as i32),
                _ => c.i = save,
            }
        }
    }
    finish(&c, year.unwrap_or(cfg.reference_year), mo, d, hms, ms, 0)
}

/// Parse a whole timestamp value from a structured field: any layout of
/// [`parse_prefix`] (trailing text ignored), or an epoch number — seconds,
/// milliseconds, microseconds or nanoseconds chosen by magnitude,
/// fractional seconds allowed (`1700000000.123`).
pub fn parse_value(s: &str, cfg: &TimeConfig) -> Option<i64> {
    let s = s.trim();
    if let Some(ms) = parse_epoch(s) {
        return Some(ms);
    }
    parse_prefix(s, cfg).map(|(ms, _)| ms)
}

/// An epoch number in s / ms / us / ns (by magnitude) to milliseconds.
pub fn parse_epoch(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.is_empty() || b.len() > 24 || !b.iter().all(|c| c.is_ascii_digit() || *c == b'.') {
        return None;
    }
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s, ""),
    };
    if int.is_empty() || frac.contains('.') {
        return None;
    }
    let v: i64 = int.parse().ok()?;
    // Seconds up to year ~5138, millis above 1e11, micros above 1e14, nanos above 1e17.
    let ms = if v < 100_000_000_000 {
        let mut f = 0i64;
        for (k, c) in frac.bytes().take(3).enumerate() {
            f += (c - b'0') as i64 * [100, 10, 1][k];
        }
        v.checked_mul(1000)? + f
    } else if v < 100_000_000_000_000 {
        v
    } else if v < 100_000_000_000_000_000 {
        v / 1000
    } else {
        v / 1_000_000
    };
    // Reject tiny values (e.g. a port or a count): before 1973.
    (ms >= 100_000_000_000).then_some(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_in_range_equal_days_from_civil() {
        for y in 0..=9999u32 {
            for m in 1..=12u32 {
                for d in [1, 2, 15, 28, 29, 30, 31] {
                    assert_eq!(
                        days_from_civil_in_range(y, m, d),
                        days_from_civil(y as i32, m, d),
                        "{y}-{m}-{d}"
                    );
                }
            }
        }
    }

    #[test]
    fn hms_block_equals_fields() {
        // Every 8-byte window over a small alphabet at the positions that
        // matter, plus short inputs.
        let alpha = b"09:a /";
        let mut cases: Vec<Vec<u8>> = vec![
            b"".to_vec(),
            b"1".to_vec(),
            b"12:34:5".to_vec(),
            b"12:34:56".to_vec(),
            b"12:34:56.789".to_vec(),
            b"99:99:99".to_vec(),
            b"1:34:56x".to_vec(),
            b"\xff2:34:56".to_vec(),
        ];
        for a in alpha {
            for b in alpha {
                for c in alpha {
                    cases.push(vec![b'1', *a, b':', b'3', *b, *c, b'5', b'6', b' ']);
                    cases.push(vec![*a, b'2', *b, b'3', b'4', b':', *c, b'6']);
                }
            }
        }
        for case in &cases {
            for start in 0..=case.len().min(2) {
                let mut x = Cur { b: case, i: start };
                let mut y = Cur { b: case, i: start };
                let (rx, ry) = (x.hms(), y.hms_by_fields());
                assert_eq!(rx, ry, "{case:?}");
                if rx.is_some() {
                    assert_eq!(x.i, y.i);
                }
            }
        }
    }

    /// `Cur::frac` by index equals its byte-by-byte form (value and cursor)
    /// on every string of up to 5 bytes over separators, digits and others,
    /// from every start, for each separator set the parsers pass.
    #[test]
    fn frac_by_index_equals_by_steps() {
        let alpha = [b'.', b',', b':', b'0', b'7', b'9', b'a', b' ', 0xff];
        let mut cases: Vec<Vec<u8>> = vec![Vec::new()];
        for len in 1..=5 {
            let mut idx = vec![0usize; len];
            loop {
                cases.push(idx.iter().map(|&k| alpha[k]).collect());
                let mut k = 0;
                while k < len && idx[k] + 1 == alpha.len() {
                    idx[k] = 0;
                    k += 1;
                }
                if k == len {
                    break;
                }
                idx[k] += 1;
            }
        }
        for case in &cases {
            for seps in [&b".,"[..], &b".,:"[..]] {
                for start in 0..=case.len() {
                    let mut x = Cur { b: case, i: start };
                    let mut y = Cur { b: case, i: start };
                    assert_eq!(x.frac(seps), y.frac_by_steps(seps), "{case:?}");
                    assert_eq!(x.i, y.i, "{case:?}");
                }
            }
        }
    }

    const CFG: TimeConfig = TimeConfig {
        reference_year: 2024,
    };

    fn ms(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32, f: u32) -> i64 {
        to_epoch_ms(y, mo, d, h, mi, s, f).unwrap()
    }

    #[test]
    fn civil_roundtrip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        for z in [-1000, 0, 1, 11_016, 19_000, 60_000] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        assert_eq!(ms(2024, 1, 1, 0, 0, 0, 0), 1_704_067_200_000);
    }

    #[test]
    fn loghub_layouts() {
        let cases = [
            (
                "081109 203615 148 INFO x",
                ms(2008, 11, 9, 20, 36, 15, 0),
                13,
            ),
            (
                "2015-10-18 18:01:47,978 INFO",
                ms(2015, 10, 18, 18, 1, 47, 978),
                23,
            ),
            ("17/06/09 20:10:40 INFO", ms(2017, 6, 9, 20, 10, 40, 0), 17),
            (
                "2015-07-29 17:41:44,747 - INFO",
                ms(2015, 7, 29, 17, 41, 44, 747),
                23,
            ),
            ("Dec 10 06:55:46 LabSZ", ms(2024, 12, 10, 6, 55, 46, 0), 15),
            (
                "[Sun Dec 04 04:47:44 2005] [notice]",
                ms(2005, 12, 4, 4, 47, 44, 0),
                26,
            ),
            (
                "20171223-22:15:29:606|Step",
                ms(2017, 12, 23, 22, 15, 29, 606),
                21,
            ),
            (
                "20171223-22:16:0:119|Step",
                ms(2017, 12, 23, 22, 16, 0, 119),
                20,
            ),
            (
                "[10.30 16:49:06] chrome.exe",
                ms(2024, 10, 30, 16, 49, 6, 0),
                16,
            ),
        ];
        for (s, want, used) in cases {
            assert_eq!(parse_prefix(s, &CFG), Some((want, used)), "{s}");
        }
    }

    #[test]
    fn iso_and_zones() {
        let base = ms(2024, 1, 2, 3, 4, 5, 123);
        assert_eq!(
            parse_prefix("2024-01-02T03:04:05.123Z x", &CFG),
            Some((base, 24))
        );
        assert_eq!(
            parse_prefix("2024-01-02T03:04:05.123456789Z", &CFG)
                .unwrap()
                .0,
            base
        );
        assert_eq!(
            parse_prefix("2024-01-02T05:04:05.123+02:00", &CFG)
                .unwrap()
                .0,
            base
        );
        assert_eq!(
            parse_prefix("2024-01-02 01:04:05.123 -0200", &CFG)
                .unwrap()
                .0,
            base
        );
        assert_eq!(
            parse_prefix("2024/01/02 03:04:05", &CFG).unwrap().0,
            base - 123
        );
        assert_eq!(
            parse_prefix("Dec  1 06:55:46 host", &CFG).unwrap().0,
            ms(2024, 12, 1, 6, 55, 46, 0)
        );
        assert_eq!(
            parse_prefix("01-02 03:04:05.678  1234", &CFG).unwrap().0,
            ms(2024, 1, 2, 3, 4, 5, 678)
        );
        assert_eq!(
            parse_prefix("[10/Oct/2000:13:55:36 -0700] \"GET", &CFG),
            Some((ms(2000, 10, 10, 20, 55, 36, 0), 28))
        );
    }

    #[test]
    fn rejects_garbage() {
        for s in [
            "",
            "hello",
            "2024-13-01T00:00:00",
            "2024-01-01",
            "12345",
            "[Sun",
            "Dec 99 1:2:3",
            "99/99/99 99:99:99",
            "[2024-01-01T00:00:00Z",
        ] {
            assert_eq!(parse_prefix(s, &CFG), None, "{s}");
        }
    }

    #[test]
    fn epoch_values() {
        assert_eq!(parse_value("1700000000", &CFG), Some(1_700_000_000_000));
        assert_eq!(parse_value("1700000000.5", &CFG), Some(1_700_000_000_500));
        assert_eq!(parse_value("1700000000123", &CFG), Some(1_700_000_000_123));
        assert_eq!(
            parse_value("1700000000123456", &CFG),
            Some(1_700_000_000_123)
        );
        assert_eq!(
            parse_value("1700000000123456789", &CFG),
            Some(1_700_000_000_123)
        );
        assert_eq!(parse_value("8080", &CFG), None);
        assert_eq!(
            parse_value("2024-01-02T03:04:05Z", &CFG),
            Some(ms(2024, 1, 2, 3, 4, 5, 0))
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]
        #[test]
        fn timestamps_never_panic(line in crate::fuzzing::strategies::log_line()) {
            if let Some((_, used)) = parse_prefix(&line, &CFG) {
                proptest::prop_assert!(used <= line.len());
            }
            let _ = parse_value(&line, &CFG);
        }
    }
}
