//! What `cloudsage run` prints: the risk timeline per service, the latest forecast with its
//! actions, and the alerts.

use cloudsage_runtime::rows::{severity_name, status_name};
use cloudsage_schemas::topics::{ALERTS, FORECASTS, WINDOWS_SCORED};
use cloudsage_schemas::{Alert, Forecast, Message as _, ScoredWindow};
use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;

/// Output topics are at-least-once: records are kept once per id.
#[derive(Default)]
pub struct Report {
    pub windows: Vec<ScoredWindow>,
    pub forecasts: Vec<Forecast>,
    pub alerts: Vec<Alert>,
    pub dead_letters: usize,
    seen: HashSet<String>,
}

impl Report {
    /// Adds a record seen on one of the output topics.
    pub fn add(&mut self, topic: &str, payload: &[u8]) {
        let mut first = |id: &str| self.seen.insert(format!("{topic}/{id}"));
        match topic {
            WINDOWS_SCORED => {
                if let Some(w) = ScoredWindow::decode(payload)
                    .ok()
                    .filter(|w| first(&w.window_id))
                {
                    self.windows.push(w);
                }
            }
            FORECASTS => {
                if let Some(f) = Forecast::decode(payload)
                    .ok()
                    .filter(|f| first(&f.forecast_id))
                {
                    self.forecasts.push(f);
                }
            }
            ALERTS => {
                if let Some(a) = Alert::decode(payload).ok().filter(|a| first(&a.alert_id)) {
                    self.alerts.push(a);
                }
            }
            t if t.ends_with(".dlq") => self.dead_letters += 1,
            _ => {}
        }
    }

    /// Windows, forecasts and alerts of `project` collected so far.
    pub fn len_for(&self, project: &str) -> usize {
        self.windows.iter().filter(|w| w.project == project).count()
            + self
                .forecasts
                .iter()
                .filter(|f| f.project == project)
                .count()
            + self.alerts.iter().filter(|a| a.project == project).count()
    }

    pub fn render(&self) -> String {
        let mut s = String::new();
        let mut by_service: BTreeMap<(&str, &str), Vec<&ScoredWindow>> = BTreeMap::new();
        for w in &self.windows {
            by_service
                .entry((&w.project, &w.service))
                .or_default()
                .push(w);
        }
        let _ = writeln!(s, "== Risk timeline ({} windows) ==", self.windows.len());
        let _ = writeln!(
            s,
            "{:<24} {:>7} {:>6} {:>6}  per-window score (0-100)",
            "project/service", "windows", "peak", "last"
        );
        for ((p, svc), ws) in &mut by_service {
            ws.sort_by_key(|w| w.window_start_ms);
            let peak = ws.iter().map(|w| w.score).fold(0.0, f64::max);
            let last = ws.last().map_or(0.0, |w| w.score);
            let _ = writeln!(
                s,
                "{:<24} {:>7} {:>6.0} {:>6.0}  {}",
                format!("{p}/{svc}"),
                ws.len(),
                peak,
                last,
                sparkline(ws)
            );
        }
        let _ = writeln!(s, "\n== Latest forecast per service ==");
        let mut latest: BTreeMap<(&str, &str), &Forecast> = BTreeMap::new();
        for f in &self.forecasts {
            let e = latest.entry((&f.project, &f.service)).or_insert(f);
            if f.generated_at_ms >= e.generated_at_ms {
                *e = f;
            }
        }
        for ((p, svc), f) in &latest {
            let _ = writeln!(
                s,
                "{p}/{svc}: in {} h risk {:.0} [{:.0}-{:.0}], trend {:+.1}/h, confidence {:.2}, chain {}",
                f.horizon_hours, f.predicted_score, f.lower, f.upper, f.trend_per_hour, f.confidence, f.chain
            );
            for step in &f.chain_steps {
                let _ = writeln!(s, "    · {}: {}", step.name, step.detail);
            }
            for (i, a) in f.actions.iter().enumerate() {
                let _ = writeln!(
                    s,
                    "    {}. [{} within {} h] {}",
                    i + 1,
                    a.kind,
                    a.deadline_hours,
                    a.title
                );
            }
        }
        let _ = writeln!(s, "\n== Alerts ({}) ==", self.alerts.len());
        for a in &self.alerts {
            let _ = writeln!(
                s,
                "{:<8} {:<8} {}  {}",
                status_name(a.status),
                severity_name(a.severity),
                a.alert_id,
                a.summary
            );
        }
        if self.dead_letters > 0 {
            let _ = writeln!(
                s,
                "\n{} records went to dead-letter topics",
                self.dead_letters
            );
        }
        s
    }
}

/// One block character per window.
pub fn sparkline(ws: &[&ScoredWindow]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    ws.iter()
        .map(|w| BARS[((w.score.clamp(0.0, 100.0) / 100.0) * 7.0).round() as usize])
        .collect()
}
