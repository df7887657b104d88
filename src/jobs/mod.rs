//! Background work: the transactional outbox in the database and the worker every instance runs.
//!
//! A job is inserted with `enqueue` in the transaction of the change that causes it, so it exists
//! exactly when that change committed. The worker (`worker::spawn`, started by `http::serve`)
//! claims due jobs under a lease, delivers them outside any transaction, then records the result:
//! done, back to pending after an exponential backoff with jitter, or dead once its attempts are
//! spent (operators list dead jobs and re-queue them over HTTP). Delivery is at least once: an
//! instance that dies after delivering but before recording leaves a job that another instance
//! delivers again after the lease; in-app notifications are written at most once per job, and
//! e-mails carry the job id as their Message-ID so receivers can tell a repeat.

pub mod worker;

use serde::{Deserialize, Serialize};

use crate::config::JobsConfig;
use crate::store::{NewJob, Store, StoreError, Tx};

/// What a job does. Closed: a stored kind this build does not know is a corrupt store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JobKind {
    Email,
    Sms,
    Notification,
    /// An app event to the app's callback URL.
    Webhook,
    /// An app's asynchronous sealing job.
    AppSealing,
}

impl JobKind {
    pub const ALL: [JobKind; 5] = [
        JobKind::Email,
        JobKind::Sms,
        JobKind::Notification,
        JobKind::Webhook,
        JobKind::AppSealing,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Email => "email",
            JobKind::Sms => "sms",
            JobKind::Notification => "notification",
            JobKind::Webhook => "webhook",
            JobKind::AppSealing => "app-sealing",
        }
    }

    pub fn parse(s: &str) -> Option<JobKind> {
        JobKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Webhooks keep trying for a day or more (receivers go down for maintenance); an app's
    /// sealing job is tried a few times (a crash mid-job, a busy store); the rest as configured.
    pub fn retry_policy(self, config: &JobsConfig) -> RetryPolicy {
        match self {
            JobKind::Webhook => RetryPolicy {
                max_attempts: config.webhook_max_attempts.max(1),
                backoff_base_seconds: config.webhook_backoff_base_seconds,
                backoff_max_seconds: config.webhook_backoff_max_seconds,
            },
            JobKind::AppSealing => RetryPolicy {
                max_attempts: 3,
                backoff_base_seconds: config.backoff_base_seconds,
                backoff_max_seconds: config.backoff_max_seconds,
            },
            _ => RetryPolicy {
                max_attempts: config.max_attempts.max(1),
                backoff_base_seconds: config.backoff_base_seconds,
                backoff_max_seconds: config.backoff_max_seconds,
            },
        }
    }
}

/// Where a job is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    /// Waiting for `next_attempt_at`.
    Pending,
    /// Claimed by a worker until `locked_until`.
    Running,
    /// Delivered.
    Done,
    /// Attempts spent or refused for good; waits for an operator.
    Dead,
}

/// What happens to a job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobEvent {
    /// A worker claims a due pending job.
    Claim,
    /// A running job's lease ran out (its worker stopped); `attempts_left` decides whether another
    /// worker takes it over or it is dead.
    LeaseExpired {
        attempts_left: bool,
    },
    Delivered,
    /// The attempt failed; `retry` when the failure may pass and attempts are left.
    Failed {
        retry: bool,
    },
    /// An operator re-queues a dead job.
    OperatorRetry,
}

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("a {state} job cannot take event {event:?}")]
    Transition {
        state: &'static str,
        event: JobEvent,
    },
    #[error("stored job {id} is unreadable: {why}")]
    Corrupt { id: String, why: String },
}

