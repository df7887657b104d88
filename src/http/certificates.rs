//! Certificates and CA chains: issue from a CSR, get, list (paginated), download as PEM or DER.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use sealpki_pki::pem::{cert_pem, chain_pem, pkcs7_certs_only};
use sealpki_pki::{CertRequest, VerifiedCsr};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::Operator;
use super::error::json_body;
use super::openapi::{Binary, Guarded, ProblemResponse, Staff, WithBody};
use crate::access::Permission;
use crate::app::App;
use crate::error::AppError;
use crate::store::{CertFilter, CertRow, CertState};

/// Either `csr`, or `key` and `subject` (a key made with `sealpki keys generate`).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = IssueRequest)]
struct IssueBody {
    /// A profile that may be asked for (seal-signing, maker-production, chip-seal,
    /// physical-electronic-seal, controller-device, tls-server, app-client, …).
    profile: String,
    /// PKCS#10 request, PEM.
    csr: Option<String>,
    /// soft:NAME or pkcs11:token=LABEL;object=NAME.
    key: Option<String>,
    /// RFC 4514 DN, most specific first (with `key`).
    subject: Option<String>,
    /// DNS names for the subjectAltName (with `key`).
    #[serde(default)]
    dns: Vec<String>,
    /// Issuing CA, for profiles without a fixed one (ocsp-responder).
    ca: Option<String>,
    #[schema(minimum = 1)]
    validity_days: Option<u32>,
}

/// What `POST /api/v1/certificates` made.
#[derive(Serialize, ToSchema)]
pub struct Issued {
    /// Upper-case hex, as `openssl x509 -serial` prints it.
    serial: String,
    ca: String,
    profile: String,
    sha256: String,
    /// PEM.
    certificate: String,
    /// PEM, issuing CA first, root last.
    chain: String,
}

/// Issue a certificate from a CSR (or for a stored key): profile checks and lint first, the intent
/// recorded before the CA key signs.
#[utoipa::path(post, path = "/api/v1/certificates", tag = "certificates",
    security(("bearer" = [])),
    request_body(content = IssueBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Issued; Location names the certificate", body = Issued,
            headers(("Location" = String, description = "/api/v1/certificates/{serial}"))),
        WithBody, Staff,
        (status = 404, response = ProblemResponse),
        (status = 409, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        Guarded,
    ))]
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
    let location = format!("/api/v1/certificates/{}", issued.serial);
    let body = Issued {
        certificate: cert_pem(&issued.der),
        chain: chain_pem(issued.chain.iter().map(|c| c.as_slice())),
        serial: issued.serial,
        ca: issued.ca,
        profile: issued.profile,
        sha256: issued.fingerprint,
    };
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
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

/// One certificate: its record and, once issued, the certificate.
#[derive(Serialize, ToSchema)]
pub struct Certificate {
    #[serde(flatten)]
    record: CertRow,
    /// PEM, once issued.
    #[serde(skip_serializing_if = "Option::is_none")]
    certificate: Option<String>,
}

/// A certificate's record and, once issued, the certificate (PEM).
#[utoipa::path(get, path = "/api/v1/certificates/{serial}", tag = "certificates",
    security(("bearer" = [])),
    params(("serial" = String, Path, description = "Hex, any case, colons allowed")),
    responses(
        (status = 200, body = Certificate),
        (status = 400, response = ProblemResponse),
        Staff,
        (status = 404, response = ProblemResponse),
        Guarded,
    ))]
pub async fn get_one(
    State(app): State<Arc<App>>,
    op: Operator,
    Path(serial): Path<String>,
) -> Result<Json<Certificate>, AppError> {
    op.require(Permission::Read)?;
    let record = load(&app, &serial).await?;
    let certificate = record.der.as_deref().map(cert_pem);
    Ok(Json(Certificate {
        record,
        certificate,
    }))
}

/// Download an issued certificate: `pem`, `der`, or `chain` (PEM, the certificate then its CAs).
#[utoipa::path(get, path = "/api/v1/certificates/{serial}/{format}", tag = "certificates",
    security(("bearer" = [])),
    params(
        ("serial" = String, Path, description = "Hex, any case, colons allowed"),
        ("format" = String, Path, description = "pem, der or chain"),
    ),
    responses(
        (status = 200, description = "The certificate", content(
            (String = "application/pem-certificate-chain"),
            (Binary = "application/pkix-cert"),
        )),
        (status = 400, response = ProblemResponse),
        Staff,
        (status = 404, response = ProblemResponse),
        Guarded,
    ))]
