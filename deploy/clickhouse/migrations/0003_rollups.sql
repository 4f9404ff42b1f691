-- Hourly and daily risk rollups per (project, service), for dashboards and long ranges.
-- Read them through the views `risk_hourly` and `risk_daily` (one row per bucket: windows,
-- avg/min/max score, events, errors, warnings); the `*_state` tables hold the aggregate
-- states that materialized views keep up to date on every insert into risk_windows.
-- Buckets are UTC hours and UTC days, whatever the server's time zone.
--
-- Correct under replays. risk_windows is a ReplacingMergeTree: at-least-once delivery
-- re-inserts a window (same window_id, same score and counts, newer version), and FINAL
-- keeps it once. A materialized view only sees each inserted block, so a plain
-- sumState/countState/avgState would count a replayed window twice, forever. Instead every
-- state here is idempotent, i.e. merging a state with itself changes nothing:
--   * maxState/minState of the score,
--   * groupUniqArrayState of the tuple (window_id, score, events, errors, warnings): the set
--     of distinct windows in the bucket. A replayed window is the same tuple (the version,
--     which differs between writes, is left out on purpose), so the set stays the same.
--     Counts, sums and the average are taken from that set when reading (the views).
-- The price is state size: a bucket stores one small tuple per window (60 per hour, 1440
-- per day with 60 s windows) rather than a few numbers. What the rollups save is grouping
-- and FINAL work at read time, and they give the same answers as an aggregate over
-- `risk_windows FINAL` (cli/tests/analytics_queries.rs checks this after a replay).
-- Scores are deterministic per window (the scorer replays to the same values), so one window
-- is one tuple. Should a window ever be rewritten with different values, both tuples would
-- be counted until the rollup is rebuilt: TRUNCATE the *_state table and run its INSERT below.
--
-- The INSERT … SELECT statements backfill windows written before this migration. Because
-- the states are idempotent, rows inserted while the backfill runs (seen by both the view and
-- the backfill) are not counted twice, and the backfill can be re-run at any time.
-- Works on ClickHouse 18.16 and 24+ (`CREATE MATERIALIZED VIEW … TO` exists on both).

CREATE TABLE IF NOT EXISTS risk_hourly_state (
    project {{lc}},
    service {{lc}},
    hour DateTime,
    windows AggregateFunction(groupUniqArray, Tuple(String, Float64, UInt64, UInt64, UInt64)),
    score_max AggregateFunction(max, Float64),
    score_min AggregateFunction(min, Float64)
) ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(hour)
ORDER BY (project, service, hour)
{{ttl hour + INTERVAL 400 DAY}};

CREATE MATERIALIZED VIEW IF NOT EXISTS risk_hourly_mv TO risk_hourly_state AS
SELECT
    project,
    service,
    toStartOfHour(window_start, 'UTC') AS hour,
    groupUniqArrayState(tuple(window_id, score, event_count, error_count, warn_count)) AS windows,
    maxState(score) AS score_max,
    minState(score) AS score_min
FROM risk_windows
GROUP BY project, service, hour;

INSERT INTO risk_hourly_state
SELECT
    project,
    service,
    toStartOfHour(window_start, 'UTC') AS hour,
    groupUniqArrayState(tuple(window_id, score, event_count, error_count, warn_count)) AS windows,
    maxState(score) AS score_max,
    minState(score) AS score_min
FROM risk_windows
GROUP BY project, service, hour;

CREATE VIEW IF NOT EXISTS risk_hourly AS
SELECT
    project,
    service,
    hour,
    length(w) AS windows,
    arraySum(arrayMap(t -> t.2, w)) / length(w) AS avg_score,
    min_score,
    max_score,
    arraySum(arrayMap(t -> t.3, w)) AS events,
    arraySum(arrayMap(t -> t.4, w)) AS errors,
    arraySum(arrayMap(t -> t.5, w)) AS warnings
FROM (
    SELECT
        project,
        service,
        hour,
        groupUniqArrayMerge(windows) AS w,
        minMerge(score_min) AS min_score,
        maxMerge(score_max) AS max_score
    FROM risk_hourly_state
    GROUP BY project, service, hour
);

CREATE TABLE IF NOT EXISTS risk_daily_state (
    project {{lc}},
    service {{lc}},
    day Date,
    windows AggregateFunction(groupUniqArray, Tuple(String, Float64, UInt64, UInt64, UInt64)),
    score_max AggregateFunction(max, Float64),
    score_min AggregateFunction(min, Float64)
) ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(day)
ORDER BY (project, service, day)
{{ttl day + INTERVAL 800 DAY}};

CREATE MATERIALIZED VIEW IF NOT EXISTS risk_daily_mv TO risk_daily_state AS
SELECT
    project,
    service,
    toDate(window_start, 'UTC') AS day,
    groupUniqArrayState(tuple(window_id, score, event_count, error_count, warn_count)) AS windows,
    maxState(score) AS score_max,
    minState(score) AS score_min
FROM risk_windows
GROUP BY project, service, day;

INSERT INTO risk_daily_state
SELECT
    project,
    service,
    toDate(window_start, 'UTC') AS day,
    groupUniqArrayState(tuple(window_id, score, event_count, error_count, warn_count)) AS windows,
    maxState(score) AS score_max,
    minState(score) AS score_min
FROM risk_windows
GROUP BY project, service, day;

CREATE VIEW IF NOT EXISTS risk_daily AS
SELECT
    project,
    service,
    day,
    length(w) AS windows,
    arraySum(arrayMap(t -> t.2, w)) / length(w) AS avg_score,
    min_score,
    max_score,
    arraySum(arrayMap(t -> t.3, w)) AS events,
    arraySum(arrayMap(t -> t.4, w)) AS errors,
    arraySum(arrayMap(t -> t.5, w)) AS warnings
FROM (
    SELECT
        project,
        service,
        day,
        groupUniqArrayMerge(windows) AS w,
        minMerge(score_min) AS min_score,
        maxMerge(score_max) AS max_score
    FROM risk_daily_state
    GROUP BY project, service, day
);
