//! Payment over HTTP: an application's order, orders' lists and detail, logistics numbers, the
//! development provider's signed callback (public: its signature is the credential), shipping
//! addresses and unified payers. Thin: `payments::service` does the work and `accounts::policy`
//! decides.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::Operator;
use super::error::json_body;
use super::error::query;
use super::openapi::{Guarded, ProblemResponse, Staff, WithBody};
use crate::app::App;
use crate::error::AppError;
use crate::payments::model::NewAddress;
use crate::payments::provider::{DevCallback, DEV};
use crate::payments::{
    AddressView, OrderPage, OrderRequest, OrderScope, OrderView, UnifiedPayerView,
};

/// Bodies above this are refused (413) before they are parsed.
pub const MAX_BODY: usize = 16 * 1024;

/// `POST /api/v1/seal-applications/{id}/order`: the application's order.
#[utoipa::path(post, path = "/api/v1/seal-applications/{id}/order", tag = "payments", security(("bearer" = [])),
    description = "Self-paid: invoice_title and taxpayer (GB 32100) are required and the answer carries \
        checkout_url. When a unified payer covers the organisation's region the order is paid at once \
        (payer unified, no checkout). UKey seals need address_id, one of the caller's addresses.",
    params(("id" = String, Path, description = "The seal application")),
    request_body(content = OrderRequest, content_type = "application/json",
        example = json!({"invoice_title": "杭州示例科技有限公司", "taxpayer": "913301061234567887"})),
    responses(
        (status = 201, description = "The order", body = OrderView),
        WithBody, Staff,
        (status = 404, response = ProblemResponse),
        (status = 409, description = "The application has an order already, or is past its draft", body = super::openapi::Problem, content_type = "application/problem+json"),
        (status = 422, response = ProblemResponse),
        Guarded,
    ))]
pub async fn create_order(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    op: Operator,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<OrderView>), AppError> {
    let req: OrderRequest = json_body(&body)?;
    let v = app.order_create(&op.actor(), &id, &req).await?;
    Ok((StatusCode::CREATED, Json(v)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrdersQuery {
    /// mine (default: those I made), org (one organisation's: give `org`), all (platform staff).
    scope: Option<String>,
    org: Option<String>,
    /// created, paid, cancelled, refunded.
    state: Option<String>,
    cursor: Option<String>,
    limit: Option<i64>,
}

/// `GET /api/v1/orders`: orders in a scope, oldest first (keyset pages).
#[utoipa::path(get, path = "/api/v1/orders", tag = "payments", security(("bearer" = [])),
    params(OrdersQuery),
    responses((status = 200, body = OrderPage), Staff, (status = 400, response = ProblemResponse), Guarded))]
pub async fn list_orders(
    State(app): State<Arc<App>>,
    q: Result<Query<OrdersQuery>, axum::extract::rejection::QueryRejection>,
    op: Operator,
) -> Result<Json<OrderPage>, AppError> {
    let q = query(q)?;
    let scope = match (q.scope.as_deref().unwrap_or("mine"), q.org.as_deref()) {
        ("mine", _) => OrderScope::Mine,
        ("all", _) => OrderScope::All,
        ("org", Some(o)) => OrderScope::Org(o),
        ("org", None) => return Err(AppError::BadRequest("scope=org needs org=ID".into())),
        (s, _) => {
            return Err(AppError::BadRequest(format!(
                "scope {s:?}: mine, org or all"
            )))
        }
    };
    Ok(Json(
        app.orders(
            &op.actor(),
            scope,
            q.state.as_deref(),
            q.cursor.as_deref(),
            q.limit,
        )
        .await?,
    ))
}

/// `GET /api/v1/orders/{id}`.
#[utoipa::path(get, path = "/api/v1/orders/{id}", tag = "payments", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = OrderView), Staff, (status = 404, response = ProblemResponse), Guarded))]
pub async fn get_order(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    op: Operator,
) -> Result<Json<OrderView>, AppError> {
    Ok(Json(app.order(&op.actor(), &id).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogisticsBody {
    /// The courier's tracking number: 4-40 letters, digits or hyphens.
    logistics_no: String,
}

/// `POST /api/v1/orders/{id}/logistics`: the tracking number of a posted UKey (platform
/// operators).
#[utoipa::path(post, path = "/api/v1/orders/{id}/logistics", tag = "payments", security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body(content = LogisticsBody, content_type = "application/json",
        example = json!({"logistics_no": "SF1234567890"})),
    responses(
        (status = 200, body = OrderView),
        WithBody, Staff,
        (status = 404, response = ProblemResponse),
        (status = 409, description = "The order is not paid, or changed meanwhile", body = super::openapi::Problem, content_type = "application/problem+json"),
        (status = 422, response = ProblemResponse),
        Guarded,
    ))]
pub async fn set_logistics(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    op: Operator,
    body: axum::body::Bytes,
) -> Result<Json<OrderView>, AppError> {
    app.may_ship(&op.actor()).await?;
    let b: LogisticsBody = json_body(&body)?;
    Ok(Json(
        app.order_set_logistics(&op.actor(), &id, &b.logistics_no)
            .await?,
    ))
}

/// What a callback is answered with.
#[derive(Serialize, ToSchema)]
pub struct CallbackAnswer {
    order_id: String,
    /// The order's state after the callback (paid).
    state: String,
}

/// `POST /api/v1/payments/dev/callback`: the development provider confirms a payment.
#[utoipa::path(post, path = "/api/v1/payments/dev/callback", tag = "payments",
    description = "Public: the development payment provider's signed confirmation. X-Dev-Pay-Signature is \
        hex HMAC-SHA256(secret, \"{X-Dev-Pay-Timestamp}.{body}\"), the timestamp in Unix seconds within \
        5 minutes of ours. Idempotent: a repeat for a paid order is answered 200 and changes nothing.",
    params(
        ("X-Dev-Pay-Timestamp" = String, Header, description = "Unix seconds"),
        ("X-Dev-Pay-Signature" = String, Header, description = "Hex HMAC-SHA256"),
    ),
    request_body(content = DevCallback, content_type = "application/json"),
    responses(
        (status = 200, description = "The order is paid", body = CallbackAnswer),
        WithBody,
        (status = 401, description = "The signature or timestamp does not verify: nothing changed", body = super::openapi::Problem, content_type = "application/problem+json"),
        (status = 404, response = ProblemResponse),
        (status = 409, response = ProblemResponse),
        (status = 422, description = "The amount differs from the order's", body = super::openapi::Problem, content_type = "application/problem+json"),
        Guarded,
    ))]
