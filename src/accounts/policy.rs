//! The one authorization decision: `may(principal, action, resource)`. Every rule of who may do
//! what lives here — the platform permissions of each staff role (certificates, keys, staff, jobs:
//! `Action::Platform`, which `access::Actor::require` asks) and everything scoped to an
//! organisation, decided from the caller's memberships. A refusal is a 403 naming the permission
//! and the scope, for a resource that exists (existence is not hidden: organisation ids are random,
//! and their registry data is public).

use super::orgs::{MemberRole, OrgKind};
use crate::access::{Actor, Permission};
use crate::error::AppError;
use crate::store::Role;

/// Something one may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// A platform permission, granted by the staff role alone.
    Platform(Permission),
    /// Look organisations up and read their registry data (any logged-in account).
    ReadOrgs,
    /// Register an organisation (platform administrators and operators).
    CreateOrg,
    /// See who holds which role in an organisation.
    ReadMembers,
    /// Give and take roles in an organisation.
    ManageMembers,
    /// Apply for a seal of an organisation, and for operations on its seals (revoke, report loss,
    /// restore, reissue, renew): its applicants and seal administrators (and those of its
    /// ancestors, and regional seal administrators).
    ApplySeal,
    /// See an organisation's seals and seal applications.
    ReadSeals,
    /// Decide (approve, return) what is submitted to an approving authority: its reviewers and
    /// those of its ancestors, and platform administrators and operators.
    ReviewSeal,
    /// Produce seals (make keys, certificates and seal structures): platform staff.
    ProduceSeal,
    /// Apply to become a seal administrator (印章管理员) of an organisation oneself: any member
    /// of it.
    ApplySealAdmin,
    /// Apply on someone else's behalf for them to become a seal administrator: the
    /// organisation's seal administrators (and those above it, and regional ones).
    NominateSealAdmin,
    /// Decide a seal-administrator application: the superior authority — reviewers and seal
    /// administrators of the organisation's parent or its ancestors —, or platform
    /// administrators and operators when the organisation has no parent.
    DecideSealAdmin,
    /// Apply to change an organisation's registry data (单位信息变更: credit code, name, parent):
    /// its seal administrators and those above it (and regional ones).
    ApplyOrgUpdate,
    /// Decide an organisation update: platform administrators and operators only (the change
    /// touches the system-wide registry and may move the organisation to another tree, which
    /// nobody inside one tree decides alone).
    DecideOrgUpdate,
    /// Register a cloud-signing application, and suspend, resume or revoke one: platform
    /// administrators and operators.
    ManageApps,
    /// See an app's registry entry and credentials (never their secrets): platform staff and the
    /// app's owner.
    ReadApp,
    /// Change an app's contacts and callback URL: its owner and platform administrators and
    /// operators.
    UpdateApp,
    /// Make an app's credentials (API keys, client certificates): its owner alone — the secret
    /// is shown to whoever makes it.
    MakeAppCredential,
    /// Revoke one of an app's credentials: its owner, and platform administrators and operators.
    RevokeAppCredential,
}

impl Action {
    /// The permission's name in refusals.
    pub fn name(self) -> &'static str {
        match self {
            Action::Platform(p) => p.name(),
            Action::ReadOrgs => "organisations.read",
            Action::CreateOrg => "organisations.create",
            Action::ReadMembers => "organisations.members.read",
            Action::ManageMembers => "organisations.members.manage",
            Action::ApplySeal => "seals.apply",
            Action::ReadSeals => "seals.read",
            Action::ReviewSeal => "seals.review",
            Action::ProduceSeal => "seals.produce",
            Action::ApplySealAdmin => "seal-admins.apply",
            Action::NominateSealAdmin => "seal-admins.nominate",
            Action::DecideSealAdmin => "seal-admins.decide",
            Action::ApplyOrgUpdate => "organisations.update.apply",
            Action::DecideOrgUpdate => "organisations.update.decide",
            Action::ManageApps => "apps.manage",
            Action::ReadApp => "apps.read",
            Action::UpdateApp => "apps.update",
            Action::MakeAppCredential => "apps.credentials.create",
            Action::RevokeAppCredential => "apps.credentials.revoke",
        }
    }
}

/// What an action is done to.
#[derive(Clone, Copy, Debug)]
pub enum Resource<'a> {
    /// The platform as a whole (its keys and certificates, creating an organisation, look-up).
    Platform,
    /// One organisation: its id and its ancestors' ids (itself first, the root last), and its
    /// GB/T 2260 region.
    Org {
        ancestry: &'a [String],
        region: &'a str,
    },
    /// One registered application, by its owner (an account's username).
    App { owner: &'a str },
}

