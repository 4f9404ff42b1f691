//! Numeric signals per event, for the risk score.
//!
//! Sources, structured fields first, then the message text:
//!
//! * **severity**: from the parsed event;
//! * **HTTP status** / class: `status`, `status_code`, `http.status_code`,
//!   `http_status`, `response_status`, `http.response.status_code` (100–599);
//! * **latency (ms)**: fields whose name contains `latency`, `duration`,
//!   `elapsed`, `response_time`, `request_time`, `took`, or is `rt`; the unit
//!   comes from the value (`350ms`, `1.2s`, `800us`, `5µs`, `20ns`, `2m`,
//!   `1h`) or the key suffix (`_ms`, `_us`, `_ns`, `_s`, `_sec`,
//!   `_seconds`), else seconds for nginx's `request_time`/`rt`/
//!   `upstream_response_time` and milliseconds otherwise. In text: a number
//!   with a time unit after `took`, `latency`, `duration`, `elapsed`, `in`,
//!   `after`, `time` (`took 350ms`, `took 16 ms`, `latency=1.2s`,
//!   `completed in 35 ms`);
//! * **memory pressure (0..1)**: 1.0 for out-of-memory signatures
//!   (`OutOfMemoryError`, `out of memory`, `OOM`, `oom-kill`,
//!   `Cannot allocate memory`, `MemoryError`); else a percentage or ratio
//!   near `mem`/`memory`/`heap`/`ram` (`heap 93%`, `memory usage 91%`,
//!   `mem=0.93`) or from fields containing `mem` / `heap`;
//! * **CPU pressure (0..1)**: a percentage or ratio near `cpu` (`cpu=97`,
//!   `CPU 97%`, `cpu usage: 0.97`) or from fields containing `cpu`;
//! * **error signature**: the text contains (any case) `exception`,
//!   `traceback`, `panic:`, `fatal`, `segfault`, `segmentation fault`,
//!   `core dumped`, `connection refused`, `connection reset`, `timeout`,
//!   `timed out`, `outofmemory`, `out of memory`, or a CamelCase
//!   `...Error` class name (`NoClassDefFoundError`).
//!
//! Ratios: `93%` → 0.93; `0.93` → 0.93; a bare `93` counts as a percentage
//! only as a `key=value` value or when followed by `%`/`percent`. Values
//! outside 0..=100 % are ignored.

use crate::format::ParsedEvent;
use crate::level::Severity;
use crate::mask::{mask_line, mask_words, render_tokens, split_words, Word, Words, W_LETTERS};

/// Per-event signals.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Features {
    /// Severity of the event.
    pub severity: Option<Severity>,
    /// HTTP status code (100–599).
    pub http_status: Option<u16>,
    /// HTTP status class: 1–5 (`5` for 5xx).
    pub status_class: Option<u8>,
    /// Latency in milliseconds.
    pub latency_ms: Option<f64>,
    /// Memory pressure, 0..=1 (1 for out-of-memory).
    pub memory_pressure: Option<f64>,
    /// CPU pressure, 0..=1.
    pub cpu_pressure: Option<f64>,
    /// The text looks like an error (exception, panic, timeout...).
    pub is_error_signature: bool,
}

/// Compute the features of a parsed event.
pub fn extract_features(ev: &ParsedEvent<'_>) -> Features {
    let mut f = field_features(ev);
    scan_text(&mut f, &ev.message);
    f
}

/// [`extract_features`] and [`mask_line`] of the event's message in one:
/// the message is split into words once, for both. The same results as the
/// two separate calls.
pub fn extract_features_and_mask(ev: &ParsedEvent<'_>) -> (Features, String) {
    let msg: &str = &ev.message;
    let mut words = Words::new();
    if !split_words(msg, &mut words) {
        return (extract_features(ev), mask_line(msg));
    }
    let f = features_of_words(ev, &words);
    let mut toks = Vec::with_capacity(words.len());
    mask_words(msg, &words, usize::MAX, &mut toks);
    (f, render_tokens(msg, &toks))
}

/// [`extract_features`] over the words of `ev.message` split by
/// [`split_words`].
pub(crate) fn features_of_words(ev: &ParsedEvent<'_>, words: &[Word]) -> Features {
    let mut f = field_features(ev);
    scan_words(&mut f, &ev.message, words);
    f
}

/// The word pass of [`scan_spans`] over the words of `text` split by
/// [`split_words`], the look-ahead read from the slice.
fn scan_words(f: &mut Features, text: &str, words: &[Word]) {
    let word = |k: usize| {
        words
            .get(k)
            .map_or("", |w| &text[w.start as usize..w.end as usize])
    };
    let mut oom = false;
    for (k, w) in words.iter().enumerate() {
        let m = w.bits & W_LETTERS;
        let sets = keyword_sets(m);
        if w.end - w.start <= 48 && may_match_sets(m, sets) {
            // Word boundaries are ASCII bytes: the slices are valid str.
            // The look-ahead is built only for a keyword that needs it.
            let win = || [word(k), word(k + 1), word(k + 2), word(k + 3)];
            scan_word(f, word(k), win, m, sets, &mut oom);
        }
    }
    if oom {
        f.memory_pressure = Some(1.0);
    }
}

