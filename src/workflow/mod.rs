//! Typed state machines with history: each application kind declares its states and events as enums
//! and one `transition` function; `Workflow` (the runner) checks permissions, applies the function
//! and writes the new state, a history row and an audit entry in one transaction, with optimistic
//! versioning. Every state change of a workflow record goes through here.

pub mod authority_request;

use std::fmt::Debug;
use std::marker::PhantomData;

use serde::Serialize;
use serde_json::json;

use crate::access::{Actor, Permission};
use crate::accounts::policy::Allowed;
use crate::app::App;
use crate::error::AppError;
use crate::store::{HistoryRow, Store, StoreError, WorkflowRow};

/// A closed set with stable names: the names are what the store and the API carry.
pub trait Named: Copy + Eq + Debug + Send + Sync + 'static {
    const ALL: &'static [Self];
    fn name(self) -> &'static str;
    /// Strict: only an exact name of a variant.
    fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|v| v.name() == s)
    }
}

/// Declare an enum whose variants have stable names (`Named`).
#[macro_export]
macro_rules! named_enum {
    ($(#[$m:meta])* $vis:vis enum $name:ident { $($(#[$vm:meta])* $var:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        $vis enum $name { $($(#[$vm])* $var),+ }
        impl $crate::workflow::Named for $name {
            const ALL: &'static [Self] = &[$($name::$var),+];
            fn name(self) -> &'static str {
                match self { $($name::$var => $s),+ }
            }
        }
    };
}

/// Who asks for a transition, as the transition function sees them.
pub struct Who<'a> {
    pub actor: &'a Actor,
    /// Whether the actor created the record (the requester).
    pub is_creator: bool,
}

/// Why a transition function refused an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The event does not apply in the current state (HTTP 409, nothing changes).
    OutOfOrder,
    /// The event applies, but not for this actor (HTTP 403), with the reason.
    NotForYou(&'static str),
}

/// One application kind: its states, events, who may send each event, and the transition table.
pub trait Kind: Send + Sync + 'static {
    /// The kind's name in URLs, the store and the audit log.
    const NAME: &'static str;
    type State: Named;
    type Event: Named;
    /// The state a new record starts in.
    const INITIAL: Self::State;
    /// The permission to create a record.
    const CREATE: Permission;
    /// The permission an event needs (checked by the runner before the transition function).
    fn permission(event: Self::Event) -> Permission;
    /// The transition table: the next state, or why not.
    fn transition(
        state: Self::State,
        event: Self::Event,
        who: &Who<'_>,
    ) -> Result<Self::State, Refusal>;
    /// Check and normalise the data of a new record (422 for content refused by policy).
    fn check_data(app: &App, data: &serde_json::Value) -> Result<serde_json::Value, AppError>;
    /// A scoped kind is decided by `accounts::policy` against the record's organisation, by the
    /// service that owns it (which hands the runner its [`Allowed`] proof); the generic workflow
    /// API does not serve it, and `permission` is not consulted.
    const SCOPED: bool = false;
}

