-- outbox-saga V5: saga state, in the orchestrating service's own database, and the replies its
-- participants gave, in theirs. Operators read and repair sagas here (or through SagaAdmin).

-- One row per saga instance. The orchestrator changes it in the transaction that records the reply
-- (inbox) and sends the next command (outbox).
CREATE TABLE IF NOT EXISTS saga_instance (
    id                   uuid         NOT NULL PRIMARY KEY,
    saga_type            varchar(255) NOT NULL,
    saga_version         integer      NOT NULL,
    -- RUNNING, COMPENSATING, COMPLETED, COMPENSATED, FAILED, PARKED
    state                varchar(16)  NOT NULL,
    -- The step in hand: going forward, or being compensated when state = COMPENSATING or PARKED.
    step_index           integer      NOT NULL,
    -- Attempt at the step in hand, from 1.
    attempt              integer      NOT NULL DEFAULT 1,
    -- The command whose reply is awaited; a reply to any other is late and ignored.
    awaiting_command_id  uuid,
    -- When the awaited reply times out, or a retry is due; NULL when nothing is due.
    deadline             timestamptz,
    data                 jsonb        NOT NULL,
    last_error           text,
    created_at           timestamptz  NOT NULL DEFAULT now(),
    updated_at           timestamptz  NOT NULL DEFAULT now(),
    ended_at             timestamptz,
    CHECK (state IN ('RUNNING', 'COMPENSATING', 'COMPLETED', 'COMPENSATED', 'FAILED', 'PARKED'))
);

-- The timer finds due sagas through this index; it holds only sagas still in flight.
CREATE INDEX IF NOT EXISTS saga_instance_due_idx ON saga_instance (deadline)
    WHERE state IN ('RUNNING', 'COMPENSATING');
-- Queries by state, type and age, and for stuck sagas.
CREATE INDEX IF NOT EXISTS saga_instance_state_idx ON saga_instance (state, saga_type, updated_at);

-- Every step of every saga, in order: its full history.
CREATE TABLE IF NOT EXISTS saga_event (
    seq         bigserial    NOT NULL PRIMARY KEY,
    saga_id     uuid         NOT NULL,
    step_index  integer      NOT NULL,
    step_name   varchar(255),
    event       varchar(32)  NOT NULL,
    detail      text,
    at          timestamptz  NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS saga_event_saga_idx ON saga_event (saga_id, seq);

-- A participant's reply per saga step (forward or compensation), written with the step's effect:
-- a command sent again (a retry after a timeout) gets the same reply and has no second effect.
CREATE TABLE IF NOT EXISTS saga_participant_reply (
    participant     varchar(255) NOT NULL,
    saga_id         uuid         NOT NULL,
    step_index      integer      NOT NULL,
    -- FORWARD or COMPENSATION
    kind            varchar(16)  NOT NULL,
    command_type    varchar(255) NOT NULL,
    -- SUCCESS or FAILURE
    outcome         varchar(16)  NOT NULL,
    retryable       boolean      NOT NULL DEFAULT false,
    reason          text,
    payload         jsonb        NOT NULL,
    replied_at      timestamptz  NOT NULL DEFAULT now(),
    PRIMARY KEY (participant, saga_id, step_index, kind)
);
