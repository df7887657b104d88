//! How a request proves it comes from an app: an HMAC-signed request with one of its API keys
//! (`signature`), or the TLS client certificate of one of its certificate credentials. Either
//! way the answer is an `AppCaller` (the app active, the credential active) or a refusal: 401
//! for a missing or bad proof (unknown key, bad signature, stale timestamp, replayed nonce,
//! changed body), 403 for a suspended or revoked app or a revoked credential.
//!
//! The hot path reads no table but the nonce insert (group-committed with other requests'
//! nonces and audit records by `ca::committer`; a sealing defers it into its own record, see
//! [`PendingNonce`]): credentials are cached with their secrets
//! opened for [`CACHE_TTL`], so a suspension or revocation on another instance takes effect
//! within two seconds, and at once on the instance that made it.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use zeroize::Zeroizing;

use super::credentials::{CredentialKind, CredentialState};
use super::model::{AppCaller, AppKind, AppState, CallerProof};
use super::signature::{self, Scheme, SigError, Signed, NONCE_TTL_SECONDS};
use crate::app::App;
use crate::ca::committer::{NonceUse, Record};
use crate::error::AppError;
use crate::store::StoreError;
use crate::workflow::Named;

/// How long a credential stays cached.
pub const CACHE_TTL: Duration = Duration::from_secs(2);
/// Most credentials cached at once (the cache starts over when full).
const CACHE_MAX: usize = 10_000;
/// `last_used_at` is written at most this often per credential.
const TOUCH_SECONDS: i64 = 60;

/// A credential as authentication needs it, with its app. No `Debug`: it holds the secret.
pub struct Resolved {
    pub app_id: String,
    pub app_name: String,
    pub app_state: AppState,
    pub app_kind: AppKind,
    pub credential_id: String,
    pub kind: CredentialKind,
    pub active: bool,
    pub cert_serial: Option<String>,
    /// The app's limits (`apps::quota`).
    pub rate_per_second: i64,
    pub daily_quota: Option<i64>,
    secret: Option<Zeroizing<Vec<u8>>>,
    touched: AtomicI64,
}

struct Entry {
    at: Instant,
    resolved: Arc<Resolved>,
}

/// Recently used credentials by id (API keys) and by `serial:SERIAL` (certificates).
#[derive(Default)]
pub struct Cache {
    map: Mutex<HashMap<String, Entry>>,
}

impl Cache {
    fn get(&self, key: &str) -> Option<Arc<Resolved>> {
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.get(key)
            .filter(|e| e.at.elapsed() < CACHE_TTL)
            .map(|e| e.resolved.clone())
    }

    fn put(&self, key: String, resolved: Arc<Resolved>) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= CACHE_MAX {
            map.retain(|_, e| e.at.elapsed() < CACHE_TTL);
            if map.len() >= CACHE_MAX {
                map.clear();
            }
        }
        map.insert(
            key,
            Entry {
                at: Instant::now(),
                resolved,
            },
        );
    }

    /// Drop every entry of app `id`.
    pub fn forget_app(&self, id: &str) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, e| e.resolved.app_id != id);
    }
}

/// What `GET /api/v1/app/whoami` answers.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Whoami {
    pub app_id: String,
    pub name: String,
    /// cloud-signing or ukey.
    pub kind: String,
    /// active (other states are refused before this).
    pub state: String,
    /// hmac-sha256, hmac-sm3 or client-certificate.
    pub proof: String,
    pub credential_id: String,
    /// The client certificate's serial, for that proof.
    pub cert_serial: Option<String>,
    /// The client's address as the server saw it.
    pub client: String,
}

/// The headers of a signed request, as received.
#[derive(Debug, Clone, Copy)]
pub struct SignedHeaders<'a> {
    pub app_id: Option<&'a str>,
    pub key_id: Option<&'a str>,
    pub timestamp: Option<&'a str>,
    pub nonce: Option<&'a str>,
    pub digest: Option<&'a str>,
    pub signature: Option<&'a str>,
}

