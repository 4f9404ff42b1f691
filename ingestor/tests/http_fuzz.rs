//! Fuzzes the HTTP API over loopback: a seeded RNG (printed; set `CLOUDSAGE_FUZZ_SEED` to
//! replay one run, `CLOUDSAGE_FUZZ_REQUESTS` for more or fewer requests) builds requests
//! that are malformed in body, headers, encoding and framing, and sends them as raw HTTP/1.1
//! over TCP, so Content-Length can lie. Every answer must be a JSON error with the status the
//! input deserves (400, 401, 404, 413, 415, 429) or 202/200 for usable input, never a 5xx;
//! the server must still answer `/health` afterwards; and the process's peak memory (VmHWM)
//! must stay bounded even after gzip bombs.

use cloudsage_runtime::config::{IngestorConfig, ProjectAuth, RateQuota};
use cloudsage_runtime::metrics::Metrics;
use cloudsage_runtime::server::{ops_router, Health};
use cloudsage_runtime::stage::OutRecord;
use cloudsage_runtime::transport::Sink;
use flate2::write::GzEncoder;
use flate2::Compression;
use ingestor::{router, IngestState};
use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TOKEN: &str = "fuzz-token";
/// A project with a tiny rate limit, so 429s show up among the answers.
const LIMITED_TOKEN: &str = "limited-token";
const MAX_BODY: usize = 1 << 20;
const MAX_DECOMPRESSED: usize = 8 << 20;
/// Peak resident memory the whole test process may reach.
const MAX_PEAK_RSS_BYTES: u64 = 512 << 20;
const DEFAULT_REQUESTS: usize = 2000;

/// Counts records instead of keeping them, so memory measures the server, not the test.
#[derive(Clone, Default)]
struct CountingSink(Arc<AtomicUsize>);

impl Sink for CountingSink {
    async fn send(&self, records: Vec<OutRecord>) -> anyhow::Result<()> {
        self.0.fetch_add(records.len(), Ordering::Relaxed);
        Ok(())
    }
}

/// xorshift64*: small, seedable and good enough to pick cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

fn peak_rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status");
    kib * 1024
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::best());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// A small body that inflates to `members` × 4 MiB of zeros (gzip members concatenate).
fn gzip_bomb(member: &[u8], members: usize) -> Vec<u8> {
    member.repeat(members)
}

/// What a request is, and which statuses it may get.
struct Case {
    kind: &'static str,
    raw: Vec<u8>,
    allowed: &'static [u16],
    /// The request never completes (its body is shorter than announced): the client
    /// half-closes, and the server may close without an answer, since there is no request
    /// to answer.
    incomplete: bool,
}

struct Builder<'a> {
    rng: &'a mut Rng,
    bomb_member: &'a [u8],
}

const ENDPOINTS: [&str; 6] = [
    "/v1/logs",
    "/v1/webhooks/datadog",
    "/v1/webhooks/sentry",
    "/v1/webhooks/github",
    "/v1/webhooks/cloudwatch",
    "/v1/feedback",
];

/// Statuses any request to a known endpoint with a valid token may get for a bad body.
const BODY_ERRORS: &[u16] = &[200, 202, 400, 413, 415];

