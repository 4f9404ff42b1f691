//! Alert rules (`[[notifier.rules]]`), as pure functions on windows and forecasts:
//!
//! - [`Rule`]: one validated rule; [`Rule::observe`] evaluates its condition on a window or
//!   a forecast of a series it matches;
//! - [`state`]: the pending/firing/resolved life of a rule on one series (`for`,
//!   `resolve_after`), in event time;
//! - [`threshold`], [`forecast`], [`factor`]: the conditions of each kind;
//! - [`alert`]: the alert records, with deterministic ids and what receivers show.
//!
//! The [`crate::evaluator`] keeps the states and feeds them; nothing here does I/O.

pub mod alert;
pub mod factor;
pub mod forecast;
pub mod state;
pub mod threshold;

use anyhow::{anyhow, bail, ensure};
use cloudsage_runtime::config::{NotifierConfig, RuleConfig, RuleKind};
use cloudsage_schemas::{Forecast, ScoredWindow, Severity};
use factor::FactorCondition;
use regex::Regex;
use state::{Observation, Timing};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use threshold::{Threshold, CRITICAL_SCORE, RESOLVE_MARGIN};

/// The name (and kind) of the rule that applies when none are configured.
pub const RISK_THRESHOLD_RULE: &str = "risk_threshold";

/// What a rule is evaluated on.
#[derive(Debug, Clone, Copy)]
pub enum Input<'a> {
    Window(&'a ScoredWindow),
    Forecast(&'a Forecast),
}

impl Input<'_> {
    fn series(&self) -> (&str, &str) {
        match self {
            Input::Window(w) => (&w.project, &w.service),
            Input::Forecast(f) => (&f.project, &f.service),
        }
    }
}

/// A rule's threshold: the configured one, or the project's default.
#[derive(Debug, Clone, PartialEq)]
enum ThresholdSetting {
    Fixed(f64),
    PerProject {
        default: f64,
        projects: BTreeMap<String, f64>,
    },
}

impl ThresholdSetting {
    fn for_project(&self, project: &str) -> f64 {
        match self {
            ThresholdSetting::Fixed(t) => *t,
            ThresholdSetting::PerProject { default, projects } => {
                projects.get(project).copied().unwrap_or(*default)
            }
        }
    }
}

#[derive(Debug, Clone)]
enum Condition {
    Risk {
        threshold: ThresholdSetting,
        resolve_margin: f64,
    },
    ForecastBreach {
        threshold: ThresholdSetting,
        resolve_margin: f64,
    },
    CriticalChain {
        chains: Vec<String>,
    },
    Factor(FactorCondition),
}

/// One validated rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub name: String,
    pub kind: RuleKind,
    project: Option<Regex>,
    service: Option<Regex>,
    condition: Condition,
    timing: Timing,
    severity: Option<Severity>,
}

/// A rule's condition evaluated on one input of a series it matches.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub observation: Observation,
    /// The risk behind the evaluation (the window's score, or the forecast's predicted
    /// score): the alert's `score`, and its severity unless the rule sets one.
    pub risk: f64,
    /// What the condition saw, for a firing alert's summary.
    pub firing_summary: String,
    /// The same for a resolved alert's summary.
    pub resolved_summary: String,
}

impl Rule {
    /// Whether the rule is evaluated on forecasts (else on windows).
    pub fn reads_forecasts(&self) -> bool {
        matches!(
            self.condition,
            Condition::ForecastBreach { .. } | Condition::CriticalChain { .. }
        )
    }

    pub fn timing(&self) -> Timing {
        self.timing
    }

    /// Severity of a firing alert with `risk`.
    pub fn severity(&self, risk: f64) -> Severity {
        self.severity.unwrap_or(if risk >= CRITICAL_SCORE {
            Severity::Critical
        } else {
            Severity::Warning
        })
    }

    fn matches(&self, project: &str, service: &str) -> bool {
        self.project.as_ref().is_none_or(|r| r.is_match(project))
            && self.service.as_ref().is_none_or(|r| r.is_match(service))
    }

