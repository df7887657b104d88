//! Cloud-signing applications (migration 0012): the registry (`apps`), their credentials
//! (`app_credentials`: API keys with sealed secrets, client certificates by serial) and the nonces
//! of signed requests (`app_nonces`). States and kinds are stored as stable names and parsed
//! strictly by `src/apps`.

use sqlx::Row;

use super::{Store, StoreError, Tx};

/// One app as stored.
#[derive(Clone, Debug)]
pub struct AppRow {
    pub id: String,
    pub name: String,
    /// The folded name (`accounts::orgs::fold_name`): unique across the registry.
    pub name_key: String,
    pub kind: String,
    pub supervising_org_id: String,
    pub developer_org_id: String,
    /// The account that manages the app's credentials and callback URL.
    pub owner: String,
    /// JSON: the contacts as `apps::registry` writes them.
    pub contacts: String,
    pub callback_url: Option<String>,
    pub webhook_secret: Option<Vec<u8>>,
    pub state: String,
    pub rate_per_second: i64,
    pub daily_quota: Option<i64>,
    pub version: i64,
    pub created_by: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// One credential of an app as stored.
#[derive(Clone, Debug)]
pub struct CredentialRow {
    pub id: String,
    pub app_id: String,
    /// hmac-sha256, hmac-sm3 or certificate.
    pub kind: String,
    /// An API key's secret under `apps::secret_box` (never the secret itself).
    pub secret_sealed: Option<Vec<u8>>,
    /// A client certificate's serial (upper-case hex, as `certificates.serial`).
    pub cert_serial: Option<String>,
    pub label: Option<String>,
    /// active or revoked.
    pub state: String,
    pub created_by: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
    pub last_used_at: Option<i64>,
}

/// Which apps a search shows (all given conditions hold).
#[derive(Clone, Copy, Debug, Default)]
pub struct AppFilter<'a> {
    /// Folded name contains this (LIKE wildcards taken literally).
    pub name_key: Option<&'a str>,
    pub supervising_org_id: Option<&'a str>,
    pub developer_org_id: Option<&'a str>,
    /// Either unit (supervising or developer).
    pub any_org_id: Option<&'a str>,
    pub owner: Option<&'a str>,
    pub state: Option<&'a str>,
}

const APP_COLUMNS: &str = "id, name, name_key, kind, supervising_org_id, developer_org_id, owner, \
     contacts, callback_url, webhook_secret, state, rate_per_second, daily_quota, version, \
     created_by, created_at, updated_at";

fn app_row(r: &sqlx::any::AnyRow) -> Result<AppRow, StoreError> {
    Ok(AppRow {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        name_key: r.try_get(2)?,
        kind: r.try_get(3)?,
        supervising_org_id: r.try_get(4)?,
        developer_org_id: r.try_get(5)?,
        owner: r.try_get(6)?,
        contacts: r.try_get(7)?,
        callback_url: r.try_get(8)?,
        webhook_secret: r.try_get(9)?,
        state: r.try_get(10)?,
        rate_per_second: r.try_get(11)?,
        daily_quota: r.try_get(12)?,
        version: r.try_get(13)?,
        created_by: r.try_get(14)?,
        created_at: r.try_get(15)?,
        updated_at: r.try_get(16)?,
    })
}

const CREDENTIAL_COLUMNS: &str = "id, app_id, kind, secret_sealed, cert_serial, label, state, \
     created_by, created_at, revoked_at, last_used_at";

fn credential_row(r: &sqlx::any::AnyRow) -> Result<CredentialRow, StoreError> {
    Ok(CredentialRow {
        id: r.try_get(0)?,
        app_id: r.try_get(1)?,
        kind: r.try_get(2)?,
        secret_sealed: r.try_get(3)?,
        cert_serial: r.try_get(4)?,
        label: r.try_get(5)?,
        state: r.try_get(6)?,
        created_by: r.try_get(7)?,
        created_at: r.try_get(8)?,
        revoked_at: r.try_get(9)?,
        last_used_at: r.try_get(10)?,
    })
}

