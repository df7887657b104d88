//! The public verification portal, `/verify` (no login): upload a signed PDF, or a GB/T 38540 seal or
//! seal signature with its optional data file, and read a human-readable report; or look up one of
//! our certificates by serial.
//!
//! Uploads run the API's verifiers against the same anchors (`crate::public`) — seals and seal
//! signatures with the maker's and signer's revocation from our status services, as the API's
//! `"online": true` —, under the same body limit (64 MB) and the same per-address limit as
//! `POST /api/v1/pdf/verify`, and are never stored: the upload is answered with 303 to
//! `/verify/report/{id}`, a report kept in memory only — at most `KEPT` reports for `KEPT_FOR`,
//! least recently used dropped first — so that it can be reloaded, switched to the other language,
//! and fetched as JSON (`…/json`, the API's own report). With the box "check the seal's status
//! online" ticked, each seal signature is also checked against its issuing platform's seal status
//! (`signing::seal_status`), shown in the reader's language.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use askama::Template;
use axum::extract::{ConnectInfo, Multipart, Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use rand_core::RngCore;
use sealpki_pki::der::Decode;
use sealpki_pki::pdf::reader::Document;
use sealpki_pki::pdf::verify as pdfverify;
use sealpki_pki::report::{CheckState, Verdict};
use sealpki_pki::ses;
use sealpki_pki::x509_cert::Certificate;
use serde::Deserialize;

use super::{error_page, html, Lang, Page};
use crate::app::App;
use crate::error::AppError;
use crate::limits::{retry_secs, Lru};
use crate::store::CertStatusRow;

/// The largest upload, the whole multipart body: the limit of `POST /api/v1/pdf/verify`.
pub const MAX_UPLOAD: usize = 64 * 1024 * 1024;
/// Reports kept in memory, and for how long.
const KEPT: usize = 32;
const KEPT_FOR: Duration = Duration::from_secs(600);
/// Seal pictures larger than this are not embedded in the page.
const MAX_PICTURE: usize = 2 * 1024 * 1024;

/// The portal's state: the service, and the reports of recent uploads.
#[derive(Clone)]
pub struct Portal {
    app: Arc<App>,
    reports: Arc<Mutex<Lru<String, Arc<Stored>>>>,
}

impl Portal {
    pub fn new(app: Arc<App>) -> Portal {
        Portal {
            app,
            reports: Arc::new(Mutex::new(Lru::new(KEPT))),
        }
    }

    fn keep(&self, s: Stored) -> String {
        let mut id = [0u8; 16];
        rand_core::OsRng.fill_bytes(&mut id);
        let id = hex::encode(id);
        self.reports
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.clone(), Arc::new(s));
        id
    }

    fn get(&self, id: &str) -> Option<Arc<Stored>> {
        let mut reports = self.reports.lock().unwrap_or_else(|e| e.into_inner());
        let s = reports.get_mut(&id.to_string())?.clone();
        if s.created.elapsed() > KEPT_FOR {
            reports.remove(&id.to_string());
            return None;
        }
        Some(s)
    }
}

/// One upload's outcome, as kept.
struct Stored {
    created: Instant,
    view: ReportView,
    json: serde_json::Value,
}

/// A report as the page shows it, in no language yet.
pub struct ReportView {
    file: String,
    bytes: usize,
    revisions: Option<usize>,
    verdict: &'static str,
    reasons: Vec<String>,
    sigs: Vec<SigView>,
}

pub struct SigView {
    /// Message key of its heading.
    heading: &'static str,
    field: Option<String>,
    verdict: &'static str,
    signer: Option<String>,
    organisation: Option<String>,
    seal_name: Option<String>,
    path: Option<String>,
    timestamp: Option<String>,
    claimed_time: Option<String>,
    revocation: Option<CheckView>,
    /// The issuing platform's seal status, when asked online.
    seal_status: Option<SealStatusView>,
    covers_whole: Option<bool>,
    /// Changes after signing that the signature's rules allow (validation data, timestamps, …).
    allowed_changes: Vec<String>,
    /// Changes after signing that they do not allow.
    refused_changes: Vec<String>,
    warnings: Vec<String>,
    reasons: Vec<String>,
    checks: Vec<CheckView>,
    /// data: URLs of the seal pictures.
    pictures: Vec<String>,
    picture_too_large: bool,
}

/// The online seal status as the page shows it.
pub struct SealStatusView {
    /// pass, fail or unknown (the check's state, for the badge).
    class: &'static str,
    /// Message key of what the platform said (`sealstate.…`), or of no trusted answer.
    said: String,
    detail: String,
}

