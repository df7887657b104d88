//! Certificates and CA chains: issue from a CSR, get, list (paginated), download as PEM or DER.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use sealpki_pki::pem::{cert_pem, chain_pem, pkcs7_certs_only};
use sealpki_pki::{CertRequest, VerifiedCsr};
use serde::Deserialize;
use serde_json::json;

use super::auth::Operator;
use super::error::json_body;
use crate::access::Permission;
use crate::app::App;
use crate::error::AppError;
use crate::store::{CertFilter, CertRow, CertState};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IssueBody {
    profile: String,
    /// PEM CSR; or `key` + `subject` for a key in one of our key stores.
    csr: Option<String>,
    key: Option<String>,
    subject: Option<String>,
    #[serde(default)]
    dns: Vec<String>,
    /// Issuing CA, for profiles without a fixed one (ocsp-responder).
    ca: Option<String>,
    validity_days: Option<u32>,
}

pub async fn issue(
    State(app): State<Arc<App>>,
    op: Operator,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let actor = op.require(Permission::Issue)?;
    let req: IssueBody = json_body(&body)?;
    let mut cr = match (&req.csr, &req.key, &req.subject) {
        (Some(csr), None, None) => CertRequest::from_csr(VerifiedCsr::parse(csr.as_bytes())?),
        (None, Some(key), Some(subject)) => {
            app.request_for_stored_key(key, subject, &req.dns).await?
        }
        _ => {
            return Err(AppError::BadRequest(
                "give either csr, or key and subject".into(),
            ))
        }
    };
    if let Some(d) = req.validity_days {
        cr = cr.with_validity_days(d);
    }
    let issued = app
        .issue(&actor.name, &req.profile, cr, req.ca.as_deref())
        .await?;
    let body = json!({
        "serial": issued.serial,
        "ca": issued.ca,
        "profile": issued.profile,
        "sha256": issued.fingerprint,
        "certificate": cert_pem(&issued.der),
        "chain": chain_pem(issued.chain.iter().map(|c| c.as_slice())),
    });
    Ok((
        StatusCode::CREATED,
        [(
            header::LOCATION,
            format!("/api/v1/certificates/{}", issued.serial),
        )],
        Json(body),
    )
        .into_response())
}

pub use crate::public::normalise_serial;

async fn load(app: &App, serial: &str) -> Result<CertRow, AppError> {
    let serial = normalise_serial(serial)?;
    app.store
        .cert_get(&serial)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no certificate with serial {serial}")))
}

fn view(row: &CertRow) -> serde_json::Value {
    let mut v = serde_json::to_value(row).unwrap_or_default();
    if let Some(der) = &row.der {
        v["certificate"] = json!(cert_pem(der));
    }
    v
}

pub async fn get_one(
    State(app): State<Arc<App>>,
    _op: Operator,
    Path(serial): Path<String>,
) -> Result<Json<serde_json::Value>, AppError> {
    Ok(Json(view(&load(&app, &serial).await?)))
}

