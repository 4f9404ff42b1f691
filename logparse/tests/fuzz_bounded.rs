//! The cargo-fuzz targets' bodies (`logparse::fuzzing`) run on stable Rust for a bounded
//! time in every `cargo test`: each target gets (a) the seed corpus — every line of the
//! Loghub 2k samples (`../shared/data/loghub` beside the repository, when present), a few
//! built-in lines per format, and groups of consecutive lines for the multi-line targets —
//! then (b) inputs mutated from it by a seeded RNG (bit flips, byte edits, truncations,
//! splices, invalid UTF-8, interesting tokens, huge lines) until its share of the time
//! budget or of the input count is used up.
//!
//! `LOGPARSE_FUZZ_SECONDS` (default 12) is the budget of the mutation phase over all
//! targets; `LOGPARSE_FUZZ_SEED` (default 0x5eed) the RNG seed. A failing input is written
//! to `$CARGO_TARGET_TMPDIR/fuzz-failure-<target>-<n>` and its seed and number are printed.
//! With nightly, the same bodies run under libFuzzer: `cd logparse/fuzz &&
//! cargo +nightly fuzz run <target> -- -max_total_time=60`.

use logparse::fuzzing::TARGETS;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Mutated inputs per target at most (the time budget usually ends a target first).
const MAX_MUTATED_PER_TARGET: u64 = 200_000;

/// Lines that start like each supported format, for when the Loghub data is absent.
const BUILT_IN_SEEDS: &[&str] = &[
    "{\"time\":\"2024-01-02T03:04:05.123Z\",\"level\":\"error\",\"msg\":\"query took 350ms\",\"mem\":0.93,\"a\":{\"b\":[1,2]}}",
    "ts=2024-01-02T03:04:05Z level=warn msg=\"disk \\\"full\\\"\" cpu=97 latency=1.2s",
    "<165>1 2003-10-11T22:14:15.003Z host app 123 ID47 [x@1 a=\"b\\\"c\"] \u{feff}BOM message",
    "<13>Dec 10 06:55:46 LabSZ sshd[24200]: Failed password for root from 1.2.3.4 port 22 ssh2",
    "127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] \"GET /a.gif HTTP/1.0\" 503 2326 \"-\" \"curl\" 0.350",
    "2015-10-18 18:01:47,978 INFO [main] org.apache.Foo: Created MRAppMaster for application appattempt_1_2",
    "[Sun Dec 04 04:47:44 2005] [error] mod_jk child workerEnv in error state 6",
    "20171223-22:15:29:606|Step_LSC|30002312|onStandStepChanged 3579",
    "E0412 10:00:00.123456  1234 main.go:42] OutOfMemoryError: heap 93% used",
    "081109 203615 148 INFO dfs.DataNode$PacketResponder: Received block blk_-1608999687919862906 of size 91178",
    "Traceback (most recent call last):\n  File \"x.py\", line 1, in <module>\nValueError: bad",
    "java.lang.IllegalStateException: boom\n\tat a.b.C.d(C.java:10)\n\t... 5 more\nCaused by: x",
    "goroutine 1 [running]:\nmain.main()\n\t/x/main.go:5 +0x1d",
];

/// Byte strings that steer mutations into parser branches.
const TOKENS: &[&[u8]] = &[
    b"{",
    b"}",
    b"[",
    b"]",
    b"\"",
    b"\\",
    b"\\u00",
    b"=",
    b":",
    b"<",
    b">",
    b"<13>",
    b"<999>1 ",
    b" - ",
    b"0x1f",
    b"-",
    b"+",
    b".",
    b",",
    b"%",
    b"ms",
    b"e308",
    b"99999999999999999999",
    b"T",
    b"Z",
    b"+25:99",
    b"\t",
    b"\r",
    b"\n",
    b" ",
    b"\0",
    b"\xc3",
    b"\xff",
    b"\xed\xa0\x80",
    b"\xf0\x9f\x92",
    "\u{200b}".as_bytes(),
    "\u{10ffff}".as_bytes(),
    b"level=",
    b"msg=",
    b"\"msg\":",
    b"ERROR",
    b"took ",
    b"heap ",
    b"cpu=",
    b"Caused by:",
    b"\tat ",
    b"blk_",
];

