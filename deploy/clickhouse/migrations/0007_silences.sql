-- Silences created over the notifier's API (`POST /v1/silences`), so restarts keep them.
-- One row per version of a silence: expiring one early writes a newer version (higher
-- `version`) with an earlier `ends_at`; read with FINAL.

CREATE TABLE IF NOT EXISTS silences (
    id String,
    matchers Array(String),
    starts_at DateTime,
    ends_at DateTime,
    created_by String,
    comment String,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY id;