/// A signed request: method, path, query, headers and the body.
#[derive(Debug, Clone, Copy)]
pub struct SignedRequest<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub headers: SignedHeaders<'a>,
    pub body: &'a [u8],
    pub client: IpAddr,
}

/// A verified request's nonce, not yet taken. Whoever takes it marks it settled: the sealing's
/// record (`Record::AppSealed`), [`App::app_nonce_take`], or a replay's refusal by either.
#[derive(Debug)]
pub struct PendingNonce {
    nonce: NonceUse,
    settled: AtomicBool,
}

impl PendingNonce {
    /// The nonce for a record that takes it; the record's outcome is told by [`Self::settle`].
    pub(crate) fn to_take(&self) -> NonceUse {
        self.nonce.clone()
    }

    /// The record holding [`Self::to_take`] was committed, or refused as a replay.
    pub(crate) fn settle(&self) {
        self.settled.store(true, Ordering::Release);
    }
}

/// The refusal of a replayed request.
pub fn replayed() -> AppError {
    AppError::BadSignature("app request refused: the nonce was used already (a replay)".into())
}

fn unauthorized(e: SigError) -> AppError {
    AppError::BadSignature(format!("app request refused: {e}"))
}

fn corrupt(e: StoreError) -> AppError {
    AppError::from(e)
}

impl App {
    /// The credential `credential_id` of app `app_id` (cached); an unknown one is a 401.
    async fn resolve_key(
        &self,
        app_id: &str,
        credential_id: &str,
    ) -> Result<Arc<Resolved>, AppError> {
        if let Some(r) = self.apps.cache.get(credential_id) {
            if r.app_id == app_id {
                return Ok(r);
            }
            return Err(unknown_key());
        }
        let c = match self
            .store
            .credential_get(credential_id)
            .await
            .map_err(corrupt)?
        {
            Some(c) if c.app_id == app_id => c,
            _ => return Err(unknown_key()),
        };
        let r = Arc::new(self.resolved(c).await?);
        if r.kind.scheme().is_none() {
            return Err(AppError::BadSignature(format!(
                "app request refused: credential {credential_id} is a client certificate: \
                 present it over TLS instead of signing"
            )));
        }
        self.apps.cache.put(credential_id.to_string(), r.clone());
        Ok(r)
    }

