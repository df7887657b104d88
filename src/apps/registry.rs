//! The app registry: platform staff register cloud-signing applications (name, supervising and
//! developer units, kind, contacts, callback URL, owner) and suspend, resume or revoke them
//! through `AppState::on`; the owner — an account — and staff change contacts and the callback
//! URL; staff change its request rate and daily quota. Every decision through `accounts::policy`, every change audited in its own transaction
//! with an optimistic version. Revoking an app revokes its credentials, client certificates at
//! the CA too (CRL and OCSP say revoked, and the mTLS verifier refuses them at the handshake
//! once it is rebuilt with the new CRL).

use std::sync::Arc;

use sealpki_pki::revocation::Reason;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::model::{AppEvent, AppKind, AppState};
use crate::access::Actor;
use crate::accounts::ids::Mobile;
use crate::accounts::orgs::fold_name;
use crate::accounts::policy::{may, Action, Resource};
use crate::app::App;
use crate::error::AppError;
use crate::store::{AppFilter, AppRow, CredentialRow, Store, StoreError};
use crate::workflow::Named;

/// Requests per second an app gets unless registered with another figure.
pub const DEFAULT_RATE: i64 = 100;
/// At most this many contacts per app.
pub const MAX_CONTACTS: usize = 5;

/// Someone to call about an app.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    /// 1-40 characters.
    pub name: String,
    /// A mainland mobile number; shown masked (`139****0001`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// What platform staff send to register an app.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApp {
    /// 2-60 characters, unique across the registry (full-width forms and spaces folded).
    pub name: String,
    /// cloud-signing or ukey.
    pub kind: String,
    /// The organisation answerable for the app (主管单位).
    pub supervising_org_id: String,
    /// The organisation that builds and runs it (开发单位).
    pub developer_org_id: String,
    /// The account that manages its credentials and callback URL.
    pub owner: String,
    #[serde(default)]
    pub contacts: Vec<Contact>,
    /// https:// (http://127.0.0.1 and http://localhost in development only).
    #[serde(default)]
    pub callback_url: Option<String>,
    /// Requests per second (1-100000); 100 when not given.
    #[serde(default)]
    pub rate_per_second: Option<i64>,
    /// Requests per day; none when not given.
    #[serde(default)]
    pub daily_quota: Option<i64>,
}

/// A change of contacts and callback URL (the fields given are replaced).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppChange {
    /// The version the caller saw (409 when the app changed since).
    pub version: i64,
    #[serde(default)]
    pub contacts: Option<Vec<Contact>>,
    /// A URL, or "" to remove it.
    #[serde(default)]
    pub callback_url: Option<String>,
}

/// New limits for an app: both are replaced.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppLimits {
    /// The version the caller saw (409 when the app changed since).
    pub version: i64,
    /// Requests per second (1-100000), per instance.
    pub rate_per_second: i64,
    /// Sealings per UTC day (1-1000000000); null or absent: no quota.
    #[serde(default)]
    pub daily_quota: Option<i64>,
}

/// suspend, resume or revoke.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppStateChange {
    /// suspend, resume or revoke.
    pub event: String,
    /// The version the caller saw.
    pub version: i64,
    /// Why (kept in the audit log), up to 500 characters.
    #[serde(default)]
    pub comment: Option<String>,
}

/// An app as the API shows it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct AppView {
    pub id: String,
    pub name: String,
    /// cloud-signing or ukey.
    pub kind: String,
    pub supervising_org_id: String,
    pub supervising_org_name: Option<String>,
    pub developer_org_id: String,
    pub developer_org_name: Option<String>,
    pub owner: String,
    /// Mobile numbers masked.
    pub contacts: Vec<Contact>,
    pub callback_url: Option<String>,
    /// Whether a webhook secret was made (the secret itself is never shown again).
    pub webhook_secret_set: bool,
    /// active, suspended or revoked.
    pub state: String,
    /// What the state allows: suspend, resume, revoke.
    pub allowed_events: Vec<&'static str>,
    pub rate_per_second: i64,
    pub daily_quota: Option<i64>,
    pub version: i64,
    pub created_by: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A page of apps, newest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AppPage {
    pub items: Vec<AppView>,
    pub next_cursor: Option<String>,
}