/// The severity and the structured fields' features of `ev`.
#[inline]
fn field_features(ev: &ParsedEvent<'_>) -> Features {
    let mut f = Features {
        severity: ev.severity,
        ..Features::default()
    };
    for field in &ev.fields {
        if !is_header_key(&field.key) {
            apply_field_rules(&mut f, &field.key, &field.value);
        }
    }
    f
}

/// Compute the features of raw text (no structured fields, no severity).
pub fn text_features(text: &str) -> Features {
    let mut f = Features::default();
    scan_text(&mut f, text);
    f
}

fn lower_into<'b>(s: &str, buf: &'b mut [u8; 48]) -> Option<&'b [u8]> {
    if s.len() > buf.len() {
        return None;
    }
    let k = &mut buf[..s.len()];
    k.copy_from_slice(s.as_bytes());
    k.make_ascii_lowercase();
    Some(k)
}

fn contains(h: &[u8], n: &[u8]) -> bool {
    h.len() >= n.len() && h.windows(n.len()).any(|w| w == n)
}

/// Fold one structured key/value (e.g. a JSON field the producer sent apart from the line)
/// into `f`, by the key rules above.
pub fn apply_field(f: &mut Features, key: &str, value: &str) {
    if !is_header_key(key) {
        apply_field_rules(f, key, value);
    }
}

/// The keys the plain-text and syslog headers add, by far the most frequent
/// fields, are read by no rule of [`apply_field`] (a test checks): rejected
/// before its letter mask, which "component" and "thread" pass.
#[inline]
fn is_header_key(key: &str) -> bool {
    matches!(
        key,
        "component" | "thread" | "pid" | "program" | "logger" | "host"
    )
}

/// [`apply_field`] without the header-key shortcut.
fn apply_field_rules(f: &mut Features, key: &str, value: &str) {
    if key.len() > 48 {
        return;
    }
    // A key whose letters hold none of the keys' below cannot match: skip
    // the lowercase copy and the compares.
    let m = letter_mask(key.as_bytes());
    if !KEY_NEEDS.iter().any(|&n| has(m, n)) {
        return;
    }
    let mut buf = [0u8; 48];
    let Some(k) = lower_into(key, &mut buf) else {
        return;
    };
    if f.http_status.is_none()
        && matches!(
            k,
            b"status"
                | b"status_code"
                | b"statuscode"
                | b"http.status_code"
                | b"http_status"
                | b"response_status"
                | b"http.response.status_code"
                | b"http.status"
        )
    {
        if let Ok(code) = value.trim().parse::<u16>() {
            set_status(f, code);
        }
        return;
    }
    if f.latency_ms.is_none()
        && ((has(m, letters(b"latency")) && contains(k, b"latency"))
            || (has(m, letters(b"duration")) && contains(k, b"duration"))
            || (has(m, letters(b"elapsed")) && contains(k, b"elapsed"))
            || (has(m, letters(b"responsetime")) && contains(k, b"response_time"))
            || (has(m, letters(b"requesttime")) && contains(k, b"request_time"))
            || (has(m, letters(b"took")) && contains(k, b"took"))
            || k == b"rt")
    {
        let default_unit = if k.ends_with(b"_ms") || k.ends_with(b"millis") {
            Unit::Ms
        } else if k.ends_with(b"_us") || k.ends_with(b"micros") {
            Unit::Us
        } else if k.ends_with(b"_ns") || k.ends_with(b"nanos") {
            Unit::Ns
        } else if k.ends_with(b"_s")
            || k.ends_with(b"_sec")
            || k.ends_with(b"_seconds")
            || k.ends_with(b"request_time")
            || k.ends_with(b"response_time") && k.starts_with(b"upstream")
            || k == b"rt"
        {
            Unit::S
        } else {
            Unit::Ms
        };
        f.latency_ms = parse_duration(value.trim(), None, Some(default_unit));
        return;
    }
    if has(m, letters(b"cpu")) && contains(k, b"cpu") {
        if f.cpu_pressure.is_none() {
            f.cpu_pressure = parse_ratio(value.trim(), true);
        }
        return;
    }
    if ((has(m, letters(b"mem")) && contains(k, b"mem"))
        || (has(m, letters(b"heap")) && contains(k, b"heap")))
        && f.memory_pressure.is_none()
    {
        f.memory_pressure = parse_ratio(value.trim(), true);
    }
}

/// Letter sets such that every key [`apply_field`] reads holds one of them
/// (`response_time` and `request_time` hold `rt`).
const KEY_NEEDS: [u32; 9] = [
    letters(b"status"),
    letters(b"latency"),
    letters(b"duration"),
    letters(b"elapsed"),
    letters(b"took"),
    letters(b"rt"),
    letters(b"cpu"),
    letters(b"mem"),
    letters(b"heap"),
];

