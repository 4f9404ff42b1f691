//! Event-time tumbling windows per (project, service), with one watermark per input
//! partition (a series lives in one partition: `logs.raw` is keyed by `project/service`).
//!
//! The watermark of a partition is the newest event time seen minus the allowed lateness (or
//! further, after an idle flush). A window `[start, start + size)` closes once its end is at or
//! below the watermark; an event for a closed window is late: it is counted (in the next
//! window of its series and in a metric), never silently dropped.

use crate::event::Event;
use crate::score::{assess, WindowCounts};
use cloudsage_schemas::{stable_id, ScoredWindow};
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowConfig {
    pub size_ms: i64,
    pub allowed_lateness_ms: i64,
    pub idle_flush_ms: i64,
}

/// Series key + window start. Ordered, so windows closing together are emitted in a stable order.
type WindowKey = (String, String, i64);

#[derive(Debug, Default, Clone)]
struct OpenWindow {
    counts: WindowCounts,
    /// Lowest input offset contributing: consumption must restart here to rebuild it.
    first_offset: i64,
}

/// The windows of one input partition.
#[derive(Debug, Default, Clone)]
pub struct PartitionWindows {
    max_event_ms: Option<i64>,
    /// Windows ending at or before this were emitted (idle flush, or a restored checkpoint).
    closed_until_ms: i64,
    /// Events at or before this were handled by a previous owner (restored checkpoint).
    restored_until_ms: i64,
    open: BTreeMap<WindowKey, OpenWindow>,
    /// Late events waiting to be reported with their series' next window.
    late: HashMap<(String, String), i64>,
    last_activity_ms: i64,
}

/// What adding an event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    Counted,
    Late,
    /// Belongs to a window a previous owner already emitted (replay after restore).
    AlreadyEmitted,
}

impl PartitionWindows {
    /// The watermark: windows ending at or before it are closed.
    pub fn watermark_ms(&self, cfg: &WindowConfig) -> i64 {
        let from_events = self
            .max_event_ms
            .map_or(i64::MIN, |m| m.saturating_sub(cfg.allowed_lateness_ms));
        from_events.max(self.closed_until_ms)
    }

    /// Adds one event read at `offset`; windows it closes are appended to `closed`.
    pub fn add(
        &mut self,
        cfg: &WindowConfig,
        event: Event,
        offset: i64,
        now_ms: i64,
        closed: &mut Vec<ScoredWindow>,
    ) -> Added {
        self.last_activity_ms = now_ms;
        let start = event.time_ms.div_euclid(cfg.size_ms) * cfg.size_ms;
        let end = start.saturating_add(cfg.size_ms);
        let outcome = if end <= self.restored_until_ms {
            Added::AlreadyEmitted
        } else if end <= self.watermark_ms(cfg) {
            *self
                .late
                .entry((event.project.clone(), event.service.clone()))
                .or_default() += 1;
            Added::Late
        } else {
            let is_error = event.is_error();
            let is_warning = event.is_warning();
            let w = self
                .open
                .entry((event.project, event.service, start))
                .or_insert_with(|| OpenWindow {
                    counts: WindowCounts::default(),
                    first_offset: offset,
                });
            w.counts.events += 1;
            w.counts.errors += i64::from(is_error);
            w.counts.warnings += i64::from(is_warning);
            Added::Counted
        };
        if outcome != Added::AlreadyEmitted {
            self.max_event_ms = Some(self.max_event_ms.map_or(event.time_ms, |m| m.max(event.time_ms)));
            self.close_until(cfg, self.watermark_ms(cfg), closed);
        }
        outcome
    }

    fn close_until(&mut self, cfg: &WindowConfig, watermark: i64, closed: &mut Vec<ScoredWindow>) {
        let ready: Vec<WindowKey> = self
            .open
            .keys()
            .filter(|(_, _, start)| start.saturating_add(cfg.size_ms) <= watermark)
            .cloned()
            .collect();
        for key in ready {
            if let Some(w) = self.open.remove(&key) {
                closed.push(self.finish_window(cfg, key, w));
            }
        }
    }

    fn finish_window(&mut self, cfg: &WindowConfig, key: WindowKey, w: OpenWindow) -> ScoredWindow {
        let (project, service, start) = key;
        let mut counts = w.counts;
        counts.late = self
            .late
            .remove(&(project.clone(), service.clone()))
            .unwrap_or(0);
        let a = assess(&counts);
        ScoredWindow {
            window_id: stable_id(&[&project, &service, &start.to_string(), &cfg.size_ms.to_string()]),
            window_start_ms: start,
            window_end_ms: start + cfg.size_ms,
            score: a.score,
            factors: a.factors,
            labels: a.labels,
            top_factors: a.top_factors,
            event_count: counts.events,
            error_count: counts.errors,
            warn_count: counts.warnings,
            late_count: counts.late,
            project,
            service,
        }
    }

    /// Closes every open window if the partition has been quiet for `idle_flush_ms`.
    pub fn flush_if_idle(&mut self, cfg: &WindowConfig, now_ms: i64, closed: &mut Vec<ScoredWindow>) {
        if !self.open.is_empty() && now_ms.saturating_sub(self.last_activity_ms) >= cfg.idle_flush_ms {
            self.flush_all(cfg, closed);
        }
    }

    /// Closes every open window (end of input, idle partition).
    pub fn flush_all(&mut self, cfg: &WindowConfig, closed: &mut Vec<ScoredWindow>) {
        let horizon = self
            .open
            .keys()
            .map(|(_, _, s)| s.saturating_add(cfg.size_ms))
            .max()
            .unwrap_or(self.closed_until_ms);
        self.close_until(cfg, i64::MAX, closed);
        self.closed_until_ms = self.closed_until_ms.max(horizon);
    }

