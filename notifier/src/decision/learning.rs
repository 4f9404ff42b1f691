//! Confidence learned from outcomes, per (project, action kind): a Beta-Bernoulli model
//! whose prior is the action's built-in confidence `c` with the weight of `k` observations
//! (`prior_strength`), i.e. Beta(k·c, k·(1−c)). After `s` successes and `f` failures the
//! confidence is the posterior mean `(k·c + s) / (k + s + f)`.

use std::collections::HashMap;

#[derive(Debug, Clone, Default)]
pub struct Learner {
    pub prior_strength: f64,
    outcomes: HashMap<(String, String), (u64, u64)>,
}

impl Learner {
    pub fn new(prior_strength: f64) -> Self {
        Self {
            prior_strength: prior_strength.max(0.0),
            outcomes: HashMap::new(),
        }
    }

    pub fn observe(&mut self, project: &str, action: &str, success: bool) {
        let e = self
            .outcomes
            .entry((project.to_string(), action.to_string()))
            .or_default();
        if success {
            e.0 += 1;
        } else {
            e.1 += 1;
        }
    }

    /// Sets the counts (loading history from the audit table).
    pub fn set(&mut self, project: &str, action: &str, successes: u64, failures: u64) {
        self.outcomes.insert(
            (project.to_string(), action.to_string()),
            (successes, failures),
        );
    }

    /// The adjusted confidence and its explanation.
    pub fn confidence(&self, project: &str, action: &str, prior: f64) -> (f64, String) {
        let (s, f) = self
            .outcomes
            .get(&(project.to_string(), action.to_string()))
            .copied()
            .unwrap_or_default();
        let k = self.prior_strength;
        if s + f == 0 || k + (s + f) as f64 == 0.0 {
            return (prior, format!("prior {prior:.2}, no outcomes yet"));
        }
        let c = (k * prior + s as f64) / (k + (s + f) as f64);
        (
            c,
            format!("prior {prior:.2} (weight {k}) with {s} successes, {f} failures → {c:.2}"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_move_confidence_toward_the_observed_rate() {
        let mut l = Learner::new(4.0);
        assert_eq!(l.confidence("p", "rollback", 0.8).0, 0.8);
        l.observe("p", "rollback", false);
        l.observe("p", "rollback", false);
        let (c, why) = l.confidence("p", "rollback", 0.8);
        assert!((c - 3.2 / 6.0).abs() < 1e-9, "{c}");
        assert!(why.contains("2 failures"), "{why}");
        // Other projects and actions are unaffected.
        assert_eq!(l.confidence("q", "rollback", 0.8).0, 0.8);
        assert_eq!(l.confidence("p", "restart_pods", 0.85).0, 0.85);
        for _ in 0..20 {
            l.observe("p", "scale_service", true);
        }
        assert!(l.confidence("p", "scale_service", 0.7).0 > 0.94);
    }
}
