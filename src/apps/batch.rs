//! Several documents in one call, and asynchronous sealing jobs, of the apps' signing API.
//!
//! A batch is checked whole before anything is sealed: the number and size of its documents,
//! unique names, each order's placements, and that every seal it names is authorized to the app
//! and active now — one refusal refuses the batch, nothing sealed. Then each document is sealed
//! on its own (one signature, evidence and usage each, as `app_seal`), and one that fails (a
//! keyword not found, a broken PDF) is reported with its error beside the others.
//!
//! An asynchronous job takes more and larger documents: the originals go to the object store,
//! the job row and its outbox job are written in one transaction (answer 202 with the job id),
//! and the worker seals document by document, recording each result as it goes — a job taken
//! over after a crash skips what is done. When it ends, a `job.finished` event goes to the app's
//! webhook. Sealed documents are fetched by their SHA-256 (`app_document`).

use std::collections::BTreeSet;

use axum::body::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::registry::new_id;
use super::sealing::SealOrder;
use super::{AppCaller, CallerProof};
use crate::app::App;
use crate::error::AppError;
use crate::files::ObjectKey;
use crate::jobs::{AppSealingJob, Job};
use crate::notify::DeliveryError;
use crate::store::{AppEventRow, AppJobRow, Store, StoreError};

/// A batch sealed in the call: at most this many documents and bytes.
pub const MAX_BATCH_DOCUMENTS: usize = 20;
pub const MAX_BATCH_BYTES: usize = 64 * 1024 * 1024;
/// An asynchronous job: at most this many documents and bytes.
pub const MAX_JOB_DOCUMENTS: usize = 100;
pub const MAX_JOB_BYTES: usize = 256 * 1024 * 1024;

/// One document of a batch or job: its name (the multipart part), the PDF and what to do.
pub struct BatchDocument {
    pub name: String,
    pub pdf: Bytes,
    pub order: SealOrder,
}

/// What became of one document.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DocumentResult {
    /// The document's name (its multipart part).
    pub name: String,
    /// 200 when sealed; otherwise the status the error would have had alone.
    pub status: u16,
    pub evidence_id: Option<String>,
    /// SHA-256 of the sealed document: `GET /api/v1/app/documents/{sha256}` fetches it.
    pub sha256: Option<String>,
    pub input_sha256: String,
    /// Why it was not sealed.
    pub error: Option<String>,
    /// The grant refusal's reason (`no-grant`, `seal-lost`, …), when that was why.
    pub reason: Option<String>,
}

/// A batch's answer.
#[derive(Serialize, utoipa::ToSchema)]
pub struct BatchResult {
    pub sealed: usize,
    pub failed: usize,
    pub results: Vec<DocumentResult>,
}

/// An asynchronous job as the app sees it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct AppJobView {
    pub id: String,
    /// `queued`, `running`, `done` (every document tried; see `failed`) or `failed`.
    pub state: String,
    pub documents: i64,
    pub sealed: i64,
    pub failed: i64,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    /// One entry per document tried so far.
    pub results: Vec<DocumentResult>,
}

/// A page of an app's jobs, newest first.
#[derive(Serialize, utoipa::ToSchema)]
pub struct AppJobPage {
    pub items: Vec<AppJobView>,
    pub next_cursor: Option<String>,
}

/// A job's document as stored: the original is in the object store by its SHA-256.
#[derive(Serialize, Deserialize)]
struct StoredDocument {
    name: String,
    input_sha256: String,
    order: SealOrder,
}

#[derive(Serialize, Deserialize)]
struct StoredRequest {
    /// How the submitting request proved it came from the app (kept with the evidence).
    credential: String,
    documents: Vec<StoredDocument>,
}

fn view(row: AppJobRow) -> Result<AppJobView, AppError> {
    let results: Vec<DocumentResult> = serde_json::from_str(&row.results)
        .map_err(|e| StoreError::Corrupt(format!("app job {} results: {e}", row.id)))?;
    Ok(AppJobView {
        id: row.id,
        state: row.state,
        documents: row.documents,
        sealed: row.sealed,
        failed: row.failed,
        created_at: row.created_at,
        started_at: row.started_at,
        finished_at: row.finished_at,
        results,
    })
}

