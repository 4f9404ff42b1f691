//! The HTTP body decoders under bounded fuzzing on stable Rust, in every `cargo test`:
//! `parse_body` (text, NDJSON, JSON) and `gunzip_limited` get a seed corpus (built-in bodies,
//! Loghub lines from `../shared/data/loghub` beside the repository when present, their gzip
//! forms), then inputs mutated by a seeded RNG (bit flips, byte edits, truncations, splices,
//! invalid UTF-8, JSON/gzip tokens, huge bodies) until the time budget is used up.
//!
//! Invariants: nothing panics; text bodies never fail as a whole; every non-blank line of a
//! text/NDJSON body is either a record or a reject with its line number; every record
//! carries the token's project; gunzip never returns more than its cap, round-trips small
//! bodies and refuses one over its cap.
//!
//! `INGESTOR_FUZZ_SECONDS` (default 4) is the mutation budget, `INGESTOR_FUZZ_SEED` (hex,
//! default 0x5eed) the seed. A failing input is written to
//! `$CARGO_TARGET_TMPDIR/body-fuzz-failure-<n>`.

use cloudsage_schemas::RawDefaults;
use flate2::write::GzEncoder;
use flate2::Compression;
use ingestor::body::{parse_body, BodyFormat};
use ingestor::encoding::{gunzip_limited, GunzipError};
use std::io::Write;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::time::{Duration, Instant};

const PROJECT: &str = "fuzzproject";
const GUNZIP_CAP: usize = 64 << 10;

const SEEDS: &[&str] = &[
    "2024-01-02 03:04:05 ERROR db timeout after 350 ms\r\n\nplain line two\n",
    "{\"msg\":\"hi\",\"service\":\"web\",\"project\":\"evil\",\"level\":\"warn\"}\nnot json\n{}\n",
    "[{\"message\":\"a\"},\"a string element\",42,null,[1,2],{\"metric\":\"cpu\",\"value\":97,\"service\":\"api\"}]",
    "{\n  \"message\": \"pretty\",\n  \"time\": \"2024-01-02T03:04:05Z\",\n  \"fields\": {\"a\": [1, {\"b\": null}]}\n}",
    "\u{feff}{\"log\":\"bom first\",\"timestamp\":1700000000000}",
    "{\"metric\":\"mem\",\"value\":\"0.93\",\"service\":\"api\",\"time\":\"x\"}",
    "level=error msg=\"quoted \\\" value\" service=checkout latency=1.2s",
    "plain \u{0} control \u{7f} chars and ünïcödé",
];

const TOKENS: &[&[u8]] = &[
    b"{",
    b"}",
    b"[",
    b"]",
    b"\"",
    b"\\",
    b"\\u",
    b"\\ud800",
    b":",
    b",",
    b"null",
    b"true",
    b"1e999",
    b"-0",
    b"\n",
    b"\r\n",
    b" ",
    b"\t",
    b"\xef\xbb\xbf",
    b"\xc3",
    b"\xff",
    b"\0",
    b"\xed\xa0\x80",
    b"\"metric\":",
    b"\"value\":",
    b"\"service\":",
    b"\"project\":",
    b"\"time\":",
    b"\x1f\x8b\x08\x00",
];

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

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn corpus() -> Vec<Vec<u8>> {
    let mut inputs: Vec<Vec<u8>> = SEEDS.iter().map(|s| s.as_bytes().to_vec()).collect();
    let loghub = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/loghub");
    if let Ok(sets) = std::fs::read_dir(&loghub) {
        let mut dirs: Vec<_> = sets.flatten().map(|d| d.path()).collect();
        dirs.sort();
        for dir in dirs {
            let Some(name) = dir.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            let Ok(text) = std::fs::read(dir.join(format!("{name}_2k.log"))) else {
                continue;
            };
            let lines: Vec<&[u8]> = text.split(|&b| b == b'\n').collect();
            inputs.extend(lines.chunks(100).map(|c| c.join(&b'\n')));
        }
    } else {
        eprintln!(
            "no Loghub data at {}: built-in seeds only",
            loghub.display()
        );
    }
    let gzipped: Vec<Vec<u8>> = inputs.iter().take(64).map(|i| gzip(i)).collect();
    inputs.extend(gzipped);
    inputs
}

