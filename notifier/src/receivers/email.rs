//! Email over SMTP (lettre on tokio, rustls): a multipart/alternative mail, plain text and
//! HTML. SMTP 4xx answers are transient, 5xx permanent; connection trouble is transient,
//! TLS and client-side (configuration) errors permanent. The password never leaves lettre.

use super::attempt::Attempt;
use crate::payload::{actions, forecast_summary, ids, links, title, top_factors, truncate};
use anyhow::Context as _;
use cloudsage_runtime::config::{EmailReceiver, SmtpTls};
use cloudsage_runtime::rows::status_name;
use cloudsage_schemas::Alert;
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::response::Severity as SmtpSeverity;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::fmt::Write as _;
use std::time::Duration;

const SUBJECT_MAX: usize = 200;

pub struct Email {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    to: Vec<Mailbox>,
}

impl Email {
    /// Checks the addresses and prepares the transport; connects (afresh) on each send.
    pub fn new(c: &EmailReceiver, timeout: Duration) -> anyhow::Result<Self> {
        let ctx = || format!("[[notifier.email]] {}", c.name);
        let from: Mailbox = c
            .from
            .parse()
            .with_context(|| format!("{}: from address {:?}", ctx(), c.from))?;
        anyhow::ensure!(!c.to.is_empty(), "{}: `to` lists no address", ctx());
        let to =
            c.to.iter()
                .map(|a| {
                    a.parse()
                        .with_context(|| format!("{}: to address {a:?}", ctx()))
                })
                .collect::<anyhow::Result<Vec<Mailbox>>>()?;
        let builder = match c.tls {
            SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&c.host),
            SmtpTls::Starttls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&c.host).with_context(ctx)?
            }
            SmtpTls::Tls => {
                AsyncSmtpTransport::<Tokio1Executor>::relay(&c.host).with_context(ctx)?
            }
        };
        let mut builder = builder.port(c.port_or_default()).timeout(Some(timeout));
        match (&c.username, &c.password) {
            (Some(user), password) => {
                let password = password.as_ref().map(|p| p.expose().to_string());
                builder = builder
                    .credentials(Credentials::new(user.clone(), password.unwrap_or_default()));
            }
            (None, Some(_)) => anyhow::bail!("{}: `password` without `username`", ctx()),
            (None, None) => {}
        }
        Ok(Self {
            transport: builder.build(),
            from,
            to,
        })
    }

    pub async fn send(&self, alert: &Alert) -> Attempt {
        let mail = match message(&self.from, &self.to, alert) {
            Ok(m) => m,
            Err(e) => return Attempt::Permanent(format!("could not build the mail: {e}")),
        };
        match self.transport.send(mail).await {
            Ok(_) => Attempt::Delivered,
            Err(e) => classify(&e),
        }
    }
}

pub fn classify(e: &lettre::transport::smtp::Error) -> Attempt {
    let reason = truncate(&format!("SMTP: {e}"), 300);
    match e.status().map(|c| c.severity) {
        Some(SmtpSeverity::TransientNegativeCompletion) => Attempt::transient(reason),
        Some(_) => Attempt::Permanent(reason),
        None if e.is_tls() || e.is_client() => Attempt::Permanent(reason),
        None => Attempt::transient(reason),
    }
}

pub fn subject(alert: &Alert) -> String {
    // Headers are one line: a newline in a summary from logs must not start a new header.
    let s = format!("{}: {}", title(alert), alert.summary).replace(['\r', '\n'], " ");
    truncate(&s, SUBJECT_MAX)
}

/// `(label, value)` rows shared by both bodies.
fn facts(alert: &Alert) -> Vec<(String, String)> {
    let mut rows = vec![
        ("Status".to_string(), status_name(alert.status).to_string()),
        ("Score".into(), format!("{:.1}", alert.score)),
    ];
    let factors = top_factors(alert);
    if !factors.is_empty() {
        rows.push(("Top factors".into(), factors.join(", ")));
    }
    if let Some(f) = forecast_summary(alert) {
        rows.push(("Forecast".into(), f));
    }
    rows
}

