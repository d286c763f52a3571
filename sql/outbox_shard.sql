-- outbox-saga: one more outbox table, a shard, for Outbox.builder().shards(n) (outbox-relay/README.md,
-- "Scaling out"). Shard 0 is the outbox table itself (V1); shard k is <table>_k, a copy of its columns,
-- defaults, primary key and indexes. One relay reads each shard table through its own slot.
--
-- Not a versioned migration (no V prefix, so Flyway skips it): ${shard_table} and ${outbox_table} are
-- placeholders. OutboxSchema.migrateShards fills them in for every shard; with Flyway, copy this statement
-- into a versioned migration of your own, once per shard, e.g.
--   CREATE TABLE IF NOT EXISTS outbox_event_1 (LIKE outbox_event INCLUDING ALL);
-- Idempotent, like every script here.

CREATE TABLE IF NOT EXISTS ${shard_table} (LIKE ${outbox_table} INCLUDING ALL);
