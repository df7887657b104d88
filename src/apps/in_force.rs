//! The signing API's in-force answers, kept a moment: a sealing asks whether its app may seal
//! with its seal before it signs, and under load the same pair asks hundreds of times a second.
//! Only "in force" is kept, for [`IN_FORCE_TTL`] and never past the grant's end; a refusal is
//! always read fresh. Nothing rests on a kept answer: the sealing's commit counts the grant's use
//! in one statement that also requires the grant live, the seal active and in its validity and
//! the app active (`Store::grant_use_many`), so a seal lost a moment ago refuses there and its
//! signed bytes are never handed out; the refusal then reads the reason fresh.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::grant_service::GrantInForce;
use crate::error::AppError;

/// How long an in-force answer is reused.
pub const IN_FORCE_TTL: Duration = Duration::from_secs(1);
/// Most pairs kept (the map starts over when full).
const PAIRS_MAX: usize = 10_000;

#[derive(Default)]
pub(crate) struct InForce {
    by_pair: Mutex<HashMap<(String, String), (Instant, GrantInForce)>>,
}

impl InForce {
    fn get(&self, app_id: &str, seal_id: &str, now: i64) -> Option<GrantInForce> {
        let map = self.by_pair.lock().unwrap_or_else(|p| p.into_inner());
        let (at, g) = map.get(&(app_id.to_string(), seal_id.to_string()))?;
        (at.elapsed() < IN_FORCE_TTL && now < g.valid_until).then(|| g.clone())
    }

    fn keep(&self, g: &GrantInForce) {
        let mut map = self.by_pair.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= PAIRS_MAX {
            map.retain(|_, (at, _)| at.elapsed() < IN_FORCE_TTL);
            if map.len() >= PAIRS_MAX {
                map.clear();
            }
        }
        map.insert(
            (g.app_id.clone(), g.seal_id.clone()),
            (Instant::now(), g.clone()),
        );
    }

    pub(crate) fn forget(&self, app_id: &str, seal_id: &str) {
        let mut map = self.by_pair.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(&(app_id.to_string(), seal_id.to_string()));
    }
}

impl crate::app::App {
    /// [`App::app_grant_in_force`](crate::app::App::app_grant_in_force), an in-force answer
    /// reused for up to a second: for a sealing whose commit checks again.
    pub(crate) async fn app_grant_in_force_kept(
        &self,
        app_id: &str,
        seal_id: &str,
    ) -> Result<GrantInForce, AppError> {
        if let Some(g) = self.apps.in_force.get(app_id, seal_id, crate::store::now()) {
            return Ok(g);
        }
        let g = self.app_grant_in_force(app_id, seal_id).await?;
        self.apps.in_force.keep(&g);
        Ok(g)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(valid_until: i64) -> GrantInForce {
        GrantInForce {
            grant_id: "g".into(),
            app_id: "a".into(),
            seal_id: "s".into(),
            seal_code: "3301".into(),
            uses: 0,
            use_limit: None,
            valid_until,
            credential_id: "c".into(),
        }
    }

    #[test]
    fn kept_briefly_and_never_past_the_grant() {
        let c = InForce::default();
        assert!(c.get("a", "s", 100).is_none());
        c.keep(&grant(200));
        assert!(c.get("a", "s", 100).is_some());
        assert!(c.get("a", "s", 200).is_none(), "the grant has ended");
        assert!(c.get("a", "other", 100).is_none());
        c.forget("a", "s");
        assert!(c.get("a", "s", 100).is_none());
    }
}
