//! The Grafana dashboards against real data: the bundled sample goes through the pipeline into
//! a fresh ClickHouse database, then every query of every dashboard (panels and template
//! variables) is expanded the way Grafana and the ClickHouse plugin expand it and must return
//! rows. Also checks the provisioning wiring that only shows up once Docker runs it.

mod common;

use cloudsage::run::{bundled_sample, run_embedded};
use cloudsage_runtime::migrations::{render, statements, ServerFeatures, MIGRATIONS};
use cloudsage_runtime::stage::{TableRow, WindowTemplate};
use cloudsage_runtime::warehouse::Warehouse;
use cloudsage_runtime::Config;
use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

const DATASOURCE_UID: &str = "cloudsage-clickhouse";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every dashboard file, parsed.
fn dashboards() -> Vec<(String, Value)> {
    let mut out: Vec<(String, Value)> = vec![];
    for entry in std::fs::read_dir(repo().join("deploy/grafana/dashboards")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(&path).unwrap();
            let v: Value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            out.push((path.file_name().unwrap().to_string_lossy().into(), v));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(
        out.len() >= 2,
        "expected the overview and project dashboards"
    );
    out
}

/// A query of a dashboard, named for error messages, with the datasource it is sent to.
struct DashboardQuery {
    name: String,
    sql: String,
    datasource: Value,
}

/// Template variable queries, then every panel target (row panels' children included).
fn queries(file: &str, dashboard: &Value) -> Vec<DashboardQuery> {
    let mut out = vec![];
    for var in dashboard["templating"]["list"].as_array().unwrap() {
        if var["type"] == "query" {
            // The plugin accepts a plain SQL string or an object with rawSql.
            let sql = var["query"]
                .as_str()
                .or_else(|| var["query"]["rawSql"].as_str())
                .unwrap_or_else(|| panic!("{file}: variable {} has no SQL", var["name"]));
            out.push(DashboardQuery {
                name: format!("{file} variable {}", var["name"]),
                sql: sql.to_string(),
                datasource: var["datasource"].clone(),
            });
        }
    }
    fn walk(file: &str, panels: &[Value], out: &mut Vec<DashboardQuery>) {
        for p in panels {
            if let Some(children) = p["panels"].as_array() {
                walk(file, children, out);
            }
            for t in p["targets"].as_array().into_iter().flatten() {
                let sql = t["rawSql"].as_str().unwrap_or_else(|| {
                    panic!("{file}: panel {} has a target without rawSql", p["title"])
                });
                out.push(DashboardQuery {
                    name: format!("{file} panel {} ({})", p["title"], t["refId"]),
                    sql: sql.to_string(),
                    datasource: t["datasource"].clone(),
                });
            }
        }
    }
    walk(file, dashboard["panels"].as_array().unwrap(), &mut out);
    out
}

/// What Grafana substitutes: the time range and the selected variable values.
struct Expansion {
    from: u32,
    to: u32,
    /// Variable name → selected values.
    variables: Vec<(&'static str, Vec<String>)>,
}

impl Expansion {
    /// Grafana's `${var:singlequote}`: each value with `'` escaped as `\'`, quoted, joined by
    /// commas. Then the plugin's macros (grafana/clickhouse-datasource pkg/macros):
    /// `$__timeFilter(c)` → `c >= toDateTime(from) AND c <= toDateTime(to)`, `$__fromTime`,
    /// `$__toTime` → `toDateTime(…)`. Anything else left with a `$` is an error: the
    /// dashboards stick to what works on ClickHouse 18.16 and 24+.
    fn expand(&self, sql: &str) -> Result<String, String> {
        let mut s = sql.to_string();
        for (name, values) in &self.variables {
            let quoted: Vec<String> = values
                .iter()
                .map(|v| format!("'{}'", v.replace('\'', "\\'")))
                .collect();
            s = s.replace(&format!("${{{name}:singlequote}}"), &quoted.join(","));
        }
        let (from, to) = (
            format!("toDateTime({})", self.from),
            format!("toDateTime({})", self.to),
        );
        while let Some(at) = s.find("$__timeFilter(") {
            let open = at + "$__timeFilter(".len();
            let close = open + s[open..].find(')').ok_or("unclosed $__timeFilter(")?;
            let column = s[open..close].trim().to_string();
            s.replace_range(
                at..=close,
                &format!("{column} >= {from} AND {column} <= {to}"),
            );
        }
        s = s.replace("$__fromTime", &from).replace("$__toTime", &to);
        match s.find('$') {
            Some(at) => Err(format!(
                "unsupported macro or variable format at {:?}",
                &s[at..(at + 30).min(s.len())]
            )),
            None => Ok(s),
        }
    }
}

/// `cloudsage migrate`, plus the rollups migration (0003) while the runtime's list of
/// migrations does not include it yet: the dashboards read its views.
async fn migrate(wh: &Warehouse) {
    wh.migrate().await.unwrap();
    if MIGRATIONS.iter().any(|(v, ..)| *v == 3) {
        return;
    }
    let version: String = wh
        .client()
        .query("SELECT version()")
        .fetch_one()
        .await
        .unwrap();
    let sql = include_str!("../../deploy/clickhouse/migrations/0003_rollups.sql");
    for stmt in statements(&render(sql, ServerFeatures::from_version(&version))) {
        wh.client()
            .query(&stmt)
            .execute()
            .await
            .unwrap_or_else(|e| panic!("{e}\n{stmt}"));
    }
}

#[test]
fn dashboards_are_provisioned_from_the_directory_compose_mounts() {
    let provider: serde_yaml::Value = serde_yaml::from_str(
        &std::fs::read_to_string(
            repo().join("deploy/grafana/provisioning/dashboards/cloudsage.yaml"),
        )
        .unwrap(),
    )
    .unwrap();
    let path = provider["providers"][0]["options"]["path"]
        .as_str()
        .unwrap();
    assert_eq!(provider["providers"][0]["type"].as_str(), Some("file"));
    let compose: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(repo().join("docker-compose.yml")).unwrap())
            .unwrap();
    let mounts: Vec<&str> = compose["services"]["grafana"]["volumes"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(
        mounts.contains(&format!("./deploy/grafana/dashboards:{path}:ro").as_str()),
        "the provider reads {path}, compose mounts {mounts:?}"
    );
    assert!(
        mounts.contains(&"./deploy/grafana/provisioning:/etc/grafana/provisioning:ro"),
        "{mounts:?}"
    );

    // Every query goes to the provisioned ClickHouse datasource.
    let ds: serde_yaml::Value = serde_yaml::from_str(
        &std::fs::read_to_string(
            repo().join("deploy/grafana/provisioning/datasources/clickhouse.yaml"),
        )
        .unwrap(),
    )
    .unwrap();
    let ds = &ds["datasources"][0];
    assert_eq!(ds["type"].as_str(), Some("grafana-clickhouse-datasource"));
    assert_eq!(ds["uid"].as_str(), Some(DATASOURCE_UID));
    let plugins = serde_yaml::to_string(&compose["services"]["grafana"]["environment"]).unwrap();
    assert!(
        plugins.contains("grafana-clickhouse-datasource"),
        "{plugins}"
    );
    let mut uids = std::collections::BTreeSet::new();
    for (file, d) in dashboards() {
        assert!(
            d["uid"].as_str().is_some_and(|u| !u.is_empty()),
            "{file} has no uid"
        );
        for q in queries(&file, &d) {
            assert_eq!(q.datasource["uid"], DATASOURCE_UID, "{}", q.name);
            assert_eq!(
                q.datasource["type"], "grafana-clickhouse-datasource",
                "{}",
                q.name
            );
        }
        assert!(uids.insert(d["uid"].to_string()), "{file}: duplicate uid");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_dashboard_query_returns_rows_for_a_pipeline_run() {
    let Some((_, ch)) = services() else {
        return;
    };
    let db = unique("grafana");
    let project = unique("graf'a"); // a quote, to prove the variable escaping holds
                                    // A threshold well below the default 70, so the sample's error storm alerts (the alert
                                    // panels need alerts) however the scorer is calibrated.
    let mut config = Config::from_toml(&format!(
        "[clickhouse]\nurl = \"{ch}\"\ndatabase = \"{db}\"\n[notifier]\nconsole = false\nthreshold = 25"
    ))
    .unwrap();
    config.scorer.idle_flush = std::time::Duration::from_secs(4);
    let wh = Warehouse::from_config(&config.clickhouse).unwrap();
    migrate(&wh).await;
    let (report, _) = run_embedded(&config, &bundled_sample(), &project, "app")
        .await
        .unwrap();
    let counts = (
        report.windows.len(),
        report.forecasts.len(),
        report.alerts.len(),
    );
    assert!(
        counts.0 > 0 && counts.1 > 0 && counts.2 > 0,
        "windows, forecasts, alerts: {counts:?}"
    );

    // Template statistics come from the scorer once it writes them; until then one row per
    // service, in the row shape the warehouse writes, stands in so the panel's SQL is run
    // against real rows of the real table.
    let templates: u64 = wh
        .client()
        .query("SELECT count() FROM window_templates WHERE project = ?")
        .bind(&project)
        .fetch_one()
        .await
        .unwrap();
    if templates == 0 {
        eprintln!("no window_templates rows from the pipeline: writing one per service");
        let rows: Vec<TableRow> = report
            .windows
            .iter()
            .filter(|w| w.error_count > 0)
            .map(|w| {
                TableRow::WindowTemplate(WindowTemplate {
                    project: w.project.clone(),
                    service: w.service.clone(),
                    window_start_ms: w.window_start_ms,
                    window_id: w.window_id.clone(),
                    template_id: format!("{}-errors", w.service),
                    template: format!("{} failed: <*>", w.service),
                    events: w.event_count as u64,
                    errors: w.error_count as u64,
                    is_new: false,
                })
            })
            .collect();
        assert!(!rows.is_empty(), "the sample has error lines");
        wh.write(&rows, 1).await.unwrap();
    }

    // The range Grafana would show: the run's windows and the forecasts' horizon.
    let first = report
        .windows
        .iter()
        .map(|w| w.window_start_ms)
        .min()
        .unwrap()
        / 1000;
    let last = report
        .windows
        .iter()
        .map(|w| w.window_end_ms)
        .max()
        .unwrap()
        / 1000;
    let horizon = report
        .forecasts
        .iter()
        .map(|f| i64::from(f.horizon_hours))
        .max()
        .unwrap();
    let mut services: Vec<String> = report.windows.iter().map(|w| w.service.clone()).collect();
    services.sort();
    services.dedup();
    let expansion = Expansion {
        from: (first - 3600) as u32,
        to: (last + horizon * 3600 + 3600) as u32,
        variables: vec![("project", vec![project.clone()]), ("service", services)],
    };

    let http = reqwest::Client::new();
    let mut checked = 0;
    let mut failures = vec![];
    for (file, d) in dashboards() {
        for q in queries(&file, &d) {
            let sql = match expansion.expand(&q.sql) {
                Ok(sql) => sql,
                Err(e) => {
                    failures.push(format!("{}: {e}", q.name));
                    continue;
                }
            };
            let r = http
                .post(format!("{ch}/?database={db}"))
                .body(format!("{sql}\nFORMAT JSON"))
                .send()
                .await
                .unwrap();
            let status = r.status();
            let body = r.text().await.unwrap();
            checked += 1;
            if !status.is_success() {
                failures.push(format!("{}: ClickHouse {status}: {body}\n{sql}", q.name));
                continue;
            }
            let rows = serde_json::from_str::<Value>(&body).unwrap()["rows"]
                .as_u64()
                .unwrap();
            println!("{rows:>5} rows  {}", q.name);
            if rows == 0 {
                failures.push(format!("{}: no rows\n{sql}", q.name));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(
        checked >= 12,
        "only {checked} queries found in the dashboards"
    );
}
