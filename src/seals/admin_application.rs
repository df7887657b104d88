//! `seal-admin-application` (印章管理员申请): someone asks to become a seal administrator of an
//! organisation — themselves, as one of its members, or named by its seal administrators — with
//! the signed application form uploaded and a reason; the superior authority (reviewers and seal
//! administrators of the organisation's parent or its ancestors, platform staff for a top-level
//! organisation) approves or returns it. Approval grants the `seal-admin` membership in the same
//! transaction (`seals::admin_service`). The review table here is shared with `org_update`.

use serde::{Deserialize, Serialize};

use crate::access::Permission;
use crate::app::App;
use crate::error::AppError;
use crate::named_enum;
use crate::workflow::{Kind, Refusal, Who, MAX_COMMENT};

named_enum! {
    /// Where an application stands.
    pub enum State {
        /// 待审核 — with the superior authority.
        PendingReview = "pending-review",
        /// 退回 — sent back with comments, to correct and send again.
        Returned = "returned",
        /// 已通过 — approved and applied (the role granted, the registry changed).
        Approved = "approved",
        /// 已撤回 — taken back before a decision.
        Withdrawn = "withdrawn",
    }
}

named_enum! {
    /// What can happen to an application.
    pub enum Event {
        Approve = "approve",
        Return = "return",
        /// Sent again after a return (optionally with corrected data).
        Resubmit = "resubmit",
        Withdraw = "withdraw",
    }
}

impl Event {
    /// Sent by the deciding side; the others by the applying side.
    pub fn decides(self) -> bool {
        matches!(self, Event::Approve | Event::Return)
    }
}

/// The review table both kinds share: pending-review → approve | return; returned → resubmit;
/// withdraw before a decision; the one who applied never decides.
pub fn review(state: State, event: Event, who: &Who<'_>) -> Result<State, Refusal> {
    use Event as E;
    use State as S;
    let next = match (state, event) {
        (S::PendingReview, E::Approve) => S::Approved,
        (S::PendingReview, E::Return) => S::Returned,
        (S::Returned, E::Resubmit) => S::PendingReview,
        (S::PendingReview | S::Returned, E::Withdraw) => S::Withdrawn,
        _ => return Err(Refusal::OutOfOrder),
    };
    if event.decides() && who.is_creator {
        return Err(Refusal::NotForYou(
            "the one who applied may not decide their own application (the superior authority \
             must)",
        ));
    }
    Ok(next)
}

pub(crate) fn is_id(s: &str) -> bool {
    (1..=64).contains(&s.len()) && s.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
}

pub(crate) fn check_reason(r: &str) -> Result<String, AppError> {
    let r = r.trim();
    if r.is_empty()
        || r.chars().count() > MAX_COMMENT
        || r.chars().any(|c| c.is_control() && c != '\n')
    {
        return Err(AppError::BadRequest(format!(
            "reason: 1-{MAX_COMMENT} characters saying why"
        )));
    }
    Ok(r.to_string())
}

/// What an application asks for, as stored (checked and normalised).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = SealAdminApplicationData)]
pub struct Data {
    /// The organisation whose seal administrator the applicant will be (its id).
    pub org_id: String,
    /// The account that will hold the role (a username); omitted: the caller. Filled in by the
    /// service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applicant: Option<String>,
    /// The signed application form (a file id; uploaded as application-scan or attachment).
    pub form_file: String,
    /// Why (shown to the superior authority, kept in the history).
    pub reason: String,
}

impl Data {
    /// Parse and check what a client sent (shape only; the service checks what exists).
    pub fn check(v: &serde_json::Value) -> Result<Data, AppError> {
        let mut d: Data = serde_json::from_value(v.clone()).map_err(|e| {
            AppError::BadRequest(format!(
                "a seal-administrator application is {{\"org_id\", \"applicant\"?, \"form_file\", \
                 \"reason\"}}: {e}"
            ))
        })?;
        if !is_id(&d.org_id) {
            return Err(AppError::BadRequest("org_id: an organisation id".into()));
        }
        if !is_id(&d.form_file) {
            return Err(AppError::BadRequest(
                "form_file: the id of the uploaded signed form".into(),
            ));
        }
        if let Some(a) = &d.applicant {
            let a = a.trim();
            if a.is_empty() || a.chars().count() > 64 || a.chars().any(char::is_control) {
                return Err(AppError::BadRequest("applicant: a username".into()));
            }
            d.applicant = Some(a.to_string());
        }
        d.reason = check_reason(&d.reason)?;
        Ok(d)
    }

