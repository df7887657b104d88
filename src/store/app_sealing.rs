//! What apps sealed (migration 0017): evidence rows, usage counts per app, seal and day, and the
//! Idempotency-Key claims of the apps' signing API.

use sqlx::Row;

use super::{Store, StoreError, Tx};

#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct EvidenceRow {
    pub id: String,
    pub app_id: String,
    pub seal_id: String,
    pub grant_id: String,
    pub cert_serial: String,
    pub input_sha256: String,
    pub output_sha256: String,
    pub field: String,
    pub level: String,
    /// The placements asked for, as JSON.
    pub placements: String,
    pub client: String,
    pub bytes: i64,
    pub created_at: i64,
    /// The sealing's `pdf.sign` entry in the audit chain: its sequence number and hash (none
    /// for rows written before migration 0019).
    pub audit_seq: Option<i64>,
    pub audit_hash: Option<String>,
}

/// A claim on an Idempotency-Key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claimed {
    /// The key is ours now: seal, then record (or release on failure).
    Fresh,
    /// Another request with this key is still running.
    Running { request_sha256: String },
    /// Done before: its evidence.
    Done {
        request_sha256: String,
        evidence_id: String,
    },
}

#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct UsageRow {
    pub day: String,
    pub seal_id: String,
    pub seal_name: String,
    pub count: i64,
}

const EVIDENCE_COLUMNS: &str = "id, app_id, seal_id, grant_id, cert_serial, input_sha256, \
     output_sha256, field, level, placements, client, bytes, created_at, audit_seq, audit_hash";

fn evidence(r: &sqlx::any::AnyRow) -> Result<EvidenceRow, sqlx::Error> {
    Ok(EvidenceRow {
        id: r.try_get("id")?,
        app_id: r.try_get("app_id")?,
        seal_id: r.try_get("seal_id")?,
        grant_id: r.try_get("grant_id")?,
        cert_serial: r.try_get("cert_serial")?,
        input_sha256: r.try_get("input_sha256")?,
        output_sha256: r.try_get("output_sha256")?,
        field: r.try_get("field")?,
        level: r.try_get("level")?,
        placements: r.try_get("placements")?,
        client: r.try_get("client")?,
        bytes: r.try_get("bytes")?,
        created_at: r.try_get("created_at")?,
        audit_seq: r.try_get("audit_seq")?,
        audit_hash: r.try_get("audit_hash")?,
    })
}

impl Store {
    /// The evidence of one sealing and its count for the day, in the sealing's transaction.
    pub async fn app_evidence_insert(tx: &mut Tx<'_>, e: &EvidenceRow) -> Result<(), StoreError> {
        Store::app_evidence_insert_many(tx, std::slice::from_ref(e)).await
    }

    /// Insert evidence rows and count them in the days' usage: a statement per fifty rows and
    /// one upsert per app, day and seal (a group commit writes its sealings so, at its end).
    pub async fn app_evidence_insert_many(
        tx: &mut Tx<'_>,
        rows: &[EvidenceRow],
    ) -> Result<(), StoreError> {
        for chunk in rows.chunks(50) {
            let sql = format!(
                "INSERT INTO app_evidence ({EVIDENCE_COLUMNS}) VALUES {}",
                super::values_list(chunk.len(), 15)
            );
            let mut q = sqlx::query(&sql);
            for e in chunk {
                q = q
                    .bind(&e.id)
                    .bind(&e.app_id)
                    .bind(&e.seal_id)
                    .bind(&e.grant_id)
                    .bind(&e.cert_serial)
                    .bind(&e.input_sha256)
                    .bind(&e.output_sha256)
                    .bind(&e.field)
                    .bind(&e.level)
                    .bind(&e.placements)
                    .bind(&e.client)
                    .bind(e.bytes)
                    .bind(e.created_at)
                    .bind(e.audit_seq)
                    .bind(e.audit_hash.as_deref());
            }
            q.execute(&mut **tx)
                .await
                .map_err(StoreError::from_insert)?;
        }
        let mut usage: std::collections::BTreeMap<(&str, String, &str), i64> =
            std::collections::BTreeMap::new();
        for e in rows {
            *usage
                .entry((
                    e.app_id.as_str(),
                    crate::clock::day_of(e.created_at),
                    e.seal_id.as_str(),
                ))
                .or_default() += 1;
        }
        for ((app_id, day, seal_id), n) in usage {
            sqlx::query(
                "INSERT INTO app_usage (app_id, day, seal_id, count) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (app_id, day, seal_id) DO UPDATE SET count = app_usage.count + $4",
            )
            .bind(app_id)
            .bind(day)
            .bind(seal_id)
            .bind(n)
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }

    pub async fn app_evidence_get(&self, id: &str) -> Result<Option<EvidenceRow>, StoreError> {
        let r = sqlx::query(&format!(
            "SELECT {EVIDENCE_COLUMNS} FROM app_evidence WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        r.as_ref()
            .map(evidence)
            .transpose()
            .map_err(StoreError::from)
    }

    /// An app's sealings of a document, by the SHA-256 of the sealed or of the original bytes.
    pub async fn app_evidence_by_hash(
        &self,
        app_id: &str,
        sha256: &str,
    ) -> Result<Vec<EvidenceRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {EVIDENCE_COLUMNS} FROM app_evidence \
             WHERE app_id = $1 AND (output_sha256 = $2 OR input_sha256 = $2) \
             ORDER BY created_at, id LIMIT 100"
        ))
        .bind(app_id)
        .bind(sha256)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(evidence)
            .collect::<Result<_, _>>()
            .map_err(StoreError::from)
    }

