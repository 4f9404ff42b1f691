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
//! older, more specific template and id. Streaming: reads blocks of whole
//! lines and writes through a buffer, memory is bounded by the miner's
//! cluster cap.
//!
//! With several threads ([`mine_parallel`]), pieces of blocks are parsed,
//! masked and hashed on a pool of workers (the part of the work that does not
//! depend on the clusters), and one miner adds them in input order, so the
//! output is byte for byte the one of the single-threaded [`mine`].
//! Invalid UTF-8 is replaced (lossy); trailing `\r` is dropped.

use std::borrow::Cow;
use std::io::{BufWriter, ErrorKind, Read, Write};
use std::path::Path;
use std::sync::mpsc::sync_channel;
use std::sync::Arc;

use logparse::{parse_line, MatchResult, ParseConfig, TemplateMiner};

mod block;
mod ordered;

use block::Block;
use ordered::OrderedMiner;

/// Bytes per block of lines handed to the workers: large enough that
/// handing over costs little per line, small enough to keep a few MiB in
/// flight.
pub const BLOCK_BYTES: usize = 1 << 20;

/// Bytes per block of lines read by the single-threaded [`mine`]: whole
/// blocks are cheaper to split and validate than line by line, and a small
/// one stays in the cache while it is mined.
const SEQUENTIAL_BLOCK_BYTES: usize = 1 << 16;

/// Mine `input` and write one `line_number\ttemplate_id\ttemplate` line per
/// input line to `out`, on the calling thread. Returns the number of lines
/// read.
pub fn mine<R: Read, W: Write>(mut input: R, out: W) -> std::io::Result<u64> {
    let cfg = parse_config();
    let mut miner = TemplateMiner::default();
    let mut out = BufWriter::with_capacity(1 << 16, out);
    let mut block = Block::default();
    let mut n = 0u64;
    loop {
        block.read(&mut input, SEQUENTIAL_BLOCK_BYTES)?;
        if block.is_empty() {
            break;
        }
        for line in block.lines(0..block.end) {
            n += 1;
            let ev = parse_line(&line, &cfg);
            write_row(&mut out, n, &miner.add(&ev.message))?;
        }
    }
    out.flush()?;
    Ok(n)
}

/// [`mine`] with `threads` workers parsing and masking blocks of about
/// `block_bytes` bytes of lines, and mining them in input order. The same
/// output as `mine`.
///
/// There is no mining thread: a worker that finishes a piece hands it in
/// and, if no other worker is mining, mines every piece that is next in
/// line. So the cores are never shared with a third busy thread, and a
/// piece is mostly mined on the core that prepared it, its data still in
/// that core's cache.
pub fn mine_parallel<R: Read + Send, W: Write + Send>(
    mut input: R,
    out: W,
    threads: usize,
    block_bytes: usize,
) -> std::io::Result<u64> {
    let threads = threads.max(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("templates-{i}"))
        .build()
        .map_err(std::io::Error::other)?;
    // Several pieces per worker, so one slow piece does not idle the others.
    let pieces_per_block = threads * 4;
    let ordered = OrderedMiner::new(BufWriter::with_capacity(1 << 16, out), 2 * pieces_per_block);
    // Three blocks: one being read, two being prepared. A block comes back
    // when the last of its pieces is prepared.
    let (free_tx, free_rx) = sync_channel::<Block>(BLOCKS_IN_FLIGHT);
    for _ in 0..BLOCKS_IN_FLIGHT {
        free_tx
            .send(Block::default())
            .expect("room for every block");
    }
    let mut handed_out = 0u64;
    let read = pool.in_place_scope(|s| -> std::io::Result<()> {
        let mut block = free_rx.recv().expect("a free block");
        block.read(&mut input, block_bytes)?;
        while !block.is_empty() && !ordered.failed() {
            let mut next = free_rx.recv().expect("blocks come back once prepared");
            block.move_tail(&mut next);
            let pieces = block.pieces(pieces_per_block);
            let shared = Arc::new(block);
            for piece in pieces {
                let (block, ordered, free_tx) = (shared.clone(), &ordered, free_tx.clone());
                let seq = handed_out;
                handed_out += 1;
                s.spawn(move |_| {
                    let batch = block.prepare(piece, ordered.spare());
                    if let Some(done) = Arc::into_inner(block) {
                        // Never blocks: the channel has room for every block.
                        let _ = free_tx.send(done);
                    }
                    ordered.hand_in(seq, batch);
                });
            }
            // Whoever lets go of the block last (a worker or this thread)
            // gives it back.
            if let Some(done) = Arc::into_inner(shared) {
                let _ = free_tx.send(done);
            }
            // Read while the workers prepare.
            next.read(&mut input, block_bytes)?;
            block = next;
        }
        Ok(())
    });
    ordered.finish(handed_out, read)
}

