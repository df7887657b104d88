//! In-app notifications: written by the worker for `notification` jobs (at most one row per job),
//! read and marked read only by their recipient — every query names the recipient.

use sqlx::Row;

use super::{Store, StoreError};

/// One notification as stored.
#[derive(Clone, Debug)]
pub struct NotificationRow {
    pub id: String,
    pub recipient: String,
    pub kind: String,
    pub title: String,
    pub body: String,
    pub link: Option<String>,
    pub created_at: i64,
    pub read_at: Option<i64>,
}

const COLUMNS: &str = "id, recipient, kind, title, body, link, created_at, read_at";

fn notification_row(r: &sqlx::any::AnyRow) -> Result<NotificationRow, StoreError> {
    Ok(NotificationRow {
        id: r.try_get(0)?,
        recipient: r.try_get(1)?,
        kind: r.try_get(2)?,
        title: r.try_get(3)?,
        body: r.try_get(4)?,
        link: r.try_get(5)?,
        created_at: r.try_get(6)?,
        read_at: r.try_get(7)?,
    })
}

impl Store {
    /// Write the notification of job `job_id`; a second delivery of the same job writes nothing
    /// (false).
    pub async fn notification_insert(
        &self,
        n: &NotificationRow,
        job_id: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO notifications (id, recipient, kind, title, body, link, created_at, read_at, \
             job_id) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8) ON CONFLICT (job_id) DO NOTHING",
        )
        .bind(&n.id)
        .bind(&n.recipient)
        .bind(&n.kind)
        .bind(&n.title)
        .bind(&n.body)
        .bind(&n.link)
        .bind(n.created_at)
        .bind(job_id)
        .execute(&self.pool)
        .await
        .map_err(StoreError::from_insert)?;
        Ok(done.rows_affected() == 1)
    }

    /// The recipient's notifications (only unread ones if asked), newest first, before the cursor
    /// `(created_at, id)`, at most `limit`.
    pub async fn notification_list(
        &self,
        recipient: &str,
        unread_only: bool,
        before: Option<(i64, &str)>,
        limit: i64,
    ) -> Result<Vec<NotificationRow>, StoreError> {
        let (at, id) = before.unwrap_or((0, ""));
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM notifications WHERE recipient = $1 \
             AND ($2 = 0 OR read_at IS NULL) \
             AND ($3 = 0 OR created_at < $4 OR (created_at = $4 AND id < $5)) \
             ORDER BY created_at DESC, id DESC LIMIT $6"
        ))
        .bind(recipient)
        .bind(i64::from(unread_only))
        .bind(i64::from(before.is_some()))
        .bind(at)
        .bind(id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(notification_row).collect()
    }

    pub async fn notification_unread_count(&self, recipient: &str) -> Result<i64, StoreError> {
        let r = sqlx::query(
            "SELECT COUNT(*) FROM notifications WHERE recipient = $1 AND read_at IS NULL",
        )
        .bind(recipient)
        .fetch_one(&self.pool)
        .await?;
        Ok(r.try_get(0)?)
    }

    /// Mark one of the recipient's notifications read (keeping the first read time). False when
    /// the recipient has no notification of that id.
    pub async fn notification_mark_read(
        &self,
        recipient: &str,
        id: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let r = sqlx::query(
            "UPDATE notifications SET read_at = COALESCE(read_at, $3) \
             WHERE recipient = $1 AND id = $2",
        )
        .bind(recipient)
        .bind(id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Mark all of the recipient's unread notifications read; returns how many.
    pub async fn notification_mark_all_read(
        &self,
        recipient: &str,
        now: i64,
    ) -> Result<u64, StoreError> {
        let r = sqlx::query(
            "UPDATE notifications SET read_at = $2 WHERE recipient = $1 AND read_at IS NULL",
        )
        .bind(recipient)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected())
    }
}
