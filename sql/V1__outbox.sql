-- outbox-saga V1: the outbox table.
-- A service inserts one row per message in the same transaction as its business change; the relay
-- reads the inserts from the write-ahead log. Column names follow Debezium's outbox event router
-- (id, aggregatetype, aggregateid, type, payload), so its tooling reads this table unchanged.
-- Every script in this folder is idempotent: it can be run again by psql or Flyway without harm.

CREATE TABLE IF NOT EXISTS outbox_event (
    id             uuid         NOT NULL PRIMARY KEY,
    aggregatetype  varchar(255) NOT NULL,
    aggregateid    varchar(255) NOT NULL,
    type           varchar(255) NOT NULL,
    payload        jsonb        NOT NULL,
    -- Message headers as a JSON object of string values (traceparent and the application's own).
    headers        jsonb        NOT NULL DEFAULT '{}'::jsonb,
    -- The saga or conversation this message belongs to; replies are matched on it.
    correlationid  varchar(255),
    created_at     timestamptz  NOT NULL DEFAULT now()
);

-- Purging kept rows walks this index in bounded batches.
CREATE INDEX IF NOT EXISTS outbox_event_created_at_idx ON outbox_event (created_at);
