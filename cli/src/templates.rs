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
//! Invalid UTF-8 is replaced (lossy); trailing `\r` is dropped.

use std::io::{BufRead, BufReader, BufWriter, ErrorKind, Write};
use std::path::Path;

use logparse::{parse_line, ParseConfig, TemplateMiner};

/// Mine `input` and write one `line_number\ttemplate_id\ttemplate` line per
/// input line to `out`. Returns the number of lines read.
pub fn mine<R: BufRead, W: Write>(mut input: R, out: W) -> std::io::Result<u64> {
    let cfg = ParseConfig::default();
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
        let line = String::from_utf8_lossy(&buf);
        let ev = parse_line(&line, &cfg);
        let m = miner.add(&ev.message);
        writeln!(out, "{n}\t{}\t{}", m.template_id, m.template)?;
    }
    out.flush()?;
    Ok(n)
}

/// `cloudsage templates FILE` (`-` = stdin), printing to stdout.
pub fn run(file: &Path) -> anyhow::Result<()> {
    let stdout = std::io::stdout().lock();
    let res = if file == Path::new("-") {
        mine(
            BufReader::with_capacity(1 << 16, std::io::stdin().lock()),
            stdout,
        )
    } else {
        let f = std::fs::File::open(file)
            .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", file.display()))?;
        mine(BufReader::with_capacity(1 << 16, f), stdout)
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
}
