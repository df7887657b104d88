//! Certificate rows: the pending intent recorded before signing, the result after, and queries.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::{Store, StoreError, Tx};

/// Where an issuance stands. A row is written `Pending` before the key signs and becomes `Issued`
/// in a second transaction; a crash in between leaves a visible `Pending` row, never a gap.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CertState {
    Pending,
    Issued,
}

impl CertState {
    fn as_str(self) -> &'static str {
        match self {
            CertState::Pending => "pending",
            CertState::Issued => "issued",
        }
    }
    fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "pending" => Ok(CertState::Pending),
            "issued" => Ok(CertState::Issued),
            other => Err(StoreError::Corrupt(format!("certificate state {other:?}"))),
        }
    }
}

/// The record of an intent to issue, written before the key signs.
#[derive(Clone, Debug)]
pub struct PendingCert {
    pub serial: String,
    pub ca: String,
    /// Label of the CA key that signs it (its status scope) and the CRL partition it names.
    pub ca_key: String,
    pub crl_part: i64,
    pub profile: String,
    pub subject: String,
    pub not_before: i64,
    pub not_after: i64,
    pub tbs: Vec<u8>,
    pub requested_by: String,
}

#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
#[schema(as = CertificateRecord)]
pub struct CertRow {
    pub serial: String,
    pub ca: String,
    pub ca_key: String,
    pub crl_part: i64,
    pub profile: String,
    pub subject: String,
    pub state: CertState,
    pub not_before: i64,
    pub not_after: i64,
    #[serde(skip)]
    pub der: Option<Vec<u8>>,
    pub fingerprint: Option<String>,
    pub requested_by: String,
    pub created_at: i64,
    pub issued_at: Option<i64>,
}

#[derive(Clone, Debug, Default)]
pub struct CertFilter {
    pub ca: Option<String>,
    pub profile: Option<String>,
    /// Substring of the subject DN.
    pub subject: Option<String>,
    pub state: Option<CertState>,
    /// Keyset cursor: rows strictly after (created_at, serial).
    pub after: Option<(i64, String)>,
    pub limit: i64,
}

const COLUMNS: &str =
    "serial, ca, profile, subject, state, not_before, not_after, der, fingerprint, requested_by, created_at, issued_at, ca_key, crl_part";

fn row(r: &AnyRow) -> Result<CertRow, StoreError> {
    Ok(CertRow {
        serial: r.try_get(0)?,
        ca: r.try_get(1)?,
        profile: r.try_get(2)?,
        subject: r.try_get(3)?,
        state: CertState::parse(&r.try_get::<String, _>(4)?)?,
        not_before: r.try_get(5)?,
        not_after: r.try_get(6)?,
        der: r.try_get(7)?,
        fingerprint: r.try_get(8)?,
        requested_by: r.try_get(9)?,
        created_at: r.try_get(10)?,
        issued_at: r.try_get(11)?,
        ca_key: r.try_get(12)?,
        crl_part: r.try_get(13)?,
    })
}

impl Store {
    /// Record the intent to issue. Fails with `Conflict("certificates_serial_key")` on a repeated serial.
    pub async fn cert_insert_pending(
        tx: &mut Tx<'_>,
        c: &PendingCert,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO certificates (serial, ca, profile, subject, state, not_before, not_after, tbs, requested_by, created_at, ca_key, crl_part) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(&c.serial)
        .bind(&c.ca)
        .bind(&c.profile)
        .bind(&c.subject)
        .bind(CertState::Pending.as_str())
        .bind(c.not_before)
        .bind(c.not_after)
        .bind(&c.tbs)
        .bind(&c.requested_by)
        .bind(now)
        .bind(&c.ca_key)
        .bind(c.crl_part)
        .execute(&mut **tx)
        .await
        .map_err(StoreError::from_insert)?;
        Ok(())
    }

    /// Pending → issued. Returns false if the row was not pending (nothing changed).
    pub async fn cert_mark_issued(
        tx: &mut Tx<'_>,
        serial: &str,
        der: &[u8],
        fingerprint: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE certificates SET state = $1, der = $2, fingerprint = $3, issued_at = $4 WHERE serial = $5 AND state = $6",
        )
        .bind(CertState::Issued.as_str())
        .bind(der)
        .bind(fingerprint)
        .bind(now)
        .bind(serial)
        .bind(CertState::Pending.as_str())
        .execute(&mut **tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn cert_get(&self, serial: &str) -> Result<Option<CertRow>, StoreError> {
        let r = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM certificates WHERE serial = $1"
        ))
        .bind(serial)
        .fetch_optional(&self.pool)
        .await?;
        r.as_ref().map(row).transpose()
    }

    pub async fn cert_list(&self, f: &CertFilter) -> Result<Vec<CertRow>, StoreError> {
        let mut sql = format!("SELECT {COLUMNS} FROM certificates WHERE 1 = 1");
        let mut n = 0;
        let mut next = || {
            n += 1;
            format!("${n}")
        };
        if f.ca.is_some() {
            sql += &format!(" AND ca = {}", next());
        }
        if f.profile.is_some() {
            sql += &format!(" AND profile = {}", next());
        }
        if f.subject.is_some() {
            sql += &format!(" AND subject LIKE {}", next());
        }
        if f.state.is_some() {
            sql += &format!(" AND state = {}", next());
        }
        if f.after.is_some() {
            let (a, b, c) = (next(), next(), next());
            sql += &format!(" AND (created_at > {a} OR (created_at = {b} AND serial > {c}))");
        }
        sql += &format!(" ORDER BY created_at, serial LIMIT {}", next());
        let mut q = sqlx::query(&sql);
        if let Some(v) = &f.ca {
            q = q.bind(v.clone());
        }
        if let Some(v) = &f.profile {
            q = q.bind(v.clone());
        }
        if let Some(v) = &f.subject {
            let escaped = v.replace(['%', '_'], "");
            q = q.bind(format!("%{escaped}%"));
        }
        if let Some(v) = f.state {
            q = q.bind(v.as_str());
        }
        if let Some((at, serial)) = &f.after {
            q = q.bind(*at).bind(*at).bind(serial.clone());
        }
        q = q.bind(f.limit);
        let rows = q.fetch_all(&self.pool).await?;
        rows.iter().map(row).collect()
    }

    /// Certificates recorded under one CA key (pending included: they hold a partition slot).
    pub async fn cert_count_by_key(&self, ca_key: &str) -> Result<i64, StoreError> {
        let r = sqlx::query("SELECT COUNT(*) FROM certificates WHERE ca_key = $1")
            .bind(ca_key)
            .fetch_one(&self.pool)
            .await?;
        Ok(r.try_get(0)?)
    }

    /// The highest CRL partition any certificate of a CA key names (0 when unpartitioned).
    pub async fn crl_part_max(&self, ca_key: &str) -> Result<i64, StoreError> {
        let r =
            sqlx::query("SELECT COALESCE(MAX(crl_part), 0) FROM certificates WHERE ca_key = $1")
                .bind(ca_key)
                .fetch_one(&self.pool)
                .await?;
        Ok(r.try_get(0)?)
    }

    pub async fn cert_count(&self) -> Result<i64, StoreError> {
        let r = sqlx::query("SELECT COUNT(*) FROM certificates")
            .fetch_one(&self.pool)
            .await?;
        Ok(r.try_get(0)?)
    }
}
