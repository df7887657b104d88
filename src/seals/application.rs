//! `seal-application`: an organisation asks for a new electronic seal (the Zhejiang manual's §2):
//! fill in → print the form, stamp it, upload the scan → submit → the approving authority's
//! reviewer returns it with comments (edit, resubmit) or approves → the platform produces the seal
//! (a cloud seal is complete at once; a UKey seal is shipped and complete when the holder confirms
//! receipt with the token). Withdrawn before a decision. A scoped kind: `seals::service` decides
//! who may send each event with `accounts::policy`, the table here decides when.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::model::{SealType, SigningMode, YEARS};
use crate::access::Permission;
use crate::accounts::ids::CreditCode;
use crate::app::App;
use crate::error::AppError;
use crate::named_enum;
use crate::workflow::{Kind, Named, Refusal, Who};

named_enum! {
    /// Where an application stands.
    pub enum State {
        /// Being filled in: the form printed, the stamped scan uploaded.
        Draft = "draft",
        /// 待审核 — with the approving authority.
        PendingReview = "pending-review",
        /// 退回 — returned with comments, to edit and send again.
        Returned = "returned",
        /// 待制作 — approved; the platform makes the seal.
        PendingProduction = "pending-production",
        /// A UKey seal written to the holder's token, awaiting confirmation of receipt.
        Shipped = "shipped",
        /// 已完成 — the seal exists and is active.
        Complete = "complete",
        /// 已撤回 — taken back before a decision.
        Withdrawn = "withdrawn",
    }
}

named_enum! {
    /// What can happen to an application.
    pub enum Event {
        /// Record the stamped scan of the printed form (an attachment: the file id).
        AttachScan = "attach-scan",
        Submit = "submit",
        Withdraw = "withdraw",
        /// The reviewer sends it back with comments.
        Return = "return",
        /// Sent again after editing.
        Resubmit = "resubmit",
        Approve = "approve",
        /// The platform made a cloud seal.
        Produce = "produce",
        /// The platform made a UKey seal on the holder's token.
        Ship = "ship",
        /// The holder confirmed receipt with the token.
        ConfirmReceipt = "confirm-receipt",
        /// The order was paid (sent by `system` from the payment provider's callback, or when
        /// a unified payer covers the application): history only, the state stays.
        RecordPayment = "record-payment",
    }
}

impl Event {
    /// Sent by the applying side (applicants and seal administrators of the organisation).
    pub fn by_applicant(self) -> bool {
        matches!(
            self,
            Event::AttachScan
                | Event::Submit
                | Event::Withdraw
                | Event::Resubmit
                | Event::ConfirmReceipt
        )
    }

    /// Sent by the approving authority's reviewers.
    pub fn by_reviewer(self) -> bool {
        matches!(self, Event::Return | Event::Approve)
    }
}

pub struct SealApplication;

/// What an application asks for, as stored (checked and normalised).
#[derive(Clone, Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Data {
    /// The applying organisation (its id).
    pub org_id: String,
    /// The seal's name as it appears on the face (unique across the system).
    pub seal_name: String,
    /// legal-name, finance, invoice, contract, business, personal.
    pub seal_type: String,
    /// cloud or ukey.
    pub mode: String,
    /// 1 or 2.
    pub years: u32,
    /// The approving authority (an organisation id).
    pub authority_id: String,
    /// Invoice seals: the taxpayer number (a unified social credit code).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taxpayer: Option<String>,
    /// Personal-name seals: the person's name on the face.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person_name: Option<String>,
    /// An uploaded impression to use as the seal picture instead of a generated one (file id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub picture_file: Option<String>,
    /// The stamped scan of the printed form (file id), set by `attach-scan`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan_file: Option<String>,
}

/// The longest seal name, in characters.
pub const MAX_NAME: usize = 60;

fn bad(field: &str, why: impl std::fmt::Display) -> AppError {
    AppError::BadRequest(format!("{field}: {why}"))
}

fn is_id(s: &str) -> bool {
    (1..=64).contains(&s.len()) && s.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
}

