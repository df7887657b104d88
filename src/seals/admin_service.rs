//! What the front ends call for seal-administrator applications and organisation updates: each
//! call asks `accounts::policy` about the organisation concerned, then writes through the
//! workflow runner in the transaction that grants the role or changes the organisation row, with
//! the audit entry and the in-app notification.

use serde_json::json;

use super::admin_application::{self as admin, Event, SealAdminApplication};
use super::org_update::{self, OrgUpdate};
use super::service::{page_limit, AppScope};
use crate::access::Actor;
use crate::accounts::orgs::{fold_name, MemberRole};
use crate::accounts::policy::{may, Action, Allowed, Principal, Resource};
use crate::app::App;
use crate::error::AppError;
use crate::store::{MembershipRow, Role, Store, StoreError, WorkflowRow};
use crate::workflow::{
    EventRequest, Gate, HistoryPage, Kind, ListPage, Named, NewRecord, View, Workflow,
};

pub const ADMIN_KIND: &str = SealAdminApplication::NAME;
pub const UPDATE_KIND: &str = OrgUpdate::NAME;

/// The two kinds this service owns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdminKind {
    SealAdmin,
    OrgUpdate,
}

impl AdminKind {
    pub fn name(self) -> &'static str {
        match self {
            AdminKind::SealAdmin => ADMIN_KIND,
            AdminKind::OrgUpdate => UPDATE_KIND,
        }
    }

    /// Where the console shows these records.
    pub fn pages(self) -> &'static str {
        match self {
            AdminKind::SealAdmin => "seal-admin-applications",
            AdminKind::OrgUpdate => "org-updates",
        }
    }

    fn decide(self) -> Action {
        match self {
            AdminKind::SealAdmin => Action::DecideSealAdmin,
            AdminKind::OrgUpdate => Action::DecideOrgUpdate,
        }
    }
}

fn stored_json(row: &WorkflowRow) -> Result<serde_json::Value, AppError> {
    serde_json::from_str(&row.data)
        .map_err(|e| StoreError::Corrupt(format!("{} {} data: {e}", row.kind, row.id)).into())
}

