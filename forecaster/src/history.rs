//! A series' bounded history: the last `history_windows` windows as they came (input of the
//! short-term model) and hourly means over the last `history_hours` hours (input of the
//! seasonal model). An hour's mean costs the same memory whatever the window size, so days
//! of history stay small. Each kept item remembers the input offset it came from, so the
//! processor can tell how far back a replay must start to rebuild it.

use cloudsage_schemas::ScoredWindow;
use std::collections::VecDeque;

pub const HOUR_MS: i64 = 3_600_000;

/// The windows of one clock hour (UTC), by window start.
#[derive(Debug, Clone, PartialEq)]
struct Bucket {
    hour: i64,
    sum: f64,
    count: u32,
    first_offset: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct History {
    max_windows: usize,
    max_hours: usize,
    recent: VecDeque<(i64, ScoredWindow)>,
    hours: VecDeque<Bucket>,
}

impl History {
    /// Keeps the last `max_windows` (at least 1) windows and `max_hours` hourly means.
    pub fn new(max_windows: usize, max_hours: usize) -> Self {
        Self {
            max_windows: max_windows.max(1),
            max_hours,
            recent: VecDeque::new(),
            hours: VecDeque::new(),
        }
    }

    /// Adds a window read at `offset`. Returns false, keeping nothing, for a window that is
    /// not newer than the last one (a duplicate from an upstream replay, or out of order)
    /// or has no usable score.
    pub fn push(&mut self, offset: i64, w: ScoredWindow) -> bool {
        if !w.score.is_finite() || w.window_end_ms <= w.window_start_ms {
            return false;
        }
        if self
            .recent
            .back()
            .is_some_and(|(_, last)| w.window_end_ms <= last.window_end_ms)
        {
            return false;
        }
        let score = w.score.clamp(0.0, 100.0);
        if self.max_hours > 0 {
            let hour = w.window_start_ms.div_euclid(HOUR_MS);
            match self.hours.back_mut() {
                Some(b) if b.hour >= hour => {
                    b.sum += score;
                    b.count += 1;
                }
                _ => self.hours.push_back(Bucket {
                    hour,
                    sum: score,
                    count: 1,
                    first_offset: offset,
                }),
            }
            let oldest_kept = hour - self.max_hours as i64 + 1;
            while self.hours.front().is_some_and(|b| b.hour < oldest_kept) {
                self.hours.pop_front();
            }
        }
        self.recent.push_back((offset, w));
        while self.recent.len() > self.max_windows {
            self.recent.pop_front();
        }
        true
    }

    pub fn latest(&self) -> Option<&ScoredWindow> {
        self.recent.back().map(|(_, w)| w)
    }

    /// The kept windows, oldest first.
    pub fn windows(&self) -> impl Iterator<Item = &ScoredWindow> {
        self.recent.iter().map(|(_, w)| w)
    }

    /// Scores of the kept windows, oldest first, clamped to 0-100.
    pub fn window_scores(&self) -> Vec<f64> {
        self.windows().map(|w| w.score.clamp(0.0, 100.0)).collect()
    }

    /// One mean per hour from the oldest kept hour to the newest (which may still be
    /// filling). An hour without windows repeats the previous mean: the service logged
    /// nothing, and "unchanged" is the assumption that adds no invented movement.
    pub fn hourly_means(&self) -> Vec<f64> {
        let mut out = vec![];
        let mut prev: Option<&Bucket> = None;
        for b in &self.hours {
            if let Some(p) = prev {
                let mean = p.sum / p.count as f64;
                out.extend(std::iter::repeat_n(
                    mean,
                    (b.hour - p.hour - 1).max(0) as usize,
                ));
            }
            out.push(b.sum / b.count as f64);
            prev = Some(b);
        }
        out
    }

    /// How many of [`History::hourly_means`] are filled gaps.
    pub fn filled_hours(&self) -> usize {
        self.hourly_means().len() - self.hours.len()
    }

    /// The lowest input offset of anything kept: replaying from there rebuilds this history.
    pub fn first_offset(&self) -> Option<i64> {
        let w = self.recent.front().map(|(o, _)| *o);
        let h = self.hours.front().map(|b| b.first_offset);
        w.into_iter().chain(h).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(start_min: i64, score: f64) -> ScoredWindow {
        ScoredWindow {
            window_id: format!("w{start_min}"),
            project: "p".into(),
            service: "api".into(),
            window_start_ms: start_min * 60_000,
            window_end_ms: (start_min + 1) * 60_000,
            score,
            factors: vec![],
            labels: vec![],
            top_factors: vec![],
            event_count: 1,
            error_count: 0,
            warn_count: 0,
            late_count: 0,
        }
    }

    #[test]
    fn keeps_recent_windows_and_hourly_means_bounded() {
        let mut h = History::new(3, 2);
        for m in 0..150 {
            assert!(h.push(m, w(m, (m / 60) as f64 * 10.0)));
        }
        assert_eq!(h.window_scores(), [20.0, 20.0, 20.0]);
        // Hours 1 and 2 are kept; hour 0 was evicted.
        assert_eq!(h.hourly_means(), [10.0, 20.0]);
        assert_eq!(h.first_offset(), Some(60));
    }

    #[test]
    fn rejects_duplicates_out_of_order_and_unusable_scores() {
        let mut h = History::new(5, 5);
        assert!(h.push(0, w(5, 1.0)));
        assert!(!h.push(1, w(5, 1.0)));
        assert!(!h.push(2, w(4, 1.0)));
        assert!(!h.push(3, w(6, f64::NAN)));
        assert!(h.push(4, w(6, 250.0)));
        assert_eq!(h.window_scores(), [1.0, 100.0]);
    }

    #[test]
    fn hours_without_windows_repeat_the_previous_mean() {
        let mut h = History::new(5, 10);
        h.push(0, w(0, 10.0));
        h.push(1, w(3 * 60, 40.0));
        assert_eq!(h.hourly_means(), [10.0, 10.0, 10.0, 40.0]);
        assert_eq!(h.filled_hours(), 2);
    }

    #[test]
    fn zero_hours_keeps_only_windows() {
        let mut h = History::new(2, 0);
        h.push(7, w(0, 10.0));
        assert!(h.hourly_means().is_empty());
        assert_eq!(h.first_offset(), Some(7));
    }
}