/// A kind with its types erased, so the runner and HTTP can pick it by name.
trait Erased: Send + Sync {
    fn name(&self) -> &'static str;
    fn initial(&self) -> &'static str;
    fn create_permission(&self) -> Permission;
    fn check_data(
        &self,
        app: &App,
        data: &serde_json::Value,
    ) -> Result<serde_json::Value, AppError>;
    fn events(&self) -> Vec<&'static str>;
    fn states(&self) -> Vec<&'static str>;
    /// The permission of a named event; None for a name the kind does not have.
    fn event_permission(&self, event: &str) -> Option<Permission>;
    /// Parse the stored state strictly (an unknown name is a corrupt store).
    fn state(&self, stored: &str) -> Result<&'static str, StoreError>;
    fn step(&self, state: &str, event: &str, who: &Who<'_>) -> Result<&'static str, Refusal>;
    fn allowed(&self, state: &str, who: &Who<'_>) -> Vec<&'static str>;
    fn scoped(&self) -> bool;
}

struct Of<K>(PhantomData<K>);

impl<K: Kind> Erased for Of<K> {
    fn name(&self) -> &'static str {
        K::NAME
    }
    fn initial(&self) -> &'static str {
        K::INITIAL.name()
    }
    fn create_permission(&self) -> Permission {
        K::CREATE
    }
    fn check_data(
        &self,
        app: &App,
        data: &serde_json::Value,
    ) -> Result<serde_json::Value, AppError> {
        K::check_data(app, data)
    }
    fn events(&self) -> Vec<&'static str> {
        K::Event::ALL.iter().map(|e| e.name()).collect()
    }
    fn states(&self) -> Vec<&'static str> {
        K::State::ALL.iter().map(|s| s.name()).collect()
    }
    fn event_permission(&self, event: &str) -> Option<Permission> {
        K::Event::parse(event).map(K::permission)
    }
    fn state(&self, stored: &str) -> Result<&'static str, StoreError> {
        K::State::parse(stored).map(|s| s.name()).ok_or_else(|| {
            StoreError::Corrupt(format!(
                "workflow state {stored:?} is not a state of kind {}",
                K::NAME
            ))
        })
    }
    fn step(&self, state: &str, event: &str, who: &Who<'_>) -> Result<&'static str, Refusal> {
        let (Some(s), Some(e)) = (K::State::parse(state), K::Event::parse(event)) else {
            return Err(Refusal::OutOfOrder);
        };
        K::transition(s, e, who).map(|n| n.name())
    }
    fn allowed(&self, state: &str, who: &Who<'_>) -> Vec<&'static str> {
        let Some(s) = K::State::parse(state) else {
            return Vec::new();
        };
        K::Event::ALL
            .iter()
            .filter(|e| K::transition(s, **e, who) != Err(Refusal::OutOfOrder))
            .map(|e| e.name())
            .collect()
    }
    fn scoped(&self) -> bool {
        K::SCOPED
    }
}

/// Every kind the service knows.
static KINDS: &[&dyn Erased] = &[
    &Of::<authority_request::AuthorityRequest>(PhantomData),
    &Of::<crate::seals::application::SealApplication>(PhantomData),
    &Of::<crate::seals::operation::SealOperation>(PhantomData),
    &Of::<crate::seals::admin_application::SealAdminApplication>(PhantomData),
    &Of::<crate::seals::org_update::OrgUpdate>(PhantomData),
];

/// How a caller was let in.
#[derive(Clone, Copy)]
pub enum Gate<'a> {
    /// Staff kinds: the runner checks the platform permission of each event.
    Platform(&'a Actor),
    /// Scoped kinds: the owning service asked the policy about the record's organisation.
    Scoped(&'a Actor, Allowed),
}

impl<'a> Gate<'a> {
    fn admit(self, k: &dyn Erased, permission: Permission) -> Result<&'a Actor, AppError> {
        match self {
            Gate::Platform(_) if k.scoped() => Err(AppError::NotFound(format!(
                "workflow kind {} is served by its own API, not /api/v1/workflows",
                k.name()
            ))),
            Gate::Platform(a) => a.require(permission).map(|_| a),
            Gate::Scoped(a, _) if k.scoped() => Ok(a),
            Gate::Scoped(a, _) => a.require(permission).map(|_| a),
        }
    }
}

/// A kind served by the generic workflow API (scoped kinds are not).
fn kind(name: &str) -> Result<&'static dyn Erased, AppError> {
    any_kind(name).and_then(|k| {
        if k.scoped() {
            Err(AppError::NotFound(format!(
                "workflow kind {name:?} is served by its own API, not /api/v1/workflows"
            )))
        } else {
            Ok(k)
        }
    })
}