impl SealStatusView {
    fn of(a: &crate::signing::seal_status::Answer) -> SealStatusView {
        SealStatusView {
            class: check_view(&a.check).state,
            said: match &a.state {
                Some(st) => format!("sealstate.{st}"),
                None => "report.seal_status_unknown".into(),
            },
            detail: a.check.detail.clone(),
        }
    }
}

pub struct CheckView {
    name: &'static str,
    state: &'static str,
    detail: String,
}

fn verdict(v: Verdict) -> &'static str {
    match v {
        Verdict::Valid => "valid",
        Verdict::Invalid => "invalid",
        Verdict::Indeterminate => "indeterminate",
    }
}

fn check_view(c: &sealpki_pki::report::Check) -> CheckView {
    CheckView {
        name: c.name,
        state: match c.state {
            CheckState::Pass => "pass",
            CheckState::Fail => "fail",
            CheckState::Unknown => "unknown",
        },
        detail: c.detail.clone(),
    }
}

/// The modifications the verifier listed with this prefix, without it.
fn changes(all: &[String], prefix: &str) -> Vec<String> {
    all.iter()
        .filter_map(|m| m.strip_prefix(prefix).map(str::to_string))
        .collect()
}

/// A PDF date (`D:YYYYMMDDHHmmSS+HH'mm'`) as `YYYY-MM-DD HH:mm:SS +HH:mm`; anything else as given.
fn pdf_date(d: &str) -> String {
    let s = d.strip_prefix("D:").unwrap_or(d);
    let digits: String = s.chars().take_while(char::is_ascii_digit).collect();
    if digits.len() < 14 {
        return d.to_string();
    }
    let zone = s[14..].replace('\'', "");
    let zone = match zone.as_str() {
        "" | "Z" | "+00:00" | "+0000" | "-0000" => "Z".to_string(),
        z if z.len() == 5 => format!("{}:{}", &z[..3], &z[3..]),
        z => z.to_string(),
    };
    format!(
        "{}-{}-{}T{}:{}:{}{zone}",
        &digits[..4],
        &digits[4..6],
        &digits[6..8],
        &digits[8..10],
        &digits[10..12],
        &digits[12..14]
    )
}

/// The O= attribute of an RFC 4514 name as the verifiers print it.
fn organisation(dn: &str) -> Option<String> {
    dn.split(',')
        .map(str::trim)
        .find_map(|p| p.strip_prefix("O=").map(str::to_string))
        .filter(|o| !o.is_empty())
}

fn data_url(mime: &str, bytes: &[u8]) -> String {
    format!(
        "data:{mime};base64,{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

fn picture_mime(kind: &str) -> &'static str {
    match kind.to_ascii_lowercase().as_str() {
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "bmp" => "image/bmp",
        "svg" => "image/svg+xml",
        _ => "image/png",
    }
}

fn unix_rfc3339(secs: u64) -> String {
    let t = SystemTime::UNIX_EPOCH + Duration::from_secs(secs);
    sealpki_pki::der::DateTime::from_system_time(t)
        .map(|d| d.to_string())
        .unwrap_or_else(|_| format!("{secs} (Unix)"))
}

fn pdf_view(
    file: String,
    bytes: usize,
    doc: &Document<Vec<u8>>,
    r: &pdfverify::Report,
    online: &[(usize, crate::signing::seal_status::Answer)],
) -> ReportView {
    let sigs = r
        .signatures
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let find = |n: &str| s.checks.iter().find(|c| c.name == n);
            let mut pictures = Vec::new();
            let mut too_large = false;
            for img in &s.seal_images {
                let Some(obj) = img.object else { continue };
                match pdfverify::image_file(doc, obj) {
                    Ok((ext, data)) if data.len() <= MAX_PICTURE => {
                        pictures.push(data_url(picture_mime(ext), &data))
                    }
                    Ok(_) => too_large = true,
                    Err(e) => tracing::debug!(error = %e, "seal picture not extracted"),
                }
            }
            SigView {
                heading: if s.kind == "document-timestamp" {
                    "report.document_timestamp"
                } else {
                    "report.signature"
                },
                field: Some(s.field.clone()),
                verdict: verdict(s.verdict),
                organisation: s.signer.as_deref().and_then(organisation),
                signer: s.signer.clone(),
                seal_name: None,
                path: find("chain")
                    .filter(|c| c.state == CheckState::Pass)
                    .map(|c| c.detail.clone()),
                timestamp: s.timestamp.clone(),
                claimed_time: s.claimed_time.as_deref().map(pdf_date),
                revocation: find("revocation").map(check_view),
                seal_status: online
                    .iter()
                    .find(|(j, _)| *j == i)
                    .map(|(_, a)| SealStatusView::of(a)),
                covers_whole: Some(s.covers_whole_file),
                allowed_changes: changes(&s.modifications, "allowed: "),
                refused_changes: changes(&s.modifications, "not allowed: "),
                warnings: s.warnings.clone(),
                reasons: s.reasons.clone(),
                checks: s.checks.iter().map(check_view).collect(),
                pictures,
                picture_too_large: too_large,
            }
        })
        .collect();
    ReportView {
        file,
        bytes,
        revisions: Some(r.revisions),
        verdict: verdict(r.verdict),
        reasons: r.reasons.clone(),
        sigs,
    }
}

