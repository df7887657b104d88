//! `/api/v1/files`: upload (multipart with one file part, or the raw body with its Content-Type and
//! `X-File-Name` or `Content-Disposition`), a file's record, and its content as an attachment.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Multipart, Path, RawQuery, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::auth::Operator;
use crate::app::App;
use crate::error::AppError;
use crate::files::{self, FileError, FileName, FilePurpose, Upload};
use crate::store::FileRow;

/// The route's body limit: the largest purpose's file plus room for multipart framing. Each
/// purpose's own limit is enforced while the file part is read.
pub const MAX_UPLOAD_BODY: usize = FilePurpose::LARGEST_MAX_BYTES as usize + 64 * 1024;

/// The header naming the file of a raw upload (percent-encoded UTF-8 is decoded).
const X_FILE_NAME: &str = "x-file-name";

fn view(f: &FileRow) -> Value {
    json!({
        "id": f.id,
        "sha256": f.sha256,
        "size": f.size,
        "media_type": f.media_type.mime(),
        "purpose": f.purpose.name(),
        "name": f.original_name,
        "uploaded_by": f.uploaded_by,
        "created_at": f.created_at,
        "owner": f.owner.as_ref().map(|(kind, id)| json!({"kind": kind, "id": id})),
    })
}

/// `purpose=` from the query string.
fn purpose(query: Option<&str>) -> Result<FilePurpose, FileError> {
    let raw = query
        .unwrap_or_default()
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == "purpose")
        .map(|(_, v)| v)
        .ok_or(FileError::NoPurpose)?;
    let v = files::percent_decode(raw).unwrap_or_else(|| raw.to_string());
    FilePurpose::parse(&v).ok_or(FileError::UnknownPurpose(v))
}

/// The declared name of a raw upload: `X-File-Name`, else `Content-Disposition`'s filename.
fn raw_name(headers: &HeaderMap) -> Result<FileName, FileError> {
    if let Some(v) = headers.get(X_FILE_NAME) {
        let s = std::str::from_utf8(v.as_bytes())
            .map_err(|_| FileError::BadName("X-File-Name is not UTF-8 (percent-encode it)"))?;
        let s = files::percent_decode(s)
            .ok_or(FileError::BadName("X-File-Name has a bad percent escape"))?;
        return FileName::parse(&s);
    }
    let cd = headers
        .get(header::CONTENT_DISPOSITION)
        .and_then(|v| v.to_str().ok())
        .and_then(files::from_content_disposition)
        .ok_or(FileError::NoName)?;
    FileName::parse(&cd)
}

/// Bytes read past a purpose's limit before answering 413, so that a client still sending reads
/// the answer rather than a reset connection; beyond this the connection is dropped.
const DRAIN_LIMIT: usize = MAX_UPLOAD_BODY;

fn too_large(p: FilePurpose) -> AppError {
    FileError::TooLarge {
        purpose: p,
        limit: p.max_bytes(),
    }
    .into()
}

/// Read a raw body up to the purpose's limit.
async fn read_raw(mut body: Body, p: FilePurpose) -> Result<Bytes, AppError> {
    use http_body::Body as _;
    let limit = usize::try_from(p.max_bytes()).unwrap_or(usize::MAX);
    let mut buf = Vec::new();
    let mut over = false;
    let mut seen: usize = 0;
    while let Some(frame) =
        std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await
    {
        let frame = frame.map_err(|e| FileError::BadUpload(format!("reading the body: {e}")))?;
        let Ok(chunk) = frame.into_data() else {
            continue;
        };
        seen = seen.saturating_add(chunk.len());
        if over || seen > limit {
            over = true;
            buf = Vec::new();
            if seen > DRAIN_LIMIT {
                break;
            }
            continue;
        }
        buf.extend_from_slice(&chunk);
    }
    if over {
        return Err(too_large(p));
    }
    Ok(Bytes::from(buf))
}

fn multipart_error(p: FilePurpose, e: axum::extract::multipart::MultipartError) -> AppError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return too_large(p);
    }
    FileError::BadUpload(format!("multipart body: {}", e.body_text())).into()
}

/// Read the one file part of a multipart body, up to the purpose's limit.
async fn read_multipart(
    mut form: Multipart,
    p: FilePurpose,
) -> Result<(FileName, Option<String>, Bytes), AppError> {
    let limit = usize::try_from(p.max_bytes()).unwrap_or(usize::MAX);
    let mut got = None;
    while let Some(mut field) = form.next_field().await.map_err(|e| multipart_error(p, e))? {
        let Some(raw) = field.file_name() else {
            return Err(FileError::BadUpload(format!(
                "unexpected form field {:?}: send one file part (with a filename) and nothing else",
                field.name().unwrap_or_default()
            ))
            .into());
        };
        if got.is_some() {
            return Err(FileError::BadUpload("one file per upload".into()).into());
        }
        let name = FileName::parse(raw)?;
        let content_type = field.content_type().map(str::to_string);
        let mut buf = Vec::new();
        let mut seen: usize = 0;
        while let Some(chunk) = field.chunk().await.map_err(|e| multipart_error(p, e))? {
            seen = seen.saturating_add(chunk.len());
            if seen > limit {
                // Drain what the route's limit allows, then answer.
                while let Ok(Some(_)) = field.chunk().await {}
                return Err(too_large(p));
            }
            buf.extend_from_slice(&chunk);
        }
        got = Some((name, content_type, Bytes::from(buf)));
    }
    got.ok_or_else(|| FileError::BadUpload("no file part in the multipart body".into()).into())
}

