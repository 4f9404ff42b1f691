//! Grouping accuracy of the template miner on the Loghub 2k samples
//! (https://github.com/logpai/loghub).
//!
//! ```text
//! cargo run --release -p logparse --example loghub_accuracy [-- DIR] [--explain]
//!     [--sim X] [--depth N] [--shuffle SEED]
//! ```
//!
//! `DIR` defaults to `../shared/data/loghub` relative to the workspace root.
//! For each data set `<Set>/<Set>_2k.log_structured.csv`, the `Content`
//! column (the message after the header, as in the Drain benchmarks) goes
//! through one fresh `TemplateMiner` with the default configuration — the
//! same for every data set, no per-source tuning or regexes. Lines are
//! grouped by the cluster they ended in (cluster ids survive merges).
//! The last column feeds the raw `<Set>_2k.log` lines through
//! `parse_line` (format detection, header stripping) and mines the parsed
//! message instead of the benchmark's `Content`: what the scorer does.
//!
//! `--sim` / `--depth` override the default configuration (still one value
//! for all data sets) for exploration. `--explain` prints, per data set, the ground-truth events that were not
//! grouped exactly and the templates their lines ended in.

use std::collections::HashMap;
use std::error::Error;
use std::path::{Path, PathBuf};

use logparse::{grouping_accuracy, parse_line, ClusterId, MinerConfig, ParseConfig, TemplateMiner};

const SETS: [(&str, f64); 8] = [
    ("HDFS", 0.9975),
    ("Hadoop", 0.9475),
    ("Spark", 0.92),
    ("Zookeeper", 0.9665),
    ("OpenSSH", 0.7875),
    ("Apache", 1.0),
    ("HealthApp", 0.78),
    ("Proxifier", 0.5265),
];

struct Row {
    content: String,
    event: String,
}

fn read_set(dir: &Path, set: &str) -> Result<Vec<Row>, Box<dyn Error>> {
    let path = dir.join(set).join(format!("{set}_2k.log_structured.csv"));
    let mut rdr = csv::Reader::from_path(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let headers = rdr.headers()?.clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| format!("{}: no column {name}", path.display()))
    };
    let (ci, ei) = (col("Content")?, col("EventId")?);
    let mut rows = Vec::new();
    for rec in rdr.records() {
        let rec = rec?;
        rows.push(Row {
            content: rec.get(ci).unwrap_or_default().to_string(),
            event: rec.get(ei).unwrap_or_default().to_string(),
        });
    }
    Ok(rows)
}

fn main() -> Result<(), Box<dyn Error>> {
    let mut dir: Option<PathBuf> = None;
    let mut explain = false;
    let mut config = MinerConfig::default();
    let mut shuffle: Option<u64> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--explain" => explain = true,
            // Exploration knobs: one value for all data sets.
            "--sim" => config.sim_threshold = args.next().ok_or("--sim X")?.parse()?,
            "--depth" => config.depth = args.next().ok_or("--depth N")?.parse()?,
            // Feed the lines in a pseudo-random order (robustness check).
            "--shuffle" => shuffle = Some(args.next().ok_or("--shuffle SEED")?.parse()?),
            _ => dir = Some(PathBuf::from(arg)),
        }
    }
    let dir = dir
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/loghub"));
    println!(
        "Template miner grouping accuracy on {} (depth {}, similarity threshold {})\n",
        dir.display(),
        config.depth,
        config.sim_threshold
    );
    println!(
        "| dataset | GA (ours) | Drain published | templates (ours / truth) | GA raw lines via parse_line |"
    );
    println!("|---|---:|---:|---:|---:|");
    let (mut sum, mut sum_pub, mut sum_raw) = (0.0, 0.0, 0.0);
    for (set, published) in SETS {
        let mut rows = read_set(&dir, set)?;
        if let Some(seed) = shuffle {
            shuffle_rows(&mut rows, seed);
        }
        let mut miner = TemplateMiner::new(config.clone());
        let assigned: Vec<ClusterId> = rows
            .iter()
            .map(|r| miner.add(&r.content).cluster_id)
            .collect();
        let truth: Vec<&str> = rows.iter().map(|r| r.event.as_str()).collect();
        let ga = grouping_accuracy(&truth, &assigned);
        let n_truth = {
            let mut t = truth.clone();
            t.sort_unstable();
            t.dedup();
            t.len()
        };
        let raw = if shuffle.is_none() {
            raw_lines_ga(&dir, set, &config, &truth)?
        } else {
            f64::NAN
        };
        let raw_text = if raw.is_nan() {
            "n/a".to_string()
        } else {
            format!("{raw:.4}")
        };
        println!(
            "| {set} | {ga:.4} | {published:.4} | {} / {n_truth} | {raw_text} |",
            miner.len()
        );
        sum += ga;
        sum_pub += published;
        sum_raw += raw;
        if explain {
            explain_errors(&rows, &assigned, &miner);
        }
    }
    let n = SETS.len() as f64;
    let raw_avg = if sum_raw.is_nan() {
        "n/a".to_string()
    } else {
        format!("{:.4}", sum_raw / n)
    };
    println!(
        "| **average** | **{:.4}** | **{:.4}** | | {raw_avg} |",
        sum / n,
        sum_pub / n
    );
    Ok(())
}

