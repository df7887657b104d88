-- Uploaded files (PostgreSQL). Keep in step with migrations/sqlite.
-- One row per upload; the content lives in the object store under its SHA-256, shared by every row
-- with the same hash. media_type and purpose are stable names parsed strictly by src/files.
CREATE TABLE files (
    id             TEXT PRIMARY KEY,
    sha256         TEXT NOT NULL CHECK (length(sha256) = 64),
    size           BIGINT NOT NULL CHECK (size > 0),
    media_type     TEXT NOT NULL,
    purpose        TEXT NOT NULL,
    original_name  TEXT NOT NULL,
    uploaded_by    TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    owner_kind     TEXT,
    owner_id       TEXT,
    CONSTRAINT files_owner_whole CHECK ((owner_kind IS NULL) = (owner_id IS NULL))
);
CREATE INDEX files_sha256 ON files (sha256);
CREATE INDEX files_owner ON files (owner_kind, owner_id);
CREATE INDEX files_uploaded_by ON files (uploaded_by, created_at);
