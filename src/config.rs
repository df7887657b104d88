//! Configuration: one TOML file plus `SEALPKI_*` environment overrides. Without a file, development
//! defaults apply (data in `./data`, SQLite, software keys, a development CA made on first start).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use sealpki_pki::Secret;
use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {0}: {1}")]
    Read(String, std::io::Error),
    #[error("config {0}: {1}")]
    Parse(String, String),
    #[error("environment variable {0}: {1}")]
    Env(&'static str, String),
    #[error("secret file {0}: {1}")]
    SecretFile(String, std::io::Error),
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    #[serde(default)]
    pub database: DatabaseConfig,
    #[serde(default)]
    pub server: ServerConfig,
    #[serde(default)]
    pub keys: KeysConfig,
    #[serde(default)]
    pub pkcs11: Option<Pkcs11Config>,
    #[serde(default)]
    pub audit: AuditConfig,
    #[serde(default)]
    pub crl: CrlConfig,
    #[serde(default)]
    pub ocsp: OcspConfig,
    #[serde(default)]
    pub tsa: TsaConfig,
    #[serde(default)]
    pub files: FilesConfig,
    #[serde(default)]
    pub limits: LimitsConfig,
    /// Outgoing mail; without it e-mail jobs fail ("no SMTP server configured") and go dead.
    #[serde(default)]
    pub smtp: Option<SmtpConfig>,
    #[serde(default)]
    pub sms: SmsConfig,
    #[serde(default)]
    pub jobs: JobsConfig,
    #[serde(default)]
    pub accounts: AccountsConfig,
    #[serde(default)]
    pub seals: SealsConfig,
    #[serde(default)]
    pub payments: PaymentsConfig,
    #[serde(default)]
    pub apps: AppsConfig,
    /// Set when no config file was given: dev CA on first start, loud warnings.
    #[serde(skip)]
    pub development: bool,
}

/// `[seals]`: where electronic seals' keys are made and how their pictures are drawn.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SealsConfig {
    /// The key store of cloud seals' keys: `software` or `pkcs11:TOKEN_LABEL` (a token from
    /// `[pkcs11]`); keys made there are non-extractable.
    pub key_store: String,
    /// Algorithm of new seal keys: p256, rsa3072, rsa4096 or sm2 (software store only).
    pub algorithm: String,
    /// A CJK font (OpenType/TrueType file or collection) for seal faces and application forms;
    /// unset: the first Noto Sans/Serif CJK SC, WenQuanYi or AR PL font found under
    /// /usr/share/fonts (or SEALPKI_SEALS_FONT).
    pub font: Option<PathBuf>,
    /// How often the server sends expiry reminders and moves seals past their validity to expired.
    pub expiry_check_seconds: u64,
    /// A seal production unfinished after this long was interrupted (the process died): the
    /// sweep revokes its certificate and destroys its key. Keep it above the request timeout.
    pub production_grace_seconds: u64,
}

impl Default for SealsConfig {
    fn default() -> Self {
        SealsConfig {
            key_store: "software".into(),
            algorithm: "p256".into(),
            font: None,
            expiry_check_seconds: 3600,
            production_grace_seconds: 600,
        }
    }
}

/// `[apps]`: the cloud-signing apps' webhooks.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AppsConfig {
    /// PEM certificates the webhook client trusts beside the system's roots: for receivers on an
    /// intranet whose TLS certificates come from a private CA (this service's, say).
    pub webhook_roots: Option<PathBuf>,
}

/// `[payments]`: prices of seals and the payment provider.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PaymentsConfig {
    /// `development` (the only one so far): a checkout page on this server whose "pay" button
    /// makes the provider send a signed callback, as a real provider would.
    pub provider: String,
    /// The development provider's HMAC secret; unset: `DATA_DIR/dev-payment-secret`, generated
    /// on first use.
    pub dev_secret_file: Option<PathBuf>,
    /// Price of one year of a seal, in fen (0.01 yuan), by seal type (legal-name, finance,
    /// invoice, contract, business, personal).
    pub price_per_year_fen: std::collections::BTreeMap<String, i64>,
    /// Added once for a UKey seal (the token and its posting), in fen.
    pub ukey_fen: i64,
}