    async fn resolved(&self, c: crate::store::CredentialRow) -> Result<Resolved, AppError> {
        let app = self
            .store
            .app_get(&c.app_id)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("credential {} has no app", c.id)))?;
        let kind = CredentialKind::parse(&c.kind)
            .ok_or_else(|| StoreError::Corrupt(format!("credential {} kind {:?}", c.id, c.kind)))?;
        let active = CredentialState::parse(&c.state).ok_or_else(|| {
            StoreError::Corrupt(format!("credential {} state {:?}", c.id, c.state))
        })? == CredentialState::Active;
        let secret = match (&c.secret_sealed, kind.scheme()) {
            (Some(s), Some(_)) => Some(self.app_secrets()?.open_secret(&c.app_id, &c.id, s)?),
            (None, Some(_)) => {
                return Err(StoreError::Corrupt(format!("API key {} has no secret", c.id)).into())
            }
            _ => None,
        };
        Ok(Resolved {
            app_state: super::registry::app_state(&app)?,
            app_kind: AppKind::parse(&app.kind).ok_or_else(|| {
                StoreError::Corrupt(format!("app {} kind {:?}", app.id, app.kind))
            })?,
            app_id: app.id,
            app_name: app.name,
            credential_id: c.id,
            kind,
            active,
            cert_serial: c.cert_serial,
            rate_per_second: app.rate_per_second,
            daily_quota: app.daily_quota,
            secret,
            touched: AtomicI64::new(c.last_used_at.unwrap_or(0)),
        })
    }

    /// 403 unless the app and its credential are active. The app is asked first: revoking an
    /// app revokes its credentials too, and "the app is revoked" is the reason to give.
    fn usable(&self, r: &Resolved) -> Result<(), AppError> {
        match r.app_state {
            AppState::Active => {}
            s => {
                return Err(AppError::AppRefused {
                    reason: if s == AppState::Suspended {
                        "app-suspended"
                    } else {
                        "app-revoked"
                    },
                    message: format!("app {} is {}: its requests are refused", r.app_id, s.name()),
                })
            }
        }
        if !r.active {
            return Err(AppError::AppRefused {
                reason: "credential-revoked",
                message: format!(
                    "credential {} of app {} is revoked",
                    r.credential_id, r.app_id
                ),
            });
        }
        Ok(())
    }

    /// Note the credential's use (at most once a minute; never fails the request).
    fn touch(self: &Arc<Self>, r: &Resolved) {
        let now = crate::store::now();
        let last = r.touched.load(Ordering::Relaxed);
        if now.saturating_sub(last) < TOUCH_SECONDS
            || r.touched
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        let app = self.clone();
        let id = r.credential_id.clone();
        tokio::spawn(async move {
            if let Err(e) = app.store.credential_touch(&id, now).await {
                tracing::warn!(error = %e, credential = id, "credential last use not written");
            }
        });
    }

    /// Authenticate an HMAC-signed request and take its nonce.
    pub async fn app_authenticate_signed(
        self: &Arc<Self>,
        req: &SignedRequest<'_>,
    ) -> Result<(AppCaller, Arc<Resolved>), AppError> {
        let (caller, r, nonce) = self.app_authenticate_signed_deferred(req).await?;
        self.app_nonce_take(&nonce).await?;
        Ok((caller, r))
    }

    /// Authenticate an HMAC-signed request, leaving its nonce to be taken by the handler: by
    /// the sealing's own record (one commit per sealing instead of two) or, on every other
    /// outcome, by [`App::app_nonce_settle`].
    pub async fn app_authenticate_signed_deferred(
        self: &Arc<Self>,
        req: &SignedRequest<'_>,
    ) -> Result<(AppCaller, Arc<Resolved>, PendingNonce), AppError> {
        let h = &req.headers;
        fn need<'x>(v: Option<&'x str>, name: &'static str) -> Result<&'x str, AppError> {
            v.map(str::trim)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| unauthorized(SigError::Missing(name)))
        }
        let app_id = need(h.app_id, "X-Sealpki-App")?;
        let key_id = need(h.key_id, "X-Sealpki-Key")?;
        let timestamp = need(h.timestamp, "X-Sealpki-Timestamp")?;
        let nonce = need(h.nonce, "X-Sealpki-Nonce")?;
        let digest = need(h.digest, "Content-Digest")?;
        let sig = need(h.signature, "X-Sealpki-Signature")?;
        let now = crate::store::now();
        let ts = signature::check_timestamp(timestamp, now).map_err(unauthorized)?;
        signature::check_nonce(nonce).map_err(unauthorized)?;
        if app_id.len() > 64 || key_id.len() > 64 {
            return Err(unknown_key());
        }
        let r = self.resolve_key(app_id, key_id).await?;
        let scheme: Scheme = r.kind.scheme().ok_or_else(unknown_key)?;
        let secret = r.secret.as_ref().ok_or_else(unknown_key)?;
        scheme
            .check_digest(digest, req.body)
            .map_err(unauthorized)?;
        let canonical = signature::canonical(&Signed {
            method: req.method,
            path: req.path,
            query: req.query,
            timestamp,
            nonce,
            content_digest: digest,
            app_id,
        })
        .map_err(unauthorized)?;
        scheme
            .verify(secret, &canonical, sig)
            .map_err(unauthorized)?;
        self.usable(&r)?;
        // Single use: the nonce is taken until well past the last moment its timestamp passes.
        let expires_at = ts.max(now).saturating_add(NONCE_TTL_SECONDS);
        let nonce = PendingNonce {
            nonce: NonceUse {
                app_id: app_id.to_string(),
                nonce: nonce.to_string(),
                expires_at,
            },
            settled: AtomicBool::new(false),
        };
        self.touch(&r);
        Ok((
            AppCaller {
                app_id: r.app_id.clone(),
                proof: CallerProof::ApiKey {
                    credential_id: r.credential_id.clone(),
                },
                client: req.client,
                daily_quota: r.daily_quota,
            },
            r,
            nonce,
        ))
    }

    /// Take a request's nonce now: the replay refusal when it was used already.
    pub async fn app_nonce_take(&self, n: &PendingNonce) -> Result<(), AppError> {
        // Settled when taken or refused; a commit that failed whole took nothing.
        match self.committer.commit(Record::Nonce(n.nonce.clone())).await {
            Ok(()) => {
                n.settled.store(true, Ordering::Release);
                Ok(())
            }
            Err(StoreError::Conflict(_)) => {
                n.settled.store(true, Ordering::Release);
                Err(replayed())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The answer of a request whose nonce was deferred: `answer` when its nonce was taken on
    /// the way (by the sealing's record or [`App::app_nonce_take`]); else the nonce is taken
    /// now, and a replay's refusal replaces `answer`.
    pub async fn app_nonce_settle<T>(
        &self,
        n: Option<&PendingNonce>,
        answer: Result<T, AppError>,
    ) -> Result<T, AppError> {
        match n {
            Some(n) if !n.settled.load(Ordering::Acquire) => {
                self.app_nonce_take(n).await?;
                answer
            }
            _ => answer,
        }
    }

    /// Authenticate the TLS client certificate a connection presented (DER, already verified
    /// by the handshake against the client CAs and their CRLs).
    pub async fn app_authenticate_certificate(
        self: &Arc<Self>,
        der: &[u8],
        client: IpAddr,
    ) -> Result<(AppCaller, Arc<Resolved>), AppError> {
        use sealpki_pki::der::Decode;
        let cert = sealpki_pki::x509_cert::Certificate::from_der(der).map_err(|_| {
            AppError::BadSignature(
                "app request refused: the client certificate is not readable".into(),
            )
        })?;
        let serial = sealpki_pki::issue::serial_hex(&cert.tbs_certificate.serial_number);
        let key = format!("serial:{serial}");
        let r = match self.apps.cache.get(&key) {
            Some(r) => r,
            None => {
                let c = self
                    .store
                    .credential_by_serial(&serial)
                    .await
                    .map_err(corrupt)?
                    .ok_or_else(|| {
                        AppError::BadSignature(format!(
                            "app request refused: client certificate {serial} is not an app's \
                             credential"
                        ))
                    })?;
                let r = Arc::new(self.resolved(c).await?);
                self.apps.cache.put(key, r.clone());
                r
            }
        };
        self.usable(&r)?;
        self.touch(&r);
        Ok((
            AppCaller {
                app_id: r.app_id.clone(),
                proof: CallerProof::ClientCertificate { serial },
                client,
                daily_quota: r.daily_quota,
            },
            r,
        ))
    }

    /// What `whoami` answers for an authenticated caller.
    pub fn app_whoami(&self, caller: &AppCaller, r: &Resolved) -> Whoami {
        let (proof, serial) = match &caller.proof {
            CallerProof::ApiKey { .. } => (r.kind.name().to_string(), None),
            CallerProof::ClientCertificate { serial } => {
                ("client-certificate".to_string(), Some(serial.clone()))
            }
        };
        Whoami {
            app_id: r.app_id.clone(),
            name: r.app_name.clone(),
            kind: r.app_kind.name().into(),
            state: r.app_state.name().into(),
            proof,
            credential_id: r.credential_id.clone(),
            cert_serial: serial,
            client: caller.client.to_string(),
        }
    }

    /// Sweep expired nonces (run periodically by the server).
    pub async fn app_sweep_nonces(&self) -> Result<u64, AppError> {
        let mut total = 0;
        loop {
            let n = self.store.nonce_sweep(crate::store::now(), 10_000).await?;
            total += n;
            if n < 10_000 {
                return Ok(total);
            }
        }
    }
}

fn unknown_key() -> AppError {
    AppError::BadSignature(
        "app request refused: unknown app or key (X-Sealpki-App, X-Sealpki-Key)".into(),
    )
}
