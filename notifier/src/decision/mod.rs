//! The decision engine: per incident, `AUTO_REMEDIATE`, `SCHEDULE_MAINTENANCE` or
//! `ESCALATE_HUMAN` ([`matrix`]), an hourly cap on automatic actions ([`cap`]), and
//! confidences learned from outcomes ([`learning`]). These three are pure. [`runbook`] calls
//! the runbook webhook for automatic actions (never in dry-run mode, the default) and
//! records the outcome; [`api`] takes outcomes reported by people or tools
//! (`POST /v1/incidents/{id}/outcome`).

pub mod api;
pub mod cap;
pub mod learning;
pub mod matrix;
pub mod runbook;

pub use cap::HourlyCap;
pub use learning::Learner;
pub use matrix::{decide, Inputs, Thresholds, Verdict};

use cloudsage_runtime::stage::{DecisionRecord, IncidentRecord};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// What the incident loop, the runbook caller and the outcome API share: the learned
/// confidences and each incident's latest decision (to attach reported outcomes to).
#[derive(Clone, Default)]
pub struct Shared {
    pub learner: Arc<Mutex<Learner>>,
    pub latest: Arc<Mutex<HashMap<String, DecisionRecord>>>,
}

impl Shared {
    pub fn new(prior_strength: f64) -> Self {
        Self {
            learner: Arc::new(Mutex::new(Learner::new(prior_strength))),
            latest: Arc::default(),
        }
    }

    pub fn learner(&self) -> std::sync::MutexGuard<'_, Learner> {
        self.learner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn latest(&self) -> std::sync::MutexGuard<'_, HashMap<String, DecisionRecord>> {
        self.latest.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// An automatic action to carry out: the decision and the incident it is about.
#[derive(Debug, Clone)]
pub struct Execution {
    pub decision: DecisionRecord,
    pub incident: IncidentRecord,
}
