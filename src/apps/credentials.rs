//! An app's credentials, several at once so keys rotate without downtime: API keys (hmac-sha256
//! or hmac-sm3: a random 32-byte secret shown once at creation and kept sealed by
//! `secret_box`) and client certificates (the owner's CSR certified by the service CA with
//! profile app-client under a subject naming the app; the credential keeps the serial). The
//! owner makes them; the owner and platform staff revoke them — a certificate at the CA too.

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand_core::RngCore;
use sealpki_pki::revocation::Reason;
use sealpki_pki::{CertRequest, VerifiedCsr};
use serde::{Deserialize, Serialize};
use serde_json::json;
use zeroize::Zeroizing;

use super::model::AppState;
use super::registry::{app_state, new_id};
use super::signature::{Scheme, SECRET_LEN};
use crate::access::Actor;
use crate::accounts::policy::Action;
use crate::app::App;
use crate::error::AppError;
use crate::named_enum;
use crate::store::{CredentialRow, Store, StoreError};
use crate::workflow::Named;

/// Active credentials one app may hold at once.
pub const MAX_ACTIVE: i64 = 10;
/// The profile of app client certificates.
pub const PROFILE: &str = "app-client";
/// A client certificate's validity unless asked otherwise (the profile allows up to 825 days).
pub const DEFAULT_DAYS: u32 = 365;

named_enum! {
    /// What a credential is.
    pub enum CredentialKind {
        HmacSha256 = "hmac-sha256",
        HmacSm3 = "hmac-sm3",
        /// A TLS client certificate from the service CA.
        Certificate = "certificate",
    }
}

named_enum! {
    pub enum CredentialState {
        Active = "active",
        /// For good; kept for the record.
        Revoked = "revoked",
    }
}

impl CredentialKind {
    /// The signing scheme of an API key; None for a certificate.
    pub fn scheme(self) -> Option<Scheme> {
        match self {
            CredentialKind::HmacSha256 => Some(Scheme::HmacSha256),
            CredentialKind::HmacSm3 => Some(Scheme::HmacSm3),
            CredentialKind::Certificate => None,
        }
    }
}

/// A credential as shown (never its secret).
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct CredentialView {
    pub id: String,
    pub app_id: String,
    /// hmac-sha256, hmac-sm3 or certificate.
    pub kind: String,
    pub label: Option<String>,
    /// active or revoked.
    pub state: String,
    /// A certificate's serial (upper-case hex).
    pub cert_serial: Option<String>,
    /// A certificate's end of validity (unix seconds).
    pub cert_not_after: Option<i64>,
    pub created_by: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
    /// Within a minute.
    pub last_used_at: Option<i64>,
}

/// An app's credentials, oldest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CredentialList {
    pub items: Vec<CredentialView>,
}

/// What the owner sends for a new API key.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCredentialRequest {
    /// hmac-sha256 (default) or hmac-sm3.
    #[serde(default)]
    pub kind: Option<String>,
    /// Up to 60 characters, to tell keys apart.
    #[serde(default)]
    pub label: Option<String>,
}

/// A new API key: the only answer that carries its secret.
#[derive(Serialize, utoipa::ToSchema)]
pub struct NewApiKey {
    pub credential: CredentialView,
    /// X-Sealpki-App.
    pub app_id: String,
    /// X-Sealpki-Key.
    pub key_id: String,
    /// The 32-byte HMAC key, base64url without padding. Shown once: keep it safe.
    pub secret: String,
}

/// What the owner sends for a client certificate.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CertificateRequest {
    /// PKCS#10, PEM (P-256, RSA-3072/4096 or SM2 keys).
    pub csr: String,
    #[serde(default)]
    pub label: Option<String>,
    /// 1-825, 365 by default.
    #[serde(default)]
    pub validity_days: Option<u32>,
}

/// A new client certificate.
#[derive(Serialize, utoipa::ToSchema)]
pub struct NewCertificate {
    pub credential: CredentialView,
    pub serial: String,
    /// The certificate, PEM.
    pub certificate: String,
    /// The issuing CA first, the root last, PEM.
    pub chain: String,
}

/// Why a credential is revoked.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeRequest {
    /// cessationOfOperation (default), superseded or keyCompromise.
    #[serde(default)]
    pub reason: Option<String>,
}

fn check_label(l: Option<&str>) -> Result<Option<String>, AppError> {
    match l.map(str::trim) {
        None | Some("") => Ok(None),
        Some(l) if l.chars().count() > 60 || l.chars().any(char::is_control) => {
            Err(AppError::Invalid {
                field: "label",
                rule: "up to 60 characters, no control characters".into(),
            })
        }
        Some(l) => Ok(Some(l.to_string())),
    }
}

impl App {
    fn credential_view(&self, c: CredentialRow, not_after: Option<i64>) -> CredentialView {
        CredentialView {
            id: c.id,
            app_id: c.app_id,
            kind: c.kind,
            label: c.label,
            state: c.state,
            cert_serial: c.cert_serial,
            cert_not_after: not_after,
            created_by: c.created_by,
            created_at: c.created_at,
            revoked_at: c.revoked_at,
            last_used_at: c.last_used_at,
        }
    }

