//! Routes compiled from `[[notifier.routes]]`: first match wins unless `continue = true`.
//! Without configured routes one implicit route sends every alert to every receiver at once
//! (no grouping wait, no repeats), which is the notifier's behaviour before routing existed.

use crate::routing::matcher::{all_match, field, parse_all, Matcher};
use cloudsage_runtime::config::RouteConfig;
use cloudsage_schemas::Alert;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Route {
    pub matchers: Vec<Matcher>,
    pub receivers: Vec<String>,
    pub group_by: Vec<String>,
    pub group_wait_ms: i64,
    pub group_interval_ms: i64,
    /// `None`: never re-send an unchanged group.
    pub repeat_interval_ms: Option<i64>,
    pub send_resolved: bool,
    pub continue_matching: bool,
}

fn ms(d: Duration) -> i64 {
    d.as_millis() as i64
}

impl Route {
    /// `known` lists every receiver name (including `console` when it is on).
    pub fn from_config(c: &RouteConfig, index: usize, known: &[String]) -> anyhow::Result<Route> {
        let at = || format!("[[notifier.routes]] #{}", index + 1);
        let matchers = parse_all(&c.matchers).map_err(|e| anyhow::anyhow!("{}: {e}", at()))?;
        anyhow::ensure!(!c.receivers.is_empty(), "{}: no receivers", at());
        for r in &c.receivers {
            anyhow::ensure!(
                known.contains(r),
                "{}: unknown receiver {r:?} (known: {})",
                at(),
                known.join(", ")
            );
        }
        Ok(Route {
            matchers,
            receivers: c.receivers.clone(),
            group_by: c.group_by.clone(),
            group_wait_ms: ms(c.group_wait),
            group_interval_ms: ms(c.group_interval),
            repeat_interval_ms: (!c.repeat_interval.is_zero()).then(|| ms(c.repeat_interval)),
            send_resolved: c.send_resolved,
            continue_matching: c.continue_matching,
        })
    }

    /// Every alert to every receiver, immediately, each alert on its own.
    pub fn implicit(receivers: &[String]) -> Route {
        Route {
            matchers: vec![],
            receivers: receivers.to_vec(),
            group_by: vec!["fingerprint".into()],
            group_wait_ms: 0,
            group_interval_ms: 0,
            repeat_interval_ms: None,
            send_resolved: true,
            continue_matching: false,
        }
    }

    /// `name=value,…` over `group_by`: alerts with equal keys are notified together.
    pub fn group_key(&self, alert: &Alert) -> String {
        self.group_by
            .iter()
            .map(|name| {
                let v = if name == "fingerprint" {
                    alert.fingerprint.clone()
                } else {
                    field(alert, name)
                };
                format!("{name}={v}")
            })
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Indices of the routes `alert` takes: the first matching one, and after it further ones
/// while the matched route says `continue`.
pub fn matching(routes: &[Route], alert: &Alert) -> Vec<usize> {
    let mut out = vec![];
    for (i, r) in routes.iter().enumerate() {
        if all_match(&r.matchers, alert) {
            out.push(i);
            if !r.continue_matching {
                break;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routing::matcher::tests::alert;
    use cloudsage_runtime::config::Config;
    use cloudsage_schemas::Severity;

    fn routes(toml: &str) -> Vec<Route> {
        let c = Config::from_toml(toml).unwrap().notifier;
        let known: Vec<String> = ["pager", "chat", "mail"].map(String::from).to_vec();
        c.routes
            .iter()
            .enumerate()
            .map(|(i, r)| Route::from_config(r, i, &known).unwrap())
            .collect()
    }

    const TREE: &str = r#"
[[notifier.routes]]
matchers = ["severity=critical"]
receivers = ["pager"]
continue = true
[[notifier.routes]]
matchers = ["project=shop", "service=~cart|checkout"]
receivers = ["chat"]
group_by = ["project"]
[[notifier.routes]]
receivers = ["mail"]
repeat_interval = "0s"
"#;

    #[test]
    fn first_match_wins_unless_continue() {
        let r = routes(TREE);
        assert_eq!(matching(&r, &alert("shop", "cart", Severity::Warning)), [1]);
        assert_eq!(
            matching(&r, &alert("shop", "cart", Severity::Critical)),
            [0, 1]
        );
        assert_eq!(
            matching(&r, &alert("shop", "web", Severity::Critical)),
            [0, 2]
        );
        assert_eq!(matching(&r, &alert("blog", "web", Severity::Info)), [2]);
        assert_eq!(r[2].repeat_interval_ms, None);
        assert_eq!(r[1].repeat_interval_ms, Some(4 * 3_600_000));
    }

    #[test]
    fn group_keys_use_group_by_values() {
        let r = routes(TREE);
        let a = alert("shop", "cart", Severity::Warning);
        assert_eq!(r[1].group_key(&a), "project=shop");
        assert_eq!(r[2].group_key(&a), "");
        assert_eq!(Route::implicit(&[]).group_key(&a), "fingerprint=shop-cart");
    }

    #[test]
    fn unknown_receivers_and_bad_matchers_are_refused() {
        let c = Config::from_toml("[[notifier.routes]]\nreceivers = [\"nope\"]\n[[notifier.routes]]\nmatchers = [\"a=~(\"]\nreceivers = [\"pager\"]\n")
            .unwrap()
            .notifier;
        let known = vec!["pager".to_string()];
        let e = Route::from_config(&c.routes[0], 0, &known)
            .unwrap_err()
            .to_string();
        assert!(e.contains("nope") && e.contains("#1"), "{e}");
        assert!(Route::from_config(&c.routes[1], 1, &known).is_err());
    }
}
