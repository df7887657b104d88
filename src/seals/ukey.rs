//! UKey seals: the key is the holder's, made on their token, so production is a protocol with
//! the holder's client (`sealpki ukey enrol`). For an approved UKey application the holder sends
//! a PKCS#10 request made with the token key; we check it, certify that key under the subject we
//! choose (the cloud seal's own `certify_key`), make the GB/T 38540 structure, and in one
//! transaction record the seal (no key reference: the key is not in our custody) in
//! `pending-receipt`, hold its certificate, record the shipment with a receipt challenge and write
//! the application's `ship`. The holder writes certificate and structure onto the token and signs
//! the challenge with the token key; that signature, checked against the seal certificate, is the
//! confirmation of receipt: the hold is released, the seal becomes active and the application
//! complete, again in one transaction.

use std::sync::Arc;

use serde::Serialize;
use serde_json::json;

use sealpki_pki::keys::holder;
use sealpki_pki::revocation::Reason;
use sealpki_pki::{CertRequest, VerifiedCsr};

use super::application::{Data, SealApplication, State};
use super::model::{SealEvent, SealState, SigningMode};
use super::produce::Spec;
use super::service::{new_seal, seal_state, NewSeal};
use crate::access::Actor;
use crate::accounts::policy::{Action, Allowed};
use crate::app::App;
use crate::error::AppError;
use crate::store::{SealHistoryRow, ShipmentRow, Store, StoreError, WorkflowRow};
use crate::workflow::{EventRequest, Gate, Kind, Named, View, Workflow};

const APP_KIND: &str = SealApplication::NAME;

/// What the holder's client gets back for its request.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Enrolment {
    pub seal_id: String,
    /// 13 digits.
    pub code: String,
    /// The seal certificate (PEM), on hold until receipt is confirmed.
    pub certificate: String,
    /// The issuing CA's chain (PEM, issuing CA first).
    pub chain: String,
    /// The GB/T 38540 structure (base64 of its DER).
    pub seal: String,
    /// To sign with the token key (see `receipt_message`) to confirm receipt.
    pub challenge: String,
    /// What to sign: `sealpki-ukey-receipt/v1\n{application id}\n{challenge}`.
    pub receipt_message: String,
    /// The application, now shipped.
    pub application: View,
}

impl App {
    /// The application `id`, if it is a UKey application the caller may act on as applicant.
    async fn ukey_application(
        &self,
        actor: &Actor,
        id: &str,
    ) -> Result<(WorkflowRow, Data, Allowed), AppError> {
        let p = self.principal(actor).await?;
        let row = match self.store.workflow_get(id).await? {
            Some(r) if r.kind == APP_KIND => r,
            _ => return Err(AppError::NotFound(format!("no {APP_KIND} with id {id}"))),
        };
        let d = Data::stored(
            &serde_json::from_str(&row.data)
                .map_err(|e| StoreError::Corrupt(format!("{APP_KIND} {id} data: {e}")))?,
        )?;
        let allowed = self.org_allowed(&p, Action::ApplySeal, &d.org_id).await?;
        if d.mode() != SigningMode::Ukey {
            return Err(AppError::Policy(format!(
                "application {id} is for a cloud seal: the platform makes its key, there is no \
                 token to enrol"
            )));
        }
        Ok((row, d, allowed))
    }

    /// Refuse a caller who may not act on UKey application `id` (before its body is read).
    pub async fn ukey_may(&self, actor: &Actor, id: &str) -> Result<(), AppError> {
        self.ukey_application(actor, id).await.map(|_| ())
    }

