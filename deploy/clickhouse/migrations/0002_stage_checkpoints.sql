-- Stage checkpoints: what a consumer group had handled of each input partition, stored next
-- to (and just before) each offset commit. Kafka's commit metadata would do, but not every
-- Kafka-compatible broker keeps it (tansu does not), so the runtime keeps its own copy.
-- `prev_*` holds the position committed before the current one: if a stage dies between
-- writing this row and committing to Kafka, the broker still has the previous offset and
-- its checkpoint is found here.
CREATE TABLE IF NOT EXISTS stage_checkpoints (
    consumer_group String,
    topic String,
    partition Int32,
    committed_offset Int64,
    done Int64,
    state String,
    has_state UInt8,
    prev_committed_offset Int64,
    prev_done Int64,
    prev_state String,
    prev_has_state UInt8,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (consumer_group, topic, partition);