impl Default for PaymentsConfig {
    fn default() -> Self {
        let prices = [
            ("legal-name", 30000),
            ("finance", 20000),
            ("invoice", 20000),
            ("contract", 20000),
            ("business", 20000),
            ("personal", 10000),
        ];
        PaymentsConfig {
            provider: "development".into(),
            dev_secret_file: None,
            price_per_year_fen: prices.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            ukey_fen: 10000,
        }
    }
}

impl PaymentsConfig {
    /// Known provider; a price for every seal type, none negative or absurd (a billion fen).
    fn check(&self) -> Result<(), ConfigError> {
        let bad =
            |what: &str, why: String| Err(ConfigError::Parse(format!("[payments] {what}"), why));
        if self.provider != "development" {
            return bad("provider", format!("{:?}: development", self.provider));
        }
        const MAX: i64 = 1_000_000_000;
        for t in [
            "legal-name",
            "finance",
            "invoice",
            "contract",
            "business",
            "personal",
        ] {
            match self.price_per_year_fen.get(t) {
                Some(p) if (0..=MAX).contains(p) => {}
                Some(_) => return bad("price_per_year_fen", format!("{t}: 0-{MAX} fen")),
                None => return bad("price_per_year_fen", format!("needs a price for {t}")),
            }
        }
        if !(0..=MAX).contains(&self.ukey_fen) {
            return bad("ukey_fen", format!("0-{MAX} fen"));
        }
        Ok(())
    }
}

/// `[accounts]`: people, staff and their sessions.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountsConfig {
    /// Staff accounts (admin, operator, auditor) must use a TOTP second factor; a staff login
    /// without one may only set it up. On by default; off only for closed test set-ups.
    #[serde(default = "yes")]
    pub staff_totp: bool,
    /// Lifetime of a console (cookie) session.
    #[serde(default = "default_browser_session_hours")]
    pub browser_session_hours: u32,
    /// How long an SMS code is good for.
    #[serde(default = "default_sms_code_minutes")]
    pub sms_code_minutes: u32,
    /// SMS codes per number and purpose in 24 hours.
    #[serde(default = "default_sms_codes_per_day")]
    pub sms_codes_per_day: u32,
}

impl Default for AccountsConfig {
    fn default() -> Self {
        AccountsConfig {
            staff_totp: true,
            browser_session_hours: default_browser_session_hours(),
            sms_code_minutes: default_sms_code_minutes(),
            sms_codes_per_day: default_sms_codes_per_day(),
        }
    }
}

