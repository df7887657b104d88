-- Evidence names its audit-chain record (postgres). Keep in step with migrations/sqlite.
-- The pdf.sign entry of a sealing: its sequence number and hash, as the group committer answered
-- them before the evidence row was written. Rows from before this migration have none.
ALTER TABLE app_evidence ADD COLUMN audit_seq BIGINT;
ALTER TABLE app_evidence ADD COLUMN audit_hash TEXT;
