//! The OpenAPI 3.1 document, made from the code: the handlers' `#[utoipa::path]` attributes and the
//! types they read and write, gathered by the route table in `super` (each route is registered with
//! its documentation, so the router cannot serve what the document leaves out). Here: the document's
//! frame (info, tags, the bearer scheme), the shared error responses, and `document()`.

use std::collections::BTreeMap;

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Schema};
use utoipa::{IntoResponses, Modify, OpenApi, PartialSchema, ToResponse, ToSchema};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "sealpki API",
        description = "PKI and electronic-seal service: certificates from CSRs, CA chains, revocation \
            status (OCSP, CRLs), RFC 3161 time stamps, PAdES PDF sealing and GB/T 38540 seals.\n\n\
            Errors are RFC 7807 problem+json (`application/problem+json`: type, title, status, \
            detail). Operator endpoints take `Authorization: Bearer TOKEN`, the token from \
            `POST /api/v1/login`; `POST /api/v1/logout` ends it. Creating and transitioning POSTs \
            of workflows take an `Idempotency-Key` header. 429 and 503 answers carry Retry-After.\n\n\
            This document is generated from the server's code and served at `/api/openapi.json`; \
            the web console's HTML pages (`/`, `/verify`, …) are not part of the API and not listed."
    ),
    modifiers(&Frame),
    components(
        schemas(Problem, Binary),
        responses(ProblemResponse, BusyResponse, TimeoutResponse, TooManyResponse)
    ),
    tags(
        (name = "auth", description = "Operator sessions and accounts"),
        (name = "accounts", description = "People registering with SMS codes, their accounts, sessions and second factor"),
        (name = "organisations", description = "Organisations in a tree, look-up, memberships"),
        (name = "certificates", description = "Issuance, lookup, download, status changes, verification"),
        (name = "authorities", description = "Our CAs: list, chains, rollover"),
        (name = "status", description = "Revocation status and time stamps at the URLs certificates carry \
            (CRL distribution points, AIA): binary protocols, answered in their own formats"),
        (name = "documents", description = "PDF sealing and verification, GB/T 38540 seals"),
        (name = "workflows", description = "Typed workflow records with history"),
        (name = "files", description = "Uploads: checked by content, stored by SHA-256"),
        (name = "accounts", description = "Registration, password reset, the caller's account and sessions"),
        (name = "organisations", description = "Organisations and their members"),
        (name = "apps", description = "Cloud-signing applications: the registry, their credentials (API keys, \
            client certificates), and the routes apps call with a signed request or a client certificate"),
        (name = "jobs", description = "The outbox of background jobs"),
        (name = "notifications", description = "The caller's notifications"),
        (name = "operations", description = "Health, readiness, metrics, this document"),
    )
)]
struct ApiDoc;

/// The document's frame with no paths: `super::document` adds every route of the table.
pub fn frame() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The finishing touches once every route is in: axum's catch-all segments (`{*request}`) become
/// plain OpenAPI path parameters (`{request}`), which is how a client fills them in.
pub fn finish(mut doc: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    let paths = std::mem::take(&mut doc.paths.paths);
    doc.paths.paths = paths
        .into_iter()
        .map(|(path, item)| (path.replace("{*", "{"), item))
        .collect();
    doc
}

/// The bearer security scheme that operator endpoints name as `bearer`.
struct Frame;

impl Modify for Frame {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("The token from POST /api/v1/login"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "app-signature",
            SecurityScheme::ApiKey(utoipa::openapi::security::ApiKey::Header(
                utoipa::openapi::security::ApiKeyValue::with_description(
                    "X-Sealpki-Signature",
                    "An app's HMAC-signed request: X-Sealpki-App, X-Sealpki-Key, \
                     X-Sealpki-Timestamp (unix seconds, ±300 s), X-Sealpki-Nonce (16-64 of \
                     [A-Za-z0-9_-], once), Content-Digest (sha-256=:…: or sm3=:…:) and \
                     X-Sealpki-Signature = base64(HMAC(secret, METHOD\\nPATH\\nSORTED-QUERY\\n\
                     TIMESTAMP\\nNONCE\\nCONTENT-DIGEST\\nAPP-ID)); see docs/apps.md",
                ),
            )),
        );
        components.add_security_scheme(
            "app-certificate",
            SecurityScheme::MutualTls {
                description: Some(
                    "The TLS client certificate of an app's certificate credential (service CA, \
                     profile app-client)"
                        .into(),
                ),
                extensions: None,
            },
        );
    }
}

