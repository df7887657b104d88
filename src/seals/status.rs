//! The public seal status service (国办发〔2025〕33号: a verifier checks the seal's status with the
//! issuing platform): for a seal code or a seal certificate's serial, the seal's state and the
//! times of its history.

use serde::Serialize;

use super::model::SealState;
use crate::app::App;
use crate::error::AppError;
use crate::store::StoreError;
use crate::workflow::Named;

/// What anyone may learn of a seal.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SealStatus {
    pub code: String,
    pub name: String,
    pub seal_type: String,
    /// active, lost, revoked, expired, superseded.
    pub state: String,
    /// Whether the seal signs now.
    pub signs: bool,
    /// The current certificate; `asked_serial` when the question named an earlier one.
    pub cert_serial: String,
    pub asked_serial: Option<String>,
    /// The asked certificate is the seal's current one.
    pub current_certificate: bool,
    pub valid_from: i64,
    pub valid_until: i64,
    /// When the seal was made and when its state last changed.
    pub created_at: i64,
    pub state_since: i64,
    /// Every change: (time, event, state after).
    pub history: Vec<StatusEvent>,
    /// When this answer was made.
    pub checked_at: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StatusEvent {
    pub at: i64,
    pub event: String,
    pub state: String,
}

impl App {
    /// The status of the seal with `code`, or whose certificate (current or earlier) is `serial`.
    pub async fn seal_status(
        &self,
        code: Option<&str>,
        serial: Option<&str>,
    ) -> Result<SealStatus, AppError> {
        let (row, asked) = match (code, serial) {
            (Some(c), None) => {
                if !super::model::is_code(c) {
                    return Err(AppError::BadRequest(format!(
                        "code {c:?}: a seal code is 13 digits"
                    )));
                }
                (self.store.seal_by_code(c).await?, None)
            }
            (None, Some(s)) => {
                let s = crate::public::normalise_serial(s)?;
                (self.store.seal_by_cert(&s).await?, Some(s))
            }
            _ => {
                return Err(AppError::BadRequest(
                    "give either code (the seal code) or serial (a seal certificate's serial)"
                        .into(),
                ))
            }
        };
        let row = row.ok_or_else(|| AppError::NotFound("no such seal on this platform".into()))?;
        let state = SealState::parse(&row.state)
            .ok_or_else(|| StoreError::Corrupt(format!("seal {} state", row.id)))?;
        let history: Vec<StatusEvent> = self
            .store
            .seal_history(&row.id)
            .await?
            .into_iter()
            .map(|h| StatusEvent {
                at: h.at,
                event: h.event,
                state: h.to_state,
            })
            .collect();
        let state_since = history
            .iter()
            .rev()
            .find(|h| h.state == row.state)
            .map(|h| h.at)
            .unwrap_or(row.created_at);
        Ok(SealStatus {
            current_certificate: asked.as_deref().is_none_or(|s| s == row.cert_serial),
            asked_serial: asked,
            code: row.code,
            name: row.name,
            seal_type: row.seal_type,
            signs: state.signs(),
            state: row.state,
            cert_serial: row.cert_serial,
            valid_from: row.valid_from,
            valid_until: row.valid_until,
            created_at: row.created_at,
            state_since,
            history,
            checked_at: crate::store::now(),
        })
    }
}
