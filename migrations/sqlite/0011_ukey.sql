-- UKey seals (sqlite). Keep in step with the other backend.
-- One shipment per UKey application: the seal written to the holder's token and the receipt
-- challenge (its SHA-256 only; the holder sends the challenge back with the token's signature).
-- received_at is set once, when the holder confirms receipt; carrier and tracking are optional
-- (a courier's record, when a token was posted).
CREATE TABLE seal_shipments (
    application_id    TEXT PRIMARY KEY,
    seal_id           TEXT NOT NULL UNIQUE REFERENCES seals (id),
    challenge_sha256  TEXT NOT NULL,
    shipped_at        INTEGER NOT NULL,
    received_at       INTEGER,
    carrier           TEXT,
    tracking          TEXT
);
