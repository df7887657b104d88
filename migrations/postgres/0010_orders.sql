-- Payment for seal applications (PostgreSQL). Keep in step with migrations/sqlite.

-- A person's shipping addresses (UKey seals are posted). The mobile number is personal data:
-- stored for the courier, shown masked, never logged.
CREATE TABLE shipping_addresses (
    id          TEXT PRIMARY KEY,
    owner       TEXT NOT NULL,
    recipient   TEXT NOT NULL,
    mobile      TEXT NOT NULL,
    region      TEXT NOT NULL,
    detail      TEXT NOT NULL,
    is_default  BIGINT NOT NULL CHECK (is_default IN (0, 1)),
    created_at  BIGINT NOT NULL
);
CREATE INDEX shipping_addresses_owner ON shipping_addresses (owner, created_at, id);

-- A government body that pays for the applications of organisations in its region (统一支付):
-- region is a GB/T 2260 code; a province's or prefecture's code covers the codes below it.
CREATE TABLE unified_payers (
    id            TEXT PRIMARY KEY,
    payer_org_id  TEXT NOT NULL REFERENCES organisations (id),
    region        TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    UNIQUE (payer_org_id, region)
);

-- One order per application. State (created, paid, cancelled, refunded) is parsed by
-- src/payments; version for guarded updates. The shipping address is copied in when the order
-- is made, so the order keeps where it was sent even if the address book changes.
CREATE TABLE orders (
    id              TEXT PRIMARY KEY,
    application_id  TEXT NOT NULL UNIQUE,
    org_id          TEXT NOT NULL REFERENCES organisations (id),
    created_by      TEXT NOT NULL,
    payer           TEXT NOT NULL CHECK (payer IN ('self', 'unified')),
    payer_org_id    TEXT REFERENCES organisations (id),
    amount_fen      BIGINT NOT NULL CHECK (amount_fen >= 0),
    state           TEXT NOT NULL,
    version         BIGINT NOT NULL CHECK (version >= 1),
    invoice_title   TEXT,
    taxpayer        TEXT,
    address_id      TEXT,
    ship_recipient  TEXT,
    ship_mobile     TEXT,
    ship_region     TEXT,
    ship_detail     TEXT,
    logistics_no    TEXT,
    provider        TEXT,
    provider_ref    TEXT UNIQUE,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    paid_at         BIGINT
);
CREATE INDEX orders_creator ON orders (created_by, created_at, id);
CREATE INDEX orders_org ON orders (org_id, created_at, id);