fn set_status(f: &mut Features, code: u16) {
    if (100..=599).contains(&code) {
        f.http_status = Some(code);
        f.status_class = Some((code / 100) as u8);
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Unit {
    Ns,
    Us,
    Ms,
    S,
    Min,
    H,
}

impl Unit {
    fn to_ms(self) -> f64 {
        match self {
            Unit::Ns => 1e-6,
            Unit::Us => 1e-3,
            Unit::Ms => 1.0,
            Unit::S => 1e3,
            Unit::Min => 60e3,
            Unit::H => 3600e3,
        }
    }
}

fn unit_of(s: &str) -> Option<Unit> {
    let s = s.trim_end_matches([',', ';', ')', ']', '.', '"', '\'']);
    Some(match s {
        "ns" | "nanos" | "nanoseconds" => Unit::Ns,
        "us" | "µs" | "μs" | "micros" | "microseconds" => Unit::Us,
        "ms" | "msec" | "msecs" | "millis" | "milliseconds" | "MILLISECONDS" => Unit::Ms,
        "s" | "sec" | "secs" | "second" | "seconds" => Unit::S,
        "m" | "min" | "mins" | "minute" | "minutes" => Unit::Min,
        "h" | "hr" | "hrs" | "hour" | "hours" => Unit::H,
        _ => return None,
    })
}

/// Split a leading float: ("1.5", "ms").
fn split_number(s: &str) -> Option<(f64, &str)> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut dot = false;
    while i < b.len() && (b[i].is_ascii_digit() || (b[i] == b'.' && !dot)) {
        dot |= b[i] == b'.';
        i += 1;
    }
    if i == 0 || !b[0].is_ascii_digit() {
        return None;
    }
    let v: f64 = s[..i].parse().ok()?;
    Some((v, &s[i..]))
}

/// A duration: `350ms`, `1.2s`, `1m30s` (first component only), or a bare
/// number with the unit in `next` (the following token) or `default`.
fn parse_duration(v: &str, next: Option<&str>, default: Option<Unit>) -> Option<f64> {
    let (n, rest) = split_number(v)?;
    let rest_trim = rest.trim_end_matches([',', ';', ')', ']', '"', '\'']);
    let unit = if rest_trim.is_empty() || rest_trim == "." {
        match next.and_then(unit_of) {
            Some(u) => u,
            None => default?,
        }
    } else {
        // "1m30s": take the leading unit letters.
        let end = rest_trim
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest_trim.len());
        unit_of(&rest_trim[..end])?
    };
    let ms = n * unit.to_ms();
    ms.is_finite().then_some(ms)
}

/// A ratio in 0..=1 from `93%`, `0.93`, or (if `bare_pct`) `93`.
fn parse_ratio(v: &str, bare_pct: bool) -> Option<f64> {
    let v = v.trim_end_matches([',', ';', ')', ']', '"', '\'', '.']);
    let (n, rest) = split_number(v)?;
    let r = if rest == "%" {
        n / 100.0
    } else if !rest.is_empty() {
        return None;
    } else if n <= 1.0 && v.contains('.') {
        n
    } else if bare_pct {
        n / 100.0
    } else {
        return None;
    };
    (0.0..=1.0).contains(&r).then_some(r)
}

/// Bitmask of the letters (case-insensitive, bit 0 = `a`) in `w`, used to
/// reject keyword searches cheaply without copying the word.
#[inline]
fn letter_mask(w: &[u8]) -> u32 {
    let mut mask = 0u32;
    for &c in w {
        mask |= LETTER_BIT[c as usize];
    }
    mask
}

/// Letter bit (case-insensitive) of each byte, 0 for non-letters.
static LETTER_BIT: [u32; 256] = {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 26 {
        t[b'a' as usize + i] = 1 << i;
        t[b'A' as usize + i] = 1 << i;
        i += 1;
    }
    t
};

const fn letters(s: &[u8]) -> u32 {
    let mut m = 0u32;
    let mut i = 0;
    while i < s.len() {
        m |= 1 << (s[i] - b'a');
        i += 1;
    }
    m
}

#[inline]
fn has(m: u32, need: u32) -> bool {
    m & need == need
}

/// `h` starts with the lowercase `n`, ignoring ASCII case.
#[inline]
fn starts_ci(h: &[u8], n: &[u8]) -> bool {
    h.len() >= n.len() && h[..n.len()].eq_ignore_ascii_case(n)
}

/// `h` ends with the lowercase `n`, ignoring ASCII case.
#[inline]
fn ends_ci(h: &[u8], n: &[u8]) -> bool {
    h.len() >= n.len() && h[h.len() - n.len()..].eq_ignore_ascii_case(n)
}

/// `h` contains the lowercase `n`, ignoring ASCII case.
fn contains_ci(h: &[u8], n: &[u8]) -> bool {
    let Some((first, rest)) = n.split_first() else {
        return true;
    };
    // The first byte alone rejects most windows.
    h.len() >= n.len()
        && h.windows(n.len())
            .any(|w| w[0].eq_ignore_ascii_case(first) && w[1..].eq_ignore_ascii_case(rest))
}

/// Single-word error-signature keywords (substring match, lowercase).
const SIG_WORDS: [(&[u8], u32); 6] = [
    (b"exception", letters(b"exception")),
    (b"traceback", letters(b"traceback")),
    (b"fatal", letters(b"fatal")),
    (b"segfault", letters(b"segfault")),
    (b"timeout", letters(b"timeout")),
    (b"outofmemory", letters(b"outofmemory")),
];

/// Does word `w` (letter mask `m`) carry an error signature (any case)?
/// (The general form of [`word_signature_in`], kept to test it against.)
#[cfg(test)]
fn word_signature(w: &[u8], m: u32) -> bool {
    SIG_WORDS
        .iter()
        .any(|(n, need)| has(m, *need) && contains_ci(w, n))
        || (has(m, letters(b"panic")) && starts_ci(w, b"panic:"))
}