fn parse_event(kind: AdminKind, e: &str) -> Result<Event, AppError> {
    Event::parse(e).ok_or_else(|| {
        AppError::BadRequest(format!(
            "{} has no event {e:?} (events: {})",
            kind.name(),
            Event::ALL
                .iter()
                .map(|e| e.name())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })
}

impl App {
    /// The signed form or licence: uploaded by the caller (or readable by them) as an
    /// application scan or an attachment.
    async fn admin_file(&self, actor: &Actor, field: &str, id: &str) -> Result<(), AppError> {
        let f = self.file_get(actor, id).await?;
        use crate::files::FilePurpose as P;
        if !matches!(f.purpose, P::ApplicationScan | P::Attachment) {
            return Err(AppError::BadRequest(format!(
                "{field}: file {id} was uploaded as {}, not as application-scan or attachment",
                f.purpose.name()
            )));
        }
        Ok(())
    }

    /// Who may send an applying-side event (or create): the applicant for themselves (a member),
    /// or a seal administrator naming someone else.
    async fn seal_admin_applying(
        &self,
        p: &Principal,
        d: &admin::Data,
        applicant: &str,
    ) -> Result<Allowed, AppError> {
        let action = if applicant == p.actor.name {
            Action::ApplySealAdmin
        } else {
            Action::NominateSealAdmin
        };
        self.may_on_org(p, action, &d.org_id).await
    }

    /// Apply to become (or name someone to become) a seal administrator of an organisation.
    pub async fn seal_admin_apply(
        &self,
        actor: &Actor,
        body: &serde_json::Value,
        answer: Option<&crate::workflow::Answer<'_>>,
    ) -> Result<View, AppError> {
        let mut d = admin::Data::check(body)?;
        let p = self.principal(actor).await?;
        let org = self.org(&d.org_id).await?;
        let applicant = d.applicant.clone().unwrap_or_else(|| actor.name.clone());
        let allowed = self.seal_admin_applying(&p, &d, &applicant).await?;
        if !MemberRole::SealAdmin.fits(org.kind) {
            return Err(AppError::Invalid {
                field: "org_id",
                rule: format!(
                    "an organisation of kind {} has no seal administrators",
                    org.kind.as_str()
                ),
            });
        }
        if self.store.account_get(&applicant).await?.is_none() {
            return Err(AppError::Invalid {
                field: "applicant",
                rule: format!("no account {applicant:?}"),
            });
        }
        if self.holds_seal_admin(&org.id, &applicant).await? {
            return Err(AppError::Conflict(format!(
                "{applicant} is already a seal administrator of organisation {}",
                org.id
            )));
        }
        self.admin_file(actor, "form_file", &d.form_file).await?;
        d.applicant = Some(applicant);
        let data = serde_json::to_value(&d).map_err(|e| AppError::Internal(e.to_string()))?;
        let mut tx = self.store.begin().await?;
        let v = Workflow::create_in(
            &mut tx,
            self,
            Gate::Scoped(actor, allowed),
            ADMIN_KIND,
            NewRecord {
                data: &data,
                comment: None,
                org_id: Some(org.id.clone()),
                // The superior authority decides: the review queue of its subtree finds it.
                authority_id: org.parent_id.clone(),
            },
        )
        .await?;
        if let Some(a) = answer {
            a.record(&mut tx, &v).await?;
        }
        tx.commit().await.map_err(StoreError::from)?;
        Ok(v)
    }

    async fn holds_seal_admin(&self, org: &str, username: &str) -> Result<bool, AppError> {
        Ok(self
            .store
            .memberships_of_org(org)
            .await?
            .iter()
            .any(|m| m.username == username && m.role == MemberRole::SealAdmin.as_str()))
    }

    /// A new parent must exist and lie outside the organisation's own subtree (else a cycle).
    async fn check_new_parent(&self, org_id: &str, parent: &str) -> Result<(), AppError> {
        if self.store.org_get(parent).await?.is_none() {
            return Err(AppError::Invalid {
                field: "parent_id",
                rule: format!("no organisation {parent:?}"),
            });
        }
        if self
            .store
            .org_subtrees(&[org_id.to_string()])
            .await?
            .iter()
            .any(|o| o == parent)
        {
            return Err(AppError::Invalid {
                field: "parent_id",
                rule: format!(
                    "organisation {parent} lies inside the subtree of {org_id}: it cannot become \
                     its parent (the tree would have a cycle)"
                ),
            });
        }
        Ok(())
    }

    /// Apply to change an organisation's credit code, name or parent.
    pub async fn org_update_apply(
        &self,
        actor: &Actor,
        body: &serde_json::Value,
        answer: Option<&crate::workflow::Answer<'_>>,
    ) -> Result<View, AppError> {
        let d = org_update::Data::check(body)?;
        let p = self.principal(actor).await?;
        let org = self.org(&d.org_id).await?;
        let allowed = self.may_on_org(&p, Action::ApplyOrgUpdate, &org.id).await?;
        if let Some(parent) = &d.parent_id {
            self.check_new_parent(&org.id, parent).await?;
        }
        self.admin_file(actor, "licence_file", &d.licence_file)
            .await?;
        let mut tx = self.store.begin().await?;
        let v = Workflow::create_in(
            &mut tx,
            self,
            Gate::Scoped(actor, allowed),
            UPDATE_KIND,
            NewRecord {
                data: body,
                comment: None,
                org_id: Some(org.id.clone()),
                authority_id: None,
            },
        )
        .await?;
        if let Some(a) = answer {
            a.record(&mut tx, &v).await?;
        }
        tx.commit().await.map_err(StoreError::from)?;
        Ok(v)
    }

    async fn admin_row(&self, kind: AdminKind, id: &str) -> Result<WorkflowRow, AppError> {
        match self.store.workflow_get(id).await? {
            Some(r) if r.kind == kind.name() => Ok(r),
            _ => Err(AppError::NotFound(format!(
                "no {} with id {id}",
                kind.name()
            ))),
        }
    }

    /// Whether `p` may read the record: readers of the organisation's members, those who
    /// decide it, and whoever applied or is named as the applicant.
    async fn admin_readable(
        &self,
        p: &Principal,
        kind: AdminKind,
        row: &WorkflowRow,
    ) -> Result<Allowed, AppError> {
        let org = row.org_id.clone().unwrap_or_default();
        let refused = match self.may_on_org(p, Action::ReadMembers, &org).await {
            Ok(a) => return Ok(a),
            Err(e) => e,
        };
        if let Ok(a) = self.may_on_org(p, kind.decide(), &org).await {
            return Ok(a);
        }
        let named = stored_json(row)?["applicant"].as_str() == Some(p.actor.name.as_str());
        if row.created_by == p.actor.name || named {
            // Their own application: anyone logged in reads what they asked for.
            return may(p, Action::ReadOrgs, Resource::Platform);
        }
        Err(refused)
    }

    /// One record as the caller may see it.
    pub async fn admin_record(
        &self,
        actor: &Actor,
        kind: AdminKind,
        id: &str,
    ) -> Result<View, AppError> {
        let p = self.principal(actor).await?;
        let row = self.admin_row(kind, id).await?;
        self.admin_readable(&p, kind, &row).await?;
        Workflow::view_of(row, actor)
    }

    /// The file a record carries (the signed form, the licence), for whoever may read the
    /// record: the deciders must see it, though `files::may_read` lets only its uploader (and
    /// administrators and auditors) download an upload by id.
    pub async fn admin_record_file(
        &self,
        actor: &Actor,
        kind: AdminKind,
        id: &str,
    ) -> Result<(crate::store::FileRow, axum::body::Bytes), AppError> {
        let p = self.principal(actor).await?;
        let row = self.admin_row(kind, id).await?;
        self.admin_readable(&p, kind, &row).await?;
        let field = match kind {
            AdminKind::SealAdmin => "form_file",
            AdminKind::OrgUpdate => "licence_file",
        };
        let file_id = stored_json(&row)?[field]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| StoreError::Corrupt(format!("{} {id}: no {field}", row.kind)))?;
        let f = self
            .store
            .file_get(&file_id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no file {file_id:?}")))?;
        let key = crate::files::ObjectKey::parse(&f.sha256).ok_or_else(|| {
            AppError::Internal(format!("file {file_id}: stored sha256 is not a key"))
        })?;
        let data = self
            .objects
            .get(key)
            .await
            .map_err(|e| AppError::Internal(format!("file {file_id}: {e}")))?
            .ok_or_else(|| {
                AppError::Internal(format!("file {file_id}: object {key} is missing"))
            })?;
        Ok((f, data))
    }

    /// A record's history, oldest first.
    pub async fn admin_history(
        &self,
        actor: &Actor,
        kind: AdminKind,
        id: &str,
        cursor_s: Option<&str>,
        limit: Option<i64>,
    ) -> Result<HistoryPage, AppError> {
        let p = self.principal(actor).await?;
        let row = self.admin_row(kind, id).await?;
        let allowed = self.admin_readable(&p, kind, &row).await?;
        Workflow::history_of(self, allowed, kind.name(), id, cursor_s, limit).await
    }

    /// Records of `kind` in `scope`, oldest first (keyset pages). The review queue of a person
    /// holds the seal-administrator applications of organisations below those they review or
    /// administer; platform staff see all (organisation updates are theirs alone).
    pub async fn admin_records(
        &self,
        actor: &Actor,
        kind: AdminKind,
        scope: AppScope<'_>,
        state: Option<&str>,
        cursor_s: Option<&str>,
        limit: Option<i64>,
    ) -> Result<ListPage, AppError> {
        let p = self.principal(actor).await?;
        let limit = page_limit(limit)?;
        if let Some(s) = state.filter(|s| !s.is_empty()) {
            admin::State::parse(s).ok_or_else(|| {
                AppError::BadRequest(format!(
                    "state: one of {}",
                    admin::State::ALL
                        .iter()
                        .map(|s| s.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?;
        }
        let orgs;
        let authorities;
        let mut f = crate::store::WorkflowFilter {
            state: state.filter(|s| !s.is_empty()),
            ..Default::default()
        };
        match scope {
            AppScope::Mine => f.created_by = Some(&actor.name),
            AppScope::Org(o) => {
                self.may_on_org(&p, Action::ReadMembers, o).await?;
                orgs = vec![o.to_string()];
                f.orgs = Some(&orgs);
            }
            AppScope::Review if matches!(actor.role, Role::Admin | Role::Operator) => {}
            AppScope::Review if kind == AdminKind::OrgUpdate => {
                return Ok(ListPage {
                    items: Vec::new(),
                    next_cursor: None,
                })
            }
            AppScope::Review => {
                let roots: Vec<String> = p
                    .memberships
                    .iter()
                    .filter(|m| matches!(m.role, MemberRole::Reviewer | MemberRole::SealAdmin))
                    .map(|m| m.org_id.clone())
                    .collect();
                authorities = self.store.org_subtrees(&roots).await?;
                f.authorities = Some(&authorities);
            }
        }
        let rows = self
            .store
            .workflow_find(
                kind.name(),
                &f,
                crate::paging::cursor_owned(cursor_s)?,
                limit,
            )
            .await?;
        let next_cursor = crate::paging::next(&rows, limit, |r| (r.created_at, &r.id));
        let items = rows
            .into_iter()
            .map(|r| Workflow::view_of(r, actor))
            .collect::<Result<_, _>>()?;
        Ok(ListPage { items, next_cursor })
    }

    /// Send an event to a seal-administrator application; approval grants the role.
    pub async fn seal_admin_event(
        &self,
        actor: &Actor,
        id: &str,
        req: &EventRequest<'_>,
        edit: Option<&serde_json::Value>,
    ) -> Result<View, AppError> {
        let event = parse_event(AdminKind::SealAdmin, req.event)?;
        let p = self.principal(actor).await?;
        let row = self.admin_row(AdminKind::SealAdmin, id).await?;
        let d = admin::Data::check(&stored_json(&row)?)?;
        let applicant = d.applicant().to_string();
        let allowed = if event.decides() {
            let a = self
                .may_on_org(&p, Action::DecideSealAdmin, &d.org_id)
                .await?;
            if applicant == actor.name {
                return Err(AppError::Denied(format!(
                    "{} needs permission {} for someone else's application: nobody decides \
                     their own",
                    actor.name,
                    Action::DecideSealAdmin.name()
                )));
            }
            a
        } else {
            self.seal_admin_applying(&p, &d, &applicant).await?
        };
        let mut step =
            Workflow::step(self, Gate::Scoped(actor, allowed), ADMIN_KIND, id, req).await?;
        match edit {
            Some(e) if event == Event::Resubmit => {
                let mut new = admin::Data::check(e)?;
                let same_applicant = new.applicant.as_deref().is_none_or(|a| a == applicant);
                if new.org_id != d.org_id || !same_applicant {
                    return Err(AppError::BadRequest(
                        "a resubmitted application keeps its organisation and applicant \
                         (withdraw it and apply again to change them)"
                            .into(),
                    ));
                }
                if new.form_file != d.form_file {
                    self.admin_file(actor, "form_file", &new.form_file).await?;
                }
                new.applicant = Some(applicant.clone());
                let v =
                    serde_json::to_value(&new).map_err(|e| AppError::Internal(e.to_string()))?;
                step = step.with_data(self, &v)?;
            }
            Some(_) => {
                return Err(AppError::BadRequest(
                    "only resubmit takes edited application data".into(),
                ))
            }
            None => {}
        }
        let org = self.org(&d.org_id).await?;
        let mut tx = self.store.begin().await?;
        if event == Event::Approve {
            let m = MembershipRow {
                org_id: d.org_id.clone(),
                username: applicant.clone(),
                role: MemberRole::SealAdmin.as_str().to_string(),
                created_by: actor.name.clone(),
                created_at: crate::store::now(),
            };
            Store::membership_insert(&mut tx, &m)
                .await
                .map_err(|e| match e {
                    StoreError::Conflict(_) => AppError::Conflict(format!(
                        "{applicant} is already a seal administrator of organisation {}",
                        d.org_id
                    )),
                    other => other.into(),
                })?;
            self.audit
                .append(
                    &mut tx,
                    &actor.name,
                    "membership.add",
                    json!({"org": d.org_id, "username": applicant, "role": m.role,
                           "application": id}),
                )
                .await?;
        }
        let v = step.write(self, &mut tx).await?;
        let what = (
            format!("「{}」印章管理员申请", org.name),
            format!("seal administrator application for \"{}\"", org.name),
        );
        let mut to = vec![row.created_by.clone()];
        if applicant != row.created_by {
            to.push(applicant);
        }
        for u in &to {
            self.notify_admin_decision(&mut tx, u, &v, &what, AdminKind::SealAdmin.pages())
                .await?;
        }
        tx.commit().await.map_err(StoreError::from)?;
        Ok(v)
    }

    /// Send an event to an organisation update; approval changes the organisation row.
    pub async fn org_update_event(
        &self,
        actor: &Actor,
        id: &str,
        req: &EventRequest<'_>,
        edit: Option<&serde_json::Value>,
    ) -> Result<View, AppError> {
        let event = parse_event(AdminKind::OrgUpdate, req.event)?;
        let p = self.principal(actor).await?;
        let row = self.admin_row(AdminKind::OrgUpdate, id).await?;
        let mut d = org_update::Data::check(&stored_json(&row)?)?;
        let action = if event.decides() {
            Action::DecideOrgUpdate
        } else {
            Action::ApplyOrgUpdate
        };
        let allowed = self.may_on_org(&p, action, &d.org_id).await?;
        let mut step =
            Workflow::step(self, Gate::Scoped(actor, allowed), UPDATE_KIND, id, req).await?;
        match edit {
            Some(e) if event == Event::Resubmit => {
                let new = org_update::Data::check(e)?;
                if new.org_id != d.org_id {
                    return Err(AppError::BadRequest(
                        "a resubmitted update keeps its organisation".into(),
                    ));
                }
                if let Some(parent) = &new.parent_id {
                    self.check_new_parent(&new.org_id, parent).await?;
                }
                if new.licence_file != d.licence_file {
                    self.admin_file(actor, "licence_file", &new.licence_file)
                        .await?;
                }
                step = step.with_data(self, e)?;
                d = new;
            }
            Some(_) => {
                return Err(AppError::BadRequest(
                    "only resubmit takes edited update data".into(),
                ))
            }
            None => {}
        }
        let before =
            self.store.org_get(&d.org_id).await?.ok_or_else(|| {
                StoreError::Corrupt(format!("{UPDATE_KIND} {id}: organisation gone"))
            })?;
        if event == Event::Approve {
            if let Some(parent) = &d.parent_id {
                // The tree may have changed since the application: checked again, a 409 now.
                self.check_new_parent(&d.org_id, parent)
                    .await
                    .map_err(|e| AppError::Conflict(e.to_string()))?;
            }
        }
        let mut tx = self.store.begin().await?;
        if event == Event::Approve {
            let code = d.credit_code.clone().unwrap_or(before.credit_code.clone());
            let name = d.name.clone().unwrap_or(before.name.clone());
            let parent = d.parent_id.clone().or(before.parent_id.clone());
            let key = fold_name(&name);
            Store::org_update_tx(&mut tx, &d.org_id, &code, &name, &key, parent.as_deref())
                .await
                .map_err(|e| match e {
                    StoreError::Conflict(c) if c.contains("credit_code") => AppError::Conflict(
                        format!("another organisation has credit code {code}: nothing changed"),
                    ),
                    StoreError::Conflict(c) if c.contains("name_key") => {
                        AppError::Conflict(format!(
                            "another organisation is named {name:?} (names are compared without \
                             spaces and full-width forms): nothing changed"
                        ))
                    }
                    other => other.into(),
                })?;
            self.audit
                .append(
                    &mut tx,
                    &actor.name,
                    "organisation.update",
                    json!({"id": d.org_id, "application": id,
                           "from": {"credit_code": before.credit_code, "name": before.name,
                                    "parent": before.parent_id},
                           "to": {"credit_code": code, "name": name, "parent": parent}}),
                )
                .await?;
        }
        let v = step.write(self, &mut tx).await?;
        let what = (
            format!("「{}」单位信息变更申请", before.name),
            format!("update of organisation \"{}\"", before.name),
        );
        self.notify_admin_decision(
            &mut tx,
            &row.created_by,
            &v,
            &what,
            AdminKind::OrgUpdate.pages(),
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(v)
    }

    /// Tell `to` what was decided (in-app), as `seals::service` does for seal applications.
    async fn notify_admin_decision(
        &self,
        tx: &mut crate::store::Tx<'_>,
        to: &str,
        v: &View,
        what: &(String, String),
        pages: &str,
    ) -> Result<(), AppError> {
        let (zh, en) = match v.state {
            "returned" => (
                "已退回，请修改后重新提交",
                "was returned: correct and resubmit",
            ),
            "approved" => ("已审核通过", "was approved"),
            _ => return Ok(()),
        };
        let msg = crate::notify::Message {
            kind: format!("{}.{}", v.kind, v.state),
            title: crate::notify::Text::new(
                format!("{}{zh}", what.0),
                format!("The {} {en}", what.1),
            ),
            body: crate::notify::Text::new(
                format!("您的{}{zh}。", what.0),
                format!("Your {} {en}.", what.1),
            ),
            link: Some(format!("/{pages}/{}", v.id)),
        };
        crate::notify::in_app(
            tx,
            &self.config,
            &self.store,
            to,
            &msg,
            Some(&format!("{}:{}:{to}", v.id, v.version)),
        )
        .await?;
        Ok(())
    }
}
