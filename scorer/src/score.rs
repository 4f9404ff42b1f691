//! A closed window's statistics, against its series' baseline → the risk score.
//!
//! Each factor gets a *level* in 0..1, and `points = weight · level`. The level blends an
//! absolute judgement (is this bad for any service?) with a relative one (is this unusual
//! for *this* service, given its last ~30 windows?):
//!
//! `level = ½·absolute + ½·relative` once the baseline is warm (5 windows), `absolute`
//! before. `relative = clamp((z − 2) / 3, 0, 1)`: nothing below two standard deviations above
//! the series' mean, full at five (for rates, the window's binomial sampling noise is added
//! to the baseline's spread, so a 60-line window with 3 errors is not a 4-sigma event). So a service that always logs 10 % errors settles at half
//! its absolute error level, and a quiet one that jumps from 0.1 % to 3 % still rises.
//!
//! | factor     | weight | value                         | absolute level                 |
//! |------------|--------|-------------------------------|--------------------------------|
//! | error_rate | 40     | (errors + ½·warnings) / events| value / 0.20                   |
//! | log_volume | 25     | events                        | none (relative only, on ln(1+n))|
//! | latency    | 20     | p95 latency, ms               | (p95 − ok) / (bad − ok), 500/5000 ms |
//! | memory     | 10     | highest memory pressure 0..1  | (m − 0.75) / 0.20; OOM = 1     |
//! | cpu        | 5      | highest CPU pressure 0..1     | (c − 0.70) / 0.25              |
//! | novelty    | +10    | templates new to the series   | ¼ per new template, ½ per new error template |
//!
//! Novelty counts only once the series is warm (everything is new at first) and is added on
//! top of the five product factors; the total is capped at 100.

use crate::baseline::SeriesBaseline;
use crate::stats::WindowStats;
use cloudsage_runtime::config::ScoringConfig;
use cloudsage_schemas::Factor;

/// Error fraction at which the absolute error level is full.
pub const SATURATING_ERROR_RATE: f64 = 0.20;

/// Least standard deviation assumed per baseline, so a perfectly steady series does not
/// turn every wobble into a huge z (units: fraction; ln(1+lines); ln(1+ms); pressure).
pub mod floors {
    pub const ERROR_RATE: f64 = 0.002;
    pub const VOLUME: f64 = 0.25;
    pub const LATENCY: f64 = 0.2;
    pub const PRESSURE: f64 = 0.05;
}

/// What the scorer knows about a window when it closes.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Novelty {
    pub new_templates: u32,
    pub new_error_templates: u32,
}

/// Score and explanation of a window.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    pub score: f64,
    pub factors: Vec<Factor>,
    pub labels: Vec<String>,
    pub top_factors: Vec<String>,
}

fn clamp01(x: f64) -> f64 {
    if x.is_nan() {
        0.0
    } else {
        x.clamp(0.0, 1.0)
    }
}

/// Nothing up to two standard deviations (small windows wobble that much), full at five.
fn relative(z: Option<f64>) -> Option<f64> {
    z.map(|z| clamp01((z - 2.0) / 3.0))
}

fn blend(absolute: f64, relative: Option<f64>) -> f64 {
    match relative {
        Some(r) => 0.5 * absolute + 0.5 * r,
        None => absolute,
    }
}

