//! The first workflow kind, `authority-certificate`: an operator asks for a certificate of a
//! ceremony-only profile (sub-CA, TSA, OCSP responder), which today only the key ceremony makes; an
//! administrator other than the requester approves or rejects. Approval is recorded only: making the
//! certificate stays with the ceremony (a later `issued` state will record it).

use serde::Deserialize;
use serde_json::json;

use super::{Kind, Refusal, Who};
use crate::access::Permission;
use crate::app::App;
use crate::error::AppError;
use crate::named_enum;

named_enum! {
    /// Where a request stands.
    pub enum State {
        Draft = "draft",
        Submitted = "submitted",
        Approved = "approved",
        Rejected = "rejected",
        Withdrawn = "withdrawn",
    }
}

named_enum! {
    /// What can happen to a request.
    pub enum Event {
        /// The requester sends the draft for a decision.
        Submit = "submit",
        /// The requester takes a draft or submitted request back.
        Withdraw = "withdraw",
        /// An administrator other than the requester approves it.
        Approve = "approve",
        /// An administrator other than the requester rejects it.
        Reject = "reject",
    }
}

/// Profiles one may ask for: the ceremony-only ones below a root (a new root is a ceremony of its
/// own, and the audit key belongs to the ceremony that makes the hierarchy).
pub const PROFILES: &[&str] = &["sub-ca", "tsa", "ocsp-responder"];

pub struct AuthorityRequest;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Data {
    profile: String,
    subject: String,
    /// Why the certificate is needed.
    reason: String,
}

impl Kind for AuthorityRequest {
    const NAME: &'static str = "authority-certificate";
    type State = State;
    type Event = Event;
    const INITIAL: State = State::Draft;
    const CREATE: Permission = Permission::RequestAuthorityCert;

    fn permission(event: Event) -> Permission {
        match event {
            Event::Submit | Event::Withdraw => Permission::RequestAuthorityCert,
            Event::Approve | Event::Reject => Permission::DecideAuthorityCert,
        }
    }

    fn transition(state: State, event: Event, who: &Who<'_>) -> Result<State, Refusal> {
        use Event as E;
        use State as S;
        let next = match (state, event) {
            (S::Draft, E::Submit) => S::Submitted,
            (S::Draft | S::Submitted, E::Withdraw) => S::Withdrawn,
            (S::Submitted, E::Approve) => S::Approved,
            (S::Submitted, E::Reject) => S::Rejected,
            _ => return Err(Refusal::OutOfOrder),
        };
        match event {
            E::Submit | E::Withdraw if !who.is_creator => Err(Refusal::NotForYou(
                "only the requester may submit or withdraw a request for an authority certificate",
            )),
            E::Approve | E::Reject if who.is_creator => Err(Refusal::NotForYou(
                "the requester of an authority certificate may not decide their own request \
                 (another administrator must)",
            )),
            _ => Ok(next),
        }
    }

    fn check_data(app: &App, data: &serde_json::Value) -> Result<serde_json::Value, AppError> {
        let d: Data = serde_json::from_value(data.clone()).map_err(|e| {
            AppError::BadRequest(format!(
                "an authority-certificate request is {{\"profile\", \"subject\", \"reason\"}}: {e}"
            ))
        })?;
        if !PROFILES.contains(&d.profile.as_str()) {
            return Err(AppError::Policy(format!(
                "profile {:?} cannot be requested here: one of {}",
                d.profile,
                PROFILES.join(", ")
            )));
        }
        let profiles = app.profiles()?;
        let p = profiles.get(&d.profile)?;
        if p.requestable != sealpki_pki::profile::Requestable::CeremonyOnly {
            return Err(AppError::Policy(format!(
                "profile {} is open to requests: issue it with POST /api/v1/certificates",
                d.profile
            )));
        }
        let subject = d.subject.trim();
        sealpki_pki::name::parse_dn(subject)
            .map_err(|e| AppError::BadRequest(format!("subject: {e}")))?;
        let reason = d.reason.trim();
        if reason.is_empty() || reason.chars().count() > super::MAX_COMMENT {
            return Err(AppError::BadRequest(format!(
                "reason: 1-{} characters saying why the certificate is needed",
                super::MAX_COMMENT
            )));
        }
        Ok(json!({"profile": d.profile, "subject": subject, "reason": reason}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::Actor;
    use crate::store::Role;
    use crate::workflow::Named;

    /// The table as data: (from, event, to) for every allowed pair; every other pair is refused.
    const TABLE: &[(State, Event, State)] = &[
        (State::Draft, Event::Submit, State::Submitted),
        (State::Draft, Event::Withdraw, State::Withdrawn),
        (State::Submitted, Event::Withdraw, State::Withdrawn),
        (State::Submitted, Event::Approve, State::Approved),
        (State::Submitted, Event::Reject, State::Rejected),
    ];

    fn requester_side(e: Event) -> bool {
        matches!(e, Event::Submit | Event::Withdraw)
    }

    #[test]
    fn every_state_and_event_as_the_table_says() {
        let admin = Actor {
            name: "a".into(),
            role: Role::Admin,
        };
        for &s in State::ALL {
            for &e in Event::ALL {
                let expected = TABLE
                    .iter()
                    .find(|(f, ev, _)| *f == s && *ev == e)
                    .map(|t| t.2);
                for is_creator in [true, false] {
                    let who = Who {
                        actor: &admin,
                        is_creator,
                    };
                    let got = AuthorityRequest::transition(s, e, &who);
                    match expected {
                        None => assert_eq!(got, Err(Refusal::OutOfOrder), "{s:?} {e:?}"),
                        Some(to) if requester_side(e) == is_creator => {
                            assert_eq!(got, Ok(to), "{s:?} {e:?} creator={is_creator}")
                        }
                        Some(_) => assert!(
                            matches!(got, Err(Refusal::NotForYou(_))),
                            "{s:?} {e:?} creator={is_creator}: {got:?}"
                        ),
                    }
                }
            }
        }
    }

    #[test]
    fn names_are_stable_and_parsed_strictly() {
        let names: Vec<_> = State::ALL.iter().map(|s| s.name()).collect();
        assert_eq!(
            names,
            ["draft", "submitted", "approved", "rejected", "withdrawn"]
        );
        for &s in State::ALL {
            assert_eq!(State::parse(s.name()), Some(s));
        }
        assert_eq!(State::parse("Draft"), None);
        assert_eq!(State::parse(" draft"), None);
        assert_eq!(State::parse(""), None);
        assert_eq!(Event::parse("approve"), Some(Event::Approve));
        assert_eq!(Event::parse("APPROVE"), None);
    }

    #[test]
    fn deciding_needs_an_admin_requesting_an_operator() {
        assert_eq!(
            AuthorityRequest::permission(Event::Approve),
            Permission::DecideAuthorityCert
        );
        assert!(!Permission::DecideAuthorityCert.granted_to(Role::Operator));
        assert!(Permission::RequestAuthorityCert.granted_to(Role::Operator));
        assert!(!Permission::RequestAuthorityCert.granted_to(Role::Auditor));
    }
}
