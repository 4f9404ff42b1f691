//! Variable masking: decides, token by token, which parts of a log message
//! are variables (`<*>`) before the template miner searches its tree.
//!
//! The rules are generic (no per-source regexes) and run as a single byte
//! scan per token, without allocation:
//!
//! * a token is split into `lead punctuation`, `core`, `trail punctuation`
//!   (`([{"'` in front, `)]}"',;:.!?` behind); the punctuation is kept around
//!   the `<*>` so `[10.0.0.1]` becomes `[<*>]`;
//! * cores containing a digit are variables: numbers, IPv4/IPv6 (with port),
//!   hex (`0x1f`, `deadbeef12`), UUIDs, versions, dates, times, sizes...
//!   with two refinements that keep the constant part of the token:
//!   `key=12` / `key:12` becomes `key=<*>` / `key:<*>` (the key being an
//!   identifier without digits or dots), and `blk_-123` / `attempt_1_2`
//!   (a letters-only prefix followed by `_`) becomes `blk_<*>`;
//! * cores without digits are variables when they are paths (`/x`, `./x`,
//!   `~/x`, `C:\x`), URLs (`scheme://`), e-mail addresses, or long hex runs
//!   (16+ hex letters);
//! * a unit word (`ms`, `s`, `sec`, `KB`, `MiB`, `bytes`, `%`, ...) right
//!   after a numeric token is part of that variable (`350 ms` -> `<*>`);
//! * a run of consecutive variables collapses into one `<*>`, so that
//!   `18846 bytes (18.4 KB) received` and `426 bytes received` share a
//!   template (`<*> received`).

/// How one token of a message appears in a template.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    /// Kept verbatim.
    Literal,
    /// `prefix <*> suffix`: the first `prefix` and last `suffix` bytes of the
    /// token are kept, the middle is a variable. `prefix == suffix == 0` is
    /// the plain wildcard `<*>`.
    Variable { prefix: u16, suffix: u16 },
}

/// One token of a masked message: a byte range of the original message and
/// how it is rendered in a template.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MaskedToken {
    /// Byte offset of the token in the message.
    pub start: u32,
    /// Byte offset one past the token's end.
    pub end: u32,
    /// Literal or variable.
    pub kind: TokenKind,
}

impl MaskedToken {
    /// True for the plain wildcard `<*>` (no kept punctuation).
    #[inline]
    pub fn is_wildcard(&self) -> bool {
        matches!(
            self.kind,
            TokenKind::Variable {
                prefix: 0,
                suffix: 0
            }
        )
    }

    /// Append the template form of this token (taken from `msg`) to `out`.
    pub fn render(&self, msg: &str, out: &mut String) {
        let s = &msg[self.start as usize..self.end as usize];
        match self.kind {
            TokenKind::Literal => out.push_str(s),
            TokenKind::Variable { prefix, suffix } => {
                out.push_str(&s[..prefix as usize]);
                out.push_str(WILDCARD);
                out.push_str(&s[s.len() - suffix as usize..]);
            }
        }
    }
}

/// The wildcard placed in templates.
pub const WILDCARD: &str = "<*>";

/// Result of classifying a single token in isolation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenClass {
    /// Literal or variable.
    pub kind: TokenKind,
    /// The core is a number (possibly with separators, sign, `<`/`>`/`~`
    /// prefix or `%` suffix): a following unit word is absorbed into it.
    pub numeric: bool,
}

#[inline]
const fn is_lead_punct(b: u8) -> bool {
    matches!(b, b'(' | b'[' | b'{' | b'"' | b'\'')
}

#[inline]
const fn is_trail_punct(b: u8) -> bool {
    matches!(
        b,
        b')' | b']' | b'}' | b'"' | b'\'' | b',' | b';' | b':' | b'.' | b'!' | b'?'
    )
}

/// Split a token into (lead, core, trail) lengths. The core is never empty
/// unless the token is made only of punctuation (then lead = len, core = 0).
#[inline]
fn split_punct(t: &[u8]) -> (usize, usize, usize) {
    // `CLASS` bits instead of the `matches!` of `is_lead_punct` /
    // `is_trail_punct`: one load and test per byte.
    let mut a = 0;
    while a < t.len() && CLASS[t[a] as usize] & C_LEAD != 0 {
        a += 1;
    }
    let mut b = t.len();
    while b > a && CLASS[t[b - 1] as usize] & C_TRAIL != 0 {
        b -= 1;
    }
    if a == b {
        return (t.len(), 0, 0);
    }
    (a, b - a, t.len() - b)
}

#[inline]
fn is_numeric_core(c: &[u8]) -> bool {
    let mut i = 0;
    while i < c.len() && matches!(c[i], b'<' | b'>' | b'~' | b'+' | b'-' | b'=') {
        i += 1;
    }
    let mut end = c.len();
    if end > i && c[end - 1] == b'%' {
        end -= 1;
    }
    if i >= end {
        return false;
    }
    let mut digits = false;
    for &b in &c[i..end] {
        match b {
            b'0'..=b'9' => digits = true,
            b'.' | b',' | b':' | b'_' | b'-' | b'/' => {}
            _ => return false,
        }
    }
    digits
}

#[inline]
fn is_ident_key(k: &[u8], allow_dots: bool) -> bool {
    if k.is_empty() || k.len() > 64 || !k[0].is_ascii_alphabetic() && k[0] != b'_' {
        return false;
    }
    k.iter()
        .all(|&b| b.is_ascii_alphabetic() || b == b'_' || b == b'-' || (allow_dots && b == b'.'))
}

