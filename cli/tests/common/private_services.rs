//! Services a fault test owns alone, so that stopping them never disturbs the shared ones
//! other tests use in parallel: a ClickHouse server with its own data dir, and a tansu broker
//! whose storage survives its restarts (tansu's `s3://` engine over a local moto S3 server;
//! the installed tansu has no other durable engine, see deploy/local/services.sh).
//!
//! Everything binds to free ports on 127.0.0.1 and lives under a directory of the test's.
//! A missing program is a failure when `CLOUDSAGE_REQUIRE_SERVICES=1`, a skip otherwise.

use super::free_port;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn required() -> bool {
    std::env::var("CLOUDSAGE_REQUIRE_SERVICES").is_ok_and(|v| v == "1")
}

/// `program` found on PATH or at one of `fallbacks`; `None` (skip) when absent and not
/// required, a panic when required.
fn find_program(program: &str, fallbacks: &[&str]) -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(program))
            .find(|p| p.is_file())
    });
    let cargo_bin = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .map(|c| c.join("bin").join(program));
    let found = on_path
        .into_iter()
        .chain(fallbacks.iter().map(PathBuf::from))
        .chain(cargo_bin)
        .find(|p| p.is_file());
    if found.is_none() {
        assert!(
            !required(),
            "CLOUDSAGE_REQUIRE_SERVICES=1 but {program} is not installed: run deploy/local/services.sh install"
        );
        eprintln!("SKIPPED: {program} is not installed");
    }
    found
}

/// Sends `signal` (e.g. "TERM", "KILL") to `pid`.
pub fn signal(pid: u32, signal: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status();
}

