-- Jobs and notifications (PostgreSQL). Keep in step with migrations/sqlite.
-- The transactional outbox: a job is inserted in the transaction of the change that causes it, and
-- the worker of any instance claims due ones under a lease (locked_by, locked_until), so a job of an
-- instance that died mid-delivery is claimed again once its lease has run out. Times are Unix
-- seconds; kind and state are parsed strictly by src/jobs.
CREATE TABLE jobs (
    id               TEXT PRIMARY KEY,
    kind             TEXT NOT NULL,
    payload          TEXT NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('pending', 'running', 'done', 'dead')),
    attempts         BIGINT NOT NULL CHECK (attempts >= 0),
    max_attempts     BIGINT NOT NULL CHECK (max_attempts >= 1),
    next_attempt_at  BIGINT NOT NULL,
    locked_by        TEXT,
    locked_until     BIGINT,
    last_error       TEXT,
    created_at       BIGINT NOT NULL,
    finished_at      BIGINT,
    dedupe_key       TEXT,
    CONSTRAINT jobs_dedupe_key UNIQUE (dedupe_key)
);
-- The worker's claim: due pending jobs and running ones whose lease ran out.
CREATE INDEX jobs_due ON jobs (state, next_attempt_at);
CREATE INDEX jobs_lease ON jobs (state, locked_until);
-- The operators' list by state, newest first.
CREATE INDEX jobs_state_created ON jobs (state, created_at, id);

-- In-app notifications, one row per recipient and message, written by the worker for a
-- `notification` job: job_id is unique, so a job delivered twice (lease expired mid-delivery)
-- still makes one row.
CREATE TABLE notifications (
    id          TEXT PRIMARY KEY,
    recipient   TEXT NOT NULL,
    kind        TEXT NOT NULL,
    title       TEXT NOT NULL,
    body        TEXT NOT NULL,
    link        TEXT,
    created_at  BIGINT NOT NULL,
    read_at     BIGINT,
    job_id      TEXT,
    CONSTRAINT notifications_job_id UNIQUE (job_id)
);
CREATE INDEX notifications_recipient ON notifications (recipient, created_at, id);
