//! Learning from the user (pure): what each project said about the actions it was proposed,
//! and how that re-ranks the next proposals.
//!
//! Per project and action kind, a Beta-Bernoulli estimate of "this kind of action helps":
//! prior Beta(1, 1), `helpful` and `done` verdicts are successes, `not_helpful` failures, so
//! the score is the posterior mean `(1 + helpful) / (2 + helpful + not_helpful)` (0.5 without
//! feedback, 0.71 after 4 helpful and 1 not). The rule table's candidates for a window are
//! ordered by that score, the table's own order breaking ties, so without feedback the
//! proposal is exactly the rule table's. `ignore_pattern` verdicts remove candidates: of their
//! `action_kind`, or whose kind or title contains their `pattern` (case-insensitive), for the
//! project, or only for the feedback's service when it names one.

use crate::actions;
use cloudsage_schemas::{Action, Feedback, FeedbackVerdict, Forecast, ScoredWindow};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Most ignore rules kept per project; the oldest is dropped beyond it (it keeps the state,
/// which is checkpointed, small).
pub const MAX_IGNORES: usize = 32;

/// Verdicts on one action kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    /// `helpful` and `done` verdicts.
    #[serde(rename = "h")]
    pub helpful: u32,
    /// `not_helpful` verdicts.
    #[serde(rename = "n")]
    pub not_helpful: u32,
}

impl Tally {
    /// Posterior mean of Beta(1 + helpful, 1 + not_helpful): 0.5 without evidence.
    pub fn score(&self) -> f64 {
        (1.0 + f64::from(self.helpful))
            / (2.0 + f64::from(self.helpful) + f64::from(self.not_helpful))
    }

    pub fn is_empty(&self) -> bool {
        self.helpful == 0 && self.not_helpful == 0
    }

    /// "4 helpful / 1 not (0.71)".
    pub fn describe(&self) -> String {
        format!(
            "{} helpful / {} not ({:.2})",
            self.helpful,
            self.not_helpful,
            self.score()
        )
    }
}

/// An `ignore_pattern` verdict: which actions stop being proposed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ignore {
    /// Only for this service; every service of the project when `None`.
    #[serde(rename = "s", default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// Actions of exactly this kind.
    #[serde(rename = "k", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Actions whose kind or title contains this, lowercased.
    #[serde(rename = "p", default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
}

impl Ignore {
    fn matches(&self, service: &str, action: &Action) -> bool {
        if self.service.as_deref().is_some_and(|s| s != service) {
            return false;
        }
        let by_kind = self.kind.as_deref() == Some(action.kind.as_str());
        let by_pattern = self.pattern.as_deref().is_some_and(|p| {
            action.kind.to_lowercase().contains(p) || action.title.to_lowercase().contains(p)
        });
        by_kind || by_pattern
    }

    /// "rollback (kind)", "title contains \"runbook\"".
    fn describe(&self) -> String {
        let what = match (&self.kind, &self.pattern) {
            (Some(k), Some(p)) => format!("kind {k} or containing {p:?}"),
            (Some(k), None) => format!("kind {k}"),
            (None, Some(p)) => format!("containing {p:?}"),
            (None, None) => "nothing".to_string(),
        };
        match &self.service {
            Some(s) => format!("{what} on {s}"),
            None => what,
        }
    }
}

/// What one project taught the forecaster.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProjectLearning {
    /// Per action kind.
    #[serde(rename = "t", default)]
    pub tallies: BTreeMap<String, Tally>,
    /// Oldest first, at most [`MAX_IGNORES`].
    #[serde(rename = "i", default)]
    pub ignores: Vec<Ignore>,
}

