//! The analytics API and the rollups on known data in a fresh ClickHouse database: history,
//! 7-day rolling average, trend slope and project ranking come out as computed by hand, every
//! window counts once after a replay, the hourly and daily rollups equal aggregates over
//! `risk_windows FINAL` (also after re-running their backfill), and `cloudsage risk` /
//! `cloudsage export` print what the API returns.

mod common;

use cloudsage::analytics::{self, TemplatesTableMissing, TimeRange};
use cloudsage_runtime::migrations::{render, statements, ServerFeatures, MIGRATIONS};
use cloudsage_runtime::stage::{TableRow, WindowTemplate};
use cloudsage_runtime::warehouse::Warehouse;
use cloudsage_runtime::Config;
use cloudsage_schemas::{Factor, ScoredWindow};
use common::*;
use std::time::Duration;

/// 2026-01-01T00:00:00Z.
const T0: u32 = 1_767_225_600;
const MIN: u32 = 60;
const HOUR: u32 = 3600;
const DAY: u32 = 24 * HOUR;
const ROLLUPS_SQL: &str = include_str!("../../deploy/clickhouse/migrations/0003_rollups.sql");

fn warehouse(ch: &str, db: &str) -> Warehouse {
    let cfg = Config::from_toml(&format!(
        "[clickhouse]\nurl = \"{ch}\"\ndatabase = \"{db}\""
    ))
    .unwrap();
    Warehouse::from_config(&cfg.clickhouse).unwrap()
}

async fn run_sql(wh: &Warehouse, sql: &str) {
    wh.client()
        .query(sql)
        .execute()
        .await
        .unwrap_or_else(|e| panic!("{e}\n{sql}"));
}

/// The rollups migration's statements, rendered for the connected server.
async fn rollup_statements(wh: &Warehouse) -> Vec<String> {
    let version: String = wh
        .client()
        .query("SELECT version()")
        .fetch_one()
        .await
        .unwrap();
    statements(&render(ROLLUPS_SQL, ServerFeatures::from_version(&version)))
}

/// `cloudsage migrate`, plus the rollups migration (0003) while the runtime's list of
/// migrations does not include it yet.
async fn migrate(wh: &Warehouse) {
    wh.migrate().await.unwrap();
    if !MIGRATIONS.iter().any(|(v, ..)| *v == 3) {
        for stmt in rollup_statements(wh).await {
            run_sql(wh, &stmt).await;
        }
    }
}

fn window(project: &str, service: &str, start: u32, score: f64) -> ScoredWindow {
    // Counts that differ per window, so sums over the wrong windows cannot match by chance.
    let events = 100 + i64::from(start / MIN % 97);
    ScoredWindow {
        window_id: format!("{project}/{service}/{start}"),
        project: project.into(),
        service: service.into(),
        window_start_ms: i64::from(start) * 1000,
        window_end_ms: i64::from(start + MIN) * 1000,
        score,
        factors: vec![
            Factor {
                name: "error_rate".into(),
                value: score / 500.0,
                points: score * 0.75,
                max_points: 75.0,
            },
            Factor {
                name: "log_volume".into(),
                value: events as f64,
                points: score * 0.25,
                max_points: 25.0,
            },
        ],
        labels: vec!["High Error Rate, \"check\"".into()],
        top_factors: vec!["error_rate".into()],
        event_count: events,
        error_count: (score / 10.0).round() as i64,
        warn_count: 3,
        late_count: 0,
    }
}

/// Project A: `api` climbs 6 points per hour for 2 hours (a window every 10 min from T0),
/// `db` has one window a day for 10 days ending at T0 scoring 0, 10, …, 90.
/// Project B: `web` at 10, then 95 (latest). Project C: `x` latest 50; `y` at 99, then 10.
fn fixture(a: &str, b: &str, c: &str) -> Vec<ScoredWindow> {
    let mut w = vec![];
    for i in 0..13 {
        let t = T0 + i * 10 * MIN;
        w.push(window(
            a,
            "api",
            t,
            20.0 + 6.0 * f64::from(t - T0) / f64::from(HOUR),
        ));
    }
    for d in 0..10 {
        w.push(window(a, "db", T0 - (9 - d) * DAY, f64::from(d) * 10.0));
    }
    w.push(window(b, "web", T0, 10.0));
    w.push(window(b, "web", T0 + HOUR, 95.0));
    w.push(window(c, "x", T0, 50.0));
    w.push(window(c, "y", T0 - HOUR, 99.0));
    w.push(window(c, "y", T0, 10.0));
    w
}

