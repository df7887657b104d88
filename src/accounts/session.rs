//! Logging in and out: passwords (Argon2id), the staff second factor (RFC 6238), sessions for
//! programs (bearer) and browsers (cookie), listing and ending them. The HTTP API and the console
//! both call these; neither holds its own login logic.

use std::net::IpAddr;

use argon2::password_hash::{PasswordHash, PasswordVerifier};
use rand_core::RngCore;
use serde_json::json;
use sha2::Digest;

use super::ids::Mobile;
use super::totp;
use crate::access::Actor;
use crate::app::App;
use crate::error::AppError;
use crate::limits::{bounded_username, retry_secs, USERNAME_CHARS};
use crate::store::{AccountRow, SessionKind, SessionRow, SessionStage, Store, StoreError};

/// The console's session cookie (HttpOnly, SameSite=Strict; Secure under TLS).
pub const SESSION_COOKIE: &str = "sealpki_session";

/// The session secret in a request's `Cookie` headers, if any.
pub fn cookie_token(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// The `Set-Cookie` value that gives a browser its session (`None`: the one that ends it).
pub fn session_cookie(token: Option<&str>, max_age_secs: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    match token {
        Some(t) => format!(
            "{SESSION_COOKIE}={t}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}{secure}"
        ),
        None => format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}"),
    }
}

/// The name authenticator apps show for our codes.
pub const TOTP_ISSUER: &str = "sealpki";

/// The stored form of a session secret: only its SHA-256 is kept.
pub fn token_hash(token: &str) -> String {
    hex::encode(sha2::Sha256::digest(token.as_bytes()))
}

/// A random URL-safe secret of `n` bytes.
pub fn random_token(n: usize) -> String {
    let mut raw = vec![0u8; n];
    rand_core::OsRng.fill_bytes(&mut raw);
    base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, raw)
}

/// What a login asks for.
pub struct LoginRequest<'a> {
    /// A username, or a person's mobile number.
    pub identifier: &'a str,
    pub password: String,
    /// The staff second factor, when the account has one.
    pub totp: Option<&'a str>,
    pub kind: SessionKind,
    pub client: Option<IpAddr>,
    pub user_agent: Option<&'a str>,
}

/// A new session: its secret (shown once), the session and the account.
pub struct LoggedIn {
    pub token: String,
    pub session: SessionRow,
    pub account: AccountRow,
}

/// A live session found by its secret.
#[derive(Clone)]
pub struct Authenticated {
    pub account: AccountRow,
    pub session: SessionRow,
    pub token_hash: String,
}

impl Authenticated {
    pub fn actor(&self) -> Actor {
        Actor {
            name: self.account.username.clone(),
            role: self.account.role,
        }
    }
}

/// A hash to verify against when the account is unknown, so timing does not reveal names.
fn dummy_hash() -> String {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY
        .get_or_init(|| crate::ca::ceremony::hash_password("no such account").unwrap_or_default())
        .clone()
}

