-- Seal administrators' authorizations of cloud-signing apps (SQLite). Keep in step with
-- migrations/postgres.
-- One grant lets one app seal with one seal from valid_from until valid_until (at most three
-- years), optionally at most use_limit times. state is parsed by src/apps/grants.rs (granted,
-- effective, withdrawn, expired); version for optimistic updates. credential is the signed
-- app-authorization credential (COSE_Sign1) and cti its id (hex), named by a revocation entry
-- when the grant is withdrawn.
CREATE TABLE app_grants (
    id            TEXT PRIMARY KEY,
    app_id        TEXT NOT NULL REFERENCES apps (id),
    seal_id       TEXT NOT NULL REFERENCES seals (id),
    role          TEXT NOT NULL,
    granted_by    TEXT NOT NULL,
    valid_from    INTEGER NOT NULL,
    valid_until   INTEGER NOT NULL,
    use_limit     INTEGER CHECK (use_limit IS NULL OR use_limit > 0),
    uses          INTEGER NOT NULL DEFAULT 0 CHECK (uses >= 0),
    state         TEXT NOT NULL,
    credential    BLOB NOT NULL,
    cti           TEXT NOT NULL UNIQUE,
    version       INTEGER NOT NULL CHECK (version >= 1),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    ended_at      INTEGER,
    ended_by      TEXT,
    CHECK (valid_until > valid_from),
    CHECK (valid_until - valid_from <= 94694400)
);
-- At most one live grant per app and seal: a withdrawn or expired one stays for the record.
CREATE UNIQUE INDEX app_grants_live ON app_grants (app_id, seal_id)
    WHERE state IN ('granted', 'effective');
CREATE INDEX app_grants_app ON app_grants (app_id, created_at, id);
CREATE INDEX app_grants_seal ON app_grants (seal_id, created_at, id);
CREATE INDEX app_grants_sweep ON app_grants (state, valid_until);

-- What happened to an app's grants (granted, effective, expiring, expired, withdrawn), for the
-- app: the webhook deliveries read these. dedupe_key makes a sweep's event once.
CREATE TABLE app_events (
    id            TEXT PRIMARY KEY,
    app_id        TEXT NOT NULL REFERENCES apps (id),
    kind          TEXT NOT NULL,
    grant_id      TEXT,
    seal_id       TEXT,
    payload       TEXT NOT NULL,
    dedupe_key    TEXT UNIQUE,
    created_at    INTEGER NOT NULL
);
CREATE INDEX app_events_app ON app_events (app_id, created_at, id);

-- Revocation entries of signed credentials whose kind is revoked so (credential::kind
-- Revocation::RevocationEntry): the credential's cti (hex) and kind, when and why.
CREATE TABLE credential_revocations (
    cti           TEXT PRIMARY KEY,
    kind          TEXT NOT NULL,
    revoked_at    INTEGER NOT NULL,
    reason        TEXT NOT NULL,
    revoked_by    TEXT NOT NULL
);
