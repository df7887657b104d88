-- Workflows (PostgreSQL). Keep in step with migrations/sqlite.
-- One row per application: its kind, its state by stable name (parsed strictly by src/workflow), and
-- a version that every transition increments (optimistic concurrency: UPDATE … WHERE version = N).
CREATE TABLE workflows (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    state       TEXT NOT NULL,
    version     BIGINT NOT NULL CHECK (version >= 1),
    data        TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX workflows_kind_state ON workflows (kind, state);

-- Every state change, written by the workflow runner in the transaction that makes it: version is
-- the record's version after the change (1 = creation), so (workflow_id, version) is the cursor.
CREATE TABLE workflow_history (
    workflow_id  TEXT NOT NULL REFERENCES workflows (id),
    version      BIGINT NOT NULL,
    at           BIGINT NOT NULL,
    actor        TEXT NOT NULL,
    event        TEXT NOT NULL,
    from_state   TEXT,
    to_state     TEXT NOT NULL,
    comment      TEXT,
    attachments  TEXT NOT NULL,
    audit_seq    BIGINT NOT NULL,
    PRIMARY KEY (workflow_id, version)
);

-- Idempotency-Key: the first answer to a creating or transitioning POST, per actor and key, kept for
-- 24 hours. status 0 = the first request is still running.
CREATE TABLE idempotency_keys (
    actor         TEXT NOT NULL,
    idem_key      TEXT NOT NULL,
    method_path   TEXT NOT NULL,
    body_sha256   TEXT NOT NULL,
    status        BIGINT NOT NULL,
    content_type  TEXT,
    response      BYTEA,
    created_at    BIGINT NOT NULL,
    CONSTRAINT idempotency_keys_pkey PRIMARY KEY (actor, idem_key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
