-- outbox-saga V4: tables of the relay, in the database whose outbox it reads.
-- The relay's role needs SELECT on the outbox table(s) and read/write on these three tables.

-- Which relay process may publish: a lease, renewed by the leader, taken over by a standby after
-- it expires. The epoch grows with every change of holder, for the logs and for fencing checks.
CREATE TABLE IF NOT EXISTS outbox_relay_lease (
    relay        varchar(255) NOT NULL PRIMARY KEY,
    holder       varchar(255) NOT NULL,
    epoch        bigint       NOT NULL,
    acquired_at  timestamptz  NOT NULL DEFAULT now(),
    expires_at   timestamptz  NOT NULL
);

-- Written by the relay's heartbeat so that an idle outbox in a busy database still moves the
-- replication slot forward (the inserts travel through the same publication, and are not published).
CREATE TABLE IF NOT EXISTS outbox_relay_heartbeat (
    relay    varchar(255) NOT NULL,
    beat_at  timestamptz  NOT NULL DEFAULT now()
);

-- Outbox rows the relay could not publish (too large for Kafka, no routing value): parked with the
-- reason; the stream goes on. Keyed by the outbox row id, so a replayed row is parked once.
CREATE TABLE IF NOT EXISTS outbox_relay_dead_letter (
    id             uuid         NOT NULL PRIMARY KEY,
    relay          varchar(255) NOT NULL,
    source_table   varchar(255) NOT NULL,
    aggregatetype  varchar(255),
    aggregateid    varchar(255),
    type           varchar(255),
    payload        text,
    headers        text,
    correlationid  varchar(255),
    reason         text         NOT NULL,
    wal_position   text,
    parked_at      timestamptz  NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS outbox_relay_dead_letter_relay_idx ON outbox_relay_dead_letter (relay, parked_at);
