//! `cloudsage ingest FILE --follow` against the real broker: lines appended while it runs, a
//! rename rotation (with lines still written to the renamed file), a copytruncate rotation,
//! a partial last line sent at SIGTERM. Every line reaches `logs.raw` exactly once, in order.

mod common;

use cloudsage_runtime::kafka::{ensure_topics, KafkaSource};
use cloudsage_runtime::transport::{Polled, Source};
use cloudsage_runtime::Config;
use cloudsage_schemas::{decode_raw_log, RawDefaults};
use common::*;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn append(path: &Path, lines: &[String], newline_at_end: bool) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    let mut text = lines.join("\n");
    if newline_at_end {
        text.push('\n');
    }
    f.write_all(text.as_bytes()).unwrap();
}

fn lines(file: &str, range: std::ops::Range<usize>) -> Vec<String> {
    range
        .map(|n| format!("follow test file {file} line {n} payload"))
        .collect()
}

/// Reads this test's key from its `logs.raw`, from the start.
struct Reader {
    source: KafkaSource,
    key: Vec<u8>,
    seen: Vec<String>,
}

impl Reader {
    async fn until(&mut self, count: usize, what: &str) {
        let defaults = RawDefaults {
            project: String::new(),
            service: String::new(),
            source: String::new(),
            received_at_ms: 0,
        };
        let deadline = Instant::now() + Duration::from_secs(120);
        while self.seen.len() < count {
            assert!(
                Instant::now() < deadline,
                "{what}: {} of {count} lines on logs.raw after 120 s: {:?}",
                self.seen.len(),
                self.seen.last()
            );
            if let Polled::Messages(batch) = self
                .source
                .next_batch(5000, Duration::from_millis(300))
                .await
                .unwrap()
            {
                for m in batch {
                    if m.key.as_deref() == Some(&self.key[..]) {
                        let log = decode_raw_log(&m.payload, &defaults).unwrap();
                        self.seen.push(log.line.expect("a text line"));
                    }
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_sends_every_line_once_across_rotations() {
    let Some((kafka, _)) = services() else {
        return;
    };
    let project = unique("follow");
    // Its own `logs.raw` (`topic_prefix`): no other test's backlog to read through.
    let topic_prefix = format!("{project}.");
    let cfg = Config::from_toml(&format!(
        "[kafka]\nbrokers = \"{kafka}\"\ntopic_prefix = \"{topic_prefix}\"\n"
    ))
    .unwrap();
    ensure_topics(&cfg.kafka, &cloudsage_schemas::topics::all_topics())
        .await
        .unwrap();
    let mut reader = Reader {
        source: KafkaSource::with_group(&cfg.kafka, &unique("follow-reader"), &["logs.raw"], &[])
            .unwrap(),
        key: format!("{project}/app").into_bytes(),
        seen: Vec::new(),
    };

    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let mut want: Vec<String> = Vec::new();
    let first = lines("a", 0..50);
    append(&log, &first, true);
    want.extend(first);

    let child = Command::new(binary("cloudsage"))
        .args(["ingest", "--follow", "--from-beginning", "--project"])
        .arg(&project)
        .args(["--service", "app"])
        .arg(&log)
        .env("CLOUDSAGE_KAFKA__BROKERS", &kafka)
        .env("CLOUDSAGE_KAFKA__TOPIC_PREFIX", &topic_prefix)
        .env_remove("CLOUDSAGE_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let pid = child.id();
    let _kill_on_panic = scopeguard(pid);

    // Appended while it runs, in a few writes.
    for k in 0..5 {
        let more = lines("a", 50 + k * 20..70 + k * 20);
        append(&log, &more, true);
        want.extend(more);
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    reader.until(want.len(), "before the first rotation").await;

    // Rotation 1, rename: the writer still appends to the renamed file (a partial line at
    // its end included) before it reopens app.log.
    let rotated = dir.path().join("app.log.1");
    std::fs::rename(&log, &rotated).unwrap();
    let late = lines("a", 150..160);
    append(&rotated, &late, true);
    want.extend(late);
    let unterminated = lines("a", 160..161);
    append(&rotated, &unterminated, false);
    want.extend(unterminated);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let second = lines("b", 0..40);
    append(&log, &second, true);
    want.extend(second);
    reader.until(want.len(), "after the rename rotation").await;

    // Rotation 2, copytruncate (everything before was read: the reader saw it).
    std::fs::copy(&log, dir.path().join("app.log.2")).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(0)
        .unwrap();
    let third = lines("c", 0..5);
    append(&log, &third, true);
    want.extend(third);
    // Until the follower has noticed the truncation, the file must stay shorter than before.
    reader.until(want.len(), "right after the truncation").await;
    let more = lines("c", 5..60);
    append(&log, &more, true);
    want.extend(more);
    // A last line without its newline: sent when the command stops.
    let last = lines("c", 60..61);
    append(&log, &last, false);
    want.extend(last);
    reader.until(want.len() - 1, "after the copytruncate").await;

    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert!(exit.status.success(), "cloudsage ingest --follow: {exit:?}");
    reader.until(want.len(), "after SIGTERM").await;

    // Nothing more arrives (no duplicates after the expected count).
    let before = reader.seen.len();
    let _ = tokio::time::timeout(Duration::from_secs(3), reader.until(before + 1, "extra")).await;
    assert_eq!(reader.seen, want, "every line exactly once, in order");
    let summary = String::from_utf8_lossy(&exit.stdout);
    assert!(
        summary.contains(&format!("ingested {} lines", want.len())),
        "{summary}"
    );
}

/// Kills the follower if the test fails before stopping it.
fn scopeguard(pid: u32) -> impl Drop {
    struct KillOnDrop(u32);
    impl Drop for KillOnDrop {
        fn drop(&mut self) {
            if std::thread::panicking() {
                let _ = Command::new("kill")
                    .args(["-KILL", &self.0.to_string()])
                    .status();
            }
        }
    }
    KillOnDrop(pid)
}