pub async fn download(
    State(app): State<Arc<App>>,
    op: Operator,
    Path((serial, format)): Path<(String, String)>,
) -> Result<Response, AppError> {
    op.require(Permission::Read)?;
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

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// CA name (root, seal, maker, device, service).
    ca: Option<String>,
    profile: Option<String>,
    /// Part of the subject DN.
    subject: Option<String>,
    /// issued (default), pending or all.
    state: Option<String>,
    /// 1 to 1000, default 50.
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// A page of certificate records, oldest first.
#[derive(Serialize, ToSchema)]
pub struct CertificatePage {
    items: Vec<CertRow>,
    /// Given when more may follow: pass it as `cursor`.
    next_cursor: Option<String>,
}

/// Certificate records, filtered, oldest first, a page at a time.
#[utoipa::path(get, path = "/api/v1/certificates", tag = "certificates",
    security(("bearer" = [])),
    params(ListQuery),
    responses(
        (status = 200, body = CertificatePage),
        (status = 400, response = ProblemResponse),
        Staff, Guarded,
    ))]
pub async fn list(
    State(app): State<Arc<App>>,
    op: Operator,
    q: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<CertificatePage>, AppError> {
    op.require(Permission::Read)?;
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
    let next = crate::paging::next(&rows, limit, |r| (r.created_at, &r.serial));
    Ok(Json(CertificatePage {
        items: rows,
        next_cursor: next,
    }))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ChainQuery {
    /// pem (default), or der / p7c for PKCS#7 certs-only.
    format: Option<String>,
}

/// A CA's chain: its certificate first, up to the root. Public: relying parties need it. `name` is a
/// CA name (its issuing key) or a CA key label (`seal-g7`).
#[utoipa::path(get, path = "/api/v1/cas/{name}/chain", tag = "authorities",
    params(("name" = String, Path, description = "CA name (root, seal, …) or CA key label (seal-g2)", example = "seal"), ChainQuery),
    responses(
        (status = 200, description = "The chain", content(
            (String = "application/pem-certificate-chain"),
            (Binary = "application/pkcs7-mime"),
        )),
        (status = 400, response = ProblemResponse),
        (status = 404, response = ProblemResponse),
        Guarded,
    ))]
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
#[utoipa::path(get, path = "/ca/{file}", tag = "status",
    params(("file" = String, Path, description = "LABEL.der, LABEL a CA key label", example = "seal.der")),
    responses(
        (status = 200, description = "The CA certificate, DER", content_type = "application/pkix-cert", body = Binary),
        (status = 404, response = ProblemResponse),
        Guarded,
    ))]
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

/// One CA key, as `GET /api/v1/cas` lists it.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct CaSummary {
    /// The CA (root, seal, maker, device, service).
    name: String,
    /// The key's label, in its CRL and OCSP URLs (seal-g2).
    label: String,
    /// Whether this key issues today (older generations still serve status).
    issuing: bool,
    generation: i64,
    subject: String,
    serial: String,
    sha256: String,
    algorithm: String,
    /// Where the key lives (soft:NAME, pkcs11:…): staff only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    key: Option<String>,
    /// Unix seconds.
    not_after: i64,
}

/// Our CA keys, every generation.
#[derive(Serialize, ToSchema)]
pub struct CaList {
    items: Vec<CaSummary>,
}

/// `GET /api/v1/cas`: public, but key references (which key store, which object) only for staff.
#[utoipa::path(get, path = "/api/v1/cas", tag = "authorities",
    security((), ("bearer" = [])),
    responses(
        (status = 200, body = CaList),
        (status = 401, response = ProblemResponse),
        (status = 403, response = ProblemResponse),
        Guarded,
    ))]
pub async fn list_cas(
    State(app): State<Arc<App>>,
    op: super::auth::MaybeOperator,
) -> Result<Json<CaList>, AppError> {
    // Key references for those who may read the authority's records; the public view for the rest
    // (people with accounts included).
    let staff = op.0.is_some_and(|o| Permission::Read.granted_to(o.0.role));
    let mut items = app
        .ca_summaries()
        .into_iter()
        .map(serde_json::from_value::<CaSummary>)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| AppError::Internal(format!("CA summary: {e}")))?;
    if !staff {
        for i in &mut items {
            i.key = None;
        }
    }
    Ok(Json(CaList { items }))
}

/// `POST /api/v1/cas/{name}/rollover` (admin): a new issuing key for the CA.
#[utoipa::path(post, path = "/api/v1/cas/{name}/rollover", tag = "authorities",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "An issuing CA (seal, maker, device, service)")),
    responses(
        (status = 201, description = "The new key, certified by the parent", body = crate::ca::rollover::RolloverReport),
        Staff,
        (status = 404, response = ProblemResponse),
        (status = 422, response = ProblemResponse),
        (status = 408, response = super::openapi::TimeoutResponse),
        Guarded,
    ))]
pub async fn rollover(
    State(app): State<Arc<App>>,
    op: Operator,
    Path(name): Path<String>,
) -> Result<(StatusCode, Json<crate::ca::rollover::RolloverReport>), AppError> {
    let actor = op.require(Permission::Rollover)?;
    let report = app.rollover(&actor.name, &name).await?;
    Ok((StatusCode::CREATED, Json(report)))
}
