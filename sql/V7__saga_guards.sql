-- outbox-saga V7: a business key per saga, so that a request retried after a COMMIT of unknown outcome
-- (or sent twice) finds the saga it started instead of starting a second one.

-- Set by SagaOrchestrator.begin(connection, definition, data, sagaKey); null for sagas begun without one.
ALTER TABLE saga_instance ADD COLUMN IF NOT EXISTS saga_key varchar(255);

-- One saga per type and key. A concurrent begin with the same key waits here for the first one's
-- transaction, then finds its saga (or, if it rolled back, starts its own).
CREATE UNIQUE INDEX IF NOT EXISTS saga_instance_key_idx ON saga_instance (saga_type, saga_key)
    WHERE saga_key IS NOT NULL;