fn failure(name: &str, input_sha256: String, e: &AppError) -> DocumentResult {
    DocumentResult {
        name: name.to_string(),
        status: e.status().as_u16(),
        evidence_id: None,
        sha256: None,
        input_sha256,
        error: Some(e.to_string()),
        reason: match e {
            AppError::GrantRefused { reason, .. } => Some((*reason).to_string()),
            _ => None,
        },
    }
}

fn proof_name(p: &CallerProof) -> String {
    match p {
        CallerProof::ApiKey { credential_id } => format!("key:{credential_id}"),
        CallerProof::ClientCertificate { serial } => format!("cert:{serial}"),
    }
}

fn proof_of(s: &str) -> CallerProof {
    match s.split_once(':') {
        Some(("cert", serial)) => CallerProof::ClientCertificate {
            serial: serial.to_string(),
        },
        Some((_, id)) => CallerProof::ApiKey {
            credential_id: id.to_string(),
        },
        None => CallerProof::ApiKey {
            credential_id: s.to_string(),
        },
    }
}

impl App {
    /// Everything about a batch or job that can be checked before sealing: sizes, names,
    /// placements, and the grant of every seal it names.
    async fn batch_check(
        &self,
        caller: &AppCaller,
        docs: &[BatchDocument],
        most: usize,
        most_bytes: usize,
    ) -> Result<(), AppError> {
        if docs.is_empty() {
            return Err(AppError::BadRequest(
                "documents: give 1 or more documents".into(),
            ));
        }
        if docs.len() > most {
            return Err(AppError::TooLarge(format!(
                "{} documents: at most {most} in one call{}",
                docs.len(),
                if most == MAX_BATCH_DOCUMENTS {
                    format!(" (an asynchronous job takes up to {MAX_JOB_DOCUMENTS})")
                } else {
                    String::new()
                }
            )));
        }
        let bytes = docs
            .iter()
            .fold(0usize, |n, d| n.saturating_add(d.pdf.len()));
        if bytes > most_bytes {
            return Err(AppError::TooLarge(format!(
                "{bytes} bytes of documents: at most {most_bytes} in one call"
            )));
        }
        let mut names = BTreeSet::new();
        let spots = crate::signing::placement::MAX_SPOTS;
        for d in docs {
            if !names.insert(d.name.as_str()) {
                return Err(AppError::BadRequest(format!(
                    "document {:?} is named twice: give each part its own name",
                    d.name
                )));
            }
            if d.pdf.is_empty() {
                return Err(AppError::BadRequest(format!(
                    "document {:?} has no PDF",
                    d.name
                )));
            }
            if d.order.spots.is_empty() || d.order.spots.len() > spots {
                return Err(AppError::BadRequest(format!(
                    "document {:?}: give 1 to {spots} places for the seal",
                    d.name
                )));
            }
        }
        let seals: BTreeSet<&str> = docs.iter().map(|d| d.order.seal_id.as_str()).collect();
        for seal in seals {
            self.app_grant_in_force(&caller.app_id, seal).await?;
        }
        self.app_quota_check(&caller.app_id, caller.daily_quota, docs.len())
            .await
    }

    /// Seal several documents in one call (see the module's notes).
    pub async fn app_seal_batch(
        &self,
        caller: &AppCaller,
        docs: Vec<BatchDocument>,
    ) -> Result<BatchResult, AppError> {
        self.batch_check(caller, &docs, MAX_BATCH_DOCUMENTS, MAX_BATCH_BYTES)
            .await?;
        let mut results = Vec::with_capacity(docs.len());
        for d in docs {
            let input = sealpki_pki::alg::sha256_hex(&d.pdf);
            results.push(match self.app_seal_kept(caller, d.pdf, &d.order).await {
                Ok(s) => sealed_result(&d.name, input, &s.evidence),
                Err(e) => failure(&d.name, input, &e),
            });
        }
        let sealed = results.iter().filter(|r| r.status == 200).count();
        Ok(BatchResult {
            sealed,
            failed: results.len() - sealed,
            results,
        })
    }

