-- Foundation schema (PostgreSQL). Times are Unix seconds. Keep in step with migrations/sqlite.
CREATE TABLE profiles (
    name        TEXT PRIMARY KEY,
    body        TEXT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE cas (
    name        TEXT NOT NULL,
    generation  BIGINT NOT NULL,
    parent      TEXT,
    key_ref     TEXT NOT NULL,
    scheme      TEXT NOT NULL,
    cert_der    BYTEA NOT NULL,
    serial      TEXT NOT NULL,
    active      BIGINT NOT NULL CHECK (active IN (0, 1)),
    created_at  BIGINT NOT NULL,
    CONSTRAINT cas_pk PRIMARY KEY (name, generation)
);

CREATE TABLE certificates (
    serial       TEXT NOT NULL,
    ca           TEXT NOT NULL,
    profile      TEXT NOT NULL,
    subject      TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('pending', 'issued')),
    not_before   BIGINT NOT NULL,
    not_after    BIGINT NOT NULL,
    tbs          BYTEA NOT NULL,
    der          BYTEA,
    fingerprint  TEXT,
    requested_by TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    issued_at    BIGINT,
    CONSTRAINT certificates_serial_key UNIQUE (serial)
);
CREATE INDEX certificates_created ON certificates (created_at, serial);
CREATE INDEX certificates_subject ON certificates (subject);

CREATE TABLE keys (
    key_ref     TEXT PRIMARY KEY,
    algorithm   TEXT NOT NULL,
    backend     TEXT NOT NULL,
    purpose     TEXT NOT NULL,
    public_key  BYTEA NOT NULL,
    cert_serial TEXT,
    created_at  BIGINT NOT NULL
);

CREATE TABLE operators (
    username      TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'auditor')),
    created_at    BIGINT NOT NULL
);

CREATE TABLE sessions (
    token_hash  TEXT PRIMARY KEY,
    username    TEXT NOT NULL REFERENCES operators (username),
    expires_at  BIGINT NOT NULL
);

CREATE TABLE audit_log (
    seq        BIGINT PRIMARY KEY,
    at         BIGINT NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    detail     TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);

-- One row: the chain head. Appenders update it first, which serialises them (row lock in
-- PostgreSQL, the write lock in SQLite) so several instances keep one linear chain.
CREATE TABLE audit_head (
    id    BIGINT PRIMARY KEY CHECK (id = 1),
    seq   BIGINT NOT NULL,
    hash  TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE audit_checkpoints (
    seq        BIGINT PRIMARY KEY,
    head_hash  TEXT NOT NULL,
    key_ref    TEXT NOT NULL,
    cert_der   BYTEA NOT NULL,
    scheme     TEXT NOT NULL,
    signature  BYTEA NOT NULL,
    at         BIGINT NOT NULL
);