/// GA when the raw log lines go through `parse_line` (format detection and
/// header stripping) and the parsed message is mined: what the scorer does.
fn raw_lines_ga(
    dir: &Path,
    set: &str,
    config: &MinerConfig,
    truth: &[&str],
) -> Result<f64, Box<dyn Error>> {
    let path = dir.join(set).join(format!("{set}_2k.log"));
    let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let text = String::from_utf8_lossy(&bytes);
    let cfg = ParseConfig::default();
    let mut miner = TemplateMiner::new(config.clone());
    let assigned: Vec<ClusterId> = text
        .lines()
        .map(|l| miner.add(&parse_line(l, &cfg).message).cluster_id)
        .collect();
    if assigned.len() != truth.len() {
        return Ok(f64::NAN);
    }
    Ok(grouping_accuracy(truth, &assigned))
}

/// Fisher-Yates with a SplitMix64 generator (no extra dependency).
fn shuffle_rows(rows: &mut [Row], seed: u64) {
    let mut state = seed;
    let mut next = || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    for i in (1..rows.len()).rev() {
        let j = (next() % (i as u64 + 1)) as usize;
        rows.swap(i, j);
    }
}

fn explain_errors(rows: &[Row], assigned: &[ClusterId], miner: &TemplateMiner) {
    let mut by_event: HashMap<&str, HashMap<ClusterId, usize>> = HashMap::new();
    let mut by_cluster: HashMap<ClusterId, HashMap<&str, usize>> = HashMap::new();
    for (r, c) in rows.iter().zip(assigned) {
        *by_event.entry(&r.event).or_default().entry(*c).or_default() += 1;
        *by_cluster
            .entry(*c)
            .or_default()
            .entry(&r.event)
            .or_default() += 1;
    }
    let mut events: Vec<_> = by_event.iter().collect();
    events.sort_by_key(|(e, _)| **e);
    for (ev, clusters) in events {
        let ok = clusters.len() == 1 && by_cluster[clusters.keys().next().unwrap()].len() == 1;
        if ok {
            continue;
        }
        eprintln!("  {ev}:");
        for (c, n) in clusters {
            let t = miner.cluster(*c).map(|t| t.template).unwrap_or("?");
            let others: Vec<_> = by_cluster[c].iter().filter(|(e, _)| *e != ev).collect();
            eprintln!("    {n:5} -> {t}   (shared with {others:?})");
        }
        let sample = rows.iter().find(|r| r.event == *ev).unwrap();
        eprintln!("    e.g. {}", sample.content);
    }
}
