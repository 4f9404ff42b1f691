//! The email receiver: a real delivery to the local SMTP server (aiosmtpd, started by
//! `deploy/local/services.sh`, which stores mail in the Maildir named by
//! CLOUDSAGE_SMTP_MAILBOX), and SMTP error classes against a scripted SMTP server.

use base64::Engine as _;
use cloudsage_runtime::config::{EmailReceiver, NotifierConfig, SmtpTls};
use cloudsage_runtime::deliver::{Deliverer, DeliveryReport};
use cloudsage_schemas::{Alert, AlertStatus, Severity};
use notifier::Receivers;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// The local SMTP server and its Maildir, or `None` to skip. With
/// CLOUDSAGE_REQUIRE_SERVICES=1 a missing service is a failure, not a skip.
fn smtp_env() -> Option<(String, u16, PathBuf)> {
    let addr = std::env::var("CLOUDSAGE_SMTP_ADDR").ok();
    let mailbox = std::env::var("CLOUDSAGE_SMTP_MAILBOX").ok();
    let (Some(addr), Some(mailbox)) = (addr, mailbox) else {
        if std::env::var("CLOUDSAGE_REQUIRE_SERVICES").as_deref() == Ok("1") {
            panic!("CLOUDSAGE_REQUIRE_SERVICES=1 but CLOUDSAGE_SMTP_ADDR / CLOUDSAGE_SMTP_MAILBOX are not set: eval \"$(deploy/local/services.sh env)\"");
        }
        eprintln!("skipping: no CLOUDSAGE_SMTP_ADDR / CLOUDSAGE_SMTP_MAILBOX (run deploy/local/services.sh start, then eval its env)");
        return None;
    };
    let (host, port) = addr
        .rsplit_once(':')
        .expect("CLOUDSAGE_SMTP_ADDR is host:port");
    let new = PathBuf::from(&mailbox).join("new");
    assert!(
        new.is_dir(),
        "{} is missing: the SMTP server does not store mail there; restart it with deploy/local/services.sh start",
        new.display()
    );
    Some((host.to_string(), port.parse().unwrap(), new))
}

fn receiver(host: &str, port: u16, to: &[&str]) -> EmailReceiver {
    EmailReceiver {
        name: "mail".into(),
        host: host.into(),
        port: Some(port),
        tls: SmtpTls::None,
        username: None,
        password: None,
        from: "CloudSage <alerts@cloudsage.test>".into(),
        to: to.iter().map(|s| s.to_string()).collect(),
        max_per_minute: None,
    }
}

fn config(email: EmailReceiver, retry_for: Duration) -> NotifierConfig {
    NotifierConfig {
        console: false,
        email: vec![email],
        delivery_timeout: Duration::from_secs(5),
        delivery_retry_for: retry_for,
        ..Default::default()
    }
}

fn alert(id: &str) -> Alert {
    let mut labels = BTreeMap::new();
    labels.insert("top_factors".into(), "error_rate".into());
    labels.insert("action_1".into(), "Roll back deploy 42".into());
    labels.insert("action_2".into(), "Scale out".into());
    labels.insert("action_3".into(), "Page the owner".into());
    Alert {
        alert_id: id.into(),
        fingerprint: "fp".into(),
        project: "shop".into(),
        service: "checkout".into(),
        rule: "risk_threshold".into(),
        status: AlertStatus::Firing,
        severity: Severity::Critical,
        summary: "checkout <b>risk</b> 95".into(),
        score: 95.0,
        starts_at_ms: 1_700_000_000_000,
        ends_at_ms: None,
        window_id: Some("win-9".into()),
        forecast_id: None,
        labels,
    }
}

fn only(report: &DeliveryReport) -> (&str, u32) {
    assert_eq!(report.notifications.len(), 1, "{report:?}");
    let n = &report.notifications[0];
    (n.result.as_str(), n.attempts)
}

/// A unique id per run, so a Maildir shared across runs never matches an older mail.
fn unique(prefix: &str) -> String {
    let ns = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{}-{ns}", std::process::id())
}

