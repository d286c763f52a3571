-- outbox-saga V3: parked messages (dead letters).
-- A record that could not be handled after its retries, or could not be read at all, is parked
-- here with its reason and original bytes, and the consumer moves on. Operators list, replay or
-- discard parked records; nothing is dropped.

CREATE TABLE IF NOT EXISTS dead_letter (
    id               bigserial    NOT NULL PRIMARY KEY,
    consumer         varchar(255) NOT NULL,
    -- NULL when the record carried no usable message id.
    message_id       uuid,
    topic            varchar(255) NOT NULL,
    kafka_partition  integer      NOT NULL,
    kafka_offset     bigint       NOT NULL,
    record_key       bytea,
    record_value     bytea,
    -- Original headers as a JSON array of {"key": name, "value": base64 bytes or null}.
    record_headers   jsonb        NOT NULL DEFAULT '[]'::jsonb,
    error_class      text         NOT NULL,
    error_message    text,
    error_stack      text,
    attempts         integer      NOT NULL,
    status           varchar(16)  NOT NULL DEFAULT 'PARKED'
                     CHECK (status IN ('PARKED', 'REPLAYED', 'DISCARDED')),
    parked_at        timestamptz  NOT NULL DEFAULT now(),
    resolved_at      timestamptz,
    resolution_note  text,
    -- A record redelivered after a crash is parked once, not twice.
    UNIQUE (consumer, topic, kafka_partition, kafka_offset)
);

CREATE INDEX IF NOT EXISTS dead_letter_consumer_status_idx ON dead_letter (consumer, status, id);