fn mutate(rng: &mut Rng, corpus: &[Vec<u8>]) -> Vec<u8> {
    let mut data = corpus[rng.below(corpus.len())].clone();
    for _ in 0..1 + rng.below(4) {
        let len = data.len();
        match rng.below(8) {
            0 if len > 0 => {
                let i = rng.below(len);
                data[i] ^= 1 << rng.below(8);
            }
            1 => {
                let t = TOKENS[rng.below(TOKENS.len())];
                let i = rng.below(len + 1);
                data.splice(i..i, t.iter().copied());
            }
            2 if len > 0 => {
                let start = rng.below(len);
                let end = (start + 1 + rng.below(16)).min(len);
                data.drain(start..end);
            }
            3 => data.truncate(rng.below(len + 1)),
            4 => {
                let other = &corpus[rng.below(corpus.len())];
                data.truncate(rng.below(len + 1));
                data.extend_from_slice(&other[rng.below(other.len() + 1)..]);
            }
            5 if rng.below(40) == 0 => {
                // A large body (up to ~100 KB, over the gunzip cap).
                let times = 1 + 100_000 / (len + 1);
                data = data.repeat(times.min(50_000));
            }
            6 if rng.below(4) == 0 => data = gzip(&data),
            _ => data.push(rng.next() as u8),
        }
    }
    data
}

fn defaults() -> RawDefaults {
    RawDefaults {
        project: PROJECT.into(),
        service: "svc".into(),
        source: "http".into(),
        received_at_ms: 1,
    }
}

/// One input through every decoder, checking the invariants.
fn check(data: &[u8]) {
    let d = defaults();
    let non_blank: Vec<usize> = data
        .split(|&b| b == b'\n')
        .enumerate()
        .filter(|(_, l)| {
            let l = l.strip_suffix(b"\r").unwrap_or(l);
            !l.iter().all(u8::is_ascii_whitespace)
        })
        .map(|(i, _)| i + 1)
        .collect();
    for format in [BodyFormat::Text, BodyFormat::NdJson, BodyFormat::Json] {
        let parsed = parse_body(format, data, &d);
        let parsed = match (format, parsed) {
            (_, Ok(p)) => p,
            (BodyFormat::Text, Err(e)) => panic!("a text body failed as a whole: {e}"),
            (_, Err(_)) => continue,
        };
        assert!(
            parsed.records.iter().all(|r| r.project == PROJECT),
            "a record escaped the token's project"
        );
        if format != BodyFormat::Json {
            assert_eq!(
                parsed.records.len() + parsed.rejected.len(),
                non_blank.len(),
                "{format:?}: every non-blank line is a record or a reject"
            );
            for r in &parsed.rejected {
                assert!(non_blank.contains(&r.line), "reject line {}", r.line);
            }
        }
    }
    match gunzip_limited(data, GUNZIP_CAP) {
        Ok(out) => assert!(out.len() <= GUNZIP_CAP),
        Err(GunzipError::TooLarge { max }) => assert_eq!(max, GUNZIP_CAP),
        Err(GunzipError::Invalid(_)) => {}
    }
    // Compressing is the slow part in a debug build: round trips for small inputs only
    // (`gunzip_stops_at_its_cap` covers large ones).
    if data.len() <= 4096 {
        let round_trip = gunzip_limited(&gzip(data), GUNZIP_CAP);
        assert_eq!(round_trip.as_deref(), Ok(data), "gzip round trip");
    }
}

#[test]
fn gunzip_stops_at_its_cap() {
    let body = b"0123456789abcdef".repeat(GUNZIP_CAP / 16 + 1);
    assert_eq!(
        gunzip_limited(&gzip(&body), GUNZIP_CAP),
        Err(GunzipError::TooLarge { max: GUNZIP_CAP })
    );
    let fits = &body[..GUNZIP_CAP];
    assert_eq!(gunzip_limited(&gzip(fits), GUNZIP_CAP).as_deref(), Ok(fits));
}

#[test]
fn body_decoders_survive_corpus_and_mutations() {
    let seed = std::env::var("INGESTOR_FUZZ_SEED")
        .ok()
        .and_then(|s| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok())
        .unwrap_or(0x5eed);
    let budget = Duration::from_secs_f64(
        std::env::var("INGESTOR_FUZZ_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(4.0),
    );
    let corpus = corpus();
    let started = Instant::now();
    let mut rng = Rng(seed);
    let mut n = 0u64;
    let inputs = corpus
        .iter()
        .cloned()
        .map(Some)
        .chain(std::iter::repeat(None));
    for input in inputs {
        let data = match input {
            Some(d) => d,
            None if started.elapsed() < budget => mutate(&mut rng, &corpus),
            None => break,
        };
        if catch_unwind(AssertUnwindSafe(|| check(&data))).is_err() {
            let path =
                Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("body-fuzz-failure-{n}"));
            std::fs::write(&path, &data).unwrap();
            panic!(
                "input {n} (seed {seed:#x}) broke an invariant, saved to {}",
                path.display()
            );
        }
        n += 1;
    }
    eprintln!(
        "body_fuzz_bounded: {} corpus + {} mutated inputs in {:.1} s (seed {seed:#x})",
        corpus.len(),
        n - corpus.len() as u64,
        started.elapsed().as_secs_f64()
    );
}
