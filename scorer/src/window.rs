//! Event-time tumbling windows per (project, service), each series with its own watermark:
//! the newest event time seen for the series minus the allowed lateness (or further, after an
//! idle flush). A window `[start, start + size)` closes once its end is at or below the
//! series' watermark; an event for a closed window is late: it is counted (in the series'
//! next window and in a metric), never silently dropped. One series' timestamps never make
//! another's events late, so a backfilled file and live traffic can share a partition.

use crate::baseline::SeriesBaseline;
use crate::dedup::RecentRequests;
use crate::event::Event;
use crate::rules::Rules;
use crate::score::{assess, Novelty};
use crate::stats::WindowStats;
use cloudsage_runtime::WindowTemplate;
use cloudsage_schemas::{stable_id, ScoredWindow};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Templates stored per window (the most erroneous, then the most frequent; new ones always).
pub const TOP_TEMPLATES: usize = 10;

/// A window the scorer has closed: the record for `windows.scored` and its template rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Closed {
    pub window: ScoredWindow,
    pub templates: Vec<WindowTemplate>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowConfig {
    pub size_ms: i64,
    pub allowed_lateness_ms: i64,
    pub idle_flush_ms: i64,
}

type SeriesKey = (String, String);

#[derive(Debug, Default, Clone)]
struct OpenWindow {
    stats: WindowStats,
    /// Lowest input offset contributing: consumption must restart here to rebuild it.
    first_offset: i64,
}

/// One series' windows and watermark.
#[derive(Debug, Default, Clone)]
struct Series {
    max_event_ms: Option<i64>,
    /// Windows ending at or before this were emitted (idle flush, or a restored checkpoint).
    closed_until_ms: i64,
    /// Windows ending at or before this were emitted by a previous owner (restored checkpoint).
    restored_until_ms: i64,
    /// Open windows by start, ascending. Almost always one or two, so a small sorted `Vec`
    /// (a `BTreeMap` node would cost kilobytes per series).
    open: Vec<(i64, OpenWindow)>,
    /// Late events waiting to be reported with the series' next window.
    late: i64,
    last_activity_ms: i64,
    /// What the series has learned from its closed windows.
    baseline: SeriesBaseline,
    /// Retryable requests seen lately, to count a retried request's lines once.
    requests: RecentRequests,
}

/// A series as kept in the checkpoint: its watermark and baseline.
#[derive(Debug, Serialize, Deserialize)]
struct SeriesCheckpoint {
    p: String,
    s: String,
    wm: i64,
    b: SeriesBaseline,
}

impl Series {
    fn restored(watermark_ms: i64, baseline: SeriesBaseline) -> Series {
        Series {
            closed_until_ms: watermark_ms,
            restored_until_ms: watermark_ms,
            baseline,
            ..Default::default()
        }
    }

    fn watermark_ms(&self, cfg: &WindowConfig) -> i64 {
        let from_events = self
            .max_event_ms
            .map_or(i64::MIN, |m| m.saturating_sub(cfg.allowed_lateness_ms));
        from_events.max(self.closed_until_ms)
    }
}

/// The windows of one input partition.
#[derive(Debug, Default, Clone)]
pub struct PartitionWindows {
    series: HashMap<SeriesKey, Series>,
}

/// What adding an event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    Counted,
    Late,
    /// Belongs to a window a previous owner already emitted (replay after restore).
    AlreadyEmitted,
    /// A line a retried request repeats (same ingest id): skipped, it was counted before.
    Duplicate,
}

