//! Seal productions in progress (migration 0015): recorded before a seal's key exists, so that a
//! crash between the key and the seal record leaves a trail the sweep can follow.

use sqlx::Row;

use super::{Store, StoreError, Tx};

#[derive(Clone, Debug)]
pub struct ProductionRow {
    pub id: String,
    pub seal_code: String,
    /// The key being made (cloud seals); none for a UKey seal, whose key is the holder's.
    pub key_ref: Option<String>,
    pub application_id: String,
    pub started_at: i64,
}

impl Store {
    /// Committed on its own, before the key is generated.
    pub async fn production_insert(&self, p: &ProductionRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO seal_productions (id, seal_code, key_ref, application_id, started_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&p.id)
        .bind(&p.seal_code)
        .bind(p.key_ref.clone())
        .bind(&p.application_id)
        .bind(p.started_at)
        .execute(&self.pool)
        .await
        .map_err(StoreError::from_insert)?;
        Ok(())
    }

    /// The production finished: in the transaction that registers its key and seal.
    pub async fn production_end(tx: &mut Tx<'_>, id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM seal_productions WHERE id = $1")
            .bind(id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// A failed production was undone (or a crashed one recovered).
    pub async fn production_forget(&self, id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM seal_productions WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Productions started before `t`, oldest first.
    pub async fn productions_started_before(
        &self,
        t: i64,
    ) -> Result<Vec<ProductionRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, seal_code, key_ref, application_id, started_at FROM seal_productions \
             WHERE started_at < $1 ORDER BY started_at, id LIMIT 100",
        )
        .bind(t)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ProductionRow {
                    id: r.try_get("id")?,
                    seal_code: r.try_get("seal_code")?,
                    key_ref: r.try_get("key_ref")?,
                    application_id: r.try_get("application_id")?,
                    started_at: r.try_get("started_at")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// Seal-signing certificates naming `code` that no seal ever used and that are not revoked for
    /// good (a held one still counts): what an interrupted production left.
    pub async fn seal_certs_unattached(&self, code: &str) -> Result<Vec<String>, StoreError> {
        // Codes are 13 digits: nothing in them needs escaping for LIKE.
        let rows = sqlx::query(
            "SELECT c.serial FROM certificates c \
             WHERE c.profile = 'seal-signing' AND c.state = 'issued' AND c.subject LIKE $1 \
             AND (c.revoked_at IS NULL OR c.revocation_reason = 'certificateHold') \
             AND NOT EXISTS (SELECT 1 FROM seals s WHERE s.cert_serial = c.serial) \
             AND NOT EXISTS (SELECT 1 FROM seal_history h WHERE h.cert_serial = c.serial)",
        )
        .bind(format!("%{code}%"))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| r.try_get("serial"))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }
}
