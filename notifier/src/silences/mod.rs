//! Silences: matchers plus a time span during which matching alerts are not sent (they are
//! logged with result `silenced`). They come from the configuration and from the ops API
//! ([`api`]); API silences are kept in ClickHouse ([`store`]) so restarts keep them. An
//! expired silence no longer applies. [`Silences`] is shared (cheap to clone) between the
//! API and the routing processor; time is always passed in.

pub mod api;
pub mod store;

use crate::routing::matcher::{all_match, parse_all, Matcher};
use cloudsage_runtime::config::SilenceConfig;
use cloudsage_schemas::Alert;
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::UNIX_EPOCH;

/// One silence.
#[derive(Debug, Clone)]
pub struct Silence {
    pub id: String,
    pub matchers: Vec<Matcher>,
    pub starts_at_ms: i64,
    pub ends_at_ms: i64,
    pub created_by: String,
    pub comment: String,
}

/// A silence as the API lists it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SilenceView {
    pub id: String,
    pub matchers: Vec<String>,
    pub starts_at_ms: i64,
    pub ends_at_ms: i64,
    pub created_by: String,
    pub comment: String,
    /// `pending`, `active` or `expired`.
    pub state: &'static str,
}

impl Silence {
    pub fn active_at(&self, now_ms: i64) -> bool {
        self.starts_at_ms <= now_ms && now_ms < self.ends_at_ms
    }

    pub fn silences(&self, alert: &Alert, now_ms: i64) -> bool {
        self.active_at(now_ms) && all_match(&self.matchers, alert)
    }

    pub fn view(&self, now_ms: i64) -> SilenceView {
        SilenceView {
            id: self.id.clone(),
            matchers: self.matchers.iter().map(ToString::to_string).collect(),
            starts_at_ms: self.starts_at_ms,
            ends_at_ms: self.ends_at_ms,
            created_by: self.created_by.clone(),
            comment: self.comment.clone(),
            state: if now_ms < self.starts_at_ms {
                "pending"
            } else if now_ms < self.ends_at_ms {
                "active"
            } else {
                "expired"
            },
        }
    }

    pub fn from_config(c: &SilenceConfig, index: usize) -> anyhow::Result<Silence> {
        let ms = |t: std::time::SystemTime| {
            t.duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as i64)
        };
        let matchers = parse_all(&c.matchers)
            .map_err(|e| anyhow::anyhow!("[[notifier.silences]] #{}: {e}", index + 1))?;
        anyhow::ensure!(
            !matchers.is_empty(),
            "[[notifier.silences]] #{}: at least one matcher is needed",
            index + 1
        );
        Ok(Silence {
            id: format!("config-{}", index + 1),
            matchers,
            starts_at_ms: c.starts_at.map_or(0, ms),
            ends_at_ms: ms(c.ends_at),
            created_by: "config".into(),
            comment: c.comment.clone(),
        })
    }
}

/// A new, unique silence id.
pub fn new_id(now_ms: i64) -> String {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    format!("{now_ms:x}-{:x}-{n:x}", std::process::id())
}

/// The shared set of silences.
#[derive(Clone, Default)]
pub struct Silences {
    inner: Arc<RwLock<Vec<Silence>>>,
}

impl Silences {
    pub fn from_config(cs: &[SilenceConfig]) -> anyhow::Result<Silences> {
        let s = Silences::default();
        for (i, c) in cs.iter().enumerate() {
            s.upsert(Silence::from_config(c, i)?);
        }
        Ok(s)
    }

    /// Adds a silence, replacing one with the same id.
    pub fn upsert(&self, silence: Silence) {
        let mut all = self.inner.write().unwrap_or_else(|p| p.into_inner());
        all.retain(|s| s.id != silence.id);
        all.push(silence);
    }

    /// Ends a silence now; `false` if there is no such silence.
    pub fn expire(&self, id: &str, now_ms: i64) -> Option<Silence> {
        let mut all = self.inner.write().unwrap_or_else(|p| p.into_inner());
        let s = all.iter_mut().find(|s| s.id == id)?;
        s.ends_at_ms = s.ends_at_ms.min(now_ms);
        Some(s.clone())
    }

    /// The id of the first active silence matching `alert`.
    pub fn silenced_by(&self, alert: &Alert, now_ms: i64) -> Option<String> {
        let all = self.inner.read().unwrap_or_else(|p| p.into_inner());
        all.iter()
            .find(|s| s.silences(alert, now_ms))
            .map(|s| s.id.clone())
    }

    pub fn list(&self, now_ms: i64) -> Vec<SilenceView> {
        let all = self.inner.read().unwrap_or_else(|p| p.into_inner());
        all.iter().map(|s| s.view(now_ms)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routing::matcher::tests::alert;
    use crate::routing::matcher::Matcher;
    use cloudsage_schemas::Severity;

    fn silence(id: &str, m: &str, from: i64, to: i64) -> Silence {
        Silence {
            id: id.into(),
            matchers: vec![Matcher::parse(m).unwrap()],
            starts_at_ms: from,
            ends_at_ms: to,
            created_by: "t".into(),
            comment: String::new(),
        }
    }

    #[test]
    fn silences_apply_only_while_active_and_matching() {
        let s = Silences::default();
        s.upsert(silence("a", "service=cart", 100, 200));
        let cart = alert("shop", "cart", Severity::Critical);
        let web = alert("shop", "web", Severity::Critical);
        assert_eq!(s.silenced_by(&cart, 99), None, "not started yet");
        assert_eq!(s.silenced_by(&cart, 100).as_deref(), Some("a"));
        assert_eq!(s.silenced_by(&cart, 199).as_deref(), Some("a"));
        assert_eq!(s.silenced_by(&cart, 200), None, "expired");
        assert_eq!(s.silenced_by(&web, 150), None);
        let states: Vec<_> = [50, 150, 250].iter().map(|t| s.list(*t)[0].state).collect();
        assert_eq!(states, ["pending", "active", "expired"]);
    }

    #[test]
    fn expiring_ends_a_silence_now() {
        let s = Silences::default();
        s.upsert(silence("a", "project=shop", 0, 1_000));
        let cart = alert("shop", "cart", Severity::Info);
        assert!(s.silenced_by(&cart, 400).is_some());
        assert_eq!(s.expire("a", 500).unwrap().ends_at_ms, 500);
        assert!(s.silenced_by(&cart, 500).is_none());
        assert!(s.expire("nope", 500).is_none());
        assert_ne!(new_id(1), new_id(1));
    }

    #[test]
    fn config_silences_need_matchers() {
        let c = SilenceConfig {
            matchers: vec![],
            starts_at: None,
            ends_at: UNIX_EPOCH + std::time::Duration::from_secs(10),
            comment: String::new(),
        };
        assert!(Silences::from_config(std::slice::from_ref(&c)).is_err());
        let ok = SilenceConfig {
            matchers: vec!["service=cart".into()],
            ..c
        };
        let s = Silences::from_config(&[ok]).unwrap();
        let cart = alert("shop", "cart", Severity::Info);
        assert!(s.silenced_by(&cart, 9_999).is_some());
        assert!(s.silenced_by(&cart, 10_000).is_none());
    }
}
