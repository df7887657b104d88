//! Cloud-signing applications (issue 13): the registry of apps, their credentials and how a
//! request proves it comes from one, the seal administrators' authorizations, and the signing
//! API's service side. `model.rs` holds the shared vocabulary; the areas have their own modules:
//! `registry.rs` (apps and their states), `credentials.rs` (API keys and client certificates),
//! `secret_box.rs` (API-key secrets at rest), `signature.rs` (the request-signing scheme, pure),
//! `authn.rs` (a request's proof → `AppCaller`, with a short-lived cache of credentials),
//! `grants.rs` (a seal administrator's authorization: states, validity rules) and
//! `grant_service.rs` (granting, withdrawing, syncing, lists, the in-force check),
//! `sealing.rs` (the signing API's service side) with `material.rs` (a seal's key, row and
//! decoded picture kept in memory) and `in_force.rs` (in-force answers kept a second, the commit
//! deciding again), `batch.rs` (batches and asynchronous jobs),
//! `webhooks.rs` (app events to the callback URL, the delivery log), `quota.rs` (rate and daily
//! quota) and `evidence.rs` with `evidence_pdf.rs` (the evidence report, 存证报告).

pub mod authn;
pub mod batch;
pub mod credentials;
pub mod evidence;
mod evidence_pdf;
pub mod grant_service;
pub mod grants;
mod in_force;
mod material;
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
    /// Seals' signing material (key, row, decoded picture), kept briefly.
    pub(crate) materials: material::Materials,
    /// In-force answers of (app, seal) pairs, kept a second; the commit decides again.
    pub(crate) in_force: in_force::InForce,
}

impl crate::app::App {
    /// The box of API-key secrets (`DATA_DIR/app-secrets.key`, made on first use).
    pub(crate) fn app_secrets(&self) -> Result<Arc<secret_box::SecretBox>, crate::error::AppError> {
        if let Some(b) = self.apps.secrets.get() {
            return Ok(b.clone());
        }
        let b = Arc::new(secret_box::SecretBox::open(&self.config)?);
        Ok(self.apps.secrets.get_or_init(|| b).clone())
    }

    /// Forget what the cache holds of app `id` (after a change of its state or credentials).
    pub(crate) fn app_auth_forget(&self, id: &str) {
        self.apps.cache.forget_app(id);
    }
}