/// One role the caller holds, with what the policy needs of its organisation.
#[derive(Clone, Debug)]
pub struct Held {
    pub org_id: String,
    pub role: MemberRole,
    pub kind: OrgKind,
    pub region: String,
}

/// The caller as the policy sees it: platform role and memberships.
#[derive(Clone, Debug)]
pub struct Principal {
    pub actor: Actor,
    pub memberships: Vec<Held>,
}

impl Principal {
    /// A caller seen by its platform role only (the command line, platform permissions).
    pub fn platform(actor: &Actor) -> Principal {
        Principal {
            actor: actor.clone(),
            memberships: Vec::new(),
        }
    }

    fn holds(&self, org: &str, role: MemberRole) -> bool {
        self.memberships
            .iter()
            .any(|m| m.org_id == org && m.role == role)
    }

    fn member_of(&self, org: &str) -> bool {
        self.memberships.iter().any(|m| m.org_id == org)
    }

    /// A seal administrator of a government body covers the organisations of its region (a
    /// province's code covers its cities and counties, a city's its counties).
    fn regional_admin_of(&self, region: &str) -> bool {
        self.memberships.iter().any(|m| {
            m.role == MemberRole::SealAdmin
                && m.kind == OrgKind::Government
                && region_within(region, &m.region)
        })
    }
}

/// Whether region `inner` lies within region `outer` (GB/T 2260: `xx0000` a province, `xxxx00` a
/// prefecture, otherwise a county).
pub fn region_within(inner: &str, outer: &str) -> bool {
    inner.len() == 6 && region_prefix(outer).is_some_and(|p| inner.starts_with(p))
}

/// The prefix every region within `outer` starts with (`33` for 330000, `3301` for 330100, the
/// county itself otherwise); None for what is not a 6-digit code.
pub fn region_prefix(outer: &str) -> Option<&str> {
    if outer.len() != 6 || !outer.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(if outer.ends_with("0000") {
        &outer[..2]
    } else if outer.ends_with("00") {
        &outer[..4]
    } else {
        outer
    })
}

/// The platform permissions of each staff role; people have none (they act through memberships).
pub fn platform_grants(role: Role, p: Permission) -> bool {
    match role {
        Role::Admin => true,
        Role::Operator => matches!(
            p,
            Permission::Read
                | Permission::Issue
                | Permission::ChangeStatus
                | Permission::Sign
                | Permission::RequestAuthorityCert
        ),
        Role::Auditor => p == Permission::Read,
        Role::Person => false,
    }
}

/// Proof that [`may`] allowed an action: only `may` makes one, so a service that takes it (the
/// workflow runner for scoped kinds) cannot be reached without the decision.
#[derive(Clone, Copy, Debug)]
pub struct Allowed(());

