//! Throughput of the per-line path over the Loghub 2k samples
//! (https://github.com/logpai/loghub), timed in-process over in-memory lines:
//! the Rust side of `deploy/bench/templates_vs_drain3.sh`.
//!
//! ```text
//! cargo run --release -p logparse --example mine_throughput -- [DIR] [--repeat R] [--runs K] [--mode MODE]
//! ```
//!
//! `DIR` defaults to `../shared/data/loghub` relative to the workspace root
//! and holds `<Set>/<Set>_2k.log` for the 8 sets (HDFS, Hadoop, Spark,
//! Zookeeper, OpenSSH, Apache, HealthApp, Proxifier). For each set, one fresh
//! default-configured `TemplateMiner` receives the set's raw lines `R` times
//! over (default 5) — exactly what `deploy/bench/drain3_bench.py` feeds
//! Drain3. Only the loop is timed (file reading and line splitting are not).
//! The whole measurement is done `K` times (default 5) and the median and best
//! runs are printed.
//!
//! Modes (what each line goes through):
//!
//! * `mine` (default): `parse_line` (with `message_only`: a line is not
//!   scanned for a level its header lacks) then
//!   `TemplateMiner::add(&ev.message)` (what `cloudsage templates` does);
//! * `pipeline`: `parse_line`, then `TemplateMiner::add_with_features`
//!   (features and mining over one split of the message into words; the
//!   criterion bench's `pipeline`);
//! * `separate`: `parse_line`, `extract_features`, `TemplateMiner::add` (the
//!   same work with each step walking the message itself: the `pipeline` of
//!   earlier versions);
//! * `raw`: `TemplateMiner::add` on the raw line, no parsing (as Drain3 does
//!   with its default configuration).
//!
//! Output: one line per set and a final
//! `rust_lines_per_sec=<median> best=<best> lines=<n> mode=<mode>` line for
//! scripts.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

use logparse::{extract_features, parse_line, ParseConfig, TemplateMiner};

/// The allocator of the binaries this measures.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SETS: [&str; 8] = [
    "HDFS",
    "Hadoop",
    "Spark",
    "Zookeeper",
    "OpenSSH",
    "Apache",
    "HealthApp",
    "Proxifier",
];

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Mine,
    Pipeline,
    Separate,
    Raw,
}

fn main() {
    let mut dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/loghub");
    let mut repeat = 5usize;
    let mut runs = 5usize;
    let mut mode = Mode::Mine;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = |name: &str| {
            args.next()
                .unwrap_or_else(|| panic!("{name} needs a value"))
        };
        match a.as_str() {
            "--repeat" => repeat = val("--repeat").parse().expect("--repeat N"),
            "--runs" => runs = val("--runs").parse::<usize>().expect("--runs K").max(1),
            "--mode" => {
                mode = match val("--mode").as_str() {
                    "mine" => Mode::Mine,
                    "pipeline" => Mode::Pipeline,
                    "separate" => Mode::Separate,
                    "raw" => Mode::Raw,
                    m => panic!("unknown mode {m} (mine, pipeline, separate, raw)"),
                }
            }
            "-h" | "--help" => {
                eprintln!("usage: mine_throughput [DIR] [--repeat R] [--runs K] [--mode mine|pipeline|separate|raw]");
                return;
            }
            _ => dir = PathBuf::from(a),
        }
    }
    let mode_name = match mode {
        Mode::Mine => "mine",
        Mode::Pipeline => "pipeline",
        Mode::Separate => "separate",
        Mode::Raw => "raw",
    };

    let mut sets: Vec<(&str, Vec<String>)> = Vec::new();
    for set in SETS {
        let path = dir.join(set).join(format!("{set}_2k.log"));
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let lines = String::from_utf8_lossy(&bytes)
            .lines()
            .map(str::to_owned)
            .collect();
        sets.push((set, lines));
    }
    let cfg = ParseConfig::default();
    // What `cloudsage templates` parses with: the message, not the severity.
    let message_only = ParseConfig {
        message_only: true,
        ..cfg
    };
    let total_lines: usize = sets.iter().map(|(_, l)| l.len() * repeat).sum();

    let mut totals = Vec::with_capacity(runs);
    let mut per_set: Vec<Vec<f64>> = vec![Vec::new(); sets.len()];
    for _ in 0..runs {
        let mut total = 0.0;
        for (k, (_, lines)) in sets.iter().enumerate() {
            let mut miner = TemplateMiner::default();
            let t0 = Instant::now();
            for _ in 0..repeat {
                for l in lines {
                    match mode {
                        Mode::Mine => {
                            let ev = parse_line(black_box(l), &message_only);
                            black_box(miner.add(&ev.message).template_id);
                        }
                        Mode::Pipeline => {
                            let ev = parse_line(black_box(l), &cfg);
                            let (f, m) = miner.add_with_features(&ev);
                            black_box((f, m.template_id));
                        }
                        Mode::Separate => {
                            let ev = parse_line(black_box(l), &cfg);
                            let f = extract_features(&ev);
                            black_box((f, miner.add(&ev.message).template_id));
                        }
                        Mode::Raw => {
                            black_box(miner.add(black_box(l)).template_id);
                        }
                    }
                }
            }
            let dt = t0.elapsed().as_secs_f64();
            per_set[k].push(dt);
            total += dt;
            black_box(miner.len());
        }
        totals.push(total);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    for (k, (set, lines)) in sets.iter().enumerate() {
        let n = (lines.len() * repeat) as f64;
        let t = median(&mut per_set[k]);
        println!("{set:<10} {:>12.0} lines/s", n / t);
    }
    let best = totals.iter().copied().fold(f64::INFINITY, f64::min);
    let med = median(&mut totals);
    println!(
        "rust_lines_per_sec={:.0} best={:.0} lines={total_lines} mode={mode_name}",
        total_lines as f64 / med,
        total_lines as f64 / best
    );
}
