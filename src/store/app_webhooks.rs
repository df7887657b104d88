//! Webhook secrets and delivery log of apps, and apps' asynchronous sealing jobs (migration 0018).

use sqlx::Row;

use super::{AppEventRow, Store, StoreError, Tx};

/// One attempt to deliver an app event.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct DeliveryRow {
    pub id: String,
    pub app_id: String,
    pub event_id: String,
    /// The event's kind (`grant.granted`, `job.finished`, `ping`, …).
    pub event_kind: String,
    pub job_id: String,
    /// 1 for the first attempt; a retry keeps the event id and counts up.
    pub attempt: i64,
    /// Where it went (none when skipped for want of a callback URL).
    pub url: Option<String>,
    /// The receiver's HTTP status, when it answered.
    pub status: Option<i64>,
    /// `delivered`, `failed` (retried) or `skipped`.
    pub outcome: String,
    pub error: Option<String>,
    pub duration_ms: i64,
    pub created_at: i64,
}

/// The sealed webhook secrets of an app: the current one and, while a rotation settles, the one
/// before it.
#[derive(Clone, Default)]
pub struct WebhookSecrets {
    pub current: Option<Vec<u8>>,
    pub previous: Option<Vec<u8>>,
    pub previous_until: Option<i64>,
}

/// An app's asynchronous sealing job as stored.
#[derive(Clone, Debug)]
pub struct AppJobRow {
    pub id: String,
    pub app_id: String,
    pub state: String,
    /// The orders (JSON).
    pub request: String,
    /// One entry per document done (JSON array).
    pub results: String,
    pub client: String,
    pub documents: i64,
    pub sealed: i64,
    pub failed: i64,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
}

const DELIVERY_COLUMNS: &str = "id, app_id, event_id, event_kind, job_id, attempt, url, status, \
     outcome, error, duration_ms, created_at";

fn delivery(r: &sqlx::any::AnyRow) -> Result<DeliveryRow, sqlx::Error> {
    Ok(DeliveryRow {
        id: r.try_get("id")?,
        app_id: r.try_get("app_id")?,
        event_id: r.try_get("event_id")?,
        event_kind: r.try_get("event_kind")?,
        job_id: r.try_get("job_id")?,
        attempt: r.try_get("attempt")?,
        url: r.try_get("url")?,
        status: r.try_get("status")?,
        outcome: r.try_get("outcome")?,
        error: r.try_get("error")?,
        duration_ms: r.try_get("duration_ms")?,
        created_at: r.try_get("created_at")?,
    })
}

const JOB_COLUMNS: &str = "id, app_id, state, request, results, client, documents, sealed, \
     failed, created_at, started_at, finished_at";

fn app_job(r: &sqlx::any::AnyRow) -> Result<AppJobRow, sqlx::Error> {
    Ok(AppJobRow {
        id: r.try_get("id")?,
        app_id: r.try_get("app_id")?,
        state: r.try_get("state")?,
        request: r.try_get("request")?,
        results: r.try_get("results")?,
        client: r.try_get("client")?,
        documents: r.try_get("documents")?,
        sealed: r.try_get("sealed")?,
        failed: r.try_get("failed")?,
        created_at: r.try_get("created_at")?,
        started_at: r.try_get("started_at")?,
        finished_at: r.try_get("finished_at")?,
    })
}

