-- What every app sealing reads and writes, made cheap (postgres). Keep in step with
-- migrations/sqlite. PostgreSQL keeps a seal's large values out of line already; the same
-- covering index as SQLite's lets the in-force check be an index-only scan.
CREATE INDEX seals_in_force ON seals (id, state, valid_until, mode, code);
-- Each sealing counts a use on its grant row. With the signed credential (~2 KB) in line, a
-- row nearly fills its share of a page, so every count wrote a new row version elsewhere and a
-- new entry in every index, and the in-force check waded through them. The credential goes out
-- of line (it is never changed by a count) and pages keep room, so counts are HOT updates.
ALTER TABLE app_grants ALTER COLUMN credential SET STORAGE EXTERNAL;
ALTER TABLE app_grants SET (fillfactor = 70, toast_tuple_target = 128);
