//! The console's notification centre: the viewer's own notifications, newest first, with paging,
//! unread ones marked, and buttons to mark one or all read. `notify::inbox` does the work.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::account::{see_other, status_of, SignedIn};
use super::{html, Lang, Page};
use crate::app::App;
use crate::notify::inbox::{self, NotificationView};

pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/notifications", get(list))
        .route("/notifications/read-all", post(read_all))
        .route("/notifications/{id}/read", post(read_one))
}

#[derive(Template)]
#[template(path = "notifications.html")]
struct ListPage {
    page: Page,
    items: Vec<NotificationView>,
    unread: i64,
    next: Option<String>,
}

#[derive(Deserialize)]
struct ListQuery {
    #[serde(default)]
    cursor: Option<String>,
}

async fn list(
    State(app): State<Arc<App>>,
    lang: Lang,
    SignedIn(who): SignedIn,
    Query(q): Query<ListQuery>,
) -> Response {
    let me = who.actor();
    let page = match inbox::list(&app, &me, false, q.cursor.as_deref(), Some(20)).await {
        Ok(p) => p,
        Err(e) => return super::error_page(lang, "/notifications", status_of(&e), None, None),
    };
    let unread = inbox::unread_count(&app, &me).await.unwrap_or(0);
    html(
        StatusCode::OK,
        &ListPage {
            page: Page::new(lang, "/notifications"),
            items: page.items,
            unread,
            next: page.next_cursor,
        },
    )
}

async fn read_one(
    State(app): State<Arc<App>>,
    SignedIn(who): SignedIn,
    Path(id): Path<String>,
) -> Response {
    let _ = inbox::mark_read(&app, &who.actor(), &id).await;
    see_other("/notifications")
}

async fn read_all(State(app): State<Arc<App>>, SignedIn(who): SignedIn) -> Response {
    let _ = inbox::mark_all_read(&app, &who.actor()).await;
    see_other("/notifications")
}