    /// An app's latest sealings, newest first.
    pub async fn app_evidence_recent(
        &self,
        app_id: &str,
        limit: i64,
    ) -> Result<Vec<EvidenceRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {EVIDENCE_COLUMNS} FROM app_evidence WHERE app_id = $1 \
             ORDER BY created_at DESC, id DESC LIMIT $2"
        ))
        .bind(app_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(evidence)
            .collect::<Result<_, _>>()
            .map_err(StoreError::from)
    }

    /// Sealings per day and seal of one app, days `from`..=`to` (YYYY-MM-DD), newest first.
    /// How many sealings app `app_id` has evidence of.
    pub async fn app_evidence_count(&self, app_id: &str) -> Result<i64, StoreError> {
        let r = sqlx::query("SELECT COUNT(*) FROM app_evidence WHERE app_id = $1")
            .bind(app_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(r.try_get(0)?)
    }

    /// The app's sealings on `day` (all seals).
    pub async fn app_usage_on(&self, app_id: &str, day: &str) -> Result<i64, StoreError> {
        let r = sqlx::query(
            "SELECT CAST(COALESCE(SUM(count), 0) AS BIGINT) FROM app_usage \
             WHERE app_id = $1 AND day = $2",
        )
        .bind(app_id)
        .bind(day)
        .fetch_one(&self.pool)
        .await?;
        Ok(r.try_get(0)?)
    }

    pub async fn app_usage(
        &self,
        app_id: &str,
        from: &str,
        to: &str,
    ) -> Result<Vec<UsageRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT u.day, u.seal_id, s.name AS seal_name, u.count FROM app_usage u \
             JOIN seals s ON s.id = u.seal_id \
             WHERE u.app_id = $1 AND u.day >= $2 AND u.day <= $3 \
             ORDER BY u.day DESC, s.name LIMIT 1000",
        )
        .bind(app_id)
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(UsageRow {
                    day: r.try_get("day")?,
                    seal_id: r.try_get("seal_id")?,
                    seal_name: r.try_get("seal_name")?,
                    count: r.try_get("count")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// Claim `key` for a request with body hash `request_sha256` (committed on its own: the
    /// primary key decides between concurrent duplicates). Claims older than `stale_before`
    /// that are still running were left by a crash and are taken over.
    pub async fn app_idempotency_claim(
        &self,
        app_id: &str,
        key: &str,
        request_sha256: &str,
        now: i64,
        stale_before: i64,
    ) -> Result<Claimed, StoreError> {
        sqlx::query(
            "DELETE FROM app_idempotency WHERE app_id = $1 AND key = $2 AND state = 'running' \
             AND created_at < $3",
        )
        .bind(app_id)
        .bind(key)
        .bind(stale_before)
        .execute(&self.pool)
        .await?;
        let inserted = sqlx::query(
            "INSERT INTO app_idempotency (app_id, key, request_sha256, state, created_at) \
             VALUES ($1, $2, $3, 'running', $4) ON CONFLICT (app_id, key) DO NOTHING",
        )
        .bind(app_id)
        .bind(key)
        .bind(request_sha256)
        .bind(now)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if inserted == 1 {
            return Ok(Claimed::Fresh);
        }
        let r = sqlx::query(
            "SELECT request_sha256, state, evidence_id FROM app_idempotency \
             WHERE app_id = $1 AND key = $2",
        )
        .bind(app_id)
        .bind(key)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::Conflict("idempotency key released meanwhile".into()))?;
        let request_sha256: String = r.try_get("request_sha256")?;
        let state: String = r.try_get("state")?;
        let evidence_id: Option<String> = r.try_get("evidence_id")?;
        Ok(match (state.as_str(), evidence_id) {
            ("done", Some(evidence_id)) => Claimed::Done {
                request_sha256,
                evidence_id,
            },
            _ => Claimed::Running { request_sha256 },
        })
    }

    /// The claimed key's answer, in the sealing's transaction.
    pub async fn app_idempotency_done(
        tx: &mut Tx<'_>,
        app_id: &str,
        key: &str,
        evidence_id: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE app_idempotency SET state = 'done', evidence_id = $3 \
             WHERE app_id = $1 AND key = $2",
        )
        .bind(app_id)
        .bind(key)
        .bind(evidence_id)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// The sealing failed: a retry with the key runs again.
    pub async fn app_idempotency_release(&self, app_id: &str, key: &str) -> Result<(), StoreError> {
        sqlx::query(
            "DELETE FROM app_idempotency WHERE app_id = $1 AND key = $2 AND state = 'running'",
        )
        .bind(app_id)
        .bind(key)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Keys older than `before` are forgotten.
    pub async fn app_idempotency_sweep(&self, before: i64) -> Result<u64, StoreError> {
        Ok(
            sqlx::query("DELETE FROM app_idempotency WHERE created_at < $1")
                .bind(before)
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }
}
