//! `docker-compose.yml` can't run here (no Docker engine), so check what can go wrong
//! silently: every CloudSage env var it sets is a real configuration key with a valid value,
//! every stage runs a binary that exists, and each healthcheck probes the port the stage
//! listens on.

use cloudsage_runtime::Config;
use serde_yaml::Value;

fn compose() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docker-compose.yml"
    ))
    .unwrap();
    let mut v: Value = serde_yaml::from_str(&text).unwrap();
    v.apply_merge().unwrap();
    v
}

/// `CLOUDSAGE_A__B__C=value` → TOML `[a.b]\nc = "value"`.
fn as_toml(key: &str, value: &str) -> Option<String> {
    let path = key.strip_prefix("CLOUDSAGE_")?;
    if !path.contains("__") {
        return None;
    }
    let parts: Vec<String> = path.split("__").map(str::to_lowercase).collect();
    let (last, tables) = parts.split_last()?;
    Some(format!("[{}]\n{last} = {:?}\n", tables.join("."), value))
}

fn env_of(service: &Value) -> Vec<(String, String)> {
    let Some(env) = service.get("environment").and_then(Value::as_mapping) else {
        return vec![];
    };
    env.iter()
        .map(|(k, v)| {
            let v = match v {
                Value::String(s) => s.clone(),
                other => serde_yaml::to_string(other).unwrap().trim().to_string(),
            };
            (k.as_str().unwrap().to_string(), v)
        })
        .collect()
}

#[test]
fn every_cloudsage_variable_is_a_valid_config_key() {
    let c = compose();
    let services = c["services"].as_mapping().unwrap();
    let mut checked = 0;
    for (name, svc) in services {
        for (k, v) in env_of(svc) {
            if let Some(toml) = as_toml(&k, &v) {
                Config::from_toml(&toml)
                    .unwrap_or_else(|e| panic!("service {name:?}: {k}={v}: {e}"));
                checked += 1;
            }
        }
    }
    assert!(
        checked >= 12,
        "expected the stages' variables, checked {checked}"
    );
}

#[test]
fn stages_run_real_binaries_and_healthchecks_probe_their_listen_port() {
    let c = compose();
    let expected = [
        ("ingestor", 8080),
        ("scorer", 9201),
        ("forecaster", 9202),
        ("notifier", 9203),
    ];
    for (name, port) in expected {
        let svc = &c["services"][name];
        let command = svc["command"][0].as_str().unwrap_or_default();
        assert_eq!(command, name, "{name} runs the {name} binary");
        assert!(
            std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
                .join(name)
                .join("src/bin")
                .join(format!("{name}.rs"))
                .exists()
        );
        let listen = env_of(svc)
            .into_iter()
            .find(|(k, _)| k == "CLOUDSAGE_HTTP__LISTEN")
            .map(|(_, v)| v);
        assert_eq!(
            listen.as_deref(),
            Some(format!("0.0.0.0:{port}").as_str()),
            "{name} listen"
        );
        let health = serde_yaml::to_string(&svc["healthcheck"]["test"]).unwrap();
        assert!(
            health.contains(&format!(":{port}/health")),
            "{name} healthcheck: {health}"
        );
        let published = serde_yaml::to_string(&svc["ports"]).unwrap();
        assert!(
            published.contains(&format!("{port}:{port}")),
            "{name} ports: {published}"
        );
    }
    // Kafka in compose is Apache Kafka in KRaft mode, ClickHouse is 24+.
    assert!(c["services"]["kafka"]["image"]
        .as_str()
        .unwrap()
        .starts_with("apache/kafka"));
    let ch = c["services"]["clickhouse"]["image"].as_str().unwrap();
    let major: u32 = ch
        .rsplit(':')
        .next()
        .unwrap()
        .split('.')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(major >= 24, "{ch}");
}

#[test]
fn the_mounted_config_file_is_valid() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/cloudsage.toml");
    let c = Config::from_toml(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert!(
        !c.ingestor.projects.is_empty(),
        "compose users need a token to send logs"
    );
    let compose = compose();
    let mounted = serde_yaml::to_string(&compose["services"]["ingestor"]["volumes"]).unwrap();
    assert!(
        mounted.contains("./deploy/cloudsage.toml:/etc/cloudsage/cloudsage.toml"),
        "{mounted}"
    );
}
