//! CAs, key metadata, profiles, platform roles and key ceremonies.

use sqlx::Row;

use super::{Store, StoreError, Tx};

#[derive(Clone, Debug)]
pub struct CaRow {
    pub name: String,
    /// Names the key's status scope: CRL and OCSP URLs, `certificates.ca_key`.
    pub label: String,
    pub generation: i64,
    pub parent: Option<String>,
    pub key_ref: String,
    pub scheme: String,
    pub cert_der: Vec<u8>,
    pub serial: String,
    /// Issues new certificates (one key per CA name).
    pub active: bool,
    /// Publishes CRLs and answers OCSP for what it issued (active keys, and keys retired by rollover).
    pub serving: bool,
    pub created_at: i64,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct KeyRow {
    pub key_ref: String,
    pub algorithm: String,
    pub backend: String,
    pub purpose: KeyPurpose,
    #[serde(skip)]
    pub public_key: Vec<u8>,
    pub cert_serial: Option<String>,
    pub created_at: i64,
}

/// What a stored key is for: a closed set, fixed when the key is made, read strictly from the store.
/// Stored as text: `ca:NAME`, `tsa`, `ocsp:LABEL`, `audit`, `seal`, `maker`, `general`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyPurpose {
    /// The signing key of CA `NAME` (root, seal, …): certificates and CRLs.
    Ca(String),
    /// The time-stamping unit.
    Tsa,
    /// The delegated OCSP responder of the CA key labelled `LABEL`.
    Ocsp(String),
    /// Signs audit checkpoints.
    Audit,
    /// Document signing: PDF (PAdES) signatures and GB/T 38540 seal signatures.
    Seal,
    /// A seal maker's production key: makes GB/T 38540 seals (`ses make`).
    Maker,
    /// Anything else a certificate is issued for (TLS, clients, devices); never signs documents.
    General,
}

impl KeyPurpose {
    /// Purposes `keys generate` may give; the others are made only by the ceremony and rollover.
    pub const GENERATED: [&'static str; 3] = ["seal", "maker", "general"];

    pub fn parse(s: &str) -> Option<Self> {
        let label = |l: &str| {
            (!l.is_empty()
                && l.len() <= 64
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'))
            .then(|| l.to_string())
        };
        match s {
            "tsa" => Some(KeyPurpose::Tsa),
            "audit" => Some(KeyPurpose::Audit),
            "seal" => Some(KeyPurpose::Seal),
            "maker" => Some(KeyPurpose::Maker),
            "general" => Some(KeyPurpose::General),
            _ => {
                if let Some(n) = s.strip_prefix("ca:") {
                    label(n).map(KeyPurpose::Ca)
                } else if let Some(n) = s.strip_prefix("ocsp:") {
                    label(n).map(KeyPurpose::Ocsp)
                } else {
                    None
                }
            }
        }
    }

    /// A purpose `keys generate --purpose` accepts.
    pub fn generated(s: &str) -> Option<Self> {
        Self::GENERATED
            .contains(&s)
            .then(|| Self::parse(s))
            .flatten()
    }

    /// Keys that carry the authority's own powers (CA, TSA, OCSP, audit).
    pub fn is_authority(&self) -> bool {
        matches!(
            self,
            KeyPurpose::Ca(_) | KeyPurpose::Tsa | KeyPurpose::Ocsp(_) | KeyPurpose::Audit
        )
    }

    /// What the purpose is, for messages: "a CA key (ca:root)".
    pub fn describe(&self) -> String {
        let what = match self {
            KeyPurpose::Ca(_) => "a CA key",
            KeyPurpose::Tsa => "the time-stamping key",
            KeyPurpose::Ocsp(_) => "an OCSP responder key",
            KeyPurpose::Audit => "the audit key",
            KeyPurpose::Seal => "a seal key",
            KeyPurpose::Maker => "a seal maker's key",
            KeyPurpose::General => "a general-purpose key",
        };
        format!("{what} ({self})")
    }
}

impl std::fmt::Display for KeyPurpose {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyPurpose::Ca(n) => write!(f, "ca:{n}"),
            KeyPurpose::Tsa => f.write_str("tsa"),
            KeyPurpose::Ocsp(l) => write!(f, "ocsp:{l}"),
            KeyPurpose::Audit => f.write_str("audit"),
            KeyPurpose::Seal => f.write_str("seal"),
            KeyPurpose::Maker => f.write_str("maker"),
            KeyPurpose::General => f.write_str("general"),
        }
    }
}

