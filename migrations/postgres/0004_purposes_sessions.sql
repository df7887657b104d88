-- Trust first (PostgreSQL). Keep in step with migrations/sqlite.
-- Operators can be disabled: a disabled operator cannot log in and its sessions stop at once.
ALTER TABLE operators ADD COLUMN disabled_at BIGINT;
CREATE INDEX sessions_username ON sessions (username);

-- Each key ceremony, and whether it was a development one (`sealpki bench` runs only on those).
CREATE TABLE ceremonies (
    generation   BIGINT PRIMARY KEY,
    development  BIGINT NOT NULL CHECK (development IN (0, 1)),
    actor        TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);
-- Hierarchies made before this table existed are of unknown origin: counted as not development.
INSERT INTO ceremonies (generation, development, actor, created_at)
    SELECT DISTINCT generation, 0, 'migration', 0 FROM cas WHERE name = 'root';

-- Keys from `keys generate` were usable for document signing before purposes were enforced: they
-- keep that use as seal keys. Purposes are a closed set from here on (see KeyPurpose).
UPDATE keys SET purpose = 'seal' WHERE purpose = 'general';

-- CA, TSA, OCSP-responder and audit certificates come only from the ceremony and rollover.
UPDATE profiles SET body = body || chr(10) || 'requestable = "ceremony-only"' || chr(10)
    WHERE name IN ('root-ca', 'sub-ca', 'tsa', 'ocsp-responder', 'audit-signer')
      AND body NOT LIKE '%requestable%';
