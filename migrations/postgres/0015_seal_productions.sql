-- Seal productions in progress (PostgreSQL). Keep in step with migrations/sqlite.
-- Written (and committed) before a seal's key is generated and deleted in the transaction that
-- registers the key with its seal, or after a failed production is undone. A row older than any
-- request could run is a production a crash interrupted: the sweep revokes the certificates made
-- for its seal code and destroys its key.
CREATE TABLE seal_productions (
    id              TEXT PRIMARY KEY,
    seal_code       TEXT NOT NULL,
    key_ref         TEXT,
    application_id  TEXT NOT NULL,
    started_at      BIGINT NOT NULL
);
CREATE INDEX seal_productions_started ON seal_productions (started_at);
