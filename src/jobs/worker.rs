//! The outbox worker: one task per instance that claims due jobs under a lease, delivers them
//! (renewing the lease meanwhile, so only a stopped instance loses its claims), and records each
//! result with a guarded UPDATE — a worker whose claim was taken over writes nothing.

use std::sync::Arc;
use std::time::Duration;

use super::{backoff_seconds, Job, JobEvent, JobState};
use crate::app::App;
use crate::store::{JobResult, JobRow};

/// This instance's name in `jobs.locked_by`: process id and a random suffix (pids repeat across
/// hosts and restarts).
fn worker_name() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_default();
    let suffix = &super::new_id()[..8];
    if host.is_empty() {
        format!("{}-{suffix}", std::process::id())
    } else {
        format!("{host}-{}-{suffix}", std::process::id())
    }
}

/// Start the worker of this instance (called once by `http::serve`).
pub fn spawn(app: Arc<App>) -> tokio::task::JoinHandle<()> {
    let me = worker_name();
    tracing::info!(worker = %me, sms = app.notify.sms.name(), "job worker started");
    // Said once per server start, not at every command-line run.
    if !app.config.development
        && app.config.sms.provider == crate::config::SmsProviderName::Development
    {
        tracing::warn!(
            "[sms] provider is the development one: text messages are written to a file, not sent"
        );
    }
    tokio::spawn(run(app, me))
}

async fn run(app: Arc<App>, me: String) {
    let cfg = app.config.jobs.clone();
    let poll = Duration::from_millis(cfg.poll_millis);
    let lease = i64::try_from(cfg.lease_seconds).unwrap_or(i64::MAX / 4);
    let batch = i64::try_from(cfg.concurrency).unwrap_or(1);
    loop {
        let now = crate::store::now();
        match app.store.job_expire_last_attempts(now).await {
            Ok(0) => {}
            Ok(n) => tracing::error!(jobs = n, "jobs dead: lease of their last attempt ran out"),
            Err(e) => tracing::error!(error = %e, "job lease sweep"),
        }
        let claimed = match app
            .store
            .job_claim(&me, now, now.saturating_add(lease), batch)
            .await
        {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "claiming jobs");
                Vec::new()
            }
        };
        if claimed.is_empty() {
            tokio::time::sleep(poll).await;
            continue;
        }
        let mut set = tokio::task::JoinSet::new();
        for row in claimed {
            set.spawn(attempt(app.clone(), me.clone(), row));
        }
        while let Some(r) = set.join_next().await {
            if let Err(e) = r {
                tracing::error!(error = %e, "job attempt task failed");
            }
        }
    }
}

/// Hand a job to whoever delivers its kind: apps' webhooks and sealing jobs to `apps`, the rest
/// to `notify`.
async fn deliver(
    app: &Arc<App>,
    row: &JobRow,
    job: Job,
) -> Result<(), crate::notify::DeliveryError> {
    match job {
        Job::Webhook(j) => app.deliver_webhook(&row.id, row.attempts, &j).await,
        Job::AppSealing(j) => app.run_app_job(&j).await,
        other => app.notify.deliver(&app.store, &row.id, other).await,
    }
}

/// One attempt at one claimed job.
async fn attempt(app: Arc<App>, me: String, row: JobRow) {
    let cfg = &app.config.jobs;
    let lease = i64::try_from(cfg.lease_seconds).unwrap_or(i64::MAX / 4);
    let parsed = Job::from_stored(&row.id, &row.kind, &row.payload);
    let policy = super::JobKind::parse(&row.kind)
        .unwrap_or(super::JobKind::Email)
        .retry_policy(cfg);
    let result = match parsed {
        Err(e) => Err(crate::notify::DeliveryError {
            retry: false,
            message: e.to_string(),
        }),
        Ok(job) => {
            let deliver = deliver(&app, &row, job);
            tokio::pin!(deliver);
            let every = Duration::from_secs((cfg.lease_seconds / 3).max(1));
            let mut renew = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            loop {
                tokio::select! {
                    r = &mut deliver => break r,
                    _ = renew.tick() => {
                        let until = crate::store::now().saturating_add(lease);
                        match app.store.job_renew(&row.id, &me, row.attempts, until).await {
                            Ok(true) => {}
                            Ok(false) => tracing::warn!(job = %row.id, "job claim lost during delivery"),
                            Err(e) => tracing::error!(job = %row.id, error = %e, "renewing a job lease"),
                        }
                    }
                }
            }
        }
    };
    let now = crate::store::now();
    let event = match &result {
        Ok(()) => JobEvent::Delivered,
        Err(e) => JobEvent::Failed {
            retry: e.retry && row.attempts < row.max_attempts,
        },
    };
    let error = result
        .as_ref()
        .err()
        .map(|e| e.message.as_str())
        .unwrap_or("");
    let (record, delay) = match JobState::Running.on(event) {
        Ok(JobState::Done) => (JobResult::Done, 0),
        Ok(JobState::Pending) => {
            let attempt = u32::try_from(row.attempts).unwrap_or(u32::MAX);
            let random = rand_core::RngCore::next_u64(&mut rand_core::OsRng);
            let d = backoff_seconds(
                attempt,
                policy.backoff_base_seconds,
                policy.backoff_max_seconds,
                random,
            );
            let d = i64::try_from(d).unwrap_or(i64::MAX / 4);
            (JobResult::RetryAt(now.saturating_add(d), error), d)
        }
        // Dead, or (impossible from running) anything else: stop trying, keep the reason.
        _ => (JobResult::Dead(error), 0),
    };
    match app
        .store
        .job_finish(&row.id, &me, row.attempts, now, record)
        .await
    {
        Ok(true) => {}
        Ok(false) => {
            tracing::warn!(job = %row.id, "job result not recorded: the claim was taken over");
            return;
        }
        Err(e) => {
            // The lease runs out and another attempt follows.
            tracing::error!(job = %row.id, error = %e, "recording a job result");
            return;
        }
    }
    // Logs name the job and the failure, never its addresses or text.
    match record {
        JobResult::Done => {
            tracing::info!(job = %row.id, kind = %row.kind, attempt = row.attempts, "job delivered")
        }
        JobResult::RetryAt(..) => tracing::warn!(
            job = %row.id, kind = %row.kind, attempt = row.attempts, retry_in_s = delay,
            error = %error, "job attempt failed"
        ),
        JobResult::Dead(_) => tracing::error!(
            job = %row.id, kind = %row.kind, attempt = row.attempts, error = %error,
            "job dead"
        ),
    }
}