    /// Evaluates the rule on `input`; `None` when the rule does not read this kind of input
    /// or does not match its series. A forecast stands for the `window_ms` of event time
    /// before it was made (forecasts come one per window).
    pub fn observe(&self, input: Input<'_>, window_ms: i64) -> Option<Evaluation> {
        let (project, service) = input.series();
        if !self.matches(project, service) {
            return None;
        }
        let series = format!("{project}/{service}");
        match (&self.condition, input) {
            (
                Condition::Risk {
                    threshold,
                    resolve_margin,
                },
                Input::Window(w),
            ) => {
                let t = Threshold {
                    at: threshold.for_project(project),
                    resolve_margin: *resolve_margin,
                };
                let (holds, holds_within_margin) = t.check(w.score);
                let labels = if w.labels.is_empty() {
                    String::new()
                } else {
                    format!(": {}", w.labels.join(", "))
                };
                Some(Evaluation {
                    observation: window_observation(w, holds, holds_within_margin),
                    risk: w.score,
                    firing_summary: format!(
                        "{series} risk {:.0} ≥ threshold {:.0}{labels}",
                        w.score, t.at
                    ),
                    resolved_summary: format!(
                        "{series} risk back to {:.0} (< {:.0})",
                        w.score,
                        t.at - t.resolve_margin
                    ),
                })
            }
            (
                Condition::ForecastBreach {
                    threshold,
                    resolve_margin,
                },
                Input::Forecast(f),
            ) => {
                let t = Threshold {
                    at: threshold.for_project(project),
                    resolve_margin: *resolve_margin,
                };
                let predicted = forecast::breach_score(f);
                let (holds, holds_within_margin) = t.check(predicted);
                Some(Evaluation {
                    observation: forecast_observation(f, window_ms, holds, holds_within_margin),
                    risk: predicted,
                    firing_summary: format!(
                        "{series} forecast risk {predicted:.0} ≥ threshold {:.0} within {} h",
                        t.at, f.horizon_hours
                    ),
                    resolved_summary: format!(
                        "{series} forecast risk back to {predicted:.0} (< {:.0})",
                        t.at - t.resolve_margin
                    ),
                })
            }
            (Condition::CriticalChain { chains }, Input::Forecast(f)) => {
                let holds = forecast::is_critical_chain(f, chains);
                let why = forecast::risk_assessment(f)
                    .map(|d| format!(": {d}"))
                    .unwrap_or_default();
                Some(Evaluation {
                    observation: forecast_observation(f, window_ms, holds, holds),
                    risk: f.predicted_score,
                    firing_summary: format!(
                        "{series} forecast chain {} (risk {:.0} in {} h){why}",
                        f.chain, f.predicted_score, f.horizon_hours
                    ),
                    resolved_summary: format!("{series} forecast chain back to {}", f.chain),
                })
            }
            (Condition::Factor(c), Input::Window(w)) => {
                let holds = c.holds(w);
                Some(Evaluation {
                    observation: window_observation(w, holds, holds),
                    risk: w.score,
                    firing_summary: format!(
                        "{series} {} {} (risk {:.0})",
                        c.describe(w),
                        c.minimums(),
                        w.score
                    ),
                    resolved_summary: format!("{series} {} back to normal", c.describe(w)),
                })
            }
            _ => None,
        }
    }
}

fn window_observation(w: &ScoredWindow, holds: bool, holds_within_margin: bool) -> Observation {
    Observation {
        start_ms: w.window_start_ms,
        end_ms: w.window_end_ms,
        holds,
        holds_within_margin,
    }
}

fn forecast_observation(
    f: &Forecast,
    window_ms: i64,
    holds: bool,
    holds_within_margin: bool,
) -> Observation {
    Observation {
        start_ms: f.generated_at_ms - window_ms,
        end_ms: f.generated_at_ms,
        holds,
        holds_within_margin,
    }
}

