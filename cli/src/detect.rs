//! `cloudsage detect --csv FILE [--out FILE] [--strict]`: run the streaming
//! anomaly detector ([`anomaly::Detector`], default configuration) over one
//! metric series.
//!
//! Input: NAB's CSV format (https://github.com/numenta/NAB): the header
//! `timestamp,value`, then one `timestamp,value` row per point, timestamps like
//! `2014-04-01 00:00:00` (UTC; a `T`, fractions and a `Z` or offset are also
//! read). `-` reads stdin.
//!
//! Output (stdout or `--out`): the header `timestamp,value,anomaly_score,detected`
//! and one row per accepted input row, in input order: the timestamp and value
//! as written, the score in `[0, 1]` with 6 decimals, `detected` as `1`/`0`.
//! Each row is decided before the next is read (streaming; memory is bounded).
//!
//! Bad input rule:
//! * a missing or different header fails at once (exit status 1): the file is
//!   not a series;
//! * a bad data row (wrong field count, unreadable timestamp, a value that is
//!   not a finite number) is reported on stderr as `line N: reason` and
//!   skipped (not written, not learnt); processing continues, because one
//!   corrupt sample should not hide the rest of a series. With `--strict` the
//!   first bad row fails the command instead. Either way the exit status is 1
//!   if any row was skipped, so scripts notice;
//! * a row whose timestamp is older than an earlier row is written with score
//!   0 and `detected` 0, and a warning on stderr (the detector does not learn
//!   late points, see [`anomaly::Detector`]);
//! * blank lines are ignored.

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;

use anomaly::series_csv::{is_header, parse_row, HEADER};
use anomaly::Detector;

/// What a run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Rows written.
    pub rows: u64,
    /// Rows with `detected` = 1.
    pub detections: u64,
    /// Bad rows skipped.
    pub skipped: u64,
    /// Rows older than an earlier row (written, scored 0).
    pub late: u64,
}

/// Stream `input` through a fresh default detector into `out`, reporting bad
/// rows on `errors`. Fails on I/O errors, a bad header, or (with `strict`) the
/// first bad row.
pub fn detect<R: BufRead, W: Write, E: Write>(
    input: R,
    out: W,
    errors: &mut E,
    strict: bool,
) -> anyhow::Result<Summary> {
    let mut out = BufWriter::with_capacity(1 << 16, out);
    let mut detector = Detector::default();
    let mut summary = Summary::default();
    let mut newest: Option<i64> = None;
    let mut header_seen = false;
    for (index, line) in input.lines().enumerate() {
        let line_no = index + 1;
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        if !header_seen {
            if !is_header(&line) {
                anyhow::bail!("line {line_no}: expected the header {HEADER:?}, found {line:?}");
            }
            writeln!(out, "timestamp,value,anomaly_score,detected")?;
            header_seen = true;
            continue;
        }
        let row = match parse_row(&line) {
            Ok(row) => row,
            Err(e) if strict => anyhow::bail!("line {line_no}: {e}"),
            Err(e) => {
                writeln!(errors, "line {line_no}: {e}; row skipped")?;
                summary.skipped += 1;
                continue;
            }
        };
        if newest.is_some_and(|n| row.timestamp_ms < n) {
            writeln!(
                errors,
                "line {line_no}: timestamp {} is older than an earlier row; scored 0, not learnt",
                row.timestamp
            )?;
            summary.late += 1;
        }
        newest = Some(newest.map_or(row.timestamp_ms, |n| n.max(row.timestamp_ms)));
        let obs = detector.observe(row.timestamp_ms, row.value);
        writeln!(
            out,
            "{},{},{:.6},{}",
            row.timestamp,
            row.value_text,
            obs.score,
            u8::from(obs.detected)
        )?;
        summary.rows += 1;
        summary.detections += u64::from(obs.detected);
    }
    if !header_seen {
        anyhow::bail!("empty input: expected the header {HEADER:?}");
    }
    out.flush()?;
    Ok(summary)
}

