//! The authorization decision for what people do in organisations: `may(principal, action,
//! resource)`. Platform permissions (certificates, keys, staff) stay with `access::Permission`;
//! everything scoped to an organisation is decided here, from the caller's platform role and its
//! memberships. A refusal is a 403 naming the permission and the scope, for a resource that exists
//! (existence is not hidden: organisation ids are random, and their registry data is public).

use super::orgs::MemberRole;
use crate::access::Actor;
use crate::error::AppError;
use crate::store::Role;

/// Something one may do to an organisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Look organisations up and read their registry data (any logged-in account).
    ReadOrgs,
    /// Register an organisation (platform administrators and operators).
    CreateOrg,
    /// See who holds which role in an organisation.
    ReadMembers,
    /// Give and take roles in an organisation.
    ManageMembers,
}

impl Action {
    /// The permission's name in refusals.
    pub fn name(self) -> &'static str {
        match self {
            Action::ReadOrgs => "organisations.read",
            Action::CreateOrg => "organisations.create",
            Action::ReadMembers => "organisations.members.read",
            Action::ManageMembers => "organisations.members.manage",
        }
    }
}

/// What an action is done to.
#[derive(Clone, Copy, Debug)]
pub enum Resource<'a> {
    /// The platform as a whole (creating an organisation, looking up).
    Platform,
    /// One organisation, by its id and its ancestors' ids (itself first, the root last).
    Org { ancestry: &'a [String] },
}

/// The caller as the policy sees it: platform role and memberships.
#[derive(Clone, Debug)]
pub struct Principal {
    pub actor: Actor,
    /// (organisation id, role) pairs.
    pub memberships: Vec<(String, MemberRole)>,
}

impl Principal {
    fn holds(&self, org: &str, role: MemberRole) -> bool {
        self.memberships.iter().any(|(o, r)| o == org && *r == role)
    }

    fn member_of(&self, org: &str) -> bool {
        self.memberships.iter().any(|(o, _)| o == org)
    }
}

/// Whether `p` may do `action` to `resource`; the refusal names the permission.
pub fn may(p: &Principal, action: Action, resource: Resource<'_>) -> Result<(), AppError> {
    let role = p.actor.role;
    let platform_staff = matches!(role, Role::Admin | Role::Operator);
    let allowed = match (action, resource) {
        (Action::ReadOrgs, _) => true,
        (Action::CreateOrg, _) => platform_staff,
        (Action::ReadMembers, Resource::Org { ancestry }) => {
            role != Role::Person
                || ancestry.first().is_some_and(|own| p.member_of(own))
                || ancestry
                    .iter()
                    .any(|o| p.holds(o, MemberRole::SealAdmin) || p.holds(o, MemberRole::Reviewer))
        }
        (Action::ManageMembers, Resource::Org { ancestry }) => {
            platform_staff || ancestry.iter().any(|o| p.holds(o, MemberRole::SealAdmin))
        }
        (Action::ReadMembers | Action::ManageMembers, Resource::Platform) => platform_staff,
    };
    if allowed {
        return Ok(());
    }
    let scope = match resource {
        Resource::Platform => "the platform".to_string(),
        Resource::Org { ancestry } => format!(
            "organisation {} (or one above it)",
            ancestry.first().map(String::as_str).unwrap_or("?")
        ),
    };
    Err(AppError::Denied(format!(
        "{} needs permission {} for {scope}",
        p.actor.name,
        action.name()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(role: Role, m: &[(&str, MemberRole)]) -> Principal {
        Principal {
            actor: Actor {
                name: "x".into(),
                role,
            },
            memberships: m.iter().map(|(o, r)| (o.to_string(), *r)).collect(),
        }
    }

    #[test]
    fn seal_admins_manage_their_subtree_only() {
        let chain = ["child".to_string(), "parent".to_string()];
        let other = ["elsewhere".to_string()];
        let admin_of_parent = who(Role::Person, &[("parent", MemberRole::SealAdmin)]);
        assert!(may(
            &admin_of_parent,
            Action::ManageMembers,
            Resource::Org { ancestry: &chain }
        )
        .is_ok());
        let e = may(
            &admin_of_parent,
            Action::ManageMembers,
            Resource::Org { ancestry: &other },
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("organisations.members.manage"),
            "{e}"
        );
        let applicant = who(Role::Person, &[("child", MemberRole::Applicant)]);
        assert!(may(
            &applicant,
            Action::ReadMembers,
            Resource::Org { ancestry: &chain }
        )
        .is_ok());
        assert!(may(
            &applicant,
            Action::ManageMembers,
            Resource::Org { ancestry: &chain }
        )
        .is_err());
        assert!(may(&applicant, Action::CreateOrg, Resource::Platform).is_err());
        assert!(may(
            &who(Role::Operator, &[]),
            Action::CreateOrg,
            Resource::Platform
        )
        .is_ok());
        assert!(may(
            &who(Role::Auditor, &[]),
            Action::CreateOrg,
            Resource::Platform
        )
        .is_err());
        assert!(may(
            &who(Role::Auditor, &[]),
            Action::ReadMembers,
            Resource::Org { ancestry: &other }
        )
        .is_ok());
    }
}