impl PartitionWindows {
    /// Adds one event read at `offset`; windows it closes are appended to `closed`.
    pub fn add(
        &mut self,
        cfg: &WindowConfig,
        event: Event,
        offset: i64,
        now_ms: i64,
        rules: &Rules,
        closed: &mut Vec<Closed>,
    ) -> Added {
        let start = event.time_ms.div_euclid(cfg.size_ms) * cfg.size_ms;
        let end = start.saturating_add(cfg.size_ms);
        let key = (event.project.clone(), event.service.clone());
        let s = self.series.entry(key.clone()).or_default();
        if let Some((request, seq)) = event.ingest_id {
            let watermark = s.watermark_ms(cfg);
            if !s.requests.first_sight(request, seq, end, watermark) {
                return Added::Duplicate;
            }
        }
        s.last_activity_ms = now_ms;
        let outcome = if end <= s.restored_until_ms {
            Added::AlreadyEmitted
        } else if end <= s.watermark_ms(cfg) {
            s.late += 1;
            Added::Late
        } else {
            let i = match s.open.binary_search_by_key(&start, |(k, _)| *k) {
                Ok(i) => i,
                Err(i) => {
                    let w = OpenWindow {
                        stats: WindowStats::default(),
                        first_offset: offset,
                    };
                    s.open.insert(i, (start, w));
                    i
                }
            };
            let w = &mut s.open[i].1;
            if event.ignored {
                w.stats.ignored += 1;
            } else {
                w.stats.add(&event);
            }
            Added::Counted
        };
        if outcome != Added::AlreadyEmitted {
            s.max_event_ms = Some(
                s.max_event_ms
                    .map_or(event.time_ms, |m| m.max(event.time_ms)),
            );
            let watermark = s.watermark_ms(cfg);
            close_until(cfg, rules, &key, s, watermark, closed);
        }
        outcome
    }

    /// Closes the open windows of every series quiet for `idle_flush_ms` (processing time).
    pub fn flush_if_idle(
        &mut self,
        cfg: &WindowConfig,
        now_ms: i64,
        rules: &Rules,
        closed: &mut Vec<Closed>,
    ) {
        let mut keys: Vec<&SeriesKey> = self
            .series
            .iter()
            .filter(|(_, s)| {
                !s.open.is_empty() && now_ms.saturating_sub(s.last_activity_ms) >= cfg.idle_flush_ms
            })
            .map(|(k, _)| k)
            .collect();
        keys.sort();
        let keys: Vec<SeriesKey> = keys.into_iter().cloned().collect();
        for key in keys {
            if let Some(s) = self.series.get_mut(&key) {
                flush_series(cfg, rules, &key, s, closed);
            }
        }
    }

    /// Moves every series' last activity `by_ms` later: the time the input stalled does not
    /// count towards the idle flush.
    pub fn postpone_idle(&mut self, by_ms: i64) {
        for s in self.series.values_mut() {
            s.last_activity_ms = s.last_activity_ms.saturating_add(by_ms);
        }
    }

    /// Closes every open window (end of input).
    pub fn flush_all(&mut self, cfg: &WindowConfig, rules: &Rules, closed: &mut Vec<Closed>) {
        let mut keys: Vec<SeriesKey> = self.series.keys().cloned().collect();
        keys.sort();
        for key in keys {
            if let Some(s) = self.series.get_mut(&key) {
                flush_series(cfg, rules, &key, s, closed);
            }
        }
    }

    /// Lowest offset still needed to rebuild the open windows.
    pub fn retained_offset(&self) -> Option<i64> {
        self.series
            .values()
            .flat_map(|s| s.open.iter().map(|(_, w)| w.first_offset))
            .min()
    }

    /// Checkpoint: each series' watermark (its windows ending at or before it were emitted)
    /// and learned baseline, as JSON.
    pub fn checkpoint(&self, cfg: &WindowConfig) -> Option<String> {
        let mut entries: Vec<SeriesCheckpoint> = self
            .series
            .iter()
            .map(|((p, s), st)| SeriesCheckpoint {
                p: p.clone(),
                s: s.clone(),
                wm: st.watermark_ms(cfg),
                b: st.baseline.clone(),
            })
            .filter(|c| c.wm > i64::MIN)
            .collect();
        if entries.is_empty() {
            return None;
        }
        entries.sort_by(|a, b| (&a.p, &a.s).cmp(&(&b.p, &b.s)));
        serde_json::to_string(&entries).ok()
    }

    /// Restores a checkpoint written by a previous owner. Unreadable checkpoints restore
    /// nothing (the partition is then replayed as if new: at-least-once still holds).
    pub fn restore(checkpoint: &str) -> PartitionWindows {
        let entries: Vec<SeriesCheckpoint> = serde_json::from_str(checkpoint).unwrap_or_default();
        PartitionWindows {
            series: entries
                .into_iter()
                .map(|c| ((c.p, c.s), Series::restored(c.wm, c.b)))
                .collect(),
        }
    }
}

