//! Carrying out automatic actions: POST the incident and the action as JSON to the runbook
//! webhook (header `Idempotency-Key: <decision_id>`), then record the outcome (2xx = success)
//! in `decisions` and in the learned confidences. Replays: decisions already carried out by
//! this process, or recorded with an outcome in ClickHouse, are not called again.

use crate::decision::{Execution, Shared};
use cloudsage_runtime::config::RunbookWebhook;
use cloudsage_runtime::driver::now_ms;
use cloudsage_runtime::stage::{DecisionRecord, TableRow};
use cloudsage_runtime::warehouse::Warehouse;
use std::collections::HashSet;
use tokio::sync::mpsc::UnboundedReceiver;

/// The JSON body sent to the runbook webhook.
pub fn body(e: &Execution) -> serde_json::Value {
    let i = &e.incident;
    serde_json::json!({
        "decision_id": e.decision.decision_id,
        "verdict": e.decision.verdict,
        "action": { "kind": e.decision.action, "confidence": e.decision.confidence, "reason": e.decision.reason },
        "incident": {
            "id": i.incident_id, "project": i.project, "service": i.service, "title": i.title,
            "severity": i.severity, "status": i.status, "alert_ids": i.alert_ids,
            "sources": i.sources, "opened_at_ms": i.opened_at_ms, "updated_at_ms": i.updated_at_ms,
        },
    })
}

/// The decision with its outcome, as a newer version of the same row.
pub fn with_outcome(d: &DecisionRecord, success: bool, detail: String) -> DecisionRecord {
    DecisionRecord {
        outcome: if success { "success" } else { "failure" }.into(),
        outcome_detail: detail,
        updated_at_ms: now_ms().max(d.updated_at_ms + 1),
        ..d.clone()
    }
}

async fn already_done(w: &Warehouse, decision_id: &str) -> bool {
    w.client()
        .query("SELECT count() FROM decisions FINAL WHERE decision_id = ? AND outcome IN ('success', 'failure')")
        .bind(decision_id)
        .fetch_one::<u64>()
        .await
        .is_ok_and(|n| n > 0)
}

/// Runs until the channel closes.
pub async fn run(
    mut rx: UnboundedReceiver<Execution>,
    hook: RunbookWebhook,
    warehouse: Option<Warehouse>,
    shared: Shared,
) {
    let client = reqwest::Client::new();
    let mut done: HashSet<String> = HashSet::new();
    while let Some(e) = rx.recv().await {
        let id = e.decision.decision_id.clone();
        if done.contains(&id) {
            continue;
        }
        if let Some(w) = &warehouse {
            if already_done(w, &id).await {
                done.insert(id);
                continue;
            }
        }
        let result = client
            .post(hook.url.expose())
            .timeout(hook.timeout)
            .header("Idempotency-Key", &id)
            .json(&body(&e))
            .send()
            .await;
        let (success, detail) = match result {
            Ok(r) if r.status().is_success() => (true, format!("runbook answered {}", r.status())),
            Ok(r) => (false, format!("runbook answered {}", r.status())),
            Err(err) => (false, format!("runbook call failed: {}", err.without_url())),
        };
        tracing::info!(decision = %id, incident = %e.incident.incident_id, action = %e.decision.action, success, "runbook called");
        done.insert(id);
        shared
            .learner()
            .observe(&e.decision.project, &e.decision.action, success);
        let updated = with_outcome(&e.decision, success, detail);
        shared
            .latest()
            .insert(updated.incident_id.clone(), updated.clone());
        if let Some(w) = &warehouse {
            if let Err(err) = w
                .write(&[TableRow::Decision(updated)], now_ms() as u64)
                .await
            {
                tracing::warn!(error = %format!("{err:#}"), "recording a runbook outcome failed");
            }
        }
    }
}

/// Loads the outcome counts per (project, action) from the audit table into the learner.
pub async fn load_outcomes(w: &Warehouse, shared: &Shared) -> anyhow::Result<()> {
    let rows: Vec<(String, String, u64, u64)> = w
        .client()
        .query(
            "SELECT project, action, countIf(outcome = 'success'), countIf(outcome = 'failure') \
             FROM decisions FINAL GROUP BY project, action",
        )
        .fetch_all()
        .await?;
    let mut l = shared.learner();
    for (p, a, s, f) in rows {
        l.set(&p, &a, s, f);
    }
    Ok(())
}