/// `word_signature` given `sets = keyword_sets(m)`: only the keywords whose
/// letters the word holds are searched (most words hold none).
#[inline]
fn word_signature_in(w: &[u8], sets: u32) -> bool {
    let mut cand = (sets & SIG_BITS) >> SET_SIG;
    while cand != 0 {
        let k = cand.trailing_zeros() as usize;
        cand &= cand - 1;
        let hit = match SIG_WORDS.get(k) {
            Some((n, _)) => contains_ci(w, n),
            None => starts_ci(w, b"panic:"),
        };
        if hit {
            return true;
        }
    }
    false
}

/// `OutOfMemoryError`-like: a word ending in `Error` with an upper-case
/// letter before it.
fn is_error_class(w: &str) -> bool {
    // Byte pre-check (most words with the letters of `error` do not end in it); the same
    // trim as below, on ASCII bytes.
    let b = w.as_bytes();
    let mut end = b.len();
    while end > 0 && matches!(b[end - 1], b':' | b',' | b';' | b')' | b'.') {
        end -= 1;
    }
    if !b[..end].ends_with(b"Error") {
        return false;
    }
    let w = w.trim_end_matches([':', ',', ';', ')', '.']);
    let w = w.rsplit('.').next().unwrap_or(w);
    w.len() > 5
        && w.ends_with("Error")
        && w[..w.len() - 5].bytes().any(|c| c.is_ascii_uppercase())
        && w.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

/// Out-of-memory word (any case): `oom`, `oom-kill`, `OutOfMemoryError`,
/// `MemoryError`.
fn is_oom_word(w: &[u8], m: u32) -> bool {
    if !has(m, letters(b"om")) {
        return false;
    }
    let mut end = w.len();
    while end > 0 && !w[end - 1].is_ascii_alphanumeric() {
        end -= 1;
    }
    let w = &w[..end];
    w.eq_ignore_ascii_case(b"oom")
        || starts_ci(w, b"oom-")
        || starts_ci(w, b"oom_")
        || (has(m, letters(b"outofmemory")) && contains_ci(w, b"outofmemory"))
        || w.eq_ignore_ascii_case(b"memoryerror")
        || ends_ci(w, b".memoryerror")
}

/// Word without surrounding punctuation (non-alphanumeric bytes).
#[inline]
fn core(w: &[u8]) -> &[u8] {
    let mut s = 0;
    while s < w.len() && !ALNUM[w[s] as usize] {
        s += 1;
    }
    let mut e = w.len();
    while e > s && !ALNUM[w[e - 1] as usize] {
        e -= 1;
    }
    &w[s..e]
}

/// [`u8::is_ascii_alphanumeric`] by table (one load instead of two range
/// tests, for [`core`]).
static ALNUM: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = (i as u8).is_ascii_alphanumeric();
        i += 1;
    }
    t
};

fn eq_ci(w: &str, lower: &[u8]) -> bool {
    core(w.as_bytes()).eq_ignore_ascii_case(lower)
}

/// Letter sets such that every keyword of the word pass (error signatures,
/// out-of-memory words, latency / memory / CPU keys) contains at least one of
/// them: a word whose letters include none of them cannot match anything
/// and is skipped after one table pass. E.g. `om` covers `timeout` and
/// the memory words; `out` covers `out of memory` and `duration`; `ero`
/// covers `...Error`, `core`, `response`; `rt` covers `traceback`; `me`
/// covers `segmentation`. The word `in` is checked apart (its letters
/// exactly, see [`may_match_sets`]): most words holding an `i` and an `n` are
/// none of the keywords.
const NEEDS: [u32; 16] = [
    letters(b"exception"),
    letters(b"connection"),
    letters(b"cannot"),
    letters(b"panic"),
    letters(b"out"),
    letters(b"om"),
    letters(b"me"),
    letters(b"rt"),
    letters(b"cpu"),
    letters(b"heap"),
    letters(b"ram"),
    letters(b"tok"),
    letters(b"ero"),
    letters(b"fatl"),
    letters(b"lacy"),
    letters(b"elapsd"),
];

/// Bit of [`keyword_sets`] for `SIG_WORDS[0]` (`SIG_WORDS[k]` is bit
/// `SET_SIG + k`, then `panic`); bits below it are the [`NEEDS`].
const SET_SIG: u32 = 16;
/// The bits of [`keyword_sets`] of the `SIG_WORDS` and `panic`.
const SIG_BITS: u32 = ((1 << (SIG_WORDS.len() + 1)) - 1) << SET_SIG;
/// Bit of [`keyword_sets`]: the letters of `error`.
const SET_ERROR: u32 = SET_SIG + SIG_WORDS.len() as u32 + 1;
/// Bit of [`keyword_sets`]: the letters of `om`.
const SET_OM: u32 = SET_ERROR + 1;
/// The [`NEEDS`] bits of [`keyword_sets`].
const NEEDS_BITS: u32 = (1 << NEEDS.len()) - 1;

