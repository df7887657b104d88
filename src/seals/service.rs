//! What the front ends call for seals and their applications. Each call asks `accounts::policy`
//! about the organisation concerned, then writes through the workflow runner (state, history,
//! audit) in the same transaction as the seal rows, the name claim and the certificate status.

use std::sync::Arc;

use serde::Serialize;
use serde_json::json;

use super::application::{self, Data, SealApplication};
use super::model::{SealEvent, SealState, SealType, SigningMode};
use super::operation::{self, Operation, SealOperation};
use super::picture::{self, Face};
use super::produce::Spec;
use crate::access::Actor;
use crate::accounts::orgs::fold_name;
use crate::accounts::policy::{may, Action, Allowed, Principal, Resource};
use crate::app::App;
use crate::error::AppError;
use crate::store::{SealFilter, SealHistoryRow, SealMaterial, SealRow, Store, StoreError};
use crate::workflow::{self, EventRequest, Gate, Kind, ListPage, Named, NewRecord, View, Workflow};

pub const APP_KIND: &str = SealApplication::NAME;
const OP_KIND: &str = SealOperation::NAME;

/// A seal as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SealView {
    pub id: String,
    /// 13 digits, printed on the seal face.
    pub code: String,
    pub name: String,
    pub seal_type: String,
    pub seal_type_zh: &'static str,
    pub org_id: String,
    pub mode: String,
    /// active, lost, revoked, expired, superseded.
    pub state: String,
    pub version: i64,
    pub cert_serial: String,
    pub valid_from: i64,
    pub valid_until: i64,
    pub application_id: String,
    pub created_at: i64,
    pub updated_at: i64,
    /// Operations one may apply for in this state.
    pub operations: Vec<&'static str>,
}