pub async fn dev_callback(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<CallbackAnswer>, AppError> {
    let v = app.payment_callback(DEV, &headers, &body).await?;
    Ok(Json(CallbackAnswer {
        order_id: v.id,
        state: v.state,
    }))
}

/// The caller's shipping addresses.
#[derive(Serialize, ToSchema)]
pub struct AddressList {
    items: Vec<AddressView>,
}

/// `GET /api/v1/addresses`: the caller's shipping addresses, mobile numbers masked.
#[utoipa::path(get, path = "/api/v1/addresses", tag = "payments", security(("bearer" = [])),
    responses((status = 200, body = AddressList), Staff, Guarded))]
pub async fn list_addresses(
    State(app): State<Arc<App>>,
    op: Operator,
) -> Result<Json<AddressList>, AppError> {
    Ok(Json(AddressList {
        items: app.addresses(&op.actor()).await?,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressBody {
    recipient: String,
    /// A mainland mobile number (stored; shown masked).
    mobile: String,
    /// GB/T 2260 region code.
    region: String,
    detail: String,
    #[serde(default)]
    is_default: bool,
}

/// `POST /api/v1/addresses`: add a shipping address (the first is the default).
#[utoipa::path(post, path = "/api/v1/addresses", tag = "payments", security(("bearer" = [])),
    request_body(content = AddressBody, content_type = "application/json",
        example = json!({"recipient": "张三", "mobile": "13900000001", "region": "330106", "detail": "文三路 1 号", "is_default": true})),
    responses((status = 201, body = AddressView), WithBody, Staff, (status = 422, response = ProblemResponse), Guarded))]
pub async fn add_address(
    State(app): State<Arc<App>>,
    op: Operator,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<AddressView>), AppError> {
    let b: AddressBody = json_body(&body)?;
    let a = NewAddress::check(&b.recipient, &b.mobile, &b.region, &b.detail)?;
    Ok((
        StatusCode::CREATED,
        Json(app.address_add(&op.actor(), a, b.is_default).await?),
    ))
}

/// `DELETE /api/v1/addresses/{id}`: delete one of the caller's addresses.
#[utoipa::path(delete, path = "/api/v1/addresses/{id}", tag = "payments", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 204, description = "Deleted"),
        (status = 404, description = "The caller has no such address", body = super::openapi::Problem, content_type = "application/problem+json"),
        Staff, Guarded))]
pub async fn delete_address(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    op: Operator,
) -> Result<StatusCode, AppError> {
    app.address_delete(&op.actor(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/addresses/{id}/default`: make one of the caller's addresses the default.
#[utoipa::path(post, path = "/api/v1/addresses/{id}/default", tag = "payments", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 204, description = "It is the default now"),
        (status = 404, description = "The caller has no such address", body = super::openapi::Problem, content_type = "application/problem+json"),
        Staff, Guarded))]
pub async fn default_address(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    op: Operator,
) -> Result<StatusCode, AppError> {
    app.address_set_default(&op.actor(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every unified payer.
#[derive(Serialize, ToSchema)]
pub struct UnifiedPayerList {
    items: Vec<UnifiedPayerView>,
}

/// `GET /api/v1/unified-payers`: the government bodies paying for their regions' applications.
#[utoipa::path(get, path = "/api/v1/unified-payers", tag = "payments", security(("bearer" = [])),
    responses((status = 200, body = UnifiedPayerList), Staff, Guarded))]
pub async fn list_unified_payers(
    State(app): State<Arc<App>>,
    op: Operator,
) -> Result<Json<UnifiedPayerList>, AppError> {
    Ok(Json(UnifiedPayerList {
        items: app.unified_payers_list(&op.actor()).await?,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnifiedPayerBody {
    /// A government organisation.
    payer_org_id: String,
    /// The GB/T 2260 region it pays for (within its own; a city's code covers its districts).
    region: String,
}

/// `POST /api/v1/unified-payers`: register unified payment for a region (platform operators).
#[utoipa::path(post, path = "/api/v1/unified-payers", tag = "payments", security(("bearer" = [])),
    request_body(content = UnifiedPayerBody, content_type = "application/json",
        example = json!({"payer_org_id": "9f1c…", "region": "330100"})),
    responses((status = 201, body = UnifiedPayerView), WithBody, Staff,
        (status = 404, response = ProblemResponse),
        (status = 409, response = ProblemResponse),
        (status = 422, response = ProblemResponse), Guarded))]
pub async fn add_unified_payer(
    State(app): State<Arc<App>>,
    op: Operator,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<UnifiedPayerView>), AppError> {
    app.may_manage_payers(&op.actor()).await?;
    let b: UnifiedPayerBody = json_body(&body)?;
    Ok((
        StatusCode::CREATED,
        Json(
            app.unified_payer_add(&op.actor(), &b.payer_org_id, &b.region)
                .await?,
        ),
    ))
}