pub async fn download(
    State(app): State<Arc<App>>,
    _op: Operator,
    Path((serial, format)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let row = load(&app, &serial).await?;
    let der = row.der.clone().ok_or_else(|| {
        AppError::NotFound(format!(
            "certificate {} is not issued (state pending)",
            row.serial
        ))
    })?;
    match format.as_str() {
        "pem" => Ok((
            [(header::CONTENT_TYPE, "application/pem-certificate-chain")],
            cert_pem(&der),
        )
            .into_response()),
        "der" => Ok(([(header::CONTENT_TYPE, "application/pkix-cert")], der).into_response()),
        "chain" => {
            let mut all = vec![der];
            all.extend(app.key_chain(&row.ca_key)?);
            Ok((
                [(header::CONTENT_TYPE, "application/pem-certificate-chain")],
                chain_pem(all.iter().map(|c| c.as_slice())),
            )
                .into_response())
        }
        other => Err(AppError::NotFound(format!(
            "no format {other:?} (pem, der or chain)"
        ))),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    ca: Option<String>,
    profile: Option<String>,
    subject: Option<String>,
    state: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

pub async fn list(
    State(app): State<Arc<App>>,
    _op: Operator,
    q: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<serde_json::Value>, AppError> {
    let Query(q) = q.map_err(|e| AppError::BadRequest(e.body_text()))?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=1000).contains(&limit) {
        return Err(AppError::BadRequest(
            "limit must be between 1 and 1000".into(),
        ));
    }
    let state = match q.state.as_deref() {
        None | Some("issued") => Some(CertState::Issued),
        Some("pending") => Some(CertState::Pending),
        Some("all") => None,
        Some(other) => {
            return Err(AppError::BadRequest(format!(
                "state {other:?} (issued, pending or all)"
            )))
        }
    };
    let after = match &q.cursor {
        None => None,
        Some(c) => {
            let (at, serial) = c
                .split_once('.')
                .ok_or_else(|| AppError::BadRequest("malformed cursor".into()))?;
            Some((
                at.parse()
                    .map_err(|_| AppError::BadRequest("malformed cursor".into()))?,
                normalise_serial(serial)?,
            ))
        }
    };
    let rows = app
        .store
        .cert_list(&CertFilter {
            ca: q.ca,
            profile: q.profile,
            subject: q.subject,
            state,
            after,
            limit,
        })
        .await?;
    let next = (rows.len() as i64 == limit)
        .then(|| {
            rows.last()
                .map(|r| format!("{}.{}", r.created_at, r.serial))
        })
        .flatten();
    Ok(Json(
        json!({"items": rows.iter().map(|r| serde_json::to_value(r).unwrap_or_default()).collect::<Vec<_>>(), "next_cursor": next}),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainQuery {
    format: Option<String>,
}

/// A CA's chain: its certificate first, up to the root. Public: relying parties need it. `name` is a
/// CA name (its issuing key) or a CA key label (`seal-g7`).
pub async fn ca_chain(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
    q: Result<Query<ChainQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, AppError> {
    let Query(q) = q.map_err(|e| AppError::BadRequest(e.body_text()))?;
    let chain = match app.chain(&name) {
        Ok(c) => c,
        Err(_) => app.key_chain(&name)?,
    };
    match q.format.as_deref().unwrap_or("pem") {
        "pem" => Ok((
            [(header::CONTENT_TYPE, "application/pem-certificate-chain")],
            chain_pem(chain.iter().map(|c| c.as_slice())),
        )
            .into_response()),
        "der" | "p7c" => Ok((
            [(
                header::CONTENT_TYPE,
                "application/pkcs7-mime; smime-type=certs-only",
            )],
            pkcs7_certs_only(&chain).map_err(|e| AppError::Internal(e.to_string()))?,
        )
            .into_response()),
        other => Err(AppError::BadRequest(format!(
            "format {other:?} (pem or der)"
        ))),
    }
}

/// `GET /ca/{label}.der`: the certificate of the CA key, at the URL certificates name in their AIA.
pub async fn ca_cert(
    State(app): State<Arc<App>>,
    Path(file): Path<String>,
) -> Result<Response, AppError> {
    let name = file
        .strip_suffix(".der")
        .ok_or_else(|| AppError::NotFound(format!("no file {file:?}")))?;
    let key = app.ca_key(name)?;
    Ok((
        [(header::CONTENT_TYPE, "application/pkix-cert")],
        key.issuer.der().to_vec(),
    )
        .into_response())
}

/// `GET /api/v1/cas`: public, but key references (which key store, which object) only for staff.
pub async fn list_cas(
    State(app): State<Arc<App>>,
    op: super::auth::MaybeOperator,
) -> Result<Json<serde_json::Value>, AppError> {
    let staff = match op.0 {
        Some(o) => {
            o.require(Permission::Read)?;
            true
        }
        None => false,
    };
    let mut items = app.ca_summaries();
    if !staff {
        for i in &mut items {
            if let Some(m) = i.as_object_mut() {
                m.remove("key");
            }
        }
    }
    Ok(Json(json!({"items": items})))
}

/// `POST /api/v1/cas/{name}/rollover` (admin): a new issuing key for the CA.
pub async fn rollover(
    State(app): State<Arc<App>>,
    op: Operator,
    Path(name): Path<String>,
) -> Result<(StatusCode, Json<serde_json::Value>), AppError> {
    let actor = op.require(Permission::Rollover)?;
    let report = app.rollover(&actor.name, &name).await?;
    Ok((StatusCode::CREATED, Json(json!(report))))
}
