//! The service's error type. Every failure a user can cause maps to a precise kind; HTTP turns the
//! kind into a status and problem+json in `http::error`, the CLI into a message and exit code.

use sealpki_pki::csr::CsrError;
use sealpki_pki::profile::ProfileError;
use sealpki_pki::{IssueError, KeyError};

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The request is malformed (unparseable body, bad CSR encoding, bad parameter).
    #[error("{0}")]
    BadRequest(String),
    /// Well-formed but refused by policy (profile, lint, key size, subject fields).
    #[error("{0}")]
    Policy(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// A workflow event that does not apply to the record as it is now (out of order, or sent for a
    /// version that is no longer current): HTTP 409 with the current state, version and the events
    /// its state allows.
    #[error("{message}")]
    StateConflict {
        /// `out-of-order` or `stale-version`.
        reason: &'static str,
        message: String,
        state: &'static str,
        version: i64,
        allowed_events: Vec<&'static str>,
    },
    #[error("authentication required")]
    Unauthenticated,
    #[error("invalid username or password")]
    BadCredentials,
    /// A signed callback whose signature or timestamp does not verify: HTTP 401, nothing changed.
    #[error("{0}")]
    BadSignature(String),
    #[error("role {role} may not {} (needs permission {})", permission.action(), permission.name())]
    Forbidden {
        role: &'static str,
        permission: crate::access::Permission,
    },
    /// Refused whoever asks (a disabled account, a key whose purpose forbids the use): HTTP 403.
    #[error("{0}")]
    Denied(String),
    /// An app's request refused at authentication (the app suspended or revoked, the credential
    /// revoked): HTTP 403 with `reason`, a stable word (`app-suspended`, `app-revoked`,
    /// `credential-revoked`).
    #[error("{message}")]
    AppRefused {
        reason: &'static str,
        message: String,
    },
    /// An app may not seal with a seal now (no grant, withdrawn, expired, its use limit reached,
    /// the seal not active): HTTP 403 with `reason`, a stable word (`no-grant`, `seal-lost`, …).
    #[error("{message}")]
    GrantRefused {
        reason: &'static str,
        message: String,
    },
    /// A dependency (database, token) is unreachable or refused us.
    #[error("{0}")]
    Unavailable(String),
    /// An app went past its request rate or daily quota: HTTP 429 with Retry-After.
    #[error("{what}: retry in {retry_after} s")]
    AppLimited { what: String, retry_after: u64 },
    /// One client asked for `what` too often: HTTP 429 with Retry-After.
    #[error("too many requests for {what} from this address: retry in {retry_after} s")]
    RateLimited { what: String, retry_after: u64 },
    /// Too many failed logins for a username or from an address: HTTP 429 with Retry-After.
    #[error(
        "too many failed logins for this username or from this address: retry in {retry_after} s"
    )]
    LoginThrottled { retry_after: u64 },
    /// The server is at its concurrency limit: HTTP 503 with Retry-After.
    #[error("the server is busy: retry in {retry_after} s")]
    Overloaded { retry_after: u64 },
    /// A request ran past its time: 408 while its body was still arriving, else 503.
    #[error("{}", if *body_received { format!("the request took longer than {seconds} s") } else { format!("the request body did not arrive within {seconds} s") })]
    TimedOut { seconds: u64, body_received: bool },
    /// The request body is larger than the endpoint accepts.
    #[error("{0}")]
    TooLarge(String),
    /// A field of the request breaks a rule (an ID number's check character, a region code): 422
    /// naming the field.
    #[error("{field}: {rule}")]
    Invalid { field: &'static str, rule: String },
    /// The password was right; a staff account also needs its one-time code (`totp`).
    #[error("this account needs its one-time code (field totp) as well")]
    TotpRequired,
    /// The one-time code is wrong, or was used already.
    #[error("the one-time code is wrong or was already used")]
    BadTotp,
    /// A staff session that has not set up its second factor may do nothing else yet.
    #[error("set up the second factor first: POST /api/v1/account/totp, then /api/v1/account/totp/confirm")]
    TotpEnrolmentRequired,
    /// An SMS code that is wrong, expired, used up or spent.
    #[error("{0}")]
    BadCode(String),
    /// SMS codes are sent at most once a minute and a few times a day per number: HTTP 429.
    #[error("a code was sent to this number recently: retry in {retry_after} s")]
    CodeThrottled { retry_after: u64 },
    /// A state-changing request from another site (neither same-origin `Sec-Fetch-Site` nor a
    /// matching `Origin`): HTTP 403.
    #[error("cross-site request refused: {0}")]
    CrossSite(String),
    /// An upload refused by `files` (size, type, mismatch, decompression bomb, unreadable).
    #[error(transparent)]
    File(#[from] crate::files::FileError),
    /// Our fault; the detail goes to the log, not to the client.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(c) => {
                AppError::Conflict(format!("conflicts with stored data ({c})"))
            }
            e if e.is_unavailable() => AppError::Unavailable(format!("database unavailable: {e}")),
            other => AppError::Internal(other.to_string()),
        }
    }
}

impl From<CsrError> for AppError {
    fn from(e: CsrError) -> Self {
        match e {
            CsrError::Key(_) | CsrError::SignatureAlgorithm(_) => {
                AppError::Policy(format!("CSR refused: {e}"))
            }
            other => AppError::BadRequest(format!("bad CSR: {other}")),
        }
    }
}

impl From<KeyError> for AppError {
    fn from(e: KeyError) -> Self {
        match e {
            KeyError::NotFound(_) => AppError::NotFound(e.to_string()),
            KeyError::Exists(_) => AppError::Conflict(e.to_string()),
            KeyError::BadName(_)
            | KeyError::BadRef(..)
            | KeyError::Alg(_)
            | KeyError::Unsupported(..) => AppError::BadRequest(e.to_string()),
            KeyError::WrongPin(_)
            | KeyError::PinLocked(_)
            | KeyError::NoPin(_)
            | KeyError::TokenNotFound(..)
            | KeyError::TokenNotConfigured(_)
            | KeyError::Module(..)
            | KeyError::Pkcs11 { .. }
            | KeyError::WrongPassphrase(_)
            | KeyError::NoPassphrase => AppError::Unavailable(e.to_string()),
            other => AppError::Internal(other.to_string()),
        }
    }
}

impl From<sealpki_pki::ses::SesError> for AppError {
    fn from(e: sealpki_pki::ses::SesError) -> Self {
        use sealpki_pki::ses::SesError;
        match e {
            SesError::Key(k) => k.into(),
            SesError::Malformed(_) | SesError::Encode(_) | SesError::Invalid(_) => {
                AppError::BadRequest(e.to_string())
            }
        }
    }
}

impl From<IssueError> for AppError {
    fn from(e: IssueError) -> Self {
        match e {
            IssueError::Key(k) => k.into(),
            IssueError::SignatureCheck | IssueError::Encoding(_) => {
                AppError::Internal(e.to_string())
            }
            IssueError::IssuerExpiring(_) | IssueError::IssuerNotYetValid(_) => {
                AppError::Unavailable(e.to_string())
            }
            other => AppError::Policy(other.to_string()),
        }
    }
}

impl From<ProfileError> for AppError {
    fn from(e: ProfileError) -> Self {
        match e {
            ProfileError::Unknown(_) => AppError::NotFound(e.to_string()),
            other => AppError::Internal(other.to_string()),
        }
    }
}