/// SIGTERM, then SIGKILL if the process is still there after `grace`.
fn stop_child(child: &mut Child, grace: Duration) {
    signal(child.id(), "TERM");
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn log_files(dir: &Path, name: &str) -> (Stdio, Stdio) {
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(format!("{name}.log")))
        .unwrap();
    (out.try_clone().unwrap().into(), out.into())
}

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// Polls `ready` every 200 ms until it holds; panics with `logs` after `timeout`, or at once
/// when the process exited.
fn wait_ready(
    what: &str,
    child: &mut Child,
    timeout: Duration,
    logs: &[PathBuf],
    mut ready: impl FnMut() -> bool,
) {
    let deadline = Instant::now() + timeout;
    loop {
        if ready() {
            return;
        }
        let exited = child.try_wait().ok().flatten();
        if exited.is_some() || Instant::now() > deadline {
            let logs: Vec<String> = logs
                .iter()
                .map(|l| format!("----- {}\n{}", l.display(), tail(l)))
                .collect();
            panic!(
                "{what} did not come up ({}); its logs:\n{}",
                exited.map_or("timed out".to_string(), |s| format!("exited: {s}")),
                logs.join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A blocking HTTP/1.0 request with short timeouts: status and body, or `None` when nothing
/// answers. Plain std, so it works from sync code and from inside a runtime alike.
fn http(method: &str, url: &str) -> Option<(u16, String)> {
    use std::io::{Read as _, Write as _};
    let rest = url.strip_prefix("http://")?;
    let (host, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_string()), |(h, p)| (h, format!("/{p}")));
    let addr: std::net::SocketAddr = host.parse().ok()?;
    let mut conn = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    conn.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    conn.set_write_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        conn,
        "{method} {path} HTTP/1.0\r\nHost: {host}\r\nContent-Length: 0\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    conn.read_to_string(&mut response).ok()?;
    let status = response.split(' ').nth(1)?.parse().ok()?;
    let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    Some((status, body.to_string()))
}

fn http_get(url: &str) -> Option<(u16, String)> {
    http("GET", url)
}

/// A clickhouse-server of the test's own: config generated as deploy/local/services.sh
/// does, data kept in `dir` across [`PrivateClickHouse::stop`] and [`PrivateClickHouse::start`].
pub struct PrivateClickHouse {
    binary: PathBuf,
    dir: PathBuf,
    pub http_port: u16,
    pub tcp_port: u16,
    child: Option<Child>,
}

impl PrivateClickHouse {
    /// Starts one under `dir` (created); `None` when clickhouse-server is not installed and
    /// not required.
    pub fn start_in(dir: &Path) -> Option<PrivateClickHouse> {
        let binary = find_program("clickhouse-server", &["/usr/sbin/clickhouse-server"])?;
        for sub in ["data", "tmp", "user_files", "format_schemas"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        let mut ch = PrivateClickHouse {
            binary,
            dir: dir.to_path_buf(),
            http_port: free_port(),
            tcp_port: free_port(),
            child: None,
        };
        ch.write_config();
        ch.start();
        Some(ch)
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.http_port)
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// True when the server answers `/ping`.
    pub fn answers(&self) -> bool {
        http_get(&format!("{}/ping", self.url())).is_some_and(|(_, body)| body.trim() == "Ok.")
    }

    /// (Re)starts the server on the same ports and data, and waits until it answers.
    pub fn start(&mut self) {
        assert!(self.child.is_none(), "clickhouse already running");
        let (out, err) = log_files(&self.dir, "stdout");
        let child = Command::new(&self.binary)
            .arg(format!(
                "--config-file={}",
                self.dir.join("config.xml").display()
            ))
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.binary.display()));
        let mut child = child;
        let logs = [self.dir.join("stdout.log"), self.dir.join("server.err.log")];
        let url = format!("{}/ping", self.url());
        wait_ready(
            "private clickhouse-server",
            &mut child,
            Duration::from_secs(60),
            &logs,
            || http_get(&url).is_some_and(|(_, body)| body.trim() == "Ok."),
        );
        self.child = Some(child);
    }

    /// SIGTERM (SIGKILL after 10 s); the data dir stays.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            stop_child(&mut child, Duration::from_secs(10));
        }
    }

    fn write_config(&self) {
        let dir = self.dir.display();
        let config = format!(
            r#"<?xml version="1.0"?>
<!-- A private, loopback-only ClickHouse for one fault test (as deploy/local/services.sh). -->
<yandex>
    <logger>
        <level>information</level>
        <log>{dir}/server.log</log>
        <errorlog>{dir}/server.err.log</errorlog>
        <size>100M</size>
        <count>2</count>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <http_port>{http}</http_port>
    <tcp_port>{tcp}</tcp_port>
    <max_connections>256</max_connections>
    <keep_alive_timeout>3</keep_alive_timeout>
    <max_concurrent_queries>100</max_concurrent_queries>
    <uncompressed_cache_size>67108864</uncompressed_cache_size>
    <mark_cache_size>67108864</mark_cache_size>
    <path>{dir}/data/</path>
    <tmp_path>{dir}/tmp/</tmp_path>
    <user_files_path>{dir}/user_files/</user_files_path>
    <format_schema_path>{dir}/format_schemas/</format_schema_path>
    <users_config>{dir}/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <mlock_executable>false</mlock_executable>
</yandex>
"#,
            http = self.http_port,
            tcp = self.tcp_port,
        );
        std::fs::write(self.dir.join("config.xml"), config).unwrap();
        let users = r#"<?xml version="1.0"?>
<yandex>
    <profiles>
        <default>
            <max_memory_usage>2000000000</max_memory_usage>
            <use_uncompressed_cache>0</use_uncompressed_cache>
            <load_balancing>random</load_balancing>
        </default>
    </profiles>
    <users>
        <default>
            <password></password>
            <networks>
                <ip>::1</ip>
                <ip>127.0.0.1</ip>
            </networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas>
        <default>
            <interval>
                <duration>3600</duration>
                <queries>0</queries>
                <errors>0</errors>
                <result_rows>0</result_rows>
                <read_rows>0</read_rows>
                <execution_time>0</execution_time>
            </interval>
        </default>
    </quotas>
</yandex>
"#;
        std::fs::write(self.dir.join("users.xml"), users).unwrap();
    }
}

