//! The apps' signing API, service side: an app seals a PDF with a seal a seal administrator
//! authorized to it, at one or several places of one signature. Every sealing checks the grant
//! in force and the seal's current state, is audited (`pdf.sign` in the audit chain, with the
//! app, seal, grant, hashes, placements and client address), and in one transaction counts the
//! grant's use, writes the evidence row and the day's usage, and records the Idempotency-Key's
//! answer — so a retry with the key gets the same bytes and the document is sealed once.

use axum::body::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::access::Actor;
use crate::app::App;
use crate::apps::authn::{replayed, PendingNonce};
use crate::apps::AppCaller;
use crate::ca::committer::{GRANT_USE, NONCE_USED};
use crate::error::AppError;
use crate::files::ObjectKey;
use crate::signing::placement::{Placement, Spot};
use crate::signing::{Level, PdfJob};
use crate::store::{Claimed, EvidenceRow, Role, StoreError};
use crate::workflow::Named;

/// A running claim older than this was left by a crash (the longest a sealing may take, with
/// room): a retry takes it over.
const STALE_CLAIM_SECONDS: i64 = 600;

/// What an app asks for.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SealOrder {
    pub seal_id: String,
    pub spots: Vec<Spot>,
    /// Seal width in mm; default the seal type's physical size.
    pub size_mm: Option<f64>,
    pub level: Level,
    pub reason: Option<String>,
    pub location: Option<String>,
}

/// A sealed document and its evidence.
pub struct Sealed {
    pub pdf: Bytes,
    pub evidence: EvidenceRow,
    /// The answer of an earlier request with the same Idempotency-Key.
    pub replayed: bool,
}

fn app_actor(caller: &AppCaller) -> Actor {
    Actor {
        name: format!("app:{}", caller.app_id),
        role: Role::Person,
    }
}

fn new_id() -> String {
    let mut b = [0u8; 16];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut b);
    hex::encode(b)
}

impl App {
    /// Seal `pdf` as `order` says for the calling app; with `idempotency_key`, once per key.
    /// A request's deferred `nonce` is taken by the sealing's record; with an Idempotency-Key
    /// it is taken first, since a retry's answer is read, not committed. Whatever the outcome,
    /// the caller settles it with `App::app_nonce_settle`.
    pub async fn app_seal(
        &self,
        caller: &AppCaller,
        pdf: Bytes,
        order: SealOrder,
        idempotency_key: Option<&str>,
        nonce: Option<&PendingNonce>,
    ) -> Result<Sealed, AppError> {
        if pdf.is_empty() {
            return Err(AppError::BadRequest("the request has no PDF".into()));
        }
        let most = crate::signing::placement::MAX_SPOTS;
        if order.spots.is_empty() || order.spots.len() > most {
            return Err(AppError::BadRequest(format!(
                "placements: give 1 to {most} places for the seal"
            )));
        }
        let Some(key) = idempotency_key else {
            return self
                .app_seal_once(caller, pdf, &order, None, false, nonce)
                .await;
        };
        if let Some(n) = nonce {
            self.app_nonce_take(n).await?;
        }
        let request = sealpki_pki::alg::sha256_hex(
            format!(
                "{}\n{}",
                serde_json::to_string(&order).unwrap_or_default(),
                sealpki_pki::alg::sha256_hex(&pdf)
            )
            .as_bytes(),
        );
        let now = crate::store::now();
        let claim = self
            .store
            .app_idempotency_claim(
                &caller.app_id,
                key,
                &request,
                now,
                now - STALE_CLAIM_SECONDS,
            )
            .await?;
        let reused = || {
            AppError::Policy(
                "Idempotency-Key was used for another request: use a new key for a new request"
                    .into(),
            )
        };
        match claim {
            Claimed::Fresh => {}
            Claimed::Running { request_sha256 } if request_sha256 == request => {
                return Err(AppError::Conflict(
                    "a request with this Idempotency-Key is still running: retry shortly".into(),
                ))
            }
            Claimed::Done {
                request_sha256,
                evidence_id,
            } if request_sha256 == request => {
                let evidence = self
                    .store
                    .app_evidence_get(&evidence_id)
                    .await?
                    .ok_or_else(|| {
                        StoreError::Corrupt(format!(
                            "idempotency answer {evidence_id} has no evidence"
                        ))
                    })?;
                let okey = ObjectKey::parse(&evidence.output_sha256).ok_or_else(|| {
                    StoreError::Corrupt(format!("evidence {evidence_id} output hash"))
                })?;
                let pdf = self.objects.get(okey).await?.ok_or_else(|| {
                    StoreError::Corrupt(format!(
                        "sealed document of evidence {evidence_id} is gone"
                    ))
                })?;
                return Ok(Sealed {
                    pdf,
                    evidence,
                    replayed: true,
                });
            }
            _ => return Err(reused()),
        }
        let r = self
            .app_seal_once(caller, pdf, &order, Some(key), false, None)
            .await;
        if r.is_err() {
            // Nothing was sealed for the key: a retry runs again.
            self.store
                .app_idempotency_release(&caller.app_id, key)
                .await?;
        }
        r
    }

