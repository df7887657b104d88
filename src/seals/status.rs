//! The public seal status service (国办发〔2025〕33号: a verifier checks the seal's status with the
//! issuing platform): for a seal code or a seal certificate's serial, the seal's state and the
//! times of its history.

use serde::Serialize;

use super::model::SealState;
use crate::app::App;
use crate::error::AppError;
use crate::store::StoreError;
use crate::workflow::Named;

/// What anyone may learn of a seal.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SealStatus {
    pub code: String,
    pub name: String,
    pub seal_type: String,
    /// active, lost, revoked, expired, superseded.
    pub state: String,
    /// Whether the seal signs now.
    pub signs: bool,
    /// The current certificate; `asked_serial` when the question named an earlier one.
    pub cert_serial: String,
    pub asked_serial: Option<String>,
    /// The asked certificate is the seal's current one.
    pub current_certificate: bool,
    pub valid_from: i64,
    pub valid_until: i64,
    /// When the seal was made and when its state last changed.
    pub created_at: i64,
    pub state_since: i64,
    /// Every change: (time, event, state after).
    pub history: Vec<StatusEvent>,
    /// When this answer was made.
    pub checked_at: i64,
    /// The same, signed: a COSE_Sign1 seal-status credential (base64) by the platform's
    /// seal-status signer (service CA, EKU sealpkiSealStatus), valid for ten minutes.
    pub credential: String,
    /// The credential for a QR code (CBOR → zlib → Base45, prefixed `SP1:`).
    pub qr: String,
}

/// How long a signed status answer is good for: short-lived, so its expiry is its revocation.
pub const CREDENTIAL_SECONDS: u64 = 600;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StatusEvent {
    pub at: i64,
    pub event: String,
    pub state: String,
}

impl App {
    /// The status of the seal with `code`, or whose certificate (current or earlier) is `serial`.
    pub async fn seal_status(
        self: &std::sync::Arc<Self>,
        code: Option<&str>,
        serial: Option<&str>,
    ) -> Result<SealStatus, AppError> {
        let (row, asked) = match (code, serial) {
            (Some(c), None) => {
                if !super::model::is_code(c) {
                    return Err(AppError::BadRequest(format!(
                        "code {c:?}: a seal code is 13 digits"
                    )));
                }
                (self.store.seal_by_code(c).await?, None)
            }
            (None, Some(s)) => {
                let s = crate::public::normalise_serial(s)?;
                (self.store.seal_by_cert(&s).await?, Some(s))
            }
            _ => {
                return Err(AppError::BadRequest(
                    "give either code (the seal code) or serial (a seal certificate's serial)"
                        .into(),
                ))
            }
        };
        let row = row.ok_or_else(|| AppError::NotFound("no such seal on this platform".into()))?;
        let state = SealState::parse(&row.state)
            .ok_or_else(|| StoreError::Corrupt(format!("seal {} state", row.id)))?;
        let history: Vec<StatusEvent> = self
            .store
            .seal_history(&row.id)
            .await?
            .into_iter()
            .map(|h| StatusEvent {
                at: h.at,
                event: h.event,
                state: h.to_state,
            })
            .collect();
        let state_since = history
            .iter()
            .rev()
            .find(|h| h.state == row.state)
            .map(|h| h.at)
            .unwrap_or(row.created_at);
        let now = crate::store::now();
        let cert_der = self
            .store
            .cert_get(&row.cert_serial)
            .await?
            .and_then(|c| c.der)
            .ok_or_else(|| StoreError::Corrupt(format!("seal {}: certificate gone", row.id)))?;
        let state_c =
            sealpki_pki::credential::SealState::from_name(state.name()).ok_or_else(|| {
                AppError::Internal(format!("seal state {} has no claim", state.name()))
            })?;
        let sha: [u8; 32] = <sha2::Sha256 as sha2::Digest>::digest(&cert_der).into();
        let u = |t: i64| u64::try_from(t).unwrap_or(0);
        let body = sealpki_pki::credential::Body::SealStatus(sealpki_pki::credential::SealStatus {
            seal_code: row.code.clone(),
            seal_name: row.name.clone(),
            state: state_c,
            cert_serial: hex::decode(&row.cert_serial)
                .map_err(|e| StoreError::Corrupt(format!("serial {}: {e}", row.cert_serial)))?,
            cert_sha256: sha,
            issued_at: u(row.created_at),
            changed_at: u(state_since),
            valid_until: u(row.valid_until),
            checked_at: u(now),
        });
        let claims = sealpki_pki::credential::Claims::new(
            self.config.public_base_url(),
            row.code.clone(),
            u(now),
            CREDENTIAL_SECONDS,
            body,
        )
        .map_err(|e| AppError::Internal(format!("seal status claims: {e}")))?;
        let key = self
            .platform_key(super::maker::PlatformKey::StatusSigner)
            .await?;
        let mut chain = vec![key.cert.clone()];
        chain.extend(key.chain.iter().cloned());
        let cose = sealpki_pki::credential::issue(&claims, key.signer.as_ref(), &chain)
            .map_err(|e| AppError::Internal(format!("seal status credential: {e}")))?;
        use base64::Engine;
        Ok(SealStatus {
            credential: base64::engine::general_purpose::STANDARD.encode(&cose),
            qr: sealpki_pki::credential::qr::encode(&cose),
            current_certificate: asked.as_deref().is_none_or(|s| s == row.cert_serial),
            asked_serial: asked,
            code: row.code,
            name: row.name,
            seal_type: row.seal_type,
            signs: state.signs(),
            state: row.state,
            cert_serial: row.cert_serial,
            valid_from: row.valid_from,
            valid_until: row.valid_until,
            created_at: row.created_at,
            state_since,
            history,
            checked_at: now,
        })
    }
}