impl serde::Serialize for KeyPurpose {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// What an operator may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything, including operator management.
    Admin,
    /// Issue and read certificates.
    Operator,
    /// Read certificates and the audit log.
    Auditor,
    /// A registered person without a platform role: what it may do comes from its memberships.
    Person,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Operator => "operator",
            Role::Auditor => "auditor",
            Role::Person => "person",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(Role::Admin),
            "operator" => Some(Role::Operator),
            "auditor" => Some(Role::Auditor),
            "person" => Some(Role::Person),
            _ => None,
        }
    }
}

impl Store {
    pub async fn ca_insert(tx: &mut Tx<'_>, c: &CaRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO cas (name, generation, parent, key_ref, scheme, cert_der, serial, active, created_at, label, serving) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&c.name)
        .bind(c.generation)
        .bind(c.parent.clone())
        .bind(&c.key_ref)
        .bind(&c.scheme)
        .bind(&c.cert_der)
        .bind(&c.serial)
        .bind(i32::from(c.active))
        .bind(c.created_at)
        .bind(&c.label)
        .bind(i32::from(c.serving))
        .execute(&mut **tx)
        .await
        .map_err(StoreError::from_insert)?;
        Ok(())
    }

    pub async fn ca_next_generation(&self) -> Result<i64, StoreError> {
        let r = sqlx::query("SELECT COALESCE(MAX(generation), 0) FROM cas")
            .fetch_one(&self.pool)
            .await?;
        Ok(r.try_get::<i64, _>(0)? + 1)
    }

    /// Retire every active CA (a forced re-run of the ceremony); returns the next generation number.
    pub async fn ca_retire_all(tx: &mut Tx<'_>) -> Result<i64, StoreError> {
        sqlx::query("UPDATE cas SET active = 0, serving = 0 WHERE active = 1 OR serving = 1")
            .execute(&mut **tx)
            .await?;
        let r = sqlx::query("SELECT COALESCE(MAX(generation), 0) FROM cas")
            .fetch_one(&mut **tx)
            .await?;
        let max: i64 = r.try_get(0)?;
        Ok(max + 1)
    }

    /// Rollover: `name`'s active key stops issuing (it keeps serving status) and `new` takes over.
    pub async fn ca_rollover(tx: &mut Tx<'_>, new: &CaRow) -> Result<(), StoreError> {
        sqlx::query("UPDATE cas SET active = 0 WHERE name = $1 AND active = 1")
            .bind(&new.name)
            .execute(&mut **tx)
            .await?;
        Self::ca_insert(tx, new).await
    }

    /// CA keys that serve status (active ones and those retired by rollover), oldest first.
    pub async fn ca_serving(&self) -> Result<Vec<CaRow>, StoreError> {
        self.ca_list(true).await
    }