/// The letter sets of [`keyword_sets`], bit `k` for entry `k`.
const SETS: [u32; SET_OM as usize + 1] = {
    let mut t = [0u32; SET_OM as usize + 1];
    let mut k = 0;
    while k < NEEDS.len() {
        t[k] = NEEDS[k];
        k += 1;
    }
    let mut j = 0;
    while j < SIG_WORDS.len() {
        t[SET_SIG as usize + j] = SIG_WORDS[j].1;
        j += 1;
    }
    t[SET_SIG as usize + SIG_WORDS.len()] = letters(b"panic");
    t[SET_ERROR as usize] = letters(b"error");
    t[SET_OM as usize] = letters(b"om");
    t
};

/// Bit `k` set when the letter mask `m` holds all the letters of `SETS[k]`:
/// the keyword prefilters of the word pass by two table lookups (which sets
/// the low 13 letters of `m` cover, which the high 13 cover) instead of one
/// subset test per keyword.
#[inline]
fn keyword_sets(m: u32) -> u32 {
    SETS_LO[(m & 0x1fff) as usize] & SETS_HI[(m >> 13 & 0x1fff) as usize]
}

/// [`may_match_sets`] from the letter mask alone (for the tests).
#[cfg(test)]
fn may_match(m: u32) -> bool {
    may_match_sets(m, keyword_sets(m))
}

/// Could a word with letter mask `m` (`sets = keyword_sets(m)`) match any
/// keyword (see [`NEEDS`])? A word whose core is `in` (any case) has exactly
/// the letters of `in`.
#[inline]
fn may_match_sets(m: u32, sets: u32) -> bool {
    m == letters(b"in") || sets & NEEDS_BITS != 0
}

/// Bit `k` of entry `x`: the letters of `SETS[k]` in the half at `shift`
/// (`a..=m` for 0, `n..=z` for 13) are all in `x` (that half of a mask).
const fn sets_by_half(shift: u32) -> [u32; 1 << 13] {
    let mut t = [0u32; 1 << 13];
    let mut x = 0;
    while x < 1 << 13 {
        let mut k = 0;
        while k < SETS.len() {
            let need = SETS[k] >> shift & 0x1fff;
            if x as u32 & need == need {
                t[x] |= 1 << k;
            }
            k += 1;
        }
        x += 1;
    }
    t
}

static SETS_LO: [u32; 1 << 13] = sets_by_half(0);
static SETS_HI: [u32; 1 << 13] = sets_by_half(13);

/// ASCII whitespace as in [`str::split_ascii_whitespace`], flagged in
/// [`WORD_BYTE`].
const WS_BIT: u32 = 1 << 31;

/// [`LETTER_BIT`] plus [`WS_BIT`] for ASCII whitespace: one lookup per byte
/// splits the words and collects their letters.
static WORD_BYTE: [u32; 256] = {
    let mut t = LETTER_BIT;
    t[b' ' as usize] = WS_BIT;
    t[b'\t' as usize] = WS_BIT;
    t[b'\n' as usize] = WS_BIT;
    t[0x0c] = WS_BIT;
    t[b'\r' as usize] = WS_BIT;
    t
};

/// The words of `b` (split on [`WORD_BYTE`]'s whitespace): (start, end,
/// letter mask).
struct ScanWords<'a> {
    b: &'a [u8],
    pos: usize,
}

impl Iterator for ScanWords<'_> {
    type Item = (usize, usize, u32);

    #[inline]
    fn next(&mut self) -> Option<(usize, usize, u32)> {
        let b = self.b;
        let mut i = self.pos;
        while i < b.len() && WORD_BYTE[b[i] as usize] == WS_BIT {
            i += 1;
        }
        if i >= b.len() {
            self.pos = i;
            return None;
        }
        let start = i;
        let mut mask = 0u32;
        while i < b.len() {
            let t = WORD_BYTE[b[i] as usize];
            if t == WS_BIT {
                break;
            }
            mask |= t;
            i += 1;
        }
        self.pos = i;
        Some((start, i, mask))
    }
}

fn scan_text(f: &mut Features, text: &str) {
    let words = ScanWords {
        b: text.as_bytes(),
        pos: 0,
    };
    scan_spans(f, text, words);
}

/// The word pass over the words of `text` given as (start, end, letter
/// mask), with a 4-word look-ahead window.
#[inline]
fn scan_spans(f: &mut Features, text: &str, mut words: impl Iterator<Item = (usize, usize, u32)>) {
    let mut win = [(0usize, 0usize, 0u32); 4];
    for w in win.iter_mut() {
        *w = words.next().unwrap_or_default();
    }
    let mut oom = false;
    while win[0].0 < win[0].1 {
        let (s, e, m) = win[0];
        let sets = keyword_sets(m);
        if e - s <= 48 && may_match_sets(m, sets) {
            // Word boundaries are ASCII bytes: the slices are valid str.
            let words: [&str; 4] = std::array::from_fn(|k| &text[win[k].0..win[k].1]);
            scan_word(f, words[0], || words, m, sets, &mut oom);
        }
        win = [win[1], win[2], win[3], words.next().unwrap_or_default()];
    }
    if oom {
        f.memory_pressure = Some(1.0);
    }
}

