//! The vocabulary every verifier here reports in (PDF signatures, GB/T 38540 seals): checks that pass,
//! fail or stay unknown, and a verdict — invalid if any check fails, indeterminate if any is unknown,
//! valid otherwise.

use std::time::SystemTime;

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckState {
    Pass,
    Fail,
    Unknown,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct Check {
    pub name: &'static str,
    pub state: CheckState,
    pub detail: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Valid,
    Invalid,
    Indeterminate,
}

impl Verdict {
    /// Exit code of the verifying commands: 0 valid, 1 invalid, 2 indeterminate.
    pub fn exit_code(self) -> i32 {
        match self {
            Verdict::Valid => 0,
            Verdict::Invalid => 1,
            Verdict::Indeterminate => 2,
        }
    }
}

/// Checks collected in order.
pub(crate) struct Checks(pub Vec<Check>);

impl Checks {
    pub fn add(&mut self, name: &'static str, state: CheckState, detail: impl Into<String>) {
        self.0.push(Check {
            name,
            state,
            detail: detail.into(),
        });
    }

    pub fn result(&mut self, name: &'static str, r: Result<String, (CheckState, String)>) {
        match r {
            Ok(d) => self.add(name, CheckState::Pass, d),
            Err((s, d)) => self.add(name, s, d),
        }
    }
}

/// A time as RFC 3339 (UTC), or seconds since the epoch when it cannot be shown so.
pub(crate) fn rfc3339(t: SystemTime) -> String {
    der::DateTime::from_system_time(t)
        .map(|d| d.to_string())
        .unwrap_or_else(|_| format!("{} (Unix)", unix(t)))
}

/// Seconds since the epoch (0 before it).
pub(crate) fn unix(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
