//! Severity detection and the OpenTelemetry severity mapping.
//!
//! | [`Severity`] | OTel number | recognised names (any case unless noted) |
//! |---|---:|---|
//! | `Trace` | 1 | trace, finest, finer, `T` (glog/logcat `V`) |
//! | `Debug` | 5 | debug, dbg, fine, verbose, `D` |
//! | `Info` | 9 | info, inf, information(al), notice, config?, `I` |
//! | `Warn` | 13 | warn, warning, wrn, `W` |
//! | `Error` | 17 | error, err, eror, severe, `E` |
//! | `Fatal` | 21 | fatal, critical, crit, alert, emerg(ency), panic, dpanic, `F`, `A` |
//!
//! Syslog priorities map by `pri & 7`: 0–2 → Fatal, 3 → Error, 4 → Warn,
//! 5–6 → Info, 7 → Debug.

use std::fmt;

/// Log severity, mapped to OpenTelemetry severity numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    /// OTel TRACE (1).
    Trace,
    /// OTel DEBUG (5).
    Debug,
    /// OTel INFO (9).
    Info,
    /// OTel WARN (13).
    Warn,
    /// OTel ERROR (17).
    Error,
    /// OTel FATAL (21).
    Fatal,
}

impl Severity {
    /// All severities, lowest first.
    pub const ALL: [Severity; 6] = [
        Severity::Trace,
        Severity::Debug,
        Severity::Info,
        Severity::Warn,
        Severity::Error,
        Severity::Fatal,
    ];

    /// The OpenTelemetry severity number (first of each range).
    pub fn otel_number(self) -> u8 {
        match self {
            Severity::Trace => 1,
            Severity::Debug => 5,
            Severity::Info => 9,
            Severity::Warn => 13,
            Severity::Error => 17,
            Severity::Fatal => 21,
        }
    }