impl JobState {
    pub const ALL: [JobState; 4] = [
        JobState::Pending,
        JobState::Running,
        JobState::Done,
        JobState::Dead,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Pending => "pending",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Dead => "dead",
        }
    }

    pub fn parse(s: &str) -> Option<JobState> {
        JobState::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The one transition function: the store's guarded UPDATEs write what this allows.
    pub fn on(self, event: JobEvent) -> Result<JobState, JobError> {
        use JobEvent as E;
        use JobState as S;
        Ok(match (self, event) {
            (S::Pending, E::Claim) => S::Running,
            (
                S::Running,
                E::LeaseExpired {
                    attempts_left: true,
                },
            ) => S::Running,
            (
                S::Running,
                E::LeaseExpired {
                    attempts_left: false,
                },
            ) => S::Dead,
            (S::Running, E::Delivered) => S::Done,
            (S::Running, E::Failed { retry: true }) => S::Pending,
            (S::Running, E::Failed { retry: false }) => S::Dead,
            (S::Dead, E::OperatorRetry) => S::Pending,
            (state, event) => {
                return Err(JobError::Transition {
                    state: state.as_str(),
                    event,
                })
            }
        })
    }
}

/// An e-mail to one address. The address and text are personal data: no `Debug`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailJob {
    pub to: String,
    pub subject: String,
    pub body: String,
}

/// A text message to one mobile number (11 digits). The text may carry a one-time code: no `Debug`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsJob {
    pub to: String,
    pub text: String,
}

/// An in-app notification for one user.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotificationJob {
    pub recipient: String,
    pub kind: String,
    pub title: String,
    pub body: String,
    pub link: Option<String>,
}

/// One app event (`app_events`) to deliver to the app's callback URL; every attempt sends the
/// same event id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookJob {
    pub app_id: String,
    pub event_id: String,
}

/// An app's asynchronous sealing job (`app_jobs`) to run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppSealingJob {
    pub app_id: String,
    pub job_id: String,
}

/// A job's work: its kind and payload together, so one cannot be stored with the other's data.
#[derive(Clone, PartialEq, Eq)]
pub enum Job {
    Email(EmailJob),
    Sms(SmsJob),
    Notification(NotificationJob),
    Webhook(WebhookJob),
    AppSealing(AppSealingJob),
}

/// How often and how patiently a kind of job is tried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub backoff_base_seconds: u64,
    pub backoff_max_seconds: u64,
}

impl RetryPolicy {
    /// The shortest time from the first attempt to the last that this policy can give (every
    /// backoff at the lower edge of its jitter window).
    pub fn shortest_span_seconds(self) -> u64 {
        (1..self.max_attempts)
            .map(|a| {
                let full = self
                    .backoff_base_seconds
                    .saturating_mul(1u64 << a.saturating_sub(1).min(62))
                    .min(self.backoff_max_seconds)
                    .max(1);
                (full.saturating_mul(1000) / 2).div_ceil(1000).max(1)
            })
            .fold(0u64, u64::saturating_add)
    }
}

impl Job {
    pub fn kind(&self) -> JobKind {
        match self {
            Job::Email(_) => JobKind::Email,
            Job::Sms(_) => JobKind::Sms,
            Job::Notification(_) => JobKind::Notification,
            Job::Webhook(_) => JobKind::Webhook,
            Job::AppSealing(_) => JobKind::AppSealing,
        }
    }

    pub fn retry_policy(&self, config: &JobsConfig) -> RetryPolicy {
        self.kind().retry_policy(config)
    }

    /// The payload as stored (JSON).
    pub fn payload(&self) -> String {
        let v = match self {
            Job::Email(j) => serde_json::to_string(j),
            Job::Sms(j) => serde_json::to_string(j),
            Job::Notification(j) => serde_json::to_string(j),
            Job::Webhook(j) => serde_json::to_string(j),
            Job::AppSealing(j) => serde_json::to_string(j),
        };
        // Plain structs of strings always serialise.
        v.unwrap_or_default()
    }