#[derive(Debug, PartialEq, clickhouse::Row, serde::Deserialize)]
struct Bucket {
    project: String,
    service: String,
    bucket: u32,
    windows: u64,
    avg_score: f64,
    min_score: f64,
    max_score: f64,
    events: u64,
    errors: u64,
    warnings: u64,
}

/// A rollup view's rows next to the same aggregates computed from `risk_windows FINAL`.
async fn rollup_vs_final(
    wh: &Warehouse,
    view: &str,
    bucket: &str,
    of: &str,
) -> (Vec<Bucket>, Vec<Bucket>) {
    let order = "ORDER BY project, service, bucket";
    let rollup = wh
        .client()
        .query(&format!(
            "SELECT project, service, toUInt32({bucket}) AS bucket, windows, avg_score, min_score, max_score, \
             events, errors, warnings FROM {view} {order}"
        ))
        .fetch_all()
        .await
        .unwrap();
    let direct = wh
        .client()
        .query(&format!(
            "SELECT project, service, toUInt32({of}) AS bucket, count(), avg(score), min(score), \
             max(score), sum(event_count), sum(error_count), sum(warn_count) \
             FROM risk_windows FINAL GROUP BY project, service, bucket {order}"
        ))
        .fetch_all()
        .await
        .unwrap();
    (rollup, direct)
}

fn assert_buckets_equal(rollup: &[Bucket], direct: &[Bucket], what: &str) {
    assert_eq!(
        rollup.len(),
        direct.len(),
        "{what}: {rollup:?}\nvs {direct:?}"
    );
    for (r, d) in rollup.iter().zip(direct) {
        // Sums of the same floats in another order may differ in the last bits.
        assert!(
            (r.avg_score - d.avg_score).abs() < 1e-9,
            "{what}: {r:?} vs {d:?}"
        );
        let exact = |b: &Bucket| {
            (
                b.project.clone(),
                b.service.clone(),
                b.bucket,
                b.windows,
                b.min_score,
                b.max_score,
                b.events,
                b.errors,
                b.warnings,
            )
        };
        assert_eq!(exact(r), exact(d), "{what}");
    }
}

