//! Workflow records, their history, and Idempotency-Key answers. States are stored as the kinds'
//! stable names; `src/workflow` parses them strictly.

use sqlx::Row;

use super::{Store, StoreError, Tx};

/// One application as stored.
#[derive(Clone, Debug)]
pub struct WorkflowRow {
    pub id: String,
    pub kind: String,
    pub state: String,
    pub version: i64,
    pub data: String,
    pub created_by: String,
    pub created_at: i64,
    pub updated_at: i64,
    /// The organisation a record is about (seal applications), and the authority deciding it.
    pub org_id: Option<String>,
    pub authority_id: Option<String>,
}

/// One state change (or the creation, version 1, with no `from_state`).
#[derive(Clone, Debug)]
pub struct HistoryRow {
    pub workflow_id: String,
    pub version: i64,
    pub at: i64,
    pub actor: String,
    pub event: String,
    pub from_state: Option<String>,
    pub to_state: String,
    pub comment: Option<String>,
    /// JSON array of attachment references.
    pub attachments: String,
    pub audit_seq: i64,
}

/// A stored Idempotency-Key: `status` 0 while the first request runs.
#[derive(Clone, Debug)]
pub struct IdempotencyRow {
    pub method_path: String,
    pub body_sha256: String,
    pub status: i64,
    pub content_type: Option<String>,
    pub response: Option<Vec<u8>>,
    pub created_at: i64,
}

const COMPLETE: &str = "UPDATE idempotency_keys SET status = $1, content_type = $2, response = $3 \
     WHERE actor = $4 AND idem_key = $5 AND status = 0";

fn workflow_row(r: &sqlx::any::AnyRow) -> Result<WorkflowRow, StoreError> {
    Ok(WorkflowRow {
        id: r.try_get(0)?,
        kind: r.try_get(1)?,
        state: r.try_get(2)?,
        version: r.try_get(3)?,
        data: r.try_get(4)?,
        created_by: r.try_get(5)?,
        created_at: r.try_get(6)?,
        updated_at: r.try_get(7)?,
        org_id: r.try_get(8)?,
        authority_id: r.try_get(9)?,
    })
}

const WORKFLOW_COLUMNS: &str =
    "id, kind, state, version, data, created_by, created_at, updated_at, org_id, authority_id";

/// Which records of a kind a list shows.
#[derive(Clone, Copy, Debug, Default)]
pub struct WorkflowFilter<'a> {
    pub state: Option<&'a str>,
    pub created_by: Option<&'a str>,
    /// Records about one of these organisations.
    pub orgs: Option<&'a [String]>,
    /// Records decided by one of these authorities.
    pub authorities: Option<&'a [String]>,
}

impl Store {
    pub async fn workflow_insert(tx: &mut Tx<'_>, w: &WorkflowRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO workflows (id, kind, state, version, data, created_by, created_at, updated_at, \
             org_id, authority_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&w.id)
        .bind(&w.kind)
        .bind(&w.state)
        .bind(w.version)
        .bind(&w.data)
        .bind(&w.created_by)
        .bind(w.created_at)
        .bind(w.updated_at)
        .bind(w.org_id.clone())
        .bind(w.authority_id.clone())
        .execute(&mut **tx)
        .await
        .map_err(StoreError::from_insert)?;
        Ok(())
    }

    /// Records of a kind (in one state, if given), oldest first, after the cursor
    /// `(created_at, id)`, at most `limit`.
    pub async fn workflow_list(
        &self,
        kind: &str,
        state: Option<&str>,
        after: Option<(i64, &str)>,
        limit: i64,
    ) -> Result<Vec<WorkflowRow>, StoreError> {
        self.workflow_find(
            kind,
            &WorkflowFilter {
                state,
                ..Default::default()
            },
            after.map(|(at, id)| (at, id.to_string())),
            limit,
        )
        .await
    }

