use logparse::*;
use std::time::Instant;
fn main() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/loghub");
    let mut lines = Vec::new();
    for set in [
        "HDFS",
        "Hadoop",
        "Spark",
        "Zookeeper",
        "OpenSSH",
        "Apache",
        "HealthApp",
        "Proxifier",
    ] {
        let b = std::fs::read(dir.join(set).join(format!("{set}_2k.log"))).unwrap();
        lines.extend(String::from_utf8_lossy(&b).lines().map(str::to_owned));
    }
    let cfg = ParseConfig::default();
    let total: usize = lines.iter().map(|l| l.len()).sum();
    println!("avg line {} bytes", total / lines.len());
    let t = Instant::now();
    let mut acc = 0u64;
    for _ in 0..20 {
        for l in &lines {
            for &b in std::hint::black_box(l.as_bytes()) {
                if b == b' ' {
                    acc += 1
                } else if b.is_ascii_digit() {
                    acc += 3
                }
            }
        }
    }
    println!(
        "byte loop {:.2} ns/byte ({acc})",
        t.elapsed().as_nanos() as f64 / (20 * total) as f64
    );
    let reps = 20;
    let t = Instant::now();
    let mut hsum = 0u64;
    for _ in 0..20 {
        for l in &lines {
            hsum ^= xxhash_rust::xxh3::xxh3_64(std::hint::black_box(l.as_bytes()));
        }
    }
    println!(
        "xxh3 {:.3} ns/byte ({hsum})",
        t.elapsed().as_nanos() as f64 / (20 * total) as f64
    );
    let t = Instant::now();
    let mut x = 0usize;
    for _ in 0..reps {
        for l in &lines {
            x += detect_format(l) as usize;
        }
    }
    let n = (reps * lines.len()) as f64;
    println!("detect   {:.0} ns/line", t.elapsed().as_nanos() as f64 / n);
    let t = Instant::now();
    for _ in 0..reps {
        for l in &lines {
            x += parse_line(l, &cfg).message.len();
        }
    }
    println!("parse    {:.0} ns/line", t.elapsed().as_nanos() as f64 / n);
    let evs: Vec<_> = lines.iter().map(|l| parse_line(l, &cfg)).collect();
    let t = Instant::now();
    for _ in 0..reps {
        for e in &evs {
            x += extract_features(e).is_error_signature as usize;
        }
    }
    println!("features {:.0} ns/line", t.elapsed().as_nanos() as f64 / n);
    let t = Instant::now();
    for _ in 0..reps {
        for l in &lines {
            x += detect_level(l).is_some() as usize;
        }
    }
    println!("level    {:.0} ns/line", t.elapsed().as_nanos() as f64 / n);
    let mut m = TemplateMiner::default();
    let t = Instant::now();
    for _ in 0..reps {
        for e in &evs {
            x += m.add(&e.message).template.len();
        }
    }
    println!("mine     {:.0} ns/line", t.elapsed().as_nanos() as f64 / n);
    let mut toks = Vec::new();
    let t = Instant::now();
    for _ in 0..reps {
        for e in &evs {
            logparse::mask::mask_tokens(&e.message, 256, &mut toks);
            x += toks.len();
        }
    }
    println!("mask     {:.0} ns/line", t.elapsed().as_nanos() as f64 / n);
    let mut m = TemplateMiner::default();
    let t = Instant::now();
    for _ in 0..reps {
        for l in &lines {
            let e = parse_line(l, &cfg);
            let f = extract_features(&e);
            x += m.add(&e.message).template.len() + f.is_error_signature as usize;
        }
    }
    println!("pipeline {:.0} ns/line", t.elapsed().as_nanos() as f64 / n);
    println!("{x}");
}
