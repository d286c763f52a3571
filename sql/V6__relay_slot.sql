-- outbox-saga V6: the replication slot each relay created, and where it began.
-- A slot whose first start was committed to Kafka, or that has moved past its starting point, has had
-- rows published from it. If the relay then finds no position in Kafka (positions topic deleted, another cluster, a changed positions.topic or
-- bootstrap list), it stops for an operator instead of taking it for an unfinished first start and
-- dropping the slot. The relay's role needs SELECT, INSERT, UPDATE on this table.
CREATE TABLE IF NOT EXISTS outbox_relay_slot (
    relay        varchar(255) NOT NULL PRIMARY KEY,
    slot_name    varchar(255) NOT NULL,
    -- The slot's consistent point; null while the slot is being created.
    created_lsn  pg_lsn,
    created_at   timestamptz  NOT NULL DEFAULT now(),
    -- Set once the first start's rows (and position) are committed to Kafka.
    first_published_at  timestamptz
);