    /// Lowest offset still needed to rebuild the open windows.
    pub fn retained_offset(&self) -> Option<i64> {
        self.open.values().map(|w| w.first_offset).min()
    }

    /// Checkpoint: the watermark (everything at or before it has been emitted).
    pub fn checkpoint(&self, cfg: &WindowConfig) -> Option<String> {
        let wm = self.watermark_ms(cfg);
        (wm > i64::MIN).then(|| wm.to_string())
    }

    /// Restores a checkpoint written by a previous owner.
    pub fn restore(checkpoint: &str) -> PartitionWindows {
        let wm = checkpoint.trim().parse::<i64>().unwrap_or(i64::MIN);
        PartitionWindows {
            closed_until_ms: wm,
            restored_until_ms: wm,
            ..Default::default()
        }
    }
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

    fn ev(service: &str, t: i64, sev: Option<Severity>) -> Event {
        Event {
            project: "p".into(),
            service: service.into(),
            time_ms: t,
            severity: sev,
        }
    }

    #[test]
    fn window_closes_when_watermark_passes_its_end() {
        let mut pw = PartitionWindows::default();
        let mut out = vec![];
        pw.add(&CFG, ev("a", 1_000, Some(Severity::Error)), 0, 0, &mut out);
        pw.add(&CFG, ev("a", 30_000, None), 1, 0, &mut out);
        // 65 s is inside the lateness of the first window's end (60 s + 10 s).
        pw.add(&CFG, ev("a", 65_000, None), 2, 0, &mut out);
        assert!(out.is_empty());
        assert_eq!(pw.retained_offset(), Some(0));
        pw.add(&CFG, ev("a", 70_000, None), 3, 0, &mut out);
        assert_eq!(out.len(), 1);
        let w = &out[0];
        assert_eq!((w.window_start_ms, w.window_end_ms), (0, 60_000));
        assert_eq!((w.event_count, w.error_count), (2, 1));
        assert_eq!(pw.retained_offset(), Some(2));
    }

    #[test]
    fn late_events_are_counted_in_the_next_window() {
        let mut pw = PartitionWindows::default();
        let mut out = vec![];
        pw.add(&CFG, ev("a", 1_000, None), 0, 0, &mut out);
        pw.add(&CFG, ev("a", 75_000, None), 1, 0, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(pw.add(&CFG, ev("a", 2_000, None), 2, 0, &mut out), Added::Late);
        pw.flush_all(&CFG, &mut out);
        assert_eq!(out.len(), 2);
        assert_eq!((out[1].event_count, out[1].late_count), (1, 1));
    }

    #[test]
    fn out_of_order_within_lateness_is_counted() {
        let mut pw = PartitionWindows::default();
        let mut out = vec![];
        pw.add(&CFG, ev("a", 61_000, None), 0, 0, &mut out);
        assert_eq!(pw.add(&CFG, ev("a", 55_000, None), 1, 0, &mut out), Added::Counted);
    }

    #[test]
    fn idle_flush_closes_windows_and_advances_the_watermark() {
        let mut pw = PartitionWindows::default();
        let mut out = vec![];
        pw.add(&CFG, ev("a", 1_000, None), 0, 100, &mut out);
        pw.flush_if_idle(&CFG, 100 + 29_999, &mut out);
        assert!(out.is_empty());
        pw.flush_if_idle(&CFG, 100 + 30_000, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(pw.retained_offset(), None);
        // The flushed window must not be reopened by an in-lateness straggler.
        assert_eq!(pw.add(&CFG, ev("a", 2_000, None), 1, 200, &mut out), Added::Late);
    }

    #[test]
    fn restored_checkpoint_skips_emitted_windows_and_rebuilds_open_ones() {
        // First owner: service a closes window 0, service b keeps window 60 s open.
        let mut first = PartitionWindows::default();
        let mut out = vec![];
        let events = [ev("a", 1_000, None), ev("b", 61_000, None), ev("a", 75_000, None), ev("b", 62_000, None)];
        for (i, e) in events.iter().enumerate() {
            first.add(&CFG, e.clone(), i as i64, 0, &mut out);
        }
        assert_eq!(out.len(), 1);
        let cp = first.checkpoint(&CFG).unwrap();
        let from = first.retained_offset().unwrap();
        assert_eq!(from, 1);
        // New owner replays from the retained offset with the checkpoint.
        let mut second = PartitionWindows::restore(&cp);
        let mut replay_out = vec![];
        for (i, e) in events.iter().enumerate().skip(from as usize) {
            second.add(&CFG, e.clone(), i as i64, 0, &mut replay_out);
        }
        assert!(replay_out.is_empty());
        first.flush_all(&CFG, &mut out);
        second.flush_all(&CFG, &mut replay_out);
        // Both owners finish the same remaining windows with the same content.
        assert_eq!(out[1..].to_vec(), replay_out);
    }

    #[test]
    fn window_ids_are_deterministic() {
        let mut a = PartitionWindows::default();
        let mut b = PartitionWindows::default();
        let (mut oa, mut ob) = (vec![], vec![]);
        a.add(&CFG, ev("x", 5, None), 0, 0, &mut oa);
        b.add(&CFG, ev("x", 6, None), 9, 7, &mut ob);
        a.flush_all(&CFG, &mut oa);
        b.flush_all(&CFG, &mut ob);
        assert_eq!(oa[0].window_id, ob[0].window_id);
    }
}
