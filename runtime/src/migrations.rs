//! Versioned ClickHouse migrations (`deploy/clickhouse/migrations/NNNN_name.sql`) with a
//! ledger table. The same files serve ClickHouse 18.16 (CI) and 24+ (users): placeholders
//! turn modern-only features on from the server's `SELECT version()`.

use clickhouse::Client;

/// Every migration, in order. Applied ones are recorded in `schema_migrations`.
pub const MIGRATIONS: &[(u32, &str, &str)] = &[
    (
        1,
        "core_tables",
        include_str!("../../deploy/clickhouse/migrations/0001_core_tables.sql"),
    ),
    (
        2,
        "stage_checkpoints",
        include_str!("../../deploy/clickhouse/migrations/0002_stage_checkpoints.sql"),
    ),
    (
        3,
        "rollups",
        include_str!("../../deploy/clickhouse/migrations/0003_rollups.sql"),
    ),
    (
        4,
        "window_templates",
        include_str!("../../deploy/clickhouse/migrations/0004_window_templates.sql"),
    ),
    (
        5,
        "feedback",
        include_str!("../../deploy/clickhouse/migrations/0005_feedback.sql"),
    ),
    (
        6,
        "incidents",
        include_str!("../../deploy/clickhouse/migrations/0006_incidents.sql"),
    ),
    (
        7,
        "silences",
        include_str!("../../deploy/clickhouse/migrations/0007_silences.sql"),
    ),
];

/// What the connected server supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerFeatures {
    pub low_cardinality: bool,
    pub codecs: bool,
    pub ttl: bool,
}

impl ServerFeatures {
    /// From a `SELECT version()` string such as `18.16.1` or `24.8.4.13`.
    pub fn from_version(version: &str) -> ServerFeatures {
        let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
        let major = parts.next().unwrap_or(0);
        let minor = parts.next().unwrap_or(0);
        let at_least = |maj: u32, min: u32| (major, minor) >= (maj, min);
        ServerFeatures {
            low_cardinality: at_least(19, 0),
            codecs: at_least(19, 11),
            ttl: at_least(19, 6),
        }
    }
}

/// Expands the `{{…}}` placeholders of a migration for the given server.
pub fn render(sql: &str, f: ServerFeatures) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let Some(len) = rest[start..].find("}}") else {
            break;
        };
        let inner = rest[start + 2..start + len].trim();
        let (name, arg) = inner.split_once(' ').unwrap_or((inner, ""));
        out.push_str(&match name {
            "lc" if f.low_cardinality => "LowCardinality(String)".to_string(),
            "lc" => "String".to_string(),
            "codec" if f.codecs => format!("CODEC({arg})"),
            "ttl" if f.ttl => format!("TTL {arg}"),
            _ => String::new(),
        });
        rest = &rest[start + len + 2..];
    }
    out.push_str(rest);
    out
}

/// Statements of a rendered migration: split on `;`, comments and blanks dropped.
pub fn statements(sql: &str) -> Vec<String> {
    let without_comments: String = sql
        .lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n");
    without_comments
        .split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Creates the database and applies every migration not yet in the ledger. Returns the
/// versions applied now.
pub async fn migrate(server: &Client, database: &str) -> anyhow::Result<Vec<u32>> {
    server
        .query(&format!("CREATE DATABASE IF NOT EXISTS {database}"))
        .execute()
        .await?;
    let db = server.clone().with_database(database);
    db.query(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version UInt32, name String, \
         applied_at DateTime) ENGINE = ReplacingMergeTree() ORDER BY version",
    )
    .execute()
    .await?;
    let version: String = db.query("SELECT version()").fetch_one().await?;
    let features = ServerFeatures::from_version(&version);
    let applied: Vec<u32> = db
        .query("SELECT DISTINCT version FROM schema_migrations")
        .fetch_all()
        .await?;
    let mut now_applied = vec![];
    for (v, name, sql) in MIGRATIONS {
        if applied.contains(v) {
            continue;
        }
        for stmt in statements(&render(sql, features)) {
            db.query(&stmt)
                .execute()
                .await
                .map_err(|e| anyhow::anyhow!("migration {v} ({name}) failed: {e}\n{stmt}"))?;
        }
        db.query("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, now())")
            .bind(*v)
            .bind(*name)
            .execute()
            .await?;
        tracing::info!(version = v, name, server = %version, "migration applied");
        now_applied.push(*v);
    }
    Ok(now_applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_servers_get_plain_ddl() {
        let f = ServerFeatures::from_version("18.16.1");
        let sql = statements(&render(MIGRATIONS[0].2, f)).join(";\n");
        assert!(!sql.contains("LowCardinality") && !sql.contains("TTL") && !sql.contains("CODEC"));
        assert!(!sql.contains("{{"));
    }

    #[test]
    fn modern_servers_get_ttl_codecs_and_low_cardinality() {
        let f = ServerFeatures::from_version("24.8.4.13");
        let sql = render(MIGRATIONS[0].2, f);
        assert!(sql.contains("project LowCardinality(String)"));
        assert!(sql.contains("TTL window_start + INTERVAL 400 DAY"));
        assert!(sql.contains("CODEC(DoubleDelta, ZSTD)"));
        assert_eq!(statements(&sql).len(), 4);
    }
}
