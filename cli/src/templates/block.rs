//! Blocks of whole lines read from the input, cut into pieces for the
//! workers of [`mine_parallel`](super::mine_parallel) (and read one after
//! the other by [`mine`](super::mine)).

use std::borrow::Cow;
use std::io::Read;
use std::ops::Range;

use logparse::{parse_line, MinerConfig, PreparedMessages};

use super::{line_text, parse_config};

/// One block of whole input lines, as read, and what was read after them.
#[derive(Default)]
pub(super) struct Block {
    /// The block's lines (`..end`), then the start of the next block.
    pub(super) bytes: Vec<u8>,
    /// End of the block's last line.
    pub(super) end: usize,
}

impl Block {
    /// Replace the block with the next lines of `input`: the whole lines of
    /// the next `target` bytes, more if its first line is longer (empty when
    /// the input is exhausted). Every line but the input's last ends with
    /// `\n`. Reads go straight into the block, without a `BufReader`
    /// copying everything once more; the bytes after the last whole line
    /// start the next block.
    pub(super) fn read<R: Read>(&mut self, input: &mut R, target: usize) -> std::io::Result<()> {
        let target = target.max(1);
        self.bytes.drain(..self.end);
        self.end = 0;
        // Bytes before this offset hold no `\n` (a line longer than `target`).
        let mut searched = 0;
        let mut at_end = false;
        loop {
            let len = self.bytes.len();
            if len >= target || at_end {
                match memchr::memrchr(b'\n', &self.bytes[searched..]) {
                    Some(i) => {
                        self.end = searched + i + 1;
                        return Ok(());
                    }
                    None if at_end => {
                        self.end = len;
                        return Ok(());
                    }
                    None => searched = len,
                }
            }
            let want = if len < target { target - len } else { target };
            self.bytes.reserve(want);
            let got = input
                .by_ref()
                .take(want as u64)
                .read_to_end(&mut self.bytes)?;
            // `take` stops early only at the end of the input.
            at_end = got < want;
        }
    }

    /// No line left.
    pub(super) fn is_empty(&self) -> bool {
        self.end == 0
    }

    /// Move the bytes read after the block's last line to the start of
    /// `next` (emptied), so `next` can be read while this block is in use.
    pub(super) fn move_tail(&mut self, next: &mut Block) {
        next.bytes.clear();
        next.bytes.extend_from_slice(&self.bytes[self.end..]);
        next.end = 0;
        self.bytes.truncate(self.end);
    }

    /// The block cut into about `count` byte ranges of whole lines.
    pub(super) fn pieces(&self, count: usize) -> Vec<Range<usize>> {
        let len = self.end;
        let step = len.div_ceil(count.max(1)).max(1);
        let mut pieces = Vec::with_capacity(count + 1);
        let mut start = 0;
        while start < len {
            let target = start + step;
            let end = if target >= len {
                len
            } else {
                memchr::memchr(b'\n', &self.bytes[target - 1..]).map_or(len, |i| target + i)
            };
            pieces.push(start..end);
            start = end;
        }
        pieces
    }

    /// Parse, mask and hash the lines of `piece`, as [`mine`](super::mine) does per
    /// line, into `reused` (emptied) or a new batch.
    pub(super) fn prepare(
        &self,
        piece: Range<usize>,
        reused: Option<PreparedMessages>,
    ) -> PreparedMessages {
        let cfg = parse_config();
        let mut batch = match reused {
            Some(mut b) => {
                b.clear();
                b
            }
            None => PreparedMessages::new(&MinerConfig::default()),
        };
        for line in self.lines(piece) {
            batch.push(&parse_line(&line, &cfg).message);
        }
        batch
    }

    /// The lines of `piece` (whole lines of the block), each with its `\n`
    /// if it has one, invalid UTF-8 replaced.
    pub(super) fn lines(&self, piece: Range<usize>) -> impl Iterator<Item = Cow<'_, str>> + '_ {
        let bytes = &self.bytes[piece];
        // One validation of the whole piece: on short lines the per-call cost
        // dominates. A line ends at `\n`, a char boundary, so a valid piece's
        // lines are `&str` slices of it; otherwise each line is checked alone.
        let text = simdutf8::basic::from_utf8(bytes).ok();
        let mut start = 0;
        std::iter::from_fn(move || {
            if start >= bytes.len() {
                return None;
            }
            let end = memchr::memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |i| start + i + 1);
            let line = match text {
                Some(t) => Cow::Borrowed(&t[start..end]),
                None => line_text(&bytes[start..end]),
            };
            start = end;
            Some(line)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Block;

    /// Pieces cover the block in order, each of whole lines.
    #[test]
    fn pieces_are_whole_lines_covering_the_block() {
        for text in [
            "",
            "\n",
            "a",
            "a\nbb\n",
            "a\n\n\nccc\ndddd",
            "x\n".repeat(50).as_str(),
        ] {
            for count in [1, 2, 3, 8, 100] {
                let block = Block {
                    bytes: text.as_bytes().to_vec(),
                    end: text.len(),
                };
                let pieces = block.pieces(count);
                let mut at = 0;
                for p in &pieces {
                    assert_eq!(p.start, at, "{text:?} {count}");
                    assert!(p.end > p.start);
                    assert!(p.end == text.len() || text.as_bytes()[p.end - 1] == b'\n');
                    at = p.end;
                }
                assert_eq!(at, text.len());
            }
        }
    }

    /// Blocks are whole lines, in order, within the target size unless their
    /// first line is longer, covering the input, whatever sizes the reads
    /// return.
    #[test]
    fn blocks_are_whole_lines_covering_the_input() {
        /// Hands out at most `step` bytes per read.
        struct Trickle<'a> {
            rest: &'a [u8],
            step: usize,
        }
        impl std::io::Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let n = buf.len().min(self.step).min(self.rest.len());
                buf[..n].copy_from_slice(&self.rest[..n]);
                self.rest = &self.rest[n..];
                Ok(n)
            }
        }
        let long = "y".repeat(300);
        for text in [
            String::new(),
            "\n".into(),
            "a".into(),
            "a\nbb\n".into(),
            "a\n\n\nccc\ndddd".into(),
            format!("x\n{long}\nz 1\n{long}"),
            "word 42\n".repeat(100),
        ] {
            for (target, step) in [(1, 1), (2, 3), (7, 1000), (64, 5), (10_000, 7)] {
                let mut input = Trickle {
                    rest: text.as_bytes(),
                    step,
                };
                let mut block = Block::default();
                let mut read = Vec::new();
                loop {
                    block.read(&mut input, target).unwrap();
                    if block.is_empty() {
                        break;
                    }
                    let lines = &block.bytes[..block.end];
                    read.extend_from_slice(lines);
                    let last = read.len() == text.len();
                    assert!(last || lines.ends_with(b"\n"), "{text:?} {target}");
                    let first = lines
                        .iter()
                        .position(|&b| b == b'\n')
                        .map_or(lines.len(), |i| i + 1);
                    if first <= target {
                        assert!(lines.len() <= target, "{text:?} {target}");
                    } else {
                        assert!(lines.len() < first + target, "{text:?} {target}");
                    }
                }
                assert_eq!(read, text.as_bytes(), "{target} {step}");
            }
        }
    }
}