fn close_until(
    cfg: &WindowConfig,
    rules: &Rules,
    key: &SeriesKey,
    s: &mut Series,
    watermark: i64,
    closed: &mut Vec<Closed>,
) {
    while s
        .open
        .first()
        .is_some_and(|(start, _)| start.saturating_add(cfg.size_ms) <= watermark)
    {
        let (start, w) = s.open.remove(0);
        let late = std::mem::take(&mut s.late);
        closed.push(finish_window(
            cfg,
            rules,
            key,
            start,
            w,
            late,
            &mut s.baseline,
        ));
    }
}

fn flush_series(
    cfg: &WindowConfig,
    rules: &Rules,
    key: &SeriesKey,
    s: &mut Series,
    closed: &mut Vec<Closed>,
) {
    let horizon = s
        .open
        .last()
        .map(|(start, _)| *start)
        .map_or(s.closed_until_ms, |start| start.saturating_add(cfg.size_ms));
    close_until(cfg, rules, key, s, i64::MAX, closed);
    s.closed_until_ms = s.closed_until_ms.max(horizon);
}

/// Scores a window against the series' baseline, then teaches the baseline the window.
fn finish_window(
    cfg: &WindowConfig,
    rules: &Rules,
    (project, service): &SeriesKey,
    start: i64,
    w: OpenWindow,
    late: i64,
    baseline: &mut SeriesBaseline,
) -> Closed {
    let mut stats = w.stats;
    stats.late = late;
    let window_id = stable_id(&[
        project,
        service,
        &start.to_string(),
        &cfg.size_ms.to_string(),
    ]);
    let mut novelty = Novelty::default();
    let mut templates: Vec<WindowTemplate> = stats
        .templates
        .iter()
        .map(|(id, t)| {
            let is_new = !baseline.knows(id.0);
            if is_new {
                novelty.new_templates += 1;
                novelty.new_error_templates += u32::from(t.errors > 0);
            }
            WindowTemplate {
                project: project.clone(),
                service: service.clone(),
                window_start_ms: start,
                window_id: window_id.clone(),
                template_id: id.to_hex(),
                template: t.template.clone(),
                events: t.events,
                errors: t.errors,
                is_new: is_new && baseline.is_warm(),
            }
        })
        .collect();
    let a = assess(
        &stats,
        baseline,
        novelty,
        &rules.for_project(project).scoring,
    );
    // Keep the templates that explain the window: new ones, then by errors and count.
    templates.sort_by(|x, y| {
        (y.is_new, y.errors, y.events, &x.template_id).cmp(&(
            x.is_new,
            x.errors,
            x.events,
            &y.template_id,
        ))
    });
    templates.truncate(TOP_TEMPLATES.max(templates.iter().filter(|t| t.is_new).count()));

    learn(baseline, &stats);
    Closed {
        window: ScoredWindow {
            window_id,
            project: project.clone(),
            service: service.clone(),
            window_start_ms: start,
            window_end_ms: start + cfg.size_ms,
            score: a.score,
            factors: a.factors,
            labels: a.labels,
            top_factors: a.top_factors,
            event_count: stats.events,
            error_count: stats.errors,
            warn_count: stats.warnings,
            late_count: stats.late,
        },
        templates,
    }
}

fn learn(b: &mut SeriesBaseline, s: &WindowStats) {
    use crate::score::floors;
    b.error_rate
        .update_robust(s.error_rate(), floors::ERROR_RATE);
    b.volume
        .update_robust((s.events.max(0) as f64).ln_1p(), floors::VOLUME);
    if let Some(p95) = s.latency_quantile(0.95) {
        b.latency.update_robust(p95.ln_1p(), floors::LATENCY);
    }
    if let Some(m) = s.memory_max {
        b.memory.update_robust(m, floors::PRESSURE);
    }
    if let Some(c) = s.cpu_max {
        b.cpu.update_robust(c, floors::PRESSURE);
    }
    b.remember(s.templates.keys().map(|t| t.0));
    b.windows = b.windows.saturating_add(1);
}