    /// Records of a kind matching `f`, oldest first, after the cursor `(created_at, id)`.
    pub async fn workflow_find(
        &self,
        kind: &str,
        f: &WorkflowFilter<'_>,
        after: Option<(i64, String)>,
        limit: i64,
    ) -> Result<Vec<WorkflowRow>, StoreError> {
        let (at, id) = after.unwrap_or((i64::MIN, String::new()));
        let mut sql = format!(
            "SELECT {WORKFLOW_COLUMNS} FROM workflows WHERE kind = $1 AND ($2 = '' OR state = $2) \
             AND ($3 = '' OR created_by = $3) \
             AND (created_at > $4 OR (created_at = $4 AND id > $5))"
        );
        let mut n = 6;
        let mut binds: Vec<String> = Vec::new();
        for (col, set) in [("org_id", f.orgs), ("authority_id", f.authorities)] {
            if let Some(set) = set {
                if set.is_empty() {
                    return Ok(Vec::new());
                }
                let list: Vec<String> = (0..set.len()).map(|i| format!("${}", n + i)).collect();
                sql += &format!(" AND {col} IN ({})", list.join(", "));
                n += set.len();
                binds.extend(set.iter().cloned());
            }
        }
        sql += &format!(" ORDER BY created_at, id LIMIT ${n}");
        let mut q = sqlx::query(&sql)
            .bind(kind)
            .bind(f.state.unwrap_or(""))
            .bind(f.created_by.unwrap_or(""))
            .bind(at)
            .bind(id);
        for b in binds {
            q = q.bind(b);
        }
        let rows = q.bind(limit).fetch_all(&self.pool).await?;
        rows.iter().map(workflow_row).collect()
    }