/// Index of the first `=` or `:` of `c`, which holds one. Eight bytes per
/// step (`memchr::memchr2` was tried: +0.44 M instructions over the 32 000
/// Loghub lines of `mine_throughput`, its dispatch on these short tokens).
#[inline]
fn find_sep(c: &[u8]) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // The lowest flagged byte of `zero(v)` is exact: borrows only flag
    // bytes above it.
    let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    let mut i = 0;
    while i + 8 <= c.len() {
        let v = u64::from_le_bytes(c[i..i + 8].try_into().expect("8 bytes"));
        let m = zero(v ^ (b'=' as u64 * ONES)) | zero(v ^ (b':' as u64 * ONES));
        if m != 0 {
            return i + (m.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < c.len() && c[i] != b'=' && c[i] != b':' {
        i += 1;
    }
    i
}

fn looks_like_path(c: &[u8]) -> bool {
    match c {
        [b'/', x, ..] if *x != b'/' || c.len() > 2 => true,
        [b'.', b'/', ..] | [b'~', b'/', ..] | [b'.', b'.', b'/', ..] => true,
        [d, b':', b'\\', ..] if d.is_ascii_alphabetic() => true,
        _ => false,
    }
}

fn contains(h: &[u8], n: &[u8]) -> bool {
    h.len() >= n.len() && h.windows(n.len()).any(|w| w == n)
}

fn looks_like_email(c: &[u8]) -> bool {
    match c.iter().position(|&b| b == b'@') {
        Some(at) if at > 0 => {
            let dom = &c[at + 1..];
            dom.len() >= 3
                && dom.contains(&b'.')
                && dom
                    .iter()
                    .all(|&b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        }
        _ => false,
    }
}

const C_DIGIT: u16 = 1;
const C_HEX: u16 = 2; // a-f A-F
const C_ALPHA: u16 = 4; // other ASCII letters
const C_OTHER: u16 = 8; // anything else
const C_AT: u16 = 16;
const C_COLON: u16 = 32;
const C_SLASH: u16 = 64;
const C_SEP: u16 = 128; // '=' or ':'
const C_UNDERSCORE: u16 = 256;
const C_LEAD: u16 = 512; // `is_lead_punct`
const C_TRAIL: u16 = 1024; // `is_trail_punct`

/// Byte class table for [`classify_token`].
static CLASS: [u16; 256] = {
    let mut t = [C_OTHER; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        t[i] = match c {
            b'0'..=b'9' => C_DIGIT,
            b'a'..=b'f' | b'A'..=b'F' => C_HEX,
            b'g'..=b'z' | b'G'..=b'Z' => C_ALPHA,
            b'@' => C_OTHER | C_AT,
            b':' => C_OTHER | C_COLON | C_SEP,
            b'=' => C_OTHER | C_SEP,
            b'/' => C_OTHER | C_SLASH,
            b'_' => C_OTHER | C_UNDERSCORE,
            _ => C_OTHER,
        } | if is_lead_punct(c) { C_LEAD } else { 0 }
            | if is_trail_punct(c) { C_TRAIL } else { 0 };
        i += 1;
    }
    t
};

/// Classify one whitespace-free token.
pub fn classify_token(tok: &str) -> TokenClass {
    let t = tok.as_bytes();
    let literal = TokenClass {
        kind: TokenKind::Literal,
        numeric: false,
    };
    let (lead, core_len, trail) = split_punct(t);
    if core_len == 0 {
        return literal;
    }
    let core = &t[lead..lead + core_len];
    let var = |p: usize, s: usize| TokenKind::Variable {
        prefix: p.min(u16::MAX as usize) as u16,
        suffix: s.min(u16::MAX as usize) as u16,
    };
    let whole = TokenClass {
        kind: var(lead, trail),
        numeric: false,
    };

    // One branch-free pass, two bytes per step: which byte classes does the
    // core hold?
    let mut acc = 0u16;
    let pairs = core.chunks_exact(2);
    if let [c] = pairs.remainder() {
        acc = CLASS[*c as usize];
    }
    for p in pairs {
        acc |= CLASS[p[0] as usize] | CLASS[p[1] as usize];
    }
    let digit = acc & C_DIGIT != 0;
    let letter = acc & (C_HEX | C_ALPHA) != 0;
    let non_hex_letter = acc & C_ALPHA != 0;
    let other = acc & C_OTHER != 0;
    let at = acc & C_AT != 0;
    let colon = acc & C_COLON != 0;
    let slash = acc & C_SLASH != 0;
    let url = colon && slash && contains(core, b"://");
    if digit {
        if !letter && is_numeric_core(core) {
            return TokenClass {
                kind: var(lead, trail),
                numeric: true,
            };
        }
        if url || (at && looks_like_email(core)) {
            return whole;
        }
        // key=value / key:value with an identifier key.
        // The key must start with a letter or `_` (`is_ident_key`): without
        // one no need to find the separator. With one, it is found eight
        // bytes per step (`C_SEP`: the core holds one).
        let sep = if acc & C_SEP != 0 && (core[0].is_ascii_alphabetic() || core[0] == b'_') {
            Some(find_sep(core))
        } else {
            None
        };
        if let Some(p) = sep {
            let allow_dots = core[p] == b'=';
            let rest = &core[p + 1..];
            if is_ident_key(&core[..p], allow_dots) && rest.iter().any(u8::is_ascii_digit) {
                return TokenClass {
                    kind: var(lead + p + 1, trail),
                    numeric: false,
                };
            }
        }
        // letters_ prefix: blk_-123, attempt_1_2, rdd_4_5.
        // The first `_` with only letters before it is the first byte that
        // is not a letter: scan the letters, then look at that byte.
        let underscore = if acc & C_UNDERSCORE != 0 {
            let p = core
                .iter()
                .position(|c| !c.is_ascii_alphabetic())
                .unwrap_or(core.len());
            (p < core.len() && core[p] == b'_').then_some(p)
        } else {
            None
        };
        if let Some(p) = underscore {
            if p > 0 && p + 1 < core.len() && (core[p + 1].is_ascii_digit() || core[p + 1] == b'-')
            {
                return TokenClass {
                    kind: var(lead + p + 1, trail),
                    numeric: false,
                };
            }
        }
        return whole;
    }
    if (slash && looks_like_path(core))
        || (core.len() > 2 && core[1] == b':' && looks_like_path(core))
        || url
        || (at && looks_like_email(core))
        || (core.len() >= 16 && !other && !non_hex_letter)
    {
        return whole;
    }
    literal
}

/// [`classify_token`] of a token of 16+ bytes without a digit, `/`, `:` or
/// `@` ([`HINT_LITERAL`]). No rule of `classify_token` can fire on it but
/// the last: a core of 16+ bytes, all hex letters (`a-f`, `A-F`), is a
/// variable. So it needs its punctuation split and a scan of its core that
/// stops at the first byte that is not a hex letter, not the class pass.
#[inline(never)]
fn long_literal_hint_class(t: &[u8]) -> TokenClass {
    let literal = TokenClass {
        kind: TokenKind::Literal,
        numeric: false,
    };
    let (lead, core_len, trail) = split_punct(t);
    if core_len >= 16
        && t[lead..lead + core_len]
            .iter()
            .all(|&c| CLASS[c as usize] == C_HEX)
    {
        return TokenClass {
            kind: TokenKind::Variable {
                prefix: lead.min(u16::MAX as usize) as u16,
                suffix: trail.min(u16::MAX as usize) as u16,
            },
            numeric: false,
        };
    }
    literal
}

/// [`classify_token`] of a token made only of digits and `.,:_-/` with at
/// least one digit (`10.0.0.1:80,`, `-12`, `2017-12-23`): no lead
/// punctuation, the trailing `.,:` are kept, the rest is a number (its
/// leading `-` are the sign, every other byte is a digit or a separator).
#[inline]
fn numeric_word(t: &[u8]) -> TokenClass {
    let mut b = t.len();
    while matches!(t[b - 1], b'.' | b',' | b':') {
        b -= 1;
    }
    TokenClass {
        kind: TokenKind::Variable {
            prefix: 0,
            suffix: (t.len() - b).min(u16::MAX as usize) as u16,
        },
        numeric: true,
    }
}

/// Unit words absorbed by a preceding number. Returns the length of the
/// trailing punctuation to keep, or `None` if `tok` is not a unit. (A new
/// unit's first byte goes into [`UNIT_FIRST`] too.)
pub fn unit_suffix(tok: &str) -> Option<usize> {
    let t = tok.as_bytes();
    let mut end = t.len();
    while end > 0 && is_trail_punct(t[end - 1]) {
        end -= 1;
    }
    let w = &tok[..end];
    let is_unit = matches!(
        w,
        "ns" | "us"
            | "µs"
            | "ms"
            | "s"
            | "sec"
            | "secs"
            | "second"
            | "seconds"
            | "min"
            | "mins"
            | "minute"
            | "minutes"
            | "h"
            | "hr"
            | "hrs"
            | "hour"
            | "hours"
            | "millis"
            | "milliseconds"
            | "B"
            | "KB"
            | "kB"
            | "MB"
            | "GB"
            | "TB"
            | "KiB"
            | "MiB"
            | "GiB"
            | "TiB"
            | "bytes"
            | "byte"
            | "%"
    );
    is_unit.then_some(t.len() - end)
}

/// The first bytes of the unit words of [`unit_suffix`] (`µ` is 0xC2 0xB5).
static UNIT_FIRST: [bool; 256] = {
    let mut t = [false; 256];
    let firsts = b"numshBKkMGTb%\xc2";
    let mut i = 0;
    while i < firsts.len() {
        t[firsts[i] as usize] = true;
        i += 1;
    }
    t
};

// The tokenizer of `mask_tokens` on targets other than x86_64, and the
// reference of `token_scan::SimdTokens` in the tests.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
const S_WS: u8 = 1;
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
const S_VAR: u8 = 2; // digit, '/', ':', '@'
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
const S_DIGIT: u8 = 4;
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
const S_NOTNUM: u8 = 8; // not a digit or one of `.,:_-/`

/// Byte table for the tokenizer of [`mask_tokens`].
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
static SCAN: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        t[i] = match c {
            b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c => S_WS,
            b'0'..=b'9' => S_VAR | S_DIGIT,
            b'/' | b':' => S_VAR,
            b'@' => S_VAR | S_NOTNUM,
            b'.' | b',' | b'_' | b'-' => 0,
            _ => S_NOTNUM,
        };
        i += 1;
    }
    t
};

#[inline]
fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// Tokenize `msg` on ASCII whitespace and mask variables, appending the
/// tokens to `out` (cleared first). At most `max_tokens` tokens are produced;
/// the remainder of an over-long message becomes one final `<*>`.
pub fn mask_tokens(msg: &str, max_tokens: usize, out: &mut Vec<MaskedToken>) {
    let b = msg.as_bytes();
    let n = b.len().min(u32::MAX as usize);
    // The same spans either way: bitmaps built 16 bytes per step on x86_64
    // (SSE2 is part of its baseline), one table lookup per byte elsewhere.
    #[cfg(target_arch = "x86_64")]
    let spans = crate::token_scan::SimdTokens::new(b, n);
    #[cfg(not(target_arch = "x86_64"))]
    let spans = ScanTokens { b, i: 0, n };
    mask_spans(msg, n, spans, max_tokens, out);
}

/// [`mask_tokens`] over the words already split by [`split_words`] (which
/// returned `true` for `msg`).
pub(crate) fn mask_words(msg: &str, words: &[Word], max_tokens: usize, out: &mut Vec<MaskedToken>) {
    let spans = words.iter().map(|w| {
        // Without branches: a digit sets W_VAR too, so a number is
        // HINT_MAYBE + 1 = HINT_NUMBER.
        let hint = (w.bits & W_VAR != 0) as u8
            + (w.bits & (W_LETTERS | W_NOTNUM | W_DIGIT) == W_DIGIT) as u8;
        (w.start as usize, w.end as usize, hint)
    });
    mask_spans(msg, msg.len(), spans, max_tokens, out);
}

/// Span hint of [`mask_spans`]: no digit, `/`, `:` or `@` (a literal unless
/// 16 bytes or longer).
const HINT_LITERAL: u8 = 0;
/// Span hint: holds a digit, `/`, `:` or `@` (classify it).
const HINT_MAYBE: u8 = 1;
/// Span hint: only digits and `.,:_-/`, at least one digit: a numeric
/// variable without lead punctuation (see [`numeric_word`]).
const HINT_NUMBER: u8 = 2;
// `mask_words` adds the two flags.
const _: () = assert!(HINT_LITERAL == 0 && HINT_MAYBE == 1 && HINT_NUMBER == 2);

/// The tokenizer of [`mask_tokens`]: (start, end, hint), the hint as
/// [`mask_words`] gives it: [`HINT_NUMBER`] for a token of only digits and
/// `.,:_-/` with a digit, else [`HINT_MAYBE`] if it holds a digit, `/`, `:`
/// or `@`, else [`HINT_LITERAL`]. One table lookup per byte ([`SCAN`]).
/// On x86_64 `mask_tokens` uses `token_scan::SimdTokens` (the same spans
/// and hints, tested against this), so this is other targets' tokenizer.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
struct ScanTokens<'a> {
    b: &'a [u8],
    i: usize,
    n: usize,
}

