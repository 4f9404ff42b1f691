//! At most N automatic actions per project in any sliding hour (processing time).

use std::collections::{HashMap, VecDeque};

pub const HOUR_MS: i64 = 3_600_000;

#[derive(Debug, Default)]
pub struct HourlyCap {
    taken: HashMap<String, VecDeque<i64>>,
}

impl HourlyCap {
    fn prune(&mut self, project: &str, now_ms: i64) -> &mut VecDeque<i64> {
        let q = self.taken.entry(project.to_string()).or_default();
        while q.front().is_some_and(|t| *t <= now_ms - HOUR_MS) {
            q.pop_front();
        }
        q
    }

    /// Whether one more action fits under `limit` now.
    pub fn available(&mut self, project: &str, now_ms: i64, limit: u32) -> bool {
        self.prune(project, now_ms).len() < limit as usize
    }

    /// Takes one action's slot if it fits; `false` when the cap is reached.
    pub fn take(&mut self, project: &str, now_ms: i64, limit: u32) -> bool {
        let q = self.prune(project, now_ms);
        if q.len() < limit as usize {
            q.push_back(now_ms);
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn n_per_sliding_hour_per_project() {
        let mut cap = HourlyCap::default();
        let taken: Vec<bool> = (0..6).map(|i| cap.take("shop", i * 1000, 5)).collect();
        assert_eq!(taken, [true, true, true, true, true, false]);
        assert!(cap.take("other", 0, 5), "projects are independent");
        assert!(!cap.available("shop", HOUR_MS - 1, 5));
        // The first slot frees an hour after it was taken.
        assert!(cap.available("shop", HOUR_MS, 5));
        assert!(cap.take("shop", HOUR_MS, 5));
        assert!(!cap.take("shop", HOUR_MS + 500, 5));
        assert!(!cap.take("x", 0, 0), "a zero cap never acts");
    }
}
