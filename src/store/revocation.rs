//! Revocation rows: the state on each certificate, the change log delta CRLs are made from, CRL numbers
//! and the published CRLs.

use sqlx::Row;

use super::{Store, StoreError, Tx};

#[derive(Clone, Debug)]
pub struct RevokedRow {
    pub serial: String,
    pub revoked_at: i64,
    pub reason: String,
}

#[derive(Clone, Debug)]
pub struct CrlRow {
    /// The CA key's label (status scope).
    pub ca: String,
    /// CRL partition (0 for an unpartitioned CA).
    pub part: i64,
    pub number: i64,
    pub kind: String,
    pub base: Option<i64>,
    pub log_seq: i64,
    pub this_update: i64,
    pub next_update: i64,
    pub der: Vec<u8>,
}

/// The revocation state of one certificate, as OCSP reports it.
#[derive(Clone, Debug)]
pub enum CertStatusRow {
    /// Not issued by this CA (or only prepared, never signed).
    Unknown,
    Good,
    Revoked {
        at: i64,
        reason: String,
    },
}

impl Store {
    /// Set (or clear, with `None`) the revocation of an issued certificate; returns false if no issued
    /// certificate of `ca` has this serial.
    pub async fn cert_set_revocation(
        tx: &mut Tx<'_>,
        serial: &str,
        revocation: Option<(i64, &str)>,
    ) -> Result<bool, StoreError> {
        let (at, reason) = match revocation {
            Some((at, r)) => (Some(at), Some(r.to_string())),
            None => (None, None),
        };
        let done = sqlx::query(
            "UPDATE certificates SET revoked_at = $1, revocation_reason = $2 WHERE serial = $3 AND state = 'issued'",
        )
        .bind(at)
        .bind(reason)
        .bind(serial)
        .execute(&mut **tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn revocation_log_insert(
        tx: &mut Tx<'_>,
        serial: &str,
        ca: &str,
        part: i64,
        event: &str,
        reason: Option<&str>,
        at: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO revocation_log (serial, ca, part, event, reason, at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(serial)
            .bind(ca)
            .bind(part)
            .bind(event)
            .bind(reason.map(str::to_string))
            .bind(at)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Highest revocation-log sequence number of a CA (0 when none).
    /// When the newest status change of a CA key's partition happened (None: never).
    pub async fn revocation_log_latest_at(
        &self,
        ca: &str,
        part: i64,
    ) -> Result<Option<i64>, StoreError> {
        let r = sqlx::query("SELECT MAX(at) FROM revocation_log WHERE ca = $1 AND part = $2")
            .bind(ca)
            .bind(part)
            .fetch_one(&self.pool)
            .await?;
        Ok(r.try_get(0)?)
    }

    pub async fn revocation_log_head(&self, ca: Option<&str>) -> Result<i64, StoreError> {
        let r = match ca {
            Some(ca) => {
                sqlx::query("SELECT COALESCE(MAX(seq), 0) FROM revocation_log WHERE ca = $1")
                    .bind(ca)
            }
            None => sqlx::query("SELECT COALESCE(MAX(seq), 0) FROM revocation_log"),
        }
        .fetch_one(&self.pool)
        .await?;
        Ok(r.try_get(0)?)
    }

    /// Serials of `ca`'s CRL partition `part` whose revocation state changed after log entry `after`.
    pub async fn revocation_changed_since(
        &self,
        ca: &str,
        part: i64,
        after: i64,
    ) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "SELECT DISTINCT serial FROM revocation_log WHERE ca = $1 AND part = $2 AND seq > $3 ORDER BY serial",
        )
        .bind(ca)
        .bind(part)
        .bind(after)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }

    /// Currently revoked (or held), unexpired certificates in CRL partition `part` of CA key `ca`.
    pub async fn revoked_list(
        &self,
        ca: &str,
        part: i64,
        now: i64,
    ) -> Result<Vec<RevokedRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT serial, revoked_at, revocation_reason FROM certificates \
             WHERE ca_key = $1 AND crl_part = $2 AND revoked_at IS NOT NULL AND not_after > $3 ORDER BY serial",
        )
        .bind(ca)
        .bind(part)
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(RevokedRow {
                    serial: r.try_get(0)?,
                    revoked_at: r.try_get(1)?,
                    reason: r.try_get(2)?,
                })
            })
            .collect()
    }

    /// The OCSP view of one serial under one CA key.
    pub async fn cert_status(&self, ca: &str, serial: &str) -> Result<CertStatusRow, StoreError> {
        let r = sqlx::query(
            "SELECT state, revoked_at, revocation_reason FROM certificates WHERE serial = $1 AND ca_key = $2",
        )
        .bind(serial)
        .bind(ca)
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = r else {
            return Ok(CertStatusRow::Unknown);
        };
        let state: String = r.try_get(0)?;
        if state != "issued" {
            return Ok(CertStatusRow::Unknown);
        }
        let at: Option<i64> = r.try_get(1)?;
        Ok(match at {
            None => CertStatusRow::Good,
            Some(at) => CertStatusRow::Revoked {
                at,
                reason: r.try_get::<Option<String>, _>(2)?.unwrap_or_default(),
            },
        })
    }

    /// The next CRL number of `ca`; the row lock serialises instances.
    pub async fn crl_next_number(tx: &mut Tx<'_>, ca: &str) -> Result<i64, StoreError> {
        sqlx::query(
            "INSERT INTO crl_counters (ca, number) VALUES ($1, 0) ON CONFLICT (ca) DO NOTHING",
        )
        .bind(ca)
        .execute(&mut **tx)
        .await?;
        let r = sqlx::query(
            "UPDATE crl_counters SET number = number + 1 WHERE ca = $1 RETURNING number",
        )
        .bind(ca)
        .fetch_one(&mut **tx)
        .await?;
        Ok(r.try_get(0)?)
    }

    pub async fn crl_insert(tx: &mut Tx<'_>, c: &CrlRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO crls (ca, number, kind, base, log_seq, this_update, next_update, der, part) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&c.ca)
        .bind(c.number)
        .bind(&c.kind)
        .bind(c.base)
        .bind(c.log_seq)
        .bind(c.this_update)
        .bind(c.next_update)
        .bind(&c.der)
        .bind(c.part)
        .execute(&mut **tx)
        .await
        .map_err(StoreError::from_insert)?;
        Ok(())
    }

    /// The number, thisUpdate and nextUpdate of the newest CRL of a kind for a CA key's partition, without its
    /// body: enough to tell whether a cached copy is still the newest.
    pub async fn crl_latest_number(
        &self,
        ca: &str,
        part: i64,
        kind: &str,
    ) -> Result<Option<(i64, i64, i64)>, StoreError> {
        let r = sqlx::query(
            "SELECT number, this_update, next_update FROM crls \
             WHERE ca = $1 AND part = $2 AND kind = $3 ORDER BY number DESC LIMIT 1",
        )
        .bind(ca)
        .bind(part)
        .bind(kind)
        .fetch_optional(&self.pool)
        .await?;
        r.map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
            .transpose()
    }

    /// The newest CRL of a kind for a CA key's partition.
    pub async fn crl_latest(
        &self,
        ca: &str,
        part: i64,
        kind: &str,
    ) -> Result<Option<CrlRow>, StoreError> {
        let r = sqlx::query(
            "SELECT ca, number, kind, base, log_seq, this_update, next_update, der, part FROM crls \
             WHERE ca = $1 AND part = $2 AND kind = $3 ORDER BY number DESC LIMIT 1",
        )
        .bind(ca)
        .bind(part)
        .bind(kind)
        .fetch_optional(&self.pool)
        .await?;
        r.map(|r| {
            Ok(CrlRow {
                ca: r.try_get(0)?,
                number: r.try_get(1)?,
                kind: r.try_get(2)?,
                base: r.try_get(3)?,
                log_seq: r.try_get(4)?,
                this_update: r.try_get(5)?,
                next_update: r.try_get(6)?,
                der: r.try_get(7)?,
                part: r.try_get(8)?,
            })
        })
        .transpose()
    }
}
