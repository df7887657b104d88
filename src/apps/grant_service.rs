//! Seal administrators authorize apps (应用授权, the manual's §4): choose the app, then the seals —
//! one, a batch, or all seals of an organisation subtree —; withdraw the same ways; sync a seal set
//! from one app to others; list an app's seals and a seal's apps. Each grant is a signed
//! app-authorization credential (the platform's grant signer, service CA, EKU sealpkiGrant), its
//! withdrawal a revocation entry for the credential's cti. Every request is one transaction: a
//! batch with one bad seal changes nothing and names it. `app_grant_in_force` is what the signing
//! API asks on every sealing, reading the seal's current state, so a lost seal stops every app at
//! once and works again on restore; `count_grant_use` counts a sealing against the use limit.
//! The sweep (`app_grant_sweep`, beside the seal expiry sweep) makes grants effective and expired
//! and sends the 15 / 7 / 1-day reminders; every event is recorded for the app (`grant_event`) and
//! told to the administrator.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::grants::{
    self, check_validity, refusal, seal_reason, GrantEvent, GrantState, Validity, MAX_SEALS,
    MAX_SYNC_APPS, ROLE_SEAL_USER,
};
use super::model::{AppKind, AppState};
use crate::access::Actor;
use crate::accounts::orgs::{MemberRole, OrgKind};
use crate::accounts::policy::{Action, Principal};
use crate::app::App;
use crate::error::AppError;
use crate::seals::{SealState, SigningMode};
use crate::store::{
    AppBriefRow, AppEventRow, GrantFilter, GrantListRow, GrantRow, SealRow, Store, StoreError, Tx,
};
use crate::workflow::Named;

/// An app as the grant pages and answers show it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct AppBrief {
    pub id: String,
    pub name: String,
    /// cloud-signing or ukey.
    pub kind: String,
    /// active, suspended or revoked.
    pub state: String,
    pub supervising_org_id: String,
    pub supervising_org_name: String,
    pub developer_org_id: String,
    pub developer_org_name: String,
}

impl AppBrief {
    fn of(a: AppBriefRow) -> AppBrief {
        AppBrief {
            id: a.id,
            name: a.name,
            kind: a.kind,
            state: a.state,
            supervising_org_id: a.supervising_org_id,
            supervising_org_name: a.supervising_org_name,
            developer_org_id: a.developer_org_id,
            developer_org_name: a.developer_org_name,
        }
    }

    pub fn is_ukey(&self) -> bool {
        self.kind == AppKind::Ukey.name()
    }
}

/// One grant, with the names of its app, seal and organisation.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct GrantView {
    pub id: String,
    pub app_id: String,
    pub app_name: String,
    pub seal_id: String,
    pub seal_name: String,
    /// The 13-digit seal code.
    pub seal_code: String,
    /// The seal's own state now (a lost seal's grants do not work until it is restored).
    pub seal_state: String,
    pub org_id: String,
    pub org_name: String,
    /// seal-user.
    pub role: String,
    /// The seal administrator who granted it.
    pub granted_by: String,
    /// Unix seconds: in force from valid_from until (not including) valid_until.
    pub valid_from: i64,
    pub valid_until: i64,
    /// At most this many sealings; absent: no limit.
    pub use_limit: Option<i64>,
    pub uses: i64,
    /// granted (not yet in force), effective, withdrawn or expired — as of now.
    pub state: String,
    /// Whether the app may seal with it now (the grant in force, uses left, the seal active).
    pub in_force: bool,
    /// The signed credential's id (cti, hex).
    pub credential_id: String,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
    /// When and by whom it was withdrawn or expired.
    pub ended_at: Option<i64>,
    pub ended_by: Option<String>,
}

impl GrantView {
    fn of(r: GrantListRow, now: i64) -> Result<GrantView, AppError> {
        let g = r.grant;
        let stored = GrantState::parse(&g.state)
            .ok_or_else(|| StoreError::Corrupt(format!("grant {} state {:?}", g.id, g.state)))?;
        let state = stored.at(now, g.valid_from, g.valid_until);
        let in_force = state == GrantState::Effective
            && r.seal_state == SealState::Active.name()
            && g.use_limit.is_none_or(|n| g.uses < n);
        Ok(GrantView {
            id: g.id,
            app_id: g.app_id,
            app_name: r.app_name,
            seal_id: g.seal_id,
            seal_name: r.seal_name,
            seal_code: r.seal_code,
            seal_state: r.seal_state,
            org_id: r.org_id,
            org_name: r.org_name,
            role: g.role,
            granted_by: g.granted_by,
            valid_from: g.valid_from,
            valid_until: g.valid_until,
            use_limit: g.use_limit,
            uses: g.uses,
            state: state.name().to_string(),
            in_force,
            credential_id: g.cti,
            version: g.version,
            created_at: g.created_at,
            updated_at: g.updated_at,
            ended_at: g.ended_at,
            ended_by: g.ended_by,
        })
    }
}

/// A seal as the grant pages list it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct SealBrief {
    pub id: String,
    pub name: String,
    pub code: String,
    pub state: String,
    /// cloud or ukey.
    pub mode: String,
    pub org_id: String,
    pub org_name: String,
    pub valid_until: i64,
}

/// Create grants: for one app, the seals named (one or a batch) or every seal of an
/// organisation's subtree.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantRequest {
    pub app_id: String,
    /// One seal or a batch (1-500); or give `org_id`.
    pub seal_ids: Option<Vec<String>>,
    /// Every active cloud seal of this organisation and the organisations below it.
    pub org_id: Option<String>,
    /// Unix seconds; default now.
    pub valid_from: Option<i64>,
    /// Unix seconds, after valid_from, at most three years (1,096 days) later.
    pub valid_until: i64,
    /// At most this many sealings (1 or more); absent: no limit.
    pub use_limit: Option<i64>,
}

/// A seal a request left alone, and why.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Skipped {
    pub seal_id: String,
    pub seal_name: String,
    pub seal_code: String,
    /// already-granted, seal-not-active (lost, revoked, expired…), ukey-seal.
    pub reason: &'static str,
}

/// What a grant request did.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct GrantOutcome {
    pub app: AppBrief,
    pub granted: Vec<GrantView>,
    /// Seals of an organisation request not granted (already granted, not active, UKey).
    pub skipped: Vec<Skipped>,
}

/// Withdraw grants: by id, or for one app the seals named or every seal of an organisation's
/// subtree.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WithdrawRequest {
    /// The grants (1-500); or give app_id with seal_ids or org_id.
    pub grant_ids: Option<Vec<String>>,
    pub app_id: Option<String>,
    pub seal_ids: Option<Vec<String>>,
    pub org_id: Option<String>,
    /// Why (at most 200 characters), kept in the audit and the revocation entry.
    pub reason: Option<String>,
}

/// What a withdrawal did.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct WithdrawOutcome {
    pub withdrawn: Vec<GrantView>,
}

/// Sync the seals one app holds (those the caller administers) to other apps.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncRequest {
    pub from_app_id: String,
    /// 1-20 cloud-signing apps.
    pub to_app_ids: Vec<String>,
    /// Also withdraw the target apps' grants on seals (of the caller's) the source app does not
    /// hold, so each target ends with exactly the source's set. Default false: only add.
    #[serde(default)]
    pub exact: bool,
    /// Unix seconds: the new grants' end; default each source grant's own end.
    pub valid_until: Option<i64>,
    /// The new grants' use limit; default each source grant's own.
    pub use_limit: Option<i64>,
}

/// What a sync did for one target app.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct SyncTarget {
    pub app: AppBrief,
    pub granted: Vec<GrantView>,
    pub skipped: Vec<Skipped>,
    pub withdrawn: Vec<GrantView>,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct SyncOutcome {
    pub from: AppBrief,
    pub targets: Vec<SyncTarget>,
}

/// An app's seals: its grants (cloud-signing apps), or for a UKey app the UKey seals the caller
/// administers, read only (a UKey works by token and PIN: nothing to grant).
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct AppSeals {
    pub app: AppBrief,
    pub read_only: bool,
    pub items: Vec<GrantView>,
    pub ukey_seals: Vec<SealBrief>,
    pub next_cursor: Option<String>,
}

/// A seal's apps: every grant on it (oldest first), and for a UKey seal the UKey apps it works
/// with.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct SealApps {
    pub seal: SealBrief,
    pub items: Vec<GrantView>,
    pub ukey_apps: Vec<AppBrief>,
}

/// An app holding grants on the caller's seals, or a UKey app, with how many seals.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct GrantedApp {
    pub app: AppBrief,
    pub seals: i64,
}

