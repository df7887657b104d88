//! People registering themselves: SMS codes (sent through the SMS provider, kept only as hashes,
//! limited per number), registration with real name, resident ID number, mobile number and
//! password, and password reset by SMS code. Every field is checked before anything is stored; a
//! refusal names the field and the rule.

use std::net::IpAddr;

use rand_core::RngCore;
use serde_json::json;
use sha2::Digest;

use super::ids::{Mobile, ResidentId};
use super::password::{self, PasswordContext};
use super::session::{hash_password, random_token};
use crate::app::App;
use crate::error::AppError;
use crate::notify::sms::SmsProvider;
use crate::store::{AccountRow, CodePurpose, Role, Store, StoreError};

/// Wrong guesses allowed per code.
pub const CODE_ATTEMPTS: i64 = 5;
/// Seconds between two codes to one number.
pub const RESEND_SECS: i64 = 60;

/// What a person gives to register.
pub struct Registration {
    pub real_name: String,
    pub resident_id: String,
    pub mobile: String,
    pub code: String,
    pub password: String,
    pub lang: String,
}

/// What `send_code` tells the caller: when the code expires and when another may be asked for.
#[derive(Debug, serde::Serialize)]
pub struct CodeSent {
    pub expires_in: u64,
    pub retry_after: u64,
}

/// A real name as the resident ID card shows it: 2–30 characters of letters (Han or other) and the
/// middle dot of transcribed names; no digits or symbols.
pub fn check_real_name(name: &str) -> Result<String, AppError> {
    let name = name.trim();
    let n = name.chars().count();
    let bad = |rule: &str| AppError::Invalid {
        field: "real_name",
        rule: rule.to_string(),
    };
    if !(2..=30).contains(&n) {
        return Err(bad(&format!("must be 2 to 30 characters, not {n}")));
    }
    if !name
        .chars()
        .all(|c| c.is_alphabetic() || c == '·' || c == '•' || c == ' ')
    {
        return Err(bad("letters only (and · between the parts of a name)"));
    }
    Ok(name.to_string())
}

fn mobile_field(s: &str) -> Result<Mobile, AppError> {
    Mobile::parse(s).map_err(|e| AppError::Invalid {
        field: "mobile",
        rule: e.rule().to_string(),
    })
}

fn code_hash(id: &str, code: &str) -> String {
    hex::encode(sha2::Sha256::digest(format!("{id}:{code}").as_bytes()))
}

/// The text of an SMS, in the reader's language.
fn sms_text(lang: &str, purpose: CodePurpose, code: &str, minutes: u32) -> String {
    let en = lang.starts_with("en");
    match (purpose, en) {
        (CodePurpose::Register, false) => {
            format!("【sealpki】您的注册验证码为 {code}，{minutes} 分钟内有效。请勿告诉他人。")
        }
        (CodePurpose::Register, true) => format!(
            "[sealpki] Your registration code is {code}, valid for {minutes} minutes. Do not share it."
        ),
        (CodePurpose::Reset, false) => {
            format!("【sealpki】您正在重置密码，验证码为 {code}，{minutes} 分钟内有效。")
        }
        (CodePurpose::Reset, true) => format!(
            "[sealpki] Your password reset code is {code}, valid for {minutes} minutes."
        ),
    }
}

impl App {
    /// The SMS provider of this deployment (`[sms]`).
    pub fn sms_provider(&self) -> std::sync::Arc<dyn SmsProvider> {
        self.notify.sms.clone()
    }

    /// Where the development SMS provider writes, when it is the one in use.
    pub fn dev_sms_file(&self) -> Option<std::path::PathBuf> {
        (self.sms_provider().name() == "development").then(|| {
            self.config
                .sms
                .dev_file
                .clone()
                .unwrap_or_else(|| self.config.data_dir.join(crate::notify::sms::DEV_SMS_FILE))
        })
    }