/// Blocks in use at once by [`mine_parallel`].
const BLOCKS_IN_FLIGHT: usize = 3;

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

/// [`mine`] on one thread, else [`mine_parallel`], to stdout.
fn mine_on<R: Read + Send>(input: R, threads: usize) -> std::io::Result<u64> {
    if threads == 1 {
        mine(input, std::io::stdout().lock())
    } else {
        // The workers write: `Stdout` (its lock cannot move between threads).
        mine_parallel(input, std::io::stdout(), threads, BLOCK_BYTES)
    }
}

/// `cloudsage templates FILE` (`-` = stdin), printing to stdout, with
/// `threads` workers (0: one per core; 1: all on this thread).
pub fn run(file: &Path, threads: usize) -> anyhow::Result<()> {
    let threads = match threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    let res = if file == Path::new("-") {
        // `Stdin` (not its lock) can be read on another thread.
        mine_on(std::io::stdin(), threads)
    } else {
        let f = std::fs::File::open(file)
            .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", file.display()))?;
        mine_on(f, threads)
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

    /// The output as the module docs define it, line by line, without
    /// blocks or threads: what both `mine` and `mine_parallel` must give.
    fn line_by_line(input: &[u8]) -> (u64, Vec<u8>) {
        let cfg = super::parse_config();
        let mut miner = logparse::TemplateMiner::default();
        let mut out = Vec::new();
        let mut n = 0;
        for line in input.split_inclusive(|&b| b == b'\n') {
            n += 1;
            let line = String::from_utf8_lossy(line);
            let m = miner.add(&logparse::parse_line(&line, &cfg).message);
            out.extend_from_slice(format!("{n}\t{}\t{}\n", m.template_id, m.template).as_bytes());
        }
        (n, out)
    }

    /// The bundled sample (many services and formats) twice, followed by
    /// lines that are not UTF-8, empty, or without a final newline.
    fn sample_input() -> Vec<u8> {
        let sample = include_bytes!("../../deploy/sample/sample.log");
        let mut input = Vec::new();
        for _ in 0..2 {
            input.extend_from_slice(sample);
        }
        input.extend_from_slice(b"\n\r\nbad \xff\xfe bytes 12\nlast line 7 without newline");
        input
    }

    /// The single-threaded miner reads blocks (several of them here: the
    /// sample is bigger than one) and writes the line-by-line output.
    #[test]
    fn sequential_output_is_the_line_by_line_output() {
        let input = sample_input();
        assert!(input.len() > 2 * super::SEQUENTIAL_BLOCK_BYTES);
        let (lines, expected) = line_by_line(&input);
        let mut got = Vec::new();
        assert_eq!(super::mine(&input[..], &mut got).unwrap(), lines);
        assert!(got == expected, "output differs from the line-by-line one");
        let mut empty = Vec::new();
        assert_eq!(super::mine(&b""[..], &mut empty).unwrap(), 0);
        assert!(empty.is_empty());
    }

    /// Every thread count and block size gives the same output, byte for
    /// byte.
    #[test]
    fn parallel_output_is_the_sequential_output() {
        let input = sample_input();
        let (lines, expected) = line_by_line(&input);
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
