-- Incidents and the decisions taken about them (the notifier's incident loop).
-- `incidents`: one row per incident, rewritten as alerts join it; ReplacingMergeTree on the
-- deterministic incident id, so replays change nothing. Read with FINAL.
-- `decisions`: the audit log of the decision engine, one row per decision, versioned by the
-- time its state last changed (`pending` → `success`/`failure`), e.g.
--   SELECT verdict, action, outcome, reason FROM decisions FINAL WHERE project = 'shop'
-- Per project and action, outcomes give the success rate the engine learns from:
--   SELECT action, countIf(outcome = 'success'), countIf(outcome = 'failure')
--   FROM decisions FINAL WHERE project = 'shop' GROUP BY action

CREATE TABLE IF NOT EXISTS incidents (
    project {{lc}},
    incident_id String,
    service {{lc}},
    fingerprint String,
    title String,
    severity {{lc}},
    status {{lc}},
    alert_ids Array(String),
    sources Array(String),
    opened_at DateTime {{codec DoubleDelta, ZSTD}},
    updated_at DateTime,
    resolved_at DateTime,
    action_kinds Array(String),
    action_confidences Array(Float64),
    action_reasons Array(String),
    version UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(opened_at)
ORDER BY (project, incident_id)
{{ttl opened_at + INTERVAL 400 DAY}};

CREATE TABLE IF NOT EXISTS decisions (
    project {{lc}},
    decision_id String,
    incident_id String,
    service {{lc}},
    verdict {{lc}},
    action {{lc}},
    confidence Float64,
    severity {{lc}},
    impact {{lc}},
    reason String,
    dry_run UInt8,
    outcome {{lc}},
    outcome_detail String,
    decided_at DateTime {{codec DoubleDelta, ZSTD}},
    updated_at_ms Int64,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(decided_at)
ORDER BY (project, decision_id)
{{ttl decided_at + INTERVAL 400 DAY}};