    /// Send a one-time code to a mobile number. For registration, a number that already has an
    /// account gets a message saying so instead of a code; for a reset, a number without one gets
    /// nothing — the answer is the same either way, so numbers cannot be probed.
    pub async fn send_code(
        &self,
        mobile: &str,
        purpose: CodePurpose,
        lang: &str,
        _client: Option<IpAddr>,
    ) -> Result<CodeSent, AppError> {
        let mobile = mobile_field(mobile)?;
        let now = crate::store::now();
        let cfg = &self.config.accounts;
        let (count, last) = self
            .store
            .sms_codes_since(mobile.expose(), purpose, now - 86_400)
            .await?;
        if let Some(last) = last.filter(|l| now - l < RESEND_SECS) {
            return Err(AppError::CodeThrottled {
                retry_after: u64::try_from(RESEND_SECS - (now - last))
                    .unwrap_or(1)
                    .max(1),
            });
        }
        if count >= i64::from(cfg.sms_codes_per_day) {
            return Err(AppError::CodeThrottled { retry_after: 3600 });
        }
        let exists = self
            .store
            .account_by_mobile(mobile.expose())
            .await?
            .is_some();
        let minutes = cfg.sms_code_minutes;
        let id = random_token(12);
        let code = format!("{:06}", rand_core::OsRng.next_u32() % 1_000_000);
        // The row is written whether or not a message goes out, so the limits count every ask.
        let mut tx = self.store.begin().await?;
        Store::sms_code_insert(
            &mut tx,
            &id,
            mobile.expose(),
            purpose,
            &code_hash(&id, &code),
            now,
            now + i64::from(minutes) * 60,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        let text = match (purpose, exists) {
            (CodePurpose::Register, false) | (CodePurpose::Reset, true) => {
                Some(sms_text(lang, purpose, &code, minutes))
            }
            (CodePurpose::Register, true) => Some(if lang.starts_with("en") {
                "[sealpki] This number already has an account. Forgot the password? Reset it by SMS."
                    .to_string()
            } else {
                "【sealpki】该手机号已注册。如忘记密码，请通过短信验证码重置。".to_string()
            }),
            (CodePurpose::Reset, false) => None,
        };
        if let Some(text) = text {
            let provider = self.sms_provider();
            let to = mobile.expose().to_string();
            tokio::task::spawn_blocking(move || provider.send(&to, &text))
                .await
                .map_err(|e| AppError::Internal(e.to_string()))?
                .map_err(|e| AppError::Unavailable(format!("the SMS could not be sent: {e}")))?;
        }
        Ok(CodeSent {
            expires_in: u64::from(minutes) * 60,
            retry_after: RESEND_SECS as u64,
        })
    }

    /// Check a code for the number and purpose, spending an attempt; the code's id when right.
    async fn check_code(
        &self,
        mobile: &Mobile,
        purpose: CodePurpose,
        code: &str,
    ) -> Result<String, AppError> {
        let wrong = || {
            AppError::BadCode(
                "the SMS code is wrong, expired or used up: ask for a new one".to_string(),
            )
        };
        let code = code.trim();
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AppError::Invalid {
                field: "code",
                rule: "the SMS code has 6 digits".into(),
            });
        }
        let row = self
            .store
            .sms_code_latest(mobile.expose(), purpose)
            .await?
            .ok_or_else(wrong)?;
        if row.used_at.is_some() || row.expires_at <= crate::store::now() {
            return Err(wrong());
        }
        if !self.store.sms_code_attempt(&row.id, CODE_ATTEMPTS).await? {
            return Err(wrong());
        }
        let given = code_hash(&row.id, code);
        // Both are hex digests of equal length; compare without an early exit.
        let same = given
            .bytes()
            .zip(row.code_hash.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
        if !same {
            return Err(wrong());
        }
        Ok(row.id)
    }

    /// Register a person. Nothing is stored unless every field is valid and the code is right.
    pub async fn register(&self, r: Registration) -> Result<AccountRow, AppError> {
        let real_name = check_real_name(&r.real_name)?;
        let resident_id = ResidentId::parse(&r.resident_id).map_err(|e| AppError::Invalid {
            field: "resident_id",
            rule: e.rule().to_string(),
        })?;
        let mobile = mobile_field(&r.mobile)?;
        password::check(
            &r.password,
            &PasswordContext {
                username: None,
                mobile: Some(&mobile),
                resident_id: Some(&resident_id),
            },
        )
        .map_err(|e| AppError::Invalid {
            field: "password",
            rule: e.rule().to_string(),
        })?;
        let lang = if r.lang.starts_with("en") {
            "en"
        } else {
            "zh-CN"
        };
        let code_id = self
            .check_code(&mobile, CodePurpose::Register, &r.code)
            .await?;
        let hash = hash_password(r.password).await?;
        let now = crate::store::now();
        let username = format!(
            "p{}",
            random_token(8)
                .to_ascii_lowercase()
                .replace(['-', '_'], "x")
        );
        let account = AccountRow {
            real_name: Some(real_name),
            resident_id: Some(resident_id.expose().to_string()),
            mobile: Some(mobile.expose().to_string()),
            lang: lang.to_string(),
            ..AccountRow::staff(&username, hash, Role::Person, now)
        };
        let mut tx = self.store.begin().await?;
        if !Store::sms_code_use(&mut tx, &code_id, now).await? {
            return Err(AppError::BadCode(
                "the SMS code was used already: ask for a new one".into(),
            ));
        }
        Store::account_insert(&mut tx, &account)
            .await
            .map_err(|e| match e {
                StoreError::Conflict(c) if c.contains("mobile") => {
                    AppError::Conflict("this mobile number already has an account".into())
                }
                StoreError::Conflict(c) if c.contains("resident") => AppError::Conflict(
                    "an account with this resident ID number exists already".into(),
                ),
                other => other.into(),
            })?;
        // The audit names the account, never the person's numbers.
        self.audit
            .append(
                &mut tx,
                &username,
                "account.register",
                json!({"role": "person"}),
            )
            .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(account)
    }

