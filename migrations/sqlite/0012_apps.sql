-- Cloud-signing applications (SQLite). Keep in step with migrations/postgres.
-- An app is registered by platform staff under a supervising and a developer organisation; its
-- owner (an account) manages its credentials and callback. state is parsed by src/apps
-- (active, suspended, revoked); version for optimistic updates.
CREATE TABLE apps (
    id                  TEXT PRIMARY KEY,
    name                TEXT NOT NULL,
    name_key            TEXT NOT NULL UNIQUE,
    kind                TEXT NOT NULL CHECK (kind IN ('cloud-signing', 'ukey')),
    supervising_org_id  TEXT NOT NULL REFERENCES organisations (id),
    developer_org_id    TEXT NOT NULL REFERENCES organisations (id),
    owner               TEXT NOT NULL REFERENCES accounts (username),
    contacts            TEXT NOT NULL,
    callback_url        TEXT,
    webhook_secret      BLOB,
    state               TEXT NOT NULL,
    rate_per_second     INTEGER NOT NULL,
    daily_quota         INTEGER,
    version             INTEGER NOT NULL CHECK (version >= 1),
    created_by          TEXT NOT NULL,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
);
CREATE INDEX apps_created ON apps (created_at, id);
CREATE INDEX apps_supervising ON apps (supervising_org_id, created_at, id);
CREATE INDEX apps_developer ON apps (developer_org_id, created_at, id);
CREATE INDEX apps_owner ON apps (owner, created_at, id);

-- An app's credentials, several at once so keys rotate: API keys (kind hmac-sha256 or hmac-sm3,
-- the secret sealed at rest) and client certificates from the service CA (kind certificate, the
-- certificate's serial). Revoked credentials stay for the record.
CREATE TABLE app_credentials (
    id            TEXT PRIMARY KEY,
    app_id        TEXT NOT NULL REFERENCES apps (id),
    kind          TEXT NOT NULL CHECK (kind IN ('hmac-sha256', 'hmac-sm3', 'certificate')),
    secret_sealed BLOB,
    cert_serial   TEXT UNIQUE,
    label         TEXT,
    state         TEXT NOT NULL CHECK (state IN ('active', 'revoked')),
    created_by    TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    revoked_at    INTEGER,
    last_used_at  INTEGER
);
CREATE INDEX app_credentials_app ON app_credentials (app_id, created_at, id);

-- Nonces of signed requests, single use while their timestamp is inside the window; rows past
-- expires_at are swept.
CREATE TABLE app_nonces (
    app_id      TEXT NOT NULL,
    nonce       TEXT NOT NULL,
    expires_at  INTEGER NOT NULL,
    PRIMARY KEY (app_id, nonce)
);
CREATE INDEX app_nonces_expiry ON app_nonces (expires_at);
