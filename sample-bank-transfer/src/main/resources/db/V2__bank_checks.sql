-- A bank's records of the transfer saga's parallel checks (its own database, after V1__bank.sql). Idempotent.
-- Like the ledger, append-only and deliberately without a unique key on (transfer_id, kind): a check or its undo
-- applied twice must show as a second row, for the demo's LedgerCheck to see, not turn into a constraint
-- violation that rolls back and hides it.

-- The daily outgoing limit: a HOLD of the amount when a transfer from the account is checked, a RELEASE of it
-- when the transfer is undone. What an account holds on a day is its holds less its releases of that day.
CREATE TABLE IF NOT EXISTS limit_hold (
    seq          bigserial   NOT NULL PRIMARY KEY,
    transfer_id  varchar(64) NOT NULL,
    kind         varchar(16) NOT NULL CHECK (kind IN ('HOLD', 'RELEASE')),
    account      varchar(64) NOT NULL,
    day          date        NOT NULL,
    amount       bigint      NOT NULL CHECK (amount > 0),
    at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS limit_hold_account_idx ON limit_hold (account, day);
CREATE INDEX IF NOT EXISTS limit_hold_transfer_idx ON limit_hold (transfer_id);

-- Payee screenings: a SCREEN when a payee account here passed the check for a transfer, a CLEAR when the
-- transfer is undone.
CREATE TABLE IF NOT EXISTS screening (
    seq          bigserial   NOT NULL PRIMARY KEY,
    transfer_id  varchar(64) NOT NULL,
    kind         varchar(16) NOT NULL CHECK (kind IN ('SCREEN', 'CLEAR')),
    account      varchar(64) NOT NULL,
    amount       bigint      NOT NULL CHECK (amount > 0),
    at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS screening_transfer_idx ON screening (transfer_id);