    /// Set a new password with an SMS code sent to the account's number; every session ends.
    pub async fn reset_password(
        &self,
        mobile: &str,
        code: &str,
        new_password: String,
    ) -> Result<(), AppError> {
        let mobile = mobile_field(mobile)?;
        let account = self.store.account_by_mobile(mobile.expose()).await?;
        let rid = account
            .as_ref()
            .and_then(|a| a.resident_id.as_deref())
            .and_then(|r| ResidentId::parse(r).ok());
        password::check(
            &new_password,
            &PasswordContext {
                username: account.as_ref().map(|a| a.username.as_str()),
                mobile: Some(&mobile),
                resident_id: rid.as_ref(),
            },
        )
        .map_err(|e| AppError::Invalid {
            field: "password",
            rule: e.rule().to_string(),
        })?;
        let code_id = self.check_code(&mobile, CodePurpose::Reset, code).await?;
        // A code is only ever sent to a number with an account, so this is not reachable by probing.
        let account = account
            .ok_or_else(|| AppError::BadCode("the SMS code is wrong, expired or used up".into()))?;
        let hash = hash_password(new_password).await?;
        let now = crate::store::now();
        let mut tx = self.store.begin().await?;
        if !Store::sms_code_use(&mut tx, &code_id, now).await? {
            return Err(AppError::BadCode("the SMS code was used already".into()));
        }
        Store::account_set_password(&mut tx, &account.username, &hash, now, None).await?;
        self.audit
            .append(&mut tx, &account.username, "password.reset", json!({}))
            .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    /// Change one's own password, knowing the current one; other sessions end.
    pub async fn change_password(
        &self,
        who: &super::session::Authenticated,
        current: String,
        new_password: String,
    ) -> Result<(), AppError> {
        let account = &who.account;
        if !super::session::verify_password(account.password_hash.clone(), current).await? {
            return Err(AppError::BadCredentials);
        }
        let mobile = account
            .mobile
            .as_deref()
            .and_then(|m| Mobile::parse(m).ok());
        let rid = account
            .resident_id
            .as_deref()
            .and_then(|r| ResidentId::parse(r).ok());
        password::check(
            &new_password,
            &PasswordContext {
                username: Some(&account.username),
                mobile: mobile.as_ref(),
                resident_id: rid.as_ref(),
            },
        )
        .map_err(|e| AppError::Invalid {
            field: "password",
            rule: e.rule().to_string(),
        })?;
        let hash = hash_password(new_password).await?;
        let now = crate::store::now();
        let mut tx = self.store.begin().await?;
        Store::account_set_password(
            &mut tx,
            &account.username,
            &hash,
            now,
            Some(&who.token_hash),
        )
        .await?;
        self.audit
            .append(&mut tx, &account.username, "password.change", json!({}))
            .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_names() {
        assert_eq!(check_real_name(" 张三 ").unwrap(), "张三");
        assert!(check_real_name("买买提·艾力").is_ok());
        assert!(check_real_name("Zhang San").is_ok());
        for bad in ["张", "张3", "<script>", "", &"张".repeat(31)] {
            let e = check_real_name(bad).unwrap_err();
            assert!(
                matches!(
                    e,
                    AppError::Invalid {
                        field: "real_name",
                        ..
                    }
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn code_hashes_bind_the_code_to_its_row() {
        assert_ne!(code_hash("a", "123456"), code_hash("b", "123456"));
        assert_eq!(code_hash("a", "123456").len(), 64);
    }

    #[test]
    fn sms_texts_in_both_languages() {
        assert!(sms_text("zh-CN", CodePurpose::Register, "123456", 10).contains("123456"));
        assert!(sms_text("en", CodePurpose::Reset, "654321", 10).contains("reset code is 654321"));
    }
}