pub fn text_body(alert: &Alert) -> String {
    let mut t = format!("{}\n\n{}\n\n", title(alert), alert.summary);
    for (k, v) in facts(alert) {
        let _ = writeln!(t, "{k}: {v}");
    }
    let actions = actions(alert);
    if !actions.is_empty() {
        t.push_str("\nActions:\n");
        for (i, a) in actions.iter().enumerate() {
            let _ = writeln!(t, "  {}. {a}", i + 1);
        }
    }
    t.push('\n');
    for (k, url) in links(alert) {
        let _ = writeln!(t, "{k}: {url}");
    }
    for (k, v) in ids(alert) {
        let _ = writeln!(t, "{k}: {v}");
    }
    t
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub fn html_body(alert: &Alert) -> String {
    let mut h = format!(
        "<!DOCTYPE html><html><body><h2>{}</h2><p>{}</p><table>",
        esc(&title(alert)),
        esc(&alert.summary)
    );
    for (k, v) in facts(alert) {
        let _ = write!(
            h,
            "<tr><th align=\"left\">{}</th><td>{}</td></tr>",
            esc(&k),
            esc(&v)
        );
    }
    h.push_str("</table>");
    let actions = actions(alert);
    if !actions.is_empty() {
        h.push_str("<h3>Actions</h3><ol>");
        for a in &actions {
            let _ = write!(h, "<li>{}</li>", esc(a));
        }
        h.push_str("</ol>");
    }
    let links = links(alert);
    if !links.is_empty() {
        h.push_str("<p>");
        for (k, url) in links {
            let _ = write!(h, "<a href=\"{}\">{}</a> ", esc(&url), esc(&k));
        }
        h.push_str("</p>");
    }
    h.push_str("<p><small>");
    let ids: Vec<String> = ids(alert)
        .into_iter()
        .map(|(k, v)| format!("{k} <code>{}</code>", esc(&v)))
        .collect();
    // An entity, so the HTML part stays ASCII (7bit) unless the alert's own text is not.
    h.push_str(&ids.join(" &middot; "));
    h.push_str("</small></p></body></html>");
    h
}

/// The mail for one alert. Its Message-ID derives from the alert id, so a mail sent twice
/// (a replay after a crash between sending and recording) threads as one.
pub fn message(
    from: &Mailbox,
    to: &[Mailbox],
    alert: &Alert,
) -> Result<Message, lettre::error::Error> {
    let mut b = Message::builder()
        .from(from.clone())
        .subject(subject(alert))
        .message_id(Some(format!("<{}@cloudsage>", alert.alert_id)));
    for t in to {
        b = b.to(t.clone());
    }
    b.multipart(
        MultiPart::alternative()
            .singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_PLAIN)
                    .body(text_body(alert)),
            )
            .singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_HTML)
                    .body(html_body(alert)),
            ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::sample_alert;

    fn mailbox(s: &str) -> Mailbox {
        s.parse().unwrap()
    }

    #[test]
    fn subject_is_one_line() {
        let mut a = sample_alert();
        assert_eq!(
            subject(&a),
            "[FIRING] CRITICAL shop/checkout: shop/checkout risk 93 ≥ threshold 70"
        );
        a.summary = "x\r\nBcc: evil@example.invalid".into();
        assert!(!subject(&a).contains('\n'));
    }

    #[test]
    fn bodies_carry_the_facts_and_html_is_escaped() {
        let mut a = sample_alert();
        a.summary = "<script>alert(1)</script>".into();
        let text = text_body(&a);
        for want in [
            "Score: 93.3",
            "Top factors: error_rate, latency",
            "  1. Roll back the last deploy",
            "dashboard: https://grafana.example/d/1",
            "alert: a1",
        ] {
            assert!(text.contains(want), "{want:?} not in {text}");
        }
        let html = html_body(&a);
        assert!(
            html.contains("&lt;script&gt;") && !html.contains("<script>"),
            "{html}"
        );
        assert!(html.contains("<li>Page the owner</li>"), "{html}");
    }

    #[test]
    fn message_is_multipart_alternative_with_a_stable_id() {
        let m = message(
            &mailbox("CloudSage <a@example.invalid>"),
            &[mailbox("b@example.invalid"), mailbox("c@example.invalid")],
            &sample_alert(),
        )
        .unwrap();
        let raw = String::from_utf8(m.formatted()).unwrap();
        assert!(raw.contains("Message-ID: <a1@cloudsage>"), "{raw}");
        assert!(raw.contains("multipart/alternative"));
        assert!(raw.contains("text/plain") && raw.contains("text/html"));
        assert!(
            raw.contains("To: b@example.invalid, c@example.invalid"),
            "{raw}"
        );
    }

    #[test]
    fn config_errors_are_caught_at_start() {
        let c = |from: &str, to: Vec<&str>, pw: bool| EmailReceiver {
            name: "m".into(),
            host: "localhost".into(),
            port: None,
            tls: SmtpTls::None,
            username: None,
            password: pw.then(|| cloudsage_runtime::config::Secret::new("pw")),
            from: from.into(),
            to: to.into_iter().map(String::from).collect(),
            max_per_minute: None,
        };
        let t = Duration::from_secs(1);
        assert!(Email::new(&c("a@b.c", vec!["d@e.f"], false), t).is_ok());
        assert!(Email::new(&c("not an address", vec!["d@e.f"], false), t).is_err());
        assert!(Email::new(&c("a@b.c", vec![], false), t).is_err());
        assert!(Email::new(&c("a@b.c", vec!["d@"], false), t).is_err());
        let err = Email::new(&c("a@b.c", vec!["d@e.f"], true), t)
            .err()
            .unwrap();
        assert!(!format!("{err:#}").contains("pw\""), "{err:#}");
    }
}