/// The command: `csv` (or `-` for stdin) to `out` (or stdout). Prints a
/// one-line summary on stderr; fails if any row was skipped.
pub fn run(csv: &Path, out: Option<&Path>, strict: bool) -> anyhow::Result<()> {
    let input: Box<dyn BufRead> = if csv == Path::new("-") {
        Box::new(BufReader::new(std::io::stdin().lock()))
    } else {
        let f = std::fs::File::open(csv).map_err(|e| anyhow::anyhow!("{}: {e}", csv.display()))?;
        Box::new(BufReader::new(f))
    };
    let output: Box<dyn Write> = match out {
        Some(p) => {
            Box::new(std::fs::File::create(p).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?)
        }
        None => Box::new(std::io::stdout().lock()),
    };
    let mut stderr = std::io::stderr().lock();
    let s = detect(input, output, &mut stderr, strict)?;
    writeln!(
        stderr,
        "detect: {} rows, {} detections, {} late, {} skipped",
        s.rows, s.detections, s.late, s.skipped
    )?;
    if s.skipped > 0 {
        anyhow::bail!("{} bad rows skipped (see the messages above)", s.skipped);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(n: usize, spike_at: usize) -> String {
        let mut s = String::from("timestamp,value\n");
        for i in 0..n {
            let v = 10.0 + (i as f64 * 0.2).sin() + if i == spike_at { 50.0 } else { 0.0 };
            let (h, m) = (i / 12, (i % 12) * 5);
            s.push_str(&format!(
                "2014-04-{:02} {:02}:{m:02}:00,{v}\n",
                1 + h / 24,
                h % 24
            ));
        }
        s
    }

    fn run_on(input: &str, strict: bool) -> (anyhow::Result<Summary>, String, String) {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let r = detect(input.as_bytes(), &mut out, &mut err, strict);
        (
            r,
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    #[test]
    fn writes_one_row_per_input_row_and_detects_a_spike() {
        let (r, out, err) = run_on(&series(1000, 800), false);
        let s = r.unwrap();
        assert_eq!(err, "");
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "timestamp,value,anomaly_score,detected");
        assert_eq!(lines.len(), 1001);
        assert_eq!(s.rows, 1000);
        for l in &lines[1..] {
            let f: Vec<&str> = l.split(',').collect();
            assert_eq!(f.len(), 4);
            let score: f64 = f[2].parse().unwrap();
            assert!((0.0..=1.0).contains(&score));
            assert!(f[3] == "0" || f[3] == "1");
        }
        assert!(lines[1].starts_with("2014-04-01 00:00:00,10,"));
        assert!(lines[801].ends_with(",1"), "{}", lines[801]);
        assert!(s.detections >= 1);
    }

    #[test]
    fn bad_rows_are_reported_with_line_numbers_and_skipped() {
        let input = "timestamp,value\n2014-04-01 00:00:00,1\nnot a row\n\n2014-04-01 00:10:00,abc\n2014-04-01 00:15:00,2\n";
        let (r, out, err) = run_on(input, false);
        let s = r.unwrap();
        assert_eq!((s.rows, s.skipped), (2, 2));
        assert_eq!(out.lines().count(), 3);
        let msgs: Vec<&str> = err.lines().collect();
        assert_eq!(msgs.len(), 2, "{err}");
        assert!(msgs[0].starts_with("line 3: expected 2 comma-separated fields"));
        assert!(msgs[1].starts_with("line 5: value \"abc\""));
    }

    #[test]
    fn strict_fails_at_the_first_bad_row() {
        let input = "timestamp,value\n2014-04-01 00:00:00,1\n2014-04-01 00:05:00,NaN\n";
        let e = run_on(input, true).0.unwrap_err();
        assert!(e.to_string().starts_with("line 3: value \"NaN\""), "{e}");
    }

    #[test]
    fn header_is_required() {
        let e = run_on("2014-04-01 00:00:00,1\n", false).0.unwrap_err();
        assert!(
            e.to_string().starts_with("line 1: expected the header"),
            "{e}"
        );
        assert!(run_on("", false).0.is_err());
        assert!(run_on("\n\n", false).0.is_err());
    }

    #[test]
    fn late_rows_are_written_with_a_warning() {
        let input = "timestamp,value\n2014-04-01 00:10:00,1\n2014-04-01 00:05:00,2\n2014-04-01 00:15:00,3\n";
        let (r, out, err) = run_on(input, false);
        let s = r.unwrap();
        assert_eq!((s.rows, s.late, s.skipped), (3, 1, 0));
        assert!(
            err.starts_with("line 3: timestamp 2014-04-01 00:05:00 is older"),
            "{err}"
        );
        assert_eq!(out.lines().nth(2), Some("2014-04-01 00:05:00,2,0.000000,0"));
    }
}