    /// Seal once and keep the sealed document in the object store, to be fetched by its hash
    /// (batches and jobs).
    pub(crate) async fn app_seal_kept(
        &self,
        caller: &AppCaller,
        pdf: Bytes,
        order: &SealOrder,
    ) -> Result<Sealed, AppError> {
        self.app_seal_once(caller, pdf, order, None, true, None)
            .await
    }

    async fn app_seal_once(
        &self,
        caller: &AppCaller,
        pdf: Bytes,
        order: &SealOrder,
        idempotency_key: Option<&str>,
        keep: bool,
        nonce: Option<&PendingNonce>,
    ) -> Result<Sealed, AppError> {
        // Possibly a second old: the commit below decides again (`in_force.rs`).
        let grant = self
            .app_grant_in_force_kept(&caller.app_id, &order.seal_id)
            .await?;
        self.app_quota_check(&caller.app_id, caller.daily_quota, 1)
            .await?;
        let material = self.seal_material(&grant).await?;
        let (key, seal) = (material.key.clone(), &material.seal);
        let cert_serial = seal.cert_serial.clone();
        let image = material.image.clone();
        let size_mm = match order.size_mm {
            Some(s) => s,
            None => {
                crate::seals::picture::size_mm(
                    crate::seals::SealType::parse(&seal.seal_type)
                        .unwrap_or(crate::seals::SealType::Business),
                )
                .0 as f64
            }
        };
        let placements = serde_json::to_string(&order.spots).unwrap_or_default();
        let client = caller.client.to_string();
        let signed = self
            .sign_pdf_unrecorded(
                key,
                PdfJob {
                    pdf: pdf.to_vec(),
                    password: None,
                    image: Some(image),
                    placement: Placement {
                        size_mm,
                        ..Default::default()
                    },
                    spots: order.spots.clone(),
                    field: None,
                    level: order.level,
                    certify: None,
                    reason: order.reason.clone(),
                    location: order.location.clone(),
                },
                json!({"app": caller.app_id, "seal": seal.id, "seal_code": seal.code,
                       "grant": grant.grant_id, "placements": order.spots, "client": client}),
            )
            .await?;
        let out = Bytes::from(signed.pdf);
        let field = signed.field;
        let (input_sha256, output_sha256) = (signed.input_sha256, signed.output_sha256);
        if keep || idempotency_key.is_some() {
            // Kept for retries before the answer is recorded: a recorded answer has its bytes.
            self.objects.put(ObjectKey::of(&out), out.clone()).await?;
        }
        let evidence = EvidenceRow {
            id: new_id(),
            app_id: caller.app_id.clone(),
            seal_id: seal.id.clone(),
            grant_id: grant.grant_id.clone(),
            cert_serial,
            input_sha256,
            output_sha256,
            field,
            level: order.level.name().to_string(),
            placements,
            client,
            bytes: i64::try_from(out.len()).unwrap_or(i64::MAX),
            created_at: crate::store::now(),
            // Filled in by the commit: the pdf.sign entry written with it.
            audit_seq: None,
            audit_hash: None,
        };
        // One group-committed record: the grant's use, the evidence and usage, the key's answer
        // and the audit entry. A grant withdrawn, a seal lost or a use limit reached since the
        // check above refuses here, and the signed bytes are never handed out.
        let actor = app_actor(caller).name;
        let detail = signed.audit.unwrap_or_default();
        let record = crate::ca::committer::Record::AppSealed {
            grant_id: grant.grant_id.clone(),
            evidence: Box::new(evidence.clone()),
            idempotency_key: idempotency_key.map(str::to_string),
            nonce: nonce.map(PendingNonce::to_take),
            actor: actor.clone(),
            detail: detail.clone(),
        };
        let mut committed = self.committer.commit_placed(record).await;
        if let Some(n) = nonce {
            // A committed batch decided the nonce whatever it decided for the sealing: taken,
            // or refused as a replay. A batch that failed whole took nothing.
            if matches!(&committed, Ok(_) | Err(StoreError::Conflict(_))) {
                n.settle();
            }
        }
        let used_up = || {
            crate::apps::grants::refusal(
                "use-limit-reached",
                format!(
                    "app {}'s authorization for seal {} is used up",
                    caller.app_id, grant.seal_code
                ),
            )
        };
        let mut evidence = evidence;
        if matches!(&committed, Err(StoreError::Conflict(c)) if c == GRANT_USE) {
            // Say precisely why (the seal lost, the grant withdrawn or expired meanwhile), read
            // fresh. A grant made anew in the moment the old answer was kept seals once more
            // under the new one; the nonce was taken by the first commit.
            self.apps.in_force.forget(&caller.app_id, &order.seal_id);
            let fresh = self
                .app_grant_in_force(&caller.app_id, &order.seal_id)
                .await?;
            if fresh.grant_id == grant.grant_id {
                return Err(used_up());
            }
            evidence.grant_id = fresh.grant_id.clone();
            let mut detail = detail;
            detail["grant"] = json!(fresh.grant_id);
            committed = self
                .committer
                .commit_placed(crate::ca::committer::Record::AppSealed {
                    grant_id: fresh.grant_id,
                    evidence: Box::new(evidence.clone()),
                    idempotency_key: idempotency_key.map(str::to_string),
                    nonce: None,
                    actor,
                    detail,
                })
                .await;
        }
        let evidence = match committed {
            Ok(place) => EvidenceRow {
                audit_seq: place.as_ref().map(|p| p.0),
                audit_hash: place.map(|p| p.1),
                ..evidence
            },
            Err(StoreError::Conflict(c)) if c == NONCE_USED => return Err(replayed()),
            Err(StoreError::Conflict(_)) => {
                self.app_grant_in_force(&caller.app_id, &order.seal_id)
                    .await?;
                return Err(used_up());
            }
            Err(e) => return Err(e.into()),
        };
        Ok(Sealed {
            pdf: out,
            evidence,
            replayed: false,
        })
    }

