//! Deliveries to people: in-app notifications, e-mail over SMTP, SMS through a provider trait.
//!
//! Callers describe a message once, in Simplified Chinese and English, and `enqueue` it for a
//! recipient over the channels they choose, inside their own transaction: one outbox job per
//! channel, in the recipient's language. The worker (`crate::jobs::worker`) hands each job to
//! `Deliveries::deliver`.

pub mod email;
pub mod inbox;
pub mod sms;

use std::sync::Arc;

use crate::config::{Config, SmsProviderName};
use crate::jobs::{EmailJob, Job, NotificationJob, SmsJob};
use crate::store::{NotificationRow, Store, StoreError, Tx};

/// The recipient's language; zh-CN unless they chose English.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Lang {
    #[default]
    ZhCn,
    En,
}

impl Lang {
    /// `zh-CN`, `zh`, `en`, `en-US`, …; anything else is zh-CN.
    pub fn parse(s: &str) -> Lang {
        if s.eq_ignore_ascii_case("en") || s.to_ascii_lowercase().starts_with("en-") {
            Lang::En
        } else {
            Lang::ZhCn
        }
    }

    pub fn tag(self) -> &'static str {
        match self {
            Lang::ZhCn => "zh-CN",
            Lang::En => "en",
        }
    }
}

/// One text in both languages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Text {
    pub zh_cn: String,
    pub en: String,
}

impl Text {
    pub fn new(zh_cn: impl Into<String>, en: impl Into<String>) -> Text {
        Text {
            zh_cn: zh_cn.into(),
            en: en.into(),
        }
    }

    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::ZhCn => &self.zh_cn,
            Lang::En => &self.en,
        }
    }
}

/// What to tell someone.
#[derive(Clone, Debug)]
pub struct Message {
    /// A stable name for what happened (`test`, `certificate.issued`, …), kept with in-app ones.
    pub kind: String,
    pub title: Text,
    pub body: Text,
    /// A path in the console (`/certificates/…`) or an absolute URL; e-mails get it absolute.
    pub link: Option<String>,
}

impl Message {
    /// The delivery-check message of `POST /api/v1/notifications/test`.
    pub fn test() -> Message {
        Message {
            kind: "test".into(),
            title: Text::new("测试通知", "Test notification"),
            body: Text::new(
                "这是 sealpki 发送的测试消息，用于检查通知的投递配置。",
                "This is a test message from sealpki to check the delivery configuration.",
            ),
            link: None,
        }
    }
}

/// Who gets it and where. Addresses are personal data: masked in `Debug`.
#[derive(Clone)]
pub struct Recipient {
    pub username: String,
    pub email: Option<String>,
    /// 11 digits.
    pub mobile: Option<String>,
    pub lang: Lang,
}

impl std::fmt::Debug for Recipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recipient")
            .field("username", &self.username)
            .field("email", &self.email.as_deref().map(crate::jobs::mask_email))
            .field("mobile", &self.mobile.as_deref().map(sms::mask))
            .field("lang", &self.lang)
            .finish()
    }
}

/// A way to reach someone.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Deserialize, serde::Serialize, utoipa::ToSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Channel {
    InApp,
    Email,
    Sms,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::InApp => "in-app",
            Channel::Email => "email",
            Channel::Sms => "sms",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("the recipient has no {} address for channel {}", if *.0 == Channel::Sms { "mobile" } else { "e-mail" }, .0.as_str())]
    NoAddress(Channel),
    #[error("the recipient's e-mail address is not valid")]
    BadEmail,
    #[error("the recipient's mobile number is not an 11-digit mainland number")]
    BadMobile,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Tell account `username` `message` in the console, in the account's language, inside the
/// caller's transaction (with the change it tells of); nothing for an account that is gone. With
/// `dedupe_key`, once per key. Returns the number of jobs made.
pub async fn in_app(
    tx: &mut Tx<'_>,
    config: &Config,
    store: &crate::store::Store,
    username: &str,
    message: &Message,
    dedupe_key: Option<&str>,
) -> Result<usize, crate::error::AppError> {
    let Some(acct) = store.account_get(username).await? else {
        return Ok(0);
    };
    let to = Recipient {
        username: acct.username,
        email: None,
        mobile: None,
        lang: Lang::parse(&acct.lang),
    };
    Ok(
        enqueue(tx, config, &to, message, &[Channel::InApp], dedupe_key)
            .await
            .map_err(|e| crate::error::AppError::Internal(e.to_string()))?
            .len(),
    )
}

