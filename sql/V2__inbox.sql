-- outbox-saga V2: the inbox (processed-message table).
-- A consumer inserts (consumer, message_id) in the same transaction as the handler's effect; a
-- redelivered message hits the primary key and is skipped, so its effect happens once.

CREATE TABLE IF NOT EXISTS inbox_message (
    consumer         varchar(255) NOT NULL,
    message_id       uuid         NOT NULL,
    -- PROCESSED: the handler's effect committed with this row. PARKED: the message went to dead_letter.
    outcome          varchar(16)  NOT NULL DEFAULT 'PROCESSED'
                     CHECK (outcome IN ('PROCESSED', 'PARKED')),
    topic            varchar(255),
    kafka_partition  integer,
    kafka_offset     bigint,
    received_at      timestamptz  NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, message_id)
);

-- Purging old inbox rows walks this index in bounded batches.
CREATE INDEX IF NOT EXISTS inbox_message_received_at_idx ON inbox_message (received_at);