fn ses_view(
    file: String,
    bytes: usize,
    decoded: &ses::Decoded,
    r: &ses::verify::Report,
    online: Option<&crate::signing::seal_status::Answer>,
) -> ReportView {
    let seal = match decoded {
        ses::Decoded::Seal(s, _) => &**s,
        ses::Decoded::Signature(s, _) => &s.seal,
    };
    let find = |n: &str| r.checks.iter().find(|c| c.name == n);
    let pic = &seal.info.picture;
    let (pictures, too_large) = if pic.data.len() <= MAX_PICTURE {
        (vec![data_url(picture_mime(&pic.kind), &pic.data)], false)
    } else {
        (Vec::new(), true)
    };
    let signature = r.kind == "signature";
    let (chain, revocation) = if signature {
        ("signer-chain", "signer-revocation")
    } else {
        ("maker-chain", "maker-revocation")
    };
    let sig = SigView {
        heading: if signature {
            "report.ses_signature"
        } else {
            "report.seal"
        },
        field: None,
        verdict: verdict(r.verdict),
        organisation: r.signer.as_deref().and_then(organisation),
        signer: r.signer.clone(),
        seal_name: Some(seal.info.name.clone()),
        path: find(chain)
            .filter(|c| c.state == CheckState::Pass)
            .map(|c| c.detail.clone()),
        // The signature's own time is a claim; a timestamp counts only when its check passed.
        timestamp: find("timestamp")
            .filter(|c| c.state == CheckState::Pass)
            .map(|c| c.detail.clone()),
        claimed_time: r.signed_at.map(unix_rfc3339),
        revocation: find(revocation).map(check_view),
        seal_status: online.map(SealStatusView::of),
        covers_whole: None,
        allowed_changes: Vec::new(),
        refused_changes: Vec::new(),
        warnings: r.warnings.clone(),
        reasons: r.reasons.clone(),
        checks: r.checks.iter().map(check_view).collect(),
        pictures,
        picture_too_large: too_large,
    };
    ReportView {
        file,
        bytes,
        revisions: None,
        verdict: verdict(r.verdict),
        reasons: r.reasons.clone(),
        sigs: vec![sig],
    }
}

#[derive(Template)]
#[template(path = "verify.html")]
struct VerifyPage {
    page: Page,
    serial: String,
    error: Option<String>,
    cert: Option<CertView>,
    cert_error: Option<String>,
}

struct CertView {
    serial: String,
    subject: String,
    issuer: String,
    profile: String,
    not_before: String,
    not_after: String,
    /// Message key of the status.
    status: &'static str,
    revoked_at: Option<String>,
    reason: Option<String>,
}

impl CertView {
    /// The status as a CSS class suffix.
    fn class(&self) -> &str {
        self.status.trim_start_matches("cert.")
    }
}

#[derive(Deserialize)]
pub struct Lookup {
    serial: Option<String>,
}

