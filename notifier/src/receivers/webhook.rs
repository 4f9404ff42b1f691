//! The generic JSON webhook: the Alertmanager-compatible body of [`crate::payload`], success
//! on any 2xx.

use super::attempt::Attempt;
use super::http::{classify_status, network_error, retry_after_header};
use crate::payload::webhook_body;
use cloudsage_runtime::config::WebhookReceiver;
use cloudsage_schemas::Alert;

pub async fn send(http: &reqwest::Client, hook: &WebhookReceiver, alert: &Alert) -> Attempt {
    let body = webhook_body(alert, &hook.name);
    match http.post(hook.url.expose()).json(&body).send().await {
        Err(e) => network_error(&e),
        Ok(resp) => classify_status(resp.status(), retry_after_header(resp.headers())),
    }
}
