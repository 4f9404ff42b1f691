//! The tokenizer of [`crate::mask::mask_tokens`] on x86_64: whitespace and
//! byte-class bitmaps built 16 bytes per step with SSE2, then walked token by
//! token with `trailing_zeros`.
//!
//! It yields exactly what the scalar `ScanTokens` of `mask.rs` yields:
//! `(start, end, hint)` for each run of non-whitespace bytes of `b[..n]`,
//! the hint being `HINT_NUMBER` (2) for a token of only digits and
//! `.,:_-/` with a digit, else `HINT_MAYBE` (1) if it holds a digit, `/`,
//! `:` or `@`, else `HINT_LITERAL` (0). The scalar loop does one table load
//! and one branch per byte, and its exit (the token end) is a mispredicted
//! branch per token; here 16 bytes cost one load, 14 vector operations and
//! 4 `movemask`s, and a token's start and end are one `trailing_zeros` each
//! (one branch per token end is left, and it is predictable: does the token
//! run into the next 64 bytes).
//!
//! The bitmaps are built one 64-bit word (64 bytes) at a time, as the walk
//! reaches it, so there is no length bound and no buffer to clear.
use core::arch::x86_64::{
    __m128i, _mm_add_epi8, _mm_cmpeq_epi8, _mm_cmpgt_epi8, _mm_loadu_si128, _mm_movemask_epi8,
    _mm_or_si128, _mm_set1_epi8,
};

/// One bit per byte of a 64-byte block of the message.
#[derive(Clone, Copy, Default)]
struct Block {
    /// ASCII whitespace (` \t\n\r\x0b\x0c`), and every byte at or past `n`.
    ws: u64,
    /// A digit, `/`, `:` or `@`.
    var: u64,
    /// A digit.
    digit: u64,
    /// Neither a digit nor one of `.,:_-/` (non-ASCII bytes included).
    notnum: u64,
}

/// The four masks of 16 bytes: (ws, var, digit, notnum), one bit per byte.
#[inline(always)]
fn classify16(c: &[u8; 16]) -> (u32, u32, u32, u32) {
    // SAFETY: the intrinsics need SSE2, which every x86_64 CPU has (this
    // module is only built for x86_64, whose baseline includes SSE2); the
    // one load reads the 16 bytes of `c` (`_mm_loadu_si128` has no alignment
    // requirement).
    unsafe {
        let v = _mm_loadu_si128(c.as_ptr().cast::<__m128i>());
        // Bytes of `v` in `lo..=hi` (unsigned, `hi - lo < 255`): moved so
        // that `lo` is -128 (`v + 0x80 - lo`, wrapping), they are the signed
        // bytes below `-128 + (hi - lo) + 1`: two operations, one compare.
        let in_range = |lo: u8, hi: u8| {
            let t = _mm_add_epi8(v, _mm_set1_epi8(0x80u8.wrapping_sub(lo) as i8));
            _mm_cmpgt_epi8(_mm_set1_epi8((hi - lo) as i8 - 127), t)
        };
        let eq = |x: u8| _mm_cmpeq_epi8(v, _mm_set1_epi8(x as i8));
        // `\t` 0x09 ..= `\r` 0x0d (with 0x0b, 0x0c), and ` `.
        let ws = _mm_or_si128(in_range(0x09, 0x0d), eq(b' '));
        // `/` 0x2f, `0`..=`9`, `:` 0x3a are adjacent.
        let var = _mm_or_si128(in_range(b'/', b':'), eq(b'@'));
        let digit = in_range(b'0', b'9');
        // So are `,` 0x2c `-` `.` `/` `0`..=`9` `:` 0x3a; `_` is apart.
        let num = _mm_or_si128(in_range(b',', b':'), eq(b'_'));
        (
            _mm_movemask_epi8(ws) as u32,
            _mm_movemask_epi8(var) as u32,
            _mm_movemask_epi8(digit) as u32,
            !(_mm_movemask_epi8(num) as u32) & 0xffff,
        )
    }
}

/// The bitmaps of 64 bytes.
#[inline(always)]
fn classify64(c: &[u8; 64]) -> Block {
    let mut out = Block::default();
    for (k, c) in c.chunks_exact(16).enumerate() {
        let (ws, var, digit, notnum) = classify16(c.try_into().unwrap());
        let sh = 16 * k as u32;
        out.ws |= (ws as u64) << sh;
        out.var |= (var as u64) << sh;
        out.digit |= (digit as u64) << sh;
        out.notnum |= (notnum as u64) << sh;
    }
    out
}

