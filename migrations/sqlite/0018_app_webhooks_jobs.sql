-- Webhook deliveries and asynchronous sealing jobs of apps (SQLite). Keep in step with
-- migrations/postgres.

-- A rotated webhook secret signs alongside the new one until previous_until, so a receiver can
-- switch without missing a delivery.
ALTER TABLE apps ADD COLUMN webhook_secret_previous BLOB;
ALTER TABLE apps ADD COLUMN webhook_secret_previous_until INTEGER;

-- One row per attempt to deliver an app event to the app's callback URL (the outbox job's
-- attempts, as the app sees them). outcome is delivered (2xx in time), failed (an answer other
-- than 2xx, a timeout, no connection; retried) or skipped (no callback URL, app not active).
CREATE TABLE app_webhook_deliveries (
    id           TEXT PRIMARY KEY,
    app_id       TEXT NOT NULL REFERENCES apps (id),
    event_id     TEXT NOT NULL REFERENCES app_events (id),
    event_kind   TEXT NOT NULL,
    job_id       TEXT NOT NULL,
    attempt      INTEGER NOT NULL CHECK (attempt >= 1),
    url          TEXT,
    status       INTEGER,
    outcome      TEXT NOT NULL CHECK (outcome IN ('delivered', 'failed', 'skipped')),
    error        TEXT,
    duration_ms  INTEGER NOT NULL CHECK (duration_ms >= 0),
    created_at   INTEGER NOT NULL
);
CREATE INDEX app_webhook_deliveries_app ON app_webhook_deliveries (app_id, created_at, id);
CREATE INDEX app_webhook_deliveries_event ON app_webhook_deliveries (event_id);

-- An app's asynchronous sealing job (large files, batches): the documents' originals are in the
-- object store by SHA-256; request holds the orders, results one entry per document as it is
-- sealed (a job taken over after a crash skips the documents already done). state is parsed by
-- src/apps/jobs.rs (queued, running, done, failed).
CREATE TABLE app_jobs (
    id           TEXT PRIMARY KEY,
    app_id       TEXT NOT NULL REFERENCES apps (id),
    state        TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
    request      TEXT NOT NULL,
    results      TEXT NOT NULL,
    client       TEXT NOT NULL,
    documents    INTEGER NOT NULL CHECK (documents >= 1),
    sealed       INTEGER NOT NULL CHECK (sealed >= 0),
    failed       INTEGER NOT NULL CHECK (failed >= 0),
    created_at   INTEGER NOT NULL,
    started_at   INTEGER,
    finished_at  INTEGER
);
CREATE INDEX app_jobs_app ON app_jobs (app_id, created_at, id);