/// The raw mail whose Message-ID names `alert_id`, waiting up to 10 s for it.
async fn find_mail(new: &std::path::Path, alert_id: &str) -> String {
    let needle = format!("<{alert_id}@cloudsage>");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        for entry in std::fs::read_dir(new).unwrap().flatten() {
            if let Ok(raw) = std::fs::read_to_string(entry.path()) {
                if raw.contains(&needle) {
                    return raw;
                }
            }
        }
        assert!(
            Instant::now() < deadline,
            "no mail with Message-ID {needle} in {}",
            new.display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A header's value, unfolded (continuation lines start with white space).
fn header(raw: &str, name: &str) -> Option<String> {
    let head = raw
        .split("\n\n")
        .next()
        .unwrap_or(raw)
        .replace("\r\n", "\n");
    let mut unfolded: Vec<String> = Vec::new();
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some(last) = unfolded.last_mut() {
                last.push(' ');
                last.push_str(line.trim());
            }
        } else {
            unfolded.push(line.to_string());
        }
    }
    let prefix = format!("{}:", name.to_ascii_lowercase());
    unfolded
        .iter()
        .find(|l| l.to_ascii_lowercase().starts_with(&prefix))
        .map(|l| l[prefix.len()..].trim().to_string())
}

/// The decoded body of the part with `content_type` in a multipart mail.
fn part(raw: &str, content_type: &str) -> String {
    let raw = raw.replace("\r\n", "\n");
    let ct = header(&raw, "Content-Type").expect("Content-Type");
    assert!(ct.starts_with("multipart/alternative"), "{ct}");
    let boundary = ct
        .split("boundary=")
        .nth(1)
        .expect("boundary")
        .trim_matches('"')
        .to_string();
    for chunk in raw.split(&format!("--{boundary}")).skip(1) {
        let chunk = chunk.trim_start_matches('\n');
        let Some((head, body)) = chunk.split_once("\n\n") else {
            continue;
        };
        let head = format!("{head}\n\n");
        let Some(t) = header(&head, "Content-Type") else {
            continue;
        };
        if !t.starts_with(content_type) {
            continue;
        }
        let body = body.trim_end();
        return match header(&head, "Content-Transfer-Encoding").as_deref() {
            Some("base64") => {
                let compact: String = body.split_whitespace().collect();
                String::from_utf8(
                    base64::engine::general_purpose::STANDARD
                        .decode(compact)
                        .unwrap(),
                )
                .unwrap()
            }
            Some("quoted-printable") => quoted_printable(body),
            _ => body.to_string(),
        };
    }
    panic!("no {content_type} part in:\n{raw}");
}

