//! Accounts (staff and registered people), their sessions, and the one-time codes sent by SMS.
//! Personal numbers are stored as given after validation; callers mask them for display.

use sqlx::Row;

use super::{Role, Store, StoreError, Tx};

/// One account as stored. `role` is the platform role, `Role::Person` for people without one.
#[derive(Clone, Debug)]
pub struct AccountRow {
    pub username: String,
    pub password_hash: String,
    pub role: Role,
    /// When the account was disabled; None while it may log in.
    pub disabled_at: Option<i64>,
    pub real_name: Option<String>,
    pub resident_id: Option<String>,
    pub mobile: Option<String>,
    pub email: Option<String>,
    pub lang: String,
    /// The confirmed TOTP secret (base32).
    pub totp_secret: Option<String>,
    /// A TOTP secret handed out for enrolment and not yet confirmed.
    pub totp_pending: Option<String>,
    pub created_at: i64,
    pub password_changed_at: i64,
}

impl AccountRow {
    /// A staff account with a platform role, as an administrator or the ceremony makes it.
    pub fn staff(username: &str, password_hash: String, role: Role, now: i64) -> AccountRow {
        AccountRow {
            username: username.to_string(),
            password_hash,
            role,
            disabled_at: None,
            real_name: None,
            resident_id: None,
            mobile: None,
            email: None,
            lang: "zh-CN".into(),
            totp_secret: None,
            totp_pending: None,
            created_at: now,
            password_changed_at: now,
        }
    }

    /// Staff roles must use a second factor.
    pub fn is_staff(&self) -> bool {
        self.role != Role::Person
    }
}

const ACCOUNT_COLUMNS: &str = "a.username, a.password_hash, a.role, a.disabled_at, a.real_name, \
     a.resident_id, a.mobile, a.email, a.lang, a.totp_secret, a.totp_pending, a.created_at, \
     a.password_changed_at";

fn account_row(r: &sqlx::any::AnyRow) -> Result<AccountRow, StoreError> {
    let role: String = r.try_get(2)?;
    Ok(AccountRow {
        username: r.try_get(0)?,
        password_hash: r.try_get(1)?,
        role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("role {role:?}")))?,
        disabled_at: r.try_get(3)?,
        real_name: r.try_get(4)?,
        resident_id: r.try_get(5)?,
        mobile: r.try_get(6)?,
        email: r.try_get(7)?,
        lang: r.try_get(8)?,
        totp_secret: r.try_get(9)?,
        totp_pending: r.try_get(10)?,
        created_at: r.try_get(11)?,
        password_changed_at: r.try_get(12)?,
    })
}

/// What a session is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionKind {
    /// `Authorization: Bearer` for programs.
    Bearer,
    /// The console's HttpOnly cookie.
    Browser,
}

impl SessionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionKind::Bearer => "bearer",
            SessionKind::Browser => "browser",
        }
    }
    fn parse(s: &str) -> Option<Self> {
        match s {
            "bearer" => Some(SessionKind::Bearer),
            "browser" => Some(SessionKind::Browser),
            _ => None,
        }
    }
}

/// How far a session has got: a staff account without a second factor may only enrol one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SessionStage {
    Full,
    TotpEnrolment,
}

impl SessionStage {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionStage::Full => "full",
            SessionStage::TotpEnrolment => "totp-enrolment",
        }
    }
    fn parse(s: &str) -> Option<Self> {
        match s {
            "full" => Some(SessionStage::Full),
            "totp-enrolment" => Some(SessionStage::TotpEnrolment),
            _ => None,
        }
    }
}

/// One session, without its secret.
#[derive(Clone, Debug, serde::Serialize)]
pub struct SessionRow {
    pub id: String,
    #[serde(skip)]
    pub username: String,
    pub kind: SessionKind,
    pub stage: SessionStage,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
}

const SESSION_COLUMNS: &str = "s.id, s.username, s.kind, s.stage, s.created_at, s.last_seen_at, \
     s.expires_at, s.client_ip, s.user_agent";