impl Data {
    /// Parse and check what a client sent (names trimmed, codes upper-cased).
    pub fn check(v: &serde_json::Value) -> Result<Data, AppError> {
        let mut d: Data = serde_json::from_value(v.clone()).map_err(|e| {
            AppError::BadRequest(format!(
                "a seal application is {{\"org_id\", \"seal_name\", \"seal_type\", \"mode\", \
                 \"years\", \"authority_id\", \"taxpayer\"?, \"person_name\"?, \"picture_file\"?}}: {e}"
            ))
        })?;
        d.seal_name = d.seal_name.trim().to_string();
        let n = d.seal_name.chars().count();
        if !(2..=MAX_NAME).contains(&n) || d.seal_name.chars().any(char::is_control) {
            return Err(bad(
                "seal_name",
                format!("2-{MAX_NAME} characters without control characters"),
            ));
        }
        let t = SealType::parse(&d.seal_type).ok_or_else(|| {
            bad(
                "seal_type",
                format!(
                    "one of {}",
                    SealType::ALL
                        .iter()
                        .map(|t| t.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })?;
        SigningMode::parse(&d.mode).ok_or_else(|| bad("mode", "cloud or ukey"))?;
        if !YEARS.contains(&d.years) {
            return Err(bad("years", "1 or 2"));
        }
        for (f, id) in [("org_id", &d.org_id), ("authority_id", &d.authority_id)] {
            if !is_id(id) {
                return Err(bad(f, "an organisation id"));
            }
        }
        if d.org_id == d.authority_id {
            return Err(bad(
                "authority_id",
                "the approving authority is another organisation than the applicant",
            ));
        }
        match (t, &d.taxpayer) {
            (SealType::Invoice, None) => {
                return Err(bad(
                    "taxpayer",
                    "an invoice seal carries the taxpayer number (unified social credit code)",
                ))
            }
            (_, Some(tp)) => {
                let code = CreditCode::parse(tp.trim()).map_err(|e| bad("taxpayer", e))?;
                d.taxpayer = Some(code.as_str().to_string());
            }
            _ => {}
        }
        match (t, &d.person_name) {
            (SealType::Personal, None) => {
                return Err(bad("person_name", "a personal-name seal needs the name"))
            }
            (SealType::Personal, Some(p)) => {
                let p = p.trim().to_string();
                if !(2..=4).contains(&p.chars().count()) {
                    return Err(bad("person_name", "2-4 characters"));
                }
                d.person_name = Some(p);
            }
            (_, Some(_)) => {
                return Err(bad("person_name", "only for personal-name seals"));
            }
            _ => {}
        }
        for (f, id) in [
            ("picture_file", &d.picture_file),
            ("scan_file", &d.scan_file),
        ] {
            if id.as_deref().is_some_and(|i| !is_id(i)) {
                return Err(bad(f, "a file id"));
            }
        }
        Ok(d)
    }

    pub fn seal_type(&self) -> SealType {
        // Checked on the way in; a stored value that does not parse is refused there.
        SealType::parse(&self.seal_type).unwrap_or(SealType::Business)
    }

    pub fn mode(&self) -> SigningMode {
        SigningMode::parse(&self.mode).unwrap_or(SigningMode::Cloud)
    }

    /// Read stored data back (it was checked when written).
    pub fn stored(data: &serde_json::Value) -> Result<Data, AppError> {
        Data::check(data)
    }
}

impl Kind for SealApplication {
    const NAME: &'static str = "seal-application";
    type State = State;
    type Event = Event;
    const INITIAL: State = State::Draft;
    const CREATE: Permission = Permission::Read;
    const SCOPED: bool = true;

    fn permission(event: Event) -> Permission {
        // Not consulted for a scoped kind; the nearest platform permission, for documentation.
        match event {
            Event::Produce | Event::Ship => Permission::Issue,
            _ => Permission::Read,
        }
    }

    fn transition(state: State, event: Event, who: &Who<'_>) -> Result<State, Refusal> {
        use Event as E;
        use State as S;
        let next = match (state, event) {
            (S::Draft, E::AttachScan) => S::Draft,
            (S::Returned, E::AttachScan) => S::Returned,
            (S::Draft, E::RecordPayment) => S::Draft,
            (S::Returned, E::RecordPayment) => S::Returned,
            (S::Draft, E::Submit) => S::PendingReview,
            (S::Draft | S::PendingReview | S::Returned, E::Withdraw) => S::Withdrawn,
            (S::PendingReview, E::Return) => S::Returned,
            (S::Returned, E::Resubmit) => S::PendingReview,
            (S::PendingReview, E::Approve) => S::PendingProduction,
            (S::PendingProduction, E::Produce) => S::Complete,
            (S::PendingProduction, E::Ship) => S::Shipped,
            (S::Shipped, E::ConfirmReceipt) => S::Complete,
            _ => return Err(Refusal::OutOfOrder),
        };
        if event == E::RecordPayment && who.actor.name != "system" {
            return Err(Refusal::NotForYou(
                "record-payment is sent by the payment service when an order is paid",
            ));
        }
        if event.by_reviewer() && who.is_creator {
            return Err(Refusal::NotForYou(
                "the applicant may not decide their own seal application (a reviewer of the \
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

/// The record's data as the API shows it, with labels.
pub fn describe(d: &Data) -> serde_json::Value {
    json!({"seal_type_zh": d.seal_type().zh()})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::Actor;
    use crate::store::Role;

    fn data() -> serde_json::Value {
        json!({"org_id": "o1", "seal_name": " 杭州示例科技有限公司合同专用章 ", "seal_type": "contract",
               "mode": "cloud", "years": 2, "authority_id": "a1"})
    }

    #[test]
    fn data_is_checked_and_normalised() {
        let d = Data::check(&data()).unwrap();
        assert_eq!(d.seal_name, "杭州示例科技有限公司合同专用章");
        let mut v = data();
        v["years"] = json!(3);
        assert!(Data::check(&v).unwrap_err().to_string().contains("years"));
        let mut v = data();
        v["seal_type"] = json!("invoice");
        assert!(Data::check(&v)
            .unwrap_err()
            .to_string()
            .contains("taxpayer"));
        v["taxpayer"] = json!("91330106MA2XXXXX1X");
        assert!(Data::check(&v)
            .unwrap_err()
            .to_string()
            .contains("taxpayer"));
        let mut v = data();
        v["authority_id"] = json!("o1");
        assert!(Data::check(&v).is_err());
        let mut v = data();
        v["extra"] = json!(1);
        assert!(Data::check(&v).is_err());
        let mut v = data();
        v["seal_type"] = json!("personal");
        assert!(Data::check(&v)
            .unwrap_err()
            .to_string()
            .contains("person_name"));
        v["person_name"] = json!("张三");
        assert!(Data::check(&v).is_ok());
    }

    #[test]
    fn reviewers_do_not_decide_their_own_and_the_table_holds() {
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
        assert_eq!(
            SealApplication::transition(S::Draft, E::Submit, &mine),
            Ok(S::PendingReview)
        );
        assert!(matches!(
            SealApplication::transition(S::PendingReview, E::Approve, &mine),
            Err(Refusal::NotForYou(_))
        ));
        assert_eq!(
            SealApplication::transition(S::PendingReview, E::Approve, &theirs),
            Ok(S::PendingProduction)
        );
        assert_eq!(
            SealApplication::transition(S::Withdrawn, E::Approve, &theirs),
            Err(Refusal::OutOfOrder)
        );
        assert_eq!(
            SealApplication::transition(S::Complete, E::Withdraw, &mine),
            Err(Refusal::OutOfOrder)
        );
        for &s in State::ALL {
            for &e in Event::ALL {
                if let Ok(to) = SealApplication::transition(s, e, &theirs) {
                    assert!(State::ALL.contains(&to));
                }
            }
        }
    }
}