/// The bitmaps of `b[base..base + 64]`, the bytes at or past `n` as
/// whitespace (their `var` and `digit` bits clear; `notnum` may be set, and
/// the walk never reads the classes of whitespace). `base < n <= b.len()`.
#[inline(always)]
fn block(b: &[u8], base: usize, n: usize) -> Block {
    if let Some(c) = b[..n].get(base..base + 64) {
        return classify64(c.try_into().unwrap());
    }
    let have = n - base; // 1..=63
    let mut out = if n >= 64 {
        // The last 64 bytes of `b[..n]`, shifted down to start at `base`
        // (the shift clears the classes above `have`).
        let s = 64 - have;
        let k = classify64(b[n - 64..n].try_into().unwrap());
        Block {
            ws: k.ws >> s,
            var: k.var >> s,
            digit: k.digit >> s,
            notnum: k.notnum >> s,
        }
    } else {
        // A message shorter than 64 bytes: copy it into a buffer padded
        // with spaces (whitespace, no other class but `notnum`, which the
        // walk never reads at whitespace).
        let mut buf = [b' '; 64];
        buf[..have].copy_from_slice(&b[base..n]);
        classify64(&buf)
    };
    out.ws |= u64::MAX << have;
    out
}

/// The tokens `(start, end, hint)` of `b[..n]`, see the module
/// documentation. `n <= b.len()`.
pub(crate) struct SimdTokens<'a> {
    b: &'a [u8],
    n: usize,
    /// Start of the current block (a multiple of 64).
    base: usize,
    /// The walk's position, `base <= i <= base + 64`.
    i: usize,
    cur: Block,
}

impl<'a> SimdTokens<'a> {
    #[inline]
    pub(crate) fn new(b: &'a [u8], n: usize) -> Self {
        debug_assert!(n <= b.len());
        let cur = if n > 0 {
            block(b, 0, n)
        } else {
            Block::default()
        };
        SimdTokens {
            b,
            n,
            base: 0,
            i: 0,
            cur,
        }
    }

    /// Move to the next block; false past the end.
    #[inline]
    fn advance(&mut self) -> bool {
        self.base += 64;
        self.i = self.base;
        if self.base >= self.n {
            self.i = self.n;
            return false;
        }
        self.cur = block(self.b, self.base, self.n);
        true
    }
}

impl Iterator for SimdTokens<'_> {
    type Item = (usize, usize, u8);

    #[inline]
    fn next(&mut self) -> Option<(usize, usize, u8)> {
        if self.i >= self.n {
            return None;
        }
        // The token's start: the next non-whitespace bit. `off < 64`: the
        // walk stops inside a block, at whitespace, unless it reached `n`.
        loop {
            let off = (self.i - self.base) as u32;
            let rest = !self.cur.ws >> off;
            if rest != 0 {
                self.i += rest.trailing_zeros() as usize;
                break;
            }
            if !self.advance() {
                return None;
            }
        }
        let start = self.i;
        // Its end: the next whitespace bit (bits past `n` are whitespace),
        // perhaps in a later block. The classes of its bytes, masked to it.
        let (mut var, mut digit, mut notnum) = (0u64, 0u64, 0u64);
        loop {
            // `off < 64`. `m`: the bytes from `off` up to the first
            // whitespace at or after it (none when that is `off` itself,
            // after a move to the next block).
            let off = (self.i - self.base) as u32;
            let from = u64::MAX << off;
            let ws = self.cur.ws & from;
            let m = from & !ws & ws.wrapping_sub(1);
            var |= self.cur.var & m;
            digit |= self.cur.digit & m;
            notnum |= self.cur.notnum & m;
            if ws != 0 {
                self.i = self.base + ws.trailing_zeros() as usize;
                break;
            }
            self.i = self.base + 64;
            if self.i >= self.n {
                break;
            }
            // The token runs into the next block.
            self.advance();
        }
        let hint = (var != 0) as u8 + (digit != 0 && notnum == 0) as u8;
        Some((start, self.i, hint))
    }
}