/// `POST /api/v1/files?purpose=…` (any logged-in operator): 201 with the record; 413, 415 or 422
/// problems for refused content, with nothing stored.
#[utoipa::path(post, path = "/api/v1/files", tag = "files",
    security(("bearer" = [])),
    params(
        ("purpose" = String, Query, description = "seal-impression, application-scan, attachment or signature-drawing"),
        ("X-File-Name" = Option<String>, Header, description = "A raw upload's file name, percent-encoded UTF-8 (or Content-Disposition's filename)"),
    ),
    request_body(description = "multipart/form-data with one file part, or the file itself as the body", content(
        (super::openapi::FileUpload = "multipart/form-data"),
        (super::openapi::Binary = "image/png"),
        (super::openapi::Binary = "image/jpeg"),
        (super::openapi::Binary = "image/bmp"),
        (super::openapi::Binary = "image/gif"),
        (super::openapi::Binary = "application/pdf"),
    )),
    responses(
        (status = 201, description = "Stored; Location names the record", body = super::openapi::FileRecord,
            headers(("Location" = String, description = "/api/v1/files/{id}"))),
        super::openapi::WithBody, super::openapi::Staff,
        (status = 415, response = super::openapi::ProblemResponse),
        (status = 422, response = super::openapi::ProblemResponse),
        super::openapi::Guarded,
    ))]
pub async fn upload(
    State(app): State<Arc<App>>,
    op: Operator,
    RawQuery(query): RawQuery,
    req: Request,
) -> Result<Response, AppError> {
    let actor = op.actor();
    let p = purpose(query.as_deref())?;
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let multipart = ct
        .as_deref()
        .is_some_and(|c| c.to_ascii_lowercase().starts_with("multipart/form-data"));
    let (name, content_type, data) = if multipart {
        let form = Multipart::from_request(req, &app)
            .await
            .map_err(|e| FileError::BadUpload(e.body_text()))?;
        read_multipart(form, p).await?
    } else {
        let name = raw_name(req.headers())?;
        (name, ct, read_raw(req.into_body(), p).await?)
    };
    let row = app
        .file_upload(
            &actor,
            Upload {
                purpose: p,
                name,
                content_type,
                data,
            },
        )
        .await?;
    let location = format!("/api/v1/files/{}", row.id);
    let mut resp = (StatusCode::CREATED, Json(view(&row))).into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    Ok(resp)
}

/// `GET /api/v1/files/{id}`: the record, for its uploader, administrators and auditors.
#[utoipa::path(get, path = "/api/v1/files/{id}", tag = "files",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "32 hex digits")),
    responses(
        (status = 200, body = super::openapi::FileRecord),
        super::openapi::Staff,
        (status = 404, response = super::openapi::ProblemResponse),
        super::openapi::Guarded,
    ))]
pub async fn get_one(
    State(app): State<Arc<App>>,
    op: Operator,
    Path(id): Path<String>,
) -> Result<Json<Value>, AppError> {
    let row = app.file_get(&op.actor(), &id).await?;
    Ok(Json(view(&row)))
}

/// `GET /api/v1/files/{id}/content`: the bytes, as an attachment of the stored media type, never
/// sniffed or run by a browser.
#[utoipa::path(get, path = "/api/v1/files/{id}/content", tag = "files",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "32 hex digits")),
    responses(
        (status = 200, description = "The file, as an attachment", content(
            (super::openapi::Binary = "image/png"),
            (super::openapi::Binary = "image/jpeg"),
            (super::openapi::Binary = "image/bmp"),
            (super::openapi::Binary = "image/gif"),
            (super::openapi::Binary = "application/pdf"),
        ), headers(("Content-Disposition" = String), ("ETag" = String))),
        super::openapi::Staff,
        (status = 404, response = super::openapi::ProblemResponse),
        super::openapi::Guarded,
    ))]
pub async fn content(
    State(app): State<Arc<App>>,
    op: Operator,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let (row, data) = app.file_content(&op.actor(), &id).await?;
    let name = FileName::parse(&row.original_name)
        .unwrap_or_else(|_| FileName::parse("file").expect("a valid name"));
    let disposition = format!(
        "attachment; filename=\"{}\"; filename*={}",
        name.ascii_fallback(),
        name.rfc8187()
    );
    let hv = |s: &str| {
        HeaderValue::from_str(s).map_err(|e| AppError::Internal(format!("header value: {e}")))
    };
    let mut resp = (StatusCode::OK, data).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(row.media_type.mime()),
    );
    h.insert(header::CONTENT_DISPOSITION, hv(&disposition)?);
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // Personal data (scans of applications): kept by no shared cache, and inert if opened inline.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox"),
    );
    h.insert(header::ETAG, hv(&format!("\"{}\"", row.sha256))?);
    Ok(resp)
}