#[cfg(test)]
mod tests {
    use super::*;
    use logparse::Severity;

    const CFG: WindowConfig = WindowConfig {
        size_ms: 60_000,
        allowed_lateness_ms: 10_000,
        idle_flush_ms: 30_000,
    };

    fn rules() -> Rules {
        Rules::new(&cloudsage_runtime::config::ScorerConfig::default()).unwrap()
    }

    fn ev(service: &str, t: i64, sev: Option<Severity>) -> Event {
        Event {
            project: "p".into(),
            service: service.into(),
            time_ms: t,
            features: Default::default(),
            template: None,
            ignored: false,
            ingest_id: None,
            severity: sev,
        }
    }

    #[test]
    fn window_closes_when_watermark_passes_its_end() {
        let mut pw = PartitionWindows::default();
        let mut out = vec![];
        pw.add(
            &CFG,
            ev("a", 1_000, Some(Severity::Error)),
            0,
            0,
            &rules(),
            &mut out,
        );
        pw.add(&CFG, ev("a", 30_000, None), 1, 0, &rules(), &mut out);
        // 65 s is inside the lateness of the first window's end (60 s + 10 s).
        pw.add(&CFG, ev("a", 65_000, None), 2, 0, &rules(), &mut out);
        assert!(out.is_empty());
        assert_eq!(pw.retained_offset(), Some(0));
        pw.add(&CFG, ev("a", 70_000, None), 3, 0, &rules(), &mut out);
        assert_eq!(out.len(), 1);
        let w = &out[0].window;
        assert_eq!((w.window_start_ms, w.window_end_ms), (0, 60_000));
        assert_eq!((w.event_count, w.error_count), (2, 1));
        assert_eq!(pw.retained_offset(), Some(2));
    }

    #[test]
    fn late_events_are_counted_in_the_next_window() {
        let mut pw = PartitionWindows::default();
        let mut out = vec![];
        pw.add(&CFG, ev("a", 1_000, None), 0, 0, &rules(), &mut out);
        pw.add(&CFG, ev("a", 75_000, None), 1, 0, &rules(), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(
            pw.add(&CFG, ev("a", 2_000, None), 2, 0, &rules(), &mut out),
            Added::Late
        );
        pw.flush_all(&CFG, &rules(), &mut out);
        assert_eq!(out.len(), 2);
        assert_eq!(
            (out[1].window.event_count, out[1].window.late_count),
            (1, 1)
        );
    }

    #[test]
    fn series_have_independent_watermarks() {
        // A backfill of old events next to live traffic in the same partition.
        let mut pw = PartitionWindows::default();
        let mut out = vec![];
        pw.add(&CFG, ev("live", 10_000_000, None), 0, 0, &rules(), &mut out);
        assert_eq!(
            pw.add(&CFG, ev("old", 1_000, None), 1, 0, &rules(), &mut out),
            Added::Counted
        );
        pw.add(&CFG, ev("old", 80_000, None), 2, 0, &rules(), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].window.service, "old");
    }

    #[test]
    fn out_of_order_within_lateness_is_counted() {
        let mut pw = PartitionWindows::default();
        let mut out = vec![];
        pw.add(&CFG, ev("a", 61_000, None), 0, 0, &rules(), &mut out);
        assert_eq!(
            pw.add(&CFG, ev("a", 55_000, None), 1, 0, &rules(), &mut out),
            Added::Counted
        );
    }

