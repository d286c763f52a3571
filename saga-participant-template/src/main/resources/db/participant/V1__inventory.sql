-- The template's business tables: replace them with your own. Like outbox-saga's own scripts, every
-- migration here is idempotent (IF NOT EXISTS) and never drops anything: the participant applies them
-- on every start (ParticipantSchema), so applying one again must be harmless.

-- Stock on hand per item. The CHECK is the last line of defence: Reserve never takes more than is there.
CREATE TABLE IF NOT EXISTS inventory_item (
    item        varchar(255) NOT NULL PRIMARY KEY,
    available   integer      NOT NULL CHECK (available >= 0),
    updated_at  timestamptz  NOT NULL DEFAULT now()
);

-- What each saga step reserved, so that its compensation gives back exactly that. One row per
-- (saga, step): a saga may reserve in more than one of its steps. The primary key is the business
-- identity Release looks the reservation up by; it is not what makes a command take effect once
-- (SagaParticipant's inbox and stored reply do). A second Reserve of one step would fail on it, be
-- retried and land in the dead-letter table: watch that table, and the template's tests assert it
-- stays empty.
CREATE TABLE IF NOT EXISTS inventory_reservation (
    saga_id      uuid         NOT NULL,
    step_index   integer      NOT NULL,
    item         varchar(255) NOT NULL,
    quantity     integer      NOT NULL CHECK (quantity > 0),
    reserved_at  timestamptz  NOT NULL DEFAULT now(),
    -- Set by the compensation (Release); the row stays as a record of what happened.
    released_at  timestamptz,
    PRIMARY KEY (saga_id, step_index)
);