/// Keyword checks for `w` (letter mask `m`, `sets = keyword_sets(m)`);
/// `win()` is `w` and the look-ahead: `[w, next, next + 1, next + 2]` (`""`
/// past the end).
#[inline]
fn scan_word<'t>(
    f: &mut Features,
    w: &'t str,
    win: impl Fn() -> [&'t str; 4],
    m: u32,
    sets: u32,
    oom: &mut bool,
) {
    let wb = w.as_bytes();
    let c = core(wb);
    if !f.is_error_signature
        && ((sets & SIG_BITS != 0 && word_signature_in(wb, sets))
            || (c.eq_ignore_ascii_case(b"segmentation") && eq_ci(win()[1], b"fault"))
            || (c.eq_ignore_ascii_case(b"core") && eq_ci(win()[1], b"dumped"))
            || (c.eq_ignore_ascii_case(b"connection")
                && (eq_ci(win()[1], b"refused") || eq_ci(win()[1], b"reset")))
            || (c.eq_ignore_ascii_case(b"timed") && eq_ci(win()[1], b"out"))
            || (sets & 1 << SET_ERROR != 0 && is_error_class(w)))
    {
        f.is_error_signature = true;
    }
    if (sets & 1 << SET_OM != 0 && is_oom_word(wb, m))
        || (c.eq_ignore_ascii_case(b"out") && eq_ci(win()[1], b"of") && eq_ci(win()[2], b"memory"))
        || (c.eq_ignore_ascii_case(b"cannot")
            && eq_ci(win()[1], b"allocate")
            && eq_ci(win()[2], b"memory"))
    {
        *oom = true;
        f.is_error_signature = true;
    }
    if maybe_trigger(c) {
        let mut buf = [0u8; 48];
        let lw = &mut buf[..wb.len()];
        lw.copy_from_slice(wb);
        lw.make_ascii_lowercase();
        word_triggers(f, lw, w, &win());
    }
}

/// Split `key=value` / `key:value` in a lowercase word.
fn split_kv(w: &str) -> (&str, Option<&str>) {
    match w.find(['=', ':']) {
        Some(p) => {
            let v = &w[p + 1..];
            (&w[..p], (!v.is_empty()).then_some(v))
        }
        None => (w, None),
    }
}

/// Could `c` (a word core, any case) start a latency / memory / CPU key?
#[inline]
fn maybe_trigger(c: &[u8]) -> bool {
    match c.first().map(u8::to_ascii_lowercase) {
        Some(b't') => starts_ci(c, b"took") || starts_ci(c, b"time"),
        Some(b'l') => starts_ci(c, b"latency"),
        Some(b'd') => starts_ci(c, b"duration"),
        Some(b'e') => starts_ci(c, b"elapsed"),
        Some(b'i') => c.eq_ignore_ascii_case(b"in"),
        Some(b'a') => c.eq_ignore_ascii_case(b"after"),
        Some(b'r') => starts_ci(c, b"rt") || starts_ci(c, b"response") || starts_ci(c, b"ram"),
        Some(b'm') => starts_ci(c, b"mem"),
        Some(b'h') => starts_ci(c, b"heap"),
        Some(b'c') => starts_ci(c, b"cpu"),
        _ => false,
    }
}

