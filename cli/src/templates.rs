//! `cloudsage templates FILE|-`: mine the log templates of a raw log file.
//!
//! Every line goes through [`logparse::parse_line`] (format detection, header
//! stripping) and its message into one default-configured
//! [`logparse::TemplateMiner`]. One output line per input line:
//!
//! ```text
//! line_number<TAB>template_id<TAB>template
//! ```
//!
//! `line_number` counts from 1; `template_id` is 16 hex digits (XXH3-64 of the
//! template text). The template is the one of the line's cluster *as it is
//! after that line was added*: a later line can still generalize the cluster
//! (a token becomes `<*>`), so earlier lines of the same cluster may show an
//! older, more specific template and id. Streaming: reads line by line and
//! writes through a buffer, memory is bounded by the miner's cluster cap.
//!
//! With several threads ([`mine_parallel`]), blocks of lines are parsed,
//! masked and hashed on a pool of workers (the part of the work that does not
//! depend on the clusters) while one miner adds them in input order, so the
//! output is byte for byte the one of the single-threaded [`mine`].
//! Invalid UTF-8 is replaced (lossy); trailing `\r` is dropped.

use std::borrow::Cow;
use std::io::{BufRead, BufReader, BufWriter, ErrorKind, Read, Write};
use std::ops::Range;
use std::path::Path;
use std::sync::mpsc::sync_channel;
use std::sync::Mutex;

use logparse::{
    parse_line, MatchResult, MinerConfig, ParseConfig, PreparedMessages, TemplateMiner,
};
use rayon::prelude::*;

/// Bytes per block of lines handed to the workers: large enough that
/// handing over costs little per line, small enough to keep a few MiB in
/// flight.
pub const BLOCK_BYTES: usize = 1 << 20;

/// Mine `input` and write one `line_number\ttemplate_id\ttemplate` line per
/// input line to `out`, on the calling thread. Returns the number of lines
/// read.
pub fn mine<R: BufRead, W: Write>(mut input: R, out: W) -> std::io::Result<u64> {
    let cfg = parse_config();
    let mut miner = TemplateMiner::default();
    let mut out = BufWriter::with_capacity(1 << 16, out);
    let mut buf = Vec::with_capacity(4096);
    let mut n = 0u64;
    loop {
        buf.clear();
        if input.read_until(b'\n', &mut buf)? == 0 {
            break;
        }
        n += 1;
        let line = line_text(&buf);
        let ev = parse_line(&line, &cfg);
        write_row(&mut out, n, &miner.add(&ev.message))?;
    }
    out.flush()?;
    Ok(n)
}

/// [`mine`] with `threads` workers parsing and masking blocks of about
/// `block_bytes` bytes of lines ahead of the miner. The same output as
/// `mine`.
pub fn mine_parallel<R: BufRead + Send, W: Write>(
    mut input: R,
    out: W,
    threads: usize,
    block_bytes: usize,
) -> std::io::Result<u64> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .thread_name(|i| format!("templates-{i}"))
        .build()
        .map_err(std::io::Error::other)?;
    // Several pieces per worker, so one slow piece does not idle the others.
    let pieces = threads.max(1) * 4;
    let mut miner = TemplateMiner::default();
    let mut out = BufWriter::with_capacity(1 << 16, out);
    let mut n = 0u64;
    // Mined batches go back to the workers: their buffers are reused
    // instead of allocated on one thread and freed on another.
    let spare: Mutex<Vec<PreparedMessages>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        // Two blocks in flight: one being mined, one being prepared.
        let (tx, rx) = sync_channel::<Vec<PreparedMessages>>(1);
        let spare = &spare;
        let reader = scope.spawn(move || -> std::io::Result<()> {
            let mut block = Block::default();
            loop {
                block.read(&mut input, block_bytes.max(1))?;
                if block.bytes.is_empty() {
                    return Ok(());
                }
                let pieces = block.pieces(pieces);
                let prepared: Vec<PreparedMessages> = pool.install(|| {
                    pieces
                        .into_par_iter()
                        .map(|piece| {
                            let reused = spare.lock().ok().and_then(|mut s| s.pop());
                            block.prepare(piece, reused)
                        })
                        .collect()
                });
                if tx.send(prepared).is_err() {
                    // The miner stopped (a write failed); it reports why.
                    return Ok(());
                }
            }
        });
        let mined = (|| -> std::io::Result<()> {
            for batches in rx {
                for batch in &batches {
                    for i in 0..batch.len() {
                        n += 1;
                        write_row(&mut out, n, &miner.add_prepared(batch, i))?;
                    }
                }
                if let Ok(mut s) = spare.lock() {
                    s.extend(batches);
                }
            }
            out.flush()
        })();
        // On a write error `rx` is dropped here, so the reader stops too.
        let read = reader.join().expect("the template reader does not panic");
        mined.and(read)
    })?;
    Ok(n)
}

/// One block of whole input lines, as read.
#[derive(Default)]
struct Block {
    bytes: Vec<u8>,
}

impl Block {
    /// Replace the block with the next lines of `input`: about `target`
    /// bytes, then to the end of the line (empty when the input is
    /// exhausted). Every line but the input's last ends with `\n`, as
    /// `read_until` gives them.
    fn read<R: BufRead>(&mut self, input: &mut R, target: usize) -> std::io::Result<()> {
        self.bytes.clear();
        // Straight into the block's (kept) allocation.
        input
            .by_ref()
            .take(target as u64)
            .read_to_end(&mut self.bytes)?;
        if self.bytes.len() == target && self.bytes.last() != Some(&b'\n') {
            input.read_until(b'\n', &mut self.bytes)?;
        }
        Ok(())
    }

