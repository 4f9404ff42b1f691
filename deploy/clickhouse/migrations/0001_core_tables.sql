-- Core tables: one row per scored window, forecast, alert state change and notification.
-- Every table is a ReplacingMergeTree on its natural key, so a replayed write (at-least-once
-- delivery) leaves the same query results once merged or read with FINAL.
-- Placeholders, expanded by `cloudsage migrate` from `SELECT version()`:
--   {{lc}}                      LowCardinality(String) on 19.0+, String on older servers
--   {{codec X}}                 CODEC(X) on 19.11+, nothing on older servers
--   {{ttl EXPR}}                TTL EXPR on 19.6+, nothing on older servers

CREATE TABLE IF NOT EXISTS risk_windows (
    project {{lc}},
    service {{lc}},
    window_start DateTime {{codec DoubleDelta, ZSTD}},
    window_end DateTime,
    window_id String,
    score Float64,
    factor_names Array(String),
    factor_values Array(Float64),
    factor_points Array(Float64),
    labels Array(String),
    top_factors Array(String),
    event_count UInt64,
    error_count UInt64,
    warn_count UInt64,
    late_count UInt64,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(window_start)
ORDER BY (project, service, window_start)
{{ttl window_start + INTERVAL 400 DAY}};

CREATE TABLE IF NOT EXISTS forecasts (
    project {{lc}},
    service {{lc}},
    generated_at DateTime,
    horizon_hours UInt16,
    forecast_id String,
    based_on_window_id String,
    predicted_score Float64,
    lower Float64,
    upper Float64,
    confidence Float64,
    confidence_reason String,
    trend_per_hour Float64,
    chain {{lc}},
    chain_step_names Array(String),
    chain_step_details Array(String),
    chain_step_us Array(Int64),
    action_kinds Array(String),
    action_titles Array(String),
    action_evidence Array(String),
    action_deadline_hours Array(Float64),
    version UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(generated_at)
ORDER BY (project, service, generated_at, horizon_hours)
{{ttl generated_at + INTERVAL 400 DAY}};

CREATE TABLE IF NOT EXISTS alerts (
    project {{lc}},
    fingerprint String,
    alert_id String,
    service {{lc}},
    rule {{lc}},
    status {{lc}},
    severity {{lc}},
    summary String,
    score Float64,
    starts_at DateTime,
    ends_at DateTime,
    window_id String,
    forecast_id String,
    label_keys Array(String),
    label_values Array(String),
    version UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(starts_at)
ORDER BY (project, fingerprint, alert_id)
{{ttl starts_at + INTERVAL 400 DAY}};

CREATE TABLE IF NOT EXISTS notifications (
    alert_id String,
    receiver String,
    project {{lc}},
    status {{lc}},
    result String,
    attempts UInt32,
    sent_at DateTime,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(sent_at)
ORDER BY (alert_id, receiver)
{{ttl sent_at + INTERVAL 400 DAY}};