/// Whether `p` may do `action` to `resource`; the refusal names the permission.
pub fn may(p: &Principal, action: Action, resource: Resource<'_>) -> Result<Allowed, AppError> {
    let role = p.actor.role;
    let platform_staff = matches!(role, Role::Admin | Role::Operator);
    let allowed = match (action, resource) {
        (Action::Platform(perm), _) => {
            if platform_grants(role, perm) {
                return Ok(Allowed(()));
            }
            return Err(AppError::Forbidden {
                role: role.as_str(),
                permission: perm,
            });
        }
        (Action::ReadOrgs, _) => true,
        (Action::CreateOrg, _) => platform_staff,
        (Action::ReadMembers, Resource::Org { ancestry, region }) => {
            role != Role::Person
                || ancestry.first().is_some_and(|own| p.member_of(own))
                || ancestry
                    .iter()
                    .any(|o| p.holds(o, MemberRole::SealAdmin) || p.holds(o, MemberRole::Reviewer))
                || p.regional_admin_of(region)
        }
        (Action::ManageMembers, Resource::Org { ancestry, region }) => {
            platform_staff
                || ancestry.iter().any(|o| p.holds(o, MemberRole::SealAdmin))
                || p.regional_admin_of(region)
        }
        (Action::ApplySeal, Resource::Org { ancestry, region }) => {
            ancestry
                .first()
                .is_some_and(|own| p.holds(own, MemberRole::Applicant))
                || ancestry.iter().any(|o| p.holds(o, MemberRole::SealAdmin))
                || p.regional_admin_of(region)
        }
        (Action::ReadSeals, Resource::Org { ancestry, region }) => {
            role != Role::Person
                || ancestry.first().is_some_and(|own| p.member_of(own))
                || ancestry
                    .iter()
                    .any(|o| p.holds(o, MemberRole::SealAdmin) || p.holds(o, MemberRole::Reviewer))
                || p.regional_admin_of(region)
        }
        (Action::ReviewSeal, Resource::Org { ancestry, .. }) => {
            platform_staff || ancestry.iter().any(|o| p.holds(o, MemberRole::Reviewer))
        }
        (Action::ProduceSeal, _) => platform_staff,
        (Action::ApplySealAdmin, Resource::Org { ancestry, .. }) => {
            ancestry.first().is_some_and(|own| p.member_of(own))
        }
        (
            Action::NominateSealAdmin | Action::ApplyOrgUpdate,
            Resource::Org { ancestry, region },
        ) => {
            ancestry.iter().any(|o| p.holds(o, MemberRole::SealAdmin))
                || p.regional_admin_of(region)
        }
        (Action::DecideSealAdmin, Resource::Org { ancestry, .. }) => {
            // The superior authority: never the organisation itself, only what is above it.
            let above = ancestry.get(1..).unwrap_or(&[]);
            (above.is_empty() && platform_staff)
                || above
                    .iter()
                    .any(|o| p.holds(o, MemberRole::Reviewer) || p.holds(o, MemberRole::SealAdmin))
        }
        (Action::DecideOrgUpdate, _) => platform_staff,
        (Action::ManageApps, _) => platform_staff,
        (Action::ReadApp, Resource::App { owner }) => role != Role::Person || owner == p.actor.name,
        (Action::UpdateApp | Action::RevokeAppCredential, Resource::App { owner }) => {
            platform_staff || owner == p.actor.name
        }
        (Action::MakeAppCredential, Resource::App { owner }) => owner == p.actor.name,
        (
            Action::ReadApp
            | Action::UpdateApp
            | Action::MakeAppCredential
            | Action::RevokeAppCredential,
            Resource::Platform | Resource::Org { .. },
        ) => false,
        (_, Resource::App { .. }) => false,
        (Action::ReadMembers | Action::ManageMembers | Action::ReadSeals, Resource::Platform) => {
            platform_staff
        }
        (
            Action::ApplySeal
            | Action::ReviewSeal
            | Action::ApplySealAdmin
            | Action::NominateSealAdmin
            | Action::DecideSealAdmin
            | Action::ApplyOrgUpdate,
            Resource::Platform,
        ) => false,
    };
    if allowed {
        return Ok(Allowed(()));
    }
    let scope = match resource {
        Resource::Platform => "the platform".to_string(),
        Resource::App { owner } => format!("an app owned by {owner}"),
        Resource::Org { ancestry, region } => format!(
            "organisation {} (in its tree or its region {region})",
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

    fn who(role: Role, m: &[(&str, MemberRole, OrgKind, &str)]) -> Principal {
        Principal {
            actor: Actor {
                name: "x".into(),
                role,
            },
            memberships: m
                .iter()
                .map(|(o, r, k, g)| Held {
                    org_id: o.to_string(),
                    role: *r,
                    kind: *k,
                    region: g.to_string(),
                })
                .collect(),
        }
    }

    fn org<'a>(ancestry: &'a [String], region: &'a str) -> Resource<'a> {
        Resource::Org { ancestry, region }
    }

    const E: OrgKind = OrgKind::Enterprise;

    #[test]
    fn seal_admins_manage_their_subtree_only() {
        let chain = ["child".to_string(), "parent".to_string()];
        let other = ["elsewhere".to_string()];
        let admin_of_parent = who(
            Role::Person,
            &[("parent", MemberRole::SealAdmin, E, "330106")],
        );
        assert!(may(
            &admin_of_parent,
            Action::ManageMembers,
            org(&chain, "330106")
        )
        .is_ok());
        let e = may(
            &admin_of_parent,
            Action::ManageMembers,
            org(&other, "330106"),
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("organisations.members.manage"),
            "{e}"
        );
        let applicant = who(
            Role::Person,
            &[("child", MemberRole::Applicant, E, "330106")],
        );
        assert!(may(&applicant, Action::ReadMembers, org(&chain, "330106")).is_ok());
        assert!(may(&applicant, Action::ManageMembers, org(&chain, "330106")).is_err());
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
            org(&other, "110108")
        )
        .is_ok());
    }

    #[test]
    fn apps_are_registered_by_staff_and_managed_by_their_owner() {
        let owner = Principal {
            actor: Actor {
                name: "owner".into(),
                role: Role::Person,
            },
            memberships: Vec::new(),
        };
        let app = Resource::App { owner: "owner" };
        let other = who(Role::Person, &[]);
        let (op, auditor) = (who(Role::Operator, &[]), who(Role::Auditor, &[]));
        assert!(may(&op, Action::ManageApps, Resource::Platform).is_ok());
        for p in [&owner, &auditor] {
            assert!(may(p, Action::ManageApps, Resource::Platform).is_err());
        }
        assert!(may(&owner, Action::MakeAppCredential, app).is_ok());
        let e = may(&op, Action::MakeAppCredential, app).unwrap_err();
        assert!(e.to_string().contains("apps.credentials.create"), "{e}");
        for a in [
            Action::ReadApp,
            Action::UpdateApp,
            Action::RevokeAppCredential,
        ] {
            assert!(may(&owner, a, app).is_ok() && may(&op, a, app).is_ok());
            assert!(may(&other, a, app).is_err());
        }
        assert!(may(&auditor, Action::ReadApp, app).is_ok());
        assert!(may(&auditor, Action::RevokeAppCredential, app).is_err());
        assert!(may(&op, Action::ReviewSeal, app).is_err());
    }

    #[test]
    fn regional_seal_admins_of_government_bodies_cover_their_region() {
        let x = ["x".to_string()];
        let city = who(
            Role::Person,
            &[(
                "bureau",
                MemberRole::SealAdmin,
                OrgKind::Government,
                "330100",
            )],
        );
        assert!(may(&city, Action::ManageMembers, org(&x, "330106")).is_ok());
        assert!(may(&city, Action::ManageMembers, org(&x, "330200")).is_err());
        let province = who(
            Role::Person,
            &[("p", MemberRole::SealAdmin, OrgKind::Government, "330000")],
        );
        assert!(may(&province, Action::ReadMembers, org(&x, "330281")).is_ok());
        // A company's seal administrator has no regional reach.
        let company = who(Role::Person, &[("c", MemberRole::SealAdmin, E, "330100")]);
        assert!(may(&company, Action::ManageMembers, org(&x, "330106")).is_err());
        assert!(region_within("330106", "330106") && !region_within("33010", "330000"));
    }

    #[test]
    fn seal_applications_reviews_and_production() {
        let chain = ["unit".to_string(), "group".to_string()];
        let authority = ["bureau".to_string(), "province".to_string()];
        let applicant = who(
            Role::Person,
            &[("unit", MemberRole::Applicant, E, "330106")],
        );
        assert!(may(&applicant, Action::ApplySeal, org(&chain, "330106")).is_ok());
        assert!(may(&applicant, Action::ReadSeals, org(&chain, "330106")).is_ok());
        // An applicant of the parent does not apply for the child's seals; its seal admin does.
        let parent_applicant = who(
            Role::Person,
            &[("group", MemberRole::Applicant, E, "330106")],
        );
        assert!(may(&parent_applicant, Action::ApplySeal, org(&chain, "330106")).is_err());
        let group_admin = who(
            Role::Person,
            &[("group", MemberRole::SealAdmin, E, "330106")],
        );
        assert!(may(&group_admin, Action::ApplySeal, org(&chain, "330106")).is_ok());
        let reviewer = who(
            Role::Person,
            &[(
                "province",
                MemberRole::Reviewer,
                OrgKind::Government,
                "330000",
            )],
        );
        assert!(may(&reviewer, Action::ReviewSeal, org(&authority, "330100")).is_ok());
        assert!(may(&reviewer, Action::ReviewSeal, org(&chain, "330106")).is_err());
        assert!(may(&applicant, Action::ReviewSeal, org(&authority, "330100")).is_err());
        let e = may(&applicant, Action::ProduceSeal, Resource::Platform).unwrap_err();
        assert!(e.to_string().contains("seals.produce"), "{e}");
        assert!(may(
            &who(Role::Operator, &[]),
            Action::ProduceSeal,
            Resource::Platform
        )
        .is_ok());
        assert!(may(
            &who(Role::Auditor, &[]),
            Action::ReadSeals,
            org(&chain, "1")
        )
        .is_ok());
        assert!(may(
            &who(Role::Auditor, &[]),
            Action::ApplySeal,
            org(&chain, "1")
        )
        .is_err());
    }

    #[test]
    fn seal_admin_applications_go_to_the_superior_authority() {
        let chain = ["unit".to_string(), "parent".to_string(), "top".to_string()];
        let top_level = ["lone".to_string()];
        let member = who(Role::Person, &[("unit", MemberRole::Reviewer, E, "330106")]);
        assert!(may(&member, Action::ApplySealAdmin, org(&chain, "330106")).is_ok());
        // A member applies for themselves only; naming someone else is for seal administrators.
        let e = may(&member, Action::NominateSealAdmin, org(&chain, "330106")).unwrap_err();
        assert!(e.to_string().contains("seal-admins.nominate"), "{e}");
        // A reviewer of the unit itself is not its superior authority.
        let e = may(&member, Action::DecideSealAdmin, org(&chain, "330106")).unwrap_err();
        assert!(e.to_string().contains("seal-admins.decide"), "{e}");
        for role in [MemberRole::Reviewer, MemberRole::SealAdmin] {
            for above in ["parent", "top"] {
                let p = who(Role::Person, &[(above, role, E, "330106")]);
                assert!(may(&p, Action::DecideSealAdmin, org(&chain, "330106")).is_ok());
            }
        }
        let unit_admin = who(
            Role::Person,
            &[("unit", MemberRole::SealAdmin, E, "330106")],
        );
        assert!(may(
            &unit_admin,
            Action::NominateSealAdmin,
            org(&chain, "330106")
        )
        .is_ok());
        assert!(may(&unit_admin, Action::DecideSealAdmin, org(&chain, "330106")).is_err());
        let parent_applicant = who(
            Role::Person,
            &[("parent", MemberRole::Applicant, E, "330106")],
        );
        assert!(may(
            &parent_applicant,
            Action::DecideSealAdmin,
            org(&chain, "330106")
        )
        .is_err());
        assert!(may(
            &parent_applicant,
            Action::ApplySealAdmin,
            org(&chain, "330106")
        )
        .is_err());
        // Platform staff decide only where there is no superior organisation.
        let operator = who(Role::Operator, &[]);
        assert!(may(
            &operator,
            Action::DecideSealAdmin,
            org(&top_level, "330106")
        )
        .is_ok());
        assert!(may(&operator, Action::DecideSealAdmin, org(&chain, "330106")).is_err());
        assert!(may(
            &who(Role::Auditor, &[]),
            Action::DecideSealAdmin,
            org(&top_level, "330106")
        )
        .is_err());
    }

    #[test]
    fn organisation_updates_by_seal_admins_decided_by_platform_staff() {
        let chain = ["unit".to_string(), "parent".to_string()];
        let above = who(
            Role::Person,
            &[("parent", MemberRole::SealAdmin, E, "330106")],
        );
        assert!(may(&above, Action::ApplyOrgUpdate, org(&chain, "330106")).is_ok());
        let applicant = who(
            Role::Person,
            &[("unit", MemberRole::Applicant, E, "330106")],
        );
        let e = may(&applicant, Action::ApplyOrgUpdate, org(&chain, "330106")).unwrap_err();
        assert!(e.to_string().contains("organisations.update.apply"), "{e}");
        let reviewer = who(
            Role::Person,
            &[("parent", MemberRole::Reviewer, E, "330106")],
        );
        let e = may(&reviewer, Action::DecideOrgUpdate, org(&chain, "330106")).unwrap_err();
        assert!(e.to_string().contains("organisations.update.decide"), "{e}");
        assert!(may(&above, Action::DecideOrgUpdate, org(&chain, "330106")).is_err());
        for r in [Role::Operator, Role::Admin] {
            assert!(may(&who(r, &[]), Action::DecideOrgUpdate, org(&chain, "1")).is_ok());
        }
        assert!(may(
            &who(Role::Auditor, &[]),
            Action::DecideOrgUpdate,
            org(&chain, "1")
        )
        .is_err());
    }

    #[test]
    fn platform_permissions_by_role() {
        for p in [
            Permission::Read,
            Permission::Issue,
            Permission::Rollover,
            Permission::ManageJobs,
        ] {
            assert!(may(
                &who(Role::Admin, &[]),
                Action::Platform(p),
                Resource::Platform
            )
            .is_ok());
            assert!(may(
                &who(Role::Person, &[]),
                Action::Platform(p),
                Resource::Platform
            )
            .is_err());
        }
        assert!(platform_grants(Role::Operator, Permission::Sign));
        assert!(!platform_grants(Role::Operator, Permission::Rollover));
        assert!(!platform_grants(Role::Auditor, Permission::Sign));
    }
}