/// A search of the registry.
#[derive(Debug, Default, Clone)]
pub struct AppQuery {
    /// Part of the name (folded).
    pub name: Option<String>,
    pub supervising_org_id: Option<String>,
    pub developer_org_id: Option<String>,
    /// Either unit.
    pub org_id: Option<String>,
    pub owner: Option<String>,
    pub state: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

pub(crate) fn new_id() -> String {
    let mut b = [0u8; 16];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut b);
    hex::encode(b)
}

pub(crate) fn app_state(a: &AppRow) -> Result<AppState, AppError> {
    AppState::parse(&a.state)
        .ok_or_else(|| StoreError::Corrupt(format!("app {} state {:?}", a.id, a.state)).into())
}

fn allowed_events(s: AppState) -> Vec<&'static str> {
    AppEvent::ALL
        .iter()
        .filter(|e| s.on(**e).is_some())
        .map(|e| e.name())
        .collect()
}

/// Contacts checked and normalised (mobile numbers in their 11 digits).
fn check_contacts(c: &[Contact]) -> Result<Vec<Contact>, AppError> {
    if c.len() > MAX_CONTACTS {
        return Err(AppError::Invalid {
            field: "contacts",
            rule: format!("at most {MAX_CONTACTS}"),
        });
    }
    c.iter()
        .map(|c| {
            let name = c.name.trim();
            if name.is_empty() || name.chars().count() > 40 || name.chars().any(char::is_control) {
                return Err(AppError::Invalid {
                    field: "contacts.name",
                    rule: "1-40 characters, no control characters".into(),
                });
            }
            let mobile = match c.mobile.as_deref().map(str::trim) {
                None | Some("") => None,
                Some(m) => Some(
                    Mobile::parse(m)
                        .map_err(|e| AppError::Invalid {
                            field: "contacts.mobile",
                            rule: e.to_string(),
                        })?
                        .expose()
                        .to_string(),
                ),
            };
            let email = match c.email.as_deref().map(str::trim) {
                None | Some("") => None,
                Some(e) => {
                    let ok = e.len() <= 254
                        && e.split_once('@').is_some_and(|(l, d)| {
                            !l.is_empty() && d.contains('.') && !d.starts_with('.')
                        })
                        && !e.chars().any(|c| c.is_whitespace() || c.is_control());
                    if !ok {
                        return Err(AppError::Invalid {
                            field: "contacts.email",
                            rule: "an e-mail address (local@domain)".into(),
                        });
                    }
                    Some(e.to_string())
                }
            };
            Ok(Contact {
                name: name.to_string(),
                mobile,
                email,
            })
        })
        .collect()
}

/// A callback URL: https:// with a host, no user information, at most 2,048 characters; in
/// development also http:// to 127.0.0.1 or localhost (a receiver in a test).
pub fn check_callback_url(url: &str, development: bool) -> Result<String, AppError> {
    let bad = |rule: &str| AppError::Invalid {
        field: "callback_url",
        rule: rule.to_string(),
    };
    let url = url.trim();
    if url.len() > 2048 || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("at most 2,048 characters, no spaces"));
    }
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| bad("an absolute https:// URL"))?;
    let authority = rest
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    if authority.contains('@') {
        return Err(bad("no user name or password in the URL"));
    }
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => {
            let (h, after) = v6.split_once(']').unwrap_or((v6, ""));
            (h.to_string(), after.strip_prefix(':'))
        }
        None => match authority.split_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (authority.clone(), None),
        },
    };
    if host.is_empty() {
        return Err(bad("the URL needs a host"));
    }
    if port.is_some_and(|p| p.parse::<u16>().is_err()) {
        return Err(bad("the port is a number up to 65535"));
    }
    match scheme.to_ascii_lowercase().as_str() {
        "https" => Ok(url.to_string()),
        "http" if development && matches!(host.as_str(), "127.0.0.1" | "localhost" | "::1") => {
            Ok(url.to_string())
        }
        "http" => Err(bad(
            "https:// only (http:// to 127.0.0.1 or localhost in development)",
        )),
        _ => Err(bad("an https:// URL")),
    }
}

fn check_name(name: &str) -> Result<(String, String), AppError> {
    let name = name.trim();
    let n = name.chars().count();
    if !(2..=60).contains(&n) || name.chars().any(char::is_control) {
        return Err(AppError::Invalid {
            field: "name",
            rule: "2-60 characters, no control characters".into(),
        });
    }
    Ok((name.to_string(), fold_name(name)))
}

