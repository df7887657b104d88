-- Accounts and organisations (PostgreSQL). Keep in step with migrations/sqlite.
-- The operators become staff accounts in one table with the people who register: `role` is the
-- platform role (admin, operator, auditor) or 'person' (no platform role; what a person may do in an
-- organisation comes from `memberships`). People's numbers are personal data: stored for the record,
-- shown masked, never logged. Usernames of people are generated (never their mobile number).
CREATE TABLE accounts (
    username            TEXT PRIMARY KEY,
    password_hash       TEXT NOT NULL,
    role                TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'auditor', 'person')),
    created_at          BIGINT NOT NULL,
    disabled_at         BIGINT,
    real_name           TEXT,
    resident_id         TEXT UNIQUE,
    mobile              TEXT UNIQUE,
    email               TEXT,
    lang                TEXT NOT NULL DEFAULT 'zh-CN',
    -- RFC 6238: the confirmed secret (base32), one awaiting confirmation, the last step accepted.
    totp_secret         TEXT,
    totp_pending        TEXT,
    totp_last_step      BIGINT,
    password_changed_at BIGINT NOT NULL
);
INSERT INTO accounts (username, password_hash, role, created_at, disabled_at, password_changed_at)
    SELECT username, password_hash, role, created_at, disabled_at, created_at FROM operators;

-- Sessions: bearer tokens for programs and browser sessions behind a cookie, both by SHA-256 of the
-- secret; `id` is a public handle for listing and revoking. `stage` is 'full', or 'totp-enrolment'
-- for a staff account that must set up its second factor before it may do anything else.
CREATE TABLE sessions_new (
    token_hash   TEXT PRIMARY KEY,
    id           TEXT NOT NULL UNIQUE,
    username     TEXT NOT NULL REFERENCES accounts (username),
    kind         TEXT NOT NULL CHECK (kind IN ('bearer', 'browser')),
    stage        TEXT NOT NULL CHECK (stage IN ('full', 'totp-enrolment')),
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    client_ip    TEXT,
    user_agent   TEXT
);
INSERT INTO sessions_new (token_hash, id, username, kind, stage, created_at, last_seen_at, expires_at)
    SELECT token_hash, substr(token_hash, 1, 16), username, 'bearer', 'full', 0, 0, expires_at FROM sessions;
DROP TABLE sessions;
ALTER TABLE sessions_new RENAME TO sessions;
CREATE INDEX sessions_username ON sessions (username);
DROP TABLE operators;

-- One-time codes sent by SMS (registration, password reset): only a hash of the code is kept; a code
-- is good for `expires_at`, a few attempts, and once.
CREATE TABLE sms_codes (
    id          TEXT PRIMARY KEY,
    mobile      TEXT NOT NULL,
    purpose     TEXT NOT NULL CHECK (purpose IN ('register', 'reset')),
    code_hash   TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    attempts    BIGINT NOT NULL DEFAULT 0,
    used_at     BIGINT
);
CREATE INDEX sms_codes_mobile ON sms_codes (mobile, purpose, created_at);

-- Organisations in a tree (parent = the supervising / approving authority), by unified social credit
-- code; `name_key` is the name with full-width forms and spaces folded, for uniqueness and look-up.
CREATE TABLE organisations (
    id          TEXT PRIMARY KEY,
    credit_code TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    name_key    TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL,
    region      TEXT NOT NULL,
    parent_id   TEXT REFERENCES organisations (id),
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX organisations_parent ON organisations (parent_id);
CREATE INDEX organisations_region ON organisations (region);

-- Who holds which role in which organisation.
CREATE TABLE memberships (
    org_id      TEXT NOT NULL REFERENCES organisations (id),
    username    TEXT NOT NULL REFERENCES accounts (username),
    role        TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (org_id, username, role)
);
CREATE INDEX memberships_username ON memberships (username);
