//! The in-app inbox: a caller's own notifications (list, unread count, mark read), and the
//! operators' delivery check (`send_test`). Every read and write is scoped to the caller: another
//! user's notification id is answered like one that does not exist (404), so ids reveal nothing.

use serde::{Deserialize, Serialize};

use super::{enqueue, Channel, Lang, Message, NotifyError, Recipient};
use crate::access::{Actor, Permission};
use crate::app::App;
use crate::error::AppError;
use crate::store::{NotificationRow, StoreError};

/// One notification as its recipient sees it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct NotificationView {
    pub id: String,
    /// What happened, a stable name (`test`, …).
    pub kind: String,
    pub title: String,
    pub body: String,
    /// A console path or URL to follow.
    pub link: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds; null while unread.
    pub read_at: Option<i64>,
}

impl From<NotificationRow> for NotificationView {
    fn from(r: NotificationRow) -> Self {
        NotificationView {
            id: r.id,
            kind: r.kind,
            title: r.title,
            body: r.body,
            link: r.link,
            created_at: r.created_at,
            read_at: r.read_at,
        }
    }
}

/// A page of notifications, newest first; `next_cursor` when more may follow.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct NotificationPage {
    pub items: Vec<NotificationView>,
    pub next_cursor: Option<String>,
}

/// The caller's notifications, newest first (only unread ones if asked).
pub async fn list(
    app: &App,
    me: &Actor,
    unread_only: bool,
    cursor: Option<&str>,
    limit: Option<i64>,
) -> Result<NotificationPage, AppError> {
    let before = crate::paging::cursor(cursor)?;
    let limit = crate::paging::limit(limit, 100, 1000)?;
    let rows = app
        .store
        .notification_list(&me.name, unread_only, before, limit)
        .await?;
    let next_cursor = crate::paging::next(&rows, limit, |r| (r.created_at, &r.id));
    Ok(NotificationPage {
        items: rows.into_iter().map(Into::into).collect(),
        next_cursor,
    })
}

pub async fn unread_count(app: &App, me: &Actor) -> Result<i64, AppError> {
    Ok(app.store.notification_unread_count(&me.name).await?)
}

/// Mark one of the caller's notifications read (again is fine: the first time stays).
pub async fn mark_read(app: &App, me: &Actor, id: &str) -> Result<(), AppError> {
    if app
        .store
        .notification_mark_read(&me.name, id, crate::store::now())
        .await?
    {
        Ok(())
    } else {
        Err(AppError::NotFound(format!("no notification {id:?}")))
    }
}

/// Mark all of the caller's notifications read; how many were unread.
pub async fn mark_all_read(app: &App, me: &Actor) -> Result<u64, AppError> {
    Ok(app
        .store
        .notification_mark_all_read(&me.name, crate::store::now())
        .await?)
}

/// The body of `POST /api/v1/notifications/test`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TestRequest {
    /// Whose inbox gets the in-app notification.
    pub username: String,
    /// Needed for channel `email`.
    pub email: Option<String>,
    /// 11 digits; needed for channel `sms`.
    pub mobile: Option<String>,
    /// `zh-CN` (default) or `en`.
    pub lang: Option<String>,
    /// Any of `in-app`, `email`, `sms`; each at most once.
    pub channels: Vec<Channel>,
}

/// The answer: the jobs made, one per channel, in the order asked.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TestQueued {
    pub jobs: Vec<String>,
}

/// An operator's delivery check: the test message to someone over the chosen channels, through
/// the outbox like any other notification, audited (`notification.test`, addresses masked).
pub async fn send_test(app: &App, actor: &Actor, req: TestRequest) -> Result<TestQueued, AppError> {
    actor.require(Permission::ManageJobs)?;
    let name_len = req.username.chars().count();
    if name_len == 0 || name_len > 64 {
        return Err(AppError::BadRequest(
            "username must be 1-64 characters".into(),
        ));
    }
    if req.channels.is_empty() {
        return Err(AppError::BadRequest(
            "channels must name at least one channel".into(),
        ));
    }
    let mut channels = req.channels.clone();
    channels.sort_by_key(|c| c.as_str());
    channels.dedup();
    if channels.len() != req.channels.len() {
        return Err(AppError::BadRequest(
            "channels may name each channel once".into(),
        ));
    }
    let to = Recipient {
        username: req.username,
        email: req.email,
        mobile: req.mobile,
        lang: req.lang.as_deref().map(Lang::parse).unwrap_or_default(),
    };
    let mut tx = app.store.begin().await?;
    let jobs = enqueue(
        &mut tx,
        &app.config,
        &to,
        &Message::test(),
        &req.channels,
        None,
    )
    .await
    .map_err(|e| match e {
        NotifyError::Store(s) => AppError::from(s),
        other => AppError::Policy(other.to_string()),
    })?;
    app.audit
        .append(
            &mut tx,
            &actor.name,
            "notification.test",
            serde_json::json!({
                "username": to.username,
                "email": to.email.as_deref().map(crate::jobs::mask_email),
                "mobile": to.mobile.as_deref().map(super::sms::mask),
                "channels": req.channels,
                "jobs": jobs,
            }),
        )
        .await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(TestQueued { jobs })
}