/// `%text%` for LIKE with `%`, `_` and `\` in the text taken literally (ESCAPE '\').
fn contains_pattern(text: &str) -> String {
    let mut p = String::with_capacity(text.len() + 2);
    p.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

impl Store {
    /// A new app; a name (folded) already registered is a `Conflict` naming `apps.name_key`.
    pub async fn app_insert(tx: &mut Tx<'_>, a: &AppRow) -> Result<(), StoreError> {
        sqlx::query(&format!(
            "INSERT INTO apps ({APP_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
             $11, $12, $13, $14, $15, $16, $17)"
        ))
        .bind(&a.id)
        .bind(&a.name)
        .bind(&a.name_key)
        .bind(&a.kind)
        .bind(&a.supervising_org_id)
        .bind(&a.developer_org_id)
        .bind(&a.owner)
        .bind(&a.contacts)
        .bind(a.callback_url.clone())
        .bind(a.webhook_secret.clone())
        .bind(&a.state)
        .bind(a.rate_per_second)
        .bind(a.daily_quota)
        .bind(a.version)
        .bind(&a.created_by)
        .bind(a.created_at)
        .bind(a.updated_at)
        .execute(&mut **tx)
        .await
        .map_err(StoreError::from_insert)?;
        Ok(())
    }

    pub async fn app_get(&self, id: &str) -> Result<Option<AppRow>, StoreError> {
        let r = sqlx::query(&format!("SELECT {APP_COLUMNS} FROM apps WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        r.as_ref().map(app_row).transpose()
    }

    /// The app in `tx` (what a change reads before it writes).
    pub async fn app_get_tx(tx: &mut Tx<'_>, id: &str) -> Result<Option<AppRow>, StoreError> {
        let r = sqlx::query(&format!("SELECT {APP_COLUMNS} FROM apps WHERE id = $1"))
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
        r.as_ref().map(app_row).transpose()
    }

    /// Apps matching `f`, newest first, after the cursor `(created_at, id)` of the page before.
    pub async fn app_find(
        &self,
        f: &AppFilter<'_>,
        before: Option<(i64, String)>,
        limit: i64,
    ) -> Result<Vec<AppRow>, StoreError> {
        let (at, id) = before.unwrap_or((i64::MAX, String::new()));
        let pattern = f.name_key.map(contains_pattern).unwrap_or_default();
        let rows = sqlx::query(&format!(
            "SELECT {APP_COLUMNS} FROM apps \
             WHERE ($1 = '' OR name_key LIKE $1 ESCAPE '\\') \
             AND ($2 = '' OR supervising_org_id = $2) \
             AND ($3 = '' OR developer_org_id = $3) \
             AND ($4 = '' OR supervising_org_id = $4 OR developer_org_id = $4) \
             AND ($5 = '' OR owner = $5) \
             AND ($6 = '' OR state = $6) \
             AND (created_at < $7 OR (created_at = $7 AND ($8 = '' OR id < $8))) \
             ORDER BY created_at DESC, id DESC LIMIT $9"
        ))
        .bind(pattern)
        .bind(f.supervising_org_id.unwrap_or(""))
        .bind(f.developer_org_id.unwrap_or(""))
        .bind(f.any_org_id.unwrap_or(""))
        .bind(f.owner.unwrap_or(""))
        .bind(f.state.unwrap_or(""))
        .bind(at)
        .bind(id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(app_row).collect()
    }

    /// Move an app to `state` if it is still at `version`; false when it changed meanwhile.
    pub async fn app_set_state(
        tx: &mut Tx<'_>,
        id: &str,
        version: i64,
        state: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        super::versioned_set(tx, "apps", "state", id, version, state, now).await
    }

    /// Replace an app's contacts (JSON) and callback URL if it is still at `version`.
    pub async fn app_set_details(
        tx: &mut Tx<'_>,
        id: &str,
        version: i64,
        contacts: &str,
        callback_url: Option<&str>,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE apps SET contacts = $1, callback_url = $2, version = version + 1, \
             updated_at = $3 WHERE id = $4 AND version = $5",
        )
        .bind(contacts)
        .bind(callback_url)
        .bind(now)
        .bind(id)
        .bind(version)
        .execute(&mut **tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// New limits for app `id` at `version`; false when the version moved on.
    pub async fn app_set_limits(
        tx: &mut Tx<'_>,
        id: &str,
        version: i64,
        rate_per_second: i64,
        daily_quota: Option<i64>,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE apps SET rate_per_second = $1, daily_quota = $2, version = version + 1, \
             updated_at = $3 WHERE id = $4 AND version = $5",
        )
        .bind(rate_per_second)
        .bind(daily_quota)
        .bind(now)
        .bind(id)
        .bind(version)
        .execute(&mut **tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// A new credential; a certificate serial already bound to one is a `Conflict`.
    pub async fn credential_insert(tx: &mut Tx<'_>, c: &CredentialRow) -> Result<(), StoreError> {
        sqlx::query(&format!(
            "INSERT INTO app_credentials ({CREDENTIAL_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, \
             $7, $8, $9, $10, $11)"
        ))
        .bind(&c.id)
        .bind(&c.app_id)
        .bind(&c.kind)
        .bind(c.secret_sealed.clone())
        .bind(c.cert_serial.clone())
        .bind(c.label.clone())
        .bind(&c.state)
        .bind(&c.created_by)
        .bind(c.created_at)
        .bind(c.revoked_at)
        .bind(c.last_used_at)
        .execute(&mut **tx)
        .await
        .map_err(StoreError::from_insert)?;
        Ok(())
    }

    /// An app's credentials, oldest first (revoked ones too; at most 1,000).
    pub async fn credentials_of(&self, app_id: &str) -> Result<Vec<CredentialRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {CREDENTIAL_COLUMNS} FROM app_credentials WHERE app_id = $1 \
             ORDER BY created_at, id LIMIT 1000"
        ))
        .bind(app_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(credential_row).collect()
    }

    /// An app's credentials in `tx` (what revoking the app revokes).
    pub async fn credentials_of_tx(
        tx: &mut Tx<'_>,
        app_id: &str,
    ) -> Result<Vec<CredentialRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {CREDENTIAL_COLUMNS} FROM app_credentials WHERE app_id = $1 \
             ORDER BY created_at, id"
        ))
        .bind(app_id)
        .fetch_all(&mut **tx)
        .await?;
        rows.iter().map(credential_row).collect()
    }

    /// How many active credentials an app has.
    pub async fn credential_count_active(&self, app_id: &str) -> Result<i64, StoreError> {
        let r = sqlx::query(
            "SELECT COUNT(*) FROM app_credentials WHERE app_id = $1 AND state = 'active'",
        )
        .bind(app_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(r.try_get(0)?)
    }

    pub async fn credential_get(&self, id: &str) -> Result<Option<CredentialRow>, StoreError> {
        let r = sqlx::query(&format!(
            "SELECT {CREDENTIAL_COLUMNS} FROM app_credentials WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        r.as_ref().map(credential_row).transpose()
    }

    /// The credential of a client certificate, by its serial (upper-case hex).
    pub async fn credential_by_serial(
        &self,
        serial: &str,
    ) -> Result<Option<CredentialRow>, StoreError> {
        let r = sqlx::query(&format!(
            "SELECT {CREDENTIAL_COLUMNS} FROM app_credentials WHERE cert_serial = $1"
        ))
        .bind(serial)
        .fetch_optional(&self.pool)
        .await?;
        r.as_ref().map(credential_row).transpose()
    }

    /// Revoke an active credential; false when it was revoked already (or is not there).
    pub async fn credential_revoke(
        tx: &mut Tx<'_>,
        id: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE app_credentials SET state = 'revoked', revoked_at = $1 \
             WHERE id = $2 AND state = 'active'",
        )
        .bind(now)
        .bind(id)
        .execute(&mut **tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Note that a credential was used (callers write this at most once a minute per credential).
    pub async fn credential_touch(&self, id: &str, now: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE app_credentials SET last_used_at = $1 WHERE id = $2")
            .bind(now)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Take nonces (app, nonce, until) at `now`, as few statements as the parameter limits
    /// allow: the ones taken. An expired row of the same nonce does not count, it is taken again
    /// (the upsert's WHERE); a live one is left alone, not returned: a replay. A nonce twice in
    /// `nonces` is taken once.
    pub async fn nonces_take(
        tx: &mut Tx<'_>,
        nonces: &[(&str, &str, i64)],
        now: i64,
    ) -> Result<std::collections::HashSet<(String, String)>, StoreError> {
        let mut seen = std::collections::HashSet::new();
        // One statement may not touch a row twice: repeats within the batch are left out.
        let unique: Vec<_> = nonces
            .iter()
            .filter(|(a, n, _)| seen.insert((*a, *n)))
            .collect();
        let mut taken = std::collections::HashSet::new();
        for chunk in unique.chunks(200) {
            let sql = format!(
                "INSERT INTO app_nonces (app_id, nonce, expires_at) VALUES {} \
                 ON CONFLICT (app_id, nonce) DO UPDATE SET expires_at = excluded.expires_at \
                 WHERE app_nonces.expires_at <= ${} RETURNING app_id, nonce",
                super::values_list(chunk.len(), 3),
                chunk.len() * 3 + 1
            );
            let mut q = sqlx::query(&sql);
            for (app_id, nonce, expires_at) in chunk {
                q = q.bind(*app_id).bind(*nonce).bind(*expires_at);
            }
            for r in q.bind(now).fetch_all(&mut **tx).await? {
                taken.insert((r.try_get(0)?, r.try_get(1)?));
            }
        }
        Ok(taken)
    }

    /// Delete nonces that expired before `now` (at most `limit` per call); how many went.
    pub async fn nonce_sweep(&self, now: i64, limit: i64) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "DELETE FROM app_nonces WHERE (app_id, nonce) IN \
             (SELECT app_id, nonce FROM app_nonces WHERE expires_at <= $1 LIMIT $2)",
        )
        .bind(now)
        .bind(limit)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_take_wildcards_literally() {
        assert_eq!(contains_pattern("a%b_c\\"), "%a\\%b\\_c\\\\%");
    }
}