impl SealView {
    fn of(r: SealRow) -> Result<SealView, AppError> {
        let t = SealType::parse(&r.seal_type)
            .ok_or_else(|| StoreError::Corrupt(format!("seal {} type {:?}", r.id, r.seal_type)))?;
        let state = SealState::parse(&r.state)
            .ok_or_else(|| StoreError::Corrupt(format!("seal {} state {:?}", r.id, r.state)))?;
        Ok(SealView {
            operations: Operation::ALL
                .iter()
                .filter(|o| state.on(o.event()).is_some())
                .map(|o| o.name())
                .collect(),
            id: r.id,
            code: r.code,
            name: r.name,
            seal_type: r.seal_type,
            seal_type_zh: t.zh(),
            org_id: r.org_id,
            mode: r.mode,
            state: r.state,
            version: r.version,
            cert_serial: r.cert_serial,
            valid_from: r.valid_from,
            valid_until: r.valid_until,
            application_id: r.application_id,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

/// One change of a seal.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SealHistoryEntry {
    pub version: i64,
    pub at: i64,
    pub actor: String,
    pub event: String,
    pub from: Option<String>,
    pub to: String,
    pub cert_serial: String,
    pub application_id: Option<String>,
}

/// A page of seals, oldest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SealPage {
    pub items: Vec<SealView>,
    pub next_cursor: Option<String>,
}

/// Which applications a list shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppScope<'a> {
    /// Those I created.
    Mine,
    /// Those of one organisation (its applicants, administrators, reviewers, staff).
    Org(&'a str),
    /// The reviewer's queue: submitted to authorities I review for.
    Review,
}

/// Which seals a list shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SealScope<'a> {
    /// Seals made for applications I created.
    Applied,
    /// Seals of the organisations I administer (and their subtrees), or all for staff.
    Managed,
    /// One organisation's seals.
    Org(&'a str),
}

/// Seal lists: 50 a page by default, at most 500.
pub(super) fn page_limit(limit: Option<i64>) -> Result<i64, AppError> {
    crate::paging::limit(limit, 50, 500)
}

fn staff(p: &Principal) -> bool {
    p.actor.role != crate::store::Role::Person
}

impl App {
    pub(super) async fn org_allowed(
        &self,
        p: &Principal,
        action: Action,
        org_id: &str,
    ) -> Result<Allowed, AppError> {
        self.may_on_org(p, action, org_id).await
    }

    /// Apply for a new seal (draft; the name is claimed system-wide at once).
    pub async fn seal_apply(
        self: &Arc<Self>,
        actor: &Actor,
        body: &serde_json::Value,
        answer: Option<&workflow::Answer<'_>>,
    ) -> Result<View, AppError> {
        let d = Data::check(body)?;
        let p = self.principal(actor).await?;
        let org = self.org(&d.org_id).await?;
        let allowed = self.org_allowed(&p, Action::ApplySeal, &org.id).await?;
        self.org(&d.authority_id).await.map_err(|_| {
            AppError::BadRequest(format!(
                "authority_id: no organisation {} to approve the application",
                d.authority_id
            ))
        })?;
        if let Some(f) = &d.scan_file {
            self.file_get(actor, f).await?;
        }
        if let Some(f) = &d.picture_file {
            use crate::files::FilePurpose as P;
            let row = self.file_get(actor, f).await?;
            let fits = row.purpose == P::SealImpression
                || (row.purpose == P::SignatureDrawing && d.seal_type() == SealType::Personal);
            if !fits {
                return Err(AppError::BadRequest(format!(
                    "picture_file: file {f} was uploaded as {}; a seal picture is a seal-impression (a hand-drawn signature-drawing only for name seals)",
                    row.purpose.name()
                )));
            }
        }
        let key = fold_name(&d.seal_name);
        let mut tx = self.store.begin().await?;
        let v = Workflow::create_in(
            &mut tx,
            self,
            Gate::Scoped(actor, allowed),
            APP_KIND,
            NewRecord {
                data: body,
                comment: None,
                org_id: Some(org.id.clone()),
                authority_id: Some(d.authority_id.clone()),
            },
        )
        .await?;
        match Store::seal_name_claim(&mut tx, &key, &d.seal_name, &v.id, v.created_at).await {
            Err(StoreError::Conflict(_)) => {
                return Err(AppError::Conflict(format!(
                    "seal_name: a seal or an application named {:?} already exists (names are \
                     compared without spaces and with full-width letters folded)",
                    d.seal_name
                )))
            }
            other => other?,
        }
        if let Some(a) = answer {
            a.record(&mut tx, &v).await?;
        }
        tx.commit().await.map_err(StoreError::from)?;
        Ok(v)
    }

    /// Load an application (or operation) and decide whether `p` may read it.
    async fn readable(
        &self,
        p: &Principal,
        id: &str,
        kind: &str,
    ) -> Result<(crate::store::WorkflowRow, Allowed), AppError> {
        let row = match self.store.workflow_get(id).await? {
            Some(r) if r.kind == kind => r,
            _ => return Err(AppError::NotFound(format!("no {kind} with id {id}"))),
        };
        let org = row.org_id.clone().unwrap_or_default();
        let by_org = self.org_allowed(p, Action::ReadSeals, &org).await;
        let allowed = match (by_org, &row.authority_id) {
            (Ok(a), _) => a,
            (Err(e), Some(auth)) => match self.org_allowed(p, Action::ReviewSeal, auth).await {
                Ok(a) => a,
                Err(_) => return Err(e),
            },
            (Err(e), None) => return Err(e),
        };
        Ok((row, allowed))
    }

    /// One application as the caller may see it.
    pub async fn seal_application(&self, actor: &Actor, id: &str) -> Result<View, AppError> {
        let p = self.principal(actor).await?;
        let (row, _) = self.readable(&p, id, APP_KIND).await?;
        Workflow::view_of(row, actor)
    }

    /// One operation application as the caller may see it.
    pub async fn seal_operation(&self, actor: &Actor, id: &str) -> Result<View, AppError> {
        let p = self.principal(actor).await?;
        let (row, _) = self.readable(&p, id, OP_KIND).await?;
        Workflow::view_of(row, actor)
    }

    /// The history of an application or operation.
    pub async fn seal_workflow_history(
        &self,
        actor: &Actor,
        id: &str,
        cursor: Option<&str>,
        limit: Option<i64>,
    ) -> Result<workflow::HistoryPage, AppError> {
        let p = self.principal(actor).await?;
        let row = self
            .store
            .workflow_get(id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no application with id {id}")))?;
        let kind = if row.kind == OP_KIND {
            OP_KIND
        } else {
            APP_KIND
        };
        let (_, allowed) = self.readable(&p, id, kind).await?;
        Workflow::history_of(self, allowed, kind, id, cursor, limit).await
    }

    /// Applications (`kind`: seal-application or seal-operation) in `scope`, oldest first.
    pub async fn seal_applications(
        &self,
        actor: &Actor,
        kind: &str,
        scope: AppScope<'_>,
        state: Option<&str>,
        cursor_s: Option<&str>,
        limit: Option<i64>,
    ) -> Result<ListPage, AppError> {
        if kind != APP_KIND && kind != OP_KIND {
            return Err(AppError::BadRequest(format!(
                "kind: {APP_KIND} or {OP_KIND}"
            )));
        }
        let p = self.principal(actor).await?;
        let limit = page_limit(limit)?;
        let orgs;
        let authorities;
        let mut f = crate::store::WorkflowFilter {
            state: state.filter(|s| !s.is_empty()),
            ..Default::default()
        };
        match scope {
            AppScope::Mine => f.created_by = Some(&actor.name),
            AppScope::Org(o) => {
                self.org_allowed(&p, Action::ReadSeals, o).await?;
                orgs = vec![o.to_string()];
                f.orgs = Some(&orgs);
            }
            AppScope::Review => {
                if !staff(&p) {
                    let roots: Vec<String> = p
                        .memberships
                        .iter()
                        .filter(|m| m.role == crate::accounts::orgs::MemberRole::Reviewer)
                        .map(|m| m.org_id.clone())
                        .collect();
                    authorities = self.store.org_subtrees(&roots).await?;
                    f.authorities = Some(&authorities);
                }
            }
        }
        let rows = self
            .store
            .workflow_find(kind, &f, crate::paging::cursor_owned(cursor_s)?, limit)
            .await?;
        let next_cursor = crate::paging::next(&rows, limit, |r| (r.created_at, &r.id));
        let items = rows
            .into_iter()
            .map(|r| Workflow::view_of(r, actor))
            .collect::<Result<_, _>>()?;
        Ok(ListPage { items, next_cursor })
    }

    /// Send an event to a seal application. `edit` replaces the data with `resubmit`.
    pub async fn seal_application_event(
        self: &Arc<Self>,
        actor: &Actor,
        id: &str,
        req: &EventRequest<'_>,
        edit: Option<&serde_json::Value>,
    ) -> Result<View, AppError> {
        let event = application::Event::parse(req.event).ok_or_else(|| {
            AppError::BadRequest(format!(
                "{APP_KIND} has no event {:?} (events: {})",
                req.event,
                application::Event::ALL
                    .iter()
                    .map(|e| e.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
        if event == application::Event::RecordPayment {
            return Err(AppError::Denied(
                "record-payment is sent by the payment service when an order is paid".into(),
            ));
        }
        let p = self.principal(actor).await?;
        let row = match self.store.workflow_get(id).await? {
            Some(r) if r.kind == APP_KIND => r,
            _ => return Err(AppError::NotFound(format!("no {APP_KIND} with id {id}"))),
        };
        let d = Data::stored(
            &serde_json::from_str(&row.data)
                .map_err(|e| StoreError::Corrupt(format!("{APP_KIND} {id} data: {e}")))?,
        )?;
        let allowed = if event.by_applicant() {
            self.org_allowed(&p, Action::ApplySeal, &d.org_id).await?
        } else if event.by_reviewer() {
            self.org_allowed(&p, Action::ReviewSeal, &d.authority_id)
                .await?
        } else {
            may(&p, Action::ProduceSeal, Resource::Platform)?
        };
        if matches!(
            event,
            application::Event::Produce | application::Event::Ship
        ) {
            return self.produce_seal(actor, allowed, id, req.version).await;
        }
        if event == application::Event::ConfirmReceipt {
            // Only the token can confirm: the signature over the receipt challenge is the proof.
            return Err(AppError::Policy(format!(
                "receipt of a UKey is confirmed with the token's signature: POST \
                 /api/v1/seal-applications/{id}/ukey/receipt (`sealpki ukey enrol`)"
            )));
        }
        let mut step =
            Workflow::step(self, Gate::Scoped(actor, allowed), APP_KIND, id, req).await?;
        let mut data = d.clone();
        match event {
            application::Event::AttachScan => {
                let [file] = req.attachments else {
                    return Err(AppError::BadRequest(
                        "attach-scan takes one attachment: the id of the uploaded scan".into(),
                    ));
                };
                let f = self.file_get(actor, file).await?;
                if f.purpose != crate::files::FilePurpose::ApplicationScan {
                    return Err(AppError::BadRequest(format!(
                        "file {file} was uploaded as {}, not as application-scan",
                        f.purpose.name()
                    )));
                }
                data.scan_file = Some(file.clone());
            }
            application::Event::Submit | application::Event::Resubmit => {
                if let Some(e) = edit.filter(|_| event == application::Event::Resubmit) {
                    let mut new = Data::check(e)?;
                    if new.org_id != d.org_id || new.seal_name != d.seal_name {
                        return Err(AppError::BadRequest(
                            "a resubmitted application keeps its organisation and seal name \
                             (withdraw it and apply again to change them)"
                                .into(),
                        ));
                    }
                    new.scan_file = new.scan_file.or(d.scan_file.clone());
                    data = new;
                }
                if data.scan_file.is_none() {
                    return Err(AppError::Policy(
                        "upload the stamped scan of the printed application form first \
                         (attach-scan)"
                            .into(),
                    ));
                }
                if event == application::Event::Submit {
                    self.payment_settled(id, &d.org_id).await?;
                }
            }
            _ => {}
        }
        if edit.is_some() && event != application::Event::Resubmit {
            return Err(AppError::BadRequest(
                "only resubmit takes edited application data".into(),
            ));
        }
        let data_value =
            serde_json::to_value(&data).map_err(|e| AppError::Internal(e.to_string()))?;
        if serde_json::from_str::<serde_json::Value>(&row.data)
            .ok()
            .as_ref()
            != Some(&data_value)
        {
            step = step.with_data(self, &data_value)?;
        }
        let mut tx = self.store.begin().await?;
        if event == application::Event::Withdraw {
            Store::seal_name_release(&mut tx, &fold_name(&d.seal_name), id).await?;
            self.order_cancel_for(&mut tx, id, &actor.name).await?;
        }
        let v = step.write(self, &mut tx).await?;
        self.notify_decision(&mut tx, &row.created_by, &v, &d.seal_name)
            .await?;
        tx.commit().await.map_err(StoreError::from)?;
        // A cloud seal is made as soon as it is approved (a failure leaves it pending-production
        // for an operator to produce again).
        if event == application::Event::Approve && d.mode() == SigningMode::Cloud {
            let system = Actor::system();
            let allowed = may(
                &Principal::platform(&system),
                Action::ProduceSeal,
                Resource::Platform,
            )?;
            match self.produce_seal(&system, allowed, id, v.version).await {
                Ok(done) => return Ok(done),
                Err(e) => tracing::error!(application = id, error = %e, "seal production"),
            }
        }
        Ok(v)
    }

    /// Tell the applicant what happened to their application (in-app).
    pub(super) async fn notify_decision(
        &self,
        tx: &mut crate::store::Tx<'_>,
        to: &str,
        v: &View,
        seal_name: &str,
    ) -> Result<(), AppError> {
        let (zh, en) = match v.state {
            "returned" => (
                "已退回，请修改后重新提交",
                "was returned: edit and resubmit",
            ),
            "pending-production" => ("已审核通过，待制作", "was approved and is being made"),
            "complete" => ("已完成，印章可以使用", "is complete: the seal is ready"),
            "shipped" => (
                "已制作，请确认收到 UKey",
                "was made: confirm receipt of the UKey",
            ),
            _ => return Ok(()),
        };
        let msg = crate::notify::Message {
            kind: format!("seal-application.{}", v.state),
            title: crate::notify::Text::new(
                format!("印章申请{zh}"),
                format!("Seal application {en}"),
            ),
            body: crate::notify::Text::new(
                format!("您申请的电子印章「{seal_name}」{zh}。"),
                format!("Your application for the electronic seal \"{seal_name}\" {en}."),
            ),
            link: Some(format!("/seal-applications/{}", v.id)),
        };
        crate::notify::in_app(
            tx,
            &self.config,
            &self.store,
            to,
            &msg,
            Some(&format!("{}:{}", v.id, v.version)),
        )
        .await?;
        Ok(())
    }

    /// Produce the seal of an approved application: key, certificate, structure, picture; the
    /// seal row, the key's registration and the application's `produce` in one transaction.
    async fn produce_seal(
        self: &Arc<Self>,
        actor: &Actor,
        allowed: Allowed,
        id: &str,
        version: i64,
    ) -> Result<View, AppError> {
        let row = self
            .store
            .workflow_get(id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no {APP_KIND} with id {id}")))?;
        let d = Data::stored(
            &serde_json::from_str(&row.data)
                .map_err(|e| StoreError::Corrupt(format!("{APP_KIND} {id} data: {e}")))?,
        )?;
        if d.mode() == SigningMode::Ukey {
            return Err(AppError::Policy(format!(
                "a UKey seal's key is made on the holder's token: the holder enrols it \
                 (`sealpki ukey enrol`, POST /api/v1/seal-applications/{id}/ukey/csr)"
            )));
        }
        let step = Workflow::step(
            self,
            Gate::Scoped(actor, allowed),
            APP_KIND,
            id,
            &EventRequest {
                event: "produce",
                version,
                comment: None,
                attachments: &[],
            },
        )
        .await?;
        let (org, code, pic) = self.seal_face(&d).await?;
        let m = self
            .make_material(
                actor,
                &Spec {
                    application_id: id,
                    code: &code,
                    seal_name: &d.seal_name,
                    seal_type: d.seal_type(),
                    years: d.years,
                    org: &org,
                    picture: &pic,
                },
            )
            .await?;
        let now = crate::store::now();
        let seal = new_seal(
            NewSeal {
                application_id: id,
                data: &d,
                org_id: &org.id,
                code: &code,
                picture: &pic,
                state: SealState::Active,
            },
            actor,
            Some(m.key_ref.to_string()),
            (&m.serial, &m.ses, m.valid_from, m.valid_until),
        );
        let written: Result<View, AppError> = async {
            let mut tx = self.store.begin().await?;
            Self::register_material(&mut tx, &m).await?;
            Store::seal_insert(&mut tx, &seal).await?;
            let (seq, _) = self
                .audit
                .append(
                    &mut tx,
                    &actor.name,
                    "seal.produce",
                    json!({"seal": seal.id, "code": code, "name": seal.name, "org": org.id,
                           "application": id, "key": m.key_ref.to_string(),
                           "certificate": m.serial,
                           "ses_sha256": sealpki_pki::alg::sha256_hex(&m.ses)}),
                )
                .await?;
            Store::seal_history_insert(
                &mut tx,
                &SealHistoryRow {
                    seal_id: seal.id.clone(),
                    version: 1,
                    at: now,
                    actor: actor.name.clone(),
                    event: "produce".into(),
                    from_state: None,
                    to_state: seal.state.clone(),
                    cert_serial: m.serial.clone(),
                    workflow_id: Some(id.to_string()),
                    audit_seq: seq,
                },
            )
            .await?;
            let v = step.write(self, &mut tx).await?;
            self.notify_decision(&mut tx, &row.created_by, &v, &d.seal_name)
                .await?;
            tx.commit().await.map_err(StoreError::from)?;
            Ok(v)
        }
        .await;
        if written.is_err() {
            self.undo_material(
                &m.key_ref,
                Some(&m.serial),
                &m.production,
                "seal record not written",
            )
            .await;
        }
        written
    }

    /// A new seal's organisation, code and picture.
    pub(super) async fn seal_face(
        &self,
        d: &Data,
    ) -> Result<
        (
            crate::accounts::orgs::Organisation,
            String,
            picture::SealPicture,
        ),
        AppError,
    > {
        let org = self.org(&d.org_id).await?;
        let code = super::model::new_code(&org.region);
        let pic = self.seal_picture(d, &org.name, &code).await?;
        Ok((org, code, pic))
    }

    /// The picture of a new seal: the uploaded impression's red ink, or the face drawn.
    async fn seal_picture(
        &self,
        d: &Data,
        org_name: &str,
        code: &str,
    ) -> Result<picture::SealPicture, AppError> {
        let t = d.seal_type();
        let upload = match &d.picture_file {
            Some(f) => {
                let (row, bytes) = self.attached_file(f).await?;
                Some((
                    row.purpose == crate::files::FilePurpose::SignatureDrawing,
                    bytes,
                ))
            }
            None => None,
        };
        let font = self.config.seals.font.clone();
        let (org, code) = (org_name.to_string(), code.to_string());
        let (tp, person) = (d.taxpayer.clone(), d.person_name.clone());
        tokio::task::spawn_blocking(move || match upload {
            Some((true, bytes)) => picture::from_drawing(&bytes, t),
            Some((false, bytes)) => picture::from_impression(&bytes, t),
            None => picture::draw(
                font.as_deref(),
                &Face {
                    seal_type: t,
                    org_name: &org,
                    code: &code,
                    taxpayer: tp.as_deref(),
                    person_name: person.as_deref(),
                },
            ),
        })
        .await
        .map_err(|e| AppError::Internal(format!("seal picture task: {e}")))?
    }

    /// Apply for an operation on a seal. A loss report takes effect at once.
    pub async fn seal_operation_apply(
        self: &Arc<Self>,
        actor: &Actor,
        body: &serde_json::Value,
        answer: Option<&workflow::Answer<'_>>,
    ) -> Result<View, AppError> {
        let d = operation::Data::check(body)?;
        let p = self.principal(actor).await?;
        let seal = self
            .store
            .seal_get(&d.seal_id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no seal with id {}", d.seal_id)))?;
        let allowed = self
            .org_allowed(&p, Action::ApplySeal, &seal.org_id)
            .await?;
        let state = seal_state(&seal)?;
        let op = d.operation();
        if state.on(op.event()).is_none() {
            return Err(AppError::Conflict(format!(
                "seal {} is {}: {} does not apply",
                seal.code,
                state.name(),
                op.name()
            )));
        }
        let authority = self
            .store
            .workflow_get(&seal.application_id)
            .await?
            .and_then(|r| r.authority_id);
        let mut data = serde_json::to_value(&d).map_err(|e| AppError::Internal(e.to_string()))?;
        data["seal_code"] = json!(seal.code);
        let mut tx = self.store.begin().await?;
        let v = Workflow::create_in(
            &mut tx,
            self,
            Gate::Scoped(actor, allowed),
            OP_KIND,
            NewRecord {
                data: &data,
                comment: None,
                org_id: Some(seal.org_id.clone()),
                authority_id: authority,
            },
        )
        .await?;
        let after = if op == Operation::ReportLoss {
            Some(self.change_seal(&mut tx, actor, &seal, op, &v.id).await?)
        } else {
            None
        };
        if let Some(a) = answer {
            a.record(&mut tx, &v).await?;
        }
        tx.commit().await.map_err(StoreError::from)?;
        if let Some((ca, part)) = after {
            self.after_status_change(&ca, part).await?;
        }
        Ok(v)
    }

    /// Decide or move an operation application; approval applies it to the seal.
    pub async fn seal_operation_event(
        self: &Arc<Self>,
        actor: &Actor,
        id: &str,
        req: &EventRequest<'_>,
    ) -> Result<View, AppError> {
        let event = operation::Event::parse(req.event).ok_or_else(|| {
            AppError::BadRequest(format!(
                "{OP_KIND} has no event {:?} (events: approve, return, resubmit, withdraw)",
                req.event
            ))
        })?;
        let p = self.principal(actor).await?;
        let row = match self.store.workflow_get(id).await? {
            Some(r) if r.kind == OP_KIND => r,
            _ => return Err(AppError::NotFound(format!("no {OP_KIND} with id {id}"))),
        };
        let d = operation::Data::check(
            &serde_json::from_str(&row.data)
                .map_err(|e| StoreError::Corrupt(format!("{OP_KIND} {id} data: {e}")))?,
        )?;
        let seal = self
            .store
            .seal_get(&d.seal_id)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("{OP_KIND} {id}: seal gone")))?;
        let allowed = match event {
            operation::Event::Approve | operation::Event::Return => {
                let auth = row.authority_id.clone().unwrap_or_default();
                self.org_allowed(&p, Action::ReviewSeal, &auth).await?
            }
            _ => {
                self.org_allowed(&p, Action::ApplySeal, &seal.org_id)
                    .await?
            }
        };
        let step = Workflow::step(self, Gate::Scoped(actor, allowed), OP_KIND, id, req).await?;
        let op = d.operation();
        let applies = event == operation::Event::Approve && op != Operation::ReportLoss;
        let material = if applies && matches!(op, Operation::Reissue | Operation::Renew) {
            let state = seal_state(&seal)?;
            if state.on(op.event()).is_none() {
                return Err(AppError::Conflict(format!(
                    "seal {} is {}: {} no longer applies",
                    seal.code,
                    state.name(),
                    op.name()
                )));
            }
            Some(self.remake(actor, &seal).await?)
        } else {
            None
        };
        let result: Result<(View, Vec<(String, i64)>), AppError> = async {
            let mut tx = self.store.begin().await?;
            let mut after = Vec::new();
            if applies {
                after.push(
                    self.change_seal_with(&mut tx, actor, &seal, op, id, material.as_ref())
                        .await?,
                );
            }
            let v = step.write(self, &mut tx).await?;
            tx.commit().await.map_err(StoreError::from)?;
            Ok((v, after))
        }
        .await;
        match result {
            Ok((v, after)) => {
                for (ca, part) in after {
                    self.after_status_change(&ca, part).await?;
                }
                Ok(v)
            }
            Err(e) => {
                if let Some(m) = &material {
                    self.undo_material(
                        &m.key_ref,
                        Some(&m.serial),
                        &m.production,
                        "seal operation not written",
                    )
                    .await;
                }
                Err(e)
            }
        }
    }

    /// New key, certificate and structure for a seal (reissue, renewal), same code and picture.
    async fn remake(
        self: &Arc<Self>,
        actor: &Actor,
        seal: &SealRow,
    ) -> Result<super::produce::Material, AppError> {
        let app_row = self.store.workflow_get(&seal.application_id).await?;
        let years = app_row
            .and_then(|r| serde_json::from_str::<serde_json::Value>(&r.data).ok())
            .and_then(|v| v["years"].as_u64())
            .and_then(|y| u32::try_from(y).ok())
            .unwrap_or(1);
        let org = self.org(&seal.org_id).await?;
        let t = SealType::parse(&seal.seal_type)
            .ok_or_else(|| StoreError::Corrupt(format!("seal {} type", seal.id)))?;
        let pic = picture::SealPicture {
            png: seal.picture_png.clone(),
            svg: seal.picture_svg.clone(),
            width_mm: picture::size_mm(t).0,
            height_mm: picture::size_mm(t).1,
        };
        self.make_material(
            actor,
            &Spec {
                application_id: &seal.application_id,
                code: &seal.code,
                seal_name: &seal.name,
                seal_type: t,
                years,
                org: &org,
                picture: &pic,
            },
        )
        .await
    }

    async fn change_seal(
        &self,
        tx: &mut crate::store::Tx<'_>,
        actor: &Actor,
        seal: &SealRow,
        op: Operation,
        workflow_id: &str,
    ) -> Result<(String, i64), AppError> {
        self.change_seal_with(tx, actor, seal, op, workflow_id, None)
            .await
    }

    /// Apply `op` to `seal` in `tx`: the seal's state (or new material), its history, the
    /// certificate status (hold, release, revoke; a replaced certificate revoked as superseded).
    /// Returns the CA key and partition whose status changed, for after the commit.
    async fn change_seal_with(
        &self,
        tx: &mut crate::store::Tx<'_>,
        actor: &Actor,
        seal: &SealRow,
        op: Operation,
        workflow_id: &str,
        material: Option<&super::produce::Material>,
    ) -> Result<(String, i64), AppError> {
        use sealpki_pki::revocation::Reason;
        let from = seal_state(seal)?;
        let to = from.on(op.event()).ok_or_else(|| {
            AppError::Conflict(format!(
                "seal {} is {}: {} does not apply",
                seal.code,
                from.name(),
                op.name()
            ))
        })?;
        let cert = self
            .store
            .cert_get(&seal.cert_serial)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("seal {}: certificate gone", seal.id)))?;
        let now = crate::store::now();
        let (status, new_serial) = match (op.event(), material) {
            (SealEvent::ReportLoss, _) => (Some(Some(Reason::CertificateHold)), None),
            (SealEvent::Restore, _) => (Some(None), None),
            (SealEvent::Revoke, _) => {
                // A held certificate is revoked for good from its hold.
                (Some(Some(Reason::CessationOfOperation)), None)
            }
            (SealEvent::Reissue | SealEvent::Renew, Some(m)) => {
                (Some(Some(Reason::Superseded)), Some(m))
            }
            _ => (None, None),
        };
        let changed = match new_serial {
            Some(m) => {
                Self::register_material(tx, m).await?;
                Store::seal_replace_material(
                    tx,
                    &seal.id,
                    seal.version,
                    to.name(),
                    &SealMaterial {
                        key_ref: Some(&m.key_ref.to_string()),
                        cert_serial: &m.serial,
                        ses_der: &m.ses,
                        valid_from: m.valid_from,
                        valid_until: m.valid_until,
                    },
                    now,
                )
                .await?
            }
            None => Store::seal_set_state(tx, &seal.id, seal.version, to.name(), now).await?,
        };
        if !changed {
            return Err(AppError::Conflict(format!(
                "seal {} changed meanwhile: load it again",
                seal.code
            )));
        }
        if let Some(reason) = status {
            self.write_status(tx, &actor.name, &cert, reason, Some(op.zh()))
                .await?;
        }
        let serial = new_serial
            .map(|m| m.serial.clone())
            .unwrap_or(seal.cert_serial.clone());
        let (seq, _) = self
            .audit
            .append(
                tx,
                &actor.name,
                "seal.change",
                json!({"seal": seal.id, "code": seal.code, "operation": op.name(),
                       "from": from.name(), "to": to.name(), "certificate": serial,
                       "application": workflow_id}),
            )
            .await?;
        Store::seal_history_insert(
            tx,
            &SealHistoryRow {
                seal_id: seal.id.clone(),
                version: seal.version + 1,
                at: now,
                actor: actor.name.clone(),
                event: op.event().name().into(),
                from_state: Some(from.name().into()),
                to_state: to.name().into(),
                cert_serial: serial,
                workflow_id: Some(workflow_id.to_string()),
                audit_seq: seq,
            },
        )
        .await?;
        Ok((cert.ca_key, cert.crl_part))
    }

    /// The id of the seal an application made, if any.
    pub async fn seal_of_application(
        &self,
        application_id: &str,
    ) -> Result<Option<String>, AppError> {
        Ok(self
            .store
            .seal_by_application(application_id)
            .await?
            .map(|s| s.id))
    }

    /// One seal, if the caller may see it.
    pub async fn seal(&self, actor: &Actor, id: &str) -> Result<SealView, AppError> {
        let row = self.seal_row_for(actor, id).await?;
        SealView::of(row)
    }

    async fn seal_row_for(&self, actor: &Actor, id: &str) -> Result<SealRow, AppError> {
        let p = self.principal(actor).await?;
        let row = self
            .store
            .seal_get(id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no seal with id {id}")))?;
        self.org_allowed(&p, Action::ReadSeals, &row.org_id).await?;
        Ok(row)
    }

    /// A seal's picture (PNG) and structure (DER), if the caller may see the seal.
    pub async fn seal_files(&self, actor: &Actor, id: &str) -> Result<SealRow, AppError> {
        self.seal_row_for(actor, id).await
    }

    /// A seal's history, oldest first.
    pub async fn seal_history(
        &self,
        actor: &Actor,
        id: &str,
    ) -> Result<Vec<SealHistoryEntry>, AppError> {
        self.seal_row_for(actor, id).await?;
        Ok(self
            .store
            .seal_history(id)
            .await?
            .into_iter()
            .map(|h| SealHistoryEntry {
                version: h.version,
                at: h.at,
                actor: h.actor,
                event: h.event,
                from: h.from_state,
                to: h.to_state,
                cert_serial: h.cert_serial,
                application_id: h.workflow_id,
            })
            .collect())
    }

    /// Seals in `scope`, oldest first.
    pub async fn seals(
        &self,
        actor: &Actor,
        scope: SealScope<'_>,
        state: Option<&str>,
        q: Option<&str>,
        cursor_s: Option<&str>,
        limit: Option<i64>,
    ) -> Result<SealPage, AppError> {
        let p = self.principal(actor).await?;
        let limit = page_limit(limit)?;
        if let Some(s) = state.filter(|s| !s.is_empty()) {
            SealState::parse(s).ok_or_else(|| {
                AppError::BadRequest(format!(
                    "state: one of {}",
                    SealState::ALL
                        .iter()
                        .map(|s| s.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?;
        }
        let key = q.map(fold_name).filter(|k| !k.is_empty());
        let orgs;
        let mut f = SealFilter {
            state: state.filter(|s| !s.is_empty()),
            name_key: key.as_deref(),
            ..Default::default()
        };
        match scope {
            SealScope::Applied => f.applied_by = Some(&actor.name),
            SealScope::Org(o) => {
                self.org_allowed(&p, Action::ReadSeals, o).await?;
                orgs = vec![o.to_string()];
                f.orgs = Some(&orgs);
            }
            SealScope::Managed if staff(&p) => {}
            SealScope::Managed => {
                use crate::accounts::orgs::{MemberRole, OrgKind};
                let admin_of: Vec<_> = p
                    .memberships
                    .iter()
                    .filter(|m| m.role == MemberRole::SealAdmin)
                    .collect();
                let roots: Vec<String> = admin_of.iter().map(|m| m.org_id.clone()).collect();
                let mut all = self.store.org_subtrees(&roots).await?;
                // A government body's seal administrator also covers the organisations of its
                // region (as `accounts::policy` lets it read and operate their seals).
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
                orgs = all;
                f.orgs = Some(&orgs);
            }
        }
        let rows = self
            .store
            .seal_find(&f, crate::paging::cursor_owned(cursor_s)?, limit)
            .await?;
        let next_cursor = crate::paging::next(&rows, limit, |r| (r.created_at, &r.id));
        let items = rows
            .into_iter()
            .map(SealView::of)
            .collect::<Result<_, _>>()?;
        Ok(SealPage { items, next_cursor })
    }

    /// The key and picture to seal a document with a cloud seal: the caller holds the seal (its
    /// organisation's applicants and seal administrators), the seal is active, and the signing
    /// service's own checks (purpose, certificate status and validity) pass.
    pub async fn seal_signing_key(
        &self,
        actor: &Actor,
        id: &str,
    ) -> Result<(crate::signing::SigningKey, SealRow), AppError> {
        let p = self.principal(actor).await?;
        let row = self
            .store
            .seal_get(id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no seal with id {id}")))?;
        self.org_allowed(&p, Action::ApplySeal, &row.org_id).await?;
        self.seal_key_of(row).await
    }

    /// The key and picture for an app's sealing under `grant`, which `app_grant_in_force` found
    /// in force just before: the authority is the seal administrator's grant, not a person's
    /// membership. The seal's current state and the signing service's checks still apply.
    pub async fn seal_signing_key_granted(
        &self,
        grant: &crate::apps::grant_service::GrantInForce,
    ) -> Result<(crate::signing::SigningKey, SealRow), AppError> {
        let row = self
            .store
            .seal_get(&grant.seal_id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no seal with id {}", grant.seal_id)))?;
        self.seal_key_of(row).await
    }

    async fn seal_key_of(
        &self,
        row: SealRow,
    ) -> Result<(crate::signing::SigningKey, SealRow), AppError> {
        let state = seal_state(&row)?;
        if !state.signs() {
            return Err(AppError::Policy(format!(
                "seal {} is {}: signing refused",
                row.code,
                state.name()
            )));
        }
        let key = row.key_ref.clone().ok_or_else(|| {
            AppError::Policy(format!(
                "seal {} is a UKey seal: it signs on the holder's token",
                row.code
            ))
        })?;
        let k = self
            .open_signing_key(
                &key,
                crate::signing::CertChoice::Serial(row.cert_serial.clone()),
                crate::signing::Use::Document,
            )
            .await?;
        Ok((k, row))
    }
}

pub(super) fn seal_state(s: &SealRow) -> Result<SealState, AppError> {
    SealState::parse(&s.state)
        .ok_or_else(|| StoreError::Corrupt(format!("seal {} state {:?}", s.id, s.state)).into())
}

pub(super) fn workflow_id() -> String {
    let mut b = [0u8; 16];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut b);
    hex::encode(b)
}

/// What a new seal row is made of, besides its key and certificate.
pub(super) struct NewSeal<'a> {
    pub application_id: &'a str,
    pub data: &'a Data,
    pub org_id: &'a str,
    pub code: &'a str,
    pub picture: &'a picture::SealPicture,
    pub state: SealState,
}

/// The row of a seal just made: `cert` is (serial, structure, valid from, valid until).
pub(super) fn new_seal(
    n: NewSeal<'_>,
    actor: &Actor,
    key_ref: Option<String>,
    cert: (&str, &[u8], i64, i64),
) -> SealRow {
    let now = crate::store::now();
    SealRow {
        id: workflow_id(),
        code: n.code.to_string(),
        name: n.data.seal_name.clone(),
        name_key: fold_name(&n.data.seal_name),
        seal_type: n.data.seal_type.clone(),
        org_id: n.org_id.to_string(),
        mode: n.data.mode.clone(),
        state: n.state.name().into(),
        version: 1,
        taxpayer: n.data.taxpayer.clone(),
        key_ref,
        cert_serial: cert.0.to_string(),
        ses_der: cert.1.to_vec(),
        picture_png: n.picture.png.clone(),
        picture_svg: n.picture.svg.clone(),
        valid_from: cert.2,
        valid_until: cert.3,
        application_id: n.application_id.to_string(),
        created_by: actor.name.clone(),
        created_at: now,
        updated_at: now,
    }
}