/// RFC 7807 problem details: the body of every error answer (`application/problem+json`). Written
/// by `http::error`; a test below checks that every kind of error it writes fits this shape.
#[derive(ToSchema, serde::Deserialize, Debug)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // read only by its schema and by the test
pub struct Problem {
    /// `https://sealpki.dev/problems/KIND`, KIND a stable key (bad-request, not-found, …).
    #[serde(rename = "type")]
    #[schema(rename = "type")]
    kind: String,
    /// The HTTP status's reason phrase.
    title: String,
    status: u16,
    /// What went wrong, for people; says little for a 500.
    detail: String,
    /// 409 of a workflow record: its current state.
    #[serde(default)]
    state: Option<String>,
    /// 409 of a workflow record: its current version.
    #[serde(default)]
    version: Option<i64>,
    /// 409 of a workflow record: the events its state allows.
    #[serde(default)]
    allowed_events: Option<Vec<String>>,
    /// 422 of a field that breaks a rule: the field.
    #[serde(default)]
    field: Option<String>,
}

/// Raw bytes (a PDF, DER), as a request or response body.
pub struct Binary;

impl PartialSchema for Binary {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
            .into()
    }
}

impl ToSchema for Binary {}

/// A stored upload, as `http::files` answers it (built there with `json!`; this is its shape).
#[derive(ToSchema)]
#[allow(dead_code)] // a schema only
pub struct FileRecord {
    /// 32 hex digits.
    id: String,
    /// The content's SHA-256, lower-case hex.
    sha256: String,
    size: i64,
    /// image/png, image/jpeg, image/bmp, image/gif or application/pdf.
    media_type: String,
    /// seal-impression, application-scan, attachment or signature-drawing.
    purpose: String,
    /// The name it was uploaded with.
    name: String,
    uploaded_by: String,
    /// Unix seconds.
    created_at: i64,
    /// The record the file belongs to, once attached to one.
    owner: Option<FileOwner>,
}

/// The record a file is attached to.
#[derive(ToSchema)]
#[allow(dead_code)] // a schema only
pub struct FileOwner {
    kind: String,
    id: String,
}

/// A multipart upload: one file part.
#[derive(ToSchema)]
#[allow(dead_code)] // a schema only
pub struct FileUpload {
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

fn problem(description: &str, retry_after: bool) -> RefOr<Response> {
    let mut r = ResponseBuilder::new().description(description).content(
        "application/problem+json",
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("Problem")))
            .build(),
    );
    if retry_after {
        r = r.header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .minimum(Some(1)),
                )
                .description(Some("seconds to wait"))
                .build(),
        );
    }
    r.build().into()
}

/// `#/components/responses/Problem`: an error, as problem+json.
pub struct ProblemResponse;

impl<'r> ToResponse<'r> for ProblemResponse {
    fn response() -> (&'r str, RefOr<Response>) {
        ("Problem", problem("Problem (RFC 7807)", false))
    }
}

/// `#/components/responses/Busy`.
pub struct BusyResponse;

impl<'r> ToResponse<'r> for BusyResponse {
    fn response() -> (&'r str, RefOr<Response>) {
        (
            "Busy",
            problem(
                "The server is at its concurrency limit (problem type overloaded), the request took \
                 longer than its timeout (timeout), or a dependency is unavailable (unavailable)",
                true,
            ),
        )
    }
}

/// `#/components/responses/Timeout`.
pub struct TimeoutResponse;

impl<'r> ToResponse<'r> for TimeoutResponse {
    fn response() -> (&'r str, RefOr<Response>) {
        (
            "Timeout",
            problem(
                "The request body did not arrive within the request timeout",
                false,
            ),
        )
    }
}

