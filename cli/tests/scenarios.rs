//! The scorer on named scenarios with known ground truth (`cloudsage generate --scenario`):
//! the score must rise in the incident scenarios before the incident's peak, and stay low in
//! the healthy and the noisy-but-healthy ones. Runs the embedded pipeline (no services).

use cloudsage::run::run_embedded;
use cloudsage::scenarios::Scenario;
use cloudsage_runtime::Config;

const MINUTES: u32 = 120;
/// Windows a series needs before its baseline counts (see scorer::baseline).
const WARMUP_MINUTES: u32 = 10;

/// Scores per minute of the run, for one scenario and seed.
async fn scores(s: Scenario, seed: u64) -> Vec<(u32, f64, Vec<String>)> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("scenario.log");
    std::fs::write(&file, s.lines(MINUTES, seed).join("\n")).unwrap();
    let config = Config::from_toml("[notifier]\nconsole = false").unwrap();
    let (report, _) = run_embedded(&config, &file, "scenarios", "checkout")
        .await
        .unwrap();
    let first = report
        .windows
        .iter()
        .map(|w| w.window_start_ms)
        .min()
        .unwrap();
    let mut out: Vec<(u32, f64, Vec<String>)> = report
        .windows
        .iter()
        .map(|w| {
            (
                ((w.window_start_ms - first) / 60_000) as u32,
                w.score,
                w.labels.clone(),
            )
        })
        .collect();
    out.sort_by_key(|w| w.0);
    out.dedup_by_key(|w| w.0);
    out
}

fn max_in(scores: &[(u32, f64, Vec<String>)], from: u32, to: u32) -> f64 {
    scores
        .iter()
        .filter(|(m, _, _)| (from..to).contains(m))
        .map(|(_, s, _)| *s)
        .fold(0.0, f64::max)
}

#[tokio::test]
async fn incidents_raise_the_score_before_their_peak() {
    for s in [
        Scenario::MemoryLeak,
        Scenario::LatencyCreep,
        Scenario::ErrorStorm,
    ] {
        for seed in [1, 2] {
            let truth = s.truth(MINUTES).unwrap();
            let scores = scores(s, seed).await;
            let calm = max_in(&scores, WARMUP_MINUTES, truth.start_minute);
            let rising = max_in(&scores, truth.start_minute, truth.peak_minute);
            println!("{s:?} seed {seed}: calm max {calm}, before-peak max {rising}");
            assert!(
                rising >= 45.0 && rising >= calm + 25.0,
                "{s:?} seed {seed}: calm max {calm}, before-peak max {rising}"
            );
        }
    }
}

#[tokio::test]
async fn healthy_services_stay_low() {
    for s in [Scenario::Steady, Scenario::NoisyButHealthy] {
        for seed in [1, 2, 3] {
            let scores = scores(s, seed).await;
            let worst = max_in(&scores, WARMUP_MINUTES, MINUTES);
            println!("{s:?} seed {seed}: max after warm-up {worst}");
            assert!(worst < 35.0, "{s:?} seed {seed}: max {worst}");
        }
    }
}

#[tokio::test]
async fn incident_labels_name_the_cause() {
    let cases = [
        (Scenario::MemoryLeak, "Memory Pressure"),
        (Scenario::LatencyCreep, "Latency Spike"),
        (Scenario::ErrorStorm, "High Error Rate"),
    ];
    for (s, label) in cases {
        let truth = s.truth(MINUTES).unwrap();
        let scores = scores(s, 1).await;
        assert!(
            scores
                .iter()
                .any(|(m, _, l)| *m <= truth.peak_minute && l.iter().any(|x| x == label)),
            "{s:?} never labelled {label}"
        );
    }
}
