//! The command line: argument definitions and what each command does, on the same `App` the server uses.

pub mod bench;
pub mod bench_apps;
pub mod cert_verify;
pub mod pdf;
pub mod progress;
pub mod ses;
pub mod ukey;

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use sealpki_pki::pem::{cert_pem, chain_pem, pkcs7_certs_only};
use sealpki_pki::{CertRequest, KeyAlgorithm, VerifiedCsr};

use crate::access::Actor;
use crate::app::App;
use crate::config::Config;
use crate::error::AppError;

#[derive(Parser, Debug)]
#[command(
    name = "sealpki",
    version,
    about = "PKI and electronic-seal service",
    propagate_version = true
)]
pub struct Cli {
    /// Configuration file (TOML). Without it: development defaults in --data (./data).
    #[arg(long, global = true, env = "SEALPKI_CONFIG")]
    pub config: Option<PathBuf>,
    /// Data directory (SQLite database, software keys). Overrides the config file. Give it before
    /// the command: `tsa verify` and `ses sign|verify` have a `--data` of their own (the signed data).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Print data as JSON.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the HTTP service (creates a development CA on first start when no --config is given).
    Serve {
        /// Address to listen on, e.g. 127.0.0.1:8080 (port 0 picks a free one).
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
    },
    /// Run the key ceremony: create the root and issuing CAs, TSA, OCSP and audit keys.
    Init {
        /// Ceremony file (see fixtures/ceremony-dev.toml).
        #[arg(long)]
        ceremony: PathBuf,
        /// Create a new generation even though a hierarchy exists.
        #[arg(long)]
        force: bool,
    },
    /// Certificates.
    #[command(subcommand)]
    Cert(CertCmd),
    /// Certificate authorities.
    #[command(subcommand)]
    Ca(CaCmd),
    /// Keys in the configured key stores.
    #[command(subcommand)]
    Keys(KeysCmd),
    /// The audit log.
    #[command(subcommand)]
    Audit(AuditCmd),
    /// Operator accounts.
    #[command(subcommand)]
    Operator(OperatorCmd),
    /// Certificate revocation lists.
    #[command(subcommand)]
    Crl(CrlCmd),
    /// RFC 3161 time stamps.
    #[command(subcommand)]
    Tsa(TsaCmd),
    /// GB/T 38540 electronic seals (SM2/SM3): make, sign, verify, inspect.
    #[command(subcommand)]
    Ses(crate::cli::ses::SesCmd),
    /// PDF sealing (PAdES): sign and verify.
    #[command(subcommand)]
    Pdf(crate::cli::pdf::PdfCmd),
    /// The seal holder's UKey (a PKCS#11 token): enrol a UKey seal, show, seal PDFs locally.
    #[command(subcommand)]
    Ukey(crate::cli::ukey::UkeyCmd),
    /// Electronic seals.
    #[command(subcommand)]
    Seals(SealsCmd),
    /// Benchmarks on the configured data.
    #[command(subcommand)]
    Bench(BenchCmd),
    /// Print the HTTP API's OpenAPI document (the one served at /api/openapi.json).
    Openapi,
}

