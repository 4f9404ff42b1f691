//! ClickHouse table `silences` (migration 0007): one row per version of an API silence
//! (a `ReplacingMergeTree` on the id; expiring one writes a newer version with an earlier
//! end). Loaded at start-up, so restarts keep API silences.

use super::{Silence, Silences};
use crate::routing::matcher::parse_all;
use cloudsage_runtime::warehouse::Warehouse;
use serde::Deserialize;

#[derive(Debug, clickhouse::Row, Deserialize)]
struct SilenceRow {
    id: String,
    matchers: Vec<String>,
    starts_at: i64,
    ends_at: i64,
    created_by: String,
    comment: String,
}

/// Writes (or rewrites) a silence. Times are stored with second precision.
pub async fn save(w: &Warehouse, s: &Silence, now_ms: i64) -> anyhow::Result<()> {
    let matchers: Vec<String> = s.matchers.iter().map(ToString::to_string).collect();
    w.client()
        .query(
            "INSERT INTO silences (id, matchers, starts_at, ends_at, created_by, comment, version) \
             VALUES (?, ?, toDateTime(?), toDateTime(?), ?, ?, ?)",
        )
        .bind(&s.id)
        .bind(matchers)
        .bind(s.starts_at_ms.div_euclid(1000).max(0))
        .bind(s.ends_at_ms.div_euclid(1000).max(0))
        .bind(&s.created_by)
        .bind(&s.comment)
        .bind(now_ms.max(0) as u64)
        .execute()
        .await?;
    Ok(())
}

/// Loads every silence that has not ended by `now_ms` into `into`; returns how many.
pub async fn load(w: &Warehouse, into: &Silences, now_ms: i64) -> anyhow::Result<usize> {
    let rows: Vec<SilenceRow> = w
        .client()
        .query(
            "SELECT id, matchers, toInt64(toUInt32(starts_at)) AS starts_at, \
             toInt64(toUInt32(ends_at)) AS ends_at, created_by, comment \
             FROM silences FINAL WHERE toUInt32(ends_at) > ?",
        )
        .bind(now_ms.div_euclid(1000))
        .fetch_all()
        .await?;
    let mut n = 0;
    for r in rows {
        match parse_all(&r.matchers) {
            Ok(matchers) => {
                into.upsert(Silence {
                    id: r.id,
                    matchers,
                    starts_at_ms: r.starts_at * 1000,
                    ends_at_ms: r.ends_at * 1000,
                    created_by: r.created_by,
                    comment: r.comment,
                });
                n += 1;
            }
            Err(e) => tracing::warn!(id = %r.id, error = %e, "stored silence skipped"),
        }
    }
    Ok(n)
}