fn quoted_printable(s: &str) -> String {
    let joined = s.replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' {
            if let Some(Ok(b)) = joined.get(i + 1..i + 3).map(|h| u8::from_str_radix(h, 16)) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

#[tokio::test]
async fn mail_reaches_the_smtp_server_with_subject_recipients_and_both_parts() {
    let Some((host, port, new)) = smtp_env() else {
        return;
    };
    let to = ["oncall@shop.test", "lead@shop.test"];
    let c = config(receiver(&host, port, &to), Duration::from_secs(10));
    let r = Receivers::new(&c, None).unwrap();
    let id = unique("mail");
    let report = r.deliver(&alert(&id)).await;
    assert_eq!(only(&report), ("delivered", 1));
    assert_eq!(report.notifications[0].receiver, "mail");

    let raw = find_mail(&new, &id).await;
    assert_eq!(
        header(&raw, "Subject").as_deref(),
        Some("[FIRING] CRITICAL shop/checkout: checkout <b>risk</b> 95")
    );
    assert_eq!(
        header(&raw, "To").as_deref(),
        Some("oncall@shop.test, lead@shop.test")
    );
    // aiosmtpd records the envelope recipients: both were really sent to.
    assert_eq!(
        header(&raw, "X-RcptTo").as_deref(),
        Some("oncall@shop.test, lead@shop.test")
    );
    assert!(header(&raw, "From")
        .unwrap()
        .contains("alerts@cloudsage.test"));
    let text = part(&raw, "text/plain");
    for want in [
        "Score: 95.0",
        "Top factors: error_rate",
        "3. Page the owner",
        &format!("alert: {id}"),
    ] {
        assert!(text.contains(want), "{want:?} not in text part:\n{text}");
    }
    let html = part(&raw, "text/html");
    assert!(
        html.contains("checkout &lt;b&gt;risk&lt;/b&gt; 95"),
        "{html}"
    );
    assert!(html.contains("<li>Roll back deploy 42</li>"), "{html}");

    // Delivered once: a replay of the same alert is skipped.
    assert!(r.deliver(&alert(&id)).await.notifications.is_empty());
}

#[tokio::test]
async fn starttls_required_but_not_offered_fails_without_sending() {
    let Some((host, port, _)) = smtp_env() else {
        return;
    };
    let mut e = receiver(&host, port, &["oncall@shop.test"]);
    // aiosmtpd here offers no STARTTLS: the mail must not go out in plain text.
    e.tls = SmtpTls::Starttls;
    let c = config(e, Duration::from_secs(2));
    let r = Receivers::new(&c, None).unwrap();
    let report = r.deliver(&alert(&unique("starttls"))).await;
    let (result, _) = only(&report);
    assert!(result.starts_with("failed:"), "{result}");
    assert!(report.permanent_failure.is_some());
}

/// A minimal SMTP server that answers RCPT TO with `rcpt_reply`; returns its port and a
/// counter of RCPT commands seen.
async fn scripted_smtp(
    rcpt_reply: &'static str,
) -> (u16, std::sync::Arc<std::sync::atomic::AtomicU32>) {
    use std::sync::atomic::{AtomicU32, Ordering};
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let rcpts = std::sync::Arc::new(AtomicU32::new(0));
    let counter = rcpts.clone();
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            let counter = counter.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                let _ = write.write_all(b"220 scripted ESMTP\r\n").await;
                while let Ok(Some(line)) = lines.next_line().await {
                    let verb = line
                        .split_whitespace()
                        .next()
                        .unwrap_or("")
                        .to_ascii_uppercase();
                    let answer = match verb.as_str() {
                        "EHLO" | "HELO" => "250 scripted\r\n".to_string(),
                        "RCPT" => {
                            counter.fetch_add(1, Ordering::SeqCst);
                            format!("{rcpt_reply}\r\n")
                        }
                        "QUIT" => {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            return;
                        }
                        _ => "250 OK\r\n".to_string(),
                    };
                    if write.write_all(answer.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (port, rcpts)
}

#[tokio::test]
async fn smtp_5xx_is_permanent() {
    let (port, rcpts) = scripted_smtp("550 5.1.1 mailbox unavailable").await;
    let c = config(
        receiver("127.0.0.1", port, &["gone@shop.test"]),
        Duration::from_secs(5),
    );
    let r = Receivers::new(&c, None).unwrap();
    let report = r.deliver(&alert("smtp-550")).await;
    let (result, attempts) = only(&report);
    assert_eq!(attempts, 1, "{result}");
    assert!(result.contains("550"), "{result}");
    assert!(report.permanent_failure.is_some());
    assert_eq!(rcpts.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[tokio::test]
async fn smtp_4xx_is_retried_until_the_budget_runs_out() {
    let (port, rcpts) = scripted_smtp("451 4.3.0 try again later").await;
    let c = config(
        receiver("127.0.0.1", port, &["busy@shop.test"]),
        Duration::from_millis(1000),
    );
    let r = Receivers::new(&c, None).unwrap();
    let report = r.deliver(&alert("smtp-451")).await;
    let (result, attempts) = only(&report);
    // Backoff 200 + 400 ms fits in 1 s, the next 800 ms does not.
    assert_eq!(attempts, 3, "{result}");
    assert!(
        result.contains("gave up after 3 attempts") && result.contains("451"),
        "{result}"
    );
    assert_eq!(rcpts.load(std::sync::atomic::Ordering::SeqCst), 3);
}

#[tokio::test]
async fn unreachable_server_is_transient() {
    // A port that was just free: connection refused.
    let port = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let c = config(
        receiver("127.0.0.1", port, &["x@shop.test"]),
        Duration::from_millis(700),
    );
    let r = Receivers::new(&c, None).unwrap();
    let report = r.deliver(&alert("smtp-refused")).await;
    let (result, attempts) = only(&report);
    assert!(attempts >= 2, "{result}");
    assert!(result.contains("gave up"), "{result}");
}