    /// The OpenTelemetry severity text (`"ERROR"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Trace => "TRACE",
            Severity::Debug => "DEBUG",
            Severity::Info => "INFO",
            Severity::Warn => "WARN",
            Severity::Error => "ERROR",
            Severity::Fatal => "FATAL",
        }
    }

    /// From an OpenTelemetry severity number (1–24); 0 or >24 is `None`.
    pub fn from_otel_number(n: i64) -> Option<Severity> {
        Some(match n {
            1..=4 => Severity::Trace,
            5..=8 => Severity::Debug,
            9..=12 => Severity::Info,
            13..=16 => Severity::Warn,
            17..=20 => Severity::Error,
            21..=24 => Severity::Fatal,
            _ => return None,
        })
    }

    /// From a syslog severity (0–7, the low 3 bits of a PRI value).
    pub fn from_syslog(sev: u8) -> Severity {
        match sev & 7 {
            0..=2 => Severity::Fatal,
            3 => Severity::Error,
            4 => Severity::Warn,
            5 | 6 => Severity::Info,
            _ => Severity::Debug,
        }
    }

    /// From a pino/bunyan numeric level (10 trace … 60 fatal).
    pub fn from_pino(n: i64) -> Option<Severity> {
        Some(match n {
            10 => Severity::Trace,
            20 => Severity::Debug,
            30 => Severity::Info,
            40 => Severity::Warn,
            50 => Severity::Error,
            60 => Severity::Fatal,
            _ => return None,
        })
    }

    /// True for Error and Fatal.
    pub fn is_error(self) -> bool {
        self >= Severity::Error
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Map a level name from a structured field (`"warn"`, `"WARNING"`,
/// `"err"`, `"E"`, `"50"`, ...) to a severity. Case-insensitive; surrounding
/// whitespace is ignored. Numeric strings are read as pino levels (10–60 by
/// tens), then as OTel numbers (1–24).
pub fn map_level_name(name: &str) -> Option<Severity> {
    let name = name.trim();
    if name.is_empty() || name.len() > 16 {
        return None;
    }
    if name.len() <= 8 && name.bytes().all(|b| b.is_ascii_alphabetic()) {
        return letters_level(name.as_bytes());
    }
    if name.bytes().all(|b| b.is_ascii_digit()) {
        let n: i64 = name.parse().ok()?;
        return Severity::from_pino(n).or_else(|| Severity::from_otel_number(n));
    }
    let mut buf = [0u8; 16];
    let lower = &mut buf[..name.len()];
    lower.copy_from_slice(name.as_bytes());
    lower.make_ascii_lowercase();
    word_severity(lower)
}

/// [`map_level_name`] of 1..=8 ASCII letters (nothing to trim, not a
/// number: the result is [`letters_level`]); `None` (undecided) for any
/// other input. `map_level_name`'s `trim` decodes chars to find Unicode
/// whitespace, a cost letters never need.
#[inline]
pub(crate) fn letters_only_level(t: &[u8]) -> Option<Option<Severity>> {
    (!t.is_empty() && t.len() <= 8 && t.iter().all(|&c| ALPHA[c as usize]))
        .then(|| letters_level(t))
}

/// [`map_level_name`] of a word made only of ASCII letters (none to trim,
/// not a number): without the trim and the number check.
#[inline]
pub(crate) fn letters_level(word: &[u8]) -> Option<Severity> {
    if word.is_empty() || word.len() > 16 {
        return None;
    }
    if word.len() <= 8 {
        // Letters only, so `| 0x20` lowercases: the word as one number,
        // matched against the names' numbers (no copy, no byte compares).
        let mut k = 0u64;
        for &c in word {
            k = k << 8 | (c | 0x20) as u64;
        }
        return short_name_severity(k);
    }
    letters_level_by_copy(word)
}

/// [`letters_level`] by a lowercase copy and [`word_severity`] (any
/// length; the general form, used for words of 9+ letters).
fn letters_level_by_copy(word: &[u8]) -> Option<Severity> {
    if word.is_empty() || word.len() > 16 {
        return None;
    }
    let mut buf = [0u8; 16];
    let lower = &mut buf[..word.len()];
    lower.copy_from_slice(word);
    lower.make_ascii_lowercase();
    word_severity(lower)
}

/// A lowercase word of up to 8 letters as one number, first byte highest
/// (letters are never 0, so the number also tells the length).
const fn name_key(s: &[u8]) -> u64 {
    let mut k = 0u64;
    let mut i = 0;
    while i < s.len() {
        k = k << 8 | s[i] as u64;
        i += 1;
    }
    k
}

/// [`word_severity`] of the level names of up to 8 letters, given their
/// [`name_key`] (the longer names are `information`, `informational`,
/// `emergency`).
fn short_name_severity(k: u64) -> Option<Severity> {
    const TRACE: u64 = name_key(b"trace");
    const FINEST: u64 = name_key(b"finest");
    const FINER: u64 = name_key(b"finer");
    const T: u64 = name_key(b"t");
    const TRC: u64 = name_key(b"trc");
    const V: u64 = name_key(b"v");
    const DEBUG: u64 = name_key(b"debug");
    const DBG: u64 = name_key(b"dbg");
    const FINE: u64 = name_key(b"fine");
    const VERBOSE: u64 = name_key(b"verbose");
    const D: u64 = name_key(b"d");
    const INFO: u64 = name_key(b"info");
    const INF: u64 = name_key(b"inf");
    const NOTICE: u64 = name_key(b"notice");
    const I: u64 = name_key(b"i");
    const N: u64 = name_key(b"n");
    const WARN: u64 = name_key(b"warn");
    const WARNING: u64 = name_key(b"warning");
    const WRN: u64 = name_key(b"wrn");
    const W: u64 = name_key(b"w");
    const ERROR: u64 = name_key(b"error");
    const ERR: u64 = name_key(b"err");
    const EROR: u64 = name_key(b"eror");
    const SEVERE: u64 = name_key(b"severe");
    const E: u64 = name_key(b"e");
    const FATAL: u64 = name_key(b"fatal");
    const CRITICAL: u64 = name_key(b"critical");
    const CRIT: u64 = name_key(b"crit");
    const ALERT: u64 = name_key(b"alert");
    const EMERG: u64 = name_key(b"emerg");
    const PANIC: u64 = name_key(b"panic");
    const DPANIC: u64 = name_key(b"dpanic");
    const F: u64 = name_key(b"f");
    const A: u64 = name_key(b"a");
    const C: u64 = name_key(b"c");
    Some(match k {
        TRACE | FINEST | FINER | T | TRC | V => Severity::Trace,
        DEBUG | DBG | FINE | VERBOSE | D => Severity::Debug,
        INFO | INF | NOTICE | I | N => Severity::Info,
        WARN | WARNING | WRN | W => Severity::Warn,
        ERROR | ERR | EROR | SEVERE | E => Severity::Error,
        FATAL | CRITICAL | CRIT | ALERT | EMERG | PANIC | DPANIC | F | A | C => Severity::Fatal,
        _ => return None,
    })
}

/// Severity of a lowercase word, if it is a level name.
fn word_severity(w: &[u8]) -> Option<Severity> {
    Some(match w {
        b"trace" | b"finest" | b"finer" | b"t" | b"trc" | b"v" => Severity::Trace,
        b"debug" | b"dbg" | b"fine" | b"verbose" | b"d" => Severity::Debug,
        b"info" | b"inf" | b"information" | b"informational" | b"notice" | b"i" | b"n" => {
            Severity::Info
        }
        b"warn" | b"warning" | b"wrn" | b"w" => Severity::Warn,
        b"error" | b"err" | b"eror" | b"severe" | b"e" => Severity::Error,
        b"fatal" | b"critical" | b"crit" | b"alert" | b"emerg" | b"emergency" | b"panic"
        | b"dpanic" | b"f" | b"a" | b"c" => Severity::Fatal,
        _ => return None,
    })
}

/// Upper-case level tokens accepted anywhere in the scanned prefix.
fn upper_word_severity(w: &[u8]) -> Option<Severity> {
    Some(match w {
        b"TRACE" | b"FINEST" | b"FINER" => Severity::Trace,
        b"DEBUG" | b"DBG" | b"FINE" | b"VERBOSE" => Severity::Debug,
        b"INFO" | b"NOTICE" => Severity::Info,
        b"WARN" | b"WARNING" => Severity::Warn,
        b"ERROR" | b"ERR" | b"SEVERE" => Severity::Error,
        b"FATAL" | b"CRITICAL" | b"CRIT" | b"ALERT" | b"EMERG" | b"EMERGENCY" | b"PANIC" => {
            Severity::Fatal
        }
        _ => return None,
    })
}

/// How many bytes of a line [`detect_level`] looks at.
pub const SCAN_BYTES: usize = 200;

/// Detect the severity of a raw log line from its level token, looking at
/// the first [`SCAN_BYTES`] bytes only. No regex, no allocation.
///
/// Recognised, first match wins (strong forms before weak ones):
/// * syslog `<PRI>` at the start;
/// * glog `E0412 ...` / `W0412 ...` at the start, logcat `W/Tag:` at the
///   start or ` W ` after a numeric pid/tid;
/// * an upper-case level word (`ERROR`, `WARNING`, `SEVERE`, `CRITICAL`,
///   `FATAL`, `PANIC`, ...) as a whole word;
/// * a level word of any case in brackets (`[error]`, `<warn>`) or as the
///   value of a level key (`level=warn`, `"level":"warn"`, `lvl: E`);
/// * weak: a lower/capitalised level word followed by `:` (`error: ...`,
///   `fatal: ...`, `panic: ...`, `Warning: ...`), used only when no strong
///   form is found.
pub fn detect_level(line: &str) -> Option<Severity> {
    let b = &line.as_bytes()[..line.len().min(SCAN_BYTES)];
    if b.is_empty() {
        return None;
    }
    // <PRI>
    if b[0] == b'<' {
        let mut i = 1;
        let mut pri: u32 = 0;
        while i < b.len() && i <= 4 && b[i].is_ascii_digit() {
            pri = pri * 10 + (b[i] - b'0') as u32;
            i += 1;
        }
        if i > 1 && i < b.len() && b[i] == b'>' && pri <= 191 {
            return Some(Severity::from_syslog((pri & 7) as u8));
        }
    }
    // glog: Lmmdd hh:mm:ss
    if b.len() >= 7
        && matches!(b[0], b'I' | b'W' | b'E' | b'F')
        && b[1..5].iter().all(u8::is_ascii_digit)
        && b[5] == b' '
        && b[6].is_ascii_digit()
    {
        return word_severity(&[b[0].to_ascii_lowercase()]);
    }
    // logcat brief: W/Tag(123): msg
    if b.len() >= 3
        && matches!(b[0], b'V' | b'D' | b'I' | b'W' | b'E' | b'F' | b'A')
        && b[1] == b'/'
    {
        return word_severity(&[b[0].to_ascii_lowercase()]);
    }

    let mut weak: Option<Severity> = None;
    let mut runs = LetterRuns { b, i: 0 };
    while let Some((start, i)) = runs.next_run() {
        let w = &b[start..i];
        // Not a level name of this length and first letter (any case): no
        // form below can match (every upper-case name is a level name too).
        if w.len() >= 2 && (w.len() > 9 || NAME_FIRST[w.len()] & (1 << ((w[0] | 0x20) - b'a')) == 0)
        {
            continue;
        }
        let prev = if start > 0 { b[start - 1] } else { b' ' };
        let next = if i < b.len() { b[i] } else { b' ' };
        // Whole words only.
        if WORD_BYTE[prev as usize] || WORD_BYTE[next as usize] || w.len() > 9 {
            continue;
        }
        if w.len() == 1 {
            // logcat threadtime: "1234  5678 W Tag: msg"
            if prev == b' ' && next == b' ' && prev_token_is_number(b, start) {
                if let Some(s) = word_severity(&[w[0].to_ascii_lowercase()]) {
                    if w[0].is_ascii_uppercase() {
                        return Some(s);
                    }
                }
            }
            if is_level_value_context(b, start) {
                if let Some(s) = word_severity(&[w[0].to_ascii_lowercase()]) {
                    return Some(s);
                }
            }
            continue;
        }
        if w[0].is_ascii_uppercase() {
            if let Some(s) = upper_word_severity(w) {
                return Some(s);
            }
        }
        // Other forms need a context: brackets, `key=`/`key:`, or `word:`.
        let bracketed = matches!((prev, next), (b'[', b']') | (b'<', b'>') | (b'(', b')'));
        if !bracketed && next != b':' && !matches!(prev, b'=' | b':' | b'"' | b'\'' | b' ') {
            continue;
        }
        if !bracketed && next != b':' && prev == b' ' && !is_level_value_context(b, start) {
            continue;
        }
        // `w` is 2..=9 ASCII letters: `word_severity` of its lowercase form.
        let Some(s) = letters_level(w) else {
            continue;
        };
        if bracketed || is_level_value_context(b, start) {
            return Some(s);
        }
        let after = b.get(i + 1).copied().unwrap_or(b' ');
        if weak.is_none() && next == b':' && after == b' ' && w.len() >= 4 {
            weak = Some(s);
        }
    }
    weak
}

/// By word length (2..=9), the first letters (bit 0 = `a`) of the level
/// names of [`word_severity`] of that length.
static NAME_FIRST: [u32; 10] = {
    const NAMES: [&[u8]; 27] = [
        b"trace",
        b"finest",
        b"finer",
        b"trc",
        b"debug",
        b"dbg",
        b"fine",
        b"verbose",
        b"info",
        b"inf",
        b"notice",
        b"warn",
        b"warning",
        b"wrn",
        b"error",
        b"err",
        b"eror",
        b"severe",
        b"fatal",
        b"critical",
        b"crit",
        b"alert",
        b"emerg",
        b"emergency",
        b"panic",
        b"dpanic",
        b"information",
    ];
    let mut t = [0u32; 10];
    let mut k = 0;
    while k < NAMES.len() {
        let n = NAMES[k];
        if n.len() < t.len() {
            t[n.len()] |= 1 << (n[0] - b'a');
        }
        k += 1;
    }
    t
};

const HIGH: u64 = 0x8080_8080_8080_8080;
const ONES: u64 = 0x0101_0101_0101_0101;

/// The high bit of each byte of `v` (little-endian) that is an ASCII
/// letter.
#[inline]
fn alpha_bytes(v: u64) -> u64 {
    // Fold the case, then `a..=z` by two carry-free byte additions on the
    // low seven bits; bytes >= 0x80 are not letters.
    let y = (v | (0x20 * ONES)) & !HIGH;
    let ge_a = y + (0x80 - b'a' as u64) * ONES;
    let gt_z = y + (0x80 - b'z' as u64 - 1) * ONES;
    ge_a & !gt_z & !v & HIGH
}

#[inline]
fn load8(b: &[u8], i: usize) -> u64 {
    u64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes"))
}

/// The maximal runs of ASCII letters of `b`, in order, as (start, end).
///
/// One eight-byte letter mask per run: the mask that finds a run's start
/// also holds its end when the run ends inside the same eight bytes (most
/// words do), so the end costs no second load (the separate
/// [`next_alpha`] / [`next_non_alpha`] pair loaded and classified eight
/// bytes twice per run).
struct LetterRuns<'a> {
    b: &'a [u8],
    /// Where the next run is searched from (never inside a run).
    i: usize,
}

impl LetterRuns<'_> {
    #[inline]
    fn next_run(&mut self) -> Option<(usize, usize)> {
        let b = self.b;
        let mut i = self.i;
        while i + 8 <= b.len() {
            let m = alpha_bytes(load8(b, i));
            if m == 0 {
                i += 8;
                continue;
            }
            // `tz` is the high bit of the start byte; the non-letters above
            // it in this chunk end the run.
            let tz = m.trailing_zeros();
            let start = i + (tz / 8) as usize;
            let ends = !m & HIGH & (u64::MAX << tz);
            let end = if ends != 0 {
                i + (ends.trailing_zeros() / 8) as usize
            } else {
                next_non_alpha(b, i + 8)
            };
            self.i = end;
            return Some((start, end));
        }
        let start = next_alpha(b, i);
        if start >= b.len() {
            self.i = start;
            return None;
        }
        let end = next_non_alpha(b, start + 1);
        self.i = end;
        Some((start, end))
    }
}

