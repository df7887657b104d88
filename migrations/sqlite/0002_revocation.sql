-- Revocation state, its change log (what delta CRLs list) and published CRLs (SQLite).
ALTER TABLE certificates ADD COLUMN revoked_at INTEGER;
ALTER TABLE certificates ADD COLUMN revocation_reason TEXT;

CREATE TABLE revocation_log (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    serial  TEXT NOT NULL,
    ca      TEXT NOT NULL,
    event   TEXT NOT NULL CHECK (event IN ('revoke', 'release')),
    reason  TEXT,
    at      INTEGER NOT NULL
);
CREATE INDEX revocation_log_ca ON revocation_log (ca, seq);

-- Full and delta CRLs share one number sequence per CA (RFC 5280 §5.2.3).
CREATE TABLE crl_counters (
    ca      TEXT PRIMARY KEY,
    number  INTEGER NOT NULL
);

CREATE TABLE crls (
    ca           TEXT NOT NULL,
    number       INTEGER NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('full', 'delta')),
    base         INTEGER,
    log_seq      INTEGER NOT NULL,
    this_update  INTEGER NOT NULL,
    next_update  INTEGER NOT NULL,
    der          BLOB NOT NULL,
    CONSTRAINT crls_pk PRIMARY KEY (ca, number)
);