    async fn credential_view_full(&self, c: CredentialRow) -> Result<CredentialView, AppError> {
        let not_after = match &c.cert_serial {
            Some(s) => self.store.cert_get(s).await?.map(|r| r.not_after),
            None => None,
        };
        Ok(self.credential_view(c, not_after))
    }

    /// The app's credentials (apps.read: the owner and platform staff).
    pub async fn app_credentials(
        &self,
        actor: &Actor,
        app_id: &str,
    ) -> Result<CredentialList, AppError> {
        self.app_row_for(actor, app_id, Action::ReadApp).await?;
        let mut items = Vec::new();
        for c in self.store.credentials_of(app_id).await? {
            items.push(self.credential_view_full(c).await?);
        }
        Ok(CredentialList { items })
    }

    /// Refuse a new credential for a revoked app or one at its limit.
    async fn may_add_credential(&self, app: &crate::store::AppRow) -> Result<(), AppError> {
        if app_state(app)? == AppState::Revoked {
            return Err(AppError::Conflict(format!(
                "app {} is revoked: it gets no new credentials",
                app.id
            )));
        }
        if self.store.credential_count_active(&app.id).await? >= MAX_ACTIVE {
            return Err(AppError::Conflict(format!(
                "app {} has {MAX_ACTIVE} active credentials: revoke one first",
                app.id
            )));
        }
        Ok(())
    }

    /// A new API key (apps.credentials.create: the owner); its secret in this answer only.
    pub async fn app_create_key(
        &self,
        actor: &Actor,
        app_id: &str,
        req: &NewCredentialRequest,
    ) -> Result<NewApiKey, AppError> {
        let app = self
            .app_row_for(actor, app_id, Action::MakeAppCredential)
            .await?;
        let kind = match req.kind.as_deref().map(str::trim) {
            None | Some("") => CredentialKind::HmacSha256,
            Some(k) => match CredentialKind::parse(k) {
                Some(k) if k.scheme().is_some() => k,
                _ => {
                    return Err(AppError::Invalid {
                        field: "kind",
                        rule: "hmac-sha256 or hmac-sm3 (client certificates come from a CSR)"
                            .into(),
                    })
                }
            },
        };
        let label = check_label(req.label.as_deref())?;
        self.may_add_credential(&app).await?;
        let id = new_id();
        let mut secret = Zeroizing::new([0u8; SECRET_LEN]);
        rand_core::OsRng.fill_bytes(&mut secret[..]);
        let sealed = self.app_secrets()?.seal(app_id, &id, &secret[..])?;
        let now = crate::store::now();
        let row = CredentialRow {
            id: id.clone(),
            app_id: app_id.to_string(),
            kind: kind.name().into(),
            secret_sealed: Some(sealed),
            cert_serial: None,
            label,
            state: CredentialState::Active.name().into(),
            created_by: actor.name.clone(),
            created_at: now,
            revoked_at: None,
            last_used_at: None,
        };
        let mut tx = self.store.begin().await?;
        Store::credential_insert(&mut tx, &row).await?;
        self.audit
            .append(
                &mut tx,
                &actor.name,
                "app.credential.create",
                json!({"app_id": app_id, "credential_id": id, "kind": row.kind,
                       "label": row.label}),
            )
            .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(NewApiKey {
            credential: self.credential_view(row, None),
            app_id: app_id.to_string(),
            key_id: id,
            secret: URL_SAFE_NO_PAD.encode(&secret[..]),
        })
    }