fn check_rate(rate: i64) -> Result<i64, AppError> {
    if !(1..=100_000).contains(&rate) {
        return Err(AppError::Invalid {
            field: "rate_per_second",
            rule: "1-100000".into(),
        });
    }
    Ok(rate)
}

fn check_quota(quota: Option<i64>) -> Result<Option<i64>, AppError> {
    if let Some(q) = quota {
        if !(1..=1_000_000_000).contains(&q) {
            return Err(AppError::Invalid {
                field: "daily_quota",
                rule: "1-1000000000".into(),
            });
        }
    }
    Ok(quota)
}

fn check_comment(c: Option<&str>) -> Result<Option<String>, AppError> {
    match c.map(str::trim) {
        None | Some("") => Ok(None),
        Some(c) if c.chars().count() > 500 => Err(AppError::Invalid {
            field: "comment",
            rule: "at most 500 characters".into(),
        }),
        Some(c) => Ok(Some(c.to_string())),
    }
}

impl App {
    /// The app `id`, read as `actor` may (apps.read: staff and its owner).
    pub async fn app_row_for(
        &self,
        actor: &Actor,
        id: &str,
        action: Action,
    ) -> Result<AppRow, AppError> {
        let row = self.app_row(id).await?;
        let p = self.principal(actor).await?;
        may(&p, action, Resource::App { owner: &row.owner })?;
        Ok(row)
    }

    pub(crate) async fn app_view(&self, a: AppRow) -> Result<AppView, AppError> {
        let state = app_state(&a)?;
        let contacts: Vec<Contact> = serde_json::from_str(&a.contacts)
            .map_err(|e| StoreError::Corrupt(format!("app {} contacts: {e}", a.id)))?;
        let contacts = contacts
            .into_iter()
            .map(|c| Contact {
                mobile: c.mobile.as_deref().map(crate::notify::sms::mask),
                ..c
            })
            .collect();
        let org_name = |id: String| async move {
            self.store.org_get(&id).await.ok().flatten().map(|o| o.name)
        };
        Ok(AppView {
            supervising_org_name: org_name(a.supervising_org_id.clone()).await,
            developer_org_name: org_name(a.developer_org_id.clone()).await,
            allowed_events: allowed_events(state),
            id: a.id,
            name: a.name,
            kind: a.kind,
            supervising_org_id: a.supervising_org_id,
            developer_org_id: a.developer_org_id,
            owner: a.owner,
            contacts,
            callback_url: a.callback_url,
            webhook_secret_set: a.webhook_secret.is_some(),
            state: a.state,
            rate_per_second: a.rate_per_second,
            daily_quota: a.daily_quota,
            version: a.version,
            created_by: a.created_by,
            created_at: a.created_at,
            updated_at: a.updated_at,
        })
    }

    /// Refuse unless `actor` may register apps and change their states (apps.manage): asked by
    /// the API before a body is parsed.
    pub async fn app_may_manage(&self, actor: &Actor) -> Result<(), AppError> {
        let p = self.principal(actor).await?;
        may(&p, Action::ManageApps, Resource::Platform).map(|_| ())
    }