/// `GET /verify[?serial=…]`: the upload form, and a certificate looked up by serial.
pub async fn form(
    State(portal): State<Portal>,
    lang: Lang,
    Query(q): Query<Lookup>,
) -> Result<Response, AppError> {
    let serial = q.serial.unwrap_or_default().trim().to_string();
    let here = if serial.is_empty() {
        "/verify".to_string()
    } else {
        format!("/verify?serial={}", super::percent_encode(&serial))
    };
    let page = Page::new(lang, &here);
    let (mut cert, mut cert_error, mut status) = (None, None, StatusCode::OK);
    if !serial.is_empty() {
        match lookup(&portal.app, &serial).await {
            Ok(Some(c)) => cert = Some(c),
            Ok(None) => {
                cert_error = Some(page.tr("cert.not_found").to_string());
                status = StatusCode::NOT_FOUND;
            }
            Err(AppError::BadRequest(_)) => {
                cert_error = Some(page.tr("cert.bad_serial").to_string());
                status = StatusCode::BAD_REQUEST;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(html(
        status,
        &VerifyPage {
            page,
            serial,
            error: None,
            cert,
            cert_error,
        },
    ))
}

/// A certificate of ours by serial, through the store's certificate and status reads (those of
/// `GET /api/v1/certificates/{serial}` and OCSP).
async fn lookup(app: &App, serial: &str) -> Result<Option<CertView>, AppError> {
    let serial = crate::public::normalise_serial(serial)?;
    let Some(row) = app.store.cert_get(&serial).await? else {
        return Ok(None);
    };
    // Names as the verifiers print them (organizationIdentifier by name, not as hex).
    let parsed = row
        .der
        .as_deref()
        .and_then(|d| Certificate::from_der(d).ok());
    let issuer = parsed
        .as_ref()
        .map(|c| sealpki_pki::name::display(&c.tbs_certificate.issuer))
        .unwrap_or_default();
    let subject = parsed
        .as_ref()
        .map(|c| sealpki_pki::name::display(&c.tbs_certificate.subject))
        .unwrap_or_else(|| row.subject.clone());
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let (mut revoked_at, mut reason) = (None, None);
    let status = match app.store.cert_status(&row.ca_key, &serial).await? {
        CertStatusRow::Unknown => "cert.pending",
        CertStatusRow::Revoked { at, reason: r } => {
            revoked_at = Some(unix_rfc3339(at.max(0) as u64));
            let held = r == sealpki_pki::revocation::Reason::CertificateHold.name();
            reason = Some(r);
            if held {
                "cert.held"
            } else {
                "cert.revoked"
            }
        }
        CertStatusRow::Good if row.not_after < now => "cert.expired",
        CertStatusRow::Good => "cert.good",
    };
    Ok(Some(CertView {
        serial: row.serial.clone(),
        subject,
        issuer,
        profile: row.profile.clone(),
        not_before: unix_rfc3339(row.not_before.max(0) as u64),
        not_after: unix_rfc3339(row.not_after.max(0) as u64),
        status,
        revoked_at,
        reason,
    }))
}

fn client_ip(headers: &axum::http::Extensions) -> Option<std::net::IpAddr> {
    headers
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(a)| a.ip())
}

/// `POST /verify` (multipart: `file`, optional `data`): verify, keep the report, 303 to it.
pub async fn upload(
    State(portal): State<Portal>,
    lang: Lang,
    req: axum::extract::Request,
) -> Result<Response, AppError> {
    // The API's per-address PDF-verification bucket, charged before the body is parsed. A refused
    // upload is still received (and dropped, up to the limit) so that the browser, which sends the
    // whole form before it reads an answer, gets the 429 page rather than a reset connection.
    let ip = client_ip(req.extensions());
    if let Err(wait) = portal.app.limits.pdf_verify.check(ip) {
        discard(req.into_body()).await;
        return Err(AppError::RateLimited {
            what: "PDF verification".into(),
            retry_after: retry_secs(wait),
        });
    }
    let mut mp = <Multipart as axum::extract::FromRequest<()>>::from_request(req, &())
        .await
        .map_err(|e| AppError::BadRequest(e.body_text()))?;
    let (mut file, mut name, mut data, mut online) = (None, String::new(), None, false);
    loop {
        let field = match mp.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return Err(multipart_error(e)),
        };
        let which = field.name().unwrap_or("").to_string();
        let fname = field.file_name().unwrap_or("").to_string();
        let bytes = field.bytes().await.map_err(multipart_error)?;
        match which.as_str() {
            "file" if !bytes.is_empty() => {
                file = Some(bytes);
                name = fname;
            }
            "data" if !bytes.is_empty() => data = Some(bytes),
            // The checkbox "check the seal's status online" (any value: browsers send "on").
            "online" => online = true,
            _ => {}
        }
    }
    let page = Page::new(lang, "/verify");
    let Some(file) = file else {
        return Ok(form_error(page, "verify.no_file"));
    };
    let name: String = name.chars().filter(|c| !c.is_control()).take(200).collect();
    let stored = if looks_like_pdf(&file) {
        let trust = crate::public::pdf(&portal.app)?;
        tokio::task::spawn_blocking(move || -> Result<Stored, AppError> {
            let len = file.len();
            let doc = Document::open(Box::new(file.to_vec()), None)?;
            let mut report = pdfverify::verify(
                &doc,
                &pdfverify::VerifyOptions {
                    trust: trust.clone(),
                    now: None,
                },
            )?;
            let answers = if online {
                crate::signing::seal_status::check_pdf(&mut report, &trust)
            } else {
                Vec::new()
            };
            Ok(Stored {
                created: Instant::now(),
                view: pdf_view(name, len, &doc, &report, &answers),
                json: serde_json::json!(report),
            })
        })
        .await
        .map_err(|e| AppError::Internal(e.to_string()))??
    } else if file.first() == Some(&0x30) {
        let decoded = match ses::decode(&file) {
            Ok(d) => d,
            Err(_) => return Ok(form_error(page, "verify.not_signed")),
        };
        let trust = crate::public::ses(&portal.app)?;
        tokio::task::spawn_blocking(move || {
            // The maker's and signer's revocation from our status services, as the API's
            // `"online": true` (lookups only for certificates our CAs signed).
            let fetched = crate::signing::ltv::ses_revocation_data(&decoded, &trust);
            let mut report = ses::verify(
                &decoded,
                &ses::VerifyInput {
                    data: data.as_deref(),
                    trust: &trust,
                    now: SystemTime::now(),
                    revocation: Some(sealpki_pki::validate::revocation::Data {
                        crls: &fetched.crls,
                        ocsp: &fetched.ocsps,
                    }),
                },
            );
            let answer = online
                .then(|| crate::signing::seal_status::check_ses(&mut report, &decoded, &trust))
                .flatten();
            Stored {
                created: Instant::now(),
                view: ses_view(name, file.len(), &decoded, &report, answer.as_ref()),
                json: serde_json::json!(report),
            }
        })
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?
    } else {
        return Ok(form_error(page, "verify.not_signed"));
    };
    let id = portal.keep(stored);
    let mut resp = StatusCode::SEE_OTHER.into_response();
    resp.headers_mut().insert(
        header::LOCATION,
        HeaderValue::from_str(&format!("/verify/report/{id}")).expect("hex id"),
    );
    Ok(resp)
}

/// Read a body to its end without keeping it, at most `MAX_UPLOAD` bytes.
async fn discard(mut body: axum::body::Body) {
    use http_body::Body as _;
    let mut seen = 0usize;
    while let Some(Ok(frame)) =
        std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await
    {
        seen += frame.data_ref().map_or(0, |d| d.len());
        if seen > MAX_UPLOAD {
            break;
        }
    }
}

fn looks_like_pdf(b: &[u8]) -> bool {
    let head = &b[..b.len().min(1024)];
    head.windows(5).any(|w| w == b"%PDF-")
}

fn multipart_error(e: axum::extract::multipart::MultipartError) -> AppError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::TooLarge(format!(
            "the upload is larger than {} MB",
            MAX_UPLOAD / 1024 / 1024
        ))
    } else {
        AppError::BadRequest(e.body_text())
    }
}