    /// Read a stored job back; an unknown kind or a payload not of its kind is an error naming
    /// the job, never its content.
    pub fn from_stored(id: &str, kind: &str, payload: &str) -> Result<Job, JobError> {
        let corrupt = |why: String| JobError::Corrupt {
            id: id.to_string(),
            why,
        };
        let k = JobKind::parse(kind).ok_or_else(|| corrupt(format!("unknown kind {kind:?}")))?;
        // Only where the JSON went wrong: serde's messages can quote values (personal data).
        let bad = |e: serde_json::Error| {
            corrupt(format!(
                "{} payload: {:?} error at line {} column {}",
                k.as_str(),
                e.classify(),
                e.line(),
                e.column()
            ))
        };
        Ok(match k {
            JobKind::Email => Job::Email(serde_json::from_str(payload).map_err(bad)?),
            JobKind::Sms => Job::Sms(serde_json::from_str(payload).map_err(bad)?),
            JobKind::Notification => Job::Notification(serde_json::from_str(payload).map_err(bad)?),
            JobKind::Webhook => Job::Webhook(serde_json::from_str(payload).map_err(bad)?),
            JobKind::AppSealing => Job::AppSealing(serde_json::from_str(payload).map_err(bad)?),
        })
    }

    /// Who the job is for, masked for operators' lists: `a***@example.com`, `138****5678`, or
    /// the username of an in-app notification.
    pub fn recipient_masked(&self) -> String {
        match self {
            Job::Email(j) => mask_email(&j.to),
            Job::Sms(j) => crate::notify::sms::mask(&j.to),
            Job::Notification(j) => j.recipient.clone(),
            Job::Webhook(j) => format!("app:{}", j.app_id),
            Job::AppSealing(j) => format!("app:{}", j.app_id),
        }
    }
}

/// `a***@example.com`: the first character of the local part and the domain.
pub fn mask_email(addr: &str) -> String {
    match addr.rsplit_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".to_string(),
    }
}

/// Seconds to wait after failed attempt number `attempt` (1-based): `base · 2^(attempt-1)`
/// capped at `max`, then "equal jitter" — a uniform pick in the upper half, from `random` — so
/// that jobs failing together do not retry together. At least one second.
pub fn backoff_seconds(attempt: u32, base: u64, max: u64, random: u64) -> u64 {
    let exp = attempt.saturating_sub(1).min(62);
    let full = base.saturating_mul(1u64 << exp).min(max).max(1);
    // Work in milliseconds so that small delays still get some spread, then round up.
    let full_ms = full.saturating_mul(1000);
    let half = full_ms / 2;
    let jitter = random % (full_ms - half + 1);
    (half + jitter).div_ceil(1000).max(1)
}

/// A new random job or notification id (128 bits, hex).
pub fn new_id() -> String {
    let mut b = [0u8; 16];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut b);
    hex::encode(b)
}

/// Insert `job` in the caller's transaction, due now, with the configured attempts. With a
/// `dedupe_key` that another job already holds nothing is inserted and the answer is `None`;
/// otherwise the new job's id.
pub async fn enqueue(
    tx: &mut Tx<'_>,
    config: &JobsConfig,
    job: &Job,
    dedupe_key: Option<&str>,
) -> Result<Option<String>, StoreError> {
    let id = new_id();
    let now = crate::store::now();
    let payload = job.payload();
    let inserted = Store::job_insert(
        tx,
        &NewJob {
            id: &id,
            kind: job.kind().as_str(),
            payload: &payload,
            max_attempts: i64::from(job.retry_policy(config).max_attempts),
            next_attempt_at: now,
            created_at: now,
            dedupe_key,
        },
    )
    .await?;
    Ok(inserted.then_some(id))
}

/// One job as operators see it: who it is for masked, no payload (it may hold one-time codes).
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct JobView {
    pub id: String,
    /// `email`, `sms`, `notification` (as stored).
    pub kind: String,
    pub state: JobState,
    pub attempts: i64,
    pub max_attempts: i64,
    /// Unix seconds: when a pending job is due.
    pub next_attempt_at: i64,
    /// The instance holding a running job's lease, and until when.
    pub locked_by: Option<String>,
    pub locked_until: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub finished_at: Option<i64>,
    /// `a***@example.com`, `138****5678`, or a username.
    pub recipient: String,
}

/// A page of jobs, newest first; `next_cursor` when more may follow.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct JobPage {
    pub items: Vec<JobView>,
    pub next_cursor: Option<String>,
}