    /// Register an app (apps.manage: platform administrators and operators).
    pub async fn app_register(&self, actor: &Actor, req: &NewApp) -> Result<AppView, AppError> {
        self.app_may_manage(actor).await?;
        let (name, name_key) = check_name(&req.name)?;
        let kind = AppKind::parse(req.kind.trim()).ok_or_else(|| AppError::Invalid {
            field: "kind",
            rule: "cloud-signing or ukey".into(),
        })?;
        for (field, id) in [
            ("supervising_org_id", &req.supervising_org_id),
            ("developer_org_id", &req.developer_org_id),
        ] {
            if self.store.org_get(id).await?.is_none() {
                return Err(AppError::Invalid {
                    field,
                    rule: format!("no organisation {id:?}"),
                });
            }
        }
        match self.store.account_get(req.owner.trim()).await? {
            Some(a) if a.disabled_at.is_none() => {}
            Some(_) => {
                return Err(AppError::Invalid {
                    field: "owner",
                    rule: format!("account {:?} is disabled", req.owner.trim()),
                })
            }
            None => {
                return Err(AppError::Invalid {
                    field: "owner",
                    rule: format!("no account {:?}", req.owner.trim()),
                })
            }
        }
        let contacts = check_contacts(&req.contacts)?;
        let callback_url = match req.callback_url.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(u) => Some(check_callback_url(u, self.config.development)?),
        };
        let rate = check_rate(req.rate_per_second.unwrap_or(DEFAULT_RATE))?;
        let daily_quota = check_quota(req.daily_quota)?;
        let now = crate::store::now();
        let row = AppRow {
            id: new_id(),
            name,
            name_key,
            kind: kind.name().into(),
            supervising_org_id: req.supervising_org_id.clone(),
            developer_org_id: req.developer_org_id.clone(),
            owner: req.owner.trim().to_string(),
            contacts: serde_json::to_string(&contacts)
                .map_err(|e| AppError::Internal(format!("contacts: {e}")))?,
            callback_url,
            webhook_secret: None,
            state: AppState::Active.name().into(),
            rate_per_second: rate,
            daily_quota,
            version: 1,
            created_by: actor.name.clone(),
            created_at: now,
            updated_at: now,
        };
        let mut tx = self.store.begin().await?;
        match Store::app_insert(&mut tx, &row).await {
            Err(StoreError::Conflict(_)) => {
                return Err(AppError::Conflict(format!(
                    "an app named {:?} is registered already",
                    row.name
                )))
            }
            other => other?,
        }
        self.audit
            .append(
                &mut tx,
                &actor.name,
                "app.register",
                json!({"id": row.id, "name": row.name, "kind": row.kind,
                       "supervising_org_id": row.supervising_org_id,
                       "developer_org_id": row.developer_org_id, "owner": row.owner,
                       "callback_url": row.callback_url, "rate_per_second": row.rate_per_second,
                       "daily_quota": row.daily_quota}),
            )
            .await?;
        tx.commit().await.map_err(StoreError::from)?;
        self.app_view(row).await
    }

    /// One app (apps.read).
    pub async fn app_get(&self, actor: &Actor, id: &str) -> Result<AppView, AppError> {
        let row = self.app_row_for(actor, id, Action::ReadApp).await?;
        self.app_view(row).await
    }

    /// Search the registry: platform staff see every app, anyone else the apps they own.
    pub async fn app_search(&self, actor: &Actor, q: &AppQuery) -> Result<AppPage, AppError> {
        let limit = crate::paging::limit(q.limit, 20, 100)?;
        let cursor = crate::paging::cursor_owned(q.cursor.as_deref())?;
        let staff = actor.role != crate::store::Role::Person;
        let owner = if staff {
            q.owner.as_deref()
        } else {
            Some(actor.name.as_str())
        };
        if let Some(s) = q.state.as_deref() {
            if AppState::parse(s).is_none() {
                return Err(AppError::BadRequest(format!(
                    "state {s:?}: active, suspended or revoked"
                )));
            }
        }
        let folded = q.name.as_deref().map(fold_name).filter(|n| !n.is_empty());
        let f = AppFilter {
            name_key: folded.as_deref(),
            supervising_org_id: q.supervising_org_id.as_deref().filter(|s| !s.is_empty()),
            developer_org_id: q.developer_org_id.as_deref().filter(|s| !s.is_empty()),
            any_org_id: q.org_id.as_deref().filter(|s| !s.is_empty()),
            owner: owner.filter(|s| !s.is_empty()),
            state: q.state.as_deref().filter(|s| !s.is_empty()),
        };
        let rows = self.store.app_find(&f, cursor, limit).await?;
        let next_cursor = crate::paging::next(&rows, limit, |r| (r.created_at, &r.id));
        let mut items = Vec::with_capacity(rows.len());
        for r in rows {
            items.push(self.app_view(r).await?);
        }
        Ok(AppPage { items, next_cursor })
    }

    /// Change contacts and the callback URL (apps.update: the owner and platform staff).
    pub async fn app_update(
        &self,
        actor: &Actor,
        id: &str,
        change: &AppChange,
    ) -> Result<AppView, AppError> {
        let row = self.app_row_for(actor, id, Action::UpdateApp).await?;
        if app_state(&row)? == AppState::Revoked {
            return Err(AppError::Conflict(format!("app {id} is revoked")));
        }
        let contacts = match &change.contacts {
            Some(c) => serde_json::to_string(&check_contacts(c)?)
                .map_err(|e| AppError::Internal(format!("contacts: {e}")))?,
            None => row.contacts.clone(),
        };
        let callback_url = match change.callback_url.as_deref().map(str::trim) {
            None => row.callback_url.clone(),
            Some("") => None,
            Some(u) => Some(check_callback_url(u, self.config.development)?),
        };
        let now = crate::store::now();
        let mut tx = self.store.begin().await?;
        if !Store::app_set_details(
            &mut tx,
            id,
            change.version,
            &contacts,
            callback_url.as_deref(),
            now,
        )
        .await?
        {
            return Err(self.stale(&row, change.version));
        }
        self.audit
            .append(
                &mut tx,
                &actor.name,
                "app.update",
                json!({"id": id, "callback_url": callback_url,
                       "contacts_changed": change.contacts.is_some()}),
            )
            .await?;
        tx.commit().await.map_err(StoreError::from)?;
        let row = self.app_row(id).await?;
        self.app_view(row).await
    }

    /// Change an app's request rate and daily quota (apps.manage: platform staff, not the
    /// owner). Takes effect on the next request: the credential cache forgets the app here and
    /// within two seconds on other instances.
    pub async fn app_set_limits(
        &self,
        actor: &Actor,
        id: &str,
        change: &AppLimits,
    ) -> Result<AppView, AppError> {
        self.app_may_manage(actor).await?;
        let row = self.app_row(id).await?;
        if app_state(&row)? == AppState::Revoked {
            return Err(AppError::Conflict(format!("app {id} is revoked")));
        }
        let rate = check_rate(change.rate_per_second)?;
        let quota = check_quota(change.daily_quota)?;
        let now = crate::store::now();
        let mut tx = self.store.begin().await?;
        if !Store::app_set_limits(&mut tx, id, change.version, rate, quota, now).await? {
            return Err(self.stale(&row, change.version));
        }
        self.audit
            .append(
                &mut tx,
                &actor.name,
                "app.limits",
                json!({"id": id,
                       "from": {"rate_per_second": row.rate_per_second,
                                "daily_quota": row.daily_quota},
                       "to": {"rate_per_second": rate, "daily_quota": quota}}),
            )
            .await?;
        tx.commit().await.map_err(StoreError::from)?;
        self.app_auth_forget(id);
        let row = self.app_row(id).await?;
        self.app_view(row).await
    }

    /// App `id`'s row, or 404.
    async fn app_row(&self, id: &str) -> Result<AppRow, AppError> {
        self.store
            .app_get(id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no app {id:?}")))
    }

    fn stale(&self, row: &AppRow, version: i64) -> AppError {
        let state = app_state(row).unwrap_or(AppState::Revoked);
        AppError::StateConflict {
            reason: "stale-version",
            message: format!(
                "app {} is at version {}, not {version}: read it again",
                row.id, row.version
            ),
            state: state.name(),
            version: row.version,
            allowed_events: allowed_events(state),
        }
    }

    /// Suspend, resume or revoke an app (apps.manage). Out of order: 409 with the allowed
    /// events. Revoking revokes every credential of the app, client certificates at the CA.
    pub async fn app_change_state(
        self: &Arc<Self>,
        actor: &Actor,
        id: &str,
        change: &AppStateChange,
    ) -> Result<AppView, AppError> {
        self.app_may_manage(actor).await?;
        let row = self.app_row(id).await?;
        let event = AppEvent::parse(change.event.trim()).ok_or_else(|| {
            AppError::BadRequest(format!(
                "event {:?}: suspend, resume or revoke",
                change.event
            ))
        })?;
        let comment = check_comment(change.comment.as_deref())?;
        let from = app_state(&row)?;
        let Some(to) = from.on(event) else {
            return Err(AppError::StateConflict {
                reason: "out-of-order",
                message: format!(
                    "app {id} is {}: {} does not apply",
                    from.name(),
                    event.name()
                ),
                state: from.name(),
                version: row.version,
                allowed_events: allowed_events(from),
            });
        };
        let now = crate::store::now();
        let mut tx = self.store.begin().await?;
        if !Store::app_set_state(&mut tx, id, change.version, to.name(), now).await? {
            return Err(self.stale(&row, change.version));
        }
        let mut touched = Vec::new();
        let mut revoked = Vec::new();
        if to == AppState::Revoked {
            for c in Store::credentials_of_tx(&mut tx, id).await? {
                if let Some(part) = self
                    .revoke_credential_in(&mut tx, actor, &c, Reason::PrivilegeWithdrawn, now)
                    .await?
                {
                    touched.push(part);
                }
                if c.state == "active" {
                    revoked.push(c.id);
                }
            }
        }
        self.audit
            .append(
                &mut tx,
                &actor.name,
                match event {
                    AppEvent::Suspend => "app.suspend",
                    AppEvent::Resume => "app.resume",
                    AppEvent::Revoke => "app.revoke",
                },
                json!({"id": id, "from": from.name(), "to": to.name(), "comment": comment,
                       "credentials_revoked": revoked}),
            )
            .await?;
        tx.commit().await.map_err(StoreError::from)?;
        self.app_auth_forget(id);
        self.after_credential_revocations(touched).await;
        let row = self.app_row(id).await?;
        self.app_view(row).await
    }

    /// Revoke credential `c` in `tx` if active (its certificate too, at the CA, unless already
    /// revoked there); the certificate's CA key and CRL partition when one was revoked.
    pub(crate) async fn revoke_credential_in(
        &self,
        tx: &mut crate::store::Tx<'_>,
        actor: &Actor,
        c: &CredentialRow,
        reason: Reason,
        now: i64,
    ) -> Result<Option<(String, i64)>, AppError> {
        if c.state != "active" || !Store::credential_revoke(tx, &c.id, now).await? {
            return Ok(None);
        }
        let Some(serial) = &c.cert_serial else {
            return Ok(None);
        };
        let Some(cert) = self.store.cert_get(serial).await? else {
            return Ok(None);
        };
        if let crate::store::CertStatusRow::Revoked { .. } =
            self.store.cert_status(&cert.ca_key, serial).await?
        {
            return Ok(None);
        }
        self.write_status(
            tx,
            &actor.name,
            &cert,
            Some(reason),
            Some(format!("app credential {} of app {}", c.id, c.app_id).as_str()),
        )
        .await?;
        Ok(Some((cert.ca_key.clone(), cert.crl_part)))
    }

    /// After the commit of revoked client certificates: drop the OCSP cache and publish delta
    /// CRLs (the mTLS verifier is rebuilt when it sees the revocation log move).
    pub(crate) async fn after_credential_revocations(&self, touched: Vec<(String, i64)>) {
        let mut seen = std::collections::BTreeSet::new();
        for (ca, part) in touched {
            if seen.insert((ca.clone(), part)) {
                if let Err(e) = self.after_status_change(&ca, part).await {
                    tracing::error!(error = %e, ca, part, "CRL after an app credential revocation");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callback_urls() {
        assert!(check_callback_url("https://oa.example.cn/hooks/seal", false).is_ok());
        assert!(check_callback_url("https://oa.example.cn:8443/h?x=1", false).is_ok());
        assert!(check_callback_url("http://oa.example.cn/h", false).is_err());
        assert!(check_callback_url("http://127.0.0.1:9000/h", false).is_err());
        assert!(check_callback_url("http://127.0.0.1:9000/h", true).is_ok());
        assert!(check_callback_url("http://localhost/h", true).is_ok());
        assert!(check_callback_url("http://[::1]:80/h", true).is_ok());
        assert!(check_callback_url("http://example.cn/h", true).is_err());
        assert!(check_callback_url("https://user:pw@example.cn/", false).is_err());
        assert!(check_callback_url("https:///nohost", false).is_err());
        assert!(check_callback_url("https://a.cn:99999/", false).is_err());
        assert!(check_callback_url("ftp://a.cn/", false).is_err());
        assert!(check_callback_url("https://a.cn/ x", false).is_err());
    }

    #[test]
    fn contacts_are_checked_and_names_folded() {
        let c = check_contacts(&[Contact {
            name: " 张三 ".into(),
            mobile: Some("+86 138-0013-8000".into()),
            email: Some("zs@example.cn".into()),
        }])
        .unwrap();
        assert_eq!(c[0].name, "张三");
        assert_eq!(c[0].mobile.as_deref(), Some("13800138000"));
        assert!(check_contacts(&[Contact {
            name: "x".into(),
            mobile: None,
            email: Some("not-an-address".into()),
        }])
        .is_err());
        assert_eq!(check_name(" ＯＡ 系统 ").unwrap().1, "oa系统");
        assert!(check_name("x").is_err());
    }

    #[test]
    fn allowed_events_follow_the_table() {
        assert_eq!(allowed_events(AppState::Active), vec!["suspend", "revoke"]);
        assert_eq!(
            allowed_events(AppState::Suspended),
            vec!["resume", "revoke"]
        );
        assert!(allowed_events(AppState::Revoked).is_empty());
    }
}
