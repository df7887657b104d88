-- What apps sealed (sqlite). Keep in step with migrations/postgres.
-- Evidence (存证): one row per sealed document, found by the sealed document's SHA-256 (or the
-- original's); the same facts are in the audit chain's pdf.sign record.
CREATE TABLE app_evidence (
    id              TEXT PRIMARY KEY,
    app_id          TEXT NOT NULL REFERENCES apps (id),
    seal_id         TEXT NOT NULL REFERENCES seals (id),
    grant_id        TEXT NOT NULL REFERENCES app_grants (id),
    cert_serial     TEXT NOT NULL,
    input_sha256    TEXT NOT NULL,
    output_sha256   TEXT NOT NULL,
    field           TEXT NOT NULL,
    level           TEXT NOT NULL,
    placements      TEXT NOT NULL,
    client          TEXT NOT NULL,
    bytes           INTEGER NOT NULL,
    created_at      INTEGER NOT NULL
);
CREATE INDEX app_evidence_output ON app_evidence (output_sha256);
CREATE INDEX app_evidence_input ON app_evidence (input_sha256);
CREATE INDEX app_evidence_app ON app_evidence (app_id, created_at, id);

-- Sealings per app, seal and UTC day (YYYY-MM-DD), counted in the sealing's transaction.
CREATE TABLE app_usage (
    app_id   TEXT NOT NULL,
    seal_id  TEXT NOT NULL,
    day      TEXT NOT NULL,
    count    INTEGER NOT NULL CHECK (count >= 0),
    PRIMARY KEY (app_id, day, seal_id)
);

-- Idempotency-Key of the apps' signing API: the first request with a key claims it (state
-- running); its answer (the sealed document, kept in the object store by SHA-256) is recorded
-- with the evidence; a retry with the same request gets the same bytes. Released when the
-- sealing fails, so a retry runs again; rows older than a day are swept.
CREATE TABLE app_idempotency (
    app_id          TEXT NOT NULL,
    key             TEXT NOT NULL,
    request_sha256  TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('running', 'done')),
    evidence_id     TEXT,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (app_id, key)
);
CREATE INDEX app_idempotency_created ON app_idempotency (created_at);