fn present(o: &Option<String>) -> Option<String> {
    o.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

impl ProjectLearning {
    /// Takes one verdict. Tallies only count kinds in `known_kinds` (the rule table's), so
    /// feedback on anything else is kept in the audit trail but cannot grow this state.
    pub fn learn(&mut self, f: &Feedback, known_kinds: &[&str]) {
        let kind = present(&f.action_kind);
        match f.verdict {
            FeedbackVerdict::Helpful | FeedbackVerdict::Done | FeedbackVerdict::NotHelpful => {
                let Some(kind) = kind.filter(|k| known_kinds.contains(&k.as_str())) else {
                    return;
                };
                let t = self.tallies.entry(kind).or_default();
                if f.verdict == FeedbackVerdict::NotHelpful {
                    t.not_helpful = t.not_helpful.saturating_add(1);
                } else {
                    t.helpful = t.helpful.saturating_add(1);
                }
            }
            FeedbackVerdict::IgnorePattern => {
                let ignore = Ignore {
                    service: present(&f.service),
                    kind,
                    pattern: present(&f.pattern).map(|p| p.to_lowercase()),
                };
                if ignore.kind.is_none() && ignore.pattern.is_none() {
                    return;
                }
                self.ignores.retain(|i| i != &ignore);
                self.ignores.push(ignore);
                if self.ignores.len() > MAX_IGNORES {
                    self.ignores.remove(0);
                }
            }
        }
    }

    pub fn tally(&self, kind: &str) -> Tally {
        self.tallies.get(kind).copied().unwrap_or_default()
    }

    /// The ignore rule that removes `action` for `service`, if any.
    pub fn ignored_by(&self, service: &str, action: &Action) -> Option<&Ignore> {
        self.ignores.iter().find(|i| i.matches(service, action))
    }

    /// Adds what another partition learned about the same project.
    pub fn merge(&mut self, other: &ProjectLearning) {
        for (kind, t) in &other.tallies {
            let mine = self.tallies.entry(kind.clone()).or_default();
            mine.helpful = mine.helpful.saturating_add(t.helpful);
            mine.not_helpful = mine.not_helpful.saturating_add(t.not_helpful);
        }
        for i in &other.ignores {
            if !self.ignores.contains(i) {
                self.ignores.push(i.clone());
            }
        }
    }
}

/// What every project taught the forecaster, as read from one input partition.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Learning {
    pub projects: BTreeMap<String, ProjectLearning>,
}

impl Learning {
    pub fn learn(&mut self, f: &Feedback, known_kinds: &[&str]) {
        self.projects
            .entry(f.project.clone())
            .or_default()
            .learn(f, known_kinds);
    }

    /// Compact JSON, for the partition's checkpoint.
    pub fn to_checkpoint(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn from_checkpoint(s: &str) -> Result<Learning, String> {
        serde_json::from_str(s).map_err(|e| format!("feedback checkpoint unreadable: {e}"))
    }
}

/// The proposal after feedback, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranked {
    pub actions: Vec<Action>,
    /// For the `action_generation` step.
    pub explanation: String,
}

/// The first `n` of the rule table's `candidates` (in table order) for `service`, re-ranked by
/// what the project taught: ignored ones removed, the rest by score, highest first, ties in
/// table order.
pub fn rank(
    candidates: Vec<Action>,
    service: &str,
    learning: Option<&ProjectLearning>,
    n: usize,
) -> Ranked {
    let Some(learning) = learning.filter(|l| !l.tallies.is_empty() || !l.ignores.is_empty()) else {
        let actions: Vec<Action> = candidates.into_iter().take(n).collect();
        let kinds: Vec<&str> = actions.iter().map(|a| a.kind.as_str()).collect();
        return Ranked {
            explanation: format!("rule table: {}", kinds.join(", ")),
            actions,
        };
    };
    let mut ignored = vec![];
    let mut kept = vec![];
    for (table_pos, a) in candidates.into_iter().enumerate() {
        match learning.ignored_by(service, &a) {
            Some(i) => ignored.push(format!("{} (ignore {})", a.kind, i.describe())),
            None => kept.push((table_pos, learning.tally(&a.kind), a)),
        }
    }
    // Stable: equal scores keep the table's order.
    kept.sort_by(|x, y| y.1.score().total_cmp(&x.1.score()));
    let mut parts = vec![];
    let mut out_ranked = vec![];
    let mut actions = vec![];
    for (rank, (table_pos, tally, action)) in kept.into_iter().enumerate() {
        let evidence = if tally.is_empty() {
            format!("no feedback ({:.2})", tally.score())
        } else {
            tally.describe()
        };
        if rank >= n {
            if table_pos < n {
                out_ranked.push(format!("{}: {evidence}", action.kind));
            }
            continue;
        }
        let moved = match rank.cmp(&table_pos) {
            std::cmp::Ordering::Less => " ranked up",
            std::cmp::Ordering::Greater => " ranked down",
            std::cmp::Ordering::Equal => "",
        };
        parts.push(format!("{}{moved}: {evidence}", action.kind));
        actions.push(action);
    }
    let mut explanation = format!("rule table re-ranked by feedback: {}", parts.join("; "));
    if !out_ranked.is_empty() {
        explanation.push_str(&format!("; ranked out: {}", out_ranked.join("; ")));
    }
    if !ignored.is_empty() {
        explanation.push_str(&format!("; ignored: {}", ignored.join("; ")));
    }
    if actions.len() < n {
        explanation.push_str(&format!(
            "; only {} candidate(s) left after ignores",
            actions.len()
        ));
    }
    Ranked {
        actions,
        explanation,
    }
}