fn session_row(r: &sqlx::any::AnyRow, at: usize) -> Result<SessionRow, StoreError> {
    let kind: String = r.try_get(at + 2)?;
    let stage: String = r.try_get(at + 3)?;
    Ok(SessionRow {
        id: r.try_get(at)?,
        username: r.try_get(at + 1)?,
        kind: SessionKind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("session kind {kind:?}")))?,
        stage: SessionStage::parse(&stage)
            .ok_or_else(|| StoreError::Corrupt(format!("session stage {stage:?}")))?,
        created_at: r.try_get(at + 4)?,
        last_seen_at: r.try_get(at + 5)?,
        expires_at: r.try_get(at + 6)?,
        client_ip: r.try_get(at + 7)?,
        user_agent: r.try_get(at + 8)?,
    })
}

/// What SMS codes are for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CodePurpose {
    Register,
    Reset,
}

impl CodePurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            CodePurpose::Register => "register",
            CodePurpose::Reset => "reset",
        }
    }
}

/// The newest SMS code for a number and purpose.
#[derive(Clone, Debug)]
pub struct SmsCodeRow {
    pub id: String,
    pub code_hash: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub attempts: i64,
    pub used_at: Option<i64>,
}

impl Store {
    pub async fn account_insert(tx: &mut Tx<'_>, a: &AccountRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO accounts (username, password_hash, role, created_at, disabled_at, real_name, \
             resident_id, mobile, email, lang, password_changed_at) \
             VALUES ($1, $2, $3, $4, NULL, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&a.username)
        .bind(&a.password_hash)
        .bind(a.role.as_str())
        .bind(a.created_at)
        .bind(a.real_name.clone())
        .bind(a.resident_id.clone())
        .bind(a.mobile.clone())
        .bind(a.email.clone())
        .bind(&a.lang)
        .bind(a.password_changed_at)
        .execute(&mut **tx)
        .await
        .map_err(StoreError::from_insert)?;
        Ok(())
    }