fn yes() -> bool {
    true
}
fn default_browser_session_hours() -> u32 {
    12
}
fn default_sms_code_minutes() -> u32 {
    10
}
fn default_sms_codes_per_day() -> u32 {
    10
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `sqlite://PATH` or `postgres://…`; default `sqlite://DATA_DIR/sealpki.db`.
    pub url: Option<String>,
    /// SQLite `synchronous`: `full` (default; every commit reaches the disk) or `normal`.
    pub sqlite_synchronous: Option<String>,
    pub max_connections: Option<u32>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Base URL written into certificates (CRL distribution point, OCSP, CA issuers).
    pub public_base_url: Option<String>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// A second, plain-HTTP listener for operations (e.g. 127.0.0.1:9090): `/metrics` and the detail
    /// of `/readyz` without a login. On the public listener both need a staff bearer token.
    pub internal_listen: Option<SocketAddr>,
    /// TLS client certificates from the service and device CAs: `off` (default), `optional` or
    /// `required`. Revoked certificates are refused at the handshake within one CRL refresh.
    #[serde(default)]
    pub client_auth: ClientAuth,
    /// Lifetime of operator session tokens.
    #[serde(default = "default_session_hours")]
    pub session_hours: u32,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: default_listen(),
            public_base_url: None,
            tls_cert: None,
            tls_key: None,
            internal_listen: None,
            client_auth: ClientAuth::Off,
            session_hours: default_session_hours(),
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientAuth {
    #[default]
    Off,
    Optional,
    Required,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeysConfig {
    /// File holding the software key store passphrase (or set SEALPKI_KEYS_PASSPHRASE).
    pub passphrase_file: Option<PathBuf>,
    /// Directory of the software key store; default DATA_DIR/keys.
    pub dir: Option<PathBuf>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pkcs11Config {
    pub module: PathBuf,
    #[serde(default = "default_sessions")]
    pub sessions: usize,
    #[serde(default, rename = "token")]
    pub tokens: Vec<TokenConfig>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    pub label: String,
    pub pin_file: Option<PathBuf>,
    /// Name of an environment variable holding the PIN (default SEALPKI_PKCS11_PIN).
    pub pin_env: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditConfig {
    /// Sign the chain head every this many entries.
    #[serde(default = "default_checkpoint_every")]
    pub checkpoint_every: u64,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            checkpoint_every: default_checkpoint_every(),
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CrlConfig {
    /// Lifetime (nextUpdate − thisUpdate) of full CRLs; republished at half of it.
    pub full_hours: u32,
    /// Lifetime of delta CRLs; a revocation republishes the delta at once.
    pub delta_hours: u32,
    /// How often the server checks whether CRLs need republishing; a full CRL older than the
    /// newest revocation is republished at the next check (so within this many seconds).
    pub refresh_seconds: u64,
    /// Certificates per CRL partition (0: one CRL per CA key). Past this many certificates a CA
    /// key's new certificates name partition CRLs (issuingDistributionPoint) at `LABEL-pN.crl`.
    pub partition_size: u64,
}

impl Default for CrlConfig {
    fn default() -> Self {
        CrlConfig {
            full_hours: 24,
            delta_hours: 1,
            refresh_seconds: 20,
            partition_size: 100_000,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OcspConfig {
    /// How long a pre-signed answer (request without nonce) is served from memory.
    pub cache_seconds: u64,
    /// nextUpdate of OCSP answers.
    pub next_update_hours: u32,
    /// Most pre-signed answers kept; the least recently used is dropped for a new one. Answers for
    /// serials we never issued are signed each time and never cached.
    pub cache_entries: usize,
}

impl Default for OcspConfig {
    fn default() -> Self {
        OcspConfig {
            cache_seconds: 300,
            next_update_hours: 1,
            cache_entries: 20_000,
        }
    }
}

/// A token bucket: `per_second` tokens refill continuously up to `burst`; a request takes one.
/// `per_second = 0` turns the limit off.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Rate {
    pub per_second: f64,
    pub burst: u32,
}

impl Rate {
    pub const fn new(per_second: f64, burst: u32) -> Rate {
        Rate { per_second, burst }
    }
}

/// Protection of the public endpoints: how much the server takes at once, for how long, and how
/// often one client address (IPv6 by /64) may ask for expensive work.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Requests in progress at once (every route but /healthz); more are answered 503 at once.
    pub concurrency: usize,
    /// Time for a whole request, body upload included: 408 while the body is still arriving,
    /// else 503.
    pub request_timeout_seconds: u64,
    /// The same for `POST /api/v1/pdf/verify` and `/api/v1/pdf/sign` (64 MB bodies).
    pub pdf_timeout_seconds: u64,
    /// TLS handshakes in progress at once; further connections wait in the listen backlog.
    pub tls_handshakes: usize,
    /// Time a TLS handshake may take; also the time a connection may take to send request headers.
    pub tls_handshake_timeout_seconds: u64,
    /// Client addresses remembered per rate limit; the least recently seen is forgotten first.
    pub rate_table_entries: usize,
    pub pdf_verify: Rate,
    pub ses_verify: Rate,
    pub cert_verify: Rate,
    pub tsa: Rate,
    /// OCSP answers signed for the request (nonce, several serials, or not in the pre-signed cache).
    pub ocsp_fresh: Rate,
    /// Failed logins per username and per client address within `login_window_seconds`; past it,
    /// 429 without checking the password.
    pub login_failures: u32,
    pub login_window_seconds: u64,
}

impl LimitsConfig {
    fn check(&self) -> Result<(), ConfigError> {
        let bad = |what: &str, why: &str| {
            Err(ConfigError::Parse(
                format!("[limits] {what}"),
                why.to_string(),
            ))
        };
        for (name, r) in [
            ("pdf_verify", self.pdf_verify),
            ("ses_verify", self.ses_verify),
            ("cert_verify", self.cert_verify),
            ("tsa", self.tsa),
            ("ocsp_fresh", self.ocsp_fresh),
        ] {
            if !r.per_second.is_finite() || r.per_second < 0.0 {
                return bad(
                    name,
                    "per_second must be a number >= 0 (0 turns the limit off)",
                );
            }
            if r.per_second > 0.0 && r.burst == 0 {
                return bad(name, "burst must be at least 1");
            }
        }
        if self.concurrency == 0 || self.tls_handshakes == 0 || self.rate_table_entries == 0 {
            return bad(
                "concurrency, tls_handshakes, rate_table_entries",
                "must be at least 1",
            );
        }
        if self.login_failures == 0 {
            return bad("login_failures", "must be at least 1");
        }
        Ok(())
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            concurrency: 512,
            request_timeout_seconds: 30,
            pdf_timeout_seconds: 120,
            tls_handshakes: 256,
            tls_handshake_timeout_seconds: 10,
            rate_table_entries: 65_536,
            pdf_verify: Rate::new(20.0, 100),
            ses_verify: Rate::new(50.0, 200),
            cert_verify: Rate::new(50.0, 200),
            tsa: Rate::new(50_000.0, 50_000),
            ocsp_fresh: Rate::new(50_000.0, 50_000),
            login_failures: 10,
            login_window_seconds: 300,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TsaConfig {
    /// TSA policy OID written into tokens when the request names none (placeholder arc: replace it).
    pub policy: String,
    /// Accuracy claimed in tokens; it should bound the server clock's error (NTP).
    pub accuracy_millis: u16,
}

impl Default for TsaConfig {
    fn default() -> Self {
        TsaConfig {
            policy: "1.3.6.1.4.1.61000.2.1".into(),
            accuracy_millis: 1000,
        }
    }
}

/// `[smtp]`: the server e-mail jobs are handed to.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: String,
    /// Default by `tls`: 25 (none), 587 (starttls), 465 (tls).
    pub port: Option<u16>,
    /// The sender, `sealpki <pki@example.com>` or a bare address.
    pub from: String,
    #[serde(default)]
    pub tls: SmtpTls,
    pub username: Option<String>,
    /// File holding the password (or set SEALPKI_SMTP_PASSWORD); never logged.
    pub password_file: Option<PathBuf>,
    /// Bound on each network operation of a delivery.
    #[serde(default = "default_smtp_timeout")]
    pub timeout_seconds: u64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain SMTP (a relay on the same host or network only).
    None,
    /// STARTTLS required.
    #[default]
    Starttls,
    /// TLS from the first byte (SMTPS).
    Tls,
}

/// `[sms]`: which provider sends text messages.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsConfig {
    #[serde(default)]
    pub provider: SmsProviderName,
    /// The development provider's file; default DATA_DIR/dev-sms.jsonl.
    pub dev_file: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmsProviderName {
    /// Writes each message to a file (tests, development banner); sends nothing.
    #[default]
    Development,
}

/// `[jobs]`: the outbox worker every instance runs.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JobsConfig {
    /// How often an idle worker looks for due jobs.
    pub poll_millis: u64,
    /// How long a claim lasts without renewal; a worker renews it every third of this while it
    /// delivers, so a job of a stopped instance is claimed again within one lease.
    pub lease_seconds: u64,
    /// Attempts before a job is dead.
    pub max_attempts: u32,
    /// First retry delay; doubled per attempt up to `backoff_max_seconds`, with jitter.
    pub backoff_base_seconds: u64,
    pub backoff_max_seconds: u64,
    /// Deliveries one worker runs at once.
    pub concurrency: usize,
    /// Webhooks to apps: attempts and backoff. The defaults keep retrying for more than a day
    /// (checked: outside development a schedule shorter than 24 hours is refused).
    pub webhook_max_attempts: u32,
    pub webhook_backoff_base_seconds: u64,
    pub webhook_backoff_max_seconds: u64,
    /// Test set-ups only: accept a webhook schedule that ends within 24 hours.
    pub allow_short_webhook_retries: bool,
}

impl Default for JobsConfig {
    fn default() -> Self {
        JobsConfig {
            poll_millis: 1000,
            lease_seconds: 60,
            max_attempts: 8,
            backoff_base_seconds: 30,
            backoff_max_seconds: 3600,
            concurrency: 4,
            webhook_max_attempts: 20,
            webhook_backoff_base_seconds: 60,
            webhook_backoff_max_seconds: 14_400,
            allow_short_webhook_retries: false,
        }
    }
}

impl JobsConfig {
    fn check(&self, development: bool) -> Result<(), ConfigError> {
        let bad = |what: &str, why: &str| {
            Err(ConfigError::Parse(
                format!("[jobs] {what}"),
                why.to_string(),
            ))
        };
        if !(50..=60_000).contains(&self.poll_millis) {
            return bad("poll_millis", "50-60000");
        }
        if !(3..=86_400).contains(&self.lease_seconds) {
            return bad("lease_seconds", "3-86400");
        }
        if !(1..=100).contains(&self.max_attempts) {
            return bad("max_attempts", "1-100");
        }
        if self.backoff_base_seconds == 0 || self.backoff_max_seconds < self.backoff_base_seconds {
            return bad(
                "backoff_base_seconds",
                "at least 1 and at most backoff_max_seconds",
            );
        }
        if !(1..=64).contains(&self.concurrency) {
            return bad("concurrency", "1-64");
        }
        if !(1..=100).contains(&self.webhook_max_attempts) {
            return bad("webhook_max_attempts", "1-100");
        }
        if self.webhook_backoff_base_seconds == 0
            || self.webhook_backoff_max_seconds < self.webhook_backoff_base_seconds
        {
            return bad(
                "webhook_backoff_base_seconds",
                "at least 1 and at most webhook_backoff_max_seconds",
            );
        }
        let policy = crate::jobs::RetryPolicy {
            max_attempts: self.webhook_max_attempts,
            backoff_base_seconds: self.webhook_backoff_base_seconds,
            backoff_max_seconds: self.webhook_backoff_max_seconds,
        };
        // Receivers down for a night's maintenance still get their events.
        if !development
            && !self.allow_short_webhook_retries
            && policy.shortest_span_seconds() < 86_400
        {
            return bad(
                "webhook_max_attempts",
                "with these backoff settings retries end within 24 hours: raise them (or set \
                 allow_short_webhook_retries = true for a test set-up)",
            );
        }
        Ok(())
    }
}

fn default_smtp_timeout() -> u64 {
    30
}
/// `[files]`: where uploaded files' content is kept. Without it, under `<data_dir>/objects`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilesConfig {
    #[serde(default)]
    pub store: ObjectStoreKind,
    /// `[files.s3]`, required when `store = "s3"`.
    pub s3: Option<S3Config>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ObjectStoreKind {
    /// The local file system (one instance, or a shared file system).
    #[default]
    Local,
    /// S3 or an S3-compatible server: for several instances.
    S3,
}

/// `[files.s3]`. The credentials are read from the files named here, else from
/// `SEALPKI_S3_ACCESS_KEY_ID` / `SEALPKI_S3_SECRET_ACCESS_KEY`, else the usual `AWS_*` variables;
/// never from this text.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Config {
    pub bucket: String,
    /// An S3-compatible server's URL; AWS's own endpoint when unset.
    pub endpoint: Option<String>,
    #[serde(default = "default_s3_region")]
    pub region: String,
    /// Object names start with this.
    #[serde(default = "default_s3_prefix")]
    pub prefix: String,
    /// Allow an http:// endpoint (a server on the same host or a test server).
    #[serde(default)]
    pub allow_http: bool,
    pub access_key_id_file: Option<PathBuf>,
    pub secret_access_key_file: Option<PathBuf>,
}

fn default_s3_region() -> String {
    "us-east-1".into()
}
fn default_s3_prefix() -> String {
    "objects".into()
}

fn default_data_dir() -> PathBuf {
    PathBuf::from("./data")
}
fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}
fn default_session_hours() -> u32 {
    12
}
fn default_sessions() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        * 2
}
fn default_checkpoint_every() -> u64 {
    1000
}

impl Config {
    /// Load `file` (or development defaults), then apply environment overrides; `data` beats both.
    pub fn load(file: Option<&Path>, data: Option<&Path>) -> Result<Self, ConfigError> {
        let mut cfg: Config = match file {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .map_err(|e| ConfigError::Read(p.display().to_string(), e))?;
                let mut c: Config = toml::from_str(&text)
                    .map_err(|e| ConfigError::Parse(p.display().to_string(), e.to_string()))?;
                c.development = false;
                c
            }
            None => {
                let mut c: Config = toml::from_str("").expect("empty config is valid");
                c.development = true;
                c
            }
        };
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        if let Some(v) = env("SEALPKI_SEALS_FONT") {
            cfg.seals.font = Some(PathBuf::from(v));
        }
        if let Some(v) = env("SEALPKI_SEALS_KEY_STORE") {
            cfg.seals.key_store = v;
        }
        if let Some(v) = env("SEALPKI_DATA") {
            cfg.data_dir = v.into();
        }
        if let Some(d) = data {
            cfg.data_dir = d.to_path_buf();
        }
        if let Some(v) = env("SEALPKI_DATABASE_URL") {
            cfg.database.url = Some(v);
        }
        if let Some(v) = env("SEALPKI_SQLITE_SYNCHRONOUS") {
            cfg.database.sqlite_synchronous = Some(v);
        }
        if let Some(v) = env("SEALPKI_LISTEN") {
            cfg.server.listen = v
                .parse()
                .map_err(|e| ConfigError::Env("SEALPKI_LISTEN", format!("{e}")))?;
        }
        if let Some(v) = env("SEALPKI_INTERNAL_LISTEN") {
            cfg.server.internal_listen = Some(
                v.parse()
                    .map_err(|e| ConfigError::Env("SEALPKI_INTERNAL_LISTEN", format!("{e}")))?,
            );
        }
        if let Some(v) = env("SEALPKI_PUBLIC_BASE_URL") {
            cfg.server.public_base_url = Some(v);
        }
        if let Some(v) = env("SEALPKI_TLS_CERT") {
            cfg.server.tls_cert = Some(v.into());
        }
        if let Some(v) = env("SEALPKI_TLS_KEY") {
            cfg.server.tls_key = Some(v.into());
        }
        if let Some(v) = env("SEALPKI_CLIENT_AUTH") {
            cfg.server.client_auth = match v.as_str() {
                "off" => ClientAuth::Off,
                "optional" => ClientAuth::Optional,
                "required" => ClientAuth::Required,
                _ => {
                    return Err(ConfigError::Env(
                        "SEALPKI_CLIENT_AUTH",
                        "off, optional or required".into(),
                    ))
                }
            };
        }
        if let Some(v) = env("SEALPKI_KEYS_PASSPHRASE_FILE") {
            cfg.keys.passphrase_file = Some(v.into());
        }
        if let Some(v) = env("SEALPKI_CHECKPOINT_EVERY") {
            cfg.audit.checkpoint_every = v
                .parse()
                .map_err(|_| ConfigError::Env("SEALPKI_CHECKPOINT_EVERY", "not a number".into()))?;
        }
        if let Some(v) = env("SEALPKI_CRL_PARTITION_SIZE") {
            cfg.crl.partition_size = v.parse().map_err(|_| {
                ConfigError::Env("SEALPKI_CRL_PARTITION_SIZE", "not a number".into())
            })?;
        }
        if let Some(v) = env("SEALPKI_PKCS11_MODULE") {
            match &mut cfg.pkcs11 {
                Some(p) => p.module = v.into(),
                None => {
                    cfg.pkcs11 = Some(Pkcs11Config {
                        module: v.into(),
                        sessions: default_sessions(),
                        tokens: vec![],
                    })
                }
            }
        }
        if let Some(v) = env("SEALPKI_PKCS11_TOKENS") {
            // Comma-separated labels, for quick setups without a file; PINs from SEALPKI_PKCS11_PIN.
            if let Some(p) = &mut cfg.pkcs11 {
                for label in v.split(',').map(str::trim).filter(|l| !l.is_empty()) {
                    if !p.tokens.iter().any(|t| t.label == label) {
                        p.tokens.push(TokenConfig {
                            label: label.into(),
                            pin_file: None,
                            pin_env: None,
                        });
                    }
                }
            }
        }
        cfg.limits.check()?;
        cfg.jobs.check(cfg.development)?;
        cfg.payments.check()?;
        Ok(cfg)
    }

    pub fn database_url(&self) -> String {
        self.database
            .url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}/sealpki.db", self.data_dir.display()))
    }

    pub fn keys_dir(&self) -> PathBuf {
        self.keys
            .dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("keys"))
    }

    pub fn public_base_url(&self) -> String {
        let url = self.server.public_base_url.clone().unwrap_or_else(|| {
            let scheme = if self.server.tls_cert.is_some() {
                "https"
            } else {
                "http"
            };
            format!("{scheme}://{}", self.server.listen)
        });
        url.trim_end_matches('/').to_string()
    }

    /// The software key store passphrase: env, then file; in development a generated one in DATA_DIR.
    pub fn passphrase(&self) -> Result<Option<Secret>, ConfigError> {
        if let Some(s) = Secret::from_env("SEALPKI_KEYS_PASSPHRASE") {
            return Ok(Some(s));
        }
        if let Some(f) = &self.keys.passphrase_file {
            return Secret::from_file(f)
                .map(Some)
                .map_err(|e| ConfigError::SecretFile(f.display().to_string(), e));
        }
        if self.development {
            let f = self.data_dir.join("dev-passphrase");
            if !f.exists() {
                use rand_core::RngCore;
                let mut b = [0u8; 24];
                rand_core::OsRng.fill_bytes(&mut b);
                write_private(&f, hex::encode(b).as_bytes())
                    .map_err(|e| ConfigError::SecretFile(f.display().to_string(), e))?;
            }
            return Secret::from_file(&f)
                .map(Some)
                .map_err(|e| ConfigError::SecretFile(f.display().to_string(), e));
        }
        Ok(None)
    }

    pub fn token_pin(&self, t: &TokenConfig) -> Result<Option<Secret>, ConfigError> {
        if let Some(f) = &t.pin_file {
            return Secret::from_file(f)
                .map(Some)
                .map_err(|e| ConfigError::SecretFile(f.display().to_string(), e));
        }
        Ok(Secret::from_env(
            t.pin_env.as_deref().unwrap_or("SEALPKI_PKCS11_PIN"),
        ))
    }
}

/// Write a file readable only by its owner.
pub fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(data)?;
    f.sync_all()
}