    pub async fn workflow_get(&self, id: &str) -> Result<Option<WorkflowRow>, StoreError> {
        let r = sqlx::query(&format!(
            "SELECT {WORKFLOW_COLUMNS} FROM workflows WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        r.as_ref().map(workflow_row).transpose()
    }

    /// Move a record from `version` to `version + 1` in `state`. False when the record is no longer
    /// at `version` (someone else changed it first): nothing was written.
    pub async fn workflow_advance(
        tx: &mut Tx<'_>,
        id: &str,
        version: i64,
        state: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        super::versioned_set(tx, "workflows", "state", id, version, state, now).await
    }

    /// Replace a record's data (an edited application sent again), in the transaction of its event.
    pub async fn workflow_set_data(
        tx: &mut Tx<'_>,
        id: &str,
        data: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE workflows SET data = $1 WHERE id = $2")
            .bind(data)
            .bind(id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    pub async fn workflow_history_insert(
        tx: &mut Tx<'_>,
        h: &HistoryRow,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO workflow_history (workflow_id, version, at, actor, event, from_state, \
             to_state, comment, attachments, audit_seq) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&h.workflow_id)
        .bind(h.version)
        .bind(h.at)
        .bind(&h.actor)
        .bind(&h.event)
        .bind(&h.from_state)
        .bind(&h.to_state)
        .bind(&h.comment)
        .bind(&h.attachments)
        .bind(h.audit_seq)
        .execute(&mut **tx)
        .await
        .map_err(StoreError::from_insert)?;
        Ok(())
    }

    /// History of a record, oldest first, entries with `version > after`, at most `limit`.
    pub async fn workflow_history(
        &self,
        id: &str,
        after: i64,
        limit: i64,
    ) -> Result<Vec<HistoryRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT workflow_id, version, at, actor, event, from_state, to_state, comment, \
             attachments, audit_seq FROM workflow_history WHERE workflow_id = $1 AND version > $2 \
             ORDER BY version LIMIT $3",
        )
        .bind(id)
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(HistoryRow {
                    workflow_id: r.try_get(0)?,
                    version: r.try_get(1)?,
                    at: r.try_get(2)?,
                    actor: r.try_get(3)?,
                    event: r.try_get(4)?,
                    from_state: r.try_get(5)?,
                    to_state: r.try_get(6)?,
                    comment: r.try_get(7)?,
                    attachments: r.try_get(8)?,
                    audit_seq: r.try_get(9)?,
                })
            })
            .collect()
    }

    /// Claim `(actor, key)` for a request: Ok(None) when this request is the first (a row with
    /// status 0 now exists), Ok(Some(row)) with the stored row when the key was used before. The
    /// primary key decides between concurrent first requests. Rows older than `expired_before`
    /// are deleted first, so an expired key starts afresh. A claim still without an answer that
    /// was made before `abandoned_before` (its request can no longer be running) is taken over.
    #[allow(clippy::too_many_arguments)]
    pub async fn idempotency_claim(
        &self,
        actor: &str,
        key: &str,
        method_path: &str,
        body_sha256: &str,
        now: i64,
        expired_before: i64,
        abandoned_before: i64,
    ) -> Result<Option<IdempotencyRow>, StoreError> {
        let taken = sqlx::query(
            "UPDATE idempotency_keys SET method_path = $1, body_sha256 = $2, created_at = $3 \
             WHERE actor = $4 AND idem_key = $5 AND status = 0 AND created_at < $6",
        )
        .bind(method_path)
        .bind(body_sha256)
        .bind(now)
        .bind(actor)
        .bind(key)
        .bind(abandoned_before)
        .execute(&self.pool)
        .await?;
        if taken.rows_affected() == 1 {
            return Ok(None);
        }
        sqlx::query(
            "DELETE FROM idempotency_keys WHERE actor = $1 AND idem_key = $2 AND created_at < $3",
        )
        .bind(actor)
        .bind(key)
        .bind(expired_before)
        .execute(&self.pool)
        .await?;
        let inserted = sqlx::query(
            "INSERT INTO idempotency_keys (actor, idem_key, method_path, body_sha256, status, created_at) \
             VALUES ($1, $2, $3, $4, 0, $5)",
        )
        .bind(actor)
        .bind(key)
        .bind(method_path)
        .bind(body_sha256)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(StoreError::from_insert);
        match inserted {
            Ok(_) => Ok(None),
            Err(StoreError::Conflict(_)) => {
                let r = sqlx::query(
                    "SELECT method_path, body_sha256, status, content_type, response, created_at \
                     FROM idempotency_keys WHERE actor = $1 AND idem_key = $2",
                )
                .bind(actor)
                .bind(key)
                .fetch_optional(&self.pool)
                .await?
                .ok_or_else(|| {
                    // Deleted between our insert and read (released after a failure): a retry
                    // claims it.
                    StoreError::Conflict("idempotency_keys_pkey".into())
                })?;
                Ok(Some(IdempotencyRow {
                    method_path: r.try_get(0)?,
                    body_sha256: r.try_get(1)?,
                    status: r.try_get(2)?,
                    content_type: r.try_get(3)?,
                    response: r.try_get(4)?,
                    created_at: r.try_get(5)?,
                }))
            }
            Err(e) => Err(e),
        }
    }

    /// Record the first request's answer under its key, unless one is recorded already.
    pub async fn idempotency_complete(
        &self,
        actor: &str,
        key: &str,
        status: i64,
        content_type: Option<&str>,
        response: &[u8],
    ) -> Result<(), StoreError> {
        sqlx::query(COMPLETE)
            .bind(status)
            .bind(content_type)
            .bind(response)
            .bind(actor)
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The same inside the transaction of the change the answer reports, so that the change and its
    /// answer commit together.
    pub async fn idempotency_complete_tx(
        tx: &mut Tx<'_>,
        actor: &str,
        key: &str,
        status: i64,
        content_type: Option<&str>,
        response: &[u8],
    ) -> Result<(), StoreError> {
        sqlx::query(COMPLETE)
            .bind(status)
            .bind(content_type)
            .bind(response)
            .bind(actor)
            .bind(key)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Forget a key whose request ended without an answer worth replaying (a server error).
    pub async fn idempotency_release(&self, actor: &str, key: &str) -> Result<(), StoreError> {
        sqlx::query(
            "DELETE FROM idempotency_keys WHERE actor = $1 AND idem_key = $2 AND status = 0",
        )
        .bind(actor)
        .bind(key)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Delete every key created before `before`; returns how many.
    pub async fn idempotency_purge(&self, before: i64) -> Result<u64, StoreError> {
        Ok(
            sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
                .bind(before)
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }
}