fn word_triggers(f: &mut Features, lw: &[u8], w: &str, win: &[&str; 4]) {
    let Ok(lower) = std::str::from_utf8(lw) else {
        return;
    };
    let (key, inline) = split_kv(lower);
    let key = key.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '_');
    let inline_orig = inline.map(|v| &w[w.len() - v.len()..]);
    // Latency.
    if f.latency_ms.is_none() {
        let strong = matches!(
            key,
            "took" | "latency" | "duration" | "elapsed" | "response_time" | "rt"
        );
        let weak = matches!(key, "in" | "after" | "time");
        if strong || weak {
            f.latency_ms = match inline_orig {
                Some(v) => parse_duration(v, Some(win[1]), strong.then_some(Unit::Ms)),
                None => {
                    if win[1].is_empty() {
                        None
                    } else {
                        parse_duration(win[1], Some(win[2]), None)
                    }
                }
            };
        }
    }
    // Memory / CPU: a ratio inline or within the next 3 words.
    let is_mem = matches!(key, "mem" | "memory" | "heap" | "ram")
        || key.starts_with("mem_")
        || key.starts_with("memory_")
        || key.starts_with("heap_");
    let is_cpu = key == "cpu" || key.starts_with("cpu_") || key == "cpus";
    if (is_mem && f.memory_pressure.is_none()) || (is_cpu && f.cpu_pressure.is_none()) {
        let r = match inline_orig {
            Some(v) => parse_ratio(v, true),
            None => win[1..].iter().find_map(|t| {
                if t.is_empty() {
                    return None;
                }
                parse_ratio(t, false)
            }),
        };
        if is_mem && f.memory_pressure.is_none() {
            f.memory_pressure = r;
        } else if is_cpu && f.cpu_pressure.is_none() {
            f.cpu_pressure = r;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_table_equals_predicate() {
        for c in 0..=255u8 {
            assert_eq!(ALNUM[c as usize], c.is_ascii_alphanumeric(), "{c}");
        }
        let by_predicate = |w: &[u8]| -> Vec<u8> {
            let s = w
                .iter()
                .position(u8::is_ascii_alphanumeric)
                .unwrap_or(w.len());
            let e = w
                .iter()
                .rposition(u8::is_ascii_alphanumeric)
                .map_or(s, |e| e + 1);
            w[s..e.max(s)].to_vec()
        };
        for w in [
            "",
            "x",
            "--",
            "(error)",
            "[WARN]:",
            "a.b",
            "\"quoted\",",
            "é!",
            "..7..",
            "::",
        ] {
            assert_eq!(core(w.as_bytes()), by_predicate(w.as_bytes()), "{w}");
        }
    }

    #[test]
    fn header_keys_are_read_by_no_rule() {
        // A rule reading one of these keys would set a feature from one of
        // the values (status code, duration, ratio) on the empty features.
        let values = [
            "",
            "0",
            "1",
            "200",
            "404",
            "503",
            "12ms",
            "1.5s",
            "350",
            "0.9",
            "90%",
            "0.5",
            "true",
            "OutOfMemoryError",
            "x",
            "-1",
            "65535",
            "99999999999",
        ];
        let full = Features {
            http_status: Some(500),
            status_class: Some(5),
            latency_ms: Some(3.0),
            cpu_pressure: Some(0.5),
            memory_pressure: Some(0.25),
            ..Features::default()
        };
        for key in ["component", "thread", "pid", "program", "logger", "host"] {
            for v in values {
                for base in [Features::default(), full] {
                    let mut f = base;
                    apply_field_rules(&mut f, key, v);
                    assert_eq!(f, base, "{key}={v}");
                    apply_field(&mut f, key, v);
                    assert_eq!(f, base, "{key}={v}");
                }
            }
        }
        // The control: a key a rule reads.
        let mut f = Features::default();
        apply_field(&mut f, "status", "503");
        assert_eq!(f.http_status, Some(503));
    }

    #[test]
    fn may_match_tables_equal_needs() {
        // Every mask made of the needs' letters and a few others, and a
        // pseudo-random sample of all masks.
        let mut x = 0x9e37_79b9u32;
        for k in 0..400_000u32 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let m = if k < 1 << 16 {
                ((k * 0x3ff) & W_LETTERS) | (k >> 6)
            } else {
                x & W_LETTERS
            };
            let want = m == letters(b"in") || NEEDS.iter().any(|&n| has(m, n));
            assert_eq!(may_match(m), want, "{m:#x}");
        }
        for &n in &NEEDS {
            assert!(may_match(n));
            for bit in 0..26 {
                let m = n & !(1 << bit);
                let want = m == letters(b"in") || NEEDS.iter().any(|&n| has(m, n));
                assert_eq!(may_match(m), want);
            }
        }
    }

    #[test]
    fn keyword_sets_equal_subset_tests() {
        let mut x = 0x2545_f491u32;
        for k in 0..400_000u32 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let m = if k < 1 << 16 {
                ((k * 0x3ff) & W_LETTERS) | (k >> 6)
            } else {
                x & W_LETTERS
            };
            let want = SETS
                .iter()
                .enumerate()
                .fold(0u32, |a, (b, &n)| a | (has(m, n) as u32) << b);
            assert_eq!(keyword_sets(m), want, "{m:#x}");
        }
        for (k, &n) in SETS.iter().enumerate() {
            assert_ne!(keyword_sets(n) & 1 << k, 0);
            for bit in 0..26 {
                let m = n & !(1 << bit);
                let want = SETS
                    .iter()
                    .enumerate()
                    .fold(0u32, |a, (b, &n)| a | (has(m, n) as u32) << b);
                assert_eq!(keyword_sets(m), want);
            }
        }
    }

    #[test]
    fn contains_ci_equals_window_compare() {
        let hs: [&[u8]; 10] = [
            b"",
            b"t",
            b"xTimeOut",
            b"timeou",
            b"TIMEOUTtimeout",
            b"@`ti",
            b"tImE",
            b"java.net.SocketTimeoutException:",
            b"\xc3tim\xd4",
            b"OutOfMemoryError",
        ];
        let ns: [&[u8]; 6] = [b"t", b"timeout", b"tim", b"outofmemory", b"exception", b"@"];
        for h in hs {
            for n in ns {
                let want =
                    h.len() >= n.len() && h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n));
                assert_eq!(contains_ci(h, n), want, "{h:?} {n:?}");
            }
        }
    }

    #[test]
    fn word_signature_in_equals_word_signature() {
        let words = [
            "",
            "x",
            "Exception",
            "java.lang.NullPointerException:",
            "TRACEBACK",
            "fatal",
            "Fatal:",
            "segfault",
            "Timeout",
            "timeouts",
            "OutOfMemory",
            "outofmemoryerror",
            "panic:",
            "PANIC:",
            "panic",
            "xpanic:",
            "mention",
            "tiemout",
            "exceptio",
            "error",
            "om",
            "socket.timeout,",
            "faTAL",
            "segfaul",
            "a.b.c",
            "[panic:]",
        ];
        for w in words {
            let m = letter_mask(w.as_bytes());
            assert_eq!(
                word_signature_in(w.as_bytes(), keyword_sets(m)),
                word_signature(w.as_bytes(), m),
                "{w}"
            );
        }
        // Every word over a small alphabet holding the keywords' letters.
        let alpha = b"aceilmnoptux:";
        for len in 1..=4usize {
            let mut idx = vec![0usize; len];
            loop {
                let w: Vec<u8> = idx.iter().map(|&i| alpha[i]).collect();
                let m = letter_mask(&w);
                assert_eq!(
                    word_signature_in(&w, keyword_sets(m)),
                    word_signature(&w, m)
                );
                let mut p = 0;
                while p < len && idx[p] + 1 == alpha.len() {
                    idx[p] = 0;
                    p += 1;
                }
                if p == len {
                    break;
                }
                idx[p] += 1;
            }
        }
    }

    use crate::format::{parse_line, ParseConfig};

    fn approx(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() < 1e-9)
    }

    #[test]
    fn latency_from_text() {
        assert!(approx(text_features("query took 350ms").latency_ms, 350.0));
        assert!(approx(
            text_features("Reading broadcast variable 3 took 16 ms").latency_ms,
            16.0
        ));
        assert!(approx(text_features("latency=1.2s ok").latency_ms, 1200.0));
        assert!(approx(text_features("latency: 800us").latency_ms, 0.8));
        assert!(approx(text_features("completed in 35 ms").latency_ms, 35.0));
        assert!(approx(text_features("took 2m30s").latency_ms, 120_000.0));
        assert_eq!(text_features("took 3 attempts").latency_ms, None);
        assert_eq!(text_features("in the cluster").latency_ms, None);
        assert_eq!(
            text_features("timeout of 10000ms exceeded").latency_ms,
            None
        );
    }

    #[test]
    fn latency_from_fields() {
        let cfg = ParseConfig::default();
        let ev = parse_line(r#"{"msg":"ok","duration_ms":12.5}"#, &cfg);
        assert!(approx(extract_features(&ev).latency_ms, 12.5));
        let ev = parse_line(r#"{"msg":"ok","latency":"1.5s"}"#, &cfg);
        assert!(approx(extract_features(&ev).latency_ms, 1500.0));
        let ev = parse_line("level=info msg=ok response_time=40", &cfg);
        assert!(approx(extract_features(&ev).latency_ms, 40.0));
        let ev = parse_line(
            r#"1.2.3.4 - - [10/Oct/2023:13:55:36 +0000] "GET /x HTTP/1.1" 502 0 "-" "-" 0.350"#,
            &cfg,
        );
        let f = extract_features(&ev);
        assert!(approx(f.latency_ms, 350.0));
        assert_eq!(f.http_status, Some(502));
        assert_eq!(f.status_class, Some(5));
        assert_eq!(f.severity, Some(Severity::Error));
    }

    #[test]
    fn memory_and_cpu() {
        assert!(approx(text_features("heap 93% used").memory_pressure, 0.93));
        assert!(approx(
            text_features("memory usage 91%").memory_pressure,
            0.91
        ));
        assert!(approx(
            text_features("stats mem=0.93 cpu=97").memory_pressure,
            0.93
        ));
        assert!(approx(
            text_features("stats mem=0.93 cpu=97").cpu_pressure,
            0.97
        ));
        assert!(approx(text_features("CPU 97%").cpu_pressure, 0.97));
        assert!(approx(text_features("cpu usage: 0.5").cpu_pressure, 0.5));
        assert_eq!(
            text_features("memory store started with 512 MB").memory_pressure,
            None
        );
        assert!(approx(
            text_features("java.lang.OutOfMemoryError: Java heap space").memory_pressure,
            1.0
        ));
        assert!(approx(
            text_features("kernel: Out of memory: Kill process 1234").memory_pressure,
            1.0
        ));
        assert!(approx(text_features("oom-kill event").memory_pressure, 1.0));
        let cfg = ParseConfig::default();
        let ev = parse_line(r#"{"msg":"x","memory_pct":"88%","cpu_usage":0.42}"#, &cfg);
        let f = extract_features(&ev);
        assert!(approx(f.memory_pressure, 0.88));
        assert!(approx(f.cpu_pressure, 0.42));
    }

    #[test]
    fn error_signatures() {
        for t in [
            "java.io.IOException: boom",
            "Traceback (most recent call last):",
            "panic: runtime error",
            "FATAL things",
            "Segmentation fault (core dumped)",
            "dial tcp: connection refused",
            "request timeout",
            "read timed out",
            "caught end of stream exception",
            "NoClassDefFoundError: x",
        ] {
            assert!(text_features(t).is_error_signature, "{t}");
        }
        for t in [
            "all good",
            "Error:KeeperErrorCode = NodeExists",
            "errors=0",
            "",
        ] {
            assert!(!text_features(t).is_error_signature, "{t}");
        }
    }

    #[test]
    fn status_from_fields() {
        let cfg = ParseConfig::default();
        let ev = parse_line(r#"{"msg":"x","status":404}"#, &cfg);
        let f = extract_features(&ev);
        assert_eq!(f.http_status, Some(404));
        assert_eq!(f.status_class, Some(4));
        let ev = parse_line(r#"{"msg":"x","status":"weird"}"#, &cfg);
        assert_eq!(extract_features(&ev).http_status, None);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]
        #[test]
        fn features_never_panic(line in crate::fuzzing::strategies::log_line()) {
            let ev = parse_line(&line, &ParseConfig::default());
            let f = extract_features(&ev);
            for r in [f.memory_pressure, f.cpu_pressure].into_iter().flatten() {
                proptest::prop_assert!((0.0..=1.0).contains(&r));
            }
            let _ = text_features(&line);
        }
    }
}