/// Argon2id verification off the async executor.
pub async fn verify_password(stored: String, password: String) -> Result<bool, AppError> {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&stored)
            .map(|h| {
                argon2::Argon2::default()
                    .verify_password(password.as_bytes(), &h)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .map_err(|e| AppError::Internal(e.to_string()))
}

/// Argon2id hashing off the async executor.
pub async fn hash_password(password: String) -> Result<String, AppError> {
    tokio::task::spawn_blocking(move || crate::ca::ceremony::hash_password(&password))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?
}

fn unix_now() -> u64 {
    u64::try_from(crate::store::now()).unwrap_or(0)
}

impl App {
    /// Log in. Failed attempts (password or one-time code) are counted per identifier and per
    /// client address; past `[limits] login_failures` in a window the answer is 429 before any
    /// check. Staff accounts need their one-time code once they have set one up; until then the
    /// session may only set it up (`SessionStage::TotpEnrolment`).
    pub async fn login(&self, req: LoginRequest<'_>) -> Result<LoggedIn, AppError> {
        let attempt = self
            .limits
            .login
            .attempt(req.identifier, req.client)
            .map_err(|wait| {
                self.metrics.logins_throttled.inc();
                AppError::LoginThrottled {
                    retry_after: retry_secs(wait),
                }
            })?;
        let account = if req.identifier.chars().count() > USERNAME_CHARS {
            None // no account has such a name (see `App::create_operator`)
        } else if let Ok(m) = Mobile::parse(req.identifier) {
            self.store.account_by_mobile(m.expose()).await?
        } else {
            self.store.account_get(req.identifier).await?
        };
        let stored = account
            .as_ref()
            .map(|a| a.password_hash.clone())
            .unwrap_or_else(dummy_hash);
        let ok = verify_password(stored, req.password).await?;
        let Some(account) = account.filter(|_| ok) else {
            return Err(self.login_failed(req.identifier, "password").await?);
        };
        if account.disabled_at.is_some() {
            self.limits.login.succeeded(attempt);
            let mut tx = self.store.begin().await?;
            // Only someone who knows the password learns that the account is disabled.
            self.audit
                .append(
                    &mut tx,
                    &account.username,
                    "login.refused",
                    json!({"why": "disabled"}),
                )
                .await?;
            tx.commit().await.map_err(StoreError::from)?;
            return Err(AppError::Denied(format!(
                "account {} is disabled: an administrator can enable it again",
                account.username
            )));
        }
        let staff = account.is_staff();
        let stage = match (&account.totp_secret, req.totp) {
            (Some(secret), Some(code)) => {
                let secret = totp::Secret::from_base32(secret)
                    .map_err(|_| AppError::Internal("stored TOTP secret unreadable".into()))?;
                let good = match secret.verify(code, unix_now(), None) {
                    Ok(step) => {
                        self.store
                            .totp_accept_step(&account.username, step as i64)
                            .await?
                    }
                    Err(_) => false,
                };
                if !good {
                    return Err(self.login_failed(&account.username, "totp").await?);
                }
                SessionStage::Full
            }
            // The password was right but the code is missing: not counted, nothing is learnt
            // that the password did not already give away.
            (Some(_), None) => return Err(AppError::TotpRequired),
            (None, _) if staff && self.config.accounts.staff_totp => SessionStage::TotpEnrolment,
            (None, _) => SessionStage::Full,
        };
        self.limits.login.succeeded(attempt);
        let mut tx = self.store.begin().await?;
        let token = random_token(32);
        let now = crate::store::now();
        let hours = match req.kind {
            SessionKind::Bearer => self.config.server.session_hours,
            SessionKind::Browser => self.config.accounts.browser_session_hours,
        };
        let session = SessionRow {
            id: random_token(12),
            username: account.username.clone(),
            kind: req.kind,
            stage,
            created_at: now,
            last_seen_at: now,
            expires_at: now + i64::from(hours) * 3600,
            client_ip: req.client.map(|a| a.to_string()),
            user_agent: req
                .user_agent
                .map(|u| u.chars().filter(|c| !c.is_control()).take(200).collect()),
        };
        Store::session_insert(&mut tx, &token_hash(&token), &session).await?;
        self.audit
            .append(
                &mut tx,
                &account.username,
                "login",
                json!({"role": account.role.as_str(), "kind": req.kind.as_str(),
                       "stage": stage.as_str(), "session": session.id}),
            )
            .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(LoggedIn {
            token,
            session,
            account,
        })
    }

    /// Record a failed login (audited by at most 64 characters of the name) and give the error.
    async fn login_failed(&self, name: &str, what: &str) -> Result<AppError, AppError> {
        self.metrics.logins_failed.inc();
        let name_chars = name.chars().count();
        // A mobile number is personal data: the audit gets it masked.
        let masked = Mobile::parse(name).ok().map(|m| m.masked());
        let (name, cut) = bounded_username(masked.as_deref().unwrap_or(name));
        let mut detail = json!({"failed": what});
        if cut {
            detail["username_chars"] = json!(name_chars);
            detail["truncated"] = json!(true);
        }
        let mut tx = self.store.begin().await?;
        self.audit
            .append(&mut tx, &name, "login.failed", detail)
            .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(if what == "totp" {
            AppError::BadTotp
        } else {
            AppError::BadCredentials
        })
    }

    /// The live session behind a secret, and its account (enabled).
    pub async fn authenticate(&self, token: &str) -> Result<Option<Authenticated>, AppError> {
        let hash = token_hash(token);
        let found = self
            .store
            .session_account(&hash, crate::store::now())
            .await?;
        // A write at most once a minute per session, and no statement at all in between.
        if found
            .as_ref()
            .is_some_and(|(_, s)| s.last_seen_at < crate::store::now() - 60)
        {
            self.store.session_touch(&hash, crate::store::now()).await?;
        }
        Ok(found.map(|(account, session)| Authenticated {
            account,
            session,
            token_hash: hash,
        }))
    }

    /// End the session with token hash `token_hash` (logout), audited.
    pub async fn logout(&self, actor: &Actor, token_hash: &str) -> Result<(), AppError> {
        let mut tx = self.store.begin().await?;
        if Store::session_delete(&mut tx, token_hash).await? {
            self.audit
                .append(&mut tx, &actor.name, "logout", json!({}))
                .await?;
        }
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    /// The caller's live sessions, newest first.
    pub async fn sessions_of(&self, who: &Authenticated) -> Result<Vec<SessionRow>, AppError> {
        Ok(self
            .store
            .sessions_of(&who.account.username, crate::store::now())
            .await?)
    }

    /// End one of the caller's own sessions by its public id (another device, say).
    pub async fn end_session(&self, who: &Authenticated, id: &str) -> Result<(), AppError> {
        let mut tx = self.store.begin().await?;
        if !Store::session_delete_by_id(&mut tx, &who.account.username, id).await? {
            return Err(AppError::NotFound(format!("you have no session {id:?}")));
        }
        self.audit
            .append(
                &mut tx,
                &who.account.username,
                "session.end",
                json!({"session": id}),
            )
            .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    /// Start setting up a second factor: a new secret, pending until a code from it is confirmed.
    /// Returns the secret (base32) and its `otpauth://` URI.
    pub async fn totp_begin(&self, who: &Authenticated) -> Result<(String, String), AppError> {
        if who.account.totp_secret.is_some() {
            return Err(AppError::Conflict(
                "this account already has a second factor".into(),
            ));
        }
        let secret = totp::Secret::generate();
        let b32 = secret.to_base32();
        let mut tx = self.store.begin().await?;
        Store::totp_set_pending(&mut tx, &who.account.username, &b32).await?;
        tx.commit().await.map_err(StoreError::from)?;
        let uri = secret.uri(TOTP_ISSUER, &who.account.username);
        Ok((b32, uri))
    }

    /// Confirm the pending second factor with a code from it; the calling session becomes full.
    pub async fn totp_confirm(&self, who: &Authenticated, code: &str) -> Result<(), AppError> {
        let account = self
            .store
            .account_get(&who.account.username)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        let Some(pending) = account.totp_pending else {
            return Err(AppError::Conflict(
                "no second factor is being set up: POST /api/v1/account/totp first".into(),
            ));
        };
        let secret = totp::Secret::from_base32(&pending)
            .map_err(|_| AppError::Internal("stored TOTP secret unreadable".into()))?;
        let step = secret
            .verify(code, unix_now(), None)
            .map_err(|_| AppError::BadTotp)?;
        let mut tx = self.store.begin().await?;
        if !Store::totp_confirm(&mut tx, &account.username, &pending, step as i64).await? {
            return Err(AppError::Conflict(
                "the second factor changed meanwhile; start again".into(),
            ));
        }
        Store::session_set_stage(&mut tx, &who.token_hash, SessionStage::Full).await?;
        self.audit
            .append(&mut tx, &account.username, "totp.enable", json!({}))
            .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, HeaderValue};

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.append(
            "cookie",
            HeaderValue::from_static("lang=en; sealpki_session=abc"),
        );
        assert_eq!(cookie_token(&h).as_deref(), Some("abc"));
        let mut h = HeaderMap::new();
        h.append(
            "cookie",
            HeaderValue::from_static("xsealpki_session=no; sealpki_session="),
        );
        assert_eq!(
            cookie_token(&h),
            None,
            "prefixes and empty values are not sessions"
        );
    }

    #[test]
    fn cookies_are_http_only_strict_and_secure_under_tls() {
        let c = session_cookie(Some("t"), 60, true);
        for part in [
            "HttpOnly",
            "SameSite=Strict",
            "Secure",
            "Max-Age=60",
            "Path=/",
        ] {
            assert!(c.contains(part), "{c}");
        }
        assert!(!session_cookie(Some("t"), 60, false).contains("Secure"));
        assert!(session_cookie(None, 0, false).contains("Max-Age=0"));
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let (a, b) = (random_token(32), random_token(32));
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), a);
    }
}