#[tokio::test]
async fn analytics_and_rollups_on_known_windows_with_a_replay() {
    let Some((_, ch)) = services() else {
        return;
    };
    let db = unique("analytics");
    let wh = warehouse(&ch, &db);
    migrate(&wh).await;
    let (a, b, c) = (unique("a"), unique("b"), unique("c"));
    let windows = fixture(&a, &b, &c);
    let rows: Vec<TableRow> = windows.iter().cloned().map(TableRow::RiskWindow).collect();
    // Written, then replayed with a newer version (at-least-once delivery).
    wh.write(&rows, 1).await.unwrap();
    wh.write(&rows, 2).await.unwrap();
    let stored: u64 = wh
        .client()
        .query("SELECT count() FROM risk_windows")
        .fetch_one()
        .await
        .unwrap();
    assert_eq!(
        stored as usize,
        2 * windows.len(),
        "the replay is really stored twice"
    );

    // History: each window once, by service then time, within the range.
    let all = analytics::history(&wh, &a, None, TimeRange::all())
        .await
        .unwrap();
    assert_eq!(all.len(), 23);
    let order: Vec<(&str, u32)> = all
        .iter()
        .map(|w| (w.service.as_str(), w.window_start))
        .collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted);
    assert_eq!(all.iter().filter(|w| w.service == "api").count(), 13);
    let api = analytics::history(
        &wh,
        &a,
        Some("api"),
        TimeRange {
            from: T0 + HOUR,
            to: T0 + 2 * HOUR,
        },
    )
    .await
    .unwrap();
    assert_eq!(
        api.iter().map(|w| w.window_start).collect::<Vec<_>>(),
        (6..=12).map(|i| T0 + i * 10 * MIN).collect::<Vec<_>>()
    );
    assert_eq!(api[0].score, 26.0);
    let w6 = &windows[6];
    assert_eq!(
        (
            api[0].window_id.as_str(),
            api[0].window_end,
            api[0].event_count,
            api[0].error_count
        ),
        (
            w6.window_id.as_str(),
            T0 + 61 * MIN,
            w6.event_count as u64,
            w6.error_count as u64
        )
    );
    assert_eq!(api[0].factor_names, ["error_rate", "log_volume"]);
    assert_eq!(api[0].factor_points, [19.5, 6.5]);
    assert_eq!(api[0].labels, w6.labels);
    assert_eq!(
        analytics::newest_window(&wh, &a, None).await.unwrap(),
        Some(T0 + 2 * HOUR)
    );
    assert_eq!(
        analytics::newest_window(&wh, "nobody", None).await.unwrap(),
        None
    );

    // Per-service risk over the 24 h before A's newest window.
    let (range, risk) = analytics::service_risk(&wh, &a, None, Duration::from_secs(24 * 3600))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        range,
        TimeRange {
            from: T0 + 2 * HOUR - DAY,
            to: T0 + 2 * HOUR
        }
    );
    let api = risk.iter().find(|r| r.service == "api").unwrap();
    assert_eq!(api.windows.len(), 13);
    assert_eq!(api.latest_score, 32.0);
    assert!(
        (api.rolling_average - 26.0).abs() < 1e-9,
        "{}",
        api.rolling_average
    );
    assert!((api.slope_per_hour.unwrap() - 6.0).abs() < 1e-9);
    let db_risk = risk.iter().find(|r| r.service == "db").unwrap();
    // Only the newest daily window is within 24 h; the average covers days 3..=9.
    assert_eq!(db_risk.windows.len(), 1);
    assert_eq!(db_risk.latest_score, 90.0);
    assert!(
        (db_risk.rolling_average - 60.0).abs() < 1e-9,
        "{}",
        db_risk.rolling_average
    );
    assert_eq!(db_risk.slope_per_hour, None);
    // Over 10 days the db series climbs 10 points a day.
    let (_, long) = analytics::service_risk(&wh, &a, Some("db"), Duration::from_secs(10 * 86400))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(long.len(), 1);
    assert!((long[0].slope_per_hour.unwrap() - 10.0 / 24.0).abs() < 1e-9);

    // Ranking by the latest window of each service.
    let ranked = analytics::rank_projects(&wh).await.unwrap();
    let summary: Vec<(String, f64, String, usize)> = ranked
        .iter()
        .map(|p| {
            (
                p.project.clone(),
                p.score,
                p.riskiest_service.clone(),
                p.services,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (b.clone(), 95.0, "web".to_string(), 1),
            (a.clone(), 90.0, "db".to_string(), 2),
            (c.clone(), 50.0, "x".to_string(), 2),
        ]
    );

    // Rollups equal aggregates over FINAL despite the replay, and after re-running the
    // backfill (what upgrading an existing database does).
    for pass in ["after the replay", "after re-running the backfill"] {
        let (rollup, direct) = rollup_vs_final(
            &wh,
            "risk_hourly",
            "hour",
            "toStartOfHour(window_start, 'UTC')",
        )
        .await;
        assert_buckets_equal(&rollup, &direct, &format!("hourly {pass}"));
        assert_eq!(
            rollup.iter().map(|b| b.windows).sum::<u64>(),
            windows.len() as u64
        );
        let (rollup, direct) =
            rollup_vs_final(&wh, "risk_daily", "day", "toDate(window_start, 'UTC')").await;
        assert_buckets_equal(&rollup, &direct, &format!("daily {pass}"));
        assert_eq!(
            rollup.iter().map(|b| b.windows).sum::<u64>(),
            windows.len() as u64
        );
        for stmt in rollup_statements(&wh).await {
            if stmt.starts_with("INSERT") {
                run_sql(&wh, &stmt).await;
            }
        }
    }
    // Same after the parts merge.
    run_sql(&wh, "OPTIMIZE TABLE risk_hourly_state FINAL").await;
    let (rollup, direct) = rollup_vs_final(
        &wh,
        "risk_hourly",
        "hour",
        "toStartOfHour(window_start, 'UTC')",
    )
    .await;
    assert_buckets_equal(&rollup, &direct, "hourly after merging");
}

