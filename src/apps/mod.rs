//! Cloud-signing applications (issue 13): the registry of apps, their credentials and how a
//! request proves it comes from one, the seal administrators' authorizations, and the signing
//! API's service side. `model.rs` holds the shared vocabulary; the areas have their own modules:
//! `registry.rs` (apps and their states), `credentials.rs` (API keys and client certificates),
//! `secret_box.rs` (API-key secrets at rest), `signature.rs` (the request-signing scheme, pure),
//! `authn.rs` (a request's proof → `AppCaller`, with a short-lived cache of credentials),
//! `grants.rs` (a seal administrator's authorization: states, validity rules) and
//! `grant_service.rs` (granting, withdrawing, syncing, lists, the in-force check),
//! `sealing.rs` (the signing API's service side), `batch.rs` (batches and asynchronous jobs),
//! `webhooks.rs` (app events to the callback URL, the delivery log), `quota.rs` (rate and daily
//! quota) and `evidence.rs` with `evidence_pdf.rs` (the evidence report, 存证报告).

pub mod authn;
pub mod batch;
pub mod credentials;
pub mod evidence;
mod evidence_pdf;
pub mod grant_service;
pub mod grants;
pub mod model;
pub mod quota;
pub mod registry;
pub mod sealing;
pub mod secret_box;
pub mod signature;
pub mod webhooks;

use std::sync::{Arc, OnceLock};

pub use authn::Whoami;
pub use model::{AppCaller, AppKind, AppState, CallerProof};

/// What the apps area keeps in memory per process (on `App::apps`).
#[derive(Default)]
pub struct Runtime {
    /// The API-key secrets' box, opened on first use.
    pub(crate) secrets: OnceLock<Arc<secret_box::SecretBox>>,
    /// Credentials recently used, their secrets opened (a short time to live).
    pub(crate) cache: authn::Cache,
    /// The HTTP client of webhook deliveries, made on first use.
    pub(crate) webhook_client: OnceLock<reqwest::Client>,
    /// Request-rate buckets per app.
    pub(crate) buckets: quota::Buckets,
    /// What sealing with a seal needs besides the grant, by seal id, for [`MATERIAL_TTL`]: its
    /// key opened, its row, its picture decoded (decoding one costs more than the signature).
    pub(crate) materials: std::sync::Mutex<
        std::collections::HashMap<String, (std::time::Instant, Arc<SealMaterial>)>,
    >,
}

/// A seal's signing material, cached briefly. The seal's state is not taken from here: every
/// sealing reads it fresh with the grant (`app_grant_in_force`), so a lost or revoked seal stops
/// at once; a renewed certificate is picked up within the TTL.
pub(crate) struct SealMaterial {
    pub key: crate::signing::SigningKey,
    pub seal: crate::store::SealRow,
    pub image: sealpki_pki::pdf::image::SealImage,
}

/// How long a seal's material is reused.
pub const MATERIAL_TTL: std::time::Duration = std::time::Duration::from_secs(2);
/// Most seals' material kept.
const MATERIALS_MAX: usize = 1024;

impl crate::app::App {
    /// The box of API-key secrets (`DATA_DIR/app-secrets.key`, made on first use).
    pub(crate) fn app_secrets(&self) -> Result<Arc<secret_box::SecretBox>, crate::error::AppError> {
        if let Some(b) = self.apps.secrets.get() {
            return Ok(b.clone());
        }
        let b = Arc::new(secret_box::SecretBox::open(&self.config)?);
        Ok(self.apps.secrets.get_or_init(|| b).clone())
    }

    /// The signing material of the grant's seal: the key (through the one key check,
    /// `seal_signing_key_granted`), the row and the decoded picture; from the cache when fresh.
    pub(crate) async fn seal_material(
        &self,
        grant: &grant_service::GrantInForce,
    ) -> Result<Arc<SealMaterial>, crate::error::AppError> {
        if let Some((at, m)) = self
            .apps
            .materials
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&grant.seal_id)
        {
            if at.elapsed() < MATERIAL_TTL {
                return Ok(m.clone());
            }
        }
        let (key, seal) = self.seal_signing_key_granted(grant).await?;
        let image = sealpki_pki::pdf::image::SealImage::from_bytes(&seal.picture_png)
            .map_err(|e| crate::error::AppError::Internal(format!("seal picture: {e}")))?;
        let m = Arc::new(SealMaterial { key, seal, image });
        let mut map = self
            .apps
            .materials
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if map.len() >= MATERIALS_MAX {
            map.retain(|_, (at, _)| at.elapsed() < MATERIAL_TTL);
            if map.len() >= MATERIALS_MAX {
                map.clear();
            }
        }
        map.insert(
            grant.seal_id.clone(),
            (std::time::Instant::now(), m.clone()),
        );
        Ok(m)
    }

    /// Forget what the cache holds of app `id` (after a change of its state or credentials).
    pub(crate) fn app_auth_forget(&self, id: &str) {
        self.apps.cache.forget_app(id);
    }
}