impl Builder<'_> {
    fn request(
        &mut self,
        path: &str,
        headers: &[(String, Vec<u8>)],
        body: &[u8],
        content_length: Option<usize>,
    ) -> Vec<u8> {
        let mut r = format!("POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n")
            .into_bytes();
        for (k, v) in headers {
            r.extend_from_slice(k.as_bytes());
            r.extend_from_slice(b": ");
            r.extend_from_slice(v);
            r.extend_from_slice(b"\r\n");
        }
        r.extend_from_slice(
            format!(
                "Content-Length: {}\r\n\r\n",
                content_length.unwrap_or(body.len())
            )
            .as_bytes(),
        );
        r.extend_from_slice(body);
        r
    }

    fn auth(&mut self) -> (String, Vec<u8>) {
        (
            "Authorization".into(),
            format!("Bearer {TOKEN}").into_bytes(),
        )
    }

    fn random_body(&mut self) -> Vec<u8> {
        match self.rng.below(12) {
            0 => vec![],
            1 => {
                let n = self.rng.below(4096);
                self.rng.bytes(n)
            }
            2 => b"2024-05-01T10:00:00Z ERROR payment failed\nok\n".to_vec(),
            3 => br#"{"msg":"x","level":"error","service":"api"}"#.to_vec(),
            4 => br#"[{"message":"a"},"b",1,null,{"metric":"cpu","value":1e400}]"#.to_vec(),
            5 => {
                // Deeply nested JSON, arrays or objects.
                let depth = 1 + self.rng.below(100_000);
                if self.rng.chance(50) {
                    let mut b = "[".repeat(depth).into_bytes();
                    b.extend("]".repeat(depth).bytes());
                    b
                } else {
                    let mut b = r#"{"a":"#.repeat(depth).into_bytes();
                    b.extend(b"1");
                    b.extend("}".repeat(depth).bytes());
                    b
                }
            }
            6 => {
                // Invalid UTF-8 mixed into lines.
                let mut b = b"valid line\n".to_vec();
                b.extend_from_slice(b"\xff\xfe\xc3\x28 broken \xed\xa0\x80\n");
                b.extend_from_slice(b"{\"msg\":\"\xff\"}\n");
                b
            }
            7 => {
                // One huge line, sometimes over the body cap.
                let n = if self.rng.chance(30) {
                    MAX_BODY + 1 + self.rng.below(1000)
                } else {
                    self.rng.below(MAX_BODY / 2)
                };
                let mut b = vec![b'x'; n];
                b.splice(0..0, b"ERROR ".iter().copied());
                b
            }
            8 => br#"{"verdict":"helpful","action_kind":"rollback"}"#.to_vec(),
            9 => br#"{"verdict":"nope","project":"other","extra":[1,2,{"x":null}]}"#.to_vec(),
            10 => {
                // JSON-ish noise.
                let alphabet = br#"[]{}",:a0.eE+-\ ntrufls"#;
                let n = self.rng.below(300);
                (0..n).map(|_| self.rng.pick(alphabet)).collect()
            }
            _ => {
                b"--B\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nERROR x\r\n--B--\r\n"
                    .to_vec()
            }
        }
    }

    fn content_type(&mut self) -> Option<Vec<u8>> {
        let types: [&[u8]; 12] = [
            b"text/plain",
            b"application/json",
            b"application/x-ndjson",
            b"multipart/form-data; boundary=B",
            b"multipart/form-data",
            b"image/png",
            b"application/json; charset=\"utf-8\"; charset=latin1",
            b"TEXT/PLAIN;;;",
            b"",
            b";",
            b"application/\xff\xfe",
            b"text/plain; boundary=\"\"",
        ];
        if self.rng.chance(10) {
            None
        } else {
            Some(self.rng.pick(&types).to_vec())
        }
    }

    fn case(&mut self) -> Case {
        let path = self.rng.pick(&ENDPOINTS);
        let query = self.rng.pick(&[
            "",
            "?service=api",
            "?service=%ff%fe",
            "?service=a&service=b",
            "?service=%",
            "?project=other&service=",
            "?service=\u{1F600}",
        ]);
        let path = format!("{path}{}", query.replace('\u{1F600}', "%F0%9F%98%80"));
        match self.rng.below(10) {
            // Authentication problems come first, whatever the rest.
            0 => {
                let auth: &[u8] = self.rng.pick(&[
                    &b""[..],
                    b"Bearer",
                    b"Bearer wrong",
                    b"bearer fuzz-token",
                    b"Bearer \xff\xfe",
                    b"Basic Zm9vOmJhcg==",
                ]);
                let mut headers = vec![];
                if !auth.is_empty() {
                    headers.push(("Authorization".to_string(), auth.to_vec()));
                }
                let body = self.random_body();
                let raw = self.request(&path, &headers, &body, None);
                Case {
                    kind: "bad token",
                    raw,
                    allowed: &[401, 413],
                    incomplete: false,
                }
            }
            1 => {
                // A gzip bomb: ~4 KiB per 4 MiB member, so 16-256 MiB inflated.
                let members = 4 + self.rng.below(60);
                let body = gzip_bomb(self.bomb_member, members);
                let mut headers = vec![self.auth(), ("Content-Encoding".into(), b"gzip".to_vec())];
                if let Some(ct) = self.content_type() {
                    headers.push(("Content-Type".into(), ct));
                }
                // A usable query, so the cap is the only thing wrong with the request.
                let path = format!("{}?service=api", path.split('?').next().unwrap_or_default());
                let raw = self.request(&path, &headers, &body, None);
                Case {
                    kind: "gzip bomb",
                    raw,
                    allowed: &[413, 415],
                    incomplete: false,
                }
            }
            2 => {
                // Gzip that is small, truncated, or not gzip at all.
                let plain = self.random_body();
                let mut body = gzip(&plain);
                if self.rng.chance(50) {
                    let cut = self.rng.below(body.len());
                    body.truncate(cut);
                }
                let encoding: &[u8] = self.rng.pick(&[
                    &b"gzip"[..],
                    b"x-gzip",
                    b"GZIP",
                    b"gzip, gzip",
                    b"br",
                    b"deflate",
                    b"\xff",
                ]);
                let mut headers = vec![self.auth(), ("Content-Encoding".into(), encoding.to_vec())];
                if let Some(ct) = self.content_type() {
                    headers.push(("Content-Type".into(), ct));
                }
                let raw = self.request(&path, &headers, &body, None);
                Case {
                    kind: "gzip",
                    raw,
                    allowed: BODY_ERRORS,
                    incomplete: false,
                }
            }
            3 => {
                // Content-Length that lies: longer than the body (the client then stops
                // sending) or shorter (the rest must be ignored on a closing connection).
                let body = self.random_body();
                let longer = self.rng.chance(50);
                let length = if longer {
                    body.len() + 1 + self.rng.below(1000)
                } else {
                    self.rng.below(body.len().max(1))
                };
                let mut headers = vec![self.auth()];
                if let Some(ct) = self.content_type() {
                    headers.push(("Content-Type".into(), ct));
                }
                let raw = self.request(&path, &headers, &body, Some(length));
                Case {
                    kind: if longer {
                        "content-length too long"
                    } else {
                        "content-length too short"
                    },
                    raw,
                    allowed: BODY_ERRORS,
                    incomplete: longer,
                }
            }
            4 => {
                // Odd but well-formed headers.
                let body = self.random_body();
                let mut headers = vec![self.auth()];
                let n = self.rng.below(20);
                for i in 0..n {
                    let value = self.rng.pick(&[
                        &b"x"[..],
                        b"\xff\xfe",
                        b"  spaced  ",
                        b"a,b;c=d",
                        b"999999999999999999999",
                    ]);
                    headers.push((format!("X-Fuzz-{i}"), value.to_vec()));
                }
                for name in ["X-Service", "X-GitHub-Event", "x-amz-sns-message-type"] {
                    if self.rng.chance(30) {
                        let value =
                            self.rng
                                .pick(&[&b"workflow_run"[..], b"Notification", b"\xff", b""]);
                        headers.push((name.into(), value.to_vec()));
                    }
                }
                if let Some(ct) = self.content_type() {
                    headers.push(("Content-Type".into(), ct));
                }
                if self.rng.chance(30) {
                    headers.push(("Content-Type".into(), b"application/json".to_vec()));
                }
                let raw = self.request(&path, &headers, &body, None);
                Case {
                    kind: "odd headers",
                    raw,
                    allowed: BODY_ERRORS,
                    incomplete: false,
                }
            }
            5 => {
                // A project over its rate limit.
                let body = b"ERROR over the limit".to_vec();
                let headers = vec![(
                    "Authorization".to_string(),
                    format!("Bearer {LIMITED_TOKEN}").into_bytes(),
                )];
                let raw = self.request(&path, &headers, &body, None);
                Case {
                    kind: "rate limited",
                    raw,
                    allowed: &[200, 202, 400, 415, 429],
                    incomplete: false,
                }
            }
            6 => {
                // Chunked transfer encoding, sometimes broken.
                let body = self.random_body();
                let mut raw = format!(
                    "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nAuthorization: Bearer {TOKEN}\r\nTransfer-Encoding: chunked\r\n\r\n"
                )
                .into_bytes();
                for chunk in body.chunks(1 + self.rng.below(700)) {
                    raw.extend(format!("{:x}\r\n", chunk.len()).bytes());
                    raw.extend_from_slice(chunk);
                    raw.extend_from_slice(b"\r\n");
                }
                if self.rng.chance(50) {
                    raw.extend_from_slice(b"zz\r\nnot a chunk\r\n");
                } else {
                    raw.extend_from_slice(b"0\r\n\r\n");
                }
                Case {
                    kind: "chunked",
                    raw,
                    allowed: BODY_ERRORS,
                    incomplete: false,
                }
            }
            _ => {
                let body = self.random_body();
                let mut headers = vec![self.auth()];
                if let Some(ct) = self.content_type() {
                    headers.push(("Content-Type".into(), ct));
                }
                let raw = self.request(&path, &headers, &body, None);
                Case {
                    kind: "random body",
                    raw,
                    allowed: BODY_ERRORS,
                    incomplete: false,
                }
            }
        }
    }
}