    #[test]
    fn idle_flush_closes_windows_and_advances_the_watermark() {
        let mut pw = PartitionWindows::default();
        let mut out = vec![];
        pw.add(&CFG, ev("a", 1_000, None), 0, 100, &rules(), &mut out);
        pw.flush_if_idle(&CFG, 100 + 29_999, &rules(), &mut out);
        assert!(out.is_empty());
        pw.flush_if_idle(&CFG, 100 + 30_000, &rules(), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(pw.retained_offset(), None);
        // The flushed window must not be reopened by an in-lateness straggler.
        assert_eq!(
            pw.add(&CFG, ev("a", 2_000, None), 1, 200, &rules(), &mut out),
            Added::Late
        );
    }

    #[test]
    fn a_stalled_input_does_not_count_as_quiet() {
        let mut pw = PartitionWindows::default();
        let mut out = vec![];
        pw.add(&CFG, ev("a", 1_000, None), 0, 100, &rules(), &mut out);
        // 20 s of the 30 s idle flush were spent with no broker to read from.
        pw.postpone_idle(20_000);
        pw.flush_if_idle(&CFG, 100 + 30_000, &rules(), &mut out);
        assert!(out.is_empty());
        pw.flush_if_idle(&CFG, 100 + 49_999, &rules(), &mut out);
        assert!(out.is_empty());
        pw.flush_if_idle(&CFG, 100 + 50_000, &rules(), &mut out);
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn restored_checkpoint_skips_emitted_windows_and_rebuilds_open_ones() {
        // First owner: service a closes window 0, service b keeps window 60 s open.
        let mut first = PartitionWindows::default();
        let mut out = vec![];
        let events = [
            ev("a", 1_000, None),
            ev("b", 61_000, None),
            ev("a", 75_000, None),
            ev("b", 62_000, None),
        ];
        for (i, e) in events.iter().enumerate() {
            first.add(&CFG, e.clone(), i as i64, 0, &rules(), &mut out);
        }
        assert_eq!(out.len(), 1);
        let cp = first.checkpoint(&CFG).unwrap();
        let from = first.retained_offset().unwrap();
        assert_eq!(from, 1);
        // New owner replays from the retained offset with the checkpoint.
        let mut second = PartitionWindows::restore(&cp);
        let mut replay_out = vec![];
        for (i, e) in events.iter().enumerate().skip(from as usize) {
            second.add(&CFG, e.clone(), i as i64, 0, &rules(), &mut replay_out);
        }
        assert!(replay_out.is_empty());
        first.flush_all(&CFG, &rules(), &mut out);
        second.flush_all(&CFG, &rules(), &mut replay_out);
        // Both owners finish the same remaining windows with the same content.
        assert_eq!(out[1..].to_vec(), replay_out);
    }

    #[test]
    fn a_retried_request_is_counted_once() {
        let tagged = |t: i64, request: u64, seq: i64| Event {
            ingest_id: Some((request, seq)),
            ..ev("a", t, Some(Severity::Error))
        };
        let mut pw = PartitionWindows::default();
        let mut out = vec![];
        // The first attempt delivered lines 0 and 1 of request 7; the retry sends 0..=2.
        for (offset, seq) in [0, 1, 0, 1, 2].into_iter().enumerate() {
            let added = pw.add(
                &CFG,
                tagged(1_000 + seq * 1_000, 7, seq),
                offset as i64,
                0,
                &rules(),
                &mut out,
            );
            let expected = if offset == 2 || offset == 3 {
                Added::Duplicate
            } else {
                Added::Counted
            };
            assert_eq!(added, expected, "offset {offset}");
        }
        // Another request's seq 0, and an untagged line, are their own events.
        pw.add(&CFG, tagged(4_000, 8, 0), 5, 0, &rules(), &mut out);
        pw.add(&CFG, ev("a", 5_000, None), 6, 0, &rules(), &mut out);
        pw.flush_all(&CFG, &rules(), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(
            (out[0].window.event_count, out[0].window.error_count),
            (5, 4)
        );
    }

    #[test]
    fn unreadable_checkpoints_restore_nothing() {
        assert!(PartitionWindows::restore("garbage").series.is_empty());
        assert!(PartitionWindows::restore("").series.is_empty());
    }

    #[test]
    fn window_ids_are_deterministic() {
        let mut a = PartitionWindows::default();
        let mut b = PartitionWindows::default();
        let (mut oa, mut ob) = (vec![], vec![]);
        a.add(&CFG, ev("x", 5, None), 0, 0, &rules(), &mut oa);
        b.add(&CFG, ev("x", 6, None), 9, 7, &rules(), &mut ob);
        a.flush_all(&CFG, &rules(), &mut oa);
        b.flush_all(&CFG, &rules(), &mut ob);
        assert_eq!(oa[0].window.window_id, ob[0].window.window_id);
    }
}
