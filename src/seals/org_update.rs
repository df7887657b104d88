//! `org-update` (单位信息变更): an organisation's seal administrators (or those above it) ask to
//! change its registry data — the unified social credit code, the name, the parent — with the
//! new business licence uploaded and a reason; platform operators and administrators approve or
//! return it (`policy::Action::DecideOrgUpdate`). Approval writes the organisation row in the
//! same transaction (`seals::admin_service`). States and events are `admin_application`'s.

use serde::{Deserialize, Serialize};

use super::admin_application::{check_reason, is_id, review, Event, State};
use crate::access::Permission;
use crate::accounts::ids::CreditCode;
use crate::accounts::orgs::check_org_name;
use crate::app::App;
use crate::error::AppError;
use crate::workflow::{Kind, Refusal, Who};

/// What an update asks for, as stored (checked and normalised).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = OrgUpdateData)]
pub struct Data {
    /// The organisation to change (its id).
    pub org_id: String,
    /// The new unified social credit code (GB 32100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credit_code: Option<String>,
    /// The new name (unique after folding full-width forms and spaces).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The new parent (an organisation id, not inside the organisation's own subtree).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    /// The new business licence or registration certificate (a file id; uploaded as
    /// application-scan or attachment).
    pub licence_file: String,
    /// Why (shown to the platform's reviewers, kept in the history).
    pub reason: String,
}

impl Data {
    /// Parse and check what a client sent: at least one change, the code by GB 32100, the name
    /// by the registry's rule (what exists is the service's to check).
    pub fn check(v: &serde_json::Value) -> Result<Data, AppError> {
        let mut d: Data = serde_json::from_value(v.clone()).map_err(|e| {
            AppError::BadRequest(format!(
                "an organisation update is {{\"org_id\", \"credit_code\"?, \"name\"?, \
                 \"parent_id\"?, \"licence_file\", \"reason\"}}: {e}"
            ))
        })?;
        if !is_id(&d.org_id) {
            return Err(AppError::BadRequest("org_id: an organisation id".into()));
        }
        if !is_id(&d.licence_file) {
            return Err(AppError::BadRequest(
                "licence_file: the id of the uploaded licence".into(),
            ));
        }
        if d.credit_code.is_none() && d.name.is_none() && d.parent_id.is_none() {
            return Err(AppError::BadRequest(
                "give at least one of credit_code, name, parent_id".into(),
            ));
        }
        if let Some(c) = &d.credit_code {
            let code = CreditCode::parse(c).map_err(|e| AppError::Invalid {
                field: "credit_code",
                rule: e.rule().to_string(),
            })?;
            d.credit_code = Some(code.as_str().to_string());
        }
        if let Some(n) = &d.name {
            d.name = Some(check_org_name(n)?);
        }
        if let Some(p) = &d.parent_id {
            if !is_id(p) {
                return Err(AppError::BadRequest("parent_id: an organisation id".into()));
            }
            if *p == d.org_id {
                return Err(AppError::Invalid {
                    field: "parent_id",
                    rule: "an organisation cannot be its own parent".into(),
                });
            }
        }
        d.reason = check_reason(&d.reason)?;
        Ok(d)
    }
}

pub struct OrgUpdate;

impl Kind for OrgUpdate {
    const NAME: &'static str = "org-update";
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
    use serde_json::json;

    #[test]
    fn updates_are_checked_and_normalised() {
        let d = Data::check(
            &json!({"org_id": "o1", "credit_code": " 91110108551385082q ",
            "licence_file": "f1", "reason": "更名"}),
        )
        .unwrap();
        assert_eq!(d.credit_code.as_deref(), Some("91110108551385082Q"));
        let d = Data::check(
            &json!({"org_id": "o1", "name": " 新名称有限公司 ", "licence_file": "f1", "reason": "x"}),
        )
        .unwrap();
        assert_eq!(d.name.as_deref(), Some("新名称有限公司"));
        for bad in [
            json!({"org_id": "o1", "licence_file": "f1", "reason": "nothing to change"}),
            json!({"org_id": "o1", "credit_code": "91110108551385082X", "licence_file": "f1", "reason": "x"}),
            json!({"org_id": "o1", "name": "x", "licence_file": "f1", "reason": "x"}),
            json!({"org_id": "o1", "parent_id": "o1", "licence_file": "f1", "reason": "x"}),
            json!({"org_id": "o1", "name": "新名称", "reason": "x"}),
            json!({"org_id": "o1", "name": "新名称", "licence_file": "f1", "reason": "x", "kind": "police"}),
        ] {
            assert!(Data::check(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_table_is_the_shared_review_table() {
        let a = Actor {
            name: "x".into(),
            role: Role::Operator,
        };
        let mine = Who {
            actor: &a,
            is_creator: true,
        };
        let theirs = Who {
            actor: &a,
            is_creator: false,
        };
        assert_eq!(
            OrgUpdate::transition(State::PendingReview, Event::Approve, &theirs),
            Ok(State::Approved)
        );
        assert!(matches!(
            OrgUpdate::transition(State::PendingReview, Event::Approve, &mine),
            Err(Refusal::NotForYou(_))
        ));
        assert_eq!(
            OrgUpdate::transition(State::Approved, Event::Withdraw, &mine),
            Err(Refusal::OutOfOrder)
        );
        assert_eq!(
            OrgUpdate::transition(State::Returned, Event::Resubmit, &mine),
            Ok(State::PendingReview)
        );
    }
}
