-- CA rollover and partitioned CRLs (PostgreSQL). Keep in step with migrations/sqlite.
-- A CA key's label names its status scope (CRLs, OCSP, URLs): the CA name for a ceremony key,
-- NAME-gN for a key made by rollover. `serving` keys still publish CRLs and answer OCSP for what
-- they issued after a newer key took over issuing (`active`).
ALTER TABLE cas ADD COLUMN label TEXT NOT NULL DEFAULT '';
UPDATE cas SET label = name;
ALTER TABLE cas ADD COLUMN serving BIGINT NOT NULL DEFAULT 0 CHECK (serving IN (0, 1));
UPDATE cas SET serving = active;

-- The key (label) that signed a certificate and the CRL partition its distribution point names.
ALTER TABLE certificates ADD COLUMN ca_key TEXT NOT NULL DEFAULT '';
UPDATE certificates SET ca_key = ca;
ALTER TABLE certificates ADD COLUMN crl_part BIGINT NOT NULL DEFAULT 0;
CREATE INDEX certificates_ca_key ON certificates (ca_key, crl_part);

ALTER TABLE revocation_log ADD COLUMN part BIGINT NOT NULL DEFAULT 0;
ALTER TABLE crls ADD COLUMN part BIGINT NOT NULL DEFAULT 0;
CREATE INDEX crls_latest ON crls (ca, part, kind, number);
