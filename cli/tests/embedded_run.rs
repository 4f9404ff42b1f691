//! The all-in-one run over in-memory topics: deterministic results, the sample's incident
//! raises and resolves an alert, and unusable lines reach the dead-letter topic.

use cloudsage::run::{bundled_sample, run_embedded};
use cloudsage_runtime::Config;
use cloudsage_schemas::AlertStatus;
use std::io::Write;

fn config() -> Config {
    Config::from_toml("[notifier]\nconsole = false").unwrap()
}

#[tokio::test]
async fn bundled_sample_scores_forecasts_and_alerts_deterministically() {
    let (a, lines) = run_embedded(&config(), &bundled_sample(), "demo", "web")
        .await
        .unwrap();
    let (b, _) = run_embedded(&config(), &bundled_sample(), "demo", "web")
        .await
        .unwrap();
    let in_file = std::fs::read_to_string(bundled_sample())
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count() as u64;
    assert_eq!(lines, in_file);
    let key = |r: &cloudsage::report::Report| {
        let mut v: Vec<(String, String, i64, u64)> = r
            .windows
            .iter()
            .map(|w| {
                (
                    w.window_id.clone(),
                    w.service.clone(),
                    w.window_start_ms,
                    w.score.to_bits(),
                )
            })
            .collect();
        v.sort();
        v
    };
    assert_eq!(key(&a), key(&b));
    // Three services, one window per minute each.
    let services: std::collections::BTreeSet<_> =
        a.windows.iter().map(|w| w.service.as_str()).collect();
    assert_eq!(
        services.into_iter().collect::<Vec<_>>(),
        ["payments", "search", "web"]
    );
    // The payments storm fires an alert that later resolves; the healthy service never alerts.
    let payments: Vec<_> = a
        .alerts
        .iter()
        .filter(|x| x.service == "payments")
        .collect();
    assert_eq!(
        payments.first().map(|x| x.status),
        Some(AlertStatus::Firing)
    );
    assert_eq!(
        payments.last().map(|x| x.status),
        Some(AlertStatus::Resolved)
    );
    assert!(a.alerts.iter().all(|x| x.service == "payments"));
    // One forecast per window, each with three actions and four chain steps.
    assert_eq!(a.forecasts.len(), a.windows.len());
    assert!(a
        .forecasts
        .iter()
        .all(|f| f.actions.len() == 3 && f.chain_steps.len() == 4));
    assert!(a
        .forecasts
        .iter()
        .any(|f| f.chain == "critical_incident_response"));
    assert_eq!(a.dead_letters, 0);
}

#[tokio::test]
async fn unusable_lines_go_to_the_dead_letter_topic() {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(
        b"2026-01-01T00:00:01Z ERROR boom\n\xff\xfe not utf8\n2026-01-01T00:00:02Z INFO fine\n",
    )
    .unwrap();
    let (r, accepted) = run_embedded(&config(), f.path(), "p", "s").await.unwrap();
    assert_eq!(accepted, 2);
    assert_eq!(r.dead_letters, 1);
    assert_eq!(r.windows.len(), 1);
    assert_eq!((r.windows[0].event_count, r.windows[0].error_count), (2, 1));
}
