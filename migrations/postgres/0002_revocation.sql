-- Revocation state, its change log (what delta CRLs list) and published CRLs (PostgreSQL).
ALTER TABLE certificates ADD COLUMN revoked_at BIGINT;
ALTER TABLE certificates ADD COLUMN revocation_reason TEXT;

CREATE TABLE revocation_log (
    seq     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    serial  TEXT NOT NULL,
    ca      TEXT NOT NULL,
    event   TEXT NOT NULL CHECK (event IN ('revoke', 'release')),
    reason  TEXT,
    at      BIGINT NOT NULL
);
CREATE INDEX revocation_log_ca ON revocation_log (ca, seq);

-- Full and delta CRLs share one number sequence per CA (RFC 5280 §5.2.3).
CREATE TABLE crl_counters (
    ca      TEXT PRIMARY KEY,
    number  BIGINT NOT NULL
);

CREATE TABLE crls (
    ca           TEXT NOT NULL,
    number       BIGINT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('full', 'delta')),
    base         BIGINT,
    log_seq      BIGINT NOT NULL,
    this_update  BIGINT NOT NULL,
    next_update  BIGINT NOT NULL,
    der          BYTEA NOT NULL,
    CONSTRAINT crls_pk PRIMARY KEY (ca, number)
);