/// The rules of a notifier: the configured ones, or the default `risk_threshold` rule.
/// `window` is the scorer's window length: the default `resolve_after`.
pub fn build_rules(c: &NotifierConfig, window: Duration) -> anyhow::Result<Vec<Rule>> {
    if c.rules.is_empty() {
        let default = RuleConfig {
            name: RISK_THRESHOLD_RULE.into(),
            kind: RuleKind::RiskThreshold,
            project: None,
            service: None,
            threshold: None,
            resolve_margin: None,
            factor: None,
            min_points: None,
            min_value: None,
            chains: None,
            for_duration: Duration::ZERO,
            resolve_after: None,
            severity: None,
        };
        return Ok(vec![build_rule(&default, c, window)?]);
    }
    let mut names = BTreeSet::new();
    c.rules
        .iter()
        .map(|r| {
            ensure!(
                names.insert(r.name.as_str()),
                "[[notifier.rules]]: the name {:?} is used twice",
                r.name
            );
            build_rule(r, c, window)
        })
        .collect()
}

fn build_rule(r: &RuleConfig, c: &NotifierConfig, window: Duration) -> anyhow::Result<Rule> {
    let at = |what: String| anyhow!("[[notifier.rules]] {:?}: {what}", r.name);
    if r.name.trim().is_empty() {
        bail!("[[notifier.rules]]: a rule has an empty name");
    }
    let kind = r.kind.name();
    let only_for = |set: bool, key: &str, kinds: &str| {
        if set {
            Err(at(format!("`{key}` applies to {kinds} rules, not {kind}")))
        } else {
            Ok(())
        }
    };
    let thresholds = matches!(r.kind, RuleKind::RiskThreshold | RuleKind::ForecastBreach);
    only_for(
        !thresholds && r.threshold.is_some(),
        "threshold",
        "risk_threshold and forecast_breach",
    )?;
    only_for(
        !thresholds && r.resolve_margin.is_some(),
        "resolve_margin",
        "risk_threshold and forecast_breach",
    )?;
    let is_factor = r.kind == RuleKind::Factor;
    only_for(!is_factor && r.factor.is_some(), "factor", "factor")?;
    only_for(!is_factor && r.min_points.is_some(), "min_points", "factor")?;
    only_for(!is_factor && r.min_value.is_some(), "min_value", "factor")?;
    only_for(
        r.kind != RuleKind::CriticalChain && r.chains.is_some(),
        "chains",
        "critical_chain",
    )?;
    let threshold = match r.threshold {
        Some(t) if !(0.0..=100.0).contains(&t) => {
            return Err(at(format!("threshold {t} is not within 0..100")))
        }
        Some(t) => ThresholdSetting::Fixed(t),
        None => ThresholdSetting::PerProject {
            default: c.threshold,
            projects: c.project_thresholds.clone(),
        },
    };
    let resolve_margin = r.resolve_margin.unwrap_or(RESOLVE_MARGIN);
    if !(resolve_margin >= 0.0 && resolve_margin.is_finite()) {
        return Err(at(format!("resolve_margin {resolve_margin} must be ≥ 0")));
    }
    let condition = match r.kind {
        RuleKind::RiskThreshold => Condition::Risk {
            threshold,
            resolve_margin,
        },
        RuleKind::ForecastBreach => Condition::ForecastBreach {
            threshold,
            resolve_margin,
        },
        RuleKind::CriticalChain => {
            let chains = r
                .chains
                .clone()
                .unwrap_or_else(|| vec![forecast::DEFAULT_CRITICAL_CHAIN.to_string()]);
            if chains.is_empty() {
                return Err(at("`chains` is empty: no forecast could match".into()));
            }
            Condition::CriticalChain { chains }
        }
        RuleKind::Factor => {
            let factor = r
                .factor
                .clone()
                .filter(|f| !f.trim().is_empty())
                .ok_or_else(|| at("a factor rule needs `factor`, e.g. \"memory\"".into()))?;
            if r.min_points.is_none() && r.min_value.is_none() {
                return Err(at("a factor rule needs `min_points` or `min_value`".into()));
            }
            Condition::Factor(FactorCondition {
                factor,
                min_points: r.min_points,
                min_value: r.min_value,
            })
        }
    };
    let matcher = |pattern: &Option<String>, key: &str| {
        pattern
            .as_ref()
            .map(|p| {
                Regex::new(&format!("^(?:{p})$"))
                    .map_err(|e| at(format!("`{key}` is not a regular expression: {e}")))
            })
            .transpose()
    };
    let millis = |d: Duration, key: &str| {
        i64::try_from(d.as_millis()).map_err(|_| at(format!("`{key}` is too long")))
    };
    Ok(Rule {
        name: r.name.clone(),
        kind: r.kind,
        project: matcher(&r.project, "project")?,
        service: matcher(&r.service, "service")?,
        condition,
        timing: Timing {
            for_ms: millis(r.for_duration, "for")?,
            resolve_after_ms: millis(r.resolve_after.unwrap_or(window), "resolve_after")?,
        },
        severity: r.severity,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloudsage_runtime::Config;
    use cloudsage_schemas::Factor;

    pub(crate) fn window(start: i64, score: f64) -> ScoredWindow {
        ScoredWindow {
            window_id: format!("w{start}"),
            project: "shop".into(),
            service: "api".into(),
            window_start_ms: start,
            window_end_ms: start + 60_000,
            score,
            factors: vec![Factor {
                name: "memory".into(),
                value: 0.97,
                points: 8.5,
                max_points: 10.0,
            }],
            labels: vec!["Memory Pressure".into()],
            top_factors: vec!["memory=97% (+8.5)".into()],
            event_count: 1,
            error_count: 0,
            warn_count: 0,
            late_count: 0,
        }
    }

    fn rules(toml: &str) -> anyhow::Result<Vec<Rule>> {
        let c = Config::from_toml(toml)?;
        build_rules(&c.notifier, Duration::from_secs(60))
    }

    #[test]
    fn without_rules_the_risk_threshold_rule_uses_the_project_thresholds() {
        let r = rules("[notifier]\nthreshold = 70\nproject_thresholds = { shop = 60 }").unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!(
            (r[0].name.as_str(), r[0].kind),
            ("risk_threshold", RuleKind::RiskThreshold)
        );
        assert_eq!(
            r[0].timing(),
            Timing {
                for_ms: 0,
                resolve_after_ms: 60_000
            }
        );
        let e = r[0]
            .observe(Input::Window(&window(0, 65.0)), 60_000)
            .unwrap();
        assert!(e.observation.holds, "shop's threshold is 60");
        let mut other = window(0, 65.0);
        other.project = "blog".into();
        assert!(
            !r[0]
                .observe(Input::Window(&other), 60_000)
                .unwrap()
                .observation
                .holds
        );
        assert_eq!(
            e.firing_summary,
            "shop/api risk 65 ≥ threshold 60: Memory Pressure"
        );
        assert!(r[0]
            .observe(
                Input::Forecast(&forecast::sample(60_000, 99.0, "x")),
                60_000
            )
            .is_none());
    }

    #[test]
    fn each_kind_reads_its_input() {
        let r = rules(
            r#"
[[notifier.rules]]
name = "breach"
kind = "forecast_breach"
threshold = 80

[[notifier.rules]]
name = "chain"
kind = "critical_chain"

[[notifier.rules]]
name = "memory"
kind = "factor"
factor = "memory"
min_value = 0.9
severity = "critical"
"#,
        )
        .unwrap();
        let f = forecast::sample(120_000, 85.0, "critical_incident_response");
        let w = window(60_000, 30.0);
        let breach = r[0].observe(Input::Forecast(&f), 60_000).unwrap();
        assert!(breach.observation.holds);
        assert_eq!(
            (breach.observation.start_ms, breach.observation.end_ms),
            (60_000, 120_000),
            "a forecast stands for the window before it"
        );
        assert!(r[0].observe(Input::Window(&w), 60_000).is_none());
        let cooler = forecast::sample(120_000, 75.0, "preventive_forecast");
        let e = r[0].observe(Input::Forecast(&cooler), 60_000).unwrap();
        assert_eq!(
            (e.observation.holds, e.observation.holds_within_margin),
            (false, true)
        );
        assert!(
            r[1].observe(Input::Forecast(&f), 60_000)
                .unwrap()
                .observation
                .holds
        );
        assert!(
            !r[1]
                .observe(Input::Forecast(&cooler), 60_000)
                .unwrap()
                .observation
                .holds
        );
        let mem = r[2].observe(Input::Window(&w), 60_000).unwrap();
        assert!(mem.observation.holds);
        assert_eq!(
            mem.firing_summary,
            "shop/api memory 0.97 (+8.5 points) value ≥ 0.9 (risk 30)"
        );
        assert_eq!(
            r[2].severity(mem.risk),
            Severity::Critical,
            "set by the rule"
        );
        assert_eq!(r[0].severity(85.0), Severity::Warning);
        assert_eq!(r[0].severity(90.0), Severity::Critical);
        assert!(r[0].reads_forecasts() && r[1].reads_forecasts() && !r[2].reads_forecasts());
    }

    #[test]
    fn project_and_service_matchers_match_whole_names() {
        let r = rules(
            "[[notifier.rules]]\nname = \"pay\"\nkind = \"risk_threshold\"\nproject = \"shop\"\nservice = \"pay.*\"\n",
        )
        .unwrap();
        let mut w = window(0, 99.0);
        assert!(r[0].observe(Input::Window(&w), 60_000).is_none());
        w.service = "payments".into();
        assert!(r[0].observe(Input::Window(&w), 60_000).is_some());
        w.project = "shopping".into();
        assert!(r[0].observe(Input::Window(&w), 60_000).is_none());
    }

    #[test]
    fn invalid_rules_are_errors_naming_the_rule() {
        let bad = [
            ("kind = \"factor\"\nfactor = \"memory\"", "min_points"),
            ("kind = \"factor\"\nmin_points = 3", "factor"),
            ("kind = \"risk_threshold\"\nfactor = \"memory\"", "factor"),
            (
                "kind = \"factor\"\nfactor = \"cpu\"\nmin_points = 1\nthreshold = 50",
                "threshold",
            ),
            ("kind = \"critical_chain\"\nchains = []", "chains"),
            (
                "kind = \"risk_threshold\"\nproject = \"(\"",
                "regular expression",
            ),
            ("kind = \"forecast_breach\"\nthreshold = 120", "0..100"),
            (
                "kind = \"risk_threshold\"\nresolve_margin = -1",
                "resolve_margin",
            ),
        ];
        for (body, expected) in bad {
            let err = rules(&format!("[[notifier.rules]]\nname = \"r1\"\n{body}\n"))
                .err()
                .unwrap_or_else(|| panic!("accepted: {body}"))
                .to_string();
            assert!(
                err.contains("r1") && err.contains(expected),
                "{body}: {err}"
            );
        }
        let twice = "[[notifier.rules]]\nname = \"a\"\nkind = \"critical_chain\"\n\
                     [[notifier.rules]]\nname = \"a\"\nkind = \"critical_chain\"\n";
        assert!(rules(twice).unwrap_err().to_string().contains("twice"));
    }
}

#[cfg(test)]
mod readme {
    use super::*;
    use cloudsage_runtime::Config;

    /// The README's rule example is valid configuration, rule by rule.
    #[test]
    fn the_readme_example_builds() {
        let readme = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"));
        let example = readme
            .split("```toml")
            .skip(1)
            .filter_map(|block| block.split("```").next())
            .find(|block| block.contains("[[notifier.rules]]"))
            .expect("the README shows a [[notifier.rules]] example");
        let c = Config::from_toml(example).unwrap();
        let rules = build_rules(&c.notifier, Duration::from_secs(60)).unwrap();
        let kinds: BTreeSet<&str> = rules.iter().map(|r| r.kind.name()).collect();
        assert_eq!(
            kinds.into_iter().collect::<Vec<_>>(),
            [
                "critical_chain",
                "factor",
                "forecast_breach",
                "risk_threshold"
            ],
            "every kind is shown"
        );
    }
}