    /// The block cut into about `count` byte ranges of whole lines.
    fn pieces(&self, count: usize) -> Vec<Range<usize>> {
        let len = self.bytes.len();
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

    /// Parse, mask and hash the lines of `piece`, as [`mine`] does per
    /// line, into `reused` (emptied) or a new batch.
    fn prepare(&self, piece: Range<usize>, reused: Option<PreparedMessages>) -> PreparedMessages {
        let cfg = parse_config();
        let mut batch = match reused {
            Some(mut b) => {
                b.clear();
                b
            }
            None => PreparedMessages::new(&MinerConfig::default()),
        };
        let bytes = &self.bytes[piece];
        // One validation of the whole piece: on short lines the per-call cost
        // dominates. A line ends at `\n`, a char boundary, so a valid piece's
        // lines are `&str` slices of it; otherwise each line is checked alone.
        let text = simdutf8::basic::from_utf8(bytes).ok();
        let mut start = 0;
        while start < bytes.len() {
            let end = memchr::memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |i| start + i + 1);
            let line = match text {
                Some(t) => Cow::Borrowed(&t[start..end]),
                None => line_text(&bytes[start..end]),
            };
            batch.push(&parse_line(&line, &cfg).message);
            start = end;
        }
        batch
    }
}

/// How lines are parsed for their templates: up to the message (the
/// severity, which the output does not show, is not looked for in the body).
fn parse_config() -> ParseConfig {
    ParseConfig {
        message_only: true,
        ..ParseConfig::default()
    }
}

/// The line as text, invalid UTF-8 replaced. (A SIMD validation first: on
/// valid text it is much cheaper than the lossy decoder.)
fn line_text(b: &[u8]) -> Cow<'_, str> {
    match simdutf8::basic::from_utf8(b) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(b),
    }
}

/// `n<TAB>template_id<TAB>template<LF>`, without formatting machinery.
fn write_row<W: Write>(out: &mut W, n: u64, m: &MatchResult<'_>) -> std::io::Result<()> {
    out.write_all(itoa::Buffer::new().format(n).as_bytes())?;
    out.write_all(b"\t")?;
    out.write_all(&m.template_id.hex_bytes())?;
    out.write_all(b"\t")?;
    out.write_all(m.template.as_bytes())?;
    out.write_all(b"\n")
}

/// [`mine`] on one thread, else [`mine_parallel`].
fn mine_on<R: Read + Send, W: Write>(input: R, out: W, threads: usize) -> std::io::Result<u64> {
    let input = BufReader::with_capacity(1 << 16, input);
    if threads == 1 {
        mine(input, out)
    } else {
        mine_parallel(input, out, threads, BLOCK_BYTES)
    }
}

/// `cloudsage templates FILE` (`-` = stdin), printing to stdout, with
/// `threads` workers (0: one per core; 1: all on this thread).
pub fn run(file: &Path, threads: usize) -> anyhow::Result<()> {
    let threads = match threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    let stdout = std::io::stdout().lock();
    let res = if file == Path::new("-") {
        // `Stdin` (not its lock) can move to the reader thread.
        mine_on(std::io::stdin(), stdout, threads)
    } else {
        let f = std::fs::File::open(file)
            .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", file.display()))?;
        mine_on(f, stdout, threads)
    };
    match res {
        Ok(_) => Ok(()),
        // `cloudsage templates x.log | head`: stop quietly.
        Err(e) if e.kind() == ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn format_and_shared_ids() {
        let input = "2024-01-02 03:04:05 INFO user 1 logged in\n\
                     2024-01-02 03:04:06 INFO user 2 logged in\r\n\
                     2024-01-02 03:04:07 ERROR disk full\n";
        let mut out = Vec::new();
        assert_eq!(super::mine(input.as_bytes(), &mut out).unwrap(), 3);
        let text = String::from_utf8(out).unwrap();
        let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split('\t').collect()).collect();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0], ["1", rows[0][1], "user <*> logged in"]);
        assert_eq!(rows[1][1], rows[0][1]);
        assert_eq!(rows[2][2], "disk full");
        assert_ne!(rows[2][1], rows[0][1]);
    }

    /// Every thread count and block size gives the single-threaded output,
    /// byte for byte, on the bundled sample (many services and formats)
    /// followed by lines that are not UTF-8, empty, or without a final
    /// newline.
    #[test]
    fn parallel_output_is_the_sequential_output() {
        let sample = include_bytes!("../../deploy/sample/sample.log");
        let mut input = Vec::new();
        for _ in 0..2 {
            input.extend_from_slice(sample);
        }
        input.extend_from_slice(b"\n\r\nbad \xff\xfe bytes 12\nlast line 7 without newline");
        let mut expected = Vec::new();
        let lines = super::mine(&input[..], &mut expected).unwrap();
        for (threads, block) in [(2, 1), (2, 77), (3, 10_000), (4, super::BLOCK_BYTES)] {
            let mut got = Vec::new();
            let n = super::mine_parallel(&input[..], &mut got, threads, block).unwrap();
            assert_eq!(n, lines, "threads {threads} block {block}");
            assert!(
                got == expected,
                "threads {threads} block {block}: output differs from the single-threaded one"
            );
        }
        let mut empty = Vec::new();
        assert_eq!(super::mine_parallel(&b""[..], &mut empty, 2, 8).unwrap(), 0);
        assert!(empty.is_empty());
    }

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
                let block = super::Block {
                    bytes: text.as_bytes().to_vec(),
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

    /// A failing writer ends the run with its error (and the reader stops).
    #[test]
    fn parallel_write_error_is_returned() {
        struct Broken;
        impl std::io::Write for Broken {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let input = "x 1\n".repeat(200_000);
        let err = super::mine_parallel(input.as_bytes(), Broken, 2, 64).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::BrokenPipe);
    }
}