/// Sends a raw request and reads the answer. With `half_close` the client then stops
/// writing, which is how a body shorter than its Content-Length ends.
async fn exchange(addr: SocketAddr, raw: &[u8], half_close: bool) -> Result<Vec<u8>, String> {
    let io = async {
        let mut s = tokio::net::TcpStream::connect(addr).await?;
        // The server may answer (e.g. 413) and close before the whole body is written.
        let _ = s.write_all(raw).await;
        if half_close {
            let _ = s.shutdown().await;
        }
        let mut answer = vec![];
        s.read_to_end(&mut answer).await.or_else(|e| {
            // A reset after a complete early answer is fine; keep what arrived.
            if answer.is_empty() {
                Err(e)
            } else {
                Ok(0)
            }
        })?;
        Ok::<_, std::io::Error>(answer)
    };
    match tokio::time::timeout(Duration::from_secs(20), io).await {
        Ok(Ok(a)) => Ok(a),
        Ok(Err(e)) => Err(format!("i/o error: {e}")),
        Err(_) => Err("no answer within 20 s".into()),
    }
}

struct Answer {
    status: u16,
    content_type: Option<String>,
    body: Vec<u8>,
}

fn parse_answer(raw: &[u8]) -> Option<Answer> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let content_type = lines.find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("content-type")
            .then(|| v.trim().to_string())
    });
    Some(Answer {
        status,
        content_type,
        body: raw[end + 4..].to_vec(),
    })
}