/// A stored row as a view. A payload this build cannot read still lists (the worker made such a
/// job dead, and operators must see it), with its recipient unknown; an unknown state cannot be
/// (the schema's CHECK), so it is a corrupt store.
pub fn view(row: crate::store::JobRow) -> Result<JobView, JobError> {
    let state = JobState::parse(&row.state).ok_or_else(|| JobError::Corrupt {
        id: row.id.clone(),
        why: format!("unknown state {:?}", row.state),
    })?;
    let recipient = match Job::from_stored(&row.id, &row.kind, &row.payload) {
        Ok(job) => job.recipient_masked(),
        Err(_) => "(unreadable payload)".to_string(),
    };
    Ok(JobView {
        kind: row.kind,
        recipient,
        id: row.id,
        state,
        attempts: row.attempts,
        max_attempts: row.max_attempts,
        next_attempt_at: row.next_attempt_at,
        locked_by: row.locked_by,
        locked_until: row.locked_until,
        last_error: row.last_error,
        created_at: row.created_at,
        finished_at: row.finished_at,
    })
}

impl From<JobError> for crate::error::AppError {
    fn from(e: JobError) -> Self {
        crate::error::AppError::Internal(e.to_string())
    }
}

/// The operators' list: jobs in `state` (all when None), newest first.
pub async fn list(
    app: &crate::app::App,
    actor: &crate::access::Actor,
    state: Option<&str>,
    cursor: Option<&str>,
    limit: Option<i64>,
) -> Result<JobPage, crate::error::AppError> {
    actor.require(crate::access::Permission::ManageJobs)?;
    let state = match state {
        None | Some("") => None,
        Some(s) => Some(JobState::parse(s).ok_or_else(|| {
            crate::error::AppError::BadRequest(format!(
                "no job state {s:?} (states: pending, running, done, dead)"
            ))
        })?),
    };
    let before = crate::paging::cursor(cursor)?;
    let limit = crate::paging::limit(limit, 100, 1000)?;
    let rows = app
        .store
        .job_list(state.map(JobState::as_str), before, limit)
        .await?;
    let next_cursor = crate::paging::next(&rows, limit, |r| (r.created_at, &r.id));
    let items = rows.into_iter().map(view).collect::<Result<_, _>>()?;
    Ok(JobPage { items, next_cursor })
}

