//! Audit rows: append under the chain-head lock, read back for verification.

use sqlx::Row;

use super::{Store, StoreError, Tx};

#[derive(Clone, Debug)]
pub struct AuditRow {
    pub seq: i64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Clone, Debug)]
pub struct CheckpointRow {
    pub seq: i64,
    pub head_hash: String,
    pub key_ref: String,
    pub cert_der: Vec<u8>,
    pub scheme: String,
    pub signature: Vec<u8>,
    pub at: i64,
}

impl Store {
    /// Claim the next sequence number. The UPDATE comes first so it takes the write lock before
    /// anything is read: the row lock (PostgreSQL) or the database write lock (SQLite) is held until
    /// commit, so concurrent appenders queue and the chain stays linear.
    pub async fn audit_claim(tx: &mut Tx<'_>) -> Result<(i64, String), StoreError> {
        let row =
            sqlx::query("UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash")
                .fetch_one(&mut **tx)
                .await?;
        Ok((row.try_get(0)?, row.try_get(1)?))
    }

    /// Lock the chain head for a run of appends (`audit::Audit::begin_run`): the same row lock
    /// as [`Store::audit_claim`], the sequence left as it is.
    pub async fn audit_lock_head(tx: &mut Tx<'_>) -> Result<(i64, String), StoreError> {
        let row = sqlx::query("UPDATE audit_head SET seq = seq WHERE id = 1 RETURNING seq, hash")
            .fetch_one(&mut **tx)
            .await?;
        Ok((row.try_get(0)?, row.try_get(1)?))
    }

    /// One entry of a run (the head is written once, at the run's end).
    pub async fn audit_insert_entry(tx: &mut Tx<'_>, r: &AuditRow) -> Result<(), StoreError> {
        Store::audit_insert_entries(tx, std::slice::from_ref(r)).await
    }

    /// Insert entries in as few statements as the databases' parameter limits allow (a group
    /// commit's run writes its entries at the end, one statement per hundred).
    pub async fn audit_insert_entries(
        tx: &mut Tx<'_>,
        rows: &[AuditRow],
    ) -> Result<(), StoreError> {
        for chunk in rows.chunks(100) {
            let sql = format!(
                "INSERT INTO audit_log (seq, at, actor, action, detail, prev_hash, hash) VALUES {}",
                super::values_list(chunk.len(), 7)
            );
            let mut q = sqlx::query(&sql);
            for r in chunk {
                q = q
                    .bind(r.seq)
                    .bind(r.at)
                    .bind(&r.actor)
                    .bind(&r.action)
                    .bind(&r.detail)
                    .bind(&r.prev_hash)
                    .bind(&r.hash);
            }
            q.execute(&mut **tx)
                .await
                .map_err(StoreError::from_insert)?;
        }
        Ok(())
    }

    pub async fn audit_set_head(tx: &mut Tx<'_>, seq: i64, hash: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
            .bind(seq)
            .bind(hash)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    pub async fn audit_insert(tx: &mut Tx<'_>, r: &AuditRow) -> Result<(), StoreError> {
        Store::audit_insert_entry(tx, r).await?;
        sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
            .bind(&r.hash)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    pub async fn audit_checkpoint_insert(
        tx: &mut Tx<'_>,
        c: &CheckpointRow,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO audit_checkpoints (seq, head_hash, key_ref, cert_der, scheme, signature, at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(c.seq)
        .bind(&c.head_hash)
        .bind(&c.key_ref)
        .bind(&c.cert_der)
        .bind(&c.scheme)
        .bind(&c.signature)
        .bind(c.at)
        .execute(&mut **tx)
        .await
        .map_err(StoreError::from_insert)?;
        Ok(())
    }

    /// Entries with `seq > after`, in order, at most `limit`.
    pub async fn audit_page(&self, after: i64, limit: i64) -> Result<Vec<AuditRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, at, actor, action, detail, prev_hash, hash FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AuditRow {
                    seq: r.try_get(0)?,
                    at: r.try_get(1)?,
                    actor: r.try_get(2)?,
                    action: r.try_get(3)?,
                    detail: r.try_get(4)?,
                    prev_hash: r.try_get(5)?,
                    hash: r.try_get(6)?,
                })
            })
            .collect()
    }

    /// How many entries record `action` (benchmarks check durability with it).
    pub async fn audit_count_action(&self, action: &str) -> Result<i64, StoreError> {
        let r = sqlx::query("SELECT COUNT(*) FROM audit_log WHERE action = $1")
            .bind(action)
            .fetch_one(&self.pool)
            .await?;
        Ok(r.try_get(0)?)
    }

    /// The entry at `seq`.
    pub async fn audit_entry(&self, seq: i64) -> Result<Option<AuditRow>, StoreError> {
        Ok(self
            .audit_page(seq - 1, 1)
            .await?
            .pop()
            .filter(|r| r.seq == seq))
    }

    /// The first signed checkpoint at or after `seq`: the signed head that covers that entry.
    pub async fn audit_checkpoint_covering(
        &self,
        seq: i64,
    ) -> Result<Option<CheckpointRow>, StoreError> {
        let r = sqlx::query(
            "SELECT seq, head_hash, key_ref, cert_der, scheme, signature, at FROM audit_checkpoints \
             WHERE seq >= $1 ORDER BY seq LIMIT 1",
        )
        .bind(seq)
        .fetch_optional(&self.pool)
        .await?;
        r.map(|r| -> Result<CheckpointRow, StoreError> {
            Ok(CheckpointRow {
                seq: r.try_get(0)?,
                head_hash: r.try_get(1)?,
                key_ref: r.try_get(2)?,
                cert_der: r.try_get(3)?,
                scheme: r.try_get(4)?,
                signature: r.try_get(5)?,
                at: r.try_get(6)?,
            })
        })
        .transpose()
    }

    pub async fn audit_head(&self) -> Result<(i64, String), StoreError> {
        let r = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
            .fetch_one(&self.pool)
            .await?;
        Ok((r.try_get(0)?, r.try_get(1)?))
    }

    pub async fn audit_checkpoints(&self) -> Result<Vec<CheckpointRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, head_hash, key_ref, cert_der, scheme, signature, at FROM audit_checkpoints ORDER BY seq",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(CheckpointRow {
                    seq: r.try_get(0)?,
                    head_hash: r.try_get(1)?,
                    key_ref: r.try_get(2)?,
                    cert_der: r.try_get(3)?,
                    scheme: r.try_get(4)?,
                    signature: r.try_get(5)?,
                    at: r.try_get(6)?,
                })
            })
            .collect()
    }
}