/// The first ASCII letter of `b` at or after `i` (`b.len()` if none), eight
/// bytes per step.
#[inline]
fn next_alpha(b: &[u8], mut i: usize) -> usize {
    while i + 8 <= b.len() {
        let m = alpha_bytes(load8(b, i));
        if m != 0 {
            return i + (m.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < b.len() && !ALPHA[b[i] as usize] {
        i += 1;
    }
    i
}

/// The first byte of `b` at or after `i` that is not an ASCII letter
/// (`b.len()` if none), eight bytes per step.
#[inline]
fn next_non_alpha(b: &[u8], mut i: usize) -> usize {
    while i + 8 <= b.len() {
        let m = !alpha_bytes(load8(b, i)) & HIGH;
        if m != 0 {
            return i + (m.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < b.len() && ALPHA[b[i] as usize] {
        i += 1;
    }
    i
}

/// ASCII letters, digits and `_` (a level name next to one is not a whole
/// word), by table.
static WORD_BYTE: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = (i as u8).is_ascii_alphanumeric() || i == b'_' as usize;
        i += 1;
    }
    t
};

/// ASCII letters, as [`u8::is_ascii_alphabetic`], by table.
static ALPHA: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = (i as u8).is_ascii_alphabetic();
        i += 1;
    }
    t
};

fn prev_token_is_number(b: &[u8], start: usize) -> bool {
    let mut j = start;
    while j > 0 && b[j - 1] == b' ' {
        j -= 1;
    }
    let end = j;
    while j > 0 && b[j - 1].is_ascii_digit() {
        j -= 1;
    }
    end > j && (j == 0 || b[j - 1] == b' ')
}

/// Is the word at `start` the value of a level key (`level=`, `"level":"`,
/// `severity: `)?
fn is_level_value_context(b: &[u8], start: usize) -> bool {
    let mut j = start;
    // Skip `"`, spaces, then `=` or `:`, then `"` / spaces.
    while j > 0 && matches!(b[j - 1], b'"' | b' ' | b'\'') {
        j -= 1;
    }
    if j == 0 || !matches!(b[j - 1], b'=' | b':') {
        return false;
    }
    j -= 1;
    while j > 0 && matches!(b[j - 1], b'"' | b' ' | b'\'') {
        j -= 1;
    }
    let end = j;
    while j > 0 && (b[j - 1].is_ascii_alphanumeric() || b[j - 1] == b'_' || b[j - 1] == b'.') {
        j -= 1;
    }
    let key = &b[j..end];
    if key.is_empty() || key.len() > 16 {
        return false;
    }
    let mut buf = [0u8; 16];
    let k = &mut buf[..key.len()];
    k.copy_from_slice(key);
    k.make_ascii_lowercase();
    matches!(
        &k[..],
        b"level"
            | b"lvl"
            | b"severity"
            | b"loglevel"
            | b"log_level"
            | b"log.level"
            | b"levelname"
            | b"severity_text"
            | b"severitytext"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_level_equals_map_level_name() {
        let mut words: Vec<String> = [
            "trace",
            "FINEST",
            "Finer",
            "trc",
            "debug",
            "DBG",
            "fine",
            "verbose",
            "INFO",
            "inf",
            "information",
            "informational",
            "notice",
            "warn",
            "WARNING",
            "wrn",
            "error",
            "ERR",
            "eror",
            "severe",
            "fatal",
            "critical",
            "crit",
            "alert",
            "emerg",
            "emergency",
            "panic",
            "dpanic",
            "t",
            "v",
            "d",
            "i",
            "n",
            "w",
            "e",
            "f",
            "a",
            "c",
            "x",
            "",
            "informationalxyzw",
            "Exception",
        ]
        .iter()
        .map(|w| w.to_string())
        .collect();
        for len in 1..=3u32 {
            for mut k in 0..6usize.pow(len) {
                let mut w = String::new();
                for _ in 0..len {
                    w.push(b"eRrIwA"[k % 6] as char);
                    k /= 6;
                }
                words.push(w);
            }
        }
        for w in words {
            let want = letters_level_by_copy(w.as_bytes());
            assert_eq!(letters_level(w.as_bytes()), want, "{w}");
            if !w.is_empty() {
                assert_eq!(map_level_name(&w), want, "{w}");
                assert_eq!(map_level_name(&format!(" {w}\t")), want, "{w}");
            }
        }
    }

    #[test]
    fn name_keys_equal_word_severity() {
        // Every level name of up to 8 letters and every word of up to 4
        // letters over the names' letters, in both cases, plus a sample of
        // 5..=8-letter words.
        let alpha = b"acdefgilnorstvwpbC";
        let mut words: Vec<Vec<u8>> = Vec::new();
        for len in 1..=4u32 {
            for mut k in 0..alpha.len().pow(len) {
                let mut w = Vec::new();
                for _ in 0..len {
                    w.push(alpha[k % alpha.len()]);
                    k /= alpha.len();
                }
                words.push(w);
            }
        }
        let mut x = 0x1234_5678u32;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let len = 5 + (x % 4) as usize;
            let w: Vec<u8> = (0..len)
                .map(|j| alpha[((x >> (j * 3)) as usize + j) % alpha.len()])
                .collect();
            words.push(w);
        }
        for name in [
            "trace", "finest", "finer", "debug", "verbose", "notice", "warning", "severe",
            "critical", "alert", "emerg", "panic", "dpanic", "warn", "info", "error",
        ] {
            words.push(name.as_bytes().to_vec());
            words.push(name.to_ascii_uppercase().into_bytes());
            let mut cap = name.as_bytes().to_vec();
            cap[0] = cap[0].to_ascii_uppercase();
            words.push(cap);
        }
        for w in words {
            assert_eq!(letters_level(&w), letters_level_by_copy(&w), "{w:?}");
        }
    }

    /// `letters_only_level` (the bracketed header shortcut) equals
    /// `map_level_name` where it answers, on
    /// every string of up to 4 chars over letters (level initials, both
    /// cases), digits, spaces, a Unicode space and punctuation, and on the
    /// level names padded to up to 9 letters.
    #[test]
    fn letters_only_level_equals_map_level_name() {
        let alpha = [
            'e', 'R', 'r', 'I', 'w', 'A', 'x', '5', '0', ' ', '\u{a0}', ':', '_',
        ];
        let mut cases: Vec<String> = vec![String::new()];
        for len in 1..=4u32 {
            for mut k in 0..alpha.len().pow(len) {
                let mut w = String::new();
                for _ in 0..len {
                    w.push(alpha[k % alpha.len()]);
                    k /= alpha.len();
                }
                cases.push(w);
            }
        }
        for name in [
            "warning",
            "WARNING",
            "critical",
            "Critical",
            "emergency",
            "notice",
            "fatal",
        ] {
            for pad in ["", "x", "xx", "xxx"] {
                cases.push(format!("{name}{pad}"));
            }
        }
        for c in &cases {
            if let Some(s) = letters_only_level(c.as_bytes()) {
                assert_eq!(s, map_level_name(c), "{c:?}");
            }
        }
    }

    #[test]
    fn word_scan_by_eight_bytes_equals_by_byte() {
        for c in 0..=255u8 {
            let v = u64::from_le_bytes([c, b'a', 0xff, c, b'Z', 0, c, b'@']);
            let m = alpha_bytes(v);
            for (k, &x) in v.to_le_bytes().iter().enumerate() {
                assert_eq!(m >> (8 * k + 7) & 1 == 1, x.is_ascii_alphabetic(), "{x}");
            }
        }
        let b = b"12:30:45.678|Step_LSC|30002312|onStandStepChanged 3579 \xc3\xa9t\xe9 [WARN]";
        for i in 0..=b.len() {
            let a = (i..b.len())
                .find(|&j| b[j].is_ascii_alphabetic())
                .unwrap_or(b.len());
            let n = (i..b.len())
                .find(|&j| !b[j].is_ascii_alphabetic())
                .unwrap_or(b.len());
            assert_eq!(next_alpha(b, i), a);
            assert_eq!(next_non_alpha(b, i), n);
        }
    }

    /// `LetterRuns` yields the same runs as `next_alpha` / `next_non_alpha`
    /// (the form `detect_level` used before), at every length and offset.
    #[test]
    fn letter_runs_equal_alpha_steps() {
        let text: &[u8] =
            b"12:30:45.678|Step_LSC|30002312|onStandStepChanged 3579 \xc3\xa9t\xe9 [WARN] \
            abcdefghijklmnopqrstuvwxyz0ABCDEFGHIJKLMNOPQRSTUVWXYZ a b  cd@ef`gh{ij[kl x";
        let by_steps = |b: &[u8]| {
            let mut v = Vec::new();
            let mut i = 0;
            loop {
                i = next_alpha(b, i);
                if i >= b.len() {
                    break;
                }
                let start = i;
                i = next_non_alpha(b, i + 1);
                v.push((start, i));
            }
            v
        };
        for from in 0..text.len() {
            for to in from..=text.len() {
                let b = &text[from..to];
                let mut runs = LetterRuns { b, i: 0 };
                let mut v = Vec::new();
                while let Some(r) = runs.next_run() {
                    v.push(r);
                }
                assert_eq!(v, by_steps(b), "{:?}", String::from_utf8_lossy(b));
            }
        }
    }
    use Severity::*;

    /// The first-letter prefilter of `detect_level` lets every level name
    /// through, in any case.
    #[test]
    fn name_first_covers_every_level_name() {
        for name in [
            "trace",
            "finest",
            "finer",
            "trc",
            "debug",
            "dbg",
            "fine",
            "verbose",
            "info",
            "inf",
            "notice",
            "warn",
            "warning",
            "wrn",
            "error",
            "err",
            "eror",
            "severe",
            "fatal",
            "critical",
            "crit",
            "alert",
            "emerg",
            "emergency",
            "panic",
            "dpanic",
        ] {
            assert!(word_severity(name.as_bytes()).is_some(), "{name}");
            for w in [name.to_string(), name.to_ascii_uppercase()] {
                let b = w.as_bytes();
                assert_ne!(
                    NAME_FIRST[b.len()] & (1 << ((b[0] | 0x20) - b'a')),
                    0,
                    "{w}"
                );
                assert_eq!(
                    detect_level(&format!("x [{w}] y")),
                    word_severity(name.as_bytes())
                );
            }
        }
    }

    #[test]
    fn word_byte_table_equals_predicate() {
        for c in 0..=255u8 {
            assert_eq!(
                WORD_BYTE[c as usize],
                c.is_ascii_alphanumeric() || c == b'_',
                "{c}"
            );
        }
    }

    #[test]
    fn otel_numbers() {
        let n: Vec<u8> = Severity::ALL.iter().map(|s| s.otel_number()).collect();
        assert_eq!(n, [1, 5, 9, 13, 17, 21]);
        for s in Severity::ALL {
            assert_eq!(Severity::from_otel_number(s.otel_number() as i64), Some(s));
        }
        assert_eq!(Severity::from_otel_number(0), None);
        assert!(Error.is_error() && Fatal.is_error() && !Warn.is_error());
    }

    #[test]
    fn names() {
        assert_eq!(map_level_name("warn"), Some(Warn));
        assert_eq!(map_level_name(" WARNING "), Some(Warn));
        assert_eq!(map_level_name("Err"), Some(Error));
        assert_eq!(map_level_name("CRITICAL"), Some(Fatal));
        assert_eq!(map_level_name("notice"), Some(Info));
        assert_eq!(map_level_name("E"), Some(Error));
        assert_eq!(map_level_name("50"), Some(Error));
        assert_eq!(map_level_name("13"), Some(Warn));
        assert_eq!(map_level_name("severe"), Some(Error));
        assert_eq!(map_level_name("bogus"), None);
        assert_eq!(map_level_name(""), None);
        assert_eq!(map_level_name("ünïcödé"), None);
    }

    #[test]
    fn loghub_layouts() {
        let cases = [
            ("081109 203615 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1", Info),
            ("2015-10-18 18:01:47,978 INFO [main] org.apache.hadoop.X: Created", Info),
            ("2015-10-18 18:01:47,978 WARN [main] org.apache.hadoop.X: x", Warn),
            ("17/06/09 20:10:40 ERROR executor.Executor: Exception in task", Error),
            ("2015-07-29 19:04:29,071 - WARN  [SendWorker:188978561024:QuorumCnxManager$SendWorker@688] - x", Warn),
            ("[Sun Dec 04 04:47:44 2005] [error] mod_jk child workerEnv in error state 6", Error),
            ("[Sun Dec 04 04:47:44 2005] [notice] workerEnv.init() ok", Info),
            ("Dec 10 06:55:46 LabSZ sshd[24200]: error: Received disconnect", Error),
            ("Dec 10 06:55:46 LabSZ sshd[24200]: fatal: Write failed", Fatal),
        ];
        for (line, want) in cases {
            assert_eq!(detect_level(line), Some(want), "{line}");
        }
        // No level token.
        assert_eq!(
            detect_level("20171223-22:15:29:606|Step_LSC|30002312|onStandStepChanged 3579"),
            None
        );
        assert_eq!(
            detect_level("[10.30 16:49:06] chrome.exe - proxy.cse.cuhk.edu.hk:5070 open"),
            None
        );
        assert_eq!(
            detect_level("Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user webmaster from 1.2.3.4"),
            None
        );
    }

    #[test]
    fn common_layouts() {
        let cases = [
            ("W0412 10:00:00.123456   1234 main.go:12] disk slow", Warn),
            ("E0412 10:00:00.123456   1234 main.go:12] boom", Error),
            ("time=2024-01-01T00:00:00Z level=warn msg=\"slow\"", Warn),
            ("{\"level\":\"error\",\"msg\":\"x\"}", Error),
            ("<11>1 2024-01-01T00:00:00Z host app - - - failed", Error),
            ("<14>Jan  1 00:00:00 host app: hello", Info),
            ("WARNING:root:disk almost full", Warn),
            ("panic: runtime error: index out of range", Fatal),
            ("SEVERE: Servlet.service() threw exception", Error),
            ("2024-01-01 12:00:00 CRITICAL db down", Fatal),
            (
                "01-02 03:04:05.678  1234  5678 W ActivityManager: slow",
                Warn,
            ),
            ("E/AndroidRuntime(123): FATAL EXCEPTION: main", Error),
            ("lvl=E msg=x", Error),
            ("[Warning] something", Warn),
        ];
        for (line, want) in cases {
            assert_eq!(detect_level(line), Some(want), "{line}");
        }
    }

    #[test]
    fn avoids_false_positives() {
        assert_eq!(detect_level("Error:KeeperErrorCode = NodeExists"), None);
        assert_eq!(detect_level("ERROR_CODE=5 retrying"), None);
        assert_eq!(detect_level("I think the information is fine"), None);
        assert_eq!(detect_level("errors were counted"), None);
        // Strong beats an earlier weak form.
        assert_eq!(detect_level("error: x [info]"), Some(Info));
        // Only the first SCAN_BYTES bytes are read.
        let long = format!("{} ERROR", "x".repeat(300));
        assert_eq!(detect_level(&long), None);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]
        #[test]
        fn level_never_panics(line in crate::fuzzing::strategies::log_line()) {
            let _ = detect_level(&line);
            let _ = map_level_name(&line);
        }
    }
}