    /// CAs of every generation (`serving_only = false`) or the serving ones.
    pub async fn ca_list(&self, serving_only: bool) -> Result<Vec<CaRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT name, generation, parent, key_ref, scheme, cert_der, serial, active, created_at, label, serving FROM cas \
             WHERE serving = 1 OR $1 = 0 ORDER BY generation, name",
        )
        .bind(i32::from(serving_only))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(CaRow {
                    name: r.try_get(0)?,
                    generation: r.try_get(1)?,
                    parent: r.try_get(2)?,
                    key_ref: r.try_get(3)?,
                    scheme: r.try_get(4)?,
                    cert_der: r.try_get(5)?,
                    serial: r.try_get(6)?,
                    active: r.try_get::<i32, _>(7)? == 1,
                    created_at: r.try_get(8)?,
                    label: r.try_get(9)?,
                    serving: r.try_get::<i32, _>(10)? == 1,
                })
            })
            .collect()
    }

    pub async fn key_insert(tx: &mut Tx<'_>, k: &KeyRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO keys (key_ref, algorithm, backend, purpose, public_key, cert_serial, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&k.key_ref)
        .bind(&k.algorithm)
        .bind(&k.backend)
        .bind(k.purpose.to_string())
        .bind(&k.public_key)
        .bind(k.cert_serial.clone())
        .bind(k.created_at)
        .execute(&mut **tx)
        .await
        .map_err(StoreError::from_insert)?;
        Ok(())
    }

    pub async fn key_list(&self) -> Result<Vec<KeyRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {KEY_COLUMNS} FROM keys ORDER BY created_at, key_ref"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(key_row).collect()
    }

    /// One registered key by reference.
    pub async fn key_get(&self, key_ref: &str) -> Result<Option<KeyRow>, StoreError> {
        let r = sqlx::query(&format!(
            "SELECT {KEY_COLUMNS} FROM keys WHERE key_ref = $1"
        ))
        .bind(key_ref)
        .fetch_optional(&self.pool)
        .await?;
        r.as_ref().map(key_row).transpose()
    }

    /// Record the certificate a registered key was certified with.
    pub async fn key_set_cert(
        tx: &mut Tx<'_>,
        key_ref: &str,
        serial: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE keys SET cert_serial = $1 WHERE key_ref = $2")
            .bind(serial)
            .bind(key_ref)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Forget a key that was destroyed (a production undone).
    pub async fn key_delete(&self, key_ref: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM keys WHERE key_ref = $1")
            .bind(key_ref)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn profile_upsert(
        tx: &mut Tx<'_>,
        name: &str,
        body: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO profiles (name, body, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at",
        )
        .bind(name)
        .bind(body)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    pub async fn profile_all(&self) -> Result<Vec<(String, String)>, StoreError> {
        let rows = sqlx::query("SELECT name, body FROM profiles ORDER BY name")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    }

    /// Record a key ceremony and whether it was a development one.
    pub async fn ceremony_insert(
        tx: &mut Tx<'_>,
        generation: i64,
        development: bool,
        actor: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO ceremonies (generation, development, actor, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(generation)
        .bind(i32::from(development))
        .bind(actor)
        .bind(now)
        .execute(&mut **tx)
        .await
        .map_err(StoreError::from_insert)?;
        Ok(())
    }

    /// Whether the newest key ceremony was a development one (false when there was none).
    pub async fn ceremony_latest_is_development(&self) -> Result<bool, StoreError> {
        let r = sqlx::query(
            "SELECT COUNT(*) FROM ceremonies WHERE development = 1 \
             AND generation = (SELECT MAX(generation) FROM ceremonies)",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(r.try_get::<i64, _>(0)? > 0)
    }
}

const KEY_COLUMNS: &str =
    "key_ref, algorithm, backend, purpose, public_key, cert_serial, created_at";

fn key_row(r: &sqlx::any::AnyRow) -> Result<KeyRow, StoreError> {
    Ok(KeyRow {
        key_ref: r.try_get(0)?,
        algorithm: r.try_get(1)?,
        backend: r.try_get(2)?,
        purpose: {
            let p: String = r.try_get(3)?;
            KeyPurpose::parse(&p)
                .ok_or_else(|| StoreError::Corrupt(format!("key purpose {p:?}")))?
        },
        public_key: r.try_get(4)?,
        cert_serial: r.try_get(5)?,
        created_at: r.try_get(6)?,
    })
}