#[derive(Subcommand, Debug)]
pub enum SealsCmd {
    /// Send due expiry reminders (30, 7, 1 days before) and expire seals past their validity, and
    /// make app authorizations effective, remind (15, 7, 1 days before) and expire them, as the
    /// server does every `[seals] expiry_check_seconds`; each reminder goes out once.
    Sweep {
        /// Sweep as of this time (RFC 3339, e.g. 2027-11-20T00:00:00Z) instead of now.
        #[arg(long)]
        at: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum CertCmd {
    /// Validate a certificate's path (RFC 5280) to trust anchors: exit 0 valid, 1 invalid,
    /// 2 indeterminate (no path, revocation not established), 3 unreadable input or usage.
    Verify(crate::cli::cert_verify::VerifyArgs),
    /// Issue a certificate from a PKCS#10 CSR.
    Issue {
        #[arg(long)]
        profile: String,
        /// CSR file (PEM or DER); `-` reads standard input.
        #[arg(long, required_unless_present = "key", conflicts_with = "key")]
        csr: Option<PathBuf>,
        /// Certify a key from `sealpki keys generate` instead (soft:NAME or pkcs11:token=…;object=…).
        #[arg(long, requires = "subject")]
        key: Option<String>,
        /// Subject for --key, RFC 4514 (e.g. "CN=Example Seal,O=Example Co,C=CN").
        #[arg(long)]
        subject: Option<String>,
        /// DNS subjectAltName for --key (repeatable).
        #[arg(long)]
        dns: Vec<String>,
        /// Write the certificate (PEM) here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Issuing CA, for profiles without a fixed one (ocsp-responder).
        #[arg(long)]
        ca: Option<String>,
        #[arg(long)]
        validity_days: Option<u32>,
    },
    /// Show a certificate by serial (hex, as `openssl x509 -serial` prints it).
    Show {
        serial: String,
        /// Print the PEM certificate only.
        #[arg(long)]
        pem: bool,
    },
    /// Revoke a certificate (RFC 5280 reason names: keyCompromise, cACompromise, affiliationChanged,
    /// superseded, cessationOfOperation, privilegeWithdrawn, aACompromise, unspecified).
    /// Without --reason: unspecified, except for CA, TSA, OCSP and audit certificates, which need one.
    Revoke {
        serial: String,
        #[arg(long)]
        reason: Option<String>,
        /// Why, for the audit log.
        #[arg(long)]
        comment: Option<String>,
    },
    /// Suspend a certificate (certificateHold; 挂失). CA, TSA, OCSP and audit certificates need --comment.
    Hold {
        serial: String,
        /// Why, for the audit log.
        #[arg(long)]
        comment: Option<String>,
    },
    /// Lift a hold (恢复): the next delta CRL carries removeFromCRL.
    Release {
        serial: String,
        #[arg(long)]
        comment: Option<String>,
    },
    /// List certificates, oldest first.
    List {
        #[arg(long)]
        profile: Option<String>,
        #[arg(long)]
        ca: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
}

#[derive(Subcommand, Debug)]
pub enum CaCmd {
    /// Print a CA's chain: its certificate first, up to the root (PEM).
    Chain {
        /// root, seal, maker, device or service.
        name: String,
        /// Write a DER PKCS#7 certs-only bundle instead of PEM.
        #[arg(long)]
        der: bool,
    },
    /// List the CA keys: each CA's issuing key, and older keys a rollover kept for CRLs and OCSP.
    List,
    /// Give an issuing CA a new key (same algorithm, key store and subject, certified by its parent).
    /// The old key stops issuing but keeps publishing CRLs and answering OCSP for what it signed.
    Rollover {
        /// seal, maker, device or service (the root is replaced by a new ceremony instead).
        name: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum TsaCmd {
    /// Verify a time-stamp reply or token (any TSA's, SM2 included). Exit 0 valid and trusted, 1
    /// invalid, 2 valid but no trusted chain (no --trust given or none fits), 3 unreadable input.
    Verify {
        /// TimeStampResp (.tsr) or TimeStampToken, DER.
        token: PathBuf,
        /// The time-stamped data, to check the message imprint.
        #[arg(long)]
        data: Option<PathBuf>,
        /// Certificates that help build the chain (PEM, several per file allowed).
        #[arg(long)]
        cert: Vec<PathBuf>,
        /// Trust anchors (PEM).
        #[arg(long)]
        trust: Vec<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub enum CrlCmd {
    /// Publish new CRLs now (deltas unless --full): for a CA name, every key of it that serves
    /// status and every partition; for a key label (`seal-g7`), that key's.
    Publish {
        /// CA name or CA key label (see `ca list`).
        ca: String,
        #[arg(long)]
        full: bool,
    },
    /// Write a CA key's current CRL (DER) to --out or standard output.
    Get {
        /// CA key label (the CA name for a key the ceremony made; see `ca list`).
        ca: String,
        #[arg(long)]
        delta: bool,
        /// CRL partition (certificates name `LABEL-pN.crl`).
        #[arg(long, default_value_t = 0)]
        part: i64,
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub enum KeysCmd {
    /// List keys in every configured key store.
    List,
    /// Generate a key pair.
    Generate(GenerateArgs),
}

#[derive(Args, Debug)]
pub struct GenerateArgs {
    /// Key name (file name / PKCS#11 label).
    #[arg(long)]
    pub name: String,
    /// p256, rsa3072, rsa4096 or sm2.
    #[arg(long, default_value = "p256")]
    pub algorithm: String,
    /// software or pkcs11:TOKEN_LABEL.
    #[arg(long, default_value = "software")]
    pub backend: String,
    /// seal (signs PDFs and GB/T 38540 seal signatures), maker (makes seals with `ses make`) or
    /// general (TLS, clients, devices: never signs documents).
    #[arg(long, default_value = "seal")]
    pub purpose: String,
}

#[derive(Subcommand, Debug)]
pub enum OperatorCmd {
    /// Create an operator. The password comes from SEALPKI_OPERATOR_PASSWORD or the first line of stdin.
    Add {
        username: String,
        /// admin, operator (issue and read) or auditor (read certificates and audit).
        #[arg(long, default_value = "operator")]
        role: String,
    },
    /// Disable an operator: it cannot log in, and its sessions end at once.
    Disable { username: String },
    /// Enable a disabled operator again.
    Enable { username: String },
}

#[derive(Subcommand, Debug)]
pub enum AuditCmd {
    /// Walk the hash chain and check every checkpoint signature; names the first broken entry.
    Verify,
}

#[derive(Subcommand, Debug)]
pub enum BenchCmd {
    /// Seal applications per second taken through review to a produced cloud seal, beside bare
    /// certificate issuance in the same run; then seal-status answers per second beside signing
    /// the credential alone. Development data only.
    Seals {
        #[arg(long, default_value_t = 200)]
        count: usize,
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
    },
    /// Workflow transitions per second: authority-certificate requests created, then submitted and
    /// approved through the workflow runner (state, history and audit in one transaction each).
    /// Development data only.
    Workflow {
        #[arg(long, default_value_t = 1000)]
        count: usize,
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
    },
    /// Logins per second through the login service (throttle, Argon2id, session, audit), beside
    /// bare Argon2id verifications in the same run. Development data only.
    Login {
        #[arg(long, default_value_t = 200)]
        count: usize,
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
    },
    /// Console page renders under concurrent browser sessions over loopback HTTP: the server's time
    /// (Server-Timing) and the client's, p50/p99, beside /healthz in the same run. Development data
    /// only.
    Pages {
        #[arg(long, default_value_t = 100)]
        sessions: usize,
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
        #[arg(long, default_value = "/home")]
        path: String,
    },
    /// The apps' signing API under load over loopback HTTP: a one-page PDF sealed visibly per
    /// request, each HMAC-signed with its own nonce; evidence and audit counted against the
    /// answers; beside the same sealing in-process. Development data only.
    Apps {
        /// Concurrent keep-alive connections (32 keeps both cores busy while the group commit
        /// waits on its fsync).
        #[arg(long, default_value_t = 32)]
        connections: usize,
        #[arg(long, default_value_t = 60.0)]
        seconds: f64,
    },
    /// HTTP load: POST a body file repeatedly to a URL (any server, e.g. an OCSP or TSA peer).
    Http {
        url: String,
        #[arg(long)]
        body: PathBuf,
        #[arg(long, default_value = "application/octet-stream")]
        content_type: String,
        #[arg(long, default_value_t = 4)]
        connections: usize,
        #[arg(long, default_value_t = 5.0)]
        seconds: f64,
    },
    /// Build and sign a CRL of N synthetic entries with a CA's key; report time and peak memory.
    Crl {
        #[arg(long, default_value_t = 1_000_000)]
        entries: usize,
        #[arg(long, default_value = "seal")]
        ca: String,
        /// Write the CRL (DER) here.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Keep it as the CA's current full CRL (default: roll back, leaving the data untouched).
        #[arg(long)]
        keep: bool,
    },
    /// PDF sealing and verification in-process: open, place a visible seal, sign (PAdES B-B), write
    /// to memory; then verify the result. Reports signatures and verifications per second.
    Pdf {
        #[arg(long = "in")]
        input: PathBuf,
        #[arg(long)]
        key_file: PathBuf,
        #[arg(long)]
        cert: PathBuf,
        /// Seal picture (PNG or JPEG); without it the signatures are invisible.
        #[arg(long)]
        image: Option<PathBuf>,
        /// Root to verify against.
        #[arg(long)]
        trust: Option<PathBuf>,
        #[arg(long, default_value_t = 1000)]
        count: usize,
    },
    /// GB/T 38540 seal signatures: sign 1 KB of data with a seal N times, then verify the result N
    /// times (maker signature and chain, listing, signature, data hash). Reports per second.
    Ses {
        /// The seal (SESeal DER) from `ses make`.
        #[arg(long)]
        seal: PathBuf,
        /// The signer's SM2 key (PKCS#8 PEM) and certificate.
        #[arg(long)]
        key_file: PathBuf,
        #[arg(long)]
        cert: PathBuf,
        /// Trust anchors and intermediates for verification (PEM).
        #[arg(long)]
        trust: Vec<PathBuf>,
        #[arg(long, default_value_t = 2000)]
        count: usize,
    },
    /// Issue certificates end to end (lint, sign, store, audit) and compare with raw signing.
    Issue {
        #[arg(long, default_value_t = 2000)]
        count: usize,
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        #[arg(long, default_value = "app-client")]
        profile: String,
    },
}

pub(crate) fn out(json: bool, value: &serde_json::Value, text: impl FnOnce() -> String) {
    let s = if json {
        format!(
            "{}\n",
            serde_json::to_string_pretty(value).unwrap_or_default()
        )
    } else {
        text()
    };
    let _ = std::io::stdout().write_all(s.as_bytes());
}

fn actor() -> String {
    crate::access::Actor::cli().name
}

fn read_input(p: &PathBuf) -> Result<Vec<u8>, AppError> {
    if p.as_os_str() == "-" {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut v)
            .map_err(|e| AppError::BadRequest(format!("stdin: {e}")))?;
        return Ok(v);
    }
    std::fs::read(p).map_err(|e| AppError::BadRequest(format!("cannot read {}: {e}", p.display())))
}

/// `sealpki openapi`: the HTTP API's document, pretty-printed.
fn print_openapi() -> Result<i32, AppError> {
    let text = serde_json::to_string_pretty(&crate::http::document())
        .map_err(|e| AppError::Internal(e.to_string()))?;
    println!("{text}");
    Ok(0)
}

/// Run a command; returns the process exit code.
pub async fn run(cli: Cli) -> Result<i32, AppError> {
    if let Command::Openapi = cli.command {
        // Made from the code alone: before any configuration is read.
        return print_openapi();
    }
    let config = Config::load(cli.config.as_deref(), cli.data.as_deref())
        .map_err(|e| AppError::BadRequest(e.to_string()))?;
    let json = cli.json;
    match cli.command {
        Command::Serve { listen } => serve(config, listen).await,
        Command::Openapi => print_openapi(),
        Command::Init { ceremony, force } => {
            let text = String::from_utf8(read_input(&ceremony)?)
                .map_err(|_| AppError::BadRequest("ceremony file is not UTF-8".into()))?;
            let app = App::open(config).await?;
            let report = crate::ca::ceremony::run(&app, &text, force, &actor()).await?;
            let admin = crate::ca::ceremony::ensure_admin(
                &app,
                std::env::var("SEALPKI_ADMIN_PASSWORD").ok(),
            )
            .await?;
            out(
                json,
                &serde_json::json!({"ceremony": report, "admin_password": admin}),
                || {
                    let mut s =
                        format!("key ceremony complete (generation {})\n", report.generation);
                    for (name, serial, fp) in &report.cas {
                        s += &format!("  CA {name:8} serial {serial}\n           sha256 {fp}\n");
                    }
                    for (purpose, serial, _) in &report.certificates {
                        s += &format!("  {purpose:12} serial {serial}\n");
                    }
                    if let Some(p) = &admin {
                        s += &format!("\nfirst administrator: admin / {p}\n(shown once; set SEALPKI_ADMIN_PASSWORD to choose it)\n");
                    }
                    s
                },
            );
            Ok(0)
        }
        Command::Cert(CertCmd::Verify(a)) => crate::cli::cert_verify::run(a, json),
        Command::Cert(c) => {
            let app = App::open(config).await?;
            cert(&app, c, json).await
        }
        Command::Ca(CaCmd::Chain { name, der }) => {
            let app = App::open(config).await?;
            let chain = app.chain(&name)?;
            if der {
                let p7 = pkcs7_certs_only(&chain).map_err(|e| AppError::Internal(e.to_string()))?;
                let _ = std::io::stdout().write_all(&p7);
            } else {
                print!("{}", chain_pem(chain.iter().map(|c| c.as_slice())));
            }
            Ok(0)
        }
        Command::Ca(CaCmd::Rollover { name }) => {
            let app = App::open(config).await?;
            let r = app.rollover(&actor(), &name).await?;
            out(json, &serde_json::json!(r), || {
                format!(
                    "CA {} rolled over: new key {} (label {}, certificate {}, sha256 {})\n\
                     old key {} keeps publishing CRLs and answering OCSP for what it issued\n",
                    r.ca, r.key, r.label, r.serial, r.sha256, r.old_label
                )
            });
            Ok(0)
        }
        Command::Ca(CaCmd::List) => {
            let app = App::open(config).await?;
            let items = app.ca_summaries();
            out(json, &serde_json::json!(items), || {
                items
                    .iter()
                    .map(|i| {
                        format!(
                            "{:8} {:12} {:8} {}  ({})\n",
                            i["name"].as_str().unwrap_or(""),
                            i["label"].as_str().unwrap_or(""),
                            if i["issuing"].as_bool().unwrap_or(false) {
                                "issuing"
                            } else {
                                "status"
                            },
                            i["subject"].as_str().unwrap_or(""),
                            i["key"].as_str().unwrap_or("")
                        )
                    })
                    .collect()
            });
            Ok(0)
        }
        Command::Keys(KeysCmd::List) => {
            let app = App::open(config).await?;
            let recorded = app.store.key_list().await?;
            let mut items = Vec::new();
            for s in app.keyring.stores() {
                for k in s.list()? {
                    let r = k.key_ref.to_string();
                    let purpose = recorded
                        .iter()
                        .find(|x| x.key_ref == r)
                        .map(|x| x.purpose.to_string());
                    items.push(serde_json::json!({"key": r, "algorithm": k.algorithm.name(), "backend": s.backend(), "purpose": purpose}));
                }
            }
            out(json, &serde_json::json!(items), || {
                items
                    .iter()
                    .map(|i| {
                        format!(
                            "{:50} {:8} {:9} {}\n",
                            i["key"].as_str().unwrap_or(""),
                            i["algorithm"].as_str().unwrap_or(""),
                            i["backend"].as_str().unwrap_or(""),
                            i["purpose"].as_str().unwrap_or("-")
                        )
                    })
                    .collect()
            });
            Ok(0)
        }
        Command::Keys(KeysCmd::Generate(g)) => {
            let app = App::open(config).await?;
            let alg: KeyAlgorithm = g
                .algorithm
                .parse()
                .map_err(|e| AppError::BadRequest(format!("{e}")))?;
            let purpose = crate::store::KeyPurpose::generated(&g.purpose).ok_or_else(|| {
                AppError::BadRequest(format!(
                    "--purpose {:?}: use {} (CA, TSA, OCSP and audit keys come from the ceremony)",
                    g.purpose,
                    crate::store::KeyPurpose::GENERATED.join(", ")
                ))
            })?;
            let store = app.keyring.store(&g.backend)?;
            let signer = store.generate(&g.name, alg)?;
            let spki = sealpki_pki::der::Encode::to_der(signer.public_key())
                .map_err(|e| AppError::Internal(e.to_string()))?;
            let mut tx = app.store.begin().await?;
            crate::store::Store::key_insert(
                &mut tx,
                &crate::store::KeyRow {
                    key_ref: signer.key_ref().to_string(),
                    algorithm: alg.name().into(),
                    backend: store.backend().into(),
                    purpose: purpose.clone(),
                    public_key: spki.as_slice().to_vec(),
                    cert_serial: None,
                    created_at: crate::store::now(),
                },
            )
            .await?;
            app.audit.append(&mut tx, &actor(), "key.generate", serde_json::json!({"key": signer.key_ref().to_string(),
                "algorithm": alg.name(), "backend": store.backend(), "purpose": purpose.to_string(), "spki_sha256": sealpki_pki::alg::sha256_hex(spki.as_slice())})).await?;
            tx.commit().await.map_err(crate::store::StoreError::from)?;
            let pem = sealpki_pki::der::pem::encode_string(
                "PUBLIC KEY",
                sealpki_pki::der::pem::LineEnding::LF,
                &spki,
            )
            .map_err(|e| AppError::Internal(e.to_string()))?;
            out(
                json,
                &serde_json::json!({"key": signer.key_ref().to_string(), "algorithm": alg.name(), "purpose": purpose.to_string(), "public_key": pem}),
                || format!("{}\n{pem}", signer.key_ref()),
            );
            Ok(0)
        }
        Command::Seals(SealsCmd::Sweep { at }) => {
            let app = App::open(config).await?;
            let now = match at {
                Some(t) => sealpki_pki::der::asn1::GeneralizedTime::from_date_time(
                    t.parse::<sealpki_pki::der::DateTime>().map_err(|e| {
                        AppError::BadRequest(format!(
                            "--at {t:?}: an RFC 3339 time such as 2027-11-20T00:00:00Z: {e}"
                        ))
                    })?,
                )
                .to_unix_duration()
                .as_secs() as i64,
                None => crate::store::now(),
            };
            let s = app.seal_expiry_sweep(now).await?;
            let g = app.app_grant_sweep(now).await?;
            // The seals' figures stay at the top level; the grants' sit beside them.
            let mut v = serde_json::json!(s);
            v["app_grants"] = serde_json::json!(g);
            out(json, &v, || {
                format!(
                    "{} reminders queued, {} seals expired, {} interrupted productions undone; \
                         app authorizations: {} effective, {} reminders, {} expired\n",
                    s.reminders,
                    s.expired,
                    s.recovered_productions,
                    g.effective,
                    g.reminders,
                    g.expired
                )
            });
            Ok(0)
        }
        Command::Audit(AuditCmd::Verify) => {
            let app = App::open(config).await?;
            let trusted = app.audit_certs().await?;
            let report = crate::audit::verify(&app.store, &trusted).await?;
            let ok = report.ok();
            out(
                json,
                &serde_json::to_value(&report).unwrap_or_default(),
                || {
                    let mut s = format!(
                        "{} entries, {} checkpoints, head {} {}\n",
                        report.entries, report.checkpoints, report.head_seq, report.head_hash
                    );
                    if let Some((seq, why)) = &report.first_broken {
                        s += &format!("BROKEN at entry {seq}: {why}\n");
                    }
                    for (seq, why) in &report.checkpoint_failures {
                        s += &format!("checkpoint at {seq} FAILED: {why}\n");
                    }
                    if ok {
                        s += "audit chain OK\n";
                    }
                    s
                },
            );
            Ok(if ok { 0 } else { 1 })
        }
        Command::Operator(OperatorCmd::Add { username, role }) => {
            let role = crate::store::Role::parse(&role).ok_or_else(|| {
                AppError::BadRequest(format!("role {role:?} (admin, operator or auditor)"))
            })?;
            let password = match std::env::var("SEALPKI_OPERATOR_PASSWORD") {
                Ok(p) if !p.is_empty() => p,
                _ => {
                    let mut line = String::new();
                    std::io::stdin()
                        .read_line(&mut line)
                        .map_err(|e| AppError::BadRequest(format!("stdin: {e}")))?;
                    line.trim_end_matches(['\r', '\n']).to_string()
                }
            };
            let app = App::open(config).await?;
            app.create_operator(&actor(), &username, &password, role)
                .await?;
            out(
                json,
                &serde_json::json!({"username": username, "role": role}),
                || format!("operator {username} ({}) created\n", role.as_str()),
            );
            Ok(0)
        }
        Command::Operator(OperatorCmd::Disable { username }) => {
            let app = App::open(config).await?;
            app.set_operator_disabled(&Actor::cli(), &username, true)
                .await?;
            out(
                json,
                &serde_json::json!({"username": username, "disabled": true}),
                || format!("operator {username} disabled; its sessions ended\n"),
            );
            Ok(0)
        }
        Command::Operator(OperatorCmd::Enable { username }) => {
            let app = App::open(config).await?;
            app.set_operator_disabled(&Actor::cli(), &username, false)
                .await?;
            out(
                json,
                &serde_json::json!({"username": username, "disabled": false}),
                || format!("operator {username} enabled\n"),
            );
            Ok(0)
        }
        Command::Ses(cmd) => crate::cli::ses::run(cmd, &config, json).await,
        Command::Pdf(cmd) => crate::cli::pdf::run(cmd, &config, json).await,
        Command::Ukey(cmd) => crate::cli::ukey::run(cmd, &config, json).await,
        Command::Tsa(TsaCmd::Verify {
            token,
            data,
            cert,
            trust,
        }) => {
            let load =
                |files: &[PathBuf]| -> Result<Vec<sealpki_pki::x509_cert::Certificate>, AppError> {
                    let mut out = Vec::new();
                    for f in files {
                        for der in sealpki_pki::pem::parse_certs(&read_input(f)?)
                            .map_err(|e| AppError::BadRequest(format!("{}: {e}", f.display())))?
                        {
                            use sealpki_pki::der::Decode;
                            out.push(sealpki_pki::x509_cert::Certificate::from_der(&der).map_err(
                                |e| AppError::BadRequest(format!("{}: {e}", f.display())),
                            )?);
                        }
                    }
                    Ok(out)
                };
            let input = read_input(&token)?;
            let data = data.as_ref().map(read_input).transpose()?;
            let (extra, anchors) = (load(&cert)?, load(&trust)?);
            match sealpki_pki::tsa::verify_token(&input, data.as_deref(), &extra, &anchors) {
                Ok(v) => {
                    let secs = v
                        .gen_time
                        .duration_since(std::time::UNIX_EPOCH)
                        .map(|d| d.as_secs())
                        .unwrap_or(0);
                    out(
                        json,
                        &serde_json::json!({"valid": true, "trusted": v.trusted, "gen_time": secs, "serial": v.serial_hex,
                        "policy": v.policy, "tsa": v.tsa_subject, "algorithm": v.scheme.name()}),
                        || {
                            format!(
                                "time stamp {} by {} ({}) at {secs}: signature valid, {}\n",
                                v.serial_hex,
                                v.tsa_subject,
                                v.scheme,
                                if v.trusted {
                                    "chain trusted"
                                } else {
                                    "INDETERMINATE: no trusted chain"
                                }
                            )
                        },
                    );
                    Ok(if v.trusted { 0 } else { 2 })
                }
                Err(sealpki_pki::tsa::TspVerifyError::Malformed(m)) => {
                    eprintln!("error: unreadable time stamp: {m}");
                    Ok(3)
                }
                Err(sealpki_pki::tsa::TspVerifyError::Untrusted(why)) => {
                    eprintln!("INDETERMINATE: {why}");
                    Ok(2)
                }
                Err(e) => {
                    out(
                        json,
                        &serde_json::json!({"valid": false, "reason": e.to_string()}),
                        || format!("INVALID: {e}\n"),
                    );
                    Ok(1)
                }
            }
        }
        Command::Crl(c) => {
            let app = App::open(config).await?;
            match c {
                CrlCmd::Publish { ca, full } => {
                    let keys: Vec<_> = app
                        .ca_keys()
                        .into_iter()
                        .filter(|k| k.label == ca || k.name() == ca)
                        .collect();
                    if keys.is_empty() {
                        app.ca_key(&ca)?;
                    }
                    let mut items = Vec::new();
                    for k in keys {
                        for part in app.crl_parts(&k.label).await? {
                            let row = app.publish_crl(&k.label, part, full).await?;
                            items.push(serde_json::json!({"ca": k.name(), "label": k.label, "part": part,
                                "number": row.number, "kind": row.kind, "next_update": row.next_update}));
                        }
                    }
                    out(json, &serde_json::json!(items), || {
                        items
                            .iter()
                            .map(|i| {
                                format!(
                                    "{} CRL {} of CA key {} (partition {}) published\n",
                                    i["kind"].as_str().unwrap_or(""),
                                    i["number"],
                                    i["label"].as_str().unwrap_or(""),
                                    i["part"]
                                )
                            })
                            .collect()
                    });
                }
                CrlCmd::Get {
                    ca,
                    delta,
                    part,
                    out: file,
                } => {
                    app.ca_key(&ca)?;
                    if !app.crl_parts(&ca).await?.contains(&part) {
                        return Err(AppError::NotFound(format!(
                            "CA key {ca} has no CRL partition {part}"
                        )));
                    }
                    let der = app.current_crl(&ca, part, delta).await?;
                    match file {
                        Some(f) => std::fs::write(&f, der).map_err(|e| {
                            AppError::BadRequest(format!("cannot write {}: {e}", f.display()))
                        })?,
                        None => {
                            let _ = std::io::stdout().write_all(&der);
                        }
                    }
                }
            }
            Ok(0)
        }
        Command::Bench(BenchCmd::Http {
            url,
            body,
            content_type,
            connections,
            seconds,
        }) => {
            let body = read_input(&body)?;
            let report = tokio::task::spawn_blocking(move || {
                crate::cli::bench::http_load(&url, &body, &content_type, connections, seconds)
            })
            .await
            .map_err(|e| AppError::Internal(e.to_string()))??;
            out(json, &report, || {
                format!("{}: {:.0} responses/s ({} in {}s over {} connections, {} opened), p50 {:.2} ms, p99 {:.2} ms\n",
                    report["url"].as_str().unwrap_or(""), report["per_second"].as_f64().unwrap_or(0.0), report["responses"],
                    report["seconds"], report["connections"], report["connections_opened"], report["p50_ms"].as_f64().unwrap_or(0.0),
                    report["p99_ms"].as_f64().unwrap_or(0.0))
            });
            Ok(0)
        }
        Command::Bench(BenchCmd::Crl {
            entries,
            ca,
            out: file,
            keep,
        }) => {
            let app = App::open(config).await?;
            crate::cli::bench::crl(&app, &ca, entries, file, keep, json).await
        }
        Command::Bench(BenchCmd::Pdf {
            input,
            key_file,
            cert,
            image,
            trust,
            count,
        }) => crate::cli::bench::pdf(
            &input,
            &key_file,
            &cert,
            image.as_deref(),
            trust.as_deref(),
            count,
            json,
        ),
        Command::Bench(BenchCmd::Ses {
            seal,
            key_file,
            cert,
            trust,
            count,
        }) => crate::cli::bench::ses(&seal, &key_file, &cert, &trust, count, json),
        Command::Bench(BenchCmd::Login { count, concurrency }) => {
            let app = App::open(config).await?;
            crate::cli::bench::login(&app, count, concurrency, json).await
        }
        Command::Bench(BenchCmd::Pages {
            sessions,
            seconds,
            path,
        }) => {
            let app = App::open(config).await?;
            crate::cli::bench::pages(app, sessions, seconds, path, json).await
        }
        Command::Bench(BenchCmd::Apps {
            connections,
            seconds,
        }) => {
            let app = App::open(config).await?;
            crate::cli::bench_apps::apps(&app, connections, seconds, json).await
        }
        Command::Bench(BenchCmd::Seals { count, concurrency }) => {
            let app = App::open(config).await?;
            crate::cli::bench::seals(&app, count, concurrency, json).await
        }
        Command::Bench(BenchCmd::Workflow { count, concurrency }) => {
            let app = App::open(config).await?;
            crate::cli::bench::workflow(&app, count, concurrency, json).await
        }
        Command::Bench(BenchCmd::Issue {
            count,
            concurrency,
            profile,
        }) => {
            let app = App::open(config).await?;
            crate::cli::bench::issue(&app, count, concurrency, &profile, json).await
        }
    }
}

async fn cert(app: &Arc<App>, c: CertCmd, json: bool) -> Result<i32, AppError> {
    match c {
        // Needs no data directory: answered before the store is opened.
        CertCmd::Verify(a) => crate::cli::cert_verify::run(a, json),
        CertCmd::Issue {
            profile,
            csr,
            key,
            subject,
            dns,
            out: out_file,
            ca,
            validity_days,
        } => {
            let mut req = match (csr, key, subject) {
                (Some(csr), _, _) => CertRequest::from_csr(VerifiedCsr::parse(&read_input(&csr)?)?),
                (None, Some(key), Some(subject)) => {
                    app.request_for_stored_key(&key, &subject, &dns).await?
                }
                _ => {
                    return Err(AppError::BadRequest(
                        "give --csr, or --key with --subject".into(),
                    ))
                }
            };
            if let Some(d) = validity_days {
                req = req.with_validity_days(d);
            }
            let issued = app.issue(&actor(), &profile, req, ca.as_deref()).await?;
            let pem = cert_pem(&issued.der);
            match &out_file {
                Some(f) => std::fs::write(f, &pem).map_err(|e| {
                    AppError::BadRequest(format!("cannot write {}: {e}", f.display()))
                })?,
                None if !json => print!("{pem}"),
                None => {}
            }
            if json {
                out(
                    true,
                    &serde_json::json!({"serial": issued.serial, "ca": issued.ca, "profile": issued.profile,
                    "sha256": issued.fingerprint, "certificate": pem}),
                    String::new,
                );
            } else if out_file.is_some() {
                eprintln!(
                    "issued serial {} ({}, CA {})",
                    issued.serial, issued.profile, issued.ca
                );
            }
            Ok(0)
        }
        CertCmd::Revoke {
            serial,
            reason,
            comment,
        } => {
            let serial = crate::http::normalise_serial(&serial)?;
            let reason: Option<sealpki_pki::revocation::Reason> = reason
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(AppError::BadRequest)?;
            app.revoke(&Actor::cli(), &serial, reason, comment.as_deref())
                .await?;
            eprintln!(
                "certificate {serial} revoked ({})",
                reason
                    .unwrap_or(sealpki_pki::revocation::Reason::Unspecified)
                    .name()
            );
            Ok(0)
        }
        CertCmd::Hold { serial, comment } => {
            let serial = crate::http::normalise_serial(&serial)?;
            app.revoke(
                &Actor::cli(),
                &serial,
                Some(sealpki_pki::revocation::Reason::CertificateHold),
                comment.as_deref(),
            )
            .await?;
            eprintln!("certificate {serial} on hold");
            Ok(0)
        }
        CertCmd::Release { serial, comment } => {
            let serial = crate::http::normalise_serial(&serial)?;
            app.release(&Actor::cli(), &serial, comment.as_deref())
                .await?;
            eprintln!("certificate {serial} released");
            Ok(0)
        }
        CertCmd::Show { serial, pem } => {
            let serial = crate::http::normalise_serial(&serial)?;
            let row = app.store.cert_get(&serial).await?.ok_or_else(|| {
                AppError::NotFound(format!("no certificate with serial {serial}"))
            })?;
            let pem_text = row.der.as_deref().map(cert_pem);
            if pem {
                print!(
                    "{}",
                    pem_text.clone().ok_or_else(|| AppError::NotFound(format!(
                        "certificate {serial} is pending, not issued"
                    )))?
                );
                return Ok(0);
            }
            let mut v = serde_json::to_value(&row).unwrap_or_default();
            v["certificate"] = serde_json::json!(pem_text);
            out(json, &v, || {
                format!("serial      {}\nsubject     {}\nprofile     {}\nca          {}\nstate       {:?}\nnot before  {}\nnot after   {}\nsha256      {}\n{}",
                    row.serial, row.subject, row.profile, row.ca, row.state, row.not_before, row.not_after,
                    row.fingerprint.clone().unwrap_or_default(), pem_text.clone().unwrap_or_default())
            });
            Ok(0)
        }
        CertCmd::List { profile, ca, limit } => {
            let rows = app
                .store
                .cert_list(&crate::store::CertFilter {
                    ca,
                    profile,
                    limit,
                    state: None,
                    ..Default::default()
                })
                .await?;
            out(
                json,
                &serde_json::to_value(&rows).unwrap_or_default(),
                || {
                    rows.iter()
                        .map(|r| {
                            format!(
                                "{} {:?} {:24} {}\n",
                                r.serial, r.state, r.profile, r.subject
                            )
                        })
                        .collect()
                },
            );
            Ok(0)
        }
    }
}

async fn serve(config: Config, listen: Option<std::net::SocketAddr>) -> Result<i32, AppError> {
    let mut config = config;
    if let Some(l) = listen {
        config.server.listen = l;
    }
    let development = config.development;
    let app = App::open(config.clone()).await?;
    if !app.is_initialised() {
        if !development {
            return Err(AppError::Unavailable(
                "no CA hierarchy: run `sealpki --config FILE init --ceremony CEREMONY.toml` first"
                    .into(),
            ));
        }
        eprintln!("\n========================================================================");
        eprintln!(
            " DEVELOPMENT MODE: creating a development CA hierarchy in {}",
            config.data_dir.display()
        );
        eprintln!(" Software keys under a generated passphrase. NOT FOR PRODUCTION USE.");
        eprintln!("========================================================================\n");
        crate::ca::ceremony::run(
            &app,
            crate::ca::ceremony::DEV_CEREMONY,
            false,
            "system:dev-start",
        )
        .await?;
    }
    if let Some(p) =
        crate::ca::ceremony::ensure_admin(&app, std::env::var("SEALPKI_ADMIN_PASSWORD").ok())
            .await?
    {
        eprintln!("first administrator: admin / {p}   (shown once)");
    }
    if development {
        eprintln!(
            "WARNING: development mode (no --config): data in {}, not for production",
            config.data_dir.display()
        );
    }
    // CRLs: make sure each CA has current ones, then keep them fresh.
    if let Err(e) = app.refresh_crls().await {
        tracing::error!(error = %e, "CRL refresh");
    }
    let sweeper = app.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(
            sweeper.config.seals.expiry_check_seconds.max(1),
        ));
        loop {
            tick.tick().await;
            if let Err(e) = sweeper.seal_expiry_sweep(crate::store::now()).await {
                tracing::error!(error = %e, "seal expiry sweep");
            }
            if let Err(e) = sweeper.app_grant_sweep(crate::store::now()).await {
                tracing::error!(error = %e, "app authorization sweep");
            }
        }
    });
    let sweeper = app.clone();
    tokio::spawn(async move {
        // Nonces of signed app requests, once past their window; day-old Idempotency-Keys.
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            tick.tick().await;
            if let Err(e) = sweeper.app_sweep_nonces().await {
                tracing::error!(error = %e, "app nonce sweep");
            }
            // Idempotency-Keys of the signing API are answered for a day.
            if let Err(e) = sweeper
                .store
                .app_idempotency_sweep(crate::store::now() - 86_400)
                .await
            {
                tracing::error!(error = %e, "app idempotency sweep");
            }
        }
    });
    let refresher = app.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(
            refresher.config.crl.refresh_seconds.max(1),
        ));
        loop {
            tick.tick().await;
            if let Err(e) = refresher.refresh_crls().await {
                tracing::error!(error = %e, "CRL refresh");
            }
        }
    });
    use crate::config::ClientAuth;
    let client_auth = match (config.server.client_auth, &config.server.tls_cert) {
        (ClientAuth::Off, _) => None,
        (_, None) => {
            return Err(AppError::BadRequest(
                "server.client_auth needs TLS (server.tls_cert and tls_key)".into(),
            ))
        }
        (mode, Some(_)) => {
            Some(crate::http::mtls::verifier(&app, mode == ClientAuth::Required).await?)
        }
    };
    if let Some(v) = client_auth.clone() {
        // Swap in a verifier with fresh CRLs whenever the revocation log moves.
        let app = app.clone();
        tokio::spawn(async move {
            let mut seen = app.store.revocation_log_head(None).await.unwrap_or(0);
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(
                app.config.crl.refresh_seconds.max(1),
            ));
            loop {
                tick.tick().await;
                match crate::http::mtls::refresh(&app, &v, seen).await {
                    Ok(head) => seen = head,
                    Err(e) => tracing::error!(error = %e, "client verifier refresh"),
                }
            }
        });
    }
    let tls = match (&config.server.tls_cert, &config.server.tls_key) {
        (Some(c), Some(k)) => Some(
            crate::http::tls_config(c, k, client_auth)
                .map_err(|e| AppError::BadRequest(format!("TLS: {e:#}")))?,
        ),
        (None, None) => None,
        _ => {
            return Err(AppError::BadRequest(
                "TLS needs both server.tls_cert and server.tls_key".into(),
            ))
        }
    };
    crate::http::serve(app.clone(), config.server.listen, tls)
        .await
        .map_err(|e| AppError::Unavailable(format!("{e:#}")))?;
    app.store.close().await;
    Ok(0)
}