fn form_error(page: Page, key: &str) -> Response {
    let error = Some(page.tr(key).to_string());
    html(
        StatusCode::BAD_REQUEST,
        &VerifyPage {
            page,
            serial: String::new(),
            error,
            cert: None,
            cert_error: None,
        },
    )
}

#[derive(Template)]
#[template(path = "report.html")]
struct ReportPage<'a> {
    page: Page,
    id: &'a str,
    r: &'a ReportView,
}

/// `GET /verify/report/{id}`: a kept report, in the reader's language.
pub async fn report(State(portal): State<Portal>, lang: Lang, Path(id): Path<String>) -> Response {
    let here = format!("/verify/report/{id}");
    match portal.get(&id) {
        Some(s) => html(
            StatusCode::OK,
            &ReportPage {
                page: Page::new(lang, &here),
                id: &id,
                r: &s.view,
            },
        ),
        None => error_page(lang, &here, StatusCode::NOT_FOUND, None, None),
    }
}

/// `GET /verify/report/{id}/json`: the same report as the API gives.
pub async fn report_json(
    State(portal): State<Portal>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let s = portal
        .get(&id)
        .ok_or_else(|| AppError::NotFound("no such report (reports are kept 10 minutes)".into()))?;
    let mut resp = axum::Json(s.json.clone()).into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pdf_dates_read_well() {
        assert_eq!(pdf_date("D:20261201104935+00'00'"), "2026-12-01T10:49:35Z");
        assert_eq!(
            pdf_date("D:20261201104935+08'00'"),
            "2026-12-01T10:49:35+08:00"
        );
        assert_eq!(pdf_date("D:20261201104935Z"), "2026-12-01T10:49:35Z");
        assert_eq!(pdf_date("yesterday"), "yesterday");
        assert_eq!(
            organisation("CN=a, O=示例有限公司,C=CN").as_deref(),
            Some("示例有限公司")
        );
    }
}