    /// The holder's request for the seal certificate of UKey application `id` (see the module).
    pub async fn ukey_enrol(
        self: &Arc<Self>,
        actor: &Actor,
        id: &str,
        csr: &[u8],
        answer: Option<&crate::workflow::Answer<'_>>,
    ) -> Result<Enrolment, AppError> {
        let (row, d, allowed) = self.ukey_application(actor, id).await?;
        if row.state != State::PendingProduction.name() {
            return Err(AppError::Conflict(format!(
                "application {id} is {}: a UKey is enrolled once, while the application is \
                 pending-production",
                row.state
            )));
        }
        let csr = VerifiedCsr::parse(csr).map_err(|e| AppError::BadRequest(format!("csr: {e}")))?;
        // Checked before anything is issued: the version and the transition (a second enrolment
        // racing this one fails here or when the step is written).
        let step = Workflow::step(
            self,
            Gate::Scoped(actor, allowed),
            APP_KIND,
            id,
            &EventRequest {
                event: "ship",
                version: row.version,
                comment: None,
                attachments: &[],
            },
        )
        .await?;
        let (org, code, pic) = self.seal_face(&d).await?;
        let spec = Spec {
            application_id: id,
            code: &code,
            seal_name: &d.seal_name,
            seal_type: d.seal_type(),
            years: d.years,
            org: &org,
            picture: &pic,
        };
        let production = self.production_begin(&code, None, id).await?;
        let c = match self
            .certify_key(actor, &spec, |name, days| {
                CertRequest::for_verified_key(&csr, name).with_validity_days(days)
            })
            .await
        {
            Ok(c) => c,
            Err((e, serial)) => {
                if let Some(s) = serial {
                    self.undo_cert(&s, "UKey enrolment failed").await;
                }
                self.forget_production(&production).await;
                return Err(e);
            }
        };
        let mut rnd = [0u8; 32];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut rnd);
        let challenge = hex::encode(rnd);
        let seal = new_seal(
            NewSeal {
                application_id: id,
                data: &d,
                org_id: &org.id,
                code: &code,
                picture: &pic,
                state: SealState::PendingReceipt,
            },
            actor,
            None,
            (&c.serial, &c.ses, c.valid_from, c.valid_until),
        );
        let chain: Vec<&[u8]> = c.chain.iter().map(|d| d.as_slice()).collect();
        let chain = sealpki_pki::pem::chain_pem(chain);
        let written: Result<(Enrolment, (String, i64)), AppError> = async {
            let cert_row = self
                .store
                .cert_get(&c.serial)
                .await?
                .ok_or_else(|| AppError::Internal(format!("certificate {} gone", c.serial)))?;
            let now = crate::store::now();
            let mut tx = self.store.begin().await?;
            Store::seal_insert(&mut tx, &seal).await?;
            self.write_status(
                &mut tx,
                &actor.name,
                &cert_row,
                Some(Reason::CertificateHold),
                Some("UKey 待签收: on hold until the holder confirms receipt"),
            )
            .await?;
            let (seq, _) = self
                .audit
                .append(
                    &mut tx,
                    &actor.name,
                    "seal.produce",
                    json!({"seal": seal.id, "code": code, "name": seal.name, "org": org.id,
                           "application": id, "mode": "ukey", "key": null,
                           "certificate": c.serial,
                           "ses_sha256": sealpki_pki::alg::sha256_hex(&c.ses)}),
                )
                .await?;
            Store::seal_history_insert(
                &mut tx,
                &SealHistoryRow {
                    seal_id: seal.id.clone(),
                    version: 1,
                    at: now,
                    actor: actor.name.clone(),
                    event: "produce".into(),
                    from_state: None,
                    to_state: seal.state.clone(),
                    cert_serial: c.serial.clone(),
                    workflow_id: Some(id.to_string()),
                    audit_seq: seq,
                },
            )
            .await?;
            Store::shipment_insert(
                &mut tx,
                &ShipmentRow {
                    application_id: id.to_string(),
                    seal_id: seal.id.clone(),
                    challenge_sha256: sealpki_pki::alg::sha256_hex(challenge.as_bytes()),
                    shipped_at: now,
                    received_at: None,
                    carrier: None,
                    tracking: None,
                },
            )
            .await?;
            let v = step.write(self, &mut tx).await?;
            Store::production_end(&mut tx, &production).await?;
            self.notify_decision(&mut tx, &row.created_by, &v, &d.seal_name)
                .await?;
            let e = Enrolment {
                seal_id: seal.id.clone(),
                code: code.clone(),
                certificate: sealpki_pki::pem::cert_pem(&c.cert),
                chain,
                seal: base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &c.ses),
                receipt_message: String::from_utf8_lossy(&holder::receipt_message(id, &challenge))
                    .into_owned(),
                challenge: challenge.clone(),
                application: v,
            };
            // A retry with the same Idempotency-Key gets this answer back: the holder's client
            // may lose it after the commit, and a second enrolment would be refused.
            if let Some(a) = answer {
                a.record_json(&mut tx, &e).await?;
            }
            tx.commit().await.map_err(StoreError::from)?;
            Ok((e, (cert_row.ca_key, cert_row.crl_part)))
        }
        .await;
        let (e, (ca, part)) = match written {
            Ok(w) => w,
            Err(e) => {
                self.undo_cert(&c.serial, "UKey seal record not written")
                    .await;
                self.forget_production(&production).await;
                return Err(e);
            }
        };
        self.after_status_change(&ca, part).await?;
        Ok(e)
    }

    /// The holder confirms receipt: `signature` (DER ECDSA) by the token key over
    /// `receipt_message(id, challenge)`. Releases the hold; seal active; application complete.
    pub async fn ukey_receipt(
        self: &Arc<Self>,
        actor: &Actor,
        id: &str,
        challenge: &str,
        signature: &[u8],
        answer: Option<&crate::workflow::Answer<'_>>,
    ) -> Result<View, AppError> {
        let (row, d, allowed) = self.ukey_application(actor, id).await?;
        if row.state != State::Shipped.name() {
            return Err(AppError::Conflict(format!(
                "application {id} is {}: receipt is confirmed once, after shipping",
                row.state
            )));
        }
        let ship =
            self.store.shipment_get(id).await?.ok_or_else(|| {
                StoreError::Corrupt(format!("{APP_KIND} {id}: shipped, no shipment"))
            })?;
        if ship.received_at.is_some() {
            return Err(AppError::Conflict(format!(
                "application {id}: already received"
            )));
        }
        if sealpki_pki::alg::sha256_hex(challenge.as_bytes()) != ship.challenge_sha256 {
            return Err(AppError::Policy(
                "challenge: not the one this application's enrolment gave".into(),
            ));
        }
        let seal = self
            .store
            .seal_get(&ship.seal_id)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("shipment {id}: seal gone")))?;
        let cert_row = self
            .store
            .cert_get(&seal.cert_serial)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("seal {}: certificate gone", seal.id)))?;
        let der = cert_row
            .der
            .as_deref()
            .ok_or_else(|| StoreError::Corrupt(format!("seal {}: certificate", seal.id)))?;
        let cert: sealpki_pki::x509_cert::Certificate = sealpki_pki::der::Decode::from_der(der)
            .map_err(|e: sealpki_pki::der::Error| {
                StoreError::Corrupt(format!("seal {} certificate: {e}", seal.id))
            })?;
        let spki = &cert.tbs_certificate.subject_public_key_info;
        let scheme = sealpki_pki::KeyAlgorithm::of_spki(spki)
            .map_err(|e| AppError::Internal(e.to_string()))?
            .default_scheme();
        sealpki_pki::alg::verify(
            spki,
            scheme,
            &holder::receipt_message(id, challenge),
            signature,
        )
        .map_err(|_| {
            AppError::Policy(
                "signature: does not verify with the seal certificate's key (sign the receipt \
                 message with the enrolled token)"
                    .into(),
            )
        })?;
        let from = seal_state(&seal)?;
        let to = from
            .on(SealEvent::ConfirmReceipt)
            .ok_or_else(|| AppError::Conflict(format!("seal {} is {}", seal.code, from.name())))?;
        let step = Workflow::step(
            self,
            Gate::Scoped(actor, allowed),
            APP_KIND,
            id,
            &EventRequest {
                event: "confirm-receipt",
                version: row.version,
                comment: None,
                attachments: &[],
            },
        )
        .await?;
        let now = crate::store::now();
        let mut tx = self.store.begin().await?;
        if !Store::seal_set_state(&mut tx, &seal.id, seal.version, to.name(), now).await?
            || !Store::shipment_receive(&mut tx, id, now).await?
        {
            return Err(AppError::Conflict(format!(
                "seal {} changed meanwhile: load it again",
                seal.code
            )));
        }
        self.write_status(&mut tx, &actor.name, &cert_row, None, Some("UKey 已签收"))
            .await?;
        let (seq, _) = self
            .audit
            .append(
                &mut tx,
                &actor.name,
                "seal.change",
                json!({"seal": seal.id, "code": seal.code, "operation": "confirm-receipt",
                       "from": from.name(), "to": to.name(), "certificate": seal.cert_serial,
                       "application": id}),
            )
            .await?;
        Store::seal_history_insert(
            &mut tx,
            &SealHistoryRow {
                seal_id: seal.id.clone(),
                version: seal.version + 1,
                at: now,
                actor: actor.name.clone(),
                event: SealEvent::ConfirmReceipt.name().into(),
                from_state: Some(from.name().into()),
                to_state: to.name().into(),
                cert_serial: seal.cert_serial.clone(),
                workflow_id: Some(id.to_string()),
                audit_seq: seq,
            },
        )
        .await?;
        let v = step.write(self, &mut tx).await?;
        self.notify_decision(&mut tx, &row.created_by, &v, &d.seal_name)
            .await?;
        if let Some(a) = answer {
            a.record(&mut tx, &v).await?;
        }
        tx.commit().await.map_err(StoreError::from)?;
        self.after_status_change(&cert_row.ca_key, cert_row.crl_part)
            .await?;
        Ok(v)
    }

    /// Revoke a certificate an enrolment made but could not record (best effort, logged).
    async fn forget_production(&self, id: &str) {
        if let Err(e) = self.store.production_forget(id).await {
            tracing::error!(production = id, error = %e, "undoing a UKey enrolment: forget it");
        }
    }

    async fn undo_cert(&self, serial: &str, why: &str) {
        if let Err(e) = self.revoke_unused(serial, why).await {
            tracing::error!(serial, error = %e, "undoing a UKey enrolment: revoke");
        }
    }
}
