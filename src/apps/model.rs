//! What an app is, in the words every part of `apps` shares: its kind, its state machine, and the
//! authenticated caller a request becomes.

use std::net::IpAddr;

use crate::named_enum;

named_enum! {
    /// What an app does with seals.
    pub enum AppKind {
        /// Seals documents through our API with the cloud seals authorized to it.
        CloudSigning = "cloud-signing",
        /// Works with UKey seals: the holder's token and PIN sign; the app only lists its seals.
        Ukey = "ukey",
    }
}

named_enum! {
    /// An app's life.
    pub enum AppState {
        /// Its credentials work.
        Active = "active",
        /// Stopped for now: every request refused (403), credentials kept; can be resumed.
        Suspended = "suspended",
        /// For good: credentials revoked (client certificates too, so the TLS handshake fails).
        Revoked = "revoked",
    }
}

named_enum! {
    /// What is done to an app's state.
    pub enum AppEvent {
        Suspend = "suspend",
        Resume = "resume",
        Revoke = "revoke",
    }
}

impl AppState {
    /// The one transition table; `None` is an out-of-order request (409).
    pub fn on(self, event: AppEvent) -> Option<AppState> {
        use AppEvent::*;
        use AppState::*;
        match (self, event) {
            (Active, Suspend) => Some(Suspended),
            (Suspended, Resume) => Some(Active),
            (Active | Suspended, Revoke) => Some(Revoked),
            _ => None,
        }
    }
}

/// How a request proved it comes from the app.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallerProof {
    /// An HMAC-signed request with this API key (credential id).
    ApiKey { credential_id: String },
    /// A TLS client certificate from the service CA (its serial, upper-case hex as stored).
    ClientCertificate { serial: String },
}

/// A request authenticated as an app — what the signing API's services take instead of a
/// person's session. Made only by the app authentication in `http`, after the app was found
/// active.
#[derive(Clone, Debug)]
pub struct AppCaller {
    pub app_id: String,
    pub proof: CallerProof,
    /// The client's address, for the evidence record.
    pub client: IpAddr,
    /// The app's daily sealing quota (`apps::quota`), as of authentication.
    pub daily_quota: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::Named;

    #[test]
    fn transitions() {
        for &s in AppState::ALL {
            for &e in AppEvent::ALL {
                let want = match (s, e) {
                    (AppState::Active, AppEvent::Suspend) => Some(AppState::Suspended),
                    (AppState::Suspended, AppEvent::Resume) => Some(AppState::Active),
                    (AppState::Active | AppState::Suspended, AppEvent::Revoke) => {
                        Some(AppState::Revoked)
                    }
                    _ => None,
                };
                assert_eq!(s.on(e), want, "{s:?} {e:?}");
            }
        }
    }
}