impl Drop for PrivateClickHouse {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A tansu broker of the test's own whose topics, records and committed offsets survive a
/// restart: its storage is `s3://tansu/` on a moto S3 server that outlives the broker.
pub struct PrivateBroker {
    tansu: PathBuf,
    dir: PathBuf,
    pub port: u16,
    s3_port: u16,
    s3: Option<Child>,
    broker: Option<Child>,
}

impl PrivateBroker {
    /// Starts the S3 server and the broker under `dir`; `None` when tansu or moto is not
    /// installed and not required.
    pub fn start_in(dir: &Path) -> Option<PrivateBroker> {
        let tansu = find_program("tansu", &[])?;
        let python = find_program("python3", &["/usr/bin/python3"])?;
        let has_moto = Command::new(&python)
            .args(["-c", "import moto.server, flask, flask_cors"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !has_moto {
            assert!(
                !required(),
                "CLOUDSAGE_REQUIRE_SERVICES=1 but moto[server] (the S3 server behind the private broker) is not installed: run deploy/local/services.sh install"
            );
            eprintln!("SKIPPED: moto[server] is not installed");
            return None;
        }
        std::fs::create_dir_all(dir).unwrap();
        let s3_port = free_port();
        let (out, err) = log_files(dir, "s3");
        let mut s3 = Command::new(&python)
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p"])
            .arg(s3_port.to_string())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("cannot start moto.server");
        let bucket = format!("http://127.0.0.1:{s3_port}/tansu");
        wait_ready(
            "moto S3 server",
            &mut s3,
            Duration::from_secs(60),
            &[dir.join("s3.log")],
            // PUT creates the bucket tansu stores into (idempotent in moto).
            || http("PUT", &bucket).is_some_and(|(status, _)| status == 200),
        );
        let mut broker = PrivateBroker {
            tansu,
            dir: dir.to_path_buf(),
            port: free_port(),
            s3_port,
            s3: Some(s3),
            broker: None,
        };
        broker.start();
        Some(broker)
    }

    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// True when the broker answers a Metadata request (tansu's own client).
    pub fn answers(&self) -> bool {
        Command::new(&self.tansu)
            .args(["topic", "list", "--broker"])
            .arg(format!("tcp://{}", self.address()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// (Re)starts the broker on the same port and storage, and waits until it answers.
    pub fn start(&mut self) {
        assert!(self.broker.is_none(), "broker already running");
        let listener = format!("tcp://{}", self.address());
        let (out, err) = log_files(&self.dir, "tansu");
        let mut child = Command::new(&self.tansu)
            .arg("broker")
            .args(["--listener-url", &listener])
            .args(["--advertised-listener-url", &listener])
            .args(["--storage-engine", "s3://tansu/"])
            .env("AWS_ENDPOINT", format!("http://127.0.0.1:{}", self.s3_port))
            .env("AWS_ALLOW_HTTP", "true")
            .env("AWS_ACCESS_KEY_ID", "cloudsage")
            .env("AWS_SECRET_ACCESS_KEY", "cloudsage")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_REGION", "us-east-1")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("cannot start tansu");
        let logs = [self.dir.join("tansu.log")];
        wait_ready(
            "private tansu broker",
            &mut child,
            Duration::from_secs(60),
            &logs,
            || self.answers(),
        );
        self.broker = Some(child);
    }

    /// SIGKILL, as in a crash: no graceful hand-over to clients. The storage stays.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.broker.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM (SIGKILL after 10 s); the S3 server and its data stay.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.broker.take() {
            stop_child(&mut child, Duration::from_secs(10));
        }
    }
}

impl Drop for PrivateBroker {
    fn drop(&mut self) {
        self.stop();
        if let Some(mut s3) = self.s3.take() {
            stop_child(&mut s3, Duration::from_secs(5));
        }
    }
}

/// Resident memory of process `pid` in kB (VmRSS in /proc/PID/status).
pub fn rss_kb(pid: u32) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Status of a stage's `/health` on `port` (`None` when nothing answers).
pub fn health_status(port: u16) -> Option<u16> {
    http_get(&format!("http://127.0.0.1:{port}/health")).map(|(status, _)| status)
}

/// Sum of a counter over all its label sets in a stage's `/metrics` on `port`, filtered by
/// a label substring (e.g. `event="retry"`), `None` when nothing answers.
pub fn metric_sum(port: u16, name: &str, label_filter: &str) -> Option<f64> {
    let (_, text) = http_get(&format!("http://127.0.0.1:{port}/metrics"))?;
    Some(
        text.lines()
            .filter(|l| l.starts_with(name) && l.contains(label_filter))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum(),
    )
}

/// Offsets committed by consumer group `group` on `topic`, by partition (partitions without
/// a commit are left out). Asks the broker directly, without joining the group.
pub fn committed_offsets(
    brokers: &str,
    group: &str,
    topic: &str,
) -> std::collections::BTreeMap<i32, i64> {
    use rdkafka::consumer::{BaseConsumer, Consumer as _};
    use rdkafka::{Offset, TopicPartitionList};
    let consumer: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()
        .expect("cannot create a Kafka client");
    let timeout = Duration::from_secs(10);
    let metadata = consumer
        .fetch_metadata(Some(topic), timeout)
        .expect("cannot read topic metadata");
    let mut partitions = TopicPartitionList::new();
    for t in metadata.topics() {
        for p in t.partitions() {
            partitions.add_partition(topic, p.id());
        }
    }
    consumer
        .committed_offsets(partitions, timeout)
        .expect("cannot read committed offsets")
        .elements()
        .iter()
        .filter_map(|e| match e.offset() {
            Offset::Offset(o) => Some((e.partition(), o)),
            _ => None,
        })
        .collect()
}
