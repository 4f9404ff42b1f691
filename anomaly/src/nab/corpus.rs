//! Loading a NAB corpus from disk (https://github.com/numenta/NAB).
//!
//! Accepts NAB's own layout (`data/`, `labels/combined_windows.json`,
//! `config/profiles.json`) and a flat copy (`data/`, `windows.json`,
//! `profiles.json`). The corpus is every file named in the windows file, in
//! its (sorted) order: NAB lists every data file there, with `[]` when a file
//! has no anomaly.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{parse_profiles, parse_windows, CostMatrix, NabError, Window};
use crate::series_csv::{is_header, parse_row};

/// One labelled series.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Path relative to `data/`, as in the windows file.
    pub name: String,
    pub timestamps: Vec<i64>,
    pub values: Vec<f64>,
    pub windows: Vec<Window>,
}

/// The series and the scoring profiles of a NAB folder.
#[derive(Debug, Clone)]
pub struct Corpus {
    pub series: Vec<Series>,
    pub profiles: BTreeMap<String, CostMatrix>,
}

impl Corpus {
    /// Number of labelled windows over all series (NAB's `tpCount`).
    pub fn window_count(&self) -> usize {
        self.series.iter().map(|s| s.windows.len()).sum()
    }
}

fn read(path: &Path) -> Result<String, NabError> {
    std::fs::read_to_string(path).map_err(|source| NabError::Io {
        path: path.to_owned(),
        source,
    })
}

fn first_existing(dir: &Path, candidates: &[&str]) -> PathBuf {
    candidates
        .iter()
        .map(|c| dir.join(c))
        .find(|p| p.exists())
        .unwrap_or_else(|| dir.join(candidates[0]))
}

/// Load the corpus under `dir`. Any unreadable row is an error: a benchmark
/// must score exactly the labelled data.
pub fn load_corpus(dir: &Path) -> Result<Corpus, NabError> {
    let windows_path = first_existing(dir, &["windows.json", "labels/combined_windows.json"]);
    let profiles_path = first_existing(dir, &["profiles.json", "config/profiles.json"]);
    let windows = parse_windows(&read(&windows_path)?)?;
    let profiles = parse_profiles(&read(&profiles_path)?)?;
    let mut series = Vec::with_capacity(windows.len());
    for (name, windows) in windows {
        let path = dir.join("data").join(&name);
        let (timestamps, values) = parse_series(&path, &read(&path)?)?;
        series.push(Series {
            name,
            timestamps,
            values,
            windows,
        });
    }
    Ok(Corpus { series, profiles })
}

type Columns = (Vec<i64>, Vec<f64>);

fn parse_series(path: &Path, text: &str) -> Result<Columns, NabError> {
    let row_error = |line: usize, message: String| NabError::Row {
        path: path.to_owned(),
        line,
        message,
    };
    let mut lines = text.lines().enumerate();
    match lines.next() {
        Some((_, h)) if is_header(h) => {}
        _ => return Err(row_error(1, "expected the header timestamp,value".into())),
    }
    let (mut timestamps, mut values) = (Vec::new(), Vec::new());
    for (i, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let row = parse_row(line).map_err(|e| row_error(i + 1, e.to_string()))?;
        timestamps.push(row.timestamp_ms);
        values.push(row.value);
    }
    Ok((timestamps, values))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_series_and_reports_bad_lines() {
        let p = Path::new("x.csv");
        let (t, v) = parse_series(
            p,
            "timestamp,value\n2014-04-01 00:00:00,1.5\n\n2014-04-01 00:05:00,2\n",
        )
        .unwrap();
        assert_eq!(t, vec![1_396_310_400_000, 1_396_310_700_000]);
        assert_eq!(v, vec![1.5, 2.0]);
        let e = parse_series(p, "timestamp,value\n2014-04-01 00:00:00,1\nbroken\n").unwrap_err();
        assert!(e.to_string().starts_with("x.csv:3:"), "{e}");
        assert!(parse_series(p, "2014-04-01 00:00:00,1\n").is_err());
        assert!(parse_series(p, "").is_err());
    }
}
