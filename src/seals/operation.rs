//! `seal-operation`: an application to change an existing seal — revoke (吊销), report loss
//! (挂失), restore (恢复), reissue (补发), renew — reviewed by the approving authority of the seal's
//! application. Approval applies the change in the same transaction as the decision. A loss report
//! takes effect when it is made (a lost seal must stop signing at once, not after a review); its
//! approval confirms it. A scoped kind (see `seals::service`).

use serde::{Deserialize, Serialize};

use super::model::SealEvent;
use crate::access::Permission;
use crate::app::App;
use crate::error::AppError;
use crate::named_enum;
use crate::workflow::{Kind, Named, Refusal, Who};

named_enum! {
    pub enum State {
        PendingReview = "pending-review",
        Returned = "returned",
        /// Approved and applied to the seal.
        Done = "done",
        Withdrawn = "withdrawn",
    }
}

named_enum! {
    pub enum Event {
        Approve = "approve",
        Return = "return",
        Resubmit = "resubmit",
        Withdraw = "withdraw",
    }
}

named_enum! {
    /// What is asked for.
    pub enum Operation {
        ReportLoss = "report-loss",
        Restore = "restore",
        Reissue = "reissue",
        Renew = "renew",
        Revoke = "revoke",
    }
}

impl Operation {
    /// The seal event the operation makes.
    pub fn event(self) -> SealEvent {
        match self {
            Operation::Revoke => SealEvent::Revoke,
            Operation::ReportLoss => SealEvent::ReportLoss,
            Operation::Restore => SealEvent::Restore,
            Operation::Reissue => SealEvent::Reissue,
            Operation::Renew => SealEvent::Renew,
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            Operation::Revoke => "吊销",
            Operation::ReportLoss => "挂失",
            Operation::Restore => "恢复",
            Operation::Reissue => "补发",
            Operation::Renew => "续期",
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Data {
    pub seal_id: String,
    /// revoke, report-loss, restore, reissue, renew.
    pub operation: String,
    /// Why (shown to the reviewer, kept in the history).
    pub reason: String,
    /// Set by the service: the organisation and authority, copied from the seal's application.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seal_code: Option<String>,
}

impl Data {
    pub fn check(v: &serde_json::Value) -> Result<Data, AppError> {
        let mut d: Data = serde_json::from_value(v.clone()).map_err(|e| {
            AppError::BadRequest(format!(
                "a seal operation is {{\"seal_id\", \"operation\", \"reason\"}}: {e}"
            ))
        })?;
        if Operation::parse(&d.operation).is_none() {
            return Err(AppError::BadRequest(format!(
                "operation: one of {}",
                Operation::ALL
                    .iter()
                    .map(|o| o.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        d.reason = d.reason.trim().to_string();
        if d.reason.is_empty() || d.reason.chars().count() > crate::workflow::MAX_COMMENT {
            return Err(AppError::BadRequest(format!(
                "reason: 1-{} characters saying why",
                crate::workflow::MAX_COMMENT
            )));
        }
        if d.seal_id.is_empty() || d.seal_id.len() > 64 {
            return Err(AppError::BadRequest("seal_id: a seal id".into()));
        }
        Ok(d)
    }

    pub fn operation(&self) -> Operation {
        Operation::parse(&self.operation).unwrap_or(Operation::Revoke)
    }
}

pub struct SealOperation;

impl Kind for SealOperation {
    const NAME: &'static str = "seal-operation";
    type State = State;
    type Event = Event;
    const INITIAL: State = State::PendingReview;
    const CREATE: Permission = Permission::Read;
    const SCOPED: bool = true;

    fn permission(_event: Event) -> Permission {
        Permission::ChangeStatus
    }

    fn transition(state: State, event: Event, who: &Who<'_>) -> Result<State, Refusal> {
        use Event as E;
        use State as S;
        let next = match (state, event) {
            (S::PendingReview, E::Approve) => S::Done,
            (S::PendingReview, E::Return) => S::Returned,
            (S::Returned, E::Resubmit) => S::PendingReview,
            (S::PendingReview | S::Returned, E::Withdraw) => S::Withdrawn,
            _ => return Err(Refusal::OutOfOrder),
        };
        if matches!(event, E::Approve | E::Return) && who.is_creator {
            return Err(Refusal::NotForYou(
                "the applicant may not decide their own seal operation (a reviewer of the \
                 approving authority must)",
            ));
        }
        Ok(next)
    }

    fn check_data(_app: &App, data: &serde_json::Value) -> Result<serde_json::Value, AppError> {
        let d = Data::check(data)?;
        serde_json::to_value(&d).map_err(|e| AppError::Internal(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn operations_are_checked() {
        let ok = json!({"seal_id": "s", "operation": "report-loss", "reason": "丢失"});
        assert_eq!(Data::check(&ok).unwrap().operation(), Operation::ReportLoss);
        assert!(Data::check(&json!({"seal_id": "s", "operation": "burn", "reason": "x"})).is_err());
        assert!(
            Data::check(&json!({"seal_id": "s", "operation": "revoke", "reason": " "})).is_err()
        );
        for o in Operation::ALL {
            assert_eq!(Operation::parse(o.name()), Some(*o));
        }
    }
}