    /// The calling app's sealings of a document, by the SHA-256 (hex) of the sealed document or
    /// of the original.
    pub async fn app_evidence(
        &self,
        caller: &AppCaller,
        sha256: &str,
    ) -> Result<Vec<EvidenceRow>, AppError> {
        let h = sha256.trim().to_ascii_lowercase();
        if h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(AppError::BadRequest(
                "sha256: give the document's SHA-256 as 64 hex digits".into(),
            ));
        }
        let rows = self.store.app_evidence_by_hash(&caller.app_id, &h).await?;
        if rows.is_empty() {
            return Err(AppError::NotFound(format!(
                "app {} sealed no document with SHA-256 {h}",
                caller.app_id
            )));
        }
        Ok(rows)
    }

    /// The calling app's sealings per day and seal over the last `days` days (1 to 366).
    pub async fn app_usage(
        &self,
        caller: &AppCaller,
        days: u32,
    ) -> Result<Vec<crate::store::UsageRow>, AppError> {
        if !(1..=366).contains(&days) {
            return Err(AppError::BadRequest("days: give 1 to 366".into()));
        }
        let now = crate::store::now();
        let from = crate::clock::day_of(now - (i64::from(days) - 1) * 86_400);
        let to = crate::clock::day_of(now);
        Ok(self.store.app_usage(&caller.app_id, &from, &to).await?)
    }
}

impl App {
    /// What app `id` sealed, for the people who may read the app (its owner, platform staff):
    /// sealings per day and seal over the last `days` days, and the latest `recent` sealings.
    pub async fn app_sealing_report(
        &self,
        actor: &Actor,
        id: &str,
        days: u32,
        recent: i64,
    ) -> Result<(Vec<crate::store::UsageRow>, Vec<EvidenceRow>), AppError> {
        let a = self.app_get(actor, id).await?;
        let now = crate::store::now();
        let from = crate::clock::day_of(now - (i64::from(days.clamp(1, 366)) - 1) * 86_400);
        let usage = self
            .store
            .app_usage(&a.id, &from, &crate::clock::day_of(now))
            .await?;
        let latest = self
            .store
            .app_evidence_recent(&a.id, recent.clamp(1, 100))
            .await?;
        Ok((usage, latest))
    }
}
