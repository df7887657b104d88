//! Who may do what: the acting person (`Actor`: an operator's login, or the command line, which acts as
//! an administrator — it holds the key-store passphrase), and the permissions each role has. Handlers
//! and `App` ask `Actor::require(Permission)`; a refusal names the missing permission.

use crate::error::AppError;
use crate::store::Role;

/// Someone acting on the authority: audited by `name`, allowed by `role`.
#[derive(Clone, Debug)]
pub struct Actor {
    pub name: String,
    pub role: Role,
}

/// One thing a role may or may not do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Permission {
    /// Read certificates, CA key references, the audit log.
    Read,
    /// Issue certificates of profiles open to requests.
    Issue,
    /// Revoke, hold and release end-entity certificates.
    ChangeStatus,
    /// Revoke, hold and release CA, TSA, OCSP-responder and audit certificates (with a reason).
    ChangeAuthorityStatus,
    /// Seal PDFs and sign with GB/T 38540 seals using keys the service holds.
    Sign,
    /// Create, disable and enable operator accounts.
    ManageOperators,
    /// Roll a CA key over.
    Rollover,
    /// Ask for an authority (ceremony-only profile) certificate: create, submit, withdraw a request.
    RequestAuthorityCert,
    /// Approve or reject a request for an authority certificate.
    DecideAuthorityCert,
    /// See the job outbox (dead letters), re-queue dead jobs, send test notifications.
    ManageJobs,
}

impl Permission {
    /// The name shown in refusals and documentation.
    pub fn name(self) -> &'static str {
        match self {
            Permission::Read => "read",
            Permission::Issue => "certificates.issue",
            Permission::ChangeStatus => "certificates.status",
            Permission::ChangeAuthorityStatus => "certificates.authority-status",
            Permission::Sign => "documents.sign",
            Permission::ManageOperators => "operators.manage",
            Permission::Rollover => "ca.rollover",
            Permission::RequestAuthorityCert => "authority-requests.request",
            Permission::DecideAuthorityCert => "authority-requests.decide",
            Permission::ManageJobs => "jobs.manage",
        }
    }

    /// What the permission allows, as a verb phrase ("role auditor may not …").
    pub fn action(self) -> &'static str {
        match self {
            Permission::Read => "read certificates",
            Permission::Issue => "issue certificates",
            Permission::ChangeStatus => "change certificate status",
            Permission::ChangeAuthorityStatus => {
                "revoke, hold or release a CA, TSA, OCSP-responder or audit certificate"
            }
            Permission::Sign => "sign documents with the service's keys",
            Permission::ManageOperators => "manage operators",
            Permission::Rollover => "roll a CA key over",
            Permission::RequestAuthorityCert => "request an authority certificate",
            Permission::DecideAuthorityCert => {
                "approve or reject a request for an authority certificate"
            }
            Permission::ManageJobs => "manage background jobs and test deliveries",
        }
    }

    /// Whether `role` has this permission (the table is `accounts::policy`'s).
    pub fn granted_to(self, role: Role) -> bool {
        crate::accounts::policy::platform_grants(role, self)
    }
}

impl Actor {
    /// The command line: local access to the data and key stores is administrator access.
    pub fn cli() -> Actor {
        Actor {
            name: format!(
                "cli:{}",
                std::env::var("USER").unwrap_or_else(|_| "unknown".into())
            ),
            role: Role::Admin,
        }
    }

    /// The service itself, for work no person asked for at that moment (background jobs, the
    /// platform's own keys): audited as `system`.
    pub fn system() -> Actor {
        Actor {
            name: "system".into(),
            role: Role::Operator,
        }
    }

    /// Refuse unless the actor's role has `p` (HTTP 403 naming the permission): the policy's
    /// decision for a platform permission.
    pub fn require(&self, p: Permission) -> Result<(), AppError> {
        use crate::accounts::policy::{may, Action, Principal, Resource};
        may(
            &Principal::platform(self),
            Action::Platform(p),
            Resource::Platform,
        )
        .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_admins_touch_the_authority() {
        for p in [
            Permission::ChangeAuthorityStatus,
            Permission::ManageOperators,
            Permission::Rollover,
            Permission::DecideAuthorityCert,
        ] {
            assert!(p.granted_to(Role::Admin));
            assert!(!p.granted_to(Role::Operator));
            assert!(!p.granted_to(Role::Auditor));
        }
        assert!(Permission::Sign.granted_to(Role::Operator));
        assert!(!Permission::Sign.granted_to(Role::Auditor));
        let e = Actor {
            name: "o".into(),
            role: Role::Operator,
        }
        .require(Permission::ChangeAuthorityStatus)
        .unwrap_err()
        .to_string();
        assert!(e.contains("certificates.authority-status"), "{e}");
    }
}
