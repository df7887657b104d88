//! The console's payment pages: my orders (`/orders`) and one order (`/orders/{id}`: state,
//! amount in yuan, invoice, address masked, logistics number), the development provider's
//! checkout (`/pay/dev/{ref}`, public like a provider's page: its "pay" button makes the provider
//! send the signed callback), and my shipping addresses (`/addresses`: add, delete, default).
//! `payments::service` does the work.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::account::{problem, see_other, status_of, SignedIn};
use super::{html, Lang, Page};
use crate::app::App;
use crate::payments::model::NewAddress;
use crate::payments::{AddressView, OrderScope, OrderView};

pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/orders", get(list))
        .route("/orders/{id}", get(show))
        .route("/pay/dev/{reference}", get(checkout).post(pay))
        .route("/addresses", get(addresses).post(add_address))
        .route("/addresses/{id}/delete", post(delete_address))
        .route("/addresses/{id}/default", post(default_address))
}

#[derive(Template)]
#[template(path = "orders.html")]
struct ListPage {
    page: Page,
    items: Vec<OrderView>,
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
    match app
        .orders(
            &who.actor(),
            OrderScope::Mine,
            None,
            q.cursor.as_deref(),
            None,
        )
        .await
    {
        Ok(p) => html(
            StatusCode::OK,
            &ListPage {
                page: Page::new(lang, "/orders"),
                items: p.items,
                next: p.next_cursor,
            },
        ),
        Err(e) => super::error_page(lang, "/orders", status_of(&e), None, None),
    }
}

#[derive(Template)]
#[template(path = "order.html")]
struct OrderPage {
    page: Page,
    o: OrderView,
}

async fn show(
    State(app): State<Arc<App>>,
    lang: Lang,
    SignedIn(who): SignedIn,
    Path(id): Path<String>,
) -> Response {
    let here = format!("/orders/{id}");
    match app.order(&who.actor(), &id).await {
        Ok(o) => html(
            StatusCode::OK,
            &OrderPage {
                page: Page::new(lang, &here),
                o,
            },
        ),
        Err(e) => super::error_page(lang, &here, status_of(&e), None, None),
    }
}

#[derive(Template)]
#[template(path = "pay-dev.html")]
struct CheckoutPage {
    page: Page,
    reference: String,
    o: OrderView,
    error: Option<String>,
}

async fn checkout_page(
    app: &App,
    lang: Lang,
    reference: &str,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let here = format!("/pay/dev/{reference}");
    match app.dev_checkout(reference).await {
        Ok(o) => html(
            status,
            &CheckoutPage {
                page: Page::new(lang, &here),
                reference: reference.to_string(),
                o,
                error,
            },
        ),
        Err(e) => super::error_page(lang, &here, status_of(&e), None, None),
    }
}

async fn checkout(
    State(app): State<Arc<App>>,
    lang: Lang,
    Path(reference): Path<String>,
) -> Response {
    checkout_page(&app, lang, &reference, None, StatusCode::OK).await
}

async fn pay(State(app): State<Arc<App>>, lang: Lang, Path(reference): Path<String>) -> Response {
    match app.dev_pay(&reference).await {
        Ok(()) => see_other(&format!("/pay/dev/{reference}")),
        Err(e) => {
            let page = Page::new(lang, "/pay/dev");
            let msg = format!("{}: {e}", page.tr("pay.callback_failed"));
            checkout_page(&app, lang, &reference, Some(msg), StatusCode::BAD_GATEWAY).await
        }
    }
}

#[derive(Template)]
#[template(path = "addresses.html")]
struct AddressesPage {
    page: Page,
    items: Vec<AddressView>,
    error: Option<String>,
}

async fn addresses_page(
    app: &App,
    lang: Lang,
    who: &crate::accounts::session::Authenticated,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    match app.addresses(&who.actor()).await {
        Ok(items) => html(
            status,
            &AddressesPage {
                page: Page::new(lang, "/addresses"),
                items,
                error,
            },
        ),
        Err(e) => super::error_page(lang, "/addresses", status_of(&e), None, None),
    }
}

async fn addresses(State(app): State<Arc<App>>, lang: Lang, SignedIn(who): SignedIn) -> Response {
    addresses_page(&app, lang, &who, None, StatusCode::OK).await
}

#[derive(Deserialize)]
struct AddressForm {
    #[serde(default)]
    recipient: String,
    #[serde(default)]
    mobile: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    detail: String,
    #[serde(default)]
    is_default: Option<String>,
}

async fn add_address(
    State(app): State<Arc<App>>,
    lang: Lang,
    SignedIn(who): SignedIn,
    Form(f): Form<AddressForm>,
) -> Response {
    let result = match NewAddress::check(&f.recipient, &f.mobile, &f.region, &f.detail) {
        Ok(a) => app
            .address_add(&who.actor(), a, f.is_default.is_some())
            .await
            .map(|_| ()),
        Err(e) => Err(e),
    };
    after(&app, lang, &who, result).await
}

async fn delete_address(
    State(app): State<Arc<App>>,
    lang: Lang,
    SignedIn(who): SignedIn,
    Path(id): Path<String>,
) -> Response {
    let result = app.address_delete(&who.actor(), &id).await;
    after(&app, lang, &who, result).await
}

async fn default_address(
    State(app): State<Arc<App>>,
    lang: Lang,
    SignedIn(who): SignedIn,
    Path(id): Path<String>,
) -> Response {
    let result = app.address_set_default(&who.actor(), &id).await;
    after(&app, lang, &who, result).await
}

async fn after(
    app: &App,
    lang: Lang,
    who: &crate::accounts::session::Authenticated,
    result: Result<(), crate::error::AppError>,
) -> Response {
    match result {
        Ok(()) => see_other("/addresses"),
        Err(e) => {
            let page = Page::new(lang, "/addresses");
            let msg = problem(&page, &e);
            addresses_page(app, lang, who, Some(msg), status_of(&e)).await
        }
    }
}
