//! What a seal administrator's authorization of an app is (授权): its states and the one transition
//! table, the validity rules (at most three years, an optional use limit), the reminder thresholds
//! before it ends, and the precise reasons a sealing is refused. `grant_service.rs` runs them.

use crate::error::AppError;
use crate::named_enum;
use crate::workflow::Named;

/// The longest validity of a grant: three years (1,096 days, a leap day included), as e签宝 allows.
pub const MAX_VALIDITY_SECS: i64 = 1096 * 86_400;
/// A grant may start this long before the request (clocks differ); earlier is refused.
pub const START_LEEWAY_SECS: i64 = 300;
/// A grant may be made to start at most this far ahead.
pub const MAX_START_AHEAD_SECS: i64 = 366 * 86_400;
/// Days before the end at which the administrator and the app hear that a grant is expiring
/// (法大大 warns 15, 7 and 1 days before).
pub const REMINDER_DAYS: [i64; 3] = [15, 7, 1];
/// The role an app holds on a seal (e签宝's 用印人; an app never examines).
pub const ROLE_SEAL_USER: &str = "seal-user";
/// Seals in one request (one, a batch, a subtree, a sync).
pub const MAX_SEALS: usize = 500;
/// Apps a sync reaches in one request.
pub const MAX_SYNC_APPS: usize = 20;

named_enum! {
    /// A grant's life.
    pub enum GrantState {
        /// Made, valid from a later time.
        Granted = "granted",
        /// In force: the app may seal with the seal (while the seal is active and uses remain).
        Effective = "effective",
        /// Withdrawn by a seal administrator (its credential named in a revocation entry).
        Withdrawn = "withdrawn",
        /// Past its validity.
        Expired = "expired",
    }
}

named_enum! {
    /// What happens to a grant.
    pub enum GrantEvent {
        /// Its start time came.
        TakeEffect = "take-effect",
        Withdraw = "withdraw",
        Expire = "expire",
    }
}

impl GrantState {
    /// The one transition table; `None` is an out-of-order request (409).
    pub fn on(self, e: GrantEvent) -> Option<GrantState> {
        use GrantEvent as E;
        use GrantState as S;
        match (self, e) {
            (S::Granted, E::TakeEffect) => Some(S::Effective),
            (S::Granted | S::Effective, E::Withdraw) => Some(S::Withdrawn),
            (S::Granted | S::Effective, E::Expire) => Some(S::Expired),
            _ => None,
        }
    }

    /// Whether the grant still counts (a withdrawn or expired one never does again).
    pub fn live(self) -> bool {
        matches!(self, GrantState::Granted | GrantState::Effective)
    }

    /// The state the grant is in at `now`, whatever the sweep has recorded yet: a live grant
    /// whose end has passed is expired, one whose start has come is effective.
    pub fn at(self, now: i64, valid_from: i64, valid_until: i64) -> GrantState {
        if !self.live() {
            self
        } else if now >= valid_until {
            GrantState::Expired
        } else if now >= valid_from {
            GrantState::Effective
        } else {
            GrantState::Granted
        }
    }

    /// The state a new grant starts in.
    pub fn initial(now: i64, valid_from: i64) -> GrantState {
        if valid_from <= now {
            GrantState::Effective
        } else {
            GrantState::Granted
        }
    }
}

/// A grant's validity and use limit, checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Validity {
    pub valid_from: i64,
    pub valid_until: i64,
    pub use_limit: Option<i64>,
}

/// Check a requested validity at `now`: `valid_from` defaults to now (and may lie at most five
/// minutes back, at most a year ahead), `valid_until` must be after it and at most three years
/// later, a use limit is 1 or more.
pub fn check_validity(
    now: i64,
    valid_from: Option<i64>,
    valid_until: i64,
    use_limit: Option<i64>,
) -> Result<Validity, AppError> {
    let bad = |field: &'static str, rule: String| AppError::Invalid { field, rule };
    let from = valid_from.unwrap_or(now);
    if from < now.saturating_sub(START_LEEWAY_SECS) {
        return Err(bad(
            "valid_from",
            "lies in the past: a grant starts now or later".into(),
        ));
    }
    if from > now.saturating_add(MAX_START_AHEAD_SECS) {
        return Err(bad(
            "valid_from",
            "lies more than a year ahead: authorize nearer the time".into(),
        ));
    }
    let Some(len) = valid_until.checked_sub(from) else {
        return Err(bad("valid_until", "out of range".into()));
    };
    if len <= 0 {
        return Err(bad("valid_until", "is not after valid_from".into()));
    }
    if len > MAX_VALIDITY_SECS {
        return Err(bad(
            "valid_until",
            "more than three years (1,096 days) after valid_from: a grant lasts at most three years"
                .into(),
        ));
    }
    if let Some(n) = use_limit {
        if n < 1 {
            return Err(bad(
                "use_limit",
                "at least 1 (leave it out for no limit)".into(),
            ));
        }
    }
    Ok(Validity {
        valid_from: from,
        valid_until,
        use_limit,
    })
}

