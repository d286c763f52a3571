-- outbox-saga V13: what the operator console draws. The console has no service's code, so each orchestrator
-- records the static shape of the saga definitions it runs, and the console's overview counts recent outcomes
-- per minute through two time indexes.

-- One row per saga type and version: the definition's shape as JSON, written by SagaOrchestrator when it starts
-- (an upsert, so a restarted or second orchestrator is harmless; a changed shape replaces the stored one).
-- Only static facts: {"format": 1, "type", "version", "deadlineMillis" (null: none), "steps": [...]}, each step
-- {"index" (its step index, as in saga_event), "name", "kind": "participant" | "local", "participant" (the name,
-- or "dynamic" when chosen from the saga data), "commandType", "compensation": "command" | "local" | "none",
-- "compensationType", "timeoutMillis", "retryAttempts", "conditional"}, and each parallel group
-- {"kind": "parallel", "name", "branches": [steps]}. Sagas of orchestrators older than V13 have no row here;
-- the console then derives a simpler diagram from their history.
CREATE TABLE IF NOT EXISTS saga_definition (
    saga_type     varchar(255) NOT NULL,
    saga_version  integer      NOT NULL,
    shape         jsonb        NOT NULL,
    recorded_at   timestamptz  NOT NULL DEFAULT now(),
    PRIMARY KEY (saga_type, saga_version)
);

-- The overview's sagas ended per minute over the last hours: a range of this index, read without the table
-- (state is in it); it holds ended sagas only.
CREATE INDEX IF NOT EXISTS saga_instance_ended_idx ON saga_instance (ended_at, state)
    WHERE ended_at IS NOT NULL;
-- The overview's dead letters parked per minute, and the dead letter list's time filter.
CREATE INDEX IF NOT EXISTS dead_letter_parked_idx ON dead_letter (parked_at);
