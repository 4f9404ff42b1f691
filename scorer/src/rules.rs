//! Per-project scoring rules, resolved once: weights and thresholds, and the compiled
//! `ignore` patterns (regexes on the message, or template ids).

use crate::event::Event;
use cloudsage_runtime::config::{ScorerConfig, ScoringConfig};
use logparse::TemplateId;
use regex::RegexSet;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// One project's effective rules.
#[derive(Debug)]
pub struct ProjectRules {
    pub scoring: ScoringConfig,
    ignore_text: RegexSet,
    ignore_templates: HashSet<TemplateId>,
}

impl ProjectRules {
    fn new(scoring: ScoringConfig) -> anyhow::Result<Self> {
        let (ids, patterns): (Vec<&String>, Vec<&String>) = scoring
            .ignore
            .iter()
            .partition(|p| p.len() == 16 && p.bytes().all(|b| b.is_ascii_hexdigit()));
        let ignore_text =
            RegexSet::new(patterns).map_err(|e| anyhow::anyhow!("scorer ignore pattern: {e}"))?;
        let ignore_templates = ids
            .iter()
            .filter_map(|h| u64::from_str_radix(h, 16).ok())
            .map(TemplateId)
            .collect();
        Ok(Self {
            scoring,
            ignore_text,
            ignore_templates,
        })
    }

    /// Whether the raw line (or message field) matches an ignore regex.
    pub fn ignores_text(&self, text: Option<&str>) -> bool {
        !self.ignore_text.is_empty() && text.is_some_and(|m| self.ignore_text.is_match(m))
    }

    /// Whether the event's template is one the user marked as noise.
    pub fn ignores_template(&self, e: &Event) -> bool {
        e.template
            .as_ref()
            .is_some_and(|(id, _)| self.ignore_templates.contains(id))
    }
}

/// The rules of every project, built lazily from the config.
#[derive(Debug)]
pub struct Rules {
    config: ScorerConfig,
    default: Arc<ProjectRules>,
    projects: HashMap<String, Arc<ProjectRules>>,
}

impl Rules {
    /// Fails on an invalid regex, so a typo stops the scorer at start-up, not silently.
    pub fn new(config: &ScorerConfig) -> anyhow::Result<Self> {
        let mut projects = HashMap::new();
        for name in config.projects.keys() {
            projects.insert(
                name.clone(),
                Arc::new(ProjectRules::new(config.scoring_for(name))?),
            );
        }
        Ok(Self {
            config: config.clone(),
            default: Arc::new(ProjectRules::new(config.scoring.clone())?),
            projects,
        })
    }

    pub fn for_project(&self, project: &str) -> &Arc<ProjectRules> {
        self.projects.get(project).unwrap_or(&self.default)
    }

    pub fn config(&self) -> &ScorerConfig {
        &self.config
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloudsage_runtime::config::ProjectScoring;

    fn event(template: &str) -> Event {
        Event {
            project: "p".into(),
            service: "s".into(),
            time_ms: 0,
            severity: None,
            features: Default::default(),
            template: Some((TemplateId::of(template), template.into())),
            ignored: false,
            ingest_id: None,
        }
    }

    #[test]
    fn regexes_and_template_ids_mark_noise_per_project() {
        let mut c = ScorerConfig::default();
        c.scoring.ignore = vec!["^GET /health".into()];
        c.projects.insert(
            "shop".into(),
            ProjectScoring {
                ignore: vec![TemplateId::of("cache miss <*>").to_hex()],
                ..Default::default()
            },
        );
        let rules = Rules::new(&c).unwrap();
        let e = event("cache miss <*>");
        assert!(rules.for_project("shop").ignores_template(&e));
        assert!(!rules.for_project("other").ignores_template(&e));
        assert!(!rules
            .for_project("other")
            .ignores_text(Some("cache miss 7")));
        assert!(rules
            .for_project("other")
            .ignores_text(Some("GET /health 200")));
        assert!(rules
            .for_project("shop")
            .ignores_text(Some("GET /health 200")));
    }

    #[test]
    fn an_invalid_regex_is_a_startup_error() {
        let mut c = ScorerConfig::default();
        c.scoring.ignore = vec!["(".into()];
        assert!(Rules::new(&c).is_err());
    }
}
