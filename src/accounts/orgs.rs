//! Organisations in a tree (each under its supervising, approving authority) and the roles people
//! hold in them. Codes and regions are checked before anything is stored; names are unique after
//! folding full-width forms and spaces.

use serde::Serialize;
use serde_json::json;

use super::ids::CreditCode;
use super::policy::{may, Action, Held, Principal, Resource};
use super::region;
use super::session::random_token;
use crate::access::Actor;
use crate::app::App;
use crate::error::AppError;
use crate::store::{MembershipRow, OrgRow, Store, StoreError};

/// What kind of body an organisation is (a closed set; the seal rules differ by kind).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OrgKind {
    /// 企业 — a company.
    Enterprise,
    /// 机关 — a government body (approving authorities are usually these).
    Government,
    /// 事业单位 — a public institution.
    Institution,
    /// 社会组织 — an association, foundation or other social organisation.
    Social,
    /// 印章刻制企业 — a licensed seal maker.
    SealMaker,
    /// 公安机关 — a public-security bureau (approves seal registrations).
    Police,
}

impl OrgKind {
    pub const ALL: [OrgKind; 6] = [
        OrgKind::Enterprise,
        OrgKind::Government,
        OrgKind::Institution,
        OrgKind::Social,
        OrgKind::SealMaker,
        OrgKind::Police,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrgKind::Enterprise => "enterprise",
            OrgKind::Government => "government",
            OrgKind::Institution => "institution",
            OrgKind::Social => "social",
            OrgKind::SealMaker => "seal-maker",
            OrgKind::Police => "police",
        }
    }

    pub fn parse(s: &str) -> Option<OrgKind> {
        OrgKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A role someone holds in an organisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MemberRole {
    /// Applies for seals on the organisation's behalf.
    Applicant,
    /// 印章管理员 — manages the seals of the organisation and of its subtree.
    SealAdmin,
    /// Reviews what is submitted to the organisation as approving authority.
    Reviewer,
    /// Staff of a seal maker.
    MakerStaff,
    /// Approves seal registrations for a public-security bureau.
    PoliceApprover,
}

impl MemberRole {
    pub const ALL: [MemberRole; 5] = [
        MemberRole::Applicant,
        MemberRole::SealAdmin,
        MemberRole::Reviewer,
        MemberRole::MakerStaff,
        MemberRole::PoliceApprover,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MemberRole::Applicant => "applicant",
            MemberRole::SealAdmin => "seal-admin",
            MemberRole::Reviewer => "reviewer",
            MemberRole::MakerStaff => "maker-staff",
            MemberRole::PoliceApprover => "police-approver",
        }
    }

    pub fn parse(s: &str) -> Option<MemberRole> {
        MemberRole::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Whether the role fits the kind of organisation (maker staff only at makers, and so on).
    pub fn fits(self, kind: OrgKind) -> bool {
        match self {
            MemberRole::MakerStaff => kind == OrgKind::SealMaker,
            MemberRole::PoliceApprover => kind == OrgKind::Police,
            MemberRole::Applicant | MemberRole::SealAdmin | MemberRole::Reviewer => {
                !matches!(kind, OrgKind::SealMaker | OrgKind::Police)
            }
        }
    }
}

/// A name folded for uniqueness and look-up: full-width ASCII forms to half-width, every kind of
/// space removed, Latin letters lower-cased.
pub fn fold_name(name: &str) -> String {
    name.chars()
        .filter_map(|c| {
            let c = match c {
                '\u{3000}' => ' ',
                '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
                c => c,
            };
            (!c.is_whitespace()).then(|| c.to_ascii_lowercase())
        })
        .collect()
}

/// An organisation as the API shows it.
#[derive(Clone, Debug, Serialize)]
pub struct Organisation {
    pub id: String,
    pub credit_code: String,
    pub name: String,
    pub kind: OrgKind,
    pub region: String,
    pub region_name: Option<String>,
    pub parent_id: Option<String>,
    pub created_at: i64,
}

impl TryFrom<OrgRow> for Organisation {
    type Error = AppError;

    fn try_from(o: OrgRow) -> Result<Self, AppError> {
        let kind = OrgKind::parse(&o.kind)
            .ok_or_else(|| AppError::Internal(format!("stored organisation kind {:?}", o.kind)))?;
        Ok(Organisation {
            region_name: region::lookup(&o.region).map(|r| r.full_name()),
            id: o.id,
            credit_code: o.credit_code,
            name: o.name,
            kind,
            region: o.region,
            parent_id: o.parent_id,
            created_at: o.created_at,
        })
    }
}

/// What creating an organisation takes.
pub struct NewOrg {
    pub credit_code: String,
    pub name: String,
    pub kind: OrgKind,
    pub region: String,
    pub parent_id: Option<String>,
}

/// Check an organisation's name: 2–100 characters, no control characters.
pub(crate) fn check_org_name(name: &str) -> Result<String, AppError> {
    let name = name.trim();
    let n = name.chars().count();
    if !(2..=100).contains(&n) || name.chars().any(char::is_control) {
        return Err(AppError::Invalid {
            field: "name",
            rule: format!("must be 2 to 100 printable characters, not {n}"),
        });
    }
    Ok(name.to_string())
}

impl App {
    /// Register an organisation (platform staff). The credit code, region and parent are checked
    /// first; the region must be a current GB/T 2260 code.
    pub async fn create_org(&self, p: &Principal, new: NewOrg) -> Result<Organisation, AppError> {
        may(p, Action::CreateOrg, Resource::Platform)?;
        let actor = &p.actor;
        let code = CreditCode::parse(&new.credit_code).map_err(|e| AppError::Invalid {
            field: "credit_code",
            rule: e.rule().to_string(),
        })?;
        let name = check_org_name(&new.name)?;
        let region = region::lookup(&new.region)
            .filter(|r| r.is_current())
            .ok_or_else(|| AppError::Invalid {
                field: "region",
                rule: format!(
                    "{:?} is not a current GB/T 2260 region code (six digits)",
                    new.region
                ),
            })?;
        if let Some(parent) = &new.parent_id {
            if self.store.org_get(parent).await?.is_none() {
                return Err(AppError::Invalid {
                    field: "parent_id",
                    rule: format!("no organisation {parent:?}"),
                });
            }
        }
        let row = OrgRow {
            id: format!(
                "o{}",
                random_token(9)
                    .to_ascii_lowercase()
                    .replace(['-', '_'], "x")
            ),
            credit_code: code.as_str().to_string(),
            name_key: fold_name(&name),
            name,
            kind: new.kind.as_str().to_string(),
            region: region.code.to_string(),
            parent_id: new.parent_id,
            created_by: actor.name.clone(),
            created_at: crate::store::now(),
        };
        let mut tx = self.store.begin().await?;
        Store::org_insert(&mut tx, &row).await.map_err(|e| match e {
            StoreError::Conflict(c) if c.contains("credit_code") => AppError::Conflict(format!(
                "an organisation with credit code {} exists",
                row.credit_code
            )),
            StoreError::Conflict(c) if c.contains("name_key") => AppError::Conflict(format!(
                "an organisation named {:?} exists (names are compared without spaces and full-width forms)",
                row.name
            )),
            other => other.into(),
        })?;
        self.audit
            .append(
                &mut tx,
                &actor.name,
                "organisation.create",
                json!({"id": row.id, "credit_code": row.credit_code, "parent": row.parent_id}),
            )
            .await?;
        tx.commit().await.map_err(StoreError::from)?;
        row.try_into()
    }

    pub async fn org(&self, id: &str) -> Result<Organisation, AppError> {
        self.store
            .org_get(id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no organisation {id:?}")))?
            .try_into()
    }

    /// Look up by credit code (exact, after validation) or by name (folded, contained).
    pub async fn find_orgs(
        &self,
        query: &str,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<Organisation>, AppError> {
        if let Ok(code) = CreditCode::parse(query) {
            return match self.store.org_by_code(code.as_str()).await? {
                Some(o) => Ok(vec![o.try_into()?]),
                None => Ok(vec![]),
            };
        }
        self.store
            .org_search(&fold_name(query), None, offset, limit)
            .await?
            .into_iter()
            .map(Organisation::try_from)
            .collect()
    }

    pub async fn org_children(&self, id: Option<&str>) -> Result<Vec<Organisation>, AppError> {
        self.store
            .org_children(id)
            .await?
            .into_iter()
            .map(Organisation::try_from)
            .collect()
    }

    /// The caller as the policy sees it.
    pub async fn principal(&self, actor: &Actor) -> Result<Principal, AppError> {
        let mut memberships = Vec::new();
        for m in self.store.memberships_of(&actor.name).await? {
            let (Some(role), Some(org)) = (
                MemberRole::parse(&m.role),
                self.store.org_get(&m.org_id).await?,
            ) else {
                continue;
            };
            let Some(kind) = OrgKind::parse(&org.kind) else {
                continue;
            };
            memberships.push(Held {
                org_id: m.org_id,
                role,
                kind,
                region: org.region,
            });
        }
        Ok(Principal {
            actor: actor.clone(),
            memberships,
        })
    }

    /// The organisation's id and its ancestors' ids, and its region, for the policy (NotFound
    /// when there is none).
    pub async fn policy_scope(&self, org_id: &str) -> Result<(Vec<String>, String), AppError> {
        let chain = self.store.org_ancestry(org_id).await?;
        let Some(region) = chain.first().map(|o| o.region.clone()) else {
            return Err(AppError::NotFound(format!("no organisation {org_id:?}")));
        };
        Ok((chain.into_iter().map(|o| o.id).collect(), region))
    }

    /// Refuse unless `p` may give and take roles in the organisation.
    pub async fn may_manage_members(&self, p: &Principal, org_id: &str) -> Result<(), AppError> {
        let (chain, region) = self.policy_scope(org_id).await?;
        may(
            p,
            Action::ManageMembers,
            Resource::Org {
                ancestry: &chain,
                region: &region,
            },
        )
        .map(|_| ())
    }

    /// Whether `p` may do `action` to organisation `org_id` (its tree and region looked up).
    pub async fn may_on_org(
        &self,
        p: &Principal,
        action: Action,
        org_id: &str,
    ) -> Result<super::policy::Allowed, AppError> {
        let (chain, region) = self.policy_scope(org_id).await?;
        may(
            p,
            action,
            Resource::Org {
                ancestry: &chain,
                region: &region,
            },
        )
    }

    /// Who holds which role in the organisation.
    pub async fn members(
        &self,
        p: &Principal,
        org_id: &str,
    ) -> Result<Vec<MembershipRow>, AppError> {
        let (chain, region) = self.policy_scope(org_id).await?;
        may(
            p,
            Action::ReadMembers,
            Resource::Org {
                ancestry: &chain,
                region: &region,
            },
        )?;
        Ok(self.store.memberships_of_org(org_id).await?)
    }

    /// Give `username` role `role` in the organisation.
    pub async fn add_member(
        &self,
        p: &Principal,
        org_id: &str,
        username: &str,
        role: MemberRole,
    ) -> Result<MembershipRow, AppError> {
        let (chain, region) = self.policy_scope(org_id).await?;
        may(
            p,
            Action::ManageMembers,
            Resource::Org {
                ancestry: &chain,
                region: &region,
            },
        )?;
        let actor = &p.actor;
        let org = self.org(org_id).await?;
        if !role.fits(org.kind) {
            return Err(AppError::Invalid {
                field: "role",
                rule: format!(
                    "role {} does not exist in an organisation of kind {}",
                    role.as_str(),
                    org.kind.as_str()
                ),
            });
        }
        if self.store.account_get(username).await?.is_none() {
            return Err(AppError::Invalid {
                field: "username",
                rule: format!("no account {username:?}"),
            });
        }
        let row = MembershipRow {
            org_id: org.id.clone(),
            username: username.to_string(),
            role: role.as_str().to_string(),
            created_by: actor.name.clone(),
            created_at: crate::store::now(),
        };
        let mut tx = self.store.begin().await?;
        Store::membership_insert(&mut tx, &row)
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => AppError::Conflict(format!(
                    "{username} already has role {} in this organisation",
                    role.as_str()
                )),
                other => other.into(),
            })?;
        self.audit
            .append(
                &mut tx,
                &actor.name,
                "membership.add",
                json!({"org": org.id, "username": username, "role": role.as_str()}),
            )
            .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(row)
    }

    pub async fn remove_member(
        &self,
        p: &Principal,
        org_id: &str,
        username: &str,
        role: MemberRole,
    ) -> Result<(), AppError> {
        let (chain, region) = self.policy_scope(org_id).await?;
        may(
            p,
            Action::ManageMembers,
            Resource::Org {
                ancestry: &chain,
                region: &region,
            },
        )?;
        let actor = &p.actor;
        let mut tx = self.store.begin().await?;
        if !Store::membership_delete(&mut tx, org_id, username, role.as_str()).await? {
            return Err(AppError::NotFound(format!(
                "{username} has no role {} in organisation {org_id}",
                role.as_str()
            )));
        }
        self.audit
            .append(
                &mut tx,
                &actor.name,
                "membership.remove",
                json!({"org": org_id, "username": username, "role": role.as_str()}),
            )
            .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fold_full_width_and_spaces() {
        assert_eq!(fold_name("ＡＢＣ 科技\u{3000}有限公司"), "abc科技有限公司");
        assert_eq!(
            fold_name("abc科技有限公司"),
            fold_name(" ＡＢＣ科技 有限公司 ")
        );
    }

    #[test]
    fn roles_fit_kinds() {
        assert!(MemberRole::SealAdmin.fits(OrgKind::Enterprise));
        assert!(!MemberRole::SealAdmin.fits(OrgKind::Police));
        assert!(MemberRole::PoliceApprover.fits(OrgKind::Police));
        assert!(!MemberRole::MakerStaff.fits(OrgKind::Government));
        for k in OrgKind::ALL {
            assert_eq!(OrgKind::parse(k.as_str()), Some(k));
        }
        for r in MemberRole::ALL {
            assert_eq!(MemberRole::parse(r.as_str()), Some(r));
        }
    }
}
