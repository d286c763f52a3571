-- A bank's own tables (each bank has its own database). Idempotent.
CREATE TABLE IF NOT EXISTS account (
    id       varchar(64) NOT NULL PRIMARY KEY,
    balance  bigint      NOT NULL CHECK (balance >= 0),
    frozen   boolean     NOT NULL DEFAULT false
);

-- One row per money movement; a transfer moves money at most once per kind at each bank.
CREATE TABLE IF NOT EXISTS ledger (
    transfer_id  varchar(64) NOT NULL,
    kind         varchar(16) NOT NULL CHECK (kind IN ('DEBIT', 'REFUND', 'CREDIT', 'REVERSAL')),
    account      varchar(64) NOT NULL,
    amount       bigint      NOT NULL,
    at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (transfer_id, kind)
);