/// A grant found in force: what the signing API records and counts against.
#[derive(Clone, Debug, Serialize)]
pub struct GrantInForce {
    pub grant_id: String,
    pub app_id: String,
    pub seal_id: String,
    pub seal_code: String,
    pub uses: i64,
    pub use_limit: Option<i64>,
    pub valid_until: i64,
    /// The credential's id (cti, hex).
    pub credential_id: String,
}

/// A credential checked by `grant_verify`: the signature, chain and claims (pki's report), and
/// what the platform's records say of it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct GrantVerification {
    /// valid only when the credential verifies and is not revoked.
    pub verdict: &'static str,
    pub reasons: Vec<String>,
    /// The checks of the signature, chain, issuer rule and validity.
    #[schema(value_type = Object)]
    pub report: serde_json::Value,
    /// The revocation entry naming the credential's cti, if any.
    pub revoked_at: Option<i64>,
    pub revocation_reason: Option<String>,
    /// The grant it is, when it is one of ours.
    pub grant: Option<GrantView>,
}

/// The events an app hears of its grants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GrantNews {
    Granted,
    Effective,
    Expiring(i64),
    Expired,
    Withdrawn,
}

impl GrantNews {
    pub fn name(self) -> &'static str {
        match self {
            GrantNews::Granted => "grant.granted",
            GrantNews::Effective => "grant.effective",
            GrantNews::Expiring(_) => "grant.expiring",
            GrantNews::Expired => "grant.expired",
            GrantNews::Withdrawn => "grant.withdrawn",
        }
    }
}

/// One event of an app as the API shows it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct AppEventView {
    pub id: String,
    /// grant.granted, grant.effective, grant.expiring, grant.expired, grant.withdrawn.
    pub kind: String,
    pub grant_id: Option<String>,
    pub seal_id: Option<String>,
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    pub created_at: i64,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct AppEventPage {
    pub items: Vec<AppEventView>,
    pub next_cursor: Option<String>,
}

/// What a sweep did.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct GrantSweep {
    pub effective: usize,
    pub reminders: usize,
    pub expired: usize,
}

/// Grants looked at per sweep (a larger backlog is taken by the next sweeps).
const SWEEP_BATCH: i64 = 500;
/// The longest withdrawal reason.
const MAX_REASON: usize = 200;

/// Which organisations' seals the caller may see in grant lists.
enum Scope {
    /// Platform staff: every seal, read only.
    All,
    /// A seal administrator's subtrees (and, for a government body's, its region).
    Orgs(Vec<String>),
}

impl Scope {
    fn orgs(&self) -> Option<&[String]> {
        match self {
            Scope::All => None,
            Scope::Orgs(o) => Some(o),
        }
    }
}

fn new_id() -> String {
    let mut b = [0u8; 16];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut b);
    hex::encode(b)
}

fn staff(p: &Principal) -> bool {
    p.actor.role != crate::store::Role::Person
}

/// Seal ids of a request: 1 to `MAX_SEALS`, no repeats (kept in order).
fn seal_list(ids: &[String]) -> Result<Vec<String>, AppError> {
    if ids.is_empty() || ids.len() > MAX_SEALS {
        return Err(AppError::Invalid {
            field: "seal_ids",
            rule: format!("1 to {MAX_SEALS} seals"),
        });
    }
    let mut seen = BTreeSet::new();
    Ok(ids
        .iter()
        .filter(|s| seen.insert(s.as_str()))
        .cloned()
        .collect())
}

impl App {
    /// Where the caller's grant lists reach: staff see all; seal administrators their subtrees
    /// and regions; anyone else is refused (naming the permission).
    async fn grant_scope(&self, p: &Principal) -> Result<Scope, AppError> {
        if staff(p) {
            return Ok(Scope::All);
        }
        let admin_of: Vec<_> = p
            .memberships
            .iter()
            .filter(|m| m.role == MemberRole::SealAdmin)
            .collect();
        if admin_of.is_empty() {
            return Err(AppError::Denied(format!(
                "{} needs permission {} (a seal administrator's) to see app authorizations",
                p.actor.name,
                Action::AuthorizeApps.name()
            )));
        }
        let roots: Vec<String> = admin_of.iter().map(|m| m.org_id.clone()).collect();
        let mut all = self.store.org_subtrees(&roots).await?;
        for m in admin_of.iter().filter(|m| m.kind == OrgKind::Government) {
            let Some(prefix) = crate::accounts::policy::region_prefix(&m.region) else {
                continue;
            };
            for id in self.store.org_ids_in_region(prefix).await? {
                if !all.contains(&id) {
                    all.push(id);
                }
            }
        }
        Ok(Scope::Orgs(all))
    }

    /// The app a grant request names: it exists, is a cloud-signing app (UKey apps are not
    /// authorized: the token and PIN sign), and is active.
    async fn grantable_app(&self, app_id: &str) -> Result<AppBriefRow, AppError> {
        let app = self
            .store
            .app_brief(app_id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no app with id {app_id}")))?;
        if app.kind == AppKind::Ukey.name() {
            return Err(AppError::Policy(format!(
                "app {} ({}) is a UKey app: UKey seals work with it by the holder's token and PIN, \
                 so it is not authorized to use seals (its seals are listed read only)",
                app.name, app.id
            )));
        }
        match AppState::parse(&app.state) {
            Some(AppState::Active) => Ok(app),
            Some(s) => Err(AppError::Policy(format!(
                "app {} ({}) is {}: only an active app is authorized",
                app.name,
                app.id,
                s.name()
            ))),
            None => {
                Err(StoreError::Corrupt(format!("app {} state {:?}", app.id, app.state)).into())
            }
        }
    }

    /// Refuse unless the caller authorizes apps for `org_id` (cached per organisation).
    async fn may_authorize(
        &self,
        p: &Principal,
        org_id: &str,
        checked: &mut BTreeSet<String>,
    ) -> Result<(), AppError> {
        if checked.contains(org_id) {
            return Ok(());
        }
        self.may_on_org(p, Action::AuthorizeApps, org_id).await?;
        checked.insert(org_id.to_string());
        Ok(())
    }

    /// The seals of the organisation `org_id` and those below it, if the caller authorizes apps
    /// there (at most `MAX_SEALS`).
    async fn subtree_seals(
        &self,
        p: &Principal,
        org_id: &str,
        mode: &str,
    ) -> Result<Vec<SealRow>, AppError> {
        if self.store.org_get(org_id).await?.is_none() {
            return Err(AppError::NotFound(format!(
                "no organisation with id {org_id}"
            )));
        }
        self.may_on_org(p, Action::AuthorizeApps, org_id).await?;
        let orgs = self.store.org_subtrees(&[org_id.to_string()]).await?;
        let limit = i64::try_from(MAX_SEALS).unwrap_or(500) + 1;
        let ids = self
            .store
            .seal_ids_of(Some(orgs.as_slice()), "", mode, limit)
            .await?;
        if ids.len() > MAX_SEALS {
            return Err(AppError::Invalid {
                field: "org_id",
                rule: format!(
                    "more than {MAX_SEALS} seals under this organisation: authorize its \
                     sub-organisations one by one"
                ),
            });
        }
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(s) = self.store.seal_get(&id).await? {
                out.push(s);
            }
        }
        Ok(out)
    }

    /// The named seals, each existing and in the caller's authority; unknown ones are all named
    /// in one refusal (nothing changes).
    async fn named_seals(
        &self,
        p: &Principal,
        ids: &[String],
        checked: &mut BTreeSet<String>,
    ) -> Result<Vec<SealRow>, AppError> {
        let ids = seal_list(ids)?;
        let mut rows = Vec::with_capacity(ids.len());
        let mut unknown = Vec::new();
        for id in &ids {
            match self.store.seal_get(id).await? {
                Some(s) => rows.push(s),
                None => unknown.push(id.clone()),
            }
        }
        if !unknown.is_empty() {
            return Err(AppError::Invalid {
                field: "seal_ids",
                rule: format!(
                    "no seal with id {}: nothing was changed",
                    unknown.join(", ")
                ),
            });
        }
        for s in &rows {
            self.may_authorize(p, &s.org_id, checked).await?;
        }
        Ok(rows)
    }

