-- The in-force check of every app sealing reads a seal's state, validity, mode and code (sqlite).
-- Keep in step with migrations/postgres. A seal row carries its SES and pictures (~300 KB), and
-- SQLite reaches columns stored after them only by walking the overflow pages; this covering
-- index answers the check from the index alone.
CREATE INDEX seals_in_force ON seals (id, state, valid_until, mode, code);