impl Iterator for ScanTokens<'_> {
    type Item = (usize, usize, u8);

    #[inline]
    fn next(&mut self) -> Option<(usize, usize, u8)> {
        let (b, n) = (self.b, self.n);
        let mut i = self.i;
        while i < n && is_ws(b[i]) {
            i += 1;
        }
        if i >= n {
            self.i = i;
            return None;
        }
        let start = i;
        // One table lookup per byte finds the token's end and the classes
        // of its bytes.
        let mut acc = 0u8;
        while i < n {
            let t = SCAN[b[i] as usize];
            if t & S_WS != 0 {
                break;
            }
            acc |= t;
            i += 1;
        }
        self.i = i;
        // Without branches: a digit sets S_VAR too, so a number is
        // HINT_MAYBE + 1 = HINT_NUMBER.
        let hint = (acc & S_VAR != 0) as u8 + (acc & (S_DIGIT | S_NOTNUM) == S_DIGIT) as u8;
        Some((start, i, hint))
    }
}

/// One whitespace-separated word of a message, split once by
/// [`split_words`] and shared by the feature scan and the masker.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Word {
    pub start: u32,
    pub end: u32,
    /// The word's letters (bit 0 = `a`, any case, [`W_LETTERS`]) and
    /// [`W_VAR`] if it holds a digit, `/`, `:` or `@`.
    pub bits: u32,
}