    /// Queue an asynchronous sealing job: the originals stored, the job and its outbox entry
    /// in one transaction.
    pub async fn app_job_submit(
        &self,
        caller: &AppCaller,
        docs: Vec<BatchDocument>,
    ) -> Result<AppJobView, AppError> {
        self.batch_check(caller, &docs, MAX_JOB_DOCUMENTS, MAX_JOB_BYTES)
            .await?;
        let mut stored = Vec::with_capacity(docs.len());
        for d in docs {
            let key = ObjectKey::of(&d.pdf);
            self.objects.put(key, d.pdf).await?;
            stored.push(StoredDocument {
                name: d.name,
                input_sha256: key.to_string(),
                order: d.order,
            });
        }
        let now = crate::store::now();
        let request = StoredRequest {
            credential: proof_name(&caller.proof),
            documents: stored,
        };
        let row = AppJobRow {
            id: new_id(),
            app_id: caller.app_id.clone(),
            state: "queued".into(),
            request: serde_json::to_string(&request)
                .map_err(|e| AppError::Internal(format!("job request: {e}")))?,
            results: "[]".into(),
            client: caller.client.to_string(),
            documents: i64::try_from(request.documents.len()).unwrap_or(i64::MAX),
            sealed: 0,
            failed: 0,
            created_at: now,
            started_at: None,
            finished_at: None,
        };
        let mut tx = self.store.begin().await?;
        Store::app_job_insert(&mut tx, &row).await?;
        crate::jobs::enqueue(
            &mut tx,
            &self.config.jobs,
            &Job::AppSealing(AppSealingJob {
                app_id: row.app_id.clone(),
                job_id: row.id.clone(),
            }),
            Some(&format!("app-job:{}", row.id)),
        )
        .await?;
        self.audit
            .append(
                &mut tx,
                &format!("app:{}", caller.app_id),
                "app.job.submit",
                json!({"app_id": caller.app_id, "job": row.id, "documents": row.documents,
                       "client": row.client}),
            )
            .await?;
        tx.commit().await.map_err(StoreError::from)?;
        view(row)
    }

    /// One of the calling app's jobs; 404 for another app's.
    pub async fn app_job(&self, caller: &AppCaller, id: &str) -> Result<AppJobView, AppError> {
        match self.store.app_job_get(id).await? {
            Some(r) if r.app_id == caller.app_id => view(r),
            _ => Err(AppError::NotFound(format!("no job {id:?} of this app"))),
        }
    }

    /// The calling app's jobs, newest first.
    pub async fn app_job_list(
        &self,
        caller: &AppCaller,
        cursor: Option<&str>,
        limit: Option<i64>,
    ) -> Result<AppJobPage, AppError> {
        let before = crate::paging::cursor_owned(cursor)?;
        let limit = crate::paging::limit(limit, 20, 100)?;
        let rows = self.store.app_jobs(&caller.app_id, before, limit).await?;
        let next_cursor = crate::paging::next(&rows, limit, |r| (r.created_at, &r.id));
        let items = rows.into_iter().map(view).collect::<Result<_, _>>()?;
        Ok(AppJobPage { items, next_cursor })
    }

    /// A document the calling app sealed, by the sealed document's SHA-256.
    pub async fn app_document(&self, caller: &AppCaller, sha256: &str) -> Result<Bytes, AppError> {
        let rows = self.app_evidence(caller, sha256).await?;
        let h = sha256.trim().to_ascii_lowercase();
        let not_kept = || {
            AppError::NotFound(format!(
                "no sealed document with SHA-256 {h} is kept for this app (documents sealed \
                 one at a time without an Idempotency-Key are not kept)"
            ))
        };
        if !rows.iter().any(|r| r.output_sha256 == h) {
            return Err(not_kept());
        }
        let key = ObjectKey::parse(&h).ok_or_else(not_kept)?;
        self.objects.get(key).await?.ok_or_else(not_kept)
    }