    /// Sign the app-authorization credential of `g` (its seal `seal`, organisation code
    /// `org_code`) with the platform's grant signer.
    async fn grant_credential_sign(
        self: &Arc<Self>,
        g: &GrantRow,
        seal_code: &str,
        org_code: &str,
        cti: &[u8],
    ) -> Result<Vec<u8>, AppError> {
        use sealpki_pki::credential::{self, Body, Claims, Kind};
        let u = |t: i64| u64::try_from(t).unwrap_or(0);
        let mut claims = BTreeMap::from([
            (
                1,
                sealpki_pki::credential::CborValue::Text(g.app_id.clone()),
            ),
            (
                2,
                sealpki_pki::credential::CborValue::Text(org_code.to_string()),
            ),
            (
                3,
                sealpki_pki::credential::CborValue::Text(seal_code.to_string()),
            ),
            (4, sealpki_pki::credential::CborValue::Text(g.role.clone())),
            (6, sealpki_pki::credential::CborValue::Text(g.id.clone())),
        ]);
        if let Some(n) = g.use_limit {
            claims.insert(5, sealpki_pki::credential::CborValue::Integer(u(n).into()));
        }
        let claims = Claims {
            iss: self.config.public_base_url(),
            sub: seal_code.to_string(),
            iat: u(g.created_at),
            nbf: u(g.valid_from),
            exp: u(g.valid_until),
            cti: cti.to_vec(),
            body: Body::Other {
                kind: Kind::AppAuthorization,
                claims,
            },
        };
        let key = self
            .platform_key(crate::seals::maker::PlatformKey::GrantSigner)
            .await?;
        let mut chain = vec![key.cert.clone()];
        chain.extend(key.chain.iter().cloned());
        credential::issue(&claims, key.signer.as_ref(), &chain).map_err(|e| match e {
            credential::CredentialError::Claims(m) if m.contains("signing certificate") => {
                AppError::Unavailable(format!(
                    "the platform's grant signer cannot sign this grant: {m}; an administrator \
                     must renew the grant signer's certificate"
                ))
            }
            other => AppError::Internal(format!("app authorization credential: {other}")),
        })
    }

    /// Make grants of `app` on `seals` with `v`, in the caller's transaction: rows, credentials,
    /// audit entries and the app's events.
    async fn grants_write(
        self: &Arc<Self>,
        tx: &mut Tx<'_>,
        actor: &Actor,
        app: &AppBriefRow,
        seals: &[SealRow],
        signed: Vec<(GrantRow, Vec<u8>)>,
    ) -> Result<Vec<GrantView>, AppError> {
        let now = crate::store::now();
        let mut out = Vec::with_capacity(signed.len());
        for ((g, cose), seal) in signed.into_iter().zip(seals) {
            Store::grant_insert(tx, &g, &cose)
                .await
                .map_err(|e| match e {
                    StoreError::Conflict(_) => AppError::Conflict(format!(
                        "app {} was authorized for seal {} ({}) meanwhile: nothing was changed",
                        g.app_id, seal.name, seal.code
                    )),
                    other => other.into(),
                })?;
            self.audit
                .append(
                    tx,
                    &actor.name,
                    "app-grant.grant",
                    json!({"grant": g.id, "app": g.app_id, "seal": g.seal_id, "code": seal.code,
                           "role": g.role, "valid_from": g.valid_from,
                           "valid_until": g.valid_until, "use_limit": g.use_limit,
                           "state": g.state, "credential": g.cti}),
                )
                .await?;
            let row = GrantListRow {
                grant: g,
                app_name: app.name.clone(),
                app_kind: app.kind.clone(),
                seal_name: seal.name.clone(),
                seal_code: seal.code.clone(),
                seal_state: seal.state.clone(),
                org_id: seal.org_id.clone(),
                org_name: String::new(),
            };
            self.grant_event(tx, &row, GrantNews::Granted).await?;
            if row.grant.state == GrantState::Effective.name() {
                self.grant_event(tx, &row, GrantNews::Effective).await?;
            }
            out.push(GrantView::of(row, now)?);
        }
        Ok(out)
    }