/// The words of one message.
pub(crate) type Words = smallvec::SmallVec<[Word; 32]>;

/// Where [`split_words`] puts the words: a `Vec` (the miner's reused
/// buffer) or [`Words`] (on the stack).
pub(crate) trait WordSink {
    fn clear(&mut self);
    fn push(&mut self, w: Word);
}

impl WordSink for Vec<Word> {
    #[inline]
    fn clear(&mut self) {
        Vec::clear(self);
    }
    #[inline]
    fn push(&mut self, w: Word) {
        Vec::push(self, w);
    }
}

impl WordSink for Words {
    #[inline]
    fn clear(&mut self) {
        smallvec::SmallVec::clear(self);
    }
    #[inline]
    fn push(&mut self, w: Word) {
        smallvec::SmallVec::push(self, w);
    }
}

/// Letter bits of [`Word::bits`].
pub(crate) const W_LETTERS: u32 = (1 << 26) - 1;
/// [`Word::bits`]: a digit, `/`, `:` or `@` (see [`mask_tokens`]).
pub(crate) const W_VAR: u32 = 1 << 26;
/// A vertical tab: whitespace for the masker, not for the feature scan.
const W_VT: u32 = 1 << 27;
/// [`Word::bits`]: an ASCII digit.
const W_DIGIT: u32 = 1 << 28;
/// [`Word::bits`]: a byte that is neither a letter, a digit nor one of
/// `.,:_-/` (so the word is not a plain number, see [`numeric_word`]).
const W_NOTNUM: u32 = 1 << 29;
/// Whitespace for both (`str::split_ascii_whitespace`).
const W_WS: u32 = 1 << 31;

/// Byte table of [`split_words`].
static WORD_TABLE: [u32; 256] = {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        t[i] = match c {
            b'a'..=b'z' => 1 << (c - b'a'),
            b'A'..=b'Z' => 1 << (c - b'A'),
            b'0'..=b'9' => W_VAR | W_DIGIT,
            b'/' | b':' => W_VAR,
            b'@' => W_VAR | W_NOTNUM,
            b'.' | b',' | b'_' | b'-' => 0,
            b' ' | b'\t' | b'\n' | b'\r' | 0x0c => W_WS,
            0x0b => W_VT | W_NOTNUM,
            _ => W_NOTNUM,
        };
        i += 1;
    }
    t
};

/// Split `msg` on ASCII whitespace into `out` (cleared first), one table
/// lookup per byte. Returns `false` when the words cannot be shared between
/// the feature scan and the masker: the message holds a vertical tab (the
/// two disagree on it) or is longer than `u32::MAX` bytes.
pub(crate) fn split_words<V: WordSink>(msg: &str, out: &mut V) -> bool {
    out.clear();
    let b = msg.as_bytes();
    let n = b.len();
    if n > u32::MAX as usize {
        return false;
    }
    let mut all = 0u32;
    let mut i = 0;
    loop {
        while i < n && WORD_TABLE[b[i] as usize] == W_WS {
            i += 1;
        }
        if i >= n {
            break;
        }
        let start = i;
        let mut acc = 0u32;
        // Two bytes per step (W_WS is the sign bit), then the odd last one.
        while i + 1 < n {
            let (t0, t1) = (WORD_TABLE[b[i] as usize], WORD_TABLE[b[i + 1] as usize]);
            if ((t0 | t1) as i32) < 0 {
                break;
            }
            acc |= t0 | t1;
            i += 2;
        }
        while i < n {
            let t = WORD_TABLE[b[i] as usize];
            if (t as i32) < 0 {
                break;
            }
            acc |= t;
            i += 1;
        }
        all |= acc;
        out.push(Word {
            start: start as u32,
            end: i as u32,
            bits: acc,
        });
        // The word ended at whitespace (or the end): step over that byte.
        i += 1;
    }
    all & W_VT == 0
}

