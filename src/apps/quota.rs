//! Per-app limits: a request rate (a token bucket per app and instance, `rate_per_second` with a
//! burst of one second's worth) checked on every app request, and a daily sealing quota
//! (`daily_quota`, counted from the day's usage rows, so every instance agrees) checked before a
//! sealing. Either refusal is a 429 with `Retry-After`; nothing is sealed or counted.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use crate::app::App;
use crate::error::AppError;

/// Most buckets kept (the map starts over when full: a refill, never a wrong refusal).
const BUCKETS_MAX: usize = 10_000;

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The token buckets of this instance.
#[derive(Default)]
pub struct Buckets {
    map: Mutex<HashMap<String, Bucket>>,
}

impl Buckets {
    /// Take one token of `app_id`'s bucket at `rate` per second; the seconds to wait when empty.
    pub fn take(&self, app_id: &str, rate: i64, now: Instant) -> Result<(), u64> {
        let rate = rate.max(1) as f64;
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= BUCKETS_MAX && !map.contains_key(app_id) {
            map.clear();
        }
        let b = map.entry(app_id.to_string()).or_insert(Bucket {
            tokens: rate,
            at: now,
        });
        let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
        b.tokens = (b.tokens + elapsed * rate).min(rate);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - b.tokens) / rate).ceil().max(1.0) as u64)
        }
    }
}

/// Seconds until the next UTC day begins.
fn until_tomorrow(now: i64) -> u64 {
    let left = 86_400 - now.rem_euclid(86_400);
    u64::try_from(left).unwrap_or(1).max(1)
}

impl App {
    /// 429 when the app has used its requests for this second.
    pub(crate) fn app_rate_check(&self, app_id: &str, rate: i64) -> Result<(), AppError> {
        self.apps
            .buckets
            .take(app_id, rate, Instant::now())
            .map_err(|retry_after| AppError::AppLimited {
                what: format!("app {app_id}: more than {rate} requests per second"),
                retry_after,
            })
    }

    /// 429 when `more` sealings would take the app past its daily quota.
    pub(crate) async fn app_quota_check(
        &self,
        app_id: &str,
        quota: Option<i64>,
        more: usize,
    ) -> Result<(), AppError> {
        let Some(quota) = quota else {
            return Ok(());
        };
        let now = crate::store::now();
        let day = crate::clock::day_of(now);
        let used = self.store.app_usage_on(app_id, &day).await?;
        let more = i64::try_from(more).unwrap_or(i64::MAX);
        if used.saturating_add(more) > quota {
            return Err(AppError::AppLimited {
                what: format!(
                    "app {app_id}: daily quota of {quota} sealings ({used} used today, UTC)"
                ),
                retry_after: until_tomorrow(now),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn buckets_allow_the_rate_and_say_when_to_retry() {
        let b = Buckets::default();
        let t = Instant::now();
        for _ in 0..3 {
            assert!(b.take("a", 3, t).is_ok());
        }
        assert_eq!(b.take("a", 3, t), Err(1));
        // Another app has its own bucket.
        assert!(b.take("b", 3, t).is_ok());
        // A third of a second later one token is back, and no more.
        let later = t + Duration::from_millis(340);
        assert!(b.take("a", 3, later).is_ok());
        assert!(b.take("a", 3, later).is_err());
        // Refills cap at one second's worth.
        let much_later = t + Duration::from_secs(60);
        for _ in 0..3 {
            assert!(b.take("a", 3, much_later).is_ok());
        }
        assert!(b.take("a", 3, much_later).is_err());
    }

    #[test]
    fn the_quota_resets_at_utc_midnight() {
        assert_eq!(until_tomorrow(0), 86_400);
        assert_eq!(until_tomorrow(86_399), 1);
        assert_eq!(until_tomorrow(86_400 + 3_600), 82_800);
    }
}