/// Re-ranks a forecast's actions with what its project taught, from the rule table's
/// candidates for `window` (the window it was made after), and explains the ranking in the
/// `action_generation` step. Unchanged when the project gave no feedback.
pub fn apply(forecast: &mut Forecast, window: &ScoredWindow, learning: Option<&ProjectLearning>) {
    let Some(learning) = learning.filter(|l| !l.tallies.is_empty() || !l.ignores.is_empty()) else {
        return;
    };
    let candidates = actions::candidates(window, &forecast.chain);
    let ranked = rank(
        candidates,
        &window.service,
        Some(learning),
        actions::PROPOSED,
    );
    forecast.actions = ranked.actions;
    if let Some(step) = forecast
        .chain_steps
        .iter_mut()
        .find(|s| s.name == "action_generation")
    {
        step.detail = ranked.explanation;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KINDS: &[&str] = &["a", "b", "c", "d", "e", "restart_pods"];

    fn action(kind: &str) -> Action {
        Action {
            kind: kind.into(),
            title: format!("Do {kind} on checkout"),
            evidence: "score 80".into(),
            deadline_hours: 1.0,
        }
    }

    fn candidates() -> Vec<Action> {
        ["a", "b", "c", "d", "e"].into_iter().map(action).collect()
    }

    fn fb(kind: Option<&str>, verdict: FeedbackVerdict) -> Feedback {
        let mut f = Feedback {
            feedback_id: String::new(),
            project: "shop".into(),
            service: None,
            forecast_id: None,
            action_kind: kind.map(str::to_string),
            verdict,
            pattern: None,
            comment: None,
            user: None,
            received_at_ms: 1,
        };
        f.feedback_id = f.derive_id();
        f
    }

    fn kinds(r: &Ranked) -> Vec<&str> {
        r.actions.iter().map(|a| a.kind.as_str()).collect()
    }

    #[test]
    fn the_score_is_the_beta_posterior_mean() {
        let mut l = ProjectLearning::default();
        assert_eq!(l.tally("restart_pods").score(), 0.5);
        for _ in 0..3 {
            l.learn(&fb(Some("restart_pods"), FeedbackVerdict::Helpful), KINDS);
        }
        l.learn(&fb(Some("restart_pods"), FeedbackVerdict::Done), KINDS);
        l.learn(
            &fb(Some("restart_pods"), FeedbackVerdict::NotHelpful),
            KINDS,
        );
        let t = l.tally("restart_pods");
        assert_eq!((t.helpful, t.not_helpful), (4, 1));
        assert!((t.score() - 5.0 / 7.0).abs() < 1e-12);
        assert_eq!(t.describe(), "4 helpful / 1 not (0.71)");
    }

    #[test]
    fn without_feedback_the_rule_table_order_stands() {
        let r = rank(candidates(), "checkout", None, 3);
        assert_eq!(kinds(&r), ["a", "b", "c"]);
        assert_eq!(r.explanation, "rule table: a, b, c");
        let empty = ProjectLearning::default();
        assert_eq!(rank(candidates(), "checkout", Some(&empty), 3), r);
    }

    #[test]
    fn feedback_reorders_and_explains() {
        let mut l = ProjectLearning::default();
        for _ in 0..3 {
            l.learn(&fb(Some("a"), FeedbackVerdict::NotHelpful), KINDS);
        }
        l.learn(&fb(Some("d"), FeedbackVerdict::Helpful), KINDS);
        let r = rank(candidates(), "checkout", Some(&l), 3);
        assert_eq!(kinds(&r), ["d", "b", "c"]);
        assert!(
            r.explanation
                .contains("d ranked up: 1 helpful / 0 not (0.67)"),
            "{}",
            r.explanation
        );
        assert!(
            r.explanation.contains("b: no feedback (0.50)"),
            "{}",
            r.explanation
        );
        assert!(
            r.explanation
                .contains("ranked out: a: 0 helpful / 3 not (0.20)"),
            "{}",
            r.explanation
        );
        // A failure-only kind still beats nothing: it ranks below untried ones, not out.
        let r5 = rank(candidates(), "checkout", Some(&l), 5);
        assert_eq!(kinds(&r5), ["d", "b", "c", "e", "a"]);
        assert!(
            r5.explanation.contains("a ranked down"),
            "{}",
            r5.explanation
        );
    }

    #[test]
    fn ignores_remove_by_kind_pattern_and_service() {
        let mut l = ProjectLearning::default();
        l.learn(&fb(Some("b"), FeedbackVerdict::IgnorePattern), KINDS);
        let r = rank(candidates(), "checkout", Some(&l), 3);
        assert_eq!(kinds(&r), ["a", "c", "d"]);
        assert!(
            r.explanation.contains("ignored: b (ignore kind b)"),
            "{}",
            r.explanation
        );

        let mut by_pattern = fb(None, FeedbackVerdict::IgnorePattern);
        by_pattern.pattern = Some("DO C ".into());
        by_pattern.service = Some("checkout".into());
        l.learn(&by_pattern, KINDS);
        assert_eq!(
            kinds(&rank(candidates(), "checkout", Some(&l), 3)),
            ["a", "d", "e"]
        );
        // The pattern was scoped to checkout; the kind ignore is project-wide.
        assert_eq!(
            kinds(&rank(candidates(), "api", Some(&l), 3)),
            ["a", "c", "d"]
        );

        // Ignoring everything leaves fewer than three, and says so.
        for k in ["a", "d", "e"] {
            l.learn(&fb(Some(k), FeedbackVerdict::IgnorePattern), KINDS);
        }
        let r = rank(candidates(), "checkout", Some(&l), 3);
        assert!(r.actions.is_empty());
        assert!(r.explanation.contains("only 0 candidate(s) left"));
    }

    #[test]
    fn state_stays_bounded_and_survives_its_checkpoint() {
        let mut all = Learning::default();
        all.learn(&fb(Some("not_a_rule"), FeedbackVerdict::Helpful), KINDS);
        all.learn(&fb(None, FeedbackVerdict::Helpful), KINDS);
        assert_eq!(all.projects["shop"].tallies.len(), 0);
        for i in 0..(MAX_IGNORES + 5) {
            let mut f = fb(None, FeedbackVerdict::IgnorePattern);
            f.pattern = Some(format!("p{i}"));
            all.learn(&f, KINDS);
        }
        // The same ignore twice is kept once.
        let mut again = fb(None, FeedbackVerdict::IgnorePattern);
        again.pattern = Some(format!("P{}", MAX_IGNORES + 4));
        all.learn(&again, KINDS);
        let ignores = &all.projects["shop"].ignores;
        assert_eq!(ignores.len(), MAX_IGNORES);
        assert_eq!(ignores[0].pattern.as_deref(), Some("p5"));
        all.learn(&fb(Some("a"), FeedbackVerdict::Done), KINDS);
        let text = all.to_checkpoint();
        assert_eq!(Learning::from_checkpoint(&text).unwrap(), all);
        assert!(Learning::from_checkpoint("{not json").is_err());
    }

    #[test]
    fn merging_partitions_adds_tallies() {
        let mut x = ProjectLearning::default();
        x.learn(&fb(Some("a"), FeedbackVerdict::Helpful), KINDS);
        let mut y = ProjectLearning::default();
        y.learn(&fb(Some("a"), FeedbackVerdict::NotHelpful), KINDS);
        y.learn(&fb(Some("b"), FeedbackVerdict::IgnorePattern), KINDS);
        x.merge(&y);
        assert_eq!(
            x.tally("a"),
            Tally {
                helpful: 1,
                not_helpful: 1
            }
        );
        assert_eq!(x.ignores.len(), 1);
    }
}