/// The masking loop of [`mask_tokens`] over the token spans of `msg[..n]`.
#[inline]
fn mask_spans(
    msg: &str,
    n: usize,
    spans: impl Iterator<Item = (usize, usize, u8)>,
    max_tokens: usize,
    out: &mut Vec<MaskedToken>,
) {
    out.clear();
    let b = msg.as_bytes();
    let max_tokens = max_tokens.max(1);
    // The previous token is a numeric variable (may absorb a unit word or
    // join a following numeric variable).
    let mut prev_numeric = false;
    // The previous token is a keyed variable (`blk_<*>`): its kept prefix.
    let mut prev_key: Option<(usize, usize)> = None;
    // The previous token is a joinable (not keyed, not bracketed) variable.
    let mut prev_var = false;
    for (start, end, hint) in spans {
        // The `&str` of the token only where a rule needs it: the slice
        // checks both ends for a char boundary, and most tokens are decided
        // from their span hint alone.
        let tok = || &msg[start..end];
        if prev_numeric && UNIT_FIRST[b[start] as usize] && unit_suffix(tok()).is_some() {
            // `350 ms`: extend the previous variable over the unit word.
            if let Some(last) = out.last_mut() {
                last.end = end as u32;
                last.kind = PLAIN_VAR;
            }
            continue;
        }
        // Without a digit, `/`, `:` or `@`, a token shorter than 16 bytes is
        // a literal (no rule of `classify_token` can fire): skip the
        // classification.
        let class = if hint == HINT_NUMBER {
            numeric_word(&b[start..end])
        } else if hint == HINT_LITERAL && end - start < 16 {
            TokenClass {
                kind: TokenKind::Literal,
                numeric: false,
            }
        } else if hint == HINT_LITERAL {
            long_literal_hint_class(&b[start..end])
        } else {
            classify_token(tok())
        };
        let TokenKind::Variable { prefix, suffix } = class.kind else {
            prev_numeric = false;
            prev_key = None;
            prev_var = false;
            if out.len() + 1 >= max_tokens && rest_nonempty(b, end, n) {
                push(out, start, n, PLAIN_VAR);
                return;
            }
            push(out, start, end, TokenKind::Literal);
            continue;
        };
        let keyed = b[start..start + prefix as usize]
            .iter()
            .any(|&c| !is_lead_punct(c));
        // A bracketed variable (`[10.0.0.1]`, `(42)`) is a field of its own.
        let enclosed = prefix >= 1
            && suffix >= 1
            && matches!(
                (b[start], b[end - 1]),
                (b'[', b']') | (b'(', b')') | (b'{', b'}')
            );
        if (prev_numeric && class.numeric) || (prev_var && !keyed && !enclosed) {
            // A run of variables (`14 0 4`, `1.2.3.4: 11:`, `host1:80 SOCKS5`,
            // `403 bytes (0.4 KB)`) is one variable.
            if let Some(last) = out.last_mut() {
                last.end = end as u32;
                last.kind = PLAIN_VAR;
            }
            prev_numeric = prev_numeric && class.numeric;
            continue;
        }
        if let Some((ks, kl)) = prev_key {
            // A repeated keyed variable (`blk_1 blk_2 blk_3`) is one variable.
            let last_suffix = match out.last().map(|t| t.kind) {
                Some(TokenKind::Variable { suffix, .. }) => suffix,
                _ => 0,
            };
            if keyed && prefix as usize == kl && b[ks..ks + kl] == b[start..start + kl] {
                if let Some(last) = out.last_mut() {
                    last.end = end as u32;
                    let suffix = if suffix == last_suffix { suffix } else { 0 };
                    last.kind = TokenKind::Variable { prefix, suffix };
                }
                continue;
            }
        }
        prev_numeric = class.numeric;
        prev_key = keyed.then_some((start, prefix as usize));
        prev_var = !keyed && !enclosed;
        if out.len() + 1 >= max_tokens && rest_nonempty(b, end, n) {
            push(out, start, n, PLAIN_VAR);
            return;
        }
        push(out, start, end, class.kind);
    }
}

#[inline]
fn push(out: &mut Vec<MaskedToken>, start: usize, end: usize, kind: TokenKind) {
    out.push(MaskedToken {
        start: start as u32,
        end: end as u32,
        kind,
    });
}

const PLAIN_VAR: TokenKind = TokenKind::Variable {
    prefix: 0,
    suffix: 0,
};

#[inline]
fn rest_nonempty(b: &[u8], from: usize, n: usize) -> bool {
    b[from..n].iter().any(|&c| !is_ws(c))
}

/// Convenience: the masked template form of a whole message
/// (`"took 35 ms from 10.0.0.1"` -> `"took <*> from <*>"`). Allocates; the
/// miner uses [`mask_tokens`] with a reused buffer instead.
pub fn mask_line(msg: &str) -> String {
    let mut toks = Vec::new();
    mask_tokens(msg, usize::MAX, &mut toks);
    render_tokens(msg, &toks)
}

