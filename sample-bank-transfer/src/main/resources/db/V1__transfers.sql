-- The transfer service's own table (its database also holds the saga tables). Idempotent.
CREATE TABLE IF NOT EXISTS transfer (
    id            varchar(64) NOT NULL PRIMARY KEY,
    from_bank     varchar(64) NOT NULL,
    from_account  varchar(64) NOT NULL,
    to_bank       varchar(64) NOT NULL,
    to_account    varchar(64) NOT NULL,
    amount        bigint      NOT NULL CHECK (amount > 0),
    saga_id       uuid,
    created_at    timestamptz NOT NULL DEFAULT now()
);