    pub async fn account_get(&self, username: &str) -> Result<Option<AccountRow>, StoreError> {
        let r = sqlx::query(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts a WHERE a.username = $1"
        ))
        .bind(username)
        .fetch_optional(&self.pool)
        .await?;
        r.as_ref().map(account_row).transpose()
    }

    pub async fn account_by_mobile(&self, mobile: &str) -> Result<Option<AccountRow>, StoreError> {
        let r = sqlx::query(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts a WHERE a.mobile = $1"
        ))
        .bind(mobile)
        .fetch_optional(&self.pool)
        .await?;
        r.as_ref().map(account_row).transpose()
    }

    pub async fn account_count(&self) -> Result<i64, StoreError> {
        let r = sqlx::query("SELECT COUNT(*) FROM accounts")
            .fetch_one(&self.pool)
            .await?;
        Ok(r.try_get(0)?)
    }

    /// Enabled accounts with role `role`.
    pub async fn account_count_enabled(&self, role: Role) -> Result<i64, StoreError> {
        let r =
            sqlx::query("SELECT COUNT(*) FROM accounts WHERE role = $1 AND disabled_at IS NULL")
                .bind(role.as_str())
                .fetch_one(&self.pool)
                .await?;
        Ok(r.try_get(0)?)
    }

    /// Disable (`Some(now)`) or enable (`None`) an account; disabling ends its sessions. Returns
    /// whether the account exists.
    pub async fn account_set_disabled(
        tx: &mut Tx<'_>,
        username: &str,
        disabled_at: Option<i64>,
    ) -> Result<bool, StoreError> {
        let r = sqlx::query("UPDATE accounts SET disabled_at = $1 WHERE username = $2")
            .bind(disabled_at)
            .bind(username)
            .execute(&mut **tx)
            .await?;
        if disabled_at.is_some() {
            Self::sessions_delete_all(tx, username, None).await?;
        }
        Ok(r.rows_affected() > 0)
    }

    /// A new password; every session of the account ends except `keep` (the one that changed it).
    pub async fn account_set_password(
        tx: &mut Tx<'_>,
        username: &str,
        hash: &str,
        now: i64,
        keep: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE accounts SET password_hash = $1, password_changed_at = $2 WHERE username = $3",
        )
        .bind(hash)
        .bind(now)
        .bind(username)
        .execute(&mut **tx)
        .await?;
        Self::sessions_delete_all(tx, username, keep).await
    }

    pub async fn account_set_lang(
        tx: &mut Tx<'_>,
        username: &str,
        lang: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE accounts SET lang = $1 WHERE username = $2")
            .bind(lang)
            .bind(username)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Hand out a TOTP secret for enrolment (replacing an unconfirmed one).
    pub async fn totp_set_pending(
        tx: &mut Tx<'_>,
        username: &str,
        secret: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE accounts SET totp_pending = $1 WHERE username = $2")
            .bind(secret)
            .bind(username)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// The pending secret becomes the account's second factor, `step` its first accepted step.
    pub async fn totp_confirm(
        tx: &mut Tx<'_>,
        username: &str,
        secret: &str,
        step: i64,
    ) -> Result<bool, StoreError> {
        let r = sqlx::query(
            "UPDATE accounts SET totp_secret = totp_pending, totp_pending = NULL, totp_last_step = $1 \
             WHERE username = $2 AND totp_pending = $3",
        )
        .bind(step)
        .bind(username)
        .bind(secret)
        .execute(&mut **tx)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Accept TOTP step `step` for the account unless it (or a later one) was accepted before: the
    /// one conditional update makes a code single-use across every instance.
    pub async fn totp_accept_step(&self, username: &str, step: i64) -> Result<bool, StoreError> {
        let r = sqlx::query(
            "UPDATE accounts SET totp_last_step = $1 WHERE username = $2 \
             AND (totp_last_step IS NULL OR totp_last_step < $1)",
        )
        .bind(step)
        .bind(username)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    pub async fn session_insert(
        tx: &mut Tx<'_>,
        token_hash: &str,
        s: &SessionRow,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, id, username, kind, stage, created_at, last_seen_at, \
             expires_at, client_ip, user_agent) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(token_hash)
        .bind(&s.id)
        .bind(&s.username)
        .bind(s.kind.as_str())
        .bind(s.stage.as_str())
        .bind(s.created_at)
        .bind(s.last_seen_at)
        .bind(s.expires_at)
        .bind(s.client_ip.clone())
        .bind(s.user_agent.clone())
        .execute(&mut **tx)
        .await
        .map_err(StoreError::from_insert)?;
        Ok(())
    }

    /// The enabled account behind a live session token hash, with the session.
    pub async fn session_account(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<(AccountRow, SessionRow)>, StoreError> {
        let r = sqlx::query(&format!(
            "SELECT {ACCOUNT_COLUMNS}, {SESSION_COLUMNS} FROM sessions s \
             JOIN accounts a ON a.username = s.username \
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND a.disabled_at IS NULL"
        ))
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        r.as_ref()
            .map(|r| Ok((account_row(r)?, session_row(r, 13)?)))
            .transpose()
    }

    /// Note a session's use, at most once a minute (a write per request would be wasted).
    pub async fn session_touch(&self, token_hash: &str, now: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2 AND last_seen_at < $3",
        )
        .bind(now)
        .bind(token_hash)
        .bind(now - 60)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn session_set_stage(
        tx: &mut Tx<'_>,
        token_hash: &str,
        stage: SessionStage,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET stage = $1 WHERE token_hash = $2")
            .bind(stage.as_str())
            .bind(token_hash)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// End one session (logout); whether it existed.
    pub async fn session_delete(tx: &mut Tx<'_>, token_hash: &str) -> Result<bool, StoreError> {
        let r = sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&mut **tx)
            .await?;
        Ok(r.rows_affected() > 0)
    }

    /// End the account's session with public id `id`; whether there was one.
    pub async fn session_delete_by_id(
        tx: &mut Tx<'_>,
        username: &str,
        id: &str,
    ) -> Result<bool, StoreError> {
        let r = sqlx::query("DELETE FROM sessions WHERE username = $1 AND id = $2")
            .bind(username)
            .bind(id)
            .execute(&mut **tx)
            .await?;
        Ok(r.rows_affected() > 0)
    }

    /// End every session of the account but the one with token hash `keep`.
    pub async fn sessions_delete_all(
        tx: &mut Tx<'_>,
        username: &str,
        keep: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE username = $1 AND token_hash <> $2")
            .bind(username)
            .bind(keep.unwrap_or(""))
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// The account's live sessions, newest first.
    pub async fn sessions_of(
        &self,
        username: &str,
        now: i64,
    ) -> Result<Vec<SessionRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.username = $1 AND s.expires_at > $2 \
             ORDER BY s.created_at DESC, s.id LIMIT 200"
        ))
        .bind(username)
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| session_row(r, 0)).collect()
    }

    pub async fn sms_code_insert(
        tx: &mut Tx<'_>,
        id: &str,
        mobile: &str,
        purpose: CodePurpose,
        code_hash: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sms_codes (id, mobile, purpose, code_hash, created_at, expires_at, attempts) \
             VALUES ($1, $2, $3, $4, $5, $6, 0)",
        )
        .bind(id)
        .bind(mobile)
        .bind(purpose.as_str())
        .bind(code_hash)
        .bind(now)
        .bind(expires_at)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Codes sent to the number for the purpose since `since` (for the sending limits).
    pub async fn sms_codes_since(
        &self,
        mobile: &str,
        purpose: CodePurpose,
        since: i64,
    ) -> Result<(i64, Option<i64>), StoreError> {
        let r = sqlx::query(
            "SELECT COUNT(*), MAX(created_at) FROM sms_codes WHERE mobile = $1 AND purpose = $2 \
             AND created_at >= $3",
        )
        .bind(mobile)
        .bind(purpose.as_str())
        .bind(since)
        .fetch_one(&self.pool)
        .await?;
        Ok((r.try_get(0)?, r.try_get(1)?))
    }

    /// The newest code for the number and purpose.
    pub async fn sms_code_latest(
        &self,
        mobile: &str,
        purpose: CodePurpose,
    ) -> Result<Option<SmsCodeRow>, StoreError> {
        let r = sqlx::query(
            "SELECT id, code_hash, created_at, expires_at, attempts, used_at FROM sms_codes \
             WHERE mobile = $1 AND purpose = $2 ORDER BY created_at DESC, id DESC LIMIT 1",
        )
        .bind(mobile)
        .bind(purpose.as_str())
        .fetch_optional(&self.pool)
        .await?;
        r.map(|r| {
            Ok(SmsCodeRow {
                id: r.try_get(0)?,
                code_hash: r.try_get(1)?,
                created_at: r.try_get(2)?,
                expires_at: r.try_get(3)?,
                attempts: r.try_get(4)?,
                used_at: r.try_get(5)?,
            })
        })
        .transpose()
    }

    /// Count one attempt at a code, whatever its outcome; false when the code is used up.
    pub async fn sms_code_attempt(&self, id: &str, max: i64) -> Result<bool, StoreError> {
        let r = sqlx::query(
            "UPDATE sms_codes SET attempts = attempts + 1 WHERE id = $1 AND attempts < $2 \
             AND used_at IS NULL",
        )
        .bind(id)
        .bind(max)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Spend a code (once): false when another request spent it first.
    pub async fn sms_code_use(tx: &mut Tx<'_>, id: &str, now: i64) -> Result<bool, StoreError> {
        let r = sqlx::query("UPDATE sms_codes SET used_at = $1 WHERE id = $2 AND used_at IS NULL")
            .bind(now)
            .bind(id)
            .execute(&mut **tx)
            .await?;
        Ok(r.rows_affected() == 1)
    }
}