/// `#/components/responses/TooManyRequests`.
pub struct TooManyResponse;

impl<'r> ToResponse<'r> for TooManyResponse {
    fn response() -> (&'r str, RefOr<Response>) {
        (
            "TooManyRequests",
            problem(
                "Too many requests from this client address (IPv6 by /64) for this endpoint, or too \
                 many failed logins; see [limits] in the configuration",
                true,
            ),
        )
    }
}

fn refs(list: &[(&str, &str)]) -> BTreeMap<String, RefOr<Response>> {
    list.iter()
        .map(|(status, name)| (status.to_string(), Ref::from_response_name(*name).into()))
        .collect()
}

/// What every route under the global concurrency limit may answer: 503 (all but `/healthz`).
pub struct Guarded;

impl IntoResponses for Guarded {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        refs(&[("503", "Busy")])
    }
}

/// What a route that reads a request body may answer besides: unreadable (400), too slow (408),
/// too large (413).
pub struct WithBody;

impl IntoResponses for WithBody {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        refs(&[("400", "Problem"), ("408", "Timeout"), ("413", "Problem")])
    }
}

/// What an operator endpoint may answer besides: no or a bad token (401), a role without the
/// permission (403, naming it).
pub struct Staff;

impl IntoResponses for Staff {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        refs(&[("401", "Problem"), ("403", "Problem")])
    }
}

/// A route under a per-address rate limit: 429 with Retry-After.
pub struct RateLimited;

impl IntoResponses for RateLimited {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        refs(&[("429", "TooManyRequests")])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::AppError;
    use axum::response::IntoResponse;

    /// Every kind of error `http::error` writes is a `Problem` (no field the schema lacks).
    #[tokio::test]
    async fn problems_fit_their_schema() {
        let samples = [
            AppError::BadRequest("x".into()),
            AppError::NotFound("x".into()),
            AppError::Unauthenticated,
            AppError::Internal("x".into()),
            AppError::TooLarge("x".into()),
            AppError::StateConflict {
                reason: "stale-version",
                message: "x".into(),
                state: "draft",
                version: 2,
                allowed_events: vec!["submit"],
            },
        ];
        for e in samples {
            let body = axum::body::to_bytes(e.into_response().into_body(), 1 << 16)
                .await
                .expect("body");
            let p: Result<Problem, _> = serde_json::from_slice(&body);
            assert!(p.is_ok(), "{}: {p:?}", String::from_utf8_lossy(&body));
        }
    }

    fn refs<'a>(v: &'a serde_json::Value, out: &mut Vec<&'a str>) {
        match v {
            serde_json::Value::Object(m) => {
                if let Some(serde_json::Value::String(r)) = m.get("$ref") {
                    out.push(r);
                }
                m.values().for_each(|v| refs(v, out));
            }
            serde_json::Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }

    /// Every `$ref` names a component the document has (a response type used in a
    /// `#[utoipa::path]` but not listed in `components` would dangle), and every operation has a
    /// tag and a success answer.
    #[test]
    fn the_document_is_whole() {
        let doc = serde_json::to_value(crate::http::document()).expect("JSON");
        let mut found = Vec::new();
        refs(&doc, &mut found);
        for r in found {
            let pointer = r.strip_prefix('#').unwrap_or(r);
            assert!(doc.pointer(pointer).is_some(), "{r} is not in the document");
        }
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for (method, op) in item.as_object().expect("path item") {
                assert!(
                    op["tags"].as_array().is_some_and(|t| !t.is_empty()),
                    "{method} {path} has no tag"
                );
                assert!(
                    op["responses"]
                        .as_object()
                        .is_some_and(|r| r.keys().any(|k| k.starts_with('2'))),
                    "{method} {path} has no success answer"
                );
            }
        }
    }

    #[test]
    fn catch_all_segments_become_parameters() {
        let mut doc = frame();
        doc.paths
            .paths
            .insert("/ocsp/{ca}/{*request}".into(), Default::default());
        let doc = finish(doc);
        assert!(doc.paths.paths.contains_key("/ocsp/{ca}/{request}"));
    }
}