fn seed() -> u64 {
    std::env::var("CLOUDSAGE_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        })
        | 1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_survives_fuzzed_requests() {
    let seed = seed();
    let requests: usize = std::env::var("CLOUDSAGE_FUZZ_REQUESTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_REQUESTS);
    println!("fuzz seed {seed} ({requests} requests; replay with CLOUDSAGE_FUZZ_SEED={seed})");

    let mut c = IngestorConfig::default();
    c.projects.insert(
        "fuzz".into(),
        ProjectAuth {
            tokens: vec![TOKEN.into()],
        },
    );
    c.projects.insert(
        "limited".into(),
        ProjectAuth {
            tokens: vec![LIMITED_TOKEN.into()],
        },
    );
    c.rate_limit.projects.insert(
        "fuzz".into(),
        RateQuota {
            requests_per_second: 0,
            burst: 1,
        },
    );
    c.rate_limit.projects.insert(
        "limited".into(),
        RateQuota {
            requests_per_second: 1,
            burst: 2,
        },
    );
    c.max_body_bytes = MAX_BODY;
    c.max_decompressed_bytes = MAX_DECOMPRESSED;
    // No SNS confirmation may leave the machine.
    c.webhooks.sns_confirm_hosts = vec![];
    let sink = CountingSink::default();
    let metrics = Metrics::new();
    let state = IngestState::from_config(&c, sink.clone(), metrics.clone()).unwrap();
    let health = Health {
        broker: None,
        warehouse: None,
    };
    let app = router(Arc::new(state)).merge(ops_router(health, metrics));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    // 4 MiB of zeros is ~4 KiB of gzip; members repeat into bombs.
    let bomb_member = gzip(&vec![0u8; 4 << 20]);
    assert!(bomb_member.len() < 8 << 10, "{}", bomb_member.len());
    let peak_before = peak_rss_bytes();

    let mut rng = Rng(seed);
    let started = Instant::now();
    let mut by_status: BTreeMap<(&str, u16), usize> = BTreeMap::new();
    let mut failures = vec![];
    for i in 0..requests {
        let case = Builder {
            rng: &mut rng,
            bomb_member: &bomb_member,
        }
        .case();
        let sent_head = String::from_utf8_lossy(&case.raw[..case.raw.len().min(200)]).to_string();
        let answer = match exchange(addr, &case.raw, case.incomplete).await {
            Ok(a) => a,
            Err(e) => {
                failures.push(format!("#{i} {}: {e}; request {sent_head:?}", case.kind));
                continue;
            }
        };
        let Some(answer) = parse_answer(&answer) else {
            if case.incomplete && answer.is_empty() {
                *by_status.entry((case.kind, 0)).or_default() += 1;
                continue;
            }
            failures.push(format!(
                "#{i} {}: no HTTP answer ({} bytes: {:?}); request {sent_head:?}",
                case.kind,
                answer.len(),
                String::from_utf8_lossy(&answer[..answer.len().min(200)])
            ));
            continue;
        };
        *by_status.entry((case.kind, answer.status)).or_default() += 1;
        let json: Option<serde_json::Value> = serde_json::from_slice(&answer.body).ok();
        let problem = if answer.status >= 500 {
            Some("a server error".to_string())
        } else if !case.allowed.contains(&answer.status) {
            Some(format!("status not in {:?}", case.allowed))
        } else if answer.content_type.as_deref() != Some("application/json") {
            Some(format!("content type {:?}", answer.content_type))
        } else {
            match &json {
                None => Some("body is not JSON".to_string()),
                Some(v) if answer.status >= 400 => {
                    let has_message = v["error"].as_str().is_some_and(|e| !e.is_empty());
                    (v["status"] != answer.status || !has_message)
                        .then(|| "error body lacks error/status".to_string())
                }
                Some(v) => (!v["accepted"].is_u64() && !v["ignored"].is_string())
                    .then(|| "success body lacks accepted".to_string()),
            }
        };
        if let Some(problem) = problem {
            failures.push(format!(
                "#{i} {}: {problem}: {} {:?}; request {sent_head:?}",
                case.kind,
                answer.status,
                String::from_utf8_lossy(&answer.body[..answer.body.len().min(300)])
            ));
        }
    }
    let elapsed = started.elapsed();

    // Still serving.
    let health = exchange(
        addr,
        b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
        false,
    )
    .await
    .ok()
    .and_then(|a| parse_answer(&a));
    assert!(!server.is_finished(), "the server stopped");
    let peak_after = peak_rss_bytes();

    for ((kind, status), n) in &by_status {
        println!("{kind:>24} {status}: {n}");
    }
    println!(
        "{requests} requests in {:.1} s; {} records produced; peak RSS {} MiB before, {} MiB after",
        elapsed.as_secs_f64(),
        sink.0.load(Ordering::Relaxed),
        peak_before >> 20,
        peak_after >> 20
    );
    assert!(
        failures.is_empty(),
        "seed {seed}: {} of {requests} answers were wrong, e.g.:\n{}",
        failures.len(),
        failures[..failures.len().min(15)].join("\n")
    );
    assert_eq!(health.map(|h| h.status), Some(200), "/health after fuzzing");
    assert!(
        peak_after < MAX_PEAK_RSS_BYTES,
        "seed {seed}: peak RSS {} MiB ≥ {} MiB",
        peak_after >> 20,
        MAX_PEAK_RSS_BYTES >> 20
    );
    // Both outcomes occurred, so the fuzzer reached the parsers and the error paths.
    assert!(
        by_status.keys().any(|(_, s)| *s == 202),
        "no request was accepted"
    );
    assert!(
        by_status.keys().any(|(_, s)| *s == 413),
        "no request was too large"
    );
    assert!(elapsed < Duration::from_secs(120), "took {elapsed:?}");
}
