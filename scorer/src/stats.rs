//! What an open window accumulates from its events, in bounded memory.

use crate::event::Event;
use logparse::TemplateId;
use std::collections::HashMap;

/// Distinct templates tracked per window; further ones are only counted.
pub const MAX_TEMPLATES_PER_WINDOW: usize = 256;

/// Latency histogram: bucket `i` holds latencies below `FIRST_BUCKET_MS · GROWTH^i`
/// (±12.5 % resolution from 1 ms to ~17 min), so percentiles cost 64 counters per window.
const BUCKETS: usize = 64;
const FIRST_BUCKET_MS: f64 = 1.0;
const GROWTH: f64 = 1.25;

/// Count and error count of one template in a window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TemplateCount {
    pub template: String,
    pub events: u64,
    pub errors: u64,
}

/// Per-window accumulator.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WindowStats {
    pub events: i64,
    pub errors: i64,
    pub warnings: i64,
    pub late: i64,
    /// Events matching an `ignore` pattern: counted here, never scored.
    pub ignored: i64,
    latency: Option<Box<[u32; BUCKETS]>>,
    pub latency_samples: u64,
    /// Highest memory / CPU pressure seen (0..1).
    pub memory_max: Option<f64>,
    pub cpu_max: Option<f64>,
    pub templates: HashMap<TemplateId, TemplateCount>,
    /// Events whose template did not fit in `templates`.
    pub untracked_template_events: u64,
}

impl WindowStats {
    pub fn add(&mut self, e: &Event) {
        self.events += 1;
        let is_error = e.is_error();
        self.errors += i64::from(is_error);
        self.warnings += i64::from(e.is_warning());
        if let Some(ms) = e.features.latency_ms.filter(|v| v.is_finite() && *v >= 0.0) {
            let h = self.latency.get_or_insert_with(|| Box::new([0; BUCKETS]));
            h[bucket_of(ms)] += 1;
            self.latency_samples += 1;
        }
        if let Some(m) = e.features.memory_pressure.filter(|v| v.is_finite()) {
            self.memory_max = Some(self.memory_max.map_or(m, |x| x.max(m)));
        }
        if let Some(c) = e.features.cpu_pressure.filter(|v| v.is_finite()) {
            self.cpu_max = Some(self.cpu_max.map_or(c, |x| x.max(c)));
        }
        if let Some((id, text)) = &e.template {
            let tracked = self.templates.len() < MAX_TEMPLATES_PER_WINDOW;
            match self.templates.get_mut(id) {
                Some(t) => {
                    t.events += 1;
                    t.errors += u64::from(is_error);
                }
                None if tracked => {
                    self.templates.insert(
                        *id,
                        TemplateCount {
                            template: text.clone(),
                            events: 1,
                            errors: u64::from(is_error),
                        },
                    );
                }
                None => self.untracked_template_events += 1,
            }
        }
    }

    /// The fraction of errors (WARN counting half), 0 without events.
    pub fn error_rate(&self) -> f64 {
        if self.events > 0 {
            (self.errors as f64 + 0.5 * self.warnings as f64) / self.events as f64
        } else {
            0.0
        }
    }

    /// The `q` quantile (0..1) of latency, from the histogram's bucket upper bounds.
    pub fn latency_quantile(&self, q: f64) -> Option<f64> {
        let h = self.latency.as_ref()?;
        let rank = ((self.latency_samples as f64) * q.clamp(0.0, 1.0))
            .ceil()
            .max(1.0) as u64;
        let mut seen = 0u64;
        for (i, c) in h.iter().enumerate() {
            seen += u64::from(*c);
            if seen >= rank {
                return Some(bucket_upper(i));
            }
        }
        Some(bucket_upper(BUCKETS - 1))
    }
}

fn bucket_of(ms: f64) -> usize {
    if ms < FIRST_BUCKET_MS {
        return 0;
    }
    (((ms / FIRST_BUCKET_MS).ln() / GROWTH.ln()).floor() as usize + 1).min(BUCKETS - 1)
}

fn bucket_upper(i: usize) -> f64 {
    FIRST_BUCKET_MS * GROWTH.powi(i as i32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use logparse::Features;

    fn ev(latency: Option<f64>) -> Event {
        Event {
            project: "p".into(),
            service: "s".into(),
            time_ms: 0,
            severity: None,
            features: Features {
                latency_ms: latency,
                ..Default::default()
            },
            template: Some((TemplateId(1), "t".into())),
            ignored: false,
            ingest_id: None,
        }
    }

    #[test]
    fn latency_p95_is_within_bucket_resolution() {
        let mut s = WindowStats::default();
        for i in 1..=100 {
            s.add(&ev(Some(i as f64 * 10.0)));
        }
        let p95 = s.latency_quantile(0.95).unwrap();
        assert!((950.0..=950.0 * 1.25).contains(&p95), "{p95}");
        assert_eq!(s.templates[&TemplateId(1)].events, 100);
    }

    #[test]
    fn no_latency_no_quantile_and_odd_values_are_ignored() {
        let mut s = WindowStats::default();
        s.add(&ev(None));
        s.add(&ev(Some(f64::NAN)));
        s.add(&ev(Some(-3.0)));
        assert_eq!(s.latency_quantile(0.95), None);
        s.add(&ev(Some(1e12)));
        assert!(s.latency_quantile(0.5).unwrap() > 1e5);
    }

    #[test]
    fn templates_beyond_the_cap_are_counted_not_kept() {
        let mut s = WindowStats::default();
        for i in 0..(MAX_TEMPLATES_PER_WINDOW as u64 + 10) {
            let mut e = ev(None);
            e.template = Some((TemplateId(i), format!("t{i}")));
            s.add(&e);
        }
        assert_eq!(s.templates.len(), MAX_TEMPLATES_PER_WINDOW);
        assert_eq!(s.untracked_template_events, 10);
    }
}
