//! Rules every [`Feedback`] record follows, shared by the ingestor (which answers 400) and
//! the forecaster (which sends a breaking record to `feedback.dlq`), and its deterministic id.

use crate::{stable_id, Feedback, FeedbackVerdict};

/// Longest `project`, `service`, `forecast_id`, `action_kind` or `user`, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// Longest `pattern`, in characters.
pub const MAX_PATTERN_CHARS: usize = 200;
/// Longest `comment`, in characters.
pub const MAX_COMMENT_CHARS: usize = 4000;

impl FeedbackVerdict {
    /// The Avro symbol, e.g. `not_helpful`.
    pub fn name(self) -> &'static str {
        match self {
            FeedbackVerdict::Helpful => "helpful",
            FeedbackVerdict::NotHelpful => "not_helpful",
            FeedbackVerdict::Done => "done",
            FeedbackVerdict::IgnorePattern => "ignore_pattern",
        }
    }

    /// Every verdict, in schema order.
    pub const ALL: [FeedbackVerdict; 4] = [
        FeedbackVerdict::Helpful,
        FeedbackVerdict::NotHelpful,
        FeedbackVerdict::Done,
        FeedbackVerdict::IgnorePattern,
    ];

    /// The verdict named `name` (its Avro symbol).
    pub fn from_name(name: &str) -> Option<FeedbackVerdict> {
        Self::ALL.into_iter().find(|v| v.name() == name)
    }
}

impl Feedback {
    /// The id of this feedback: a hash of every field but `feedback_id`, so the same verdict
    /// sent twice (a retry) has the same id and is stored once.
    pub fn derive_id(&self) -> String {
        let opt = |o: &Option<String>| o.clone().unwrap_or_else(|| "\u{0}".to_string());
        stable_id(&[
            &self.project,
            &opt(&self.service),
            &opt(&self.forecast_id),
            &opt(&self.action_kind),
            self.verdict.name(),
            &opt(&self.pattern),
            &opt(&self.comment),
            &opt(&self.user),
            &self.received_at_ms.to_string(),
        ])
    }

    /// Checks the record is usable; `Err` says what to fix. Empty optional strings count as
    /// missing.
    pub fn validate(&self) -> Result<(), String> {
        let present = |o: &Option<String>| o.as_deref().is_some_and(|s| !s.trim().is_empty());
        if self.feedback_id.trim().is_empty() {
            return Err("feedback_id is empty: use Feedback::derive_id".into());
        }
        if self.project.trim().is_empty() {
            return Err("project is empty".into());
        }
        let names = [
            ("project", Some(&self.project)),
            ("service", self.service.as_ref()),
            ("forecast_id", self.forecast_id.as_ref()),
            ("action_kind", self.action_kind.as_ref()),
            ("user", self.user.as_ref()),
        ];
        for (field, value) in names {
            if value.is_some_and(|v| v.chars().count() > MAX_NAME_CHARS) {
                return Err(format!(
                    "{field} is longer than {MAX_NAME_CHARS} characters"
                ));
            }
        }
        if self
            .pattern
            .as_ref()
            .is_some_and(|p| p.chars().count() > MAX_PATTERN_CHARS)
        {
            return Err(format!(
                "pattern is longer than {MAX_PATTERN_CHARS} characters"
            ));
        }
        if self
            .comment
            .as_ref()
            .is_some_and(|c| c.chars().count() > MAX_COMMENT_CHARS)
        {
            return Err(format!(
                "comment is longer than {MAX_COMMENT_CHARS} characters"
            ));
        }
        match self.verdict {
            FeedbackVerdict::IgnorePattern => {
                if !present(&self.action_kind) && !present(&self.pattern) {
                    return Err("ignore_pattern needs an action_kind or a pattern to ignore".into());
                }
            }
            v => {
                if !present(&self.action_kind) {
                    return Err(format!(
                        "{} needs the action_kind it judges (e.g. \"restart_pods\")",
                        v.name()
                    ));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Message as _;

    fn feedback(verdict: FeedbackVerdict) -> Feedback {
        let mut f = Feedback {
            feedback_id: String::new(),
            project: "shop".into(),
            service: Some("checkout".into()),
            forecast_id: Some("f1".into()),
            action_kind: Some("restart_pods".into()),
            verdict,
            pattern: None,
            comment: Some("worked ✓".into()),
            user: None,
            received_at_ms: 1_700_000_000_000,
        };
        f.feedback_id = f.derive_id();
        f
    }

    #[test]
    fn round_trips_and_uses_lowercase_symbols() {
        for v in FeedbackVerdict::ALL {
            let f = feedback(v);
            assert_eq!(Feedback::decode(&f.encode()).unwrap(), f);
            assert_eq!(FeedbackVerdict::from_name(v.name()), Some(v));
        }
        let canonical = Feedback::schema().schema.canonical_form();
        assert!(
            canonical.contains(r#""symbols":["helpful","not_helpful","done","ignore_pattern"]"#)
        );
    }

    #[test]
    fn ids_depend_on_every_field_but_the_id() {
        let a = feedback(FeedbackVerdict::Helpful);
        assert_eq!(
            a.derive_id(),
            feedback(FeedbackVerdict::Helpful).derive_id()
        );
        assert_ne!(a.derive_id(), feedback(FeedbackVerdict::Done).derive_id());
        let none = Feedback {
            user: Some(String::new()),
            ..a.clone()
        };
        assert_ne!(a.derive_id(), none.derive_id(), "None and \"\" differ");
        let later = Feedback {
            received_at_ms: a.received_at_ms + 1,
            ..a.clone()
        };
        assert_ne!(a.derive_id(), later.derive_id());
    }

    #[test]
    fn validation_explains_what_is_missing() {
        assert_eq!(feedback(FeedbackVerdict::Helpful).validate(), Ok(()));
        let no_kind = Feedback {
            action_kind: Some(" ".into()),
            ..feedback(FeedbackVerdict::NotHelpful)
        };
        assert!(no_kind
            .validate()
            .unwrap_err()
            .contains("not_helpful needs the action_kind"));
        let ignore_nothing = Feedback {
            action_kind: None,
            ..feedback(FeedbackVerdict::IgnorePattern)
        };
        assert!(ignore_nothing
            .validate()
            .unwrap_err()
            .contains("action_kind or a pattern"));
        let ignore_pattern = Feedback {
            pattern: Some("runbook".into()),
            ..ignore_nothing
        };
        assert_eq!(ignore_pattern.validate(), Ok(()));
        let long = Feedback {
            comment: Some("x".repeat(MAX_COMMENT_CHARS + 1)),
            ..feedback(FeedbackVerdict::Done)
        };
        assert!(long.validate().unwrap_err().contains("comment is longer"));
        let no_project = Feedback {
            project: String::new(),
            ..feedback(FeedbackVerdict::Done)
        };
        assert!(no_project.validate().is_err());
    }
}
