//! Backtest on synthetic series: feeds four days of windows through the forecaster's series
//! logic and prints its rolling MAE at 1 h and at the horizon, next to a naive forecast
//! ("the score stays where it is") checked the same way.
//!
//! `cargo run --release -p forecaster --example backtest [window_seconds] [horizon_hours]`

use cloudsage_schemas::ScoredWindow;
use forecaster::backtest::{Backtest, LeadError};
use forecaster::history::HOUR_MS;
use forecaster::series::{Series, Settings};

fn main() {
    let mut args = std::env::args().skip(1);
    let window_s: i64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(60);
    let horizon: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(24);
    let settings = Settings {
        horizon_hours: horizon,
        history_windows: 30,
        history_hours: 72,
        backtest_checks: 1_000_000,
    };
    let windows = 4 * 24 * 3600 / window_s;
    println!(
        "{windows} windows of {window_s} s per series (4 days), horizon {horizon} h; MAE over \
         every check (naive = last score)"
    );
    println!(
        "{:<18} {:>14} {:>14} {:>14} {:>14}",
        "series", "MAE 1h", "naive 1h", "MAE horizon", "naive horizon"
    );
    for (name, f) in SERIES {
        let mut series = Series::new(&settings);
        let mut naive = Backtest::new(&[HOUR_MS, i64::from(horizon) * HOUR_MS], 1_000_000);
        for i in 0..windows {
            let (start, end) = (i * window_s * 1000, (i + 1) * window_s * 1000);
            let hours = start as f64 / HOUR_MS as f64;
            let score = f(hours, noise(i as u64)).clamp(0.0, 100.0);
            series.observe(i, window(i, start, end, score));
            naive.observe(start, end, score);
            naive.file(start, end, i, |_| score);
        }
        let (m, n) = (series.backtest().errors(), naive.errors());
        println!(
            "{name:<18} {:>14} {:>14} {:>14} {:>14}",
            fmt(m[0]),
            fmt(n[0]),
            fmt(*m.last().unwrap()),
            fmt(*n.last().unwrap())
        );
    }
}

type Gen = fn(f64, f64) -> f64;

const SERIES: [(&str, Gen); 4] = [
    ("flat + noise", |_, n| 20.0 + 3.0 * n),
    ("daily sine", |h, n| 40.0 + 25.0 * day(h) + 3.0 * n),
    ("sine + slow rise", |h, n| {
        20.0 + 0.3 * h + 15.0 * day(h) + 3.0 * n
    }),
    ("incident day 3", |h, n| {
        let incident = if (60.0..66.0).contains(&h) { 50.0 } else { 0.0 };
        25.0 + 10.0 * day(h) + incident + 3.0 * n
    }),
];

fn day(hours: f64) -> f64 {
    (2.0 * std::f64::consts::PI * hours / 24.0).sin()
}

/// Deterministic noise in [-1, 1].
fn noise(i: u64) -> f64 {
    let mut s = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    s ^= s >> 33;
    s = s.wrapping_mul(0xff51_afd7_ed55_8ccd);
    s ^= s >> 33;
    (s % 20_001) as f64 / 10_000.0 - 1.0
}

fn fmt(e: LeadError) -> String {
    match e.mae {
        Some(m) => format!("{m:.2} ({})", e.comparisons),
        None => "-".into(),
    }
}

fn window(i: i64, start: i64, end: i64, score: f64) -> ScoredWindow {
    ScoredWindow {
        window_id: format!("w{i}"),
        project: "demo".into(),
        service: "api".into(),
        window_start_ms: start,
        window_end_ms: end,
        score,
        factors: vec![],
        labels: vec![],
        top_factors: vec![],
        event_count: 100,
        error_count: 0,
        warn_count: 0,
        late_count: 0,
    }
}