    /// The worker's attempt at an app's sealing job (`JobKind::AppSealing`).
    pub(crate) async fn run_app_job(&self, j: &AppSealingJob) -> Result<(), DeliveryError> {
        let transient = |e: AppError| DeliveryError {
            retry: true,
            message: format!("app job {}: {e}", j.job_id),
        };
        let Some(mut row) = self
            .store
            .app_job_get(&j.job_id)
            .await
            .map_err(|e| transient(e.into()))?
        else {
            return Err(DeliveryError {
                retry: false,
                message: format!("app job {} is gone", j.job_id),
            });
        };
        if row.state == "done" || row.state == "failed" {
            return Ok(());
        }
        let request: StoredRequest =
            serde_json::from_str(&row.request).map_err(|e| DeliveryError {
                retry: false,
                message: format!("app job {} request: {e}", row.id),
            })?;
        let mut results: Vec<DocumentResult> =
            serde_json::from_str(&row.results).map_err(|e| DeliveryError {
                retry: false,
                message: format!("app job {} results: {e}", row.id),
            })?;
        let quota = match self.store.app_get(&row.app_id).await {
            Ok(a) => a.and_then(|a| a.daily_quota),
            Err(e) => return Err(transient(e.into())),
        };
        let caller = AppCaller {
            daily_quota: quota,
            app_id: row.app_id.clone(),
            proof: proof_of(&request.credential),
            client: row
                .client
                .parse()
                .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)),
        };
        row.state = "running".into();
        row.started_at = row.started_at.or(Some(crate::store::now()));
        for d in &request.documents {
            if results.iter().any(|r| r.name == d.name) {
                continue;
            }
            let key = ObjectKey::parse(&d.input_sha256);
            let pdf = match key {
                Some(k) => self.objects.get(k).await.map_err(|e| transient(e.into()))?,
                None => None,
            };
            let result = match pdf {
                None => failure(
                    &d.name,
                    d.input_sha256.clone(),
                    &AppError::Internal("the document's original is gone".into()),
                ),
                Some(pdf) => match self.app_seal_kept(&caller, pdf, &d.order).await {
                    Ok(s) => sealed_result(&d.name, d.input_sha256.clone(), &s.evidence),
                    // A store or HSM hiccup: try the job again later, from this document on.
                    Err(e @ (AppError::Internal(_) | AppError::Unavailable(_))) => {
                        row.results = serde_json::to_string(&results).unwrap_or_default();
                        let _ = self.store.app_job_progress(&row).await;
                        return Err(transient(e));
                    }
                    Err(e) => failure(&d.name, d.input_sha256.clone(), &e),
                },
            };
            if result.status == 200 {
                row.sealed += 1;
            } else {
                row.failed += 1;
            }
            results.push(result);
            row.results = serde_json::to_string(&results).unwrap_or_default();
            self.store
                .app_job_progress(&row)
                .await
                .map_err(|e| transient(e.into()))?;
        }
        let now = crate::store::now();
        row.state = "done".into();
        row.finished_at = Some(now);
        let mut tx = self.store.begin().await.map_err(|e| transient(e.into()))?;
        if Store::app_job_finish(&mut tx, &row)
            .await
            .map_err(|e| transient(e.into()))?
        {
            let event = AppEventRow {
                id: new_id(),
                app_id: row.app_id.clone(),
                kind: "job.finished".into(),
                grant_id: None,
                seal_id: None,
                payload: json!({"event": "job.finished", "job_id": row.id, "state": row.state,
                                "documents": row.documents, "sealed": row.sealed,
                                "failed": row.failed, "at": now})
                .to_string(),
                dedupe_key: Some(format!("job.finished:{}", row.id)),
                created_at: now,
            };
            self.publish_app_event(&mut tx, &event)
                .await
                .map_err(transient)?;
        }
        tx.commit()
            .await
            .map_err(|e| transient(StoreError::from(e).into()))?;
        Ok(())
    }
}

fn sealed_result(name: &str, input: String, e: &crate::store::EvidenceRow) -> DocumentResult {
    DocumentResult {
        name: name.to_string(),
        status: 200,
        evidence_id: Some(e.id.clone()),
        sha256: Some(e.output_sha256.clone()),
        input_sha256: input,
        error: None,
        reason: None,
    }
}
