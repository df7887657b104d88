//! The running authority, wired: configuration, storage, key stores, audit, limits, deliveries and
//! the loaded CA hierarchy (`ca::hierarchy`), built once by `open`. The CLI, the HTTP API and the
//! console all work through this type, so they behave the same on the same data; what it does lives
//! by area (`ca`, `accounts`, `signing`, `files`, `jobs`, `notify`, `workflow`).

use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use sealpki_pki::keys::pkcs11::{TokenConfig, TokenStore};
use sealpki_pki::keys::software::SoftwareStore;
use sealpki_pki::Keyring;

use crate::audit::Audit;
use crate::config::Config;
use crate::error::AppError;
use crate::store::Store;

pub struct App {
    pub config: Config,
    pub store: Store,
    pub keyring: Keyring,
    pub audit: Arc<Audit>,
    pub(crate) committer: crate::ca::committer::Committer,
    pub metrics: crate::metrics::Metrics,
    pub ocsp_cache: crate::ca::status::OcspCache,
    /// Rate limits and the login throttle (in memory, per process).
    pub limits: crate::limits::Limiters,
    pub crl_cache: crate::ca::status::CrlCache,
    /// Uploaded files' content, by SHA-256 (`[files] store`).
    pub objects: Arc<dyn crate::files::ObjectStore>,
    /// The ways out for the job worker: SMS provider, SMTP sender.
    pub notify: crate::notify::Deliveries,
    pub(crate) loaded: RwLock<crate::ca::hierarchy::Loaded>,
    /// Apps: the sealed-secret box and the credential cache of request authentication.
    pub(crate) apps: crate::apps::Runtime,
}

pub use crate::ca::hierarchy::{CaKey, OcspCa, CA_NAMES};
pub use crate::ca::issue::IssuedCert;

pub fn unix(t: SystemTime) -> i64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl App {
    /// Open storage and key stores and load whatever hierarchy exists.
    pub async fn open(config: Config) -> Result<Arc<App>, AppError> {
        if config.development {
            std::fs::create_dir_all(&config.data_dir).map_err(|e| {
                AppError::Unavailable(format!("data directory {}: {e}", config.data_dir.display()))
            })?;
        }
        let store = Store::open(
            &config.database_url(),
            config.database.sqlite_synchronous.as_deref(),
            config.database.max_connections,
        )
        .await
        .map_err(|e| {
            AppError::Unavailable(format!(
                "database {}: {e}",
                redact_url(&config.database_url())
            ))
        })?;
        let keyring = open_keyring(&config)?;
        let audit = Arc::new(Audit::new(config.audit.checkpoint_every));
        let ocsp_cache = crate::ca::status::OcspCache::new(config.ocsp.cache_entries);
        let limits = crate::limits::Limiters::new(&config.limits);
        let objects = crate::files::open_store(&config)?;
        let app = Arc::new(App {
            committer: crate::ca::committer::Committer::start(store.clone(), audit.clone()),
            audit,
            notify: crate::notify::Deliveries::from_config(&config)?,
            config,
            store,
            keyring,
            metrics: Default::default(),
            ocsp_cache,
            limits,
            crl_cache: Default::default(),
            objects,
            loaded: RwLock::new(Default::default()),
            apps: Default::default(),
        });
        app.reload().await?;
        Ok(app)
    }

    /// Check both that the database answers and that every CA key is usable.
    pub async fn readiness(&self) -> Vec<(String, Result<(), String>)> {
        let mut out = vec![(
            "database".to_string(),
            self.store.ping().await.map_err(|e| e.to_string()),
        )];
        for s in self.keyring.stores() {
            out.push((
                format!("keys:{}", s.backend()),
                s.health().map_err(|e| e.to_string()),
            ));
        }
        out.push((
            "hierarchy".into(),
            if self.is_initialised() {
                Ok(())
            } else {
                Err("no CA loaded".into())
            },
        ));
        out
    }
}

/// Hide a password in a database URL before it reaches a message.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            let user = creds.split(':').next().unwrap_or("");
            format!("{}{user}:***{}", &url[..s + 3], &url[at..])
        }
        _ => url.to_string(),
    }
}

fn open_keyring(config: &Config) -> Result<Keyring, AppError> {
    let mut ring = Keyring::new();
    let cfg_err = |e: crate::config::ConfigError| AppError::Unavailable(e.to_string());
    if let Some(pass) = config.passphrase().map_err(cfg_err)? {
        ring = ring.with_software(SoftwareStore::open(config.keys_dir(), pass)?);
    }
    if let Some(p11) = &config.pkcs11 {
        for t in &p11.tokens {
            let store = TokenStore::open(TokenConfig {
                module: p11.module.clone(),
                label: t.label.clone(),
                pin: config.token_pin(t).map_err(cfg_err)?,
                sessions: p11.sessions,
            })?;
            ring = ring.with_token(store);
        }
    }
    Ok(ring)
}

#[cfg(test)]
mod tests {
    #[test]
    fn database_passwords_are_redacted() {
        assert_eq!(
            super::redact_url("postgres://u:secret@db:5432/x"),
            "postgres://u:***@db:5432/x"
        );
        assert_eq!(
            super::redact_url("sqlite://./data/sealpki.db"),
            "sqlite://./data/sealpki.db"
        );
    }
}
