//! The job outbox: insert inside the caller's transaction, claim under a lease (PostgreSQL
//! `FOR UPDATE SKIP LOCKED`, SQLite one `UPDATE … RETURNING` under its write lock), record each
//! attempt's result, list by state, and re-queue dead jobs. Kinds and states are stored by their
//! stable names; `src/jobs` parses them strictly.

use sqlx::Row;

use super::{Backend, Store, StoreError, Tx};

/// A job as stored.
#[derive(Clone, Debug)]
pub struct JobRow {
    pub id: String,
    pub kind: String,
    pub payload: String,
    pub state: String,
    pub attempts: i64,
    pub max_attempts: i64,
    pub next_attempt_at: i64,
    pub locked_by: Option<String>,
    pub locked_until: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub finished_at: Option<i64>,
    pub dedupe_key: Option<String>,
}

/// A job to insert: always `pending`, no attempts yet.
#[derive(Clone, Debug)]
pub struct NewJob<'a> {
    pub id: &'a str,
    pub kind: &'a str,
    pub payload: &'a str,
    pub max_attempts: i64,
    pub next_attempt_at: i64,
    pub created_at: i64,
    pub dedupe_key: Option<&'a str>,
}

/// How one attempt ended, as the store records it.
#[derive(Clone, Copy, Debug)]
pub enum JobResult<'a> {
    Done,
    /// Back to pending, due at the given time.
    RetryAt(i64, &'a str),
    Dead(&'a str),
}

const COLUMNS: &str =
    "id, kind, payload, state, attempts, max_attempts, next_attempt_at, locked_by, \
     locked_until, last_error, created_at, finished_at, dedupe_key";

fn job_row(r: &sqlx::any::AnyRow) -> Result<JobRow, StoreError> {
    Ok(JobRow {
        id: r.try_get(0)?,
        kind: r.try_get(1)?,
        payload: r.try_get(2)?,
        state: r.try_get(3)?,
        attempts: r.try_get(4)?,
        max_attempts: r.try_get(5)?,
        next_attempt_at: r.try_get(6)?,
        locked_by: r.try_get(7)?,
        locked_until: r.try_get(8)?,
        last_error: r.try_get(9)?,
        created_at: r.try_get(10)?,
        finished_at: r.try_get(11)?,
        dedupe_key: r.try_get(12)?,
    })
}

impl Store {
    /// Insert a job in the caller's transaction. With a dedupe key already present nothing is
    /// written and the answer is false (`ON CONFLICT DO NOTHING` keeps a PostgreSQL transaction
    /// usable, where a unique violation would abort it).
    pub async fn job_insert(tx: &mut Tx<'_>, j: &NewJob<'_>) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO jobs (id, kind, payload, state, attempts, max_attempts, next_attempt_at, \
             created_at, dedupe_key) VALUES ($1, $2, $3, 'pending', 0, $4, $5, $6, $7) \
             ON CONFLICT (dedupe_key) DO NOTHING",
        )
        .bind(j.id)
        .bind(j.kind)
        .bind(j.payload)
        .bind(j.max_attempts)
        .bind(j.next_attempt_at)
        .bind(j.created_at)
        .bind(j.dedupe_key)
        .execute(&mut **tx)
        .await
        .map_err(StoreError::from_insert)?;
        Ok(done.rows_affected() == 1)
    }

    /// Claim up to `limit` due jobs for `worker` until `lease_until`: pending ones whose time has
    /// come, and running ones whose lease ran out (their instance stopped) with attempts left.
    /// Each claim counts as an attempt. One statement, committed on return.
    pub async fn job_claim(
        &self,
        worker: &str,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> Result<Vec<JobRow>, StoreError> {
        // PostgreSQL: rows another instance is claiming are skipped, not waited for. SQLite has
        // one writer at a time, so the UPDATE alone is atomic.
        let lock = match self.backend {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, locked_by = $1, \
             locked_until = $2 WHERE id IN (SELECT id FROM jobs WHERE \
             (state = 'pending' AND next_attempt_at <= $3) OR \
             (state = 'running' AND locked_until <= $3 AND attempts < max_attempts) \
             ORDER BY next_attempt_at, id LIMIT $4{lock}) RETURNING {COLUMNS}"
        );
        let rows = sqlx::query(&sql)
            .bind(worker)
            .bind(lease_until)
            .bind(now)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(job_row).collect()
    }

    /// Extend `worker`'s claim of attempt `attempts` to `lease_until` while it delivers. False
    /// when the claim was lost (the lease ran out first and another instance took the job).
    pub async fn job_renew(
        &self,
        id: &str,
        worker: &str,
        attempts: i64,
        lease_until: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE jobs SET locked_until = $4 \
             WHERE id = $1 AND state = 'running' AND locked_by = $2 AND attempts = $3",
        )
        .bind(id)
        .bind(worker)
        .bind(attempts)
        .bind(lease_until)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Running jobs whose lease ran out during their last attempt become dead (nobody may try
    /// again on their own). Returns how many.
    pub async fn job_expire_last_attempts(&self, now: i64) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE jobs SET state = 'dead', finished_at = $1, locked_by = NULL, \
             locked_until = NULL, last_error = 'the lease of the last attempt ran out (the \
             instance stopped or the delivery hung)' \
             WHERE state = 'running' AND locked_until <= $1 AND attempts >= max_attempts",
        )
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// Record the result of attempt `attempts` by `worker`. False when the job is no longer
    /// that worker's claim (its lease ran out and another instance took it): nothing written.
    pub async fn job_finish(
        &self,
        id: &str,
        worker: &str,
        attempts: i64,
        now: i64,
        result: JobResult<'_>,
    ) -> Result<bool, StoreError> {
        let (state, next, finished, error) = match result {
            JobResult::Done => ("done", None, Some(now), None),
            JobResult::RetryAt(at, e) => ("pending", Some(at), None, Some(e)),
            JobResult::Dead(e) => ("dead", None, Some(now), Some(e)),
        };
        let done = sqlx::query(
            "UPDATE jobs SET state = $4, next_attempt_at = COALESCE($5, next_attempt_at), \
             finished_at = $6, last_error = $7, locked_by = NULL, locked_until = NULL \
             WHERE id = $1 AND state = 'running' AND locked_by = $2 AND attempts = $3",
        )
        .bind(id)
        .bind(worker)
        .bind(attempts)
        .bind(state)
        .bind(next)
        .bind(finished)
        .bind(error)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Put a dead job back in the queue with its attempts reset, due now, in the caller's
    /// transaction (the operator's retry is audited there). The last error stays for reference.
    /// False when there is no dead job of that id.
    pub async fn job_requeue(tx: &mut Tx<'_>, id: &str, now: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE jobs SET state = 'pending', attempts = 0, next_attempt_at = $2, \
             finished_at = NULL WHERE id = $1 AND state = 'dead'",
        )
        .bind(id)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn job_get(&self, id: &str) -> Result<Option<JobRow>, StoreError> {
        let r = sqlx::query(&format!("SELECT {COLUMNS} FROM jobs WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        r.as_ref().map(job_row).transpose()
    }

    /// Jobs (in one state, if given), newest first, before the cursor `(created_at, id)`, at most
    /// `limit`.
    pub async fn job_list(
        &self,
        state: Option<&str>,
        before: Option<(i64, &str)>,
        limit: i64,
    ) -> Result<Vec<JobRow>, StoreError> {
        let (at, id) = before.unwrap_or((i64::MAX, ""));
        // With no cursor every id sorts after "" at created_at = i64::MAX: take all.
        let open = i64::from(before.is_none());
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM jobs WHERE ($1 = '' OR state = $1) \
             AND ($5 = 1 OR created_at < $2 OR (created_at = $2 AND id < $3)) \
             ORDER BY created_at DESC, id DESC LIMIT $4"
        ))
        .bind(state.unwrap_or(""))
        .bind(at)
        .bind(id)
        .bind(limit)
        .bind(open)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(job_row).collect()
    }

    /// How many jobs are in each state (for metrics and the operators' overview).
    pub async fn job_counts(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = sqlx::query("SELECT state, COUNT(*) FROM jobs GROUP BY state ORDER BY state")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    }
}
