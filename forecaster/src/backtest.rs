//! A rolling record of how wrong a series' forecasts were. At each of a few lead times the
//! forecaster files the point it predicted; when a window arrives that covers a filed
//! target time, the absolute error joins the last `capacity` errors of that lead, whose
//! mean is the reported MAE.
//!
//! Everything here is a function of the windows seen, never of when the process started:
//! which windows file a prediction depends only on the window itself (one per slot of
//! lead/60, so at most ~60 pending per lead), and each entry remembers the input offset its
//! forecast's history started at. Replaying from the lowest such offset therefore rebuilds
//! the same record after a restart (see `processor.rs`).

use std::collections::VecDeque;

/// Predictions filed per lead time: at most this many are pending at once.
const SLOTS_PER_LEAD: i64 = 60;

#[derive(Debug, Clone, PartialEq)]
struct Pending {
    target_ms: i64,
    predicted: f64,
    needs_offset: i64,
}

#[derive(Debug, Clone, PartialEq)]
struct Lead {
    lead_ms: i64,
    pending: VecDeque<Pending>,
    /// Absolute errors, oldest first, with the offset their forecast needed.
    errors: VecDeque<(f64, i64)>,
}

/// The MAE at one lead time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LeadError {
    pub lead_ms: i64,
    /// `None` until a forecast at this lead has been compared.
    pub mae: Option<f64>,
    pub comparisons: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Backtest {
    capacity: usize,
    leads: Vec<Lead>,
}

impl Backtest {
    /// Tracks the given lead times (positive, duplicates dropped), each over its last
    /// `capacity` (at least 1) comparisons.
    pub fn new(leads_ms: &[i64], capacity: usize) -> Self {
        let mut leads_ms: Vec<i64> = leads_ms.iter().copied().filter(|l| *l > 0).collect();
        leads_ms.sort_unstable();
        leads_ms.dedup();
        Self {
            capacity: capacity.max(1),
            leads: leads_ms
                .into_iter()
                .map(|lead_ms| Lead {
                    lead_ms,
                    pending: VecDeque::new(),
                    errors: VecDeque::new(),
                })
                .collect(),
        }
    }

    /// A window `(start, end]` with `score` arrived: compares it with every filed prediction
    /// whose target time it covers, and drops those whose target passed without a window.
    pub fn observe(&mut self, start_ms: i64, end_ms: i64, score: f64) {
        for lead in &mut self.leads {
            while let Some(p) = lead.pending.front() {
                if p.target_ms > end_ms {
                    break;
                }
                if p.target_ms > start_ms {
                    lead.errors
                        .push_back(((score - p.predicted).abs(), p.needs_offset));
                    if lead.errors.len() > self.capacity {
                        lead.errors.pop_front();
                    }
                }
                lead.pending.pop_front();
            }
        }
    }

    /// Files predictions made at the end of window `(start, end]`, whose history starts at
    /// input offset `needs_offset`. `predict(lead_ms)` gives the point forecast that far
    /// ahead. A lead files only from the window that crosses one of its slot boundaries.
    pub fn file(
        &mut self,
        start_ms: i64,
        end_ms: i64,
        needs_offset: i64,
        mut predict: impl FnMut(i64) -> f64,
    ) {
        for lead in &mut self.leads {
            let slot = (lead.lead_ms / SLOTS_PER_LEAD).max(1);
            if start_ms.div_euclid(slot) == end_ms.div_euclid(slot) {
                continue;
            }
            let target_ms = end_ms.saturating_add(lead.lead_ms);
            if lead
                .pending
                .back()
                .is_some_and(|p| p.target_ms >= target_ms)
            {
                continue;
            }
            lead.pending.push_back(Pending {
                target_ms,
                predicted: predict(lead.lead_ms),
                needs_offset,
            });
        }
    }

    /// MAE per lead, shortest lead first.
    pub fn errors(&self) -> Vec<LeadError> {
        self.leads
            .iter()
            .map(|l| LeadError {
                lead_ms: l.lead_ms,
                mae: (!l.errors.is_empty())
                    .then(|| l.errors.iter().map(|(e, _)| e).sum::<f64>() / l.errors.len() as f64),
                comparisons: l.errors.len(),
            })
            .collect()
    }

    /// The lowest input offset a kept entry's forecast needed.
    pub fn needs_offset(&self) -> Option<i64> {
        self.leads
            .iter()
            .flat_map(|l| {
                let p = l.pending.iter().map(|p| p.needs_offset);
                p.chain(l.errors.iter().map(|(_, o)| *o))
            })
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;
    const HOUR: i64 = 60 * MIN;

    #[test]
    fn compares_the_window_covering_each_target_and_keeps_the_last_errors() {
        let mut b = Backtest::new(&[HOUR, HOUR, 2 * HOUR], 3);
        assert_eq!(b.errors().len(), 2);
        // Each minute predicts "minute index" one and two hours ahead.
        for m in 0..200i64 {
            b.observe(m * MIN, (m + 1) * MIN, 10.0);
            b.file(m * MIN, (m + 1) * MIN, m, |lead| {
                (lead / HOUR * 100 + m) as f64
            });
        }
        let e = b.errors();
        assert_eq!(e[0].comparisons, 3);
        // The last three 1 h comparisons were predicted by minutes 137..139: |10 - (100+m)|.
        assert_eq!(e[0].mae, Some(((227 + 228 + 229) as f64) / 3.0));
        // Two-hour lead files every 2 minutes.
        assert_eq!(e[1].comparisons, 3);
        // Kept: 1 h errors from minutes 137..139 and pending from 140; 2 h errors from the
        // odd minutes 75, 77, 79 and pending from 81.
        assert_eq!(b.needs_offset(), Some(75));
    }

    #[test]
    fn targets_without_a_window_are_dropped_not_compared() {
        let mut b = Backtest::new(&[HOUR], 10);
        b.file(0, MIN, 0, |_| 50.0);
        // A gap: the next window starts after the target time.
        b.observe(2 * HOUR, 2 * HOUR + MIN, 0.0);
        assert_eq!(b.errors()[0].mae, None);
        assert_eq!(b.needs_offset(), None);
    }

    #[test]
    fn filing_depends_on_the_window_alone() {
        // A 24 h lead files once per 24-minute slot, from the window crossing the boundary.
        let mut b = Backtest::new(&[24 * HOUR], 10);
        for m in 0..48 {
            b.file(m * MIN, (m + 1) * MIN, m, |_| 0.0);
        }
        assert_eq!(b.leads[0].pending.len(), 2);
        assert_eq!(b.needs_offset(), Some(23));
    }
}
