//! GitHub `workflow_run` webhooks (GitHub Actions). Only `action: completed` deliveries are
//! records: conclusion `failure`, `timed_out` or `startup_failure` → error; `cancelled`,
//! `action_required` or `stale` → warn; `success`, `neutral`, `skipped` → info. `requested` /
//! `in_progress` deliveries, `ping` and other events are answered and ignored. The service is
//! the repository's name; `line` names the workflow, run, branch, conclusion and commit title.

use super::{record, text, time_ms, Outcome};
use cloudsage_schemas::RawDefaults;
use serde_json::Value;

/// `event` is the `X-GitHub-Event` header.
pub fn normalize(
    payload: &Value,
    event: Option<&str>,
    defaults: &RawDefaults,
) -> Result<Outcome, String> {
    match event {
        Some("workflow_run") | None => {}
        Some("ping") => return Ok(Outcome::Ignored("ping received".into())),
        Some(other) => {
            return Ok(Outcome::Ignored(format!(
                "`{other}` events are not used: subscribe the webhook to \"Workflow runs\" only"
            )))
        }
    }
    let run = payload
        .get("workflow_run")
        .filter(|r| r.is_object())
        .ok_or("not a GitHub workflow_run event (no `workflow_run`)")?;
    let action = text(payload, "/action").unwrap_or_default();
    if action != "completed" {
        return Ok(Outcome::Ignored(format!(
            "workflow_run `{action}`: only completed runs are recorded"
        )));
    }
    let conclusion =
        text(run, "/conclusion").ok_or("completed workflow_run without a `conclusion`")?;
    let level = match conclusion.as_str() {
        "failure" | "timed_out" | "startup_failure" => "error",
        "cancelled" | "action_required" | "stale" => "warn",
        _ => "info",
    };
    let workflow = text(run, "/name").unwrap_or_else(|| "workflow".into());
    let mut line = format!("GitHub Actions workflow \"{workflow}\"");
    if let Some(n) = text(run, "/run_number") {
        line.push_str(&format!(" run #{n}"));
    }
    if let Some(branch) = text(run, "/head_branch") {
        line.push_str(&format!(" on {branch}"));
    }
    line.push_str(&format!(": {conclusion}"));
    if let Some(title) = text(run, "/display_title") {
        line.push_str(&format!(" ({title})"));
    }
    let time = time_ms(run.get("updated_at")).or_else(|| time_ms(run.get("run_started_at")));
    Ok(Outcome::Records(vec![record(
        defaults,
        text(payload, "/repository/name"),
        level,
        line,
        time,
        [
            ("conclusion", Some(conclusion)),
            ("workflow", Some(workflow)),
            ("run_id", text(run, "/id")),
            ("url", text(run, "/html_url")),
            ("repository", text(payload, "/repository/full_name")),
            ("branch", text(run, "/head_branch")),
            ("commit", text(run, "/head_sha")),
            ("trigger", text(run, "/event")),
            (
                "actor",
                text(run, "/actor/login").or_else(|| text(payload, "/sender/login")),
            ),
        ],
    )]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhooks::tests::defaults;
    use serde_json::json;

    /// Modelled on the `workflow_run` example of GitHub's webhook events docs (trimmed).
    pub(crate) fn completed(conclusion: &str) -> Value {
        json!({
            "action": "completed",
            "workflow_run": {
                "id": 9001234567i64,
                "name": "CI",
                "node_id": "WFR_kwLOBmXQ0c8AAAACGZ2VBw",
                "head_branch": "main",
                "head_sha": "acb5820ced9479c074f688cc328bf03f341a511d",
                "path": ".github/workflows/ci.yml",
                "display_title": "Retry payment capture on timeout",
                "run_number": 562,
                "event": "push",
                "status": "completed",
                "conclusion": conclusion,
                "workflow_id": 159038,
                "check_suite_id": 414944374,
                "url": "https://api.github.com/repos/shop/checkout/actions/runs/9001234567",
                "html_url": "https://github.com/shop/checkout/actions/runs/9001234567",
                "created_at": "2024-05-01T09:55:00Z",
                "updated_at": "2024-05-01T10:00:00Z",
                "run_attempt": 1,
                "run_started_at": "2024-05-01T09:55:00Z",
                "actor": {"login": "octocat", "id": 1, "type": "User"},
                "triggering_actor": {"login": "octocat", "id": 1, "type": "User"}
            },
            "workflow": {
                "id": 159038, "name": "CI", "path": ".github/workflows/ci.yml", "state": "active"
            },
            "repository": {
                "id": 186853002, "name": "checkout", "full_name": "shop/checkout", "private": true,
                "owner": {"login": "shop", "id": 21031067, "type": "Organization"},
                "html_url": "https://github.com/shop/checkout"
            },
            "organization": {"login": "shop", "id": 21031067},
            "sender": {"login": "octocat", "id": 1, "type": "User"}
        })
    }

    #[test]
    fn a_failed_run_is_an_error_of_its_repository() {
        let Outcome::Records(r) =
            normalize(&completed("failure"), Some("workflow_run"), &defaults()).unwrap()
        else {
            panic!()
        };
        let r = &r[0];
        assert_eq!(r.service, "checkout");
        assert_eq!(r.fields["level"], "error");
        assert_eq!(
            r.line.as_deref(),
            Some("GitHub Actions workflow \"CI\" run #562 on main: failure (Retry payment capture on timeout)")
        );
        assert_eq!(r.event_time_ms, Some(1_714_557_600_000));
        assert_eq!(
            r.fields["url"],
            "https://github.com/shop/checkout/actions/runs/9001234567"
        );
        assert_eq!(r.fields["actor"], "octocat");
    }

    #[test]
    fn success_is_info_and_other_deliveries_are_ignored() {
        let Outcome::Records(r) = normalize(&completed("success"), None, &defaults()).unwrap()
        else {
            panic!()
        };
        assert_eq!(r[0].fields["level"], "info");
        let mut requested = completed("success");
        requested["action"] = json!("requested");
        assert!(matches!(
            normalize(&requested, Some("workflow_run"), &defaults()),
            Ok(Outcome::Ignored(_))
        ));
        assert!(matches!(
            normalize(
                &json!({"zen": "Keep it logically awesome."}),
                Some("ping"),
                &defaults()
            ),
            Ok(Outcome::Ignored(_))
        ));
        assert!(matches!(
            normalize(&completed("failure"), Some("push"), &defaults()),
            Ok(Outcome::Ignored(_))
        ));
        assert!(normalize(
            &json!({"action": "completed"}),
            Some("workflow_run"),
            &defaults()
        )
        .is_err());
    }
}