#[tokio::test]
async fn top_templates_by_errors_counts_each_window_once() {
    let Some((_, ch)) = services() else {
        return;
    };
    let db = unique("templates");
    let wh = warehouse(&ch, &db);
    // A database without the table says so.
    run_sql(&warehouse(&ch, "default"), &format!("CREATE DATABASE {db}")).await;
    let err = analytics::top_templates_by_errors(&wh, "p", TimeRange::all(), 5)
        .await
        .unwrap_err();
    assert!(
        err.downcast_ref::<TemplatesTableMissing>().is_some(),
        "{err}"
    );

    migrate(&wh).await;
    let t = |service: &str, start: u32, id: &str, events: u64, errors: u64| {
        TableRow::WindowTemplate(WindowTemplate {
            project: "p".into(),
            service: service.into(),
            window_start_ms: i64::from(start) * 1000,
            window_id: format!("p/{service}/{start}"),
            template_id: id.into(),
            template: format!("template {id} <*>"),
            events,
            errors,
            is_new: false,
        })
    };
    let rows = vec![
        t("api", T0, "t1", 10, 5),
        t("api", T0 + MIN, "t1", 10, 3),
        t("db", T0, "t1", 1, 0),
        t("api", T0, "t2", 7, 7),
        t("api", T0, "t3", 50, 0),
        t("api", T0 + DAY, "t2", 9, 9),
    ];
    wh.write(&rows, 1).await.unwrap();
    wh.write(&rows, 2).await.unwrap();
    let top = analytics::top_templates_by_errors(
        &wh,
        "p",
        TimeRange {
            from: T0,
            to: T0 + HOUR,
        },
        10,
    )
    .await
    .unwrap();
    let got: Vec<(&str, u64, u64, u32, u32)> = top
        .iter()
        .map(|x| {
            (
                x.template_id.as_str(),
                x.errors,
                x.events,
                x.first_seen,
                x.last_seen,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("t1", 8, 21, T0, T0 + MIN),
            ("t2", 7, 7, T0, T0),
            ("t3", 0, 50, T0, T0)
        ]
    );
    assert_eq!(top[0].template, "template t1 <*>");
    let top1 = analytics::top_templates_by_errors(&wh, "p", TimeRange::all(), 1)
        .await
        .unwrap();
    assert_eq!(top1.len(), 1);
    assert_eq!((top1[0].template_id.as_str(), top1[0].errors), ("t2", 16));
}

#[tokio::test]
async fn risk_and_export_commands_print_the_api_results() {
    let Some((_, ch)) = services() else {
        return;
    };
    let db = unique("cli");
    let wh = warehouse(&ch, &db);
    migrate(&wh).await;
    let (a, b, c) = (unique("a"), unique("b"), unique("c"));
    let windows = fixture(&a, &b, &c);
    let rows: Vec<TableRow> = windows.iter().cloned().map(TableRow::RiskWindow).collect();
    wh.write(&rows, 1).await.unwrap();
    wh.write(&rows, 2).await.unwrap();

    let cloudsage = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_cloudsage"))
            .args(args)
            .env("CLOUDSAGE_CLICKHOUSE__URL", &ch)
            .env("CLOUDSAGE_CLICKHOUSE__DATABASE", &db)
            .env_remove("CLOUDSAGE_KAFKA__BROKERS")
            .env_remove("CLOUDSAGE_CONFIG")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let table = cloudsage(&["risk", &a, "--since", "24h"]);
    let line = |service: &str| {
        table
            .lines()
            .find(|l| l.starts_with(&format!("{service} ")))
            .unwrap_or_else(|| panic!("no {service} line in\n{table}"))
            .split_whitespace()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    // service, windows, latest, 7d avg, slope/h, sparkline
    assert_eq!(
        line("api")[..5],
        ["api", "13", "32.0", "26.0", "+6.00"],
        "{table}"
    );
    assert_eq!(line("db")[..5], ["db", "1", "90.0", "60.0", "-"], "{table}");
    // The climb shows in the sparkline: 13 windows from 20 to 32 points.
    assert_eq!(line("api")[5].chars().count(), 13);
    let only = cloudsage(&["risk", &a, "--service", "db"]);
    assert!(only.contains("\ndb ") && !only.contains("\napi "), "{only}");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a.csv");
    cloudsage(&["export", &a, "--out", file.to_str().unwrap()]);
    let mut csv = csv::Reader::from_path(&file).unwrap();
    assert_eq!(
        csv.headers().unwrap().iter().collect::<Vec<_>>(),
        cloudsage::export::HEADER
    );
    let records: Vec<csv::StringRecord> = csv.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 23, "each window once despite the replay");
    let first_api = records.iter().find(|r| &r[1] == "api").unwrap();
    assert_eq!(&first_api[2], "2026-01-01T00:00:00Z");
    assert_eq!(&first_api[5], "20");
    // A label with a comma and quotes survives the round trip.
    assert_eq!(&first_api[10], "High Error Rate, \"check\"");
    assert_eq!(&first_api[12], "error_rate=15|log_volume=5");
    // --since keeps the span before the newest window; stdout without --out.
    let recent = cloudsage(&["export", &a, "--since", "1h"]);
    let recent: Vec<csv::StringRecord> = csv::Reader::from_reader(recent.as_bytes())
        .records()
        .map(Result::unwrap)
        .collect();
    assert_eq!(recent.len(), 7, "api windows from T0+1h to T0+2h");
}
