-- Template statistics: per closed window, the message templates (masked signatures) it
-- contained, with counts. One row per (window, template), ReplacingMergeTree on that key,
-- so replays change nothing; totals per template (count, error count, first and last seen)
-- are aggregates over this table, e.g.
--   SELECT template, sum(events), sum(errors), min(window_start), max(window_start)
--   FROM window_templates FINAL WHERE project = 'shop' GROUP BY template
-- `is_new` marks a template the series had not shown before (template novelty).

CREATE TABLE IF NOT EXISTS window_templates (
    project {{lc}},
    service {{lc}},
    window_start DateTime {{codec DoubleDelta, ZSTD}},
    window_id String,
    template_id String,
    template String,
    events UInt64,
    errors UInt64,
    is_new UInt8,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(window_start)
ORDER BY (project, service, window_start, template_id)
{{ttl window_start + INTERVAL 400 DAY}};
