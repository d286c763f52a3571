-- A bank's own tables (each bank has its own database). Idempotent.
CREATE TABLE IF NOT EXISTS account (
    id       varchar(64) NOT NULL PRIMARY KEY,
    balance  bigint      NOT NULL CHECK (balance >= 0),
    frozen   boolean     NOT NULL DEFAULT false
);

-- One row per money movement. Deliberately no unique (transfer_id, kind): a transfer should move
-- money at most once per kind at each bank, and the demo checks that the framework keeps it so
-- (LedgerCheck). A unique key here would turn a second movement into a constraint violation that
-- rolls back and parks the command, and the check could no longer see it.
CREATE TABLE IF NOT EXISTS ledger (
    seq          bigserial   NOT NULL PRIMARY KEY,
    transfer_id  varchar(64) NOT NULL,
    kind         varchar(16) NOT NULL CHECK (kind IN ('DEBIT', 'REFUND', 'CREDIT', 'REVERSAL')),
    account      varchar(64) NOT NULL,
    amount       bigint      NOT NULL,
    at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS ledger_transfer_idx ON ledger (transfer_id);