/// Sampling variance of a rate near `p` measured on `n` lines.
fn binomial_var(p: f64, n: i64) -> f64 {
    if n <= 0 {
        return 0.0;
    }
    let n = n as f64;
    let p = p.clamp(1.0 / n, 1.0);
    p * (1.0 - p) / n
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

pub fn assess(
    s: &WindowStats,
    b: &SeriesBaseline,
    novelty: Novelty,
    cfg: &ScoringConfig,
) -> Assessment {
    let w = &cfg.weights;
    let error_rate = s.error_rate();
    let error_level = blend(
        clamp01(error_rate / SATURATING_ERROR_RATE),
        relative(b.error_rate.z_with_noise(
            error_rate,
            floors::ERROR_RATE,
            binomial_var(b.error_rate.mean, s.events),
        )),
    );

    let volume_z = b.volume.z((s.events as f64).ln_1p(), floors::VOLUME);
    // A surge counts fully, a collapse (the service went quiet) at half weight.
    let volume_level = match volume_z {
        Some(z) if z >= 0.0 => clamp01((z - 2.0) / 3.0),
        Some(z) => 0.5 * clamp01((-z - 2.0) / 3.0),
        None => 0.0,
    };

    let p95 = s.latency_quantile(0.95);
    let latency_level = p95.map_or(0.0, |p| {
        let span = (cfg.latency_bad_ms - cfg.latency_ok_ms).max(1.0);
        blend(
            clamp01((p - cfg.latency_ok_ms) / span),
            relative(b.latency.z(p.ln_1p(), floors::LATENCY)),
        )
    });

    let memory_level = s.memory_max.map_or(0.0, |m| {
        blend(
            clamp01((m - 0.75) / 0.20),
            relative(b.memory.z(m, floors::PRESSURE)),
        )
    });
    let cpu_level = s.cpu_max.map_or(0.0, |c| {
        blend(
            clamp01((c - 0.70) / 0.25),
            relative(b.cpu.z(c, floors::PRESSURE)),
        )
    });
    let novelty_level = if b.is_warm() {
        clamp01(
            0.25 * f64::from(novelty.new_templates) + 0.5 * f64::from(novelty.new_error_templates),
        )
    } else {
        0.0
    };

    let factor = |name: &str, value: f64, level: f64, max: f64| Factor {
        name: name.into(),
        value,
        points: round1(max * level),
        max_points: max,
    };
    let factors = vec![
        factor("error_rate", error_rate, error_level, w.error_rate),
        factor("log_volume", s.events as f64, volume_level, w.log_volume),
        factor("latency", p95.unwrap_or(0.0), latency_level, w.latency),
        factor(
            "memory",
            s.memory_max.unwrap_or(0.0),
            memory_level,
            w.memory,
        ),
        factor("cpu", s.cpu_max.unwrap_or(0.0), cpu_level, w.cpu),
        factor(
            "novelty",
            f64::from(novelty.new_templates),
            novelty_level,
            w.novelty,
        ),
    ];
    let score = round1(
        factors
            .iter()
            .map(|f| f.points)
            .sum::<f64>()
            .clamp(0.0, 100.0),
    );

    let mut labels = vec![];
    if error_level >= 0.5 && error_rate >= 0.05 {
        labels.push("High Error Rate");
    }
    if volume_z.is_some_and(|z| z >= 3.0) {
        labels.push("Log Volume Surge");
    }
    if latency_level >= 0.5 {
        labels.push("Latency Spike");
    }
    if s.memory_max.is_some_and(|m| m >= 0.9) {
        labels.push("Memory Pressure");
    }
    if s.cpu_max.is_some_and(|c| c >= 0.9) {
        labels.push("CPU Saturation");
    }
    if b.is_warm() && novelty.new_error_templates > 0 {
        labels.push("New Error Signature");
    }

    let mut ranked: Vec<&Factor> = factors.iter().filter(|f| f.points > 0.0).collect();
    ranked.sort_by(|a, b| b.points.total_cmp(&a.points).then(a.name.cmp(&b.name)));
    let top_factors = ranked
        .iter()
        .take(3)
        .map(|f| format!("{}={} (+{})", f.name, display_value(f), f.points))
        .collect();
    Assessment {
        score,
        factors,
        labels: labels.into_iter().map(String::from).collect(),
        top_factors,
    }
}

fn display_value(f: &Factor) -> String {
    match f.name.as_str() {
        "error_rate" | "memory" | "cpu" => format!("{:.1}%", f.value * 100.0),
        "latency" => format!("{:.0}ms", f.value),
        _ => format!("{}", f.value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baseline::EwStats;
    use crate::event::Event;
    use logparse::{Features, Severity};

    fn window(events: i64, errors: i64, warnings: i64) -> WindowStats {
        let mut w = WindowStats::default();
        (w.events, w.errors, w.warnings) = (events, errors, warnings);
        w
    }

    fn warm(error_rate: f64, events: f64) -> SeriesBaseline {
        let mut b = SeriesBaseline::default();
        for i in 0..30 {
            // A little wobble, as real series have.
            let j = if i % 2 == 0 { 0.9 } else { 1.1 };
            b.error_rate.update(error_rate * j);
            b.volume.update((events * j).ln_1p());
            b.windows += 1;
        }
        b
    }

    fn cfg() -> ScoringConfig {
        ScoringConfig::default()
    }

    #[test]
    fn worked_example_from_the_readme() {
        // 200 lines, 16 errors, 8 warnings → error rate 0.10; no baseline yet:
        // error level = 0.10 / 0.20 = 0.5 → 20 of 40 points; nothing else → score 20.
        let a = assess(
            &window(200, 16, 8),
            &SeriesBaseline::default(),
            Novelty::default(),
            &cfg(),
        );
        assert_eq!(a.score, 20.0);
        assert_eq!(a.labels, vec!["High Error Rate"]);
        assert_eq!(a.top_factors, vec!["error_rate=10.0% (+20)"]);
        // The same window for a series that always runs at ~10 % errors: relative level 0,
        // so half the points.
        let a = assess(
            &window(200, 16, 8),
            &warm(0.10, 200.0),
            Novelty::default(),
            &cfg(),
        );
        assert_eq!(a.score, 10.0);
        assert!(a.labels.is_empty());
    }

    #[test]
    fn a_quiet_service_that_jumps_rises_more_than_a_noisy_one_at_the_same_rate() {
        let w = window(1000, 30, 0); // 3 %
        let quiet = assess(&w, &warm(0.001, 1000.0), Novelty::default(), &cfg());
        let noisy = assess(&w, &warm(0.03, 1000.0), Novelty::default(), &cfg());
        assert!(
            quiet.score > noisy.score + 10.0,
            "{} vs {}",
            quiet.score,
            noisy.score
        );
    }

    #[test]
    fn volume_surge_and_collapse() {
        let b = warm(0.0, 100.0);
        let surge = assess(&window(2000, 0, 0), &b, Novelty::default(), &cfg());
        assert_eq!(surge.labels, vec!["Log Volume Surge"]);
        assert_eq!(surge.score, 25.0);
        let normal = assess(&window(105, 0, 0), &b, Novelty::default(), &cfg());
        assert_eq!(normal.score, 0.0);
        let quiet = assess(&window(3, 0, 0), &b, Novelty::default(), &cfg());
        assert!(quiet.score > 0.0 && quiet.score <= 12.5, "{}", quiet.score);
    }

    #[test]
    fn latency_memory_cpu_and_novelty_have_their_labels() {
        let mut s = window(10, 0, 0);
        for ms in [100.0, 200.0, 9000.0, 9000.0] {
            s.add(&Event {
                project: "p".into(),
                service: "s".into(),
                time_ms: 0,
                severity: Some(Severity::Info),
                features: Features {
                    latency_ms: Some(ms),
                    memory_pressure: Some(1.0),
                    cpu_pressure: Some(0.97),
                    ..Default::default()
                },
                template: None,
                ignored: false,
                ingest_id: None,
            });
        }
        let b = warm(0.0, 14.0);
        let n = Novelty {
            new_templates: 2,
            new_error_templates: 1,
        };
        let a = assess(&s, &b, n, &cfg());
        for l in [
            "Latency Spike",
            "Memory Pressure",
            "CPU Saturation",
            "New Error Signature",
        ] {
            assert!(
                a.labels.contains(&l.to_string()),
                "{l} missing in {:?}",
                a.labels
            );
        }
        // Cold baselines: absolute levels only → latency 20, memory 10, cpu 5·(0.27/0.25→1).
        let cold = assess(&s, &SeriesBaseline::default(), n, &cfg());
        assert_eq!(cold.score, 35.0);
        assert!(!cold.labels.contains(&"New Error Signature".to_string()));
        assert_eq!(a.top_factors.len(), 3);
    }

    #[test]
    fn scores_stay_in_range_on_degenerate_input() {
        let b = SeriesBaseline {
            windows: 100,
            error_rate: EwStats {
                mean: f64::MAX,
                var: f64::INFINITY,
                n: 100,
                skipped: 0,
            },
            ..Default::default()
        };
        for s in [window(0, 0, 0), window(1, 5, 5), window(-3, 0, 0)] {
            let a = assess(&s, &b, Novelty::default(), &cfg());
            assert!((0.0..=100.0).contains(&a.score), "{}", a.score);
        }
    }

    #[test]
    fn weights_come_from_config() {
        let mut c = cfg();
        c.weights.error_rate = 80.0;
        let a = assess(
            &window(200, 16, 8),
            &SeriesBaseline::default(),
            Novelty::default(),
            &c,
        );
        assert_eq!(a.score, 40.0);
    }
}