/// splitmix64: small, seedable, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn loghub_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/loghub")
}

/// Seed inputs: single lines (every Loghub line), and runs of consecutive lines joined with
/// `\n` (what the miner and joiner targets split again).
fn corpus() -> Vec<Vec<u8>> {
    let mut inputs: Vec<Vec<u8>> = BUILT_IN_SEEDS
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect();
    inputs.push(BUILT_IN_SEEDS.join("\n").into_bytes());
    let Ok(sets) = std::fs::read_dir(loghub_dir()) else {
        eprintln!(
            "no Loghub data at {}: built-in seeds only",
            loghub_dir().display()
        );
        return inputs;
    };
    let mut files: Vec<PathBuf> = sets
        .flatten()
        .map(|d| d.path())
        .filter_map(|dir| {
            let name = dir.file_name()?.to_str()?.to_string();
            Some(dir.join(format!("{name}_2k.log")))
        })
        .filter(|f| f.is_file())
        .collect();
    files.sort();
    for file in files {
        let text = std::fs::read(&file).unwrap();
        let lines: Vec<&[u8]> = text.split(|&b| b == b'\n').collect();
        inputs.extend(lines.iter().map(|l| l.to_vec()));
        inputs.extend(lines.chunks(40).map(|c| c.join(&b'\n')));
    }
    inputs
}

fn mutate(rng: &mut Rng, corpus: &[Vec<u8>]) -> Vec<u8> {
    let mut data = corpus[rng.below(corpus.len())].clone();
    for _ in 0..1 + rng.below(4) {
        let len = data.len();
        match rng.below(9) {
            0 if len > 0 => {
                let i = rng.below(len);
                data[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                data[i] = rng.next() as u8;
            }
            2 => {
                let t = TOKENS[rng.below(TOKENS.len())];
                let i = rng.below(len + 1);
                data.splice(i..i, t.iter().copied());
            }
            3 if len > 0 => {
                let start = rng.below(len);
                let end = (start + 1 + rng.below(16)).min(len);
                data.drain(start..end);
            }
            4 => data.truncate(rng.below(len + 1)),
            5 => {
                // Splice: this input's head, another's tail.
                let other = &corpus[rng.below(corpus.len())];
                data.truncate(rng.below(len + 1));
                data.extend_from_slice(&other[rng.below(other.len() + 1)..]);
            }
            6 if len > 0 => {
                // Duplicate a slice in place (repeated fields, nested brackets).
                let start = rng.below(len);
                let end = (start + 1 + rng.below(32)).min(len);
                let piece = data[start..end].to_vec();
                data.splice(end..end, piece);
            }
            7 if rng.below(50) == 0 => {
                // A huge line, up to ~100 KB.
                let times = 1 + 100_000 / (len + 1);
                data = data.repeat(times.min(20_000));
            }
            _ => data.push(rng.next() as u8),
        }
    }
    data
}

fn save_failure(target: &str, n: u64, data: &[u8]) -> PathBuf {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("fuzz-failure-{target}-{n}"));
    std::fs::write(&path, data).unwrap();
    path
}

/// What one target went through, or the input it panicked on.
struct Run {
    corpus_time: Duration,
    mutated: u64,
    mutated_time: Duration,
    failure: Option<(u64, Vec<u8>)>,
}