/// An operator re-queues a dead job: attempts reset, due now, audited (`job.retry`) in the same
/// transaction. 404 for no such job, 409 for one that is not dead.
pub async fn retry(
    app: &crate::app::App,
    actor: &crate::access::Actor,
    id: &str,
) -> Result<JobView, crate::error::AppError> {
    use crate::error::AppError;
    actor.require(crate::access::Permission::ManageJobs)?;
    let Some(row) = app.store.job_get(id).await? else {
        return Err(AppError::NotFound(format!("no job {id:?}")));
    };
    let state = view(row)?.state;
    // The transition function decides; the guarded UPDATE makes it stick under races.
    if state.on(JobEvent::OperatorRetry).is_err() {
        return Err(AppError::Conflict(format!(
            "job {id} is {}: only dead jobs are retried",
            state.as_str()
        )));
    }
    let mut tx = app.store.begin().await?;
    if !Store::job_requeue(&mut tx, id, crate::store::now()).await? {
        return Err(AppError::Conflict(format!(
            "job {id} is no longer dead: only dead jobs are retried"
        )));
    }
    app.audit
        .append(
            &mut tx,
            &actor.name,
            "job.retry",
            serde_json::json!({"job": id}),
        )
        .await?;
    tx.commit().await.map_err(StoreError::from)?;
    let row = app
        .store
        .job_get(id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no job {id:?}")))?;
    Ok(view(row)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_caps_and_jitters_within_the_upper_half() {
        // No randomness: the lower edge of each window.
        let lows: Vec<u64> = (1..=8).map(|a| backoff_seconds(a, 30, 3600, 0)).collect();
        assert_eq!(lows, [15, 30, 60, 120, 240, 480, 960, 1800]);
        // The most randomness: the full delay.
        assert_eq!(backoff_seconds(1, 30, 3600, 15_000), 30);
        for a in 1..=20u32 {
            for r in [0, 1, 999, 12_345, u64::MAX] {
                let d = backoff_seconds(a, 30, 3600, r);
                let full = (30u64 << (a - 1).min(20)).min(3600);
                assert!(d >= full / 2 && d <= full, "attempt {a}: {d} of {full}");
            }
        }
        // Huge attempt numbers and bases do not overflow.
        assert_eq!(backoff_seconds(u32::MAX, u64::MAX, 60, 0), 30);
        assert_eq!(backoff_seconds(1, 0, 0, 7), 1);
        assert_eq!(backoff_seconds(1, 1, 1, 0), 1);
    }

    #[test]
    fn webhooks_retry_for_at_least_a_day_by_default() {
        let c = JobsConfig::default();
        let hook = Job::Webhook(WebhookJob {
            app_id: "a".into(),
            event_id: "e".into(),
        });
        let p = hook.retry_policy(&c);
        assert!(p.shortest_span_seconds() >= 86_400, "{p:?}");
        // The span is what the worker's backoff gives at its lower edge.
        let by_worker: u64 = (1..p.max_attempts)
            .map(|a| backoff_seconds(a, p.backoff_base_seconds, p.backoff_max_seconds, 0))
            .sum();
        assert_eq!(by_worker, p.shortest_span_seconds());
        let back = Job::from_stored("j", "webhook", &hook.payload()).unwrap();
        assert!(back == hook);
        assert_eq!(back.recipient_masked(), "app:a");
    }

    #[test]
    fn transitions() {
        use JobEvent as E;
        use JobState as S;
        assert_eq!(S::Pending.on(E::Claim).unwrap(), S::Running);
        assert_eq!(S::Running.on(E::Delivered).unwrap(), S::Done);
        assert_eq!(
            S::Running.on(E::Failed { retry: true }).unwrap(),
            S::Pending
        );
        assert_eq!(S::Running.on(E::Failed { retry: false }).unwrap(), S::Dead);
        assert_eq!(
            S::Running
                .on(E::LeaseExpired {
                    attempts_left: true
                })
                .unwrap(),
            S::Running
        );
        assert_eq!(
            S::Running
                .on(E::LeaseExpired {
                    attempts_left: false
                })
                .unwrap(),
            S::Dead
        );
        assert_eq!(S::Dead.on(E::OperatorRetry).unwrap(), S::Pending);
        for (s, e) in [
            (S::Done, E::Claim),
            (S::Done, E::OperatorRetry),
            (S::Pending, E::Delivered),
            (S::Pending, E::OperatorRetry),
            (S::Dead, E::Claim),
            (S::Running, E::Claim),
        ] {
            assert!(s.on(e).is_err(), "{s:?} {e:?}");
        }
        for s in S::ALL {
            assert_eq!(S::parse(s.as_str()), Some(s));
        }
        assert_eq!(S::parse("Pending"), None);
    }

    #[test]
    fn payloads_round_trip_and_unknowns_are_refused() {
        let jobs = [
            Job::Email(EmailJob {
                to: "alice@example.com".into(),
                subject: "测试".into(),
                body: "body\nline".into(),
            }),
            Job::Sms(SmsJob {
                to: "13812345678".into(),
                text: "【sealpki】验证码 123456".into(),
            }),
            Job::Notification(NotificationJob {
                recipient: "alice".into(),
                kind: "test".into(),
                title: "t".into(),
                body: "b".into(),
                link: Some("/certificates/01".into()),
            }),
        ];
        for j in &jobs {
            let back = Job::from_stored("x", j.kind().as_str(), &j.payload()).unwrap();
            assert!(back == *j);
        }
        assert_eq!(jobs[0].recipient_masked(), "a***@example.com");
        assert_eq!(jobs[1].recipient_masked(), "138****5678");
        assert!(Job::from_stored("x", "webhook", "{}").is_err());
        assert!(Job::from_stored("x", "fax", "{}").is_err());
        // A payload of another kind is refused, and the error does not echo the content.
        let e = Job::from_stored("x", "email", &jobs[1].payload())
            .err()
            .unwrap()
            .to_string();
        assert!(!e.contains("13812345678"), "{e}");
        for k in JobKind::ALL {
            assert_eq!(JobKind::parse(k.as_str()), Some(k));
        }
    }
}