/// The reminder a grant ending at `until` has reached at `now`, if any (15, 7 or 1 days).
pub fn reminder(now: i64, until: i64) -> Option<i64> {
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

/// Why a sealing with a seal is refused for an app: a stable reason (the problem's `reason`) and
/// its words.
pub fn refusal(reason: &'static str, message: String) -> AppError {
    AppError::GrantRefused { reason, message }
}

/// The reason word for a seal that does not sign in state `state` (`seal-lost`, …).
pub fn seal_reason(state: crate::seals::SealState) -> &'static str {
    use crate::seals::SealState as S;
    match state {
        S::Lost => "seal-lost",
        S::Revoked => "seal-revoked",
        S::Expired => "seal-expired",
        S::Superseded => "seal-superseded",
        S::PendingReceipt | S::Active => "seal-not-active",
    }
}

/// Every state's name, for error messages.
pub fn state_names() -> String {
    GrantState::ALL
        .iter()
        .map(|s| s.name())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transitions() {
        for &s in GrantState::ALL {
            for &e in GrantEvent::ALL {
                let want = match (s, e) {
                    (GrantState::Granted, GrantEvent::TakeEffect) => Some(GrantState::Effective),
                    (GrantState::Granted | GrantState::Effective, GrantEvent::Withdraw) => {
                        Some(GrantState::Withdrawn)
                    }
                    (GrantState::Granted | GrantState::Effective, GrantEvent::Expire) => {
                        Some(GrantState::Expired)
                    }
                    _ => None,
                };
                assert_eq!(s.on(e), want, "{s:?} {e:?}");
            }
        }
        // Nothing leaves an ended grant, and nothing goes back to granted.
        for &e in GrantEvent::ALL {
            assert_eq!(GrantState::Withdrawn.on(e), None);
            assert_eq!(GrantState::Expired.on(e), None);
            assert_eq!(GrantState::Effective.on(GrantEvent::TakeEffect), None);
        }
    }

    #[test]
    fn state_at_a_time() {
        let (from, until) = (100, 200);
        assert_eq!(GrantState::Granted.at(50, from, until), GrantState::Granted);
        assert_eq!(
            GrantState::Granted.at(100, from, until),
            GrantState::Effective
        );
        assert_eq!(
            GrantState::Effective.at(199, from, until),
            GrantState::Effective
        );
        assert_eq!(
            GrantState::Effective.at(200, from, until),
            GrantState::Expired
        );
        assert_eq!(
            GrantState::Withdrawn.at(150, from, until),
            GrantState::Withdrawn
        );
        assert_eq!(GrantState::initial(10, 10), GrantState::Effective);
        assert_eq!(GrantState::initial(10, 11), GrantState::Granted);
        assert!(GrantState::Granted.live() && !GrantState::Expired.live());
    }

    #[test]
    fn validity_rules() {
        let now = 1_800_000_000;
        let day = 86_400;
        let v = check_validity(now, None, now + 30 * day, Some(10)).unwrap();
        assert_eq!(v.valid_from, now);
        // Exactly three years is allowed; a second more is not.
        assert!(check_validity(now, None, now + MAX_VALIDITY_SECS, None).is_ok());
        let e = check_validity(now, None, now + MAX_VALIDITY_SECS + 1, None).unwrap_err();
        assert!(
            matches!(
                e,
                AppError::Invalid {
                    field: "valid_until",
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("three years"), "{e}");
        // A start a little back is tolerated, further back not; nor more than a year ahead.
        assert!(check_validity(now, Some(now - 60), now + day, None).is_ok());
        assert!(matches!(
            check_validity(now, Some(now - 3600), now + day, None),
            Err(AppError::Invalid {
                field: "valid_from",
                ..
            })
        ));
        assert!(check_validity(now, Some(now + 400 * day), now + 500 * day, None).is_err());
        // The end after the start.
        for until in [now, now - 1, i64::MIN] {
            assert!(matches!(
                check_validity(now, None, until, None),
                Err(AppError::Invalid {
                    field: "valid_until",
                    ..
                })
            ));
        }
        // No overflow on extreme input.
        assert!(check_validity(i64::MAX, Some(i64::MIN), i64::MAX, None).is_err());
        // Use limits of one or more.
        for n in [0, -1, i64::MIN] {
            assert!(matches!(
                check_validity(now, None, now + day, Some(n)),
                Err(AppError::Invalid {
                    field: "use_limit",
                    ..
                })
            ));
        }
        assert!(check_validity(now, None, now + day, Some(1)).is_ok());
    }

    #[test]
    fn reminders() {
        let d = 86_400;
        assert_eq!(reminder(0, 40 * d), None);
        assert_eq!(reminder(0, 15 * d), Some(15));
        assert_eq!(reminder(0, 8 * d), Some(15));
        assert_eq!(reminder(0, 7 * d), Some(7));
        assert_eq!(reminder(0, 2 * d), Some(7));
        assert_eq!(reminder(0, d), Some(1));
        assert_eq!(reminder(0, 1), Some(1));
        assert_eq!(reminder(0, 0), None);
        assert_eq!(reminder(i64::MIN, i64::MAX), None);
    }
}
