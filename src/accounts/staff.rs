//! Staff accounts: administrators create operators and auditors, disable and enable them. The
//! first administrator comes from the ceremony (`ceremony::ensure_admin`).

use serde_json::json;

use super::password;
use crate::access::Actor;
use crate::app::App;
use crate::error::AppError;
use crate::store::{AccountRow, Role, Store};

impl App {
    /// Create an operator account (admin-only at the front ends).
    pub async fn create_operator(
        &self,
        actor: &str,
        username: &str,
        password: &str,
        role: Role,
    ) -> Result<(), AppError> {
        let name_ok = !username.is_empty()
            && username.len() <= 64
            && username
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
        if !name_ok {
            return Err(AppError::BadRequest(format!(
                "username {username:?}: use 1-64 characters from a-z 0-9 . _ -"
            )));
        }
        if role == Role::Person {
            return Err(AppError::Invalid {
                field: "role",
                rule: "staff accounts are admin, operator or auditor; people register themselves"
                    .into(),
            });
        }
        // Staff passwords: 12 characters at least, and the rules every account follows.
        if password.chars().count() < 12 {
            return Err(AppError::Policy(
                "passwords need at least 12 characters".into(),
            ));
        }
        password::check(
            password,
            &password::PasswordContext {
                username: Some(username),
                ..Default::default()
            },
        )
        .map_err(|e| AppError::Invalid {
            field: "password",
            rule: e.rule().to_string(),
        })?;
        let password = password.to_string();
        let hash =
            tokio::task::spawn_blocking(move || crate::ca::ceremony::hash_password(&password))
                .await
                .map_err(|e| AppError::Internal(e.to_string()))??;
        let mut tx = self.store.begin().await?;
        let row = AccountRow::staff(username, hash, role, crate::store::now());
        Store::account_insert(&mut tx, &row)
            .await
            .map_err(|e| match e {
                crate::store::StoreError::Conflict(_) => {
                    AppError::Conflict(format!("operator {username:?} exists"))
                }
                other => other.into(),
            })?;
        self.audit
            .append(
                &mut tx,
                actor,
                "operator.create",
                json!({"username": username, "role": role.as_str()}),
            )
            .await?;
        tx.commit().await.map_err(crate::store::StoreError::from)?;
        Ok(())
    }

    /// Disable an operator (it cannot log in; its sessions end at once) or enable it again.
    /// An administrator cannot disable itself, nor the last enabled administrator.
    pub async fn set_operator_disabled(
        &self,
        actor: &Actor,
        username: &str,
        disable: bool,
    ) -> Result<(), AppError> {
        actor.require(crate::access::Permission::ManageOperators)?;
        let op = self
            .store
            .account_get(username)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no operator {username:?}")))?;
        if disable {
            if actor.name == op.username {
                return Err(AppError::Policy(
                    "an operator cannot disable its own account".into(),
                ));
            }
            if op.role == Role::Admin
                && op.disabled_at.is_none()
                && self.store.account_count_enabled(Role::Admin).await? <= 1
            {
                return Err(AppError::Policy(format!(
                    "{username} is the last enabled administrator"
                )));
            }
        }
        let mut tx = self.store.begin().await?;
        let at = disable.then(crate::store::now);
        Store::account_set_disabled(&mut tx, username, at).await?;
        self.audit
            .append(
                &mut tx,
                &actor.name,
                if disable {
                    "operator.disable"
                } else {
                    "operator.enable"
                },
                json!({"username": username}),
            )
            .await?;
        tx.commit().await.map_err(crate::store::StoreError::from)?;
        Ok(())
    }
}