    /// Prepare (and sign) grants of `app` on `seals`: nothing is written.
    async fn grants_prepare(
        self: &Arc<Self>,
        actor: &Actor,
        app_id: &str,
        seals: &[SealRow],
        v: Validity,
    ) -> Result<Vec<(GrantRow, Vec<u8>)>, AppError> {
        let now = crate::store::now();
        let mut codes: BTreeMap<String, String> = BTreeMap::new();
        let mut out = Vec::with_capacity(seals.len());
        for s in seals {
            let org_code = match codes.get(&s.org_id) {
                Some(c) => c.clone(),
                None => {
                    let o = self.store.org_get(&s.org_id).await?.ok_or_else(|| {
                        StoreError::Corrupt(format!("seal {}: organisation gone", s.id))
                    })?;
                    codes.insert(s.org_id.clone(), o.credit_code.clone());
                    o.credit_code
                }
            };
            let mut cti = [0u8; sealpki_pki::credential::CTI_LEN];
            rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut cti);
            let g = GrantRow {
                id: new_id(),
                app_id: app_id.to_string(),
                seal_id: s.id.clone(),
                role: ROLE_SEAL_USER.into(),
                granted_by: actor.name.clone(),
                valid_from: v.valid_from,
                valid_until: v.valid_until,
                use_limit: v.use_limit,
                uses: 0,
                state: GrantState::initial(now, v.valid_from).name().into(),
                cti: hex::encode(cti),
                version: 1,
                created_at: now,
                updated_at: now,
                ended_at: None,
                ended_by: None,
            };
            let cose = self
                .grant_credential_sign(&g, &s.code, &org_code, &cti)
                .await?;
            out.push((g, cose));
        }
        Ok(out)
    }

    /// Split `seals` into those to grant and those an organisation request leaves alone.
    async fn grant_candidates(
        &self,
        app_id: &str,
        seals: Vec<SealRow>,
        strict: bool,
    ) -> Result<(Vec<SealRow>, Vec<Skipped>), AppError> {
        let ids: Vec<String> = seals.iter().map(|s| s.id.clone()).collect();
        let live: BTreeSet<String> = self
            .store
            .grants_live_on(app_id, &ids)
            .await?
            .into_iter()
            .map(|g| g.grant.seal_id)
            .collect();
        let mut take = Vec::new();
        let mut skipped = Vec::new();
        let mut bad = Vec::new();
        let mut already = Vec::new();
        for s in seals {
            let reason = if s.mode == SigningMode::Ukey.name() {
                Some("ukey-seal")
            } else if s.state != SealState::Active.name() {
                Some("seal-not-active")
            } else if live.contains(&s.id) {
                Some("already-granted")
            } else {
                None
            };
            match reason {
                None => take.push(s),
                Some(r) if !strict => skipped.push(Skipped {
                    seal_id: s.id,
                    seal_name: s.name,
                    seal_code: s.code,
                    reason: r,
                }),
                Some("already-granted") => already.push(format!("{} ({})", s.name, s.code)),
                Some("ukey-seal") => bad.push(format!(
                    "{} ({}) is a UKey seal: it signs on the holder's token, not through apps",
                    s.name, s.code
                )),
                Some(_) => bad.push(format!(
                    "{} ({}) is {}: only an active seal is authorized",
                    s.name, s.code, s.state
                )),
            }
        }
        if !bad.is_empty() {
            return Err(AppError::Invalid {
                field: "seal_ids",
                rule: format!("{}; nothing was changed", bad.join("; ")),
            });
        }
        if !already.is_empty() {
            return Err(AppError::Conflict(format!(
                "app {app_id} is authorized already for {}: withdraw first to grant anew; nothing \
                 was changed",
                already.join(", ")
            )));
        }
        Ok((take, skipped))
    }

    /// Authorize an app for the seals a request names (one or a batch) or every active cloud seal
    /// of an organisation's subtree, in one transaction.
    pub async fn app_grant_create(
        self: &Arc<Self>,
        actor: &Actor,
        req: &GrantRequest,
        answer: Option<&crate::workflow::Answer<'_>>,
    ) -> Result<GrantOutcome, AppError> {
        let p = self.principal(actor).await?;
        let now = crate::store::now();
        let v = check_validity(now, req.valid_from, req.valid_until, req.use_limit)?;
        let app = self.grantable_app(&req.app_id).await?;
        let mut checked = BTreeSet::new();
        let (seals, strict) = match (&req.seal_ids, &req.org_id) {
            (Some(ids), None) => (self.named_seals(&p, ids, &mut checked).await?, true),
            (None, Some(org)) => (self.subtree_seals(&p, org, "").await?, false),
            _ => {
                return Err(AppError::BadRequest(
                    "give either seal_ids (one seal or a batch) or org_id (every seal of an \
                     organisation and those below it)"
                        .into(),
                ))
            }
        };
        let (take, skipped) = self.grant_candidates(&app.id, seals, strict).await?;
        let signed = self.grants_prepare(actor, &app.id, &take, v).await?;
        let mut tx = self.store.begin().await?;
        let granted = self
            .grants_write(&mut tx, actor, &app, &take, signed)
            .await?;
        if !granted.is_empty() {
            self.tell_admin(
                &mut tx,
                &actor.name,
                &crate::notify::Message {
                    kind: "app-grant.granted".into(),
                    title: crate::notify::Text::new(
                        format!("已授权应用「{}」使用 {} 枚印章", app.name, granted.len()),
                        format!(
                            "App \"{}\" authorized for {} seal(s)",
                            app.name,
                            granted.len()
                        ),
                    ),
                    body: crate::notify::Text::new(
                        format!(
                            "应用「{}」现可使用 {} 枚印章签章，有效期至 {}。",
                            app.name,
                            granted.len(),
                            crate::clock::format_time(&v.valid_until)
                        ),
                        format!(
                            "The app \"{}\" may now seal with {} seal(s), until {}.",
                            app.name,
                            granted.len(),
                            crate::clock::format_time(&v.valid_until)
                        ),
                    ),
                    link: Some(format!("/app-grants/apps/{}", app.id)),
                },
                None,
            )
            .await?;
        }
        let out = GrantOutcome {
            app: AppBrief::of(app),
            granted: self.with_org_names(granted).await?,
            skipped,
        };
        if let Some(a) = answer {
            a.record_json(&mut tx, &out).await?;
        }
        tx.commit().await.map_err(StoreError::from)?;
        Ok(out)
    }

    /// Fill in organisation names (rows made in this process carry none).
    async fn with_org_names(&self, mut v: Vec<GrantView>) -> Result<Vec<GrantView>, AppError> {
        let mut names: BTreeMap<String, String> = BTreeMap::new();
        for g in &mut v {
            if !g.org_name.is_empty() {
                continue;
            }
            if let Some(n) = names.get(&g.org_id) {
                g.org_name = n.clone();
                continue;
            }
            if let Some(o) = self.store.org_get(&g.org_id).await? {
                names.insert(o.id, o.name.clone());
                g.org_name = o.name;
            }
        }
        Ok(v)
    }

    /// An in-app notice to one administrator, in the caller's transaction.
    async fn tell_admin(
        &self,
        tx: &mut Tx<'_>,
        username: &str,
        msg: &crate::notify::Message,
        dedupe: Option<&str>,
    ) -> Result<usize, AppError> {
        if username == "system" || username.starts_with("cli:") {
            return Ok(0);
        }
        crate::notify::in_app(
            tx,
            &self.config,
            &self.store,
            username,
            msg,
            dedupe.map(|d| format!("{d}:{username}")).as_deref(),
        )
        .await
    }

    /// Record `news` of grant `g` for its app (the webhook deliveries read these), in the
    /// caller's transaction; once per grant and event (and reminder threshold). True when new.
    pub async fn grant_event(
        &self,
        tx: &mut Tx<'_>,
        g: &GrantListRow,
        news: GrantNews,
    ) -> Result<bool, AppError> {
        let now = crate::store::now();
        let days = match news {
            GrantNews::Expiring(d) => Some(d),
            _ => None,
        };
        let dedupe = match days {
            Some(d) => format!("{}:{}:{d}", g.grant.id, news.name()),
            None => format!("{}:{}", g.grant.id, news.name()),
        };
        let mut payload = json!({
            "event": news.name(), "grant_id": g.grant.id, "app_id": g.grant.app_id,
            "seal_id": g.grant.seal_id, "seal_code": g.seal_code, "seal_name": g.seal_name,
            "valid_from": g.grant.valid_from, "valid_until": g.grant.valid_until,
            "use_limit": g.grant.use_limit, "credential_id": g.grant.cti, "at": now,
        });
        if let Some(d) = days {
            payload["days"] = json!(d);
        }
        self.publish_app_event(
            tx,
            &AppEventRow {
                id: new_id(),
                app_id: g.grant.app_id.clone(),
                kind: news.name().into(),
                grant_id: Some(g.grant.id.clone()),
                seal_id: Some(g.grant.seal_id.clone()),
                payload: payload.to_string(),
                dedupe_key: Some(dedupe),
                created_at: now,
            },
        )
        .await
    }

    /// End grant `g` by `event` (withdraw or expire) in the caller's transaction: the row at its
    /// version, the revocation entry (withdrawal), the audit entry and the app's event.
    async fn grant_end(
        &self,
        tx: &mut Tx<'_>,
        actor: &str,
        g: &GrantListRow,
        event: GrantEvent,
        reason: Option<&str>,
        now: i64,
    ) -> Result<(), AppError> {
        let from = GrantState::parse(&g.grant.state).ok_or_else(|| {
            StoreError::Corrupt(format!("grant {} state {:?}", g.grant.id, g.grant.state))
        })?;
        let to = from
            .on(event)
            .ok_or_else(|| grant_out_of_order(g, from, event))?;
        if !Store::grant_set_state(
            tx,
            &g.grant.id,
            g.grant.version,
            to.name(),
            Some(actor),
            now,
        )
        .await?
        {
            return Err(AppError::StateConflict {
                reason: "stale-version",
                message: format!(
                    "grant {} changed meanwhile (version {}): nothing was changed",
                    g.grant.id, g.grant.version
                ),
                state: from.name(),
                version: g.grant.version,
                allowed_events: allowed(from),
            });
        }
        if event == GrantEvent::Withdraw {
            Store::credential_revocation_insert(
                tx,
                &g.grant.cti,
                sealpki_pki::credential::Kind::AppAuthorization.name(),
                reason.unwrap_or("withdrawn"),
                actor,
                now,
            )
            .await?;
        }
        self.audit
            .append(
                tx,
                actor,
                if event == GrantEvent::Withdraw {
                    "app-grant.withdraw"
                } else {
                    "app-grant.expire"
                },
                json!({"grant": g.grant.id, "app": g.grant.app_id, "seal": g.grant.seal_id,
                       "code": g.seal_code, "from": from.name(), "to": to.name(),
                       "reason": reason, "credential": g.grant.cti}),
            )
            .await?;
        self.grant_event(
            tx,
            g,
            if event == GrantEvent::Withdraw {
                GrantNews::Withdrawn
            } else {
                GrantNews::Expired
            },
        )
        .await?;
        Ok(())
    }

    /// Withdraw grants by id, or an app's grants on the seals named or on every seal of an
    /// organisation's subtree, in one transaction. A grant that is not live is a 409 naming it.
    pub async fn app_grant_withdraw(
        &self,
        actor: &Actor,
        req: &WithdrawRequest,
        answer: Option<&crate::workflow::Answer<'_>>,
    ) -> Result<WithdrawOutcome, AppError> {
        let p = self.principal(actor).await?;
        let reason = req
            .reason
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty());
        if reason.is_some_and(|r| r.chars().count() > MAX_REASON || r.chars().any(char::is_control))
        {
            return Err(AppError::Invalid {
                field: "reason",
                rule: format!("at most {MAX_REASON} characters, no control characters"),
            });
        }
        let mut checked = BTreeSet::new();
        let rows: Vec<GrantListRow> =
            match (&req.grant_ids, &req.app_id, &req.seal_ids, &req.org_id) {
                (Some(ids), None, None, None) => {
                    let ids = seal_list(ids).map_err(|_| AppError::Invalid {
                        field: "grant_ids",
                        rule: format!("1 to {MAX_SEALS} grants"),
                    })?;
                    let mut rows = Vec::new();
                    let mut unknown = Vec::new();
                    for id in &ids {
                        match self.store.grant_get(id).await? {
                            Some(g) => rows.push(g),
                            None => unknown.push(id.clone()),
                        }
                    }
                    if !unknown.is_empty() {
                        return Err(AppError::Invalid {
                            field: "grant_ids",
                            rule: format!(
                                "no grant with id {}: nothing was changed",
                                unknown.join(", ")
                            ),
                        });
                    }
                    rows
                }
                (None, Some(app), Some(seals), None) => {
                    let seals = self.named_seals(&p, seals, &mut checked).await?;
                    let ids: Vec<String> = seals.iter().map(|s| s.id.clone()).collect();
                    let rows = self.store.grants_live_on(app, &ids).await?;
                    let have: BTreeSet<&str> =
                        rows.iter().map(|g| g.grant.seal_id.as_str()).collect();
                    let missing: Vec<String> = seals
                        .iter()
                        .filter(|s| !have.contains(s.id.as_str()))
                        .map(|s| format!("{} ({})", s.name, s.code))
                        .collect();
                    if !missing.is_empty() {
                        if self.store.app_brief(app).await?.is_none() {
                            return Err(AppError::NotFound(format!("no app with id {app}")));
                        }
                        return Err(AppError::StateConflict {
                            reason: "out-of-order",
                            message: format!(
                                "app {app} holds no grant in force for {}: nothing was changed",
                                missing.join(", ")
                            ),
                            state: "none",
                            version: 0,
                            allowed_events: Vec::new(),
                        });
                    }
                    rows
                }
                (None, Some(app), None, Some(org)) => {
                    if self.store.app_brief(app).await?.is_none() {
                        return Err(AppError::NotFound(format!("no app with id {app}")));
                    }
                    let seals = self.subtree_seals(&p, org, "").await?;
                    let ids: Vec<String> = seals.iter().map(|s| s.id.clone()).collect();
                    self.store.grants_live_on(app, &ids).await?
                }
                _ => {
                    return Err(AppError::BadRequest(
                        "give grant_ids, or app_id with seal_ids or with org_id".into(),
                    ))
                }
            };
        for g in &rows {
            self.may_authorize(&p, &g.org_id, &mut checked).await?;
            let s = GrantState::parse(&g.grant.state).ok_or_else(|| {
                StoreError::Corrupt(format!("grant {} state {:?}", g.grant.id, g.grant.state))
            })?;
            if s.on(GrantEvent::Withdraw).is_none() {
                return Err(grant_out_of_order(g, s, GrantEvent::Withdraw));
            }
        }
        let now = crate::store::now();
        let mut tx = self.store.begin().await?;
        for g in &rows {
            self.grant_end(&mut tx, &actor.name, g, GrantEvent::Withdraw, reason, now)
                .await?;
        }
        if let Some(first) = rows.first() {
            let apps: BTreeSet<&str> = rows.iter().map(|g| g.app_name.as_str()).collect();
            let names = apps.into_iter().collect::<Vec<_>>().join("、");
            self.tell_admin(
                &mut tx,
                &actor.name,
                &crate::notify::Message {
                    kind: "app-grant.withdrawn".into(),
                    title: crate::notify::Text::new(
                        format!("已取消应用「{names}」对 {} 枚印章的授权", rows.len()),
                        format!(
                            "Authorization of app \"{names}\" withdrawn for {} seal(s)",
                            rows.len()
                        ),
                    ),
                    body: crate::notify::Text::new(
                        format!("应用「{names}」不能再使用这 {} 枚印章签章。", rows.len()),
                        format!(
                            "The app \"{names}\" may no longer seal with these {} seal(s).",
                            rows.len()
                        ),
                    ),
                    link: Some(format!("/app-grants/apps/{}", first.grant.app_id)),
                },
                None,
            )
            .await?;
        }
        let out = WithdrawOutcome {
            withdrawn: rows
                .into_iter()
                .map(|g| GrantView::of(ended(g, GrantState::Withdrawn, &actor.name, now), now))
                .collect::<Result<_, _>>()?,
        };
        if let Some(a) = answer {
            a.record_json(&mut tx, &out).await?;
        }
        tx.commit().await.map_err(StoreError::from)?;
        Ok(out)
    }

    /// Give other apps the seals one app holds (those the caller authorizes for), each in one
    /// transaction with the rest: all targets or none.
    pub async fn app_grant_sync(
        self: &Arc<Self>,
        actor: &Actor,
        req: &SyncRequest,
        answer: Option<&crate::workflow::Answer<'_>>,
    ) -> Result<SyncOutcome, AppError> {
        let p = self.principal(actor).await?;
        let now = crate::store::now();
        let from = self
            .store
            .app_brief(&req.from_app_id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no app with id {}", req.from_app_id)))?;
        let mut seen = BTreeSet::new();
        let targets: Vec<&String> = req
            .to_app_ids
            .iter()
            .filter(|t| seen.insert(t.as_str()))
            .collect();
        if targets.is_empty() || targets.len() > MAX_SYNC_APPS {
            return Err(AppError::Invalid {
                field: "to_app_ids",
                rule: format!("1 to {MAX_SYNC_APPS} apps"),
            });
        }
        if targets.iter().any(|t| **t == from.id) {
            return Err(AppError::Invalid {
                field: "to_app_ids",
                rule: "the source app itself is not a target".into(),
            });
        }
        if let Some(n) = req.use_limit {
            check_validity(now, None, now.saturating_add(1), Some(n))?;
        }
        // The source's live grants on seals the caller authorizes for.
        let scope = self.grant_scope(&p).await?;
        let Scope::Orgs(orgs) = scope else {
            return Err(AppError::Denied(format!(
                "{} needs permission {} (a seal administrator's) to sync authorizations",
                actor.name,
                Action::AuthorizeApps.name()
            )));
        };
        let live = ["granted", "effective"];
        let source = self
            .store
            .grant_find(
                &GrantFilter {
                    app_id: Some(&from.id),
                    orgs: Some(orgs.as_slice()),
                    states: Some(&live[..]),
                    ..Default::default()
                },
                None,
                i64::try_from(MAX_SEALS).unwrap_or(500),
            )
            .await?;
        let mut checked = BTreeSet::new();
        let mut source_seals = Vec::new();
        for g in &source {
            self.may_authorize(&p, &g.org_id, &mut checked).await?;
            if let Some(s) = self.store.seal_get(&g.grant.seal_id).await? {
                source_seals.push((g.clone(), s));
            }
        }
        // Everything signed before the transaction opens.
        let mut plans = Vec::new();
        for t in &targets {
            let app = self.grantable_app(t).await?;
            let (take, skipped) = self
                .grant_candidates(
                    &app.id,
                    source_seals.iter().map(|(_, s)| s.clone()).collect(),
                    false,
                )
                .await?;
            let mut signed = Vec::new();
            let mut rows = Vec::new();
            for s in take {
                let (g, _) = source_seals
                    .iter()
                    .find(|(_, x)| x.id == s.id)
                    .ok_or_else(|| AppError::Internal("sync: seal lost track of".into()))?;
                let v = check_validity(
                    now,
                    Some(g.grant.valid_from.max(now)),
                    req.valid_until.unwrap_or(g.grant.valid_until),
                    req.use_limit.or(g.grant.use_limit),
                )?;
                let one = self
                    .grants_prepare(actor, &app.id, std::slice::from_ref(&s), v)
                    .await?;
                signed.extend(one);
                rows.push(s);
            }
            let withdraw = if req.exact {
                let keep: BTreeSet<&str> =
                    source.iter().map(|g| g.grant.seal_id.as_str()).collect();
                self.store
                    .grant_find(
                        &GrantFilter {
                            app_id: Some(&app.id),
                            orgs: Some(orgs.as_slice()),
                            states: Some(&live[..]),
                            ..Default::default()
                        },
                        None,
                        i64::try_from(MAX_SEALS).unwrap_or(500),
                    )
                    .await?
                    .into_iter()
                    .filter(|g| !keep.contains(g.grant.seal_id.as_str()))
                    .collect()
            } else {
                Vec::new()
            };
            plans.push((app, rows, signed, skipped, withdraw));
        }
        let mut tx = self.store.begin().await?;
        let mut out = Vec::new();
        let mut total = 0;
        for (app, rows, signed, skipped, withdraw) in plans {
            let granted = self
                .grants_write(&mut tx, actor, &app, &rows, signed)
                .await?;
            for g in &withdraw {
                self.may_authorize(&p, &g.org_id, &mut checked).await?;
                self.grant_end(
                    &mut tx,
                    &actor.name,
                    g,
                    GrantEvent::Withdraw,
                    Some("sync"),
                    now,
                )
                .await?;
            }
            total += granted.len() + withdraw.len();
            out.push((app, granted, skipped, withdraw));
        }
        if total > 0 {
            self.tell_admin(
                &mut tx,
                &actor.name,
                &crate::notify::Message {
                    kind: "app-grant.synced".into(),
                    title: crate::notify::Text::new(
                        format!(
                            "已将应用「{}」的授权印章同步至 {} 个应用",
                            from.name,
                            out.len()
                        ),
                        format!(
                            "Seals of app \"{}\" synced to {} app(s)",
                            from.name,
                            out.len()
                        ),
                    ),
                    body: crate::notify::Text::new(
                        format!("共新增或取消 {total} 项授权。"),
                        format!("{total} authorization(s) made or withdrawn."),
                    ),
                    link: Some(format!("/app-grants/apps/{}", from.id)),
                },
                None,
            )
            .await?;
        }
        let mut targets = Vec::new();
        for (app, granted, skipped, withdraw) in out {
            targets.push(SyncTarget {
                app: AppBrief::of(app),
                granted: self.with_org_names(granted).await?,
                skipped,
                withdrawn: withdraw
                    .into_iter()
                    .map(|g| GrantView::of(ended(g, GrantState::Withdrawn, &actor.name, now), now))
                    .collect::<Result<_, _>>()?,
            });
        }
        let out = SyncOutcome {
            from: AppBrief::of(from),
            targets,
        };
        if let Some(a) = answer {
            a.record_json(&mut tx, &out).await?;
        }
        tx.commit().await.map_err(StoreError::from)?;
        Ok(out)
    }

    /// An app's seals as the caller may see them: its grants (live ones by default; `state` one
    /// state or `all`), under `org` when given; for a UKey app its UKey seals, read only.
    pub async fn app_seals(
        &self,
        actor: &Actor,
        app_id: &str,
        state: Option<&str>,
        org: Option<&str>,
        cursor: Option<&str>,
        limit: Option<i64>,
    ) -> Result<AppSeals, AppError> {
        let p = self.principal(actor).await?;
        let scope = self.grant_scope(&p).await?;
        let app = self
            .store
            .app_brief(app_id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no app with id {app_id}")))?;
        let limit = crate::paging::limit(limit, 100, 500)?;
        let mut orgs = scope.orgs().map(<[String]>::to_vec);
        if let Some(o) = org.filter(|o| !o.is_empty()) {
            let sub = self.store.org_subtrees(&[o.to_string()]).await?;
            if sub.is_empty() {
                return Err(AppError::NotFound(format!("no organisation with id {o}")));
            }
            orgs = Some(match orgs {
                None => sub,
                Some(mine) => sub.into_iter().filter(|s| mine.contains(s)).collect(),
            });
        }
        let app = AppBrief::of(app);
        if app.is_ukey() {
            let ids = self
                .store
                .seal_ids_of(orgs.as_deref(), "", SigningMode::Ukey.name(), limit)
                .await?;
            let mut ukey_seals = Vec::new();
            for id in ids {
                if let Some(s) = self.store.seal_get(&id).await? {
                    ukey_seals.push(self.seal_brief(s).await?);
                }
            }
            return Ok(AppSeals {
                app,
                read_only: true,
                items: Vec::new(),
                ukey_seals,
                next_cursor: None,
            });
        }
        let one;
        let states: Option<&[&str]> = match state.filter(|s| !s.is_empty()) {
            None | Some("live") => Some(&["granted", "effective"]),
            Some("all") => None,
            Some(s) => {
                let st = GrantState::parse(s).ok_or_else(|| {
                    AppError::BadRequest(format!(
                        "state: live (default), all, or one of {}",
                        grants::state_names()
                    ))
                })?;
                one = [st.name()];
                Some(&one)
            }
        };
        let rows = self
            .store
            .grant_find(
                &GrantFilter {
                    app_id: Some(&app.id),
                    orgs: orgs.as_deref(),
                    states,
                    ..Default::default()
                },
                crate::paging::cursor_owned(cursor)?,
                limit,
            )
            .await?;
        let next_cursor = crate::paging::next(&rows, limit, |r| (r.grant.created_at, &r.grant.id));
        let now = crate::store::now();
        let items = rows
            .into_iter()
            .map(|r| GrantView::of(r, now))
            .collect::<Result<_, _>>()?;
        Ok(AppSeals {
            app,
            read_only: false,
            items,
            ukey_seals: Vec::new(),
            next_cursor,
        })
    }

    async fn seal_brief(&self, s: SealRow) -> Result<SealBrief, AppError> {
        let org_name = self
            .store
            .org_get(&s.org_id)
            .await?
            .map(|o| o.name)
            .unwrap_or_default();
        Ok(SealBrief {
            id: s.id,
            name: s.name,
            code: s.code,
            state: s.state,
            mode: s.mode,
            org_id: s.org_id,
            org_name,
            valid_until: s.valid_until,
        })
    }

    /// A seal's apps: every grant on it, and for a UKey seal the UKey apps; for whoever may see
    /// the seal.
    pub async fn seal_apps(&self, actor: &Actor, seal_id: &str) -> Result<SealApps, AppError> {
        let p = self.principal(actor).await?;
        let seal = self
            .store
            .seal_get(seal_id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no seal with id {seal_id}")))?;
        self.may_on_org(&p, Action::ReadSeals, &seal.org_id).await?;
        let rows = self
            .store
            .grant_find(
                &GrantFilter {
                    seal_id: Some(&seal.id),
                    ..Default::default()
                },
                None,
                500,
            )
            .await?;
        let now = crate::store::now();
        let items = rows
            .into_iter()
            .map(|r| GrantView::of(r, now))
            .collect::<Result<_, _>>()?;
        let ukey_apps = if seal.mode == SigningMode::Ukey.name() {
            self.store
                .app_brief_search("", Some(AppKind::Ukey.name()), 200)
                .await?
                .into_iter()
                .filter(|a| a.state == AppState::Active.name())
                .map(AppBrief::of)
                .collect()
        } else {
            Vec::new()
        };
        Ok(SealApps {
            seal: self.seal_brief(seal).await?,
            items,
            ukey_apps,
        })
    }

    /// The apps holding grants on the caller's seals (with how many), and the UKey apps (with the
    /// caller's UKey seals): the manual's 授权应用列表.
    pub async fn granted_apps(&self, actor: &Actor) -> Result<Vec<GrantedApp>, AppError> {
        let p = self.principal(actor).await?;
        let scope = self.grant_scope(&p).await?;
        let mut out: Vec<GrantedApp> = self
            .store
            .apps_with_grants(scope.orgs())
            .await?
            .into_iter()
            .map(|(a, n)| GrantedApp {
                app: AppBrief::of(a),
                seals: n,
            })
            .collect();
        let ukey_seals = i64::try_from(
            self.store
                .seal_ids_of(scope.orgs(), "", SigningMode::Ukey.name(), 10_000)
                .await?
                .len(),
        )
        .unwrap_or(0);
        for a in self
            .store
            .app_brief_search("", Some(AppKind::Ukey.name()), 200)
            .await?
        {
            out.push(GrantedApp {
                app: AppBrief::of(a),
                seals: ukey_seals,
            });
        }
        Ok(out)
    }

    /// Apps to choose from (step 1 of authorizing a new app): by the app's name or its
    /// supervising or developer unit's name, at most 50.
    pub async fn grant_app_search(
        &self,
        actor: &Actor,
        q: Option<&str>,
    ) -> Result<Vec<AppBrief>, AppError> {
        let p = self.principal(actor).await?;
        self.grant_scope(&p).await?;
        let key = q.map(crate::accounts::orgs::fold_name).unwrap_or_default();
        Ok(self
            .store
            .app_brief_search(&key, None, 50)
            .await?
            .into_iter()
            .map(AppBrief::of)
            .collect())
    }

    /// The organisations of the caller's grant scope as a tree (depth, id, name), roots first,
    /// each followed by its descendants; at most 500.
    pub async fn grant_org_tree(
        &self,
        actor: &Actor,
    ) -> Result<Vec<(usize, String, String)>, AppError> {
        let p = self.principal(actor).await?;
        let Scope::Orgs(ids) = self.grant_scope(&p).await? else {
            return Ok(Vec::new());
        };
        let mut rows = BTreeMap::new();
        for id in ids.iter().take(500) {
            if let Some(o) = self.store.org_get(id).await? {
                rows.insert(o.id.clone(), o);
            }
        }
        let mut children: BTreeMap<Option<String>, Vec<(String, String)>> = BTreeMap::new();
        for o in rows.values() {
            let parent = o.parent_id.clone().filter(|p| rows.contains_key(p));
            children
                .entry(parent)
                .or_default()
                .push((o.name.clone(), o.id.clone()));
        }
        for v in children.values_mut() {
            v.sort();
        }
        let mut out = Vec::new();
        let mut stack: Vec<(usize, String, String)> = children
            .get(&None)
            .map(|v| {
                v.iter()
                    .rev()
                    .map(|(n, i)| (0, i.clone(), n.clone()))
                    .collect()
            })
            .unwrap_or_default();
        while let Some((d, id, name)) = stack.pop() {
            if let Some(kids) = children.get(&Some(id.clone())) {
                for (n, i) in kids.iter().rev() {
                    stack.push((d + 1, i.clone(), n.clone()));
                }
            }
            out.push((d, id, name));
        }
        Ok(out)
    }

    /// The seals of `org` (and below) the caller authorizes for, to choose from in step 2; with
    /// the ids of those `app_id` holds already.
    pub async fn grant_seal_choices(
        &self,
        actor: &Actor,
        app_id: &str,
        org: Option<&str>,
    ) -> Result<(Vec<SealBrief>, BTreeSet<String>), AppError> {
        let p = self.principal(actor).await?;
        let orgs = match (org.filter(|o| !o.is_empty()), self.grant_scope(&p).await?) {
            (Some(o), _) => {
                self.may_on_org(&p, Action::AuthorizeApps, o).await?;
                self.store.org_subtrees(&[o.to_string()]).await?
            }
            (None, Scope::Orgs(o)) => o,
            (None, Scope::All) => Vec::new(),
        };
        let ids = self
            .store
            .seal_ids_of(
                Some(orgs.as_slice()),
                "",
                "",
                i64::try_from(MAX_SEALS).unwrap_or(500),
            )
            .await?;
        let mut out = Vec::new();
        for id in &ids {
            if let Some(s) = self.store.seal_get(id).await? {
                out.push(self.seal_brief(s).await?);
            }
        }
        let held = self
            .store
            .grants_live_on(app_id, &ids)
            .await?
            .into_iter()
            .map(|g| g.grant.seal_id)
            .collect();
        Ok((out, held))
    }

    /// One grant, for whoever may see its seal.
    pub async fn app_grant(&self, actor: &Actor, id: &str) -> Result<GrantView, AppError> {
        let p = self.principal(actor).await?;
        let g = self
            .store
            .grant_get(id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no grant with id {id}")))?;
        self.may_on_org(&p, Action::ReadSeals, &g.org_id).await?;
        GrantView::of(g, crate::store::now())
    }

    /// A grant's signed credential (COSE_Sign1 bytes), for whoever may see its seal.
    pub async fn app_grant_credential(
        &self,
        actor: &Actor,
        id: &str,
    ) -> Result<(GrantView, Vec<u8>), AppError> {
        let v = self.app_grant(actor, id).await?;
        let cose = self
            .store
            .grant_credential(id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no grant with id {id}")))?;
        Ok((v, cose))
    }

    /// Verify an app-authorization credential against the service CA's certificates (every
    /// generation) now, and look up its revocation entry: anyone may ask.
    pub fn grant_verify_report(&self, cose: &[u8]) -> sealpki_pki::credential::Report {
        use sealpki_pki::der::Decode;
        let anchors: Vec<_> = self
            .ca_keys()
            .into_iter()
            .filter(|k| k.name() == "service")
            .filter_map(|k| sealpki_pki::x509_cert::Certificate::from_der(k.issuer.der()).ok())
            .collect();
        sealpki_pki::credential::verify(
            cose,
            &anchors,
            std::time::SystemTime::now(),
            &sealpki_pki::credential::VerifyOptions::expect(
                sealpki_pki::credential::Kind::AppAuthorization,
            ),
        )
    }

    /// [`Self::grant_verify_report`] with the platform's records: the revocation entry and the
    /// grant.
    pub async fn grant_verify(&self, cose: &[u8]) -> Result<GrantVerification, AppError> {
        let report = self.grant_verify_report(cose);
        let mut reasons = report.reasons.clone();
        let valid = report.is_valid();
        let json = serde_json::to_value(&report)
            .map_err(|e| AppError::Internal(format!("report: {e}")))?;
        let (mut revoked_at, mut revocation_reason, mut grant) = (None, None, None);
        if let Some(claims) = &report.claims {
            let cti = hex::encode(&claims.cti);
            if let Some((at, why)) = self.store.credential_revocation(&cti).await? {
                reasons.push(format!("revocation: withdrawn at {at} ({why})"));
                revoked_at = Some(at);
                revocation_reason = Some(why);
            }
            if let Some(g) = self.store.grant_by_cti(&cti).await? {
                grant = Some(GrantView::of(g, crate::store::now())?);
            }
        }
        Ok(GrantVerification {
            verdict: if valid && revoked_at.is_none() {
                "valid"
            } else {
                "invalid"
            },
            reasons,
            report: json,
            revoked_at,
            revocation_reason,
            grant,
        })
    }

    /// An app's events (grants granted, effective, expiring, expired, withdrawn), oldest first:
    /// for its owner and platform staff.
    pub async fn app_events(
        &self,
        actor: &Actor,
        app_id: &str,
        cursor: Option<&str>,
        limit: Option<i64>,
    ) -> Result<AppEventPage, AppError> {
        let app = self
            .store
            .app_brief(app_id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no app with id {app_id}")))?;
        if actor.role == crate::store::Role::Person && actor.name != app.owner {
            return Err(AppError::Denied(format!(
                "{} needs permission apps.events.read (the app's owner or platform staff) for \
                 app {app_id}",
                actor.name
            )));
        }
        let limit = crate::paging::limit(limit, 100, 500)?;
        let rows = self
            .store
            .app_events(app_id, crate::paging::cursor_owned(cursor)?, limit)
            .await?;
        let next_cursor = crate::paging::next(&rows, limit, |r| (r.created_at, &r.id));
        Ok(AppEventPage {
            items: rows
                .into_iter()
                .map(|r| AppEventView {
                    payload: serde_json::from_str(&r.payload).unwrap_or_default(),
                    id: r.id,
                    kind: r.kind,
                    grant_id: r.grant_id,
                    seal_id: r.seal_id,
                    created_at: r.created_at,
                })
                .collect(),
            next_cursor,
        })
    }

    /// Whether app `app_id` may seal with seal `seal_id` now — asked by the signing API on every
    /// sealing. Reads the seal's current state (a lost, revoked or expired seal stops every app
    /// at once; restored, it works again), the app's, and the grant's, and refuses with a precise
    /// reason (HTTP 403 `grant-refused`).
    pub async fn app_grant_in_force(
        &self,
        app_id: &str,
        seal_id: &str,
    ) -> Result<GrantInForce, AppError> {
        let now = crate::store::now();
        let r = self
            .store
            .grant_in_force(app_id, seal_id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no seal {seal_id} or app {app_id}")))?;
        match AppState::parse(&r.app_state) {
            Some(AppState::Active) => {}
            Some(AppState::Suspended) => {
                return Err(refusal(
                    "app-suspended",
                    format!("app {app_id} is suspended: it may not seal"),
                ))
            }
            _ => {
                return Err(refusal(
                    "app-revoked",
                    format!("app {app_id} is revoked: it may not seal"),
                ))
            }
        }
        if r.app_kind == AppKind::Ukey.name() {
            return Err(refusal(
                "ukey-app",
                format!(
                    "app {app_id} is a UKey app: its seals sign on the holder's token, not through \
                     the platform"
                ),
            ));
        }
        if r.seal_mode == SigningMode::Ukey.name() {
            return Err(refusal(
                "ukey-seal",
                format!(
                    "seal {} is a UKey seal: it signs on the holder's token, not through apps",
                    r.seal_code
                ),
            ));
        }
        let seal_state = SealState::parse(&r.seal_state).ok_or_else(|| {
            StoreError::Corrupt(format!("seal {seal_id} state {:?}", r.seal_state))
        })?;
        if seal_state != SealState::Active {
            return Err(refusal(
                seal_reason(seal_state),
                format!(
                    "seal {} is {}: no app may seal with it{}",
                    r.seal_code,
                    seal_state.name(),
                    if seal_state == SealState::Lost {
                        " until it is restored"
                    } else {
                        ""
                    }
                ),
            ));
        }
        if r.seal_valid_until <= now {
            return Err(refusal(
                "seal-expired",
                format!(
                    "seal {} is past its validity: no app may seal with it",
                    r.seal_code
                ),
            ));
        }
        let Some(g) = r.grant else {
            return Err(refusal(
                "no-grant",
                format!(
                    "app {app_id} is not authorized for seal {}: a seal administrator of its \
                     organisation authorizes apps",
                    r.seal_code
                ),
            ));
        };
        let stored = GrantState::parse(&g.state)
            .ok_or_else(|| StoreError::Corrupt(format!("grant {} state {:?}", g.id, g.state)))?;
        match stored.at(now, g.valid_from, g.valid_until) {
            GrantState::Effective => {}
            GrantState::Granted => {
                return Err(refusal(
                    "grant-not-yet-effective",
                    format!(
                        "app {app_id}'s authorization for seal {} takes effect at {}",
                        r.seal_code,
                        crate::clock::format_time(&g.valid_from)
                    ),
                ))
            }
            GrantState::Withdrawn => {
                return Err(refusal(
                    "grant-withdrawn",
                    format!(
                        "app {app_id}'s authorization for seal {} was withdrawn{}",
                        r.seal_code,
                        g.ended_at
                            .map(|t| format!(" at {}", crate::clock::format_time(&t)))
                            .unwrap_or_default()
                    ),
                ))
            }
            GrantState::Expired => {
                return Err(refusal(
                    "grant-expired",
                    format!(
                        "app {app_id}'s authorization for seal {} expired at {}",
                        r.seal_code,
                        crate::clock::format_time(&g.valid_until)
                    ),
                ))
            }
        }
        if let Some(n) = g.use_limit {
            if g.uses >= n {
                return Err(refusal(
                    "use-limit-reached",
                    format!(
                        "app {app_id}'s authorization for seal {} is used up ({} of {n} uses)",
                        r.seal_code, g.uses
                    ),
                ));
            }
        }
        Ok(GrantInForce {
            grant_id: g.id,
            app_id: g.app_id,
            seal_id: g.seal_id,
            seal_code: r.seal_code,
            uses: g.uses,
            use_limit: g.use_limit,
            valid_until: g.valid_until,
            credential_id: g.cti,
        })
    }

    /// Count one sealing against grant `g` in the caller's transaction (with the sealing's own
    /// records): atomically, never past the use limit; the uses after it.
    pub async fn count_grant_use_in(
        &self,
        tx: &mut Tx<'_>,
        g: &GrantInForce,
    ) -> Result<i64, AppError> {
        match Store::grant_count_use(tx, &g.grant_id, crate::store::now()).await? {
            Some(n) => Ok(n),
            None => Err(refusal(
                "use-limit-reached",
                format!(
                    "app {}'s authorization for seal {} is used up or no longer in force",
                    g.app_id, g.seal_code
                ),
            )),
        }
    }

    /// [`Self::count_grant_use_in`] in a transaction of its own; a refusal names the reason the
    /// grant no longer counts.
    pub async fn count_grant_use(&self, g: &GrantInForce) -> Result<i64, AppError> {
        let mut tx = self.store.begin().await?;
        match self.count_grant_use_in(&mut tx, g).await {
            Ok(n) => {
                tx.commit().await.map_err(StoreError::from)?;
                Ok(n)
            }
            Err(e) => {
                drop(tx);
                // Say precisely why (withdrawn meanwhile, expired), else the limit.
                self.app_grant_in_force(&g.app_id, &g.seal_id).await?;
                Err(e)
            }
        }
    }

    /// Make grants effective and expired as of `now`, and send the 15 / 7 / 1-day reminders;
    /// each event once (deduplicated), on any number of instances.
    pub async fn app_grant_sweep(&self, now: i64) -> Result<GrantSweep, AppError> {
        let mut out = GrantSweep::default();
        let horizon = now.saturating_add(grants::REMINDER_DAYS[0] * 86_400);
        for g in self.store.grants_due(now, horizon, SWEEP_BATCH).await? {
            let state = GrantState::parse(&g.grant.state).ok_or_else(|| {
                StoreError::Corrupt(format!("grant {} state {:?}", g.grant.id, g.grant.state))
            })?;
            let mut tx = self.store.begin().await?;
            let link = Some(format!("/app-grants/apps/{}", g.grant.app_id));
            if g.grant.valid_until <= now {
                if let Err(e) = self
                    .grant_end(&mut tx, "system", &g, GrantEvent::Expire, None, now)
                    .await
                {
                    if matches!(e, AppError::StateConflict { .. }) {
                        continue;
                    }
                    return Err(e);
                }
                self.tell_admin(
                    &mut tx,
                    &g.grant.granted_by,
                    &crate::notify::Message {
                        kind: "app-grant.expired".into(),
                        title: crate::notify::Text::new(
                            format!("应用「{}」的印章授权已到期", g.app_name),
                            format!("App \"{}\": a seal authorization expired", g.app_name),
                        ),
                        body: crate::notify::Text::new(
                            format!(
                                "应用「{}」对印章「{}」（{}）的授权已到期，不能再签章。",
                                g.app_name, g.seal_name, g.seal_code
                            ),
                            format!(
                                "The app \"{}\" may no longer seal with \"{}\" ({}): its authorization expired.",
                                g.app_name, g.seal_name, g.seal_code
                            ),
                        ),
                        link,
                    },
                    Some(&format!("grant-expired:{}", g.grant.id)),
                )
                .await?;
                out.expired += 1;
            } else {
                if state == GrantState::Granted && g.grant.valid_from <= now {
                    if !Store::grant_set_state(
                        &mut tx,
                        &g.grant.id,
                        g.grant.version,
                        GrantState::Effective.name(),
                        None,
                        now,
                    )
                    .await?
                    {
                        continue;
                    }
                    self.audit
                        .append(
                            &mut tx,
                            "system",
                            "app-grant.take-effect",
                            json!({"grant": g.grant.id, "app": g.grant.app_id,
                                   "seal": g.grant.seal_id, "code": g.seal_code}),
                        )
                        .await?;
                    if self.grant_event(&mut tx, &g, GrantNews::Effective).await? {
                        self.tell_admin(
                            &mut tx,
                            &g.grant.granted_by,
                            &crate::notify::Message {
                                kind: "app-grant.effective".into(),
                                title: crate::notify::Text::new(
                                    format!("应用「{}」的印章授权已生效", g.app_name),
                                    format!(
                                        "App \"{}\": a seal authorization took effect",
                                        g.app_name
                                    ),
                                ),
                                body: crate::notify::Text::new(
                                    format!(
                                        "应用「{}」现可使用印章「{}」（{}）签章。",
                                        g.app_name, g.seal_name, g.seal_code
                                    ),
                                    format!(
                                        "The app \"{}\" may now seal with \"{}\" ({}).",
                                        g.app_name, g.seal_name, g.seal_code
                                    ),
                                ),
                                link: link.clone(),
                            },
                            Some(&format!("grant-effective:{}", g.grant.id)),
                        )
                        .await?;
                    }
                    out.effective += 1;
                }
                if let Some(days) = grants::reminder(now, g.grant.valid_until) {
                    if self
                        .grant_event(&mut tx, &g, GrantNews::Expiring(days))
                        .await?
                    {
                        self.tell_admin(
                            &mut tx,
                            &g.grant.granted_by,
                            &crate::notify::Message {
                                kind: "app-grant.expiring".into(),
                                title: crate::notify::Text::new(
                                    format!("应用「{}」的印章授权将在 {days} 天内到期", g.app_name),
                                    format!(
                                        "App \"{}\": a seal authorization expires within {days} day(s)",
                                        g.app_name
                                    ),
                                ),
                                body: crate::notify::Text::new(
                                    format!(
                                        "应用「{}」对印章「{}」（{}）的授权将于 {} 到期。",
                                        g.app_name,
                                        g.seal_name,
                                        g.seal_code,
                                        crate::clock::format_time(&g.grant.valid_until)
                                    ),
                                    format!(
                                        "The authorization of \"{}\" for \"{}\" ({}) ends at {}.",
                                        g.app_name,
                                        g.seal_name,
                                        g.seal_code,
                                        crate::clock::format_time(&g.grant.valid_until)
                                    ),
                                ),
                                link,
                            },
                            Some(&format!("grant-expiring:{}:{days}", g.grant.id)),
                        )
                        .await?;
                        out.reminders += 1;
                    }
                }
            }
            tx.commit().await.map_err(StoreError::from)?;
        }
        Ok(out)
    }
}

/// `g` as `grant_end` left it (ended by `by` at `now`, one version on).
fn ended(mut g: GrantListRow, to: GrantState, by: &str, now: i64) -> GrantListRow {
    g.grant.state = to.name().into();
    g.grant.version += 1;
    g.grant.updated_at = now;
    g.grant.ended_at = Some(now);
    g.grant.ended_by = Some(by.to_string());
    g
}

/// The events a grant's state allows.
fn allowed(s: GrantState) -> Vec<&'static str> {
    GrantEvent::ALL
        .iter()
        .filter(|e| s.on(**e).is_some())
        .map(|e| e.name())
        .collect()
}

fn grant_out_of_order(g: &GrantListRow, s: GrantState, e: GrantEvent) -> AppError {
    AppError::StateConflict {
        reason: "out-of-order",
        message: format!(
            "grant {} of app {} for seal {} ({}) is {}: it cannot be {}; nothing was changed",
            g.grant.id,
            g.app_name,
            g.seal_name,
            g.seal_code,
            s.name(),
            match e {
                GrantEvent::Withdraw => "withdrawn",
                GrantEvent::Expire => "expired",
                GrantEvent::TakeEffect => "made effective",
            }
        ),
        state: s.name(),
        version: g.grant.version,
        allowed_events: allowed(s),
    }
}
