-- Foundation schema (SQLite). Times are Unix seconds. Keep in step with migrations/postgres.
CREATE TABLE profiles (
    name        TEXT PRIMARY KEY,
    body        TEXT NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE cas (
    name        TEXT NOT NULL,
    generation  INTEGER NOT NULL,
    parent      TEXT,
    key_ref     TEXT NOT NULL,
    scheme      TEXT NOT NULL,
    cert_der    BLOB NOT NULL,
    serial      TEXT NOT NULL,
    active      INTEGER NOT NULL CHECK (active IN (0, 1)),
    created_at  INTEGER NOT NULL,
    CONSTRAINT cas_pk PRIMARY KEY (name, generation)
);

CREATE TABLE certificates (
    serial       TEXT NOT NULL,
    ca           TEXT NOT NULL,
    profile      TEXT NOT NULL,
    subject      TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('pending', 'issued')),
    not_before   INTEGER NOT NULL,
    not_after    INTEGER NOT NULL,
    tbs          BLOB NOT NULL,
    der          BLOB,
    fingerprint  TEXT,
    requested_by TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    issued_at    INTEGER,
    CONSTRAINT certificates_serial_key UNIQUE (serial)
);
CREATE INDEX certificates_created ON certificates (created_at, serial);
CREATE INDEX certificates_subject ON certificates (subject);

CREATE TABLE keys (
    key_ref     TEXT PRIMARY KEY,
    algorithm   TEXT NOT NULL,
    backend     TEXT NOT NULL,
    purpose     TEXT NOT NULL,
    public_key  BLOB NOT NULL,
    cert_serial TEXT,
    created_at  INTEGER NOT NULL
);

CREATE TABLE operators (
    username      TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'auditor')),
    created_at    INTEGER NOT NULL
);

CREATE TABLE sessions (
    token_hash  TEXT PRIMARY KEY,
    username    TEXT NOT NULL REFERENCES operators (username),
    expires_at  INTEGER NOT NULL
);

CREATE TABLE audit_log (
    seq        INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    detail     TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);

-- One row: the chain head. Appenders update it first, which serialises them (row lock in
-- PostgreSQL, the write lock in SQLite) so several instances keep one linear chain.
CREATE TABLE audit_head (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    seq   INTEGER NOT NULL,
    hash  TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE audit_checkpoints (
    seq        INTEGER PRIMARY KEY,
    head_hash  TEXT NOT NULL,
    key_ref    TEXT NOT NULL,
    cert_der   BLOB NOT NULL,
    scheme     TEXT NOT NULL,
    signature  BLOB NOT NULL,
    at         INTEGER NOT NULL
);