fn any_kind(name: &str) -> Result<&'static dyn Erased, AppError> {
    KINDS
        .iter()
        .copied()
        .find(|k| k.name() == name)
        .ok_or_else(|| {
            AppError::NotFound(format!(
                "no workflow kind {name:?} (kinds: {})",
                KINDS
                    .iter()
                    .map(|k| k.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
}

/// Comments are for people: at most this many characters.
pub const MAX_COMMENT: usize = 2000;
/// Attachment references per event, and characters per reference.
pub const MAX_ATTACHMENTS: usize = 16;
pub const MAX_ATTACHMENT_REF: usize = 200;

/// A record as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = WorkflowRecord)]
pub struct View {
    pub id: String,
    pub kind: &'static str,
    pub state: &'static str,
    pub version: i64,
    pub data: serde_json::Value,
    pub created_by: String,
    pub created_at: i64,
    pub updated_at: i64,
    /// The events the current state allows (for this actor's standing as requester or not).
    pub allowed_events: Vec<&'static str>,
}

/// One history entry as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = WorkflowHistoryEntry)]
pub struct HistoryEntry {
    pub version: i64,
    pub at: i64,
    pub actor: String,
    pub event: String,
    pub from: Option<String>,
    pub to: String,
    pub comment: Option<String>,
    pub attachments: serde_json::Value,
    pub audit_seq: i64,
}

/// A page of history, oldest first; `next_cursor` is given when more may follow.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = WorkflowHistoryPage)]
pub struct HistoryPage {
    pub items: Vec<HistoryEntry>,
    pub next_cursor: Option<String>,
}

/// A page of records, oldest first; `next_cursor` is given when more may follow.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = WorkflowPage)]
pub struct ListPage {
    pub items: Vec<View>,
    pub next_cursor: Option<String>,
}

/// A new record as asked for.
pub struct NewRecord<'a> {
    pub data: &'a serde_json::Value,
    pub comment: Option<&'a str>,
    pub org_id: Option<String>,
    pub authority_id: Option<String>,
}

/// An event as asked for.
pub struct EventRequest<'a> {
    pub event: &'a str,
    pub version: i64,
    pub comment: Option<&'a str>,
    pub attachments: &'a [String],
}

/// An Idempotency-Key answer to record in the transaction of the change (see
/// `http::idempotency`): the record as JSON with `status`.
pub struct Answer<'a> {
    pub actor: &'a str,
    pub key: &'a str,
    pub status: u16,
}

impl Answer<'_> {
    pub(crate) async fn record(
        &self,
        tx: &mut crate::store::Tx<'_>,
        v: &View,
    ) -> Result<(), AppError> {
        self.record_json(tx, v).await
    }

    /// Record an answer other than a record's view (a UKey enrolment's certificate and challenge).
    pub(crate) async fn record_json<T: serde::Serialize>(
        &self,
        tx: &mut crate::store::Tx<'_>,
        v: &T,
    ) -> Result<(), AppError> {
        let body = serde_json::to_vec(v).map_err(|e| AppError::Internal(e.to_string()))?;
        Store::idempotency_complete_tx(
            tx,
            self.actor,
            self.key,
            self.status.into(),
            Some("application/json"),
            &body,
        )
        .await?;
        Ok(())
    }
}

/// The runner.
pub struct Workflow;

fn check_comment(c: Option<&str>) -> Result<Option<String>, AppError> {
    match c.map(str::trim) {
        None | Some("") => Ok(None),
        Some(c) if c.chars().count() > MAX_COMMENT => Err(AppError::BadRequest(format!(
            "comment is longer than {MAX_COMMENT} characters"
        ))),
        Some(c) => Ok(Some(c.to_string())),
    }
}

fn check_attachments(a: &[String]) -> Result<serde_json::Value, AppError> {
    if a.len() > MAX_ATTACHMENTS {
        return Err(AppError::BadRequest(format!(
            "at most {MAX_ATTACHMENTS} attachments per event"
        )));
    }
    for r in a {
        if r.is_empty()
            || r.chars().count() > MAX_ATTACHMENT_REF
            || r.chars().any(|c| c.is_control())
        {
            return Err(AppError::BadRequest(format!(
                "an attachment reference is 1-{MAX_ATTACHMENT_REF} characters without control characters"
            )));
        }
    }
    Ok(json!(a))
}

fn check_limit(limit: Option<i64>) -> Result<i64, AppError> {
    crate::paging::limit(limit, 100, 1000)
}

fn new_id() -> String {
    let mut b = [0u8; 16];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut b);
    hex::encode(b)
}