/// Runs `body` over the corpus, then over mutated inputs for `budget` (or the count cap);
/// stops at the first panic. Inputs are numbered: corpus first, then mutations.
fn fuzz(body: &dyn Fn(&[u8]), corpus: &[Vec<u8>], rng: &mut Rng, budget: Duration) -> Run {
    let survives = |data: &[u8]| catch_unwind(AssertUnwindSafe(|| body(data))).is_ok();
    let t0 = Instant::now();
    let mut run = Run {
        corpus_time: Duration::ZERO,
        mutated: 0,
        mutated_time: Duration::ZERO,
        failure: None,
    };
    if let Some(n) = corpus.iter().position(|d| !survives(d)) {
        run.failure = Some((n as u64, corpus[n].clone()));
        return run;
    }
    run.corpus_time = t0.elapsed();
    let t1 = Instant::now();
    while run.mutated < MAX_MUTATED_PER_TARGET && t1.elapsed() < budget {
        let data = mutate(rng, corpus);
        run.mutated += 1;
        if !survives(&data) {
            run.failure = Some((corpus.len() as u64 + run.mutated - 1, data));
            break;
        }
    }
    run.mutated_time = t1.elapsed();
    run
}

#[test]
fn every_fuzz_target_survives_corpus_and_mutations() {
    let seed = std::env::var("LOGPARSE_FUZZ_SEED")
        .ok()
        .and_then(|s| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok())
        .unwrap_or(0x5eed);
    let budget = Duration::from_secs_f64(
        std::env::var("LOGPARSE_FUZZ_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(12.0),
    );
    let corpus = corpus();
    let per_target = budget / TARGETS.len() as u32;
    let mut failures = Vec::new();
    let started = Instant::now();
    for (t, (name, body)) in TARGETS.iter().enumerate() {
        let mut rng = Rng(seed ^ (t as u64).wrapping_mul(0x1000_0000_01b3));
        let run = fuzz(body, &corpus, &mut rng, per_target);
        eprintln!(
            "{name:<10} corpus {} inputs in {:.2} s, mutated {} inputs in {:.2} s",
            corpus.len(),
            run.corpus_time.as_secs_f64(),
            run.mutated,
            run.mutated_time.as_secs_f64()
        );
        if let Some((n, data)) = run.failure {
            let path = save_failure(name, n, &data);
            failures.push(format!(
                "{name}: input {n} (seed {seed:#x}) panicked, saved to {}",
                path.display()
            ));
        }
    }
    eprintln!(
        "fuzz_bounded: {} targets, seed {seed:#x}, {:.1} s",
        TARGETS.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The cargo-fuzz targets and the stable runner run the same bodies: every `[[bin]]` of
/// `fuzz/Cargo.toml` is a target here and its file calls the shared body.
#[test]
fn cargo_fuzz_targets_call_the_shared_bodies() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let manifest = std::fs::read_to_string(fuzz.join("Cargo.toml")).unwrap();
    let bins: Vec<&str> = manifest
        .lines()
        .filter_map(|l| l.strip_prefix("name = \""))
        .filter_map(|l| l.strip_suffix('"'))
        .filter(|n| *n != "logparse-fuzz")
        .collect();
    let names: Vec<&str> = TARGETS.iter().map(|(n, _)| *n).collect();
    let mut sorted_bins = bins.clone();
    sorted_bins.sort();
    let mut sorted_names = names.clone();
    sorted_names.sort();
    assert_eq!(sorted_bins, sorted_names, "fuzz/Cargo.toml bins vs TARGETS");
    for name in bins {
        let src = std::fs::read_to_string(fuzz.join(format!("fuzz_targets/{name}.rs"))).unwrap();
        assert!(
            src.contains(&format!("logparse::fuzzing::{name}_target(data)")),
            "fuzz_targets/{name}.rs does not call logparse::fuzzing::{name}_target"
        );
    }
}

/// The runner can fail: a body that panics only on bytes no corpus input has is caught by
/// the mutation phase, and the input it panicked on is returned.
#[test]
fn the_mutation_phase_finds_a_planted_panic() {
    let body = |data: &[u8]| assert!(!data.contains(&0xff), "planted panic");
    let corpus = vec![b"a plain line".to_vec(), b"{\"msg\":\"x\"}".to_vec()];
    let run = fuzz(&body, &corpus, &mut Rng(1), Duration::from_secs(10));
    let (n, data) = run.failure.expect("the planted panic is found");
    assert!(n >= corpus.len() as u64, "found by a mutation");
    assert!(data.contains(&0xff));
}
