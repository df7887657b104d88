//! CAs, key metadata, profiles, operators and their sessions.

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
    pub purpose: String,
    #[serde(skip)]
    pub public_key: Vec<u8>,
    pub cert_serial: Option<String>,
    pub created_at: i64,
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
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Operator => "operator",
            Role::Auditor => "auditor",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(Role::Admin),
            "operator" => Some(Role::Operator),
            "auditor" => Some(Role::Auditor),
            _ => None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct OperatorRow {
    pub username: String,
    pub password_hash: String,
    pub role: Role,
}

fn operator_row(r: &sqlx::any::AnyRow) -> Result<OperatorRow, StoreError> {
    let role: String = r.try_get(2)?;
    Ok(OperatorRow {
        username: r.try_get(0)?,
        password_hash: r.try_get(1)?,
        role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("role {role:?}")))?,
    })
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
        .bind(&k.purpose)
        .bind(&k.public_key)
        .bind(k.cert_serial.clone())
        .bind(k.created_at)
        .execute(&mut **tx)
        .await
        .map_err(StoreError::from_insert)?;
        Ok(())
    }

    pub async fn key_list(&self) -> Result<Vec<KeyRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT key_ref, algorithm, backend, purpose, public_key, cert_serial, created_at FROM keys ORDER BY created_at, key_ref",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(KeyRow {
                    key_ref: r.try_get(0)?,
                    algorithm: r.try_get(1)?,
                    backend: r.try_get(2)?,
                    purpose: r.try_get(3)?,
                    public_key: r.try_get(4)?,
                    cert_serial: r.try_get(5)?,
                    created_at: r.try_get(6)?,
                })
            })
            .collect()
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

    pub async fn operator_insert(
        tx: &mut Tx<'_>,
        o: &OperatorRow,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO operators (username, password_hash, role, created_at) VALUES ($1, $2, $3, $4)")
            .bind(&o.username)
            .bind(&o.password_hash)
            .bind(o.role.as_str())
            .bind(now)
            .execute(&mut **tx)
            .await
            .map_err(StoreError::from_insert)?;
        Ok(())
    }

    pub async fn operator_get(&self, username: &str) -> Result<Option<OperatorRow>, StoreError> {
        let r =
            sqlx::query("SELECT username, password_hash, role FROM operators WHERE username = $1")
                .bind(username)
                .fetch_optional(&self.pool)
                .await?;
        r.as_ref().map(operator_row).transpose()
    }

    pub async fn operator_count(&self) -> Result<i64, StoreError> {
        let r = sqlx::query("SELECT COUNT(*) FROM operators")
            .fetch_one(&self.pool)
            .await?;
        Ok(r.try_get(0)?)
    }

    pub async fn session_insert(
        tx: &mut Tx<'_>,
        token_hash: &str,
        username: &str,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO sessions (token_hash, username, expires_at) VALUES ($1, $2, $3)")
            .bind(token_hash)
            .bind(username)
            .bind(expires_at)
            .execute(&mut **tx)
            .await
            .map_err(StoreError::from_insert)?;
        Ok(())
    }

    /// The operator behind a live session token hash.
    pub async fn session_operator(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<OperatorRow>, StoreError> {
        let r = sqlx::query(
            "SELECT o.username, o.password_hash, o.role FROM sessions s JOIN operators o ON o.username = s.username \
             WHERE s.token_hash = $1 AND s.expires_at > $2",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        r.as_ref().map(operator_row).transpose()
    }
}