/// Enqueue `message` for `to` over each of `channels`, in `to`'s language, inside the caller's
/// transaction. With `dedupe_key`, a channel's job is made once per key (the key is suffixed by
/// the channel). Returns the ids of the jobs made. Addresses are checked first, so either every
/// channel gets its job or the call fails.
pub async fn enqueue(
    tx: &mut Tx<'_>,
    config: &Config,
    to: &Recipient,
    message: &Message,
    channels: &[Channel],
    dedupe_key: Option<&str>,
) -> Result<Vec<String>, NotifyError> {
    let lang = to.lang;
    let title = message.title.get(lang);
    let body = message.body.get(lang);
    let mut jobs = Vec::with_capacity(channels.len());
    for &ch in channels {
        let job = match ch {
            Channel::InApp => Job::Notification(NotificationJob {
                recipient: to.username.clone(),
                kind: message.kind.clone(),
                title: title.to_string(),
                body: body.to_string(),
                link: message.link.clone(),
            }),
            Channel::Email => {
                let addr = to.email.as_deref().ok_or(NotifyError::NoAddress(ch))?;
                addr.parse::<lettre::Address>()
                    .map_err(|_| NotifyError::BadEmail)?;
                let mut text = body.to_string();
                if let Some(link) = &message.link {
                    text.push_str("\n\n");
                    if link.starts_with('/') {
                        text.push_str(&config.public_base_url());
                    }
                    text.push_str(link);
                }
                text.push_str(match lang {
                    Lang::ZhCn => "\n\n—— sealpki（此邮件由系统自动发送，请勿回复）\n",
                    Lang::En => "\n\n-- sealpki (sent automatically; please do not reply)\n",
                });
                Job::Email(EmailJob {
                    to: addr.to_string(),
                    subject: title.to_string(),
                    body: text,
                })
            }
            Channel::Sms => {
                let number = to.mobile.as_deref().ok_or(NotifyError::NoAddress(ch))?;
                if !sms::is_mainland_mobile(number) {
                    return Err(NotifyError::BadMobile);
                }
                // Mainland providers require the sender's signature in 【】 at the start.
                let text = match lang {
                    Lang::ZhCn => format!("【sealpki】{title}：{body}"),
                    Lang::En => format!("[sealpki] {title}: {body}"),
                };
                Job::Sms(SmsJob {
                    to: number.to_string(),
                    text,
                })
            }
        };
        jobs.push((ch, job));
    }
    let mut ids = Vec::with_capacity(jobs.len());
    for (ch, job) in jobs {
        let key = dedupe_key.map(|k| format!("{k}:{}", ch.as_str()));
        if let Some(id) = crate::jobs::enqueue(tx, &config.jobs, &job, key.as_deref()).await? {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// Why a delivery failed, as the worker needs it: whether to try again.
#[derive(Debug)]
pub struct DeliveryError {
    pub retry: bool,
    /// For the job's `last_error` and the log: never addresses or texts.
    pub message: String,
}

/// The configured ways out: the SMS provider and the SMTP sender (none when not configured).
pub struct Deliveries {
    pub sms: Arc<dyn sms::SmsProvider>,
    pub mailer: Option<Arc<email::Mailer>>,
}

impl Deliveries {
    pub fn from_config(config: &Config) -> Result<Deliveries, crate::error::AppError> {
        let sms: Arc<dyn sms::SmsProvider> = match config.sms.provider {
            SmsProviderName::Development => Arc::new(sms::DevSms::new(
                config
                    .sms
                    .dev_file
                    .clone()
                    .unwrap_or_else(|| config.data_dir.join(sms::DEV_SMS_FILE)),
            )),
        };
        let mailer = match &config.smtp {
            None => None,
            Some(c) => {
                Some(Arc::new(email::Mailer::from_config(c).map_err(|e| {
                    crate::error::AppError::BadRequest(e.to_string())
                })?))
            }
        };
        Ok(Deliveries { sms, mailer })
    }

    /// Deliver one job. Blocking work (SMTP, the SMS provider) runs on the blocking pool; no
    /// database transaction is open meanwhile.
    pub async fn deliver(
        &self,
        store: &Store,
        job_id: &str,
        job: Job,
    ) -> Result<(), DeliveryError> {
        let joined = |e: tokio::task::JoinError| DeliveryError {
            retry: true,
            message: format!("delivery task failed: {e}"),
        };
        match job {
            Job::Email(j) => {
                let Some(mailer) = self.mailer.clone() else {
                    return Err(DeliveryError {
                        retry: true,
                        message: email::EmailError::NotConfigured.to_string(),
                    });
                };
                let id = job_id.to_string();
                tokio::task::spawn_blocking(move || mailer.send(&id, &j.to, &j.subject, &j.body))
                    .await
                    .map_err(joined)?
                    .map_err(|e| DeliveryError {
                        retry: e.is_transient(),
                        message: e.to_string(),
                    })
            }
            Job::Sms(j) => {
                let sms = self.sms.clone();
                let name = sms.name();
                tokio::task::spawn_blocking(move || sms.send(&j.to, &j.text))
                    .await
                    .map_err(joined)?
                    .map_err(|e| DeliveryError {
                        retry: e.is_transient(),
                        message: format!("{name}: {e}"),
                    })
            }
            Job::Notification(j) => {
                let row = NotificationRow {
                    id: crate::jobs::new_id(),
                    recipient: j.recipient,
                    kind: j.kind,
                    title: j.title,
                    body: j.body,
                    link: j.link,
                    created_at: crate::store::now(),
                    read_at: None,
                };
                // A repeat of the same job (lease ran out mid-delivery) writes nothing.
                store
                    .notification_insert(&row, job_id)
                    .await
                    .map(|_| ())
                    .map_err(|e| DeliveryError {
                        retry: true,
                        message: format!("writing the notification: {e}"),
                    })
            }
            // The worker hands these to `apps`; one reaching here is a wiring mistake.
            Job::Webhook(_) | Job::AppSealing(_) => Err(DeliveryError {
                retry: false,
                message: "an app job was handed to the people's deliveries".into(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages() {
        assert_eq!(Lang::parse("en"), Lang::En);
        assert_eq!(Lang::parse("en-GB"), Lang::En);
        assert_eq!(Lang::parse("zh-CN"), Lang::ZhCn);
        assert_eq!(Lang::parse("fr"), Lang::ZhCn);
        assert_eq!(Lang::default(), Lang::ZhCn);
        let m = Message::test();
        assert_eq!(m.title.get(Lang::ZhCn), "测试通知");
        assert_eq!(m.title.get(Lang::En), "Test notification");
        let r = Recipient {
            username: "alice".into(),
            email: Some("alice@example.com".into()),
            mobile: Some("13812345678".into()),
            lang: Lang::En,
        };
        let d = format!("{r:?}");
        assert!(!d.contains("13812345678") && !d.contains("alice@"), "{d}");
    }
}