    /// A client certificate for the key of the owner's CSR (apps.credentials.create).
    pub async fn app_create_certificate(
        self: &Arc<Self>,
        actor: &Actor,
        app_id: &str,
        req: &CertificateRequest,
    ) -> Result<NewCertificate, AppError> {
        let app = self
            .app_row_for(actor, app_id, Action::MakeAppCredential)
            .await?;
        let label = check_label(req.label.as_deref())?;
        let days = req.validity_days.unwrap_or(DEFAULT_DAYS);
        if !(1..=825).contains(&days) {
            return Err(AppError::Invalid {
                field: "validity_days",
                rule: "1-825".into(),
            });
        }
        let csr = VerifiedCsr::parse(req.csr.as_bytes())?;
        self.may_add_credential(&app).await?;
        let developer = self
            .store
            .org_get(&app.developer_org_id)
            .await?
            .map(|o| o.name)
            .unwrap_or_else(|| app.developer_org_id.clone());
        use crate::seals::produce::dn_value;
        let subject = format!(
            "CN={},OU=app:{},O={},C=CN",
            dn_value(&truncate(&app.name, 64)),
            app.id,
            dn_value(&truncate(&developer, 64)),
        );
        let name = sealpki_pki::name::parse_dn(&subject)
            .map_err(|e| AppError::BadRequest(format!("certificate subject: {e}")))?;
        let request = CertRequest::for_verified_key(&csr, name).with_validity_days(days);
        let issued = self.issue(&actor.name, PROFILE, request, None).await?;
        let id = new_id();
        let now = crate::store::now();
        let row = CredentialRow {
            id: id.clone(),
            app_id: app_id.to_string(),
            kind: CredentialKind::Certificate.name().into(),
            secret_sealed: None,
            cert_serial: Some(issued.serial.clone()),
            label,
            state: CredentialState::Active.name().into(),
            created_by: actor.name.clone(),
            created_at: now,
            revoked_at: None,
            last_used_at: None,
        };
        let recorded = async {
            let mut tx = self.store.begin().await?;
            Store::credential_insert(&mut tx, &row).await?;
            self.audit
                .append(
                    &mut tx,
                    &actor.name,
                    "app.credential.create",
                    json!({"app_id": app_id, "credential_id": id, "kind": row.kind,
                           "serial": issued.serial, "label": row.label}),
                )
                .await?;
            tx.commit().await.map_err(StoreError::from)?;
            Ok::<(), AppError>(())
        }
        .await;
        if let Err(e) = recorded {
            // A certificate no credential names must not authenticate anyone.
            if let Err(r) = self
                .revoke(
                    &Actor::system(),
                    &issued.serial,
                    Some(Reason::CessationOfOperation),
                    Some("app credential not recorded"),
                )
                .await
            {
                tracing::error!(error = %r, serial = issued.serial, "revoking an unrecorded app certificate");
            }
            return Err(e);
        }
        let not_after = self
            .store
            .cert_get(&issued.serial)
            .await?
            .map(|r| r.not_after);
        Ok(NewCertificate {
            credential: self.credential_view(row, not_after),
            serial: issued.serial.clone(),
            certificate: sealpki_pki::pem::cert_pem(&issued.der),
            chain: sealpki_pki::pem::chain_pem(issued.chain.iter().map(Vec::as_slice)),
        })
    }

    /// A certificate credential's certificate and chain, PEM (apps.read).
    pub async fn app_credential_certificate(
        &self,
        actor: &Actor,
        app_id: &str,
        credential_id: &str,
    ) -> Result<String, AppError> {
        self.app_row_for(actor, app_id, Action::ReadApp).await?;
        let c = self.credential_of(app_id, credential_id).await?;
        let serial = c.cert_serial.ok_or_else(|| {
            AppError::NotFound(format!(
                "credential {credential_id} is an API key, not a certificate"
            ))
        })?;
        let cert = self
            .store
            .cert_get(&serial)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no certificate {serial}")))?;
        let der = cert
            .der
            .ok_or_else(|| AppError::NotFound(format!("certificate {serial} was never issued")))?;
        let chain = self.key_chain(&cert.ca_key)?;
        Ok(sealpki_pki::pem::cert_pem(&der)
            + &sealpki_pki::pem::chain_pem(chain.iter().map(Vec::as_slice)))
    }

    async fn credential_of(
        &self,
        app_id: &str,
        credential_id: &str,
    ) -> Result<CredentialRow, AppError> {
        match self.store.credential_get(credential_id).await? {
            Some(c) if c.app_id == app_id => Ok(c),
            _ => Err(AppError::NotFound(format!(
                "app {app_id} has no credential {credential_id:?}"
            ))),
        }
    }

    /// Revoke one credential (apps.credentials.revoke: the owner and platform staff); a
    /// certificate at the CA too. Refused from the next request on, on every instance within the
    /// cache's time to live.
    pub async fn app_revoke_credential(
        &self,
        actor: &Actor,
        app_id: &str,
        credential_id: &str,
        req: &RevokeRequest,
    ) -> Result<CredentialView, AppError> {
        self.app_row_for(actor, app_id, Action::RevokeAppCredential)
            .await?;
        let reason = match req.reason.as_deref().map(str::trim) {
            None | Some("") | Some("cessationOfOperation") => Reason::CessationOfOperation,
            Some("superseded") => Reason::Superseded,
            Some("keyCompromise") => Reason::KeyCompromise,
            Some(r) => {
                return Err(AppError::Invalid {
                    field: "reason",
                    rule: format!("{r:?}: cessationOfOperation, superseded or keyCompromise"),
                })
            }
        };
        let c = self.credential_of(app_id, credential_id).await?;
        if c.state != CredentialState::Active.name() {
            return Err(AppError::Conflict(format!(
                "credential {credential_id} is revoked already"
            )));
        }
        let now = crate::store::now();
        let mut tx = self.store.begin().await?;
        let touched = self
            .revoke_credential_in(&mut tx, actor, &c, reason, now)
            .await?;
        self.audit
            .append(
                &mut tx,
                &actor.name,
                "app.credential.revoke",
                json!({"app_id": app_id, "credential_id": credential_id, "kind": c.kind,
                       "serial": c.cert_serial, "reason": reason.name()}),
            )
            .await?;
        tx.commit().await.map_err(StoreError::from)?;
        self.app_auth_forget(app_id);
        self.after_credential_revocations(touched.into_iter().collect())
            .await;
        let c = self.credential_of(app_id, credential_id).await?;
        self.credential_view_full(c).await
    }
}

/// At most `n` characters (a name attribute's upper bound).
fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}
