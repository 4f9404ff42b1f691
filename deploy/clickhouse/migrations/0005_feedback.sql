-- Users' feedback on proposed actions (topic `feedback`), written by the forecaster as it
-- learns from it. An audit trail: every feedback is kept, one row per feedback_id (a hash of
-- the feedback's fields), so a replayed write changes nothing. Optional fields are '' when
-- absent. E.g. what a project said about each action kind:
--   SELECT action_kind, verdict, count() FROM feedback FINAL WHERE project = 'shop'
--   GROUP BY action_kind, verdict

CREATE TABLE IF NOT EXISTS feedback (
    project {{lc}},
    received_at DateTime {{codec DoubleDelta, ZSTD}},
    feedback_id String,
    service {{lc}},
    forecast_id String,
    action_kind {{lc}},
    verdict {{lc}},
    pattern String,
    comment String,
    user String,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(received_at)
ORDER BY (project, feedback_id);
