-- Electronic seals (PostgreSQL). Keep in step with migrations/sqlite.
-- Applications are workflow records: org_id is the applying organisation and authority_id the
-- approving authority, as columns so lists by organisation and the reviewer's queue are indexed.
ALTER TABLE workflows ADD COLUMN org_id TEXT;
ALTER TABLE workflows ADD COLUMN authority_id TEXT;
CREATE INDEX workflows_org ON workflows (kind, org_id, created_at, id);
CREATE INDEX workflows_authority ON workflows (kind, authority_id, state, created_at, id);
CREATE INDEX workflows_creator ON workflows (created_by, created_at, id);

-- A seal name is unique across the whole system once folded (full-width forms, spaces): claimed by
-- the application that asks for it, in the transaction that creates it, and kept by the seal;
-- given back when the application is withdrawn.
CREATE TABLE seal_names (
    name_key     TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    workflow_id  TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);

-- One seal: code (13 digits, printed on the face), type, mode (cloud or ukey), state (parsed by
-- src/seals), the current key, certificate and GB/T 38540 structure; version for optimistic updates.
CREATE TABLE seals (
    id             TEXT PRIMARY KEY,
    code           TEXT NOT NULL UNIQUE,
    name           TEXT NOT NULL,
    name_key       TEXT NOT NULL UNIQUE,
    seal_type      TEXT NOT NULL,
    org_id         TEXT NOT NULL REFERENCES organisations (id),
    mode           TEXT NOT NULL CHECK (mode IN ('cloud', 'ukey')),
    state          TEXT NOT NULL,
    version        BIGINT NOT NULL CHECK (version >= 1),
    taxpayer       TEXT,
    key_ref        TEXT,
    cert_serial    TEXT NOT NULL,
    ses_der        BYTEA NOT NULL,
    picture_png    BYTEA NOT NULL,
    picture_svg    TEXT,
    valid_from     BIGINT NOT NULL,
    valid_until    BIGINT NOT NULL,
    application_id TEXT NOT NULL,
    created_by     TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);
CREATE INDEX seals_org ON seals (org_id, created_at, id);
CREATE INDEX seals_cert ON seals (cert_serial);
CREATE INDEX seals_application ON seals (application_id);
CREATE INDEX seals_valid_until ON seals (state, valid_until);

-- Every state change of a seal (and each new certificate), in the transaction that makes it.
CREATE TABLE seal_history (
    seal_id      TEXT NOT NULL REFERENCES seals (id),
    version      BIGINT NOT NULL,
    at           BIGINT NOT NULL,
    actor        TEXT NOT NULL,
    event        TEXT NOT NULL,
    from_state   TEXT,
    to_state     TEXT NOT NULL,
    cert_serial  TEXT NOT NULL,
    workflow_id  TEXT,
    audit_seq    BIGINT NOT NULL,
    PRIMARY KEY (seal_id, version)
);

-- The CRL refresher asks when each CA key's partition last changed (a full CRL older than that is
-- republished at the next refresh).
CREATE INDEX revocation_log_ca_part_at ON revocation_log (ca, part, at);