    /// The applicant as stored (the service always fills it in).
    pub fn applicant(&self) -> &str {
        self.applicant.as_deref().unwrap_or_default()
    }
}

pub struct SealAdminApplication;

impl Kind for SealAdminApplication {
    const NAME: &'static str = "seal-admin-application";
    type State = State;
    type Event = Event;
    const INITIAL: State = State::PendingReview;
    const CREATE: Permission = Permission::Read;
    const SCOPED: bool = true;

    fn permission(_event: Event) -> Permission {
        // Not consulted for a scoped kind (the policy decides); the nearest platform permission.
        Permission::Read
    }

    fn transition(state: State, event: Event, who: &Who<'_>) -> Result<State, Refusal> {
        review(state, event, who)
    }

    fn check_data(_app: &App, data: &serde_json::Value) -> Result<serde_json::Value, AppError> {
        let d = Data::check(data)?;
        serde_json::to_value(&d).map_err(|e| AppError::Internal(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::Actor;
    use crate::store::Role;
    use crate::workflow::Named;
    use serde_json::json;

    #[test]
    fn data_is_checked_and_normalised() {
        let d =
            Data::check(&json!({"org_id": "o1", "form_file": "f1", "reason": " 新任 "})).unwrap();
        assert_eq!(d.reason, "新任");
        assert_eq!(d.applicant, None);
        for bad in [
            json!({"org_id": "o1", "form_file": "f1", "reason": " "}),
            json!({"org_id": "o 1", "form_file": "f1", "reason": "x"}),
            json!({"org_id": "o1", "reason": "x"}),
            json!({"org_id": "o1", "form_file": "f1", "reason": "x", "role": "admin"}),
            json!({"org_id": "o1", "form_file": "f1", "reason": "x", "applicant": ""}),
        ] {
            assert!(Data::check(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_review_table_holds_and_nobody_decides_their_own() {
        let a = Actor {
            name: "x".into(),
            role: Role::Person,
        };
        let mine = Who {
            actor: &a,
            is_creator: true,
        };
        let theirs = Who {
            actor: &a,
            is_creator: false,
        };
        use Event as E;
        use State as S;
        type K = SealAdminApplication;
        assert!(matches!(
            K::transition(S::PendingReview, E::Approve, &mine),
            Err(Refusal::NotForYou(_))
        ));
        assert!(matches!(
            K::transition(S::PendingReview, E::Return, &mine),
            Err(Refusal::NotForYou(_))
        ));
        assert_eq!(
            K::transition(S::PendingReview, E::Approve, &theirs),
            Ok(S::Approved)
        );
        assert_eq!(
            K::transition(S::PendingReview, E::Return, &theirs),
            Ok(S::Returned)
        );
        assert_eq!(
            K::transition(S::Returned, E::Resubmit, &mine),
            Ok(S::PendingReview)
        );
        assert_eq!(
            K::transition(S::Returned, E::Withdraw, &mine),
            Ok(S::Withdrawn)
        );
        assert_eq!(
            K::transition(S::Returned, E::Approve, &theirs),
            Err(Refusal::OutOfOrder)
        );
        for s in [S::Approved, S::Withdrawn] {
            for &e in Event::ALL {
                assert_eq!(K::transition(s, e, &theirs), Err(Refusal::OutOfOrder));
            }
        }
        assert_eq!(
            K::transition(S::PendingReview, E::Resubmit, &mine),
            Err(Refusal::OutOfOrder)
        );
    }
}
