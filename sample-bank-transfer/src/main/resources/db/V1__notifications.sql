-- The notification service's own table (its own database). Idempotent.
-- One row per notification sent. Deliberately no unique (transfer_id): each completed transfer should be
-- notified exactly once, and the demo checks that the framework keeps it so (NotificationCheck). A unique key
-- would turn a second notification into a constraint violation that the check could no longer see.
CREATE TABLE IF NOT EXISTS notification (
    seq          bigserial    NOT NULL PRIMARY KEY,
    transfer_id  varchar(64)  NOT NULL,
    recipient    varchar(160) NOT NULL,
    text         text         NOT NULL,
    at           timestamptz  NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS notification_transfer_idx ON notification (transfer_id);
