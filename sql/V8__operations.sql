-- outbox-saga V8: what operators do (the console and the CLI), and the indexes their lists page through.

-- Every operator action, in the database of the service it acts on: who, what, on which saga or dead
-- letter, with which note, and how it ended. This table is the audit trail; rows are never updated
-- except to record the outcome of a PENDING action.
-- Actions that need the service's own code wait here as PENDING until that service carries them out
-- in the transaction that records their outcome: a dead letter's replay runs its consumer's handler (the
-- InboxConsumer named in scope runs it), a saga repair or cancel needs the saga's definition (the
-- orchestrator of the saga type named in scope runs it). A discard needs no code and is DONE at once.
CREATE TABLE IF NOT EXISTS operator_action (
    id            bigserial    NOT NULL PRIMARY KEY,
    -- Who asked, as "console:<user>" or "cli:<user>".
    actor         varchar(255) NOT NULL,
    -- RETRY_COMPENSATION, MARK_COMPENSATED, CANCEL (sagas); REPLAY, DISCARD (dead letters).
    action        varchar(32)  NOT NULL,
    target_kind   varchar(16)  NOT NULL CHECK (target_kind IN ('SAGA', 'DEAD_LETTER')),
    -- The saga id, or the dead letter id.
    target_id     varchar(64)  NOT NULL,
    -- Who carries it out: the saga type (SAGA) or the consumer (DEAD_LETTER).
    scope         varchar(255) NOT NULL,
    note          text,
    status        varchar(16)  NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'DONE', 'FAILED')),
    -- What happened, or why it failed.
    outcome       text,
    requested_at  timestamptz  NOT NULL DEFAULT now(),
    done_at       timestamptz
);

-- Services find their pending actions through this index; it holds only those.
CREATE INDEX IF NOT EXISTS operator_action_pending_idx ON operator_action (target_kind, scope, id)
    WHERE status = 'PENDING';
-- A saga's or dead letter's page shows the actions taken on it.
CREATE INDEX IF NOT EXISTS operator_action_target_idx ON operator_action (target_kind, target_id, id);

-- The console lists sagas newest first, a page at a time, by keyset (created_at, id): each filter it
-- offers has an index that yields that order, so a page costs the same at a million sagas as at ten.
CREATE INDEX IF NOT EXISTS saga_instance_created_idx ON saga_instance (created_at, id);
CREATE INDEX IF NOT EXISTS saga_instance_state_created_idx ON saga_instance (state, created_at, id);
CREATE INDEX IF NOT EXISTS saga_instance_type_created_idx ON saga_instance (saga_type, saga_version, created_at, id);
-- Finding a saga by its business key without knowing its type.
CREATE INDEX IF NOT EXISTS saga_instance_key_any_type_idx ON saga_instance (saga_key) WHERE saga_key IS NOT NULL;