impl Store {
    pub async fn app_webhook_secrets(&self, app_id: &str) -> Result<WebhookSecrets, StoreError> {
        let r = sqlx::query(
            "SELECT webhook_secret, webhook_secret_previous, webhook_secret_previous_until \
             FROM apps WHERE id = $1",
        )
        .bind(app_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(match r {
            None => WebhookSecrets::default(),
            Some(r) => WebhookSecrets {
                current: r.try_get(0)?,
                previous: r.try_get(1)?,
                previous_until: r.try_get(2)?,
            },
        })
    }

    /// A new current secret; the old current one signs alongside it until `previous_until`.
    pub async fn app_webhook_secret_rotate(
        tx: &mut Tx<'_>,
        app_id: &str,
        sealed: &[u8],
        previous_until: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE apps SET webhook_secret_previous = webhook_secret, \
             webhook_secret_previous_until = CASE WHEN webhook_secret IS NULL THEN NULL ELSE $2 END, \
             webhook_secret = $3, updated_at = $4 WHERE id = $1",
        )
        .bind(app_id)
        .bind(previous_until)
        .bind(sealed.to_vec())
        .bind(now)
        .execute(&mut **tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn app_event_get(&self, id: &str) -> Result<Option<AppEventRow>, StoreError> {
        let r = sqlx::query(
            "SELECT id, app_id, kind, grant_id, seal_id, payload, dedupe_key, created_at \
             FROM app_events WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        r.map(|r| {
            Ok(AppEventRow {
                id: r.try_get(0)?,
                app_id: r.try_get(1)?,
                kind: r.try_get(2)?,
                grant_id: r.try_get(3)?,
                seal_id: r.try_get(4)?,
                payload: r.try_get(5)?,
                dedupe_key: r.try_get(6)?,
                created_at: r.try_get(7)?,
            })
        })
        .transpose()
    }

    /// The callback URL of an app, read in the transaction that records an event for it.
    pub async fn app_callback_url(
        tx: &mut Tx<'_>,
        app_id: &str,
    ) -> Result<Option<String>, StoreError> {
        let r = sqlx::query("SELECT callback_url FROM apps WHERE id = $1")
            .bind(app_id)
            .fetch_optional(&mut **tx)
            .await?;
        Ok(match r {
            Some(r) => r.try_get(0)?,
            None => None,
        })
    }

    pub async fn app_delivery_insert(&self, d: &DeliveryRow) -> Result<(), StoreError> {
        sqlx::query(&format!(
            "INSERT INTO app_webhook_deliveries ({DELIVERY_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        ))
        .bind(&d.id)
        .bind(&d.app_id)
        .bind(&d.event_id)
        .bind(&d.event_kind)
        .bind(&d.job_id)
        .bind(d.attempt)
        .bind(d.url.clone())
        .bind(d.status)
        .bind(&d.outcome)
        .bind(d.error.clone())
        .bind(d.duration_ms)
        .bind(d.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// An app's delivery attempts, newest first, before the cursor.
    pub async fn app_deliveries(
        &self,
        app_id: &str,
        before: Option<(i64, String)>,
        limit: i64,
    ) -> Result<Vec<DeliveryRow>, StoreError> {
        let (at, id) = before.unwrap_or((i64::MAX, String::new()));
        let rows = sqlx::query(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM app_webhook_deliveries WHERE app_id = $1 AND \
             (created_at < $2 OR (created_at = $2 AND id < $3)) \
             ORDER BY created_at DESC, id DESC LIMIT $4"
        ))
        .bind(app_id)
        .bind(at)
        .bind(id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(delivery).collect::<Result<_, _>>()?)
    }

    pub async fn app_job_insert(tx: &mut Tx<'_>, j: &AppJobRow) -> Result<(), StoreError> {
        sqlx::query(&format!(
            "INSERT INTO app_jobs ({JOB_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        ))
        .bind(&j.id)
        .bind(&j.app_id)
        .bind(&j.state)
        .bind(&j.request)
        .bind(&j.results)
        .bind(&j.client)
        .bind(j.documents)
        .bind(j.sealed)
        .bind(j.failed)
        .bind(j.created_at)
        .bind(j.started_at)
        .bind(j.finished_at)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    pub async fn app_job_get(&self, id: &str) -> Result<Option<AppJobRow>, StoreError> {
        let r = sqlx::query(&format!("SELECT {JOB_COLUMNS} FROM app_jobs WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(r.as_ref().map(app_job).transpose()?)
    }

    /// An app's jobs, newest first, before the cursor.
    pub async fn app_jobs(
        &self,
        app_id: &str,
        before: Option<(i64, String)>,
        limit: i64,
    ) -> Result<Vec<AppJobRow>, StoreError> {
        let (at, id) = before.unwrap_or((i64::MAX, String::new()));
        let rows = sqlx::query(&format!(
            "SELECT {JOB_COLUMNS} FROM app_jobs WHERE app_id = $1 AND \
             (created_at < $2 OR (created_at = $2 AND id < $3)) \
             ORDER BY created_at DESC, id DESC LIMIT $4"
        ))
        .bind(app_id)
        .bind(at)
        .bind(id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(app_job).collect::<Result<_, _>>()?)
    }

    /// A job's progress after one more document: its results so far, counts and state.
    pub async fn app_job_progress(&self, j: &AppJobRow) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE app_jobs SET state = $2, results = $3, sealed = $4, failed = $5, \
             started_at = $6, finished_at = $7 WHERE id = $1",
        )
        .bind(&j.id)
        .bind(&j.state)
        .bind(&j.results)
        .bind(j.sealed)
        .bind(j.failed)
        .bind(j.started_at)
        .bind(j.finished_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The job's final state with the `job.finished` event, in one transaction (the caller's).
    pub async fn app_job_finish(tx: &mut Tx<'_>, j: &AppJobRow) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE app_jobs SET state = $2, results = $3, sealed = $4, failed = $5, \
             finished_at = $6 WHERE id = $1 AND state IN ('queued', 'running')",
        )
        .bind(&j.id)
        .bind(&j.state)
        .bind(&j.results)
        .bind(j.sealed)
        .bind(j.failed)
        .bind(j.finished_at)
        .execute(&mut **tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
