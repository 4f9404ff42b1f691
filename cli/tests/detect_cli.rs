//! `cloudsage detect`: runs the built binary on a NAB series
//! (https://github.com/numenta/NAB, from `shared/data/nab`) and checks the
//! output format, the row count, the score range, and that the labelled
//! anomaly window gets a detection.

use std::path::PathBuf;
use std::process::Command;

use anomaly::nab::parse_windows;
use anomaly::parse_timestamp_ms;

const SERIES: &str = "realAWSCloudwatch/ec2_cpu_utilization_ac20cd.csv";

fn nab_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/nab")
}

#[test]
fn detect_on_a_nab_series() {
    let input = nab_dir().join("data").join(SERIES);
    let input_text = std::fs::read_to_string(&input).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (shared/data/nab next to the workspace)",
            input.display()
        )
    });
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("scored.csv");
    let out = Command::new(env!("CARGO_BIN_EXE_cloudsage"))
        .args(["detect", "--csv"])
        .arg(&input)
        .arg("--out")
        .arg(&out_path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("0 skipped"), "{stderr}");

    let scored = std::fs::read_to_string(&out_path).unwrap();
    let mut lines = scored.lines();
    assert_eq!(lines.next(), Some("timestamp,value,anomaly_score,detected"));
    let input_rows: Vec<&str> = input_text
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .collect();
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), input_rows.len(), "one output row per input row");

    let windows = parse_windows(&std::fs::read_to_string(nab_dir().join("windows.json")).unwrap())
        .unwrap()
        .remove(SERIES)
        .expect("the series is labelled");
    assert!(!windows.is_empty());
    let mut detected_in_window = 0;
    for (row, input_row) in rows.iter().zip(&input_rows) {
        assert_eq!(row.len(), 4, "{row:?}");
        assert_eq!(
            format!("{},{}", row[0], row[1]),
            *input_row,
            "timestamp and value echoed"
        );
        let score: f64 = row[2].parse().unwrap();
        assert!((0.0..=1.0).contains(&score), "{score}");
        assert!(row[3] == "0" || row[3] == "1", "{row:?}");
        let t = parse_timestamp_ms(row[0]).unwrap();
        if row[3] == "1" && windows.iter().any(|w| w.start_ms <= t && t <= w.end_ms) {
            detected_in_window += 1;
        }
    }
    assert!(
        detected_in_window >= 1,
        "no detection inside a labelled window"
    );
}

#[test]
fn detect_reports_bad_rows_and_fails_at_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.csv");
    std::fs::write(
        &path,
        "timestamp,value\n2014-04-01 00:00:00,1\n2014-04-01 00:05:00,oops\n2014-04-01 00:10:00,2\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_cloudsage"))
        .args(["detect", "--csv"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("line 3: value \"oops\""), "{stderr}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        stdout.lines().count(),
        3,
        "header and the two good rows: {stdout}"
    );
}
