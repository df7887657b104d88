//! Seal expiry: reminders to the holder (who applied) and the organisation's seal administrators
//! 30, 7 and 1 days before a seal's validity ends, and the move to `expired` once it has ended.
//! Run by the server every `[seals] expiry_check_seconds` and by `sealpki seals sweep [--at T]`
//! (to catch up, or to see what a later date would do). Reminders are jobs with a dedupe key per
//! seal, period and threshold, so repeated sweeps — on any number of instances — send each once.

use serde::Serialize;
use serde_json::json;

use super::model::{SealEvent, SealState};
use crate::app::App;
use crate::error::AppError;
use crate::store::{SealHistoryRow, SealRow, Store, StoreError};
use crate::workflow::Named;

/// Days before the end of validity at which reminders go out.
pub const REMINDER_DAYS: [i64; 3] = [30, 7, 1];
/// Seals looked at per sweep and step (a larger backlog is taken by the next sweeps).
const BATCH: i64 = 500;

/// What a sweep did.
#[derive(Debug, Default, Serialize)]
pub struct Sweep {
    pub reminders: usize,
    pub expired: usize,
    /// Interrupted productions undone (see `recover_productions`).
    pub recovered_productions: usize,
}

/// The reminder threshold a seal ending at `until` has reached at `now`, if any.
pub fn threshold(now: i64, until: i64) -> Option<i64> {
    let left = until.checked_sub(now)?;
    if left <= 0 {
        return None;
    }
    REMINDER_DAYS
        .iter()
        .rev()
        .copied()
        .find(|d| left <= d * 86_400)
}

impl App {
    /// Remind and expire as of `now` (Unix seconds), and undo productions a crash interrupted
    /// (judged by the clock, not `now`: a sweep "as of next year" must not take productions
    /// running right now for abandoned ones).
    pub async fn seal_expiry_sweep(&self, now: i64) -> Result<Sweep, AppError> {
        let mut out = Sweep {
            recovered_productions: self.recover_productions(crate::store::now()).await?,
            ..Sweep::default()
        };
        let horizon = now.saturating_add(REMINDER_DAYS[0] * 86_400);
        for seal in self.store.seals_expiring(horizon, BATCH).await? {
            if seal.valid_until <= now {
                if self.expire(&seal, now).await? {
                    out.expired += 1;
                }
            } else if let Some(days) = threshold(now, seal.valid_until) {
                out.reminders += self.remind(&seal, days).await?;
            }
        }
        Ok(out)
    }

    /// Who hears about a seal: the account that applied for it and the seal administrators of its
    /// organisation.
    async fn seal_audience(&self, seal: &SealRow) -> Result<Vec<String>, AppError> {
        let mut to: Vec<String> = self
            .store
            .memberships_of_org(&seal.org_id)
            .await?
            .into_iter()
            .filter(|m| m.role == "seal-admin")
            .map(|m| m.username)
            .collect();
        if let Some(app) = self.store.workflow_get(&seal.application_id).await? {
            to.push(app.created_by);
        }
        to.sort();
        to.dedup();
        Ok(to)
    }

    /// `msg` (in-app) to each of `to`, once per `dedupe` key and person.
    async fn tell(
        &self,
        tx: &mut crate::store::Tx<'_>,
        to: &[String],
        msg: &crate::notify::Message,
        dedupe: &str,
    ) -> Result<usize, AppError> {
        let mut n = 0;
        for user in to {
            n += crate::notify::in_app(
                tx,
                &self.config,
                &self.store,
                user,
                msg,
                Some(&format!("{dedupe}:{user}")),
            )
            .await?;
        }
        Ok(n)
    }

    async fn remind(&self, seal: &SealRow, days: i64) -> Result<usize, AppError> {
        let to = self.seal_audience(seal).await?;
        let mut tx = self.store.begin().await?;
        let n = self
            .tell(
                &mut tx,
                &to,
                &crate::notify::Message {
                    kind: "seal.expiring".into(),
                    title: crate::notify::Text::new(
                        format!("电子印章将在 {days} 天内到期"),
                        format!("Electronic seal expires within {days} day(s)"),
                    ),
                    body: crate::notify::Text::new(
                        format!("电子印章「{}」（{}）将在 {days} 天内到期，请及时申请续期。", seal.name, seal.code),
                        format!(
                            "The electronic seal \"{}\" ({}) expires within {days} day(s): apply for its renewal.",
                            seal.name, seal.code
                        ),
                    ),
                    link: Some(format!("/seals/{}", seal.id)),
                },
                &format!("seal-expiry:{}:{}:{days}", seal.id, seal.valid_until),
            )
            .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(n)
    }

    /// Move a seal past its validity to `expired` (false when it changed meanwhile).
    async fn expire(&self, seal: &SealRow, now: i64) -> Result<bool, AppError> {
        let from = SealState::parse(&seal.state)
            .ok_or_else(|| StoreError::Corrupt(format!("seal {} state", seal.id)))?;
        let Some(to) = from.on(SealEvent::Expire) else {
            return Ok(false);
        };
        let audience = self.seal_audience(seal).await?;
        let mut tx = self.store.begin().await?;
        if !Store::seal_set_state(&mut tx, &seal.id, seal.version, to.name(), now).await? {
            return Ok(false);
        }
        let (seq, _) = self
            .audit
            .append(
                &mut tx,
                "system",
                "seal.change",
                json!({"seal": seal.id, "code": seal.code, "operation": "expire",
                       "from": from.name(), "to": to.name(), "certificate": seal.cert_serial,
                       "valid_until": seal.valid_until}),
            )
            .await?;
        Store::seal_history_insert(
            &mut tx,
            &SealHistoryRow {
                seal_id: seal.id.clone(),
                version: seal.version + 1,
                at: now,
                actor: "system".into(),
                event: SealEvent::Expire.name().into(),
                from_state: Some(from.name().into()),
                to_state: to.name().into(),
                cert_serial: seal.cert_serial.clone(),
                workflow_id: None,
                audit_seq: seq,
            },
        )
        .await?;
        self.tell(
            &mut tx,
            &audience,
            &crate::notify::Message {
                kind: "seal.expired".into(),
                title: crate::notify::Text::new("电子印章已到期", "Electronic seal expired"),
                body: crate::notify::Text::new(
                    format!(
                        "电子印章「{}」（{}）已到期，不能再签章。",
                        seal.name, seal.code
                    ),
                    format!(
                        "The electronic seal \"{}\" ({}) has expired and no longer signs.",
                        seal.name, seal.code
                    ),
                ),
                link: Some(format!("/seals/{}", seal.id)),
            },
            &format!("seal-expired:{}:{}", seal.id, seal.valid_until),
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::threshold;

    #[test]
    fn thresholds() {
        let d = 86_400;
        assert_eq!(threshold(0, 40 * d), None);
        assert_eq!(threshold(0, 30 * d), Some(30));
        assert_eq!(threshold(0, 8 * d), Some(30));
        assert_eq!(threshold(0, 7 * d), Some(7));
        assert_eq!(threshold(0, d), Some(1));
        assert_eq!(threshold(0, 10), Some(1));
        assert_eq!(threshold(0, 0), None);
        assert_eq!(threshold(5, 0), None);
    }
}