fn view(k: &dyn Erased, row: WorkflowRow, actor: &Actor) -> Result<View, AppError> {
    let state = k.state(&row.state)?;
    let who = Who {
        actor,
        is_creator: row.created_by == actor.name,
    };
    let data = serde_json::from_str(&row.data)
        .map_err(|e| StoreError::Corrupt(format!("workflow {} data: {e}", row.id)))?;
    Ok(View {
        allowed_events: k.allowed(state, &who),
        id: row.id,
        kind: k.name(),
        state,
        version: row.version,
        data,
        created_by: row.created_by,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

impl Workflow {
    /// The names of the kinds the generic workflow API serves.
    pub fn kinds() -> Vec<&'static str> {
        KINDS
            .iter()
            .filter(|k| !k.scoped())
            .map(|k| k.name())
            .collect()
    }

    /// A stored record of a scoped kind as its service shows it (the service checked the scope).
    pub fn view_of(row: WorkflowRow, actor: &Actor) -> Result<View, AppError> {
        let k = any_kind(&row.kind)?;
        view(k, row, actor)
    }

    async fn load(app: &App, k: &dyn Erased, id: &str) -> Result<WorkflowRow, AppError> {
        match app.store.workflow_get(id).await? {
            Some(r) if r.kind == k.name() => Ok(r),
            _ => Err(AppError::NotFound(format!(
                "no {} workflow with id {id}",
                k.name()
            ))),
        }
    }

    /// Create a record of `kind` in its initial state: the record, its first history row (version
    /// 1, event `create`) and an audit entry in one transaction.
    pub async fn create(
        app: &App,
        actor: &Actor,
        kind_name: &str,
        data: &serde_json::Value,
        comment: Option<&str>,
        answer: Option<&Answer<'_>>,
    ) -> Result<View, AppError> {
        let k = kind(kind_name)?;
        Gate::Platform(actor).admit(k, k.create_permission())?;
        let mut tx = app.store.begin().await?;
        let v = Self::create_in(
            &mut tx,
            app,
            Gate::Platform(actor),
            kind_name,
            NewRecord {
                data,
                comment,
                org_id: None,
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

    /// Create a record in the caller's transaction (a scoped kind's service writes its own rows
    /// beside it, e.g. the claim on a seal name).
    pub async fn create_in(
        tx: &mut crate::store::Tx<'_>,
        app: &App,
        gate: Gate<'_>,
        kind_name: &str,
        new: NewRecord<'_>,
    ) -> Result<View, AppError> {
        let k = any_kind(kind_name)?;
        let actor = gate.admit(k, k.create_permission())?;
        let data = k.check_data(app, new.data)?;
        let comment = check_comment(new.comment)?;
        let now = crate::store::now();
        let row = WorkflowRow {
            id: new_id(),
            kind: k.name().into(),
            state: k.initial().into(),
            version: 1,
            data: data.to_string(),
            created_by: actor.name.clone(),
            created_at: now,
            updated_at: now,
            org_id: new.org_id,
            authority_id: new.authority_id,
        };
        Store::workflow_insert(tx, &row).await?;
        let (seq, _) = app
            .audit
            .append(
                tx,
                &actor.name,
                "workflow.create",
                json!({"kind": k.name(), "id": row.id, "state": row.state, "version": 1,
                       "data": data, "comment": comment, "org": row.org_id}),
            )
            .await?;
        Store::workflow_history_insert(
            tx,
            &HistoryRow {
                workflow_id: row.id.clone(),
                version: 1,
                at: now,
                actor: actor.name.clone(),
                event: "create".into(),
                from_state: None,
                to_state: row.state.clone(),
                comment,
                attachments: "[]".into(),
                audit_seq: seq,
            },
        )
        .await?;
        view(k, row, actor)
    }

    /// A record with its state, version and the events its state allows.
    pub async fn get(
        app: &App,
        actor: &Actor,
        kind_name: &str,
        id: &str,
    ) -> Result<View, AppError> {
        actor.require(Permission::Read)?;
        let k = kind(kind_name)?;
        let row = Self::load(app, k, id).await?;
        view(k, row, actor)
    }

    /// Records of a kind, oldest first, optionally only those in `state` (a work queue: e.g. the
    /// submitted requests), after the cursor (`next_cursor` of the page before).
    pub async fn list(
        app: &App,
        actor: &Actor,
        kind_name: &str,
        state: Option<&str>,
        cursor: Option<&str>,
        limit: Option<i64>,
    ) -> Result<ListPage, AppError> {
        actor.require(Permission::Read)?;
        let k = kind(kind_name)?;
        let state = match state {
            None | Some("") => None,
            Some(s) => Some(k.state(s).map_err(|_| {
                AppError::BadRequest(format!(
                    "{} has no state {s:?} (states: {})",
                    k.name(),
                    k.states().join(", ")
                ))
            })?),
        };
        let after = crate::paging::cursor(cursor)?;
        let limit = check_limit(limit)?;
        let rows = app
            .store
            .workflow_list(k.name(), state, after, limit)
            .await?;
        let next_cursor = crate::paging::next(&rows, limit, |r| (r.created_at, &r.id));
        let items = rows
            .into_iter()
            .map(|r| view(k, r, actor))
            .collect::<Result<_, _>>()?;
        Ok(ListPage { items, next_cursor })
    }

    /// History, oldest first, after the cursor (a version; empty or None for the start).
    pub async fn history(
        app: &App,
        actor: &Actor,
        kind_name: &str,
        id: &str,
        cursor: Option<&str>,
        limit: Option<i64>,
    ) -> Result<HistoryPage, AppError> {
        actor.require(Permission::Read)?;
        let k = kind(kind_name)?;
        Self::history_rows(app, k, id, cursor, limit).await
    }

    /// History of a scoped kind's record (its service checked the caller may read it).
    pub async fn history_of(
        app: &App,
        _allowed: Allowed,
        kind_name: &str,
        id: &str,
        cursor: Option<&str>,
        limit: Option<i64>,
    ) -> Result<HistoryPage, AppError> {
        let k = any_kind(kind_name)?;
        Self::history_rows(app, k, id, cursor, limit).await
    }

    async fn history_rows(
        app: &App,
        k: &dyn Erased,
        id: &str,
        cursor: Option<&str>,
        limit: Option<i64>,
    ) -> Result<HistoryPage, AppError> {
        Self::load(app, k, id).await?;
        let after = match cursor {
            None | Some("") => 0,
            Some(c) => c
                .parse::<i64>()
                .ok()
                .filter(|v| *v >= 0)
                .ok_or_else(|| AppError::BadRequest(format!("bad cursor {c:?}")))?,
        };
        let limit = check_limit(limit)?;
        let rows = app.store.workflow_history(id, after, limit).await?;
        let next_cursor = (rows.len() as i64 == limit)
            .then(|| rows.last().map(|r| r.version.to_string()))
            .flatten();
        let items = rows
            .into_iter()
            .map(|r| {
                Ok(HistoryEntry {
                    version: r.version,
                    at: r.at,
                    actor: r.actor,
                    event: r.event,
                    from: r.from_state,
                    to: r.to_state,
                    comment: r.comment,
                    attachments: serde_json::from_str(&r.attachments).map_err(|e| {
                        StoreError::Corrupt(format!("workflow history attachments: {e}"))
                    })?,
                    audit_seq: r.audit_seq,
                })
            })
            .collect::<Result<_, AppError>>()?;
        Ok(HistoryPage { items, next_cursor })
    }

    /// Apply an event: permission, the record at the version the caller saw, the kind's transition,
    /// then state + history + audit in one transaction (`UPDATE … WHERE version = N`: a record
    /// changed meanwhile is a 409 stale version and nothing is written).
    /// Refuse an actor whose role grants none of the kind's event permissions, before the request
    /// is read (so a refusal does not depend on what was sent). The runner still checks the event.
    pub fn may_act(actor: &Actor, kind_name: &str) -> Result<(), AppError> {
        let k = kind(kind_name)?;
        let perms: Vec<Permission> = k
            .events()
            .into_iter()
            .filter_map(|e| k.event_permission(e))
            .collect();
        if perms.iter().any(|p| p.granted_to(actor.role)) {
            return Ok(());
        }
        match perms.first() {
            Some(p) => actor.require(*p),
            None => Ok(()),
        }
    }

    pub async fn apply(
        app: &App,
        actor: &Actor,
        kind_name: &str,
        id: &str,
        req: &EventRequest<'_>,
        answer: Option<&Answer<'_>>,
    ) -> Result<View, AppError> {
        kind(kind_name)?;
        let step = Self::step(app, Gate::Platform(actor), kind_name, id, req).await?;
        let mut tx = app.store.begin().await?;
        let v = step.write(app, &mut tx).await?;
        if let Some(a) = answer {
            a.record(&mut tx, &v).await?;
        }
        tx.commit().await.map_err(StoreError::from)?;
        Ok(v)
    }

    /// Check an event against the record as it is now (permission, version, transition table)
    /// without writing: the caller writes the [`Step`] in its own transaction, beside what the
    /// event makes (a seal, a status change), so both land or neither does.
    pub async fn step(
        app: &App,
        gate: Gate<'_>,
        kind_name: &str,
        id: &str,
        req: &EventRequest<'_>,
    ) -> Result<Step, AppError> {
        let k = any_kind(kind_name)?;
        let permission = k.event_permission(req.event).ok_or_else(|| {
            AppError::BadRequest(format!(
                "{} has no event {:?} (events: {})",
                k.name(),
                req.event,
                k.events().join(", ")
            ))
        })?;
        let actor = gate.admit(k, permission)?;
        let comment = check_comment(req.comment)?;
        let attachments = check_attachments(req.attachments)?;
        let row = Self::load(app, k, id).await?;
        let from = k.state(&row.state)?;
        let who = Who {
            actor,
            is_creator: row.created_by == actor.name,
        };
        if row.version != req.version {
            return Err(stale(k, &row, from, &who, req.version));
        }
        let to = match k.step(from, req.event, &who) {
            Ok(to) => to,
            Err(Refusal::OutOfOrder) => {
                let allowed = k.allowed(from, &who);
                return Err(AppError::StateConflict {
                    reason: "out-of-order",
                    message: format!(
                        "event {} does not apply: {} {id} is {from} (version {}); allowed events: {}",
                        req.event,
                        k.name(),
                        row.version,
                        if allowed.is_empty() {
                            "none".to_string()
                        } else {
                            allowed.join(", ")
                        }
                    ),
                    state: from,
                    version: row.version,
                    allowed_events: allowed,
                });
            }
            Err(Refusal::NotForYou(why)) => return Err(AppError::Denied(why.to_string())),
        };
        Ok(Step {
            k,
            row,
            from,
            to,
            event: req.event.to_string(),
            comment,
            attachments,
            actor: actor.clone(),
            data: None,
        })
    }
}

/// A checked event, not yet written (see [`Workflow::step`]).
pub struct Step {
    k: &'static dyn Erased,
    row: WorkflowRow,
    from: &'static str,
    to: &'static str,
    event: String,
    comment: Option<String>,
    attachments: serde_json::Value,
    actor: Actor,
    data: Option<String>,
}

impl Step {
    /// The record as it was when checked.
    pub fn record(&self) -> &WorkflowRow {
        &self.row
    }

    /// The state the event leads to.
    pub fn to(&self) -> &'static str {
        self.to
    }

    /// Replace the record's data with the event (an edited application sent again); the data is
    /// checked by the kind as a new record's would be.
    pub fn with_data(mut self, app: &App, data: &serde_json::Value) -> Result<Self, AppError> {
        self.data = Some(self.k.check_data(app, data)?.to_string());
        Ok(self)
    }

    /// Write the state, the history row and the audit entry in `tx` (`UPDATE … WHERE version = N`:
    /// a record changed meanwhile is a 409 stale version, and the caller's transaction must not
    /// commit).
    pub async fn write(self, app: &App, tx: &mut crate::store::Tx<'_>) -> Result<View, AppError> {
        let Step {
            k,
            row,
            from,
            to,
            event,
            comment,
            attachments,
            actor,
            data,
        } = self;
        let id = row.id.clone();
        let now = crate::store::now();
        let version = row.version + 1;
        if !Store::workflow_advance(tx, &id, row.version, to, now).await? {
            let current = Workflow::load(app, k, &id).await?;
            let state = k.state(&current.state)?;
            let who = Who {
                actor: &actor,
                is_creator: current.created_by == actor.name,
            };
            return Err(stale(k, &current, state, &who, row.version));
        }
        if let Some(d) = &data {
            Store::workflow_set_data(tx, &id, d).await?;
        }
        let (seq, _) = app
            .audit
            .append(
                tx,
                &actor.name,
                "workflow.transition",
                json!({"kind": k.name(), "id": id, "event": event, "from": from, "to": to,
                       "version": version, "comment": comment, "attachments": attachments,
                       "data": data.as_deref().map(serde_json::from_str::<serde_json::Value>).transpose().ok().flatten()}),
            )
            .await?;
        Store::workflow_history_insert(
            tx,
            &HistoryRow {
                workflow_id: id.clone(),
                version,
                at: now,
                actor: actor.name.clone(),
                event,
                from_state: Some(from.to_string()),
                to_state: to.to_string(),
                comment,
                attachments: attachments.to_string(),
                audit_seq: seq,
            },
        )
        .await?;
        view(
            k,
            WorkflowRow {
                state: to.to_string(),
                version,
                updated_at: now,
                data: data.unwrap_or(row.data.clone()),
                ..row
            },
            &actor,
        )
    }
}

fn stale(
    k: &dyn Erased,
    row: &WorkflowRow,
    state: &'static str,
    who: &Who<'_>,
    asked: i64,
) -> AppError {
    AppError::StateConflict {
        reason: "stale-version",
        message: format!(
            "stale version: the event was sent for version {asked}, but {} {} is now {state} at version {}",
            k.name(),
            row.id,
            row.version
        ),
        state,
        version: row.version,
        allowed_events: k.allowed(state, who),
    }
}