/// The template text of the masked tokens of `msg`, space-separated.
pub(crate) fn render_tokens(msg: &str, toks: &[MaskedToken]) -> String {
    let mut out = String::with_capacity(msg.len());
    for (i, t) in toks.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        t.render(msg, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_ips_hex_uuid() {
        assert_eq!(
            mask_line("PacketResponder 1 for block"),
            "PacketResponder <*> for block"
        );
        assert_eq!(mask_line("from 10.251.73.220:50010 ok"), "from <*> ok");
        assert_eq!(mask_line("addr fe80::1ff:fe23:4567:890a up"), "addr <*> up");
        assert_eq!(mask_line("at [::1]:8080 up"), "at [<*> up");
        assert_eq!(mask_line("zxid 0x1f3a ok"), "zxid <*> ok");
        assert_eq!(
            mask_line("req 123e4567-e89b-12d3-a456-426614174000 done"),
            "req <*> done"
        );
        assert_eq!(mask_line("hash deadbeefcafebabe ok"), "hash <*> ok");
    }

    #[test]
    fn punctuation_is_kept() {
        assert_eq!(
            mask_line("getaddrinfo for x [173.234.31.186] failed"),
            "getaddrinfo for x [<*>] failed"
        );
        assert_eq!(mask_line("from 1.2.3.4: 11: Bye"), "from <*> Bye");
        assert_eq!(mask_line("size 3, ok"), "size <*>, ok");
    }

    #[test]
    fn key_value_and_prefixed_ids() {
        assert_eq!(
            mask_line("logname= uid=0 euid=0 tty=ssh"),
            "logname= uid=<*> euid=<*> tty=ssh"
        );
        assert_eq!(
            mask_line("block blk_-6952295868487656571 end"),
            "block blk_<*> end"
        );
        assert_eq!(
            mask_line("for appattempt_1445144423722_0020_000001"),
            "for appattempt_<*>"
        );
        assert_eq!(
            mask_line("onExtend:1514038530000 14 0 4"),
            "onExtend:<*> <*>"
        );
        // A host name with a port is one variable, not key:value.
        assert_eq!(mask_line("www.google.com:443 open"), "<*> open");
    }

    #[test]
    fn paths_urls_emails() {
        assert_eq!(mask_line("file /etc/httpd/conf ok"), "file <*> ok");
        assert_eq!(mask_line("see http://wiki.apache.org/x now"), "see <*> now");
        assert_eq!(mask_line("mail bob@example.com sent"), "mail <*> sent");
        assert_eq!(mask_line("dir ./logs/app x"), "dir <*> x");
        assert_eq!(mask_line("a / b"), "a / b");
    }

    #[test]
    fn units_and_collapse() {
        assert_eq!(mask_line("took 350 ms total"), "took <*> total");
        assert_eq!(mask_line("took 350ms total"), "took <*> total");
        assert_eq!(
            mask_line("proxy.cse.cuhk.edu.hk:5070 close, 0 bytes sent, 18846 bytes (18.4 KB) received, lifetime <1 sec"),
            "<*> close, <*> sent, <*> received, lifetime <*>"
        );
        assert_eq!(
            mask_line("proxy.cse.cuhk.edu.hk:5070 close, 403 bytes sent, 426 bytes received, lifetime 00:01"),
            "<*> close, <*> sent, <*> received, lifetime <*>"
        );
    }

    #[test]
    fn literals_stay() {
        assert_eq!(
            mask_line("Error:KeeperErrorCode = NodeExists"),
            "Error:KeeperErrorCode = NodeExists"
        );
        assert_eq!(mask_line(""), "");
        assert_eq!(mask_line("   "), "");
        assert_eq!(mask_line("( ) [ ]"), "( ) [ ]");
    }

    #[test]
    fn repeated_keyed_variables_collapse() {
        assert_eq!(mask_line("delete blk_1 blk_-2 blk_3"), "delete blk_<*>");
        assert_eq!(
            mask_line("for ns.example.com [1.2.3.4] failed"),
            "for ns.example.com [<*>] failed"
        );
        assert_eq!(
            mask_line("for ns1.example.com [1.2.3.4] failed"),
            "for <*> [<*>] failed"
        );
    }

    #[test]
    fn numeric_word_equals_classify_token() {
        // Every token of 1..=4 bytes over digits and `.,:_-/` (and longer
        // samples): where split_words hints a number, the shortcut agrees.
        const ALPHABET: &[u8] = b"09.,:_-/";
        let mut toks: Vec<String> = vec![
            "10.251.73.220:50010".into(),
            "2017-12-23,".into(),
            "--5:::".into(),
            "1_2_3.".into(),
            "/1/".into(),
        ];
        for len in 1..=4u32 {
            for mut k in 0..ALPHABET.len().pow(len) {
                let mut t = String::new();
                for _ in 0..len {
                    t.push(ALPHABET[k % ALPHABET.len()] as char);
                    k /= ALPHABET.len();
                }
                toks.push(t);
            }
        }
        let mut words = Vec::new();
        for t in toks {
            assert!(split_words(&t, &mut words));
            let w = words[0];
            let hinted = w.bits & (W_LETTERS | W_NOTNUM | W_DIGIT) == W_DIGIT;
            assert_eq!(hinted, t.bytes().any(|c| c.is_ascii_digit()), "{t}");
            if hinted {
                assert_eq!(numeric_word(t.as_bytes()), classify_token(&t), "{t}");
            }
        }
    }

    #[test]
    fn unit_words_start_with_a_unit_first_byte() {
        for u in [
            "ns",
            "us",
            "µs",
            "ms",
            "s",
            "sec",
            "secs",
            "second",
            "seconds",
            "min",
            "mins",
            "minute",
            "minutes",
            "h",
            "hr",
            "hrs",
            "hour",
            "hours",
            "millis",
            "milliseconds",
            "B",
            "KB",
            "kB",
            "MB",
            "GB",
            "TB",
            "KiB",
            "MiB",
            "GiB",
            "TiB",
            "bytes",
            "byte",
            "%",
        ] {
            assert!(unit_suffix(u).is_some(), "{u}");
            assert!(UNIT_FIRST[u.as_bytes()[0] as usize], "{u}");
        }
        for c in 0..=255u8 {
            if !UNIT_FIRST[c as usize] {
                let mut t = vec![c];
                t.extend_from_slice(b"s.");
                if let Ok(t) = std::str::from_utf8(&t) {
                    assert_eq!(unit_suffix(t), None, "{t}");
                }
            }
        }
    }

    /// The byte-at-a-time form of [`ScanTokens`]: split on [`is_ws`], the
    /// hint from each byte's class.
    fn scan_bytes(msg: &str) -> Vec<(usize, usize, u8)> {
        let b = msg.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            if is_ws(b[i]) {
                i += 1;
                continue;
            }
            let start = i;
            while i < b.len() && !is_ws(b[i]) {
                i += 1;
            }
            let t = &b[start..i];
            let var = t
                .iter()
                .any(|c| c.is_ascii_digit() || matches!(c, b'/' | b':' | b'@'));
            let number = t.iter().any(u8::is_ascii_digit)
                && t.iter()
                    .all(|c| c.is_ascii_digit() || b".,:_-/".contains(c));
            out.push((start, i, var as u8 + number as u8));
        }
        out
    }

    /// Every byte class of the scan, with the bytes next to each class's
    /// ends and non-ASCII bytes.
    const SCAN_ALPHABET: &[u8] = b" \t\n\r\x0b\x0c\x08\x0e\x1f!09/:;@?A_^`.,-++aZz\x7f";

    fn scan_sample(bytes: &[u8]) -> String {
        String::from_utf8_lossy(bytes).into_owned()
    }

    fn scan(msg: &str) -> Vec<(usize, usize, u8)> {
        ScanTokens {
            b: msg.as_bytes(),
            i: 0,
            n: msg.len(),
        }
        .collect()
    }

    #[test]
    fn scan_tokens_equals_byte_scan() {
        // Every ASCII byte alone and next to a digit, a letter and a space
        // (each entry of the table).
        for c in 0..128u8 {
            let c = c as char;
            for msg in [
                format!("{c}"),
                format!("1{c}"),
                format!("{c}2 "),
                format!("x{c}3"),
            ] {
                assert_eq!(scan(&msg), scan_bytes(&msg), "{msg:?}");
            }
        }
        // Every string of up to 3 bytes over the alphabet (and `é`, two
        // bytes), at several offsets of a longer text and at the message end.
        let mut alphabet: Vec<char> = SCAN_ALPHABET.iter().map(|&c| c as char).collect();
        alphabet.push('é');
        // `skip(1)`: not the empty word.
        for word in crate::every_word::every_word(&alphabet, 3).skip(1) {
            let t: String = word.into_iter().collect();
            for pad in 0..9 {
                for msg in [
                    format!("{}{t}", "x".repeat(pad)),
                    format!("{}{t}", " ".repeat(pad)),
                    format!("{}{t}ab1", "7".repeat(pad)),
                    format!("{t}{}", "y".repeat(pad)),
                ] {
                    assert_eq!(scan(&msg), scan_bytes(&msg), "{msg:?}");
                }
            }
        }
    }

    /// `split_punct` before round 10 (`matches!` tests instead of `CLASS`
    /// bits).
    fn split_punct_round9(t: &[u8]) -> (usize, usize, usize) {
        let mut a = 0;
        while a < t.len() && is_lead_punct(t[a]) {
            a += 1;
        }
        let mut b = t.len();
        while b > a && is_trail_punct(t[b - 1]) {
            b -= 1;
        }
        if a == b {
            return (t.len(), 0, 0);
        }
        (a, b - a, t.len() - b)
    }

    /// `classify_token` before round 10: `position` scans for the key
    /// separator and the `_`, `split_punct_round9`.
    fn classify_token_round9(tok: &str) -> TokenClass {
        let t = tok.as_bytes();
        let literal = TokenClass {
            kind: TokenKind::Literal,
            numeric: false,
        };
        let (lead, core_len, trail) = split_punct_round9(t);
        if core_len == 0 {
            return literal;
        }
        let core = &t[lead..lead + core_len];
        let var = |p: usize, s: usize| TokenKind::Variable {
            prefix: p.min(u16::MAX as usize) as u16,
            suffix: s.min(u16::MAX as usize) as u16,
        };
        let whole = TokenClass {
            kind: var(lead, trail),
            numeric: false,
        };

        // One branch-free pass, two bytes per step: which byte classes does the
        // core hold?
        let mut acc = 0u16;
        let pairs = core.chunks_exact(2);
        if let [c] = pairs.remainder() {
            acc = CLASS[*c as usize];
        }
        for p in pairs {
            acc |= CLASS[p[0] as usize] | CLASS[p[1] as usize];
        }
        let digit = acc & C_DIGIT != 0;
        let letter = acc & (C_HEX | C_ALPHA) != 0;
        let non_hex_letter = acc & C_ALPHA != 0;
        let other = acc & C_OTHER != 0;
        let at = acc & C_AT != 0;
        let colon = acc & C_COLON != 0;
        let slash = acc & C_SLASH != 0;
        let url = colon && slash && contains(core, b"://");
        if digit {
            if !letter && is_numeric_core(core) {
                return TokenClass {
                    kind: var(lead, trail),
                    numeric: true,
                };
            }
            if url || (at && looks_like_email(core)) {
                return whole;
            }
            // key=value / key:value with an identifier key.
            let sep = if acc & C_SEP != 0 {
                core.iter().position(|&c| c == b'=' || c == b':')
            } else {
                None
            };
            if let Some(p) = sep {
                let allow_dots = core[p] == b'=';
                let rest = &core[p + 1..];
                if is_ident_key(&core[..p], allow_dots) && rest.iter().any(u8::is_ascii_digit) {
                    return TokenClass {
                        kind: var(lead + p + 1, trail),
                        numeric: false,
                    };
                }
            }
            // letters_ prefix: blk_-123, attempt_1_2, rdd_4_5.
            let underscore = if acc & C_UNDERSCORE != 0 {
                core.iter().position(|&c| c == b'_')
            } else {
                None
            };
            if let Some(p) = underscore {
                if p > 0
                    && p + 1 < core.len()
                    && core[..p].iter().all(u8::is_ascii_alphabetic)
                    && (core[p + 1].is_ascii_digit() || core[p + 1] == b'-')
                {
                    return TokenClass {
                        kind: var(lead + p + 1, trail),
                        numeric: false,
                    };
                }
            }
            return whole;
        }
        if (slash && looks_like_path(core))
            || (core.len() > 2 && core[1] == b':' && looks_like_path(core))
            || url
            || (at && looks_like_email(core))
            || (core.len() >= 16 && !other && !non_hex_letter)
        {
            return whole;
        }
        literal
    }

    /// The bytes the rules of `classify_token` look at, and their
    /// neighbours.
    const CLASSIFY_ALPHABET: [&str; 22] = [
        "a", "f", "G", "z", "0", "9", "_", "-", "=", ":", ".", "/", "@", "[", "(", ")", "]", "\"",
        "'", ",", "\\", "é",
    ];

    #[test]
    fn classify_token_equals_round9_form() {
        for word in crate::every_word::every_word(&CLASSIFY_ALPHABET, 4) {
            let t = word.concat();
            let forms: Vec<String> = if word.len() <= 3 {
                vec![
                    t.clone(),
                    format!("blk{t}"),
                    format!("key{t}1"),
                    format!("ab.c{t}7"),
                    format!("/x{t}"),
                    format!("(abcdefabcdefabcdef{t}"),
                    format!("{t}0123456789abcdef"),
                ]
            } else {
                vec![t.clone()]
            };
            for f in forms {
                assert_eq!(classify_token(&f), classify_token_round9(&f), "{f:?}");
                let b = f.as_bytes();
                if let Some(p) = b.iter().position(|&c| c == b'=' || c == b':') {
                    assert_eq!(find_sep(b), p, "{f:?}");
                }
            }
        }
    }

    #[test]
    fn long_literal_hint_class_equals_classify_token() {
        // Tokens of 16+ bytes without a digit, `/`, `:` or `@`: a run of
        // hex letters with one byte replaced, lead and trail punctuation.
        let bytes = [
            "a", "F", "g", "Z", "_", "-", ".", "$", "(", ")", "[", "]", "{", "}", "\"", "'", ",",
            ";", "!", "?", "é", "~",
        ];
        for lead in ["", "(", "[\"", "'", "{"] {
            for trail in ["", ".", ")", "\"),", "!?", ";"] {
                for len in [13, 14, 15, 16, 17, 20] {
                    for pos in 0..=len {
                        for x in bytes {
                            let core: String = (0..len)
                                .map(|i| {
                                    if i == pos {
                                        x
                                    } else {
                                        ["a", "B", "c", "F"][i % 4]
                                    }
                                })
                                .collect();
                            let t = format!("{lead}{core}{trail}");
                            if t.len() >= 16 {
                                assert_eq!(
                                    long_literal_hint_class(t.as_bytes()),
                                    classify_token(&t),
                                    "{t:?}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }
    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]
        #[test]
        fn classify_token_equals_round9_form_random(
            t in "[afGz09_\\-=:./@\\[()\\]\"',é]{0,40}"
        ) {
            proptest::prop_assert_eq!(classify_token(&t), classify_token_round9(&t));
        }

        #[test]
        fn long_literal_hint_class_equals_classify_token_random(
            t in "[afAFgGz_\\-.$()\\[\\]{}\"',;!?é]{16,48}"
        ) {
            proptest::prop_assert_eq!(long_literal_hint_class(t.as_bytes()), classify_token(&t));
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]
        #[test]
        fn scan_tokens_equals_byte_scan_random(
            bytes in proptest::collection::vec(proptest::sample::select(SCAN_ALPHABET.to_vec()), 0..40)
        ) {
            let msg = scan_sample(&bytes);
            let got: Vec<_> = ScanTokens { b: msg.as_bytes(), i: 0, n: msg.len() }.collect();
            proptest::prop_assert_eq!(got, scan_bytes(&msg));
        }

        #[test]
        fn mask_tokens_equals_mask_words(s in "[ -~\t\u{b}\u{c}é]{0,60}") {
            // The word split's hints and the scan's agree through the masker.
            let mut a = Vec::new();
            mask_tokens(&s, 64, &mut a);
            let mut words = Vec::new();
            if split_words(&s, &mut words) {
                let mut b = Vec::new();
                mask_words(&s, &words, 64, &mut b);
                proptest::prop_assert_eq!(&a, &b);
            }
            // And every token kind is what `classify_token` gives.
            let spans = scan_bytes(&s).into_iter().map(|(a, b, _)| (a, b, HINT_MAYBE));
            let mut c = Vec::new();
            mask_spans(&s, s.len(), spans, 64, &mut c);
            proptest::prop_assert_eq!(&a, &c);
        }
    }

    /// [`crate::token_scan::SimdTokens`] over `b[..n]`.
    #[cfg(target_arch = "x86_64")]
    fn simd_scan(b: &[u8], n: usize) -> Vec<(usize, usize, u8)> {
        crate::token_scan::SimdTokens::new(b, n).collect()
    }

    /// [`ScanTokens`] over `b[..n]`.
    #[cfg(target_arch = "x86_64")]
    fn table_scan(b: &[u8], n: usize) -> Vec<(usize, usize, u8)> {
        ScanTokens { b, i: 0, n }.collect()
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn simd_tokens_equal_scan_tokens_every_byte_every_position() {
        // Every ASCII byte at every position 0..=70 of messages of 0..=140
        // bytes: every 16-byte lane and the first 64-byte block boundary,
        // tokens ending at, starting at and running across them, and
        // messages ending at every offset of a lane and a block. Two
        // fillers: one long token, and short tokens of every class with
        // runs of whitespace.
        let mixed = b"a1 b/ c:d  e.f@g_h-i,j\tk\r\n7 .,:_-/ x\x0by\x0cz 42 ";
        for filler in [&b"q"[..], &mixed[..]] {
            for len in 0..=140usize {
                let base: Vec<u8> = (0..len).map(|k| filler[k % filler.len()]).collect();
                let msg = std::str::from_utf8(&base).unwrap();
                assert_eq!(simd_scan(&base, len), scan_bytes(msg), "{msg:?}");
                for pos in 0..=70.min(len.saturating_sub(1)) {
                    if len == 0 {
                        break;
                    }
                    for c in 0..128u8 {
                        let mut b = base.clone();
                        b[pos] = c;
                        let got = simd_scan(&b, len);
                        let msg = std::str::from_utf8(&b).unwrap();
                        assert_eq!(got, table_scan(&b, len), "{msg:?}");
                        assert_eq!(got, scan_bytes(msg), "{msg:?}");
                    }
                }
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn simd_tokens_respect_n() {
        // `n` below the slice length: the bytes from `n` on are not read as
        // part of a token (`mask_tokens` passes `min(len, u32::MAX)`).
        let b: Vec<u8> = (0..300u32).map(|k| b"ab1 /x9 "[k as usize % 8]).collect();
        for n in 0..=b.len() {
            assert_eq!(simd_scan(&b, n), table_scan(&b, n), "{n}");
        }
    }

    #[cfg(target_arch = "x86_64")]
    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(1000))]
        #[test]
        fn simd_tokens_equal_scan_tokens_bytes(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..3000),
            cut in 0usize..70,
        ) {
            // Any bytes (non-ASCII included), up to past a few blocks, the
            // whole slice and `n` short of its end.
            let n = bytes.len().saturating_sub(cut);
            proptest::prop_assert_eq!(simd_scan(&bytes, bytes.len()), table_scan(&bytes, bytes.len()));
            proptest::prop_assert_eq!(simd_scan(&bytes, n), table_scan(&bytes, n));
        }

        #[test]
        fn simd_tokens_equal_byte_scan_alphabet(
            bytes in proptest::collection::vec(proptest::sample::select(SCAN_ALPHABET.to_vec()), 0..3000)
        ) {
            let msg = scan_sample(&bytes);
            proptest::prop_assert_eq!(simd_scan(msg.as_bytes(), msg.len()), scan_bytes(&msg));
        }

        #[test]
        fn simd_tokens_equal_byte_scan_strings(s in "[ -~\t\n\r\u{b}\u{c}é€😀]{0,200}|\\PC{0,3000}") {
            proptest::prop_assert_eq!(simd_scan(s.as_bytes(), s.len()), scan_bytes(&s));
            let mut a = Vec::new();
            mask_tokens(&s, 64, &mut a);
            let spans = scan_bytes(&s).into_iter().map(|(a, b, _)| (a, b, HINT_MAYBE));
            let mut c = Vec::new();
            mask_spans(&s, s.len(), spans, 64, &mut c);
            proptest::prop_assert_eq!(&a, &c);
        }
    }

    #[test]
    fn max_tokens_caps_the_tail() {
        let mut v = Vec::new();
        mask_tokens("a b c d e f", 3, &mut v);
        assert_eq!(v.len(), 3);
        assert!(v[2].is_wildcard());
        assert_eq!(v[2].end, 11);
    }
}
