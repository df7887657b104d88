//! `sealpki cert verify`: RFC 5280 path validation of a certificate against given trust anchors,
//! intermediates and CRLs, with no data directory; exit 0 valid, 1 invalid, 2 indeterminate,
//! 3 unreadable input or usage.

use std::path::PathBuf;

use sealpki_pki::validate;

use crate::error::AppError;

#[derive(clap::Args, Debug)]
pub struct VerifyArgs {
    /// The certificate to validate (PEM or DER; the first certificate of a PEM file).
    pub cert: PathBuf,
    /// Trust anchors (PEM, several per file, or DER; repeatable).
    #[arg(long)]
    pub trust: Vec<PathBuf>,
    /// Untrusted intermediates to build the path with (repeatable).
    #[arg(long)]
    pub untrusted: Vec<PathBuf>,
    /// CRLs (PEM or DER; repeatable): given any, every certificate of the path must be covered.
    #[arg(long)]
    pub crl: Vec<PathBuf>,
    /// Evaluation time, RFC 3339 (default: now).
    #[arg(long)]
    pub at: Option<String>,
    /// What the key is relied on for: any, document-signing, time-stamping, ocsp-signing,
    /// crl-signing, server-auth, client-auth.
    #[arg(long, default_value = "any")]
    pub purpose: String,
    /// An extended key usage (dotted OID) the certificate must allow (repeatable).
    #[arg(long)]
    pub eku: Vec<String>,
    /// A key usage bit the certificate must have, by RFC 5280 name (repeatable).
    #[arg(long)]
    pub key_usage: Vec<String>,
    /// At most this many certificates between the certificate and the trust anchor.
    #[arg(long, default_value_t = 8)]
    pub max_depth: usize,
    /// A DNS name or IP address the certificate's subjectAltName must name.
    #[arg(long)]
    pub hostname: Option<String>,
    /// A mailbox the certificate's subjectAltName must name (repeatable: all of them).
    #[arg(long)]
    pub email: Vec<String>,
}

/// Read every certificate of the files (PEM or DER).
fn certs(files: &[PathBuf]) -> Result<Vec<Vec<u8>>, AppError> {
    let mut out = Vec::new();
    for f in files {
        let bytes = read(f)?;
        out.extend(
            sealpki_pki::pem::parse_certs(&bytes)
                .map_err(|e| AppError::BadRequest(format!("{}: {e}", f.display())))?,
        );
    }
    Ok(out)
}

fn crls(files: &[PathBuf]) -> Result<Vec<Vec<u8>>, AppError> {
    let mut out = Vec::new();
    for f in files {
        let bytes = read(f)?;
        match std::str::from_utf8(&bytes) {
            Ok(t) if t.contains("-----BEGIN X509 CRL-----") => {
                // Every CRL block of the file.
                let end = "-----END X509 CRL-----";
                for block in t.split_inclusive(end).filter(|b| b.contains(end)) {
                    let start = block.find("-----BEGIN").unwrap_or(0);
                    let (_, der) =
                        sealpki_pki::der::pem::decode_vec(block[start..].trim().as_bytes())
                            .map_err(|e| AppError::BadRequest(format!("{}: {e}", f.display())))?;
                    out.push(der);
                }
            }
            _ => out.push(bytes),
        }
    }
    Ok(out)
}

fn read(f: &PathBuf) -> Result<Vec<u8>, AppError> {
    std::fs::read(f).map_err(|e| AppError::BadRequest(format!("cannot read {}: {e}", f.display())))
}

/// Run the command; returns the exit code.
pub fn run(a: VerifyArgs, json: bool) -> Result<i32, AppError> {
    let leaf = certs(std::slice::from_ref(&a.cert))?;
    let opts = validate::Options::parse(validate::OptionsText {
        at: a.at,
        purpose: Some(a.purpose),
        ekus: a.eku,
        key_usage: a.key_usage,
        max_depth: Some(a.max_depth),
        hostname: a.hostname,
        email: a.email,
    })
    .map_err(AppError::BadRequest)?;
    let (trust, untrusted, crls) = (certs(&a.trust)?, certs(&a.untrusted)?, crls(&a.crl)?);
    let req = validate::Request {
        leaf: &leaf[0],
        trust: &trust,
        untrusted: &untrusted,
        crls: &crls,
        ocsp: &[],
        options: opts,
    };
    let outcome = validate::check(&req).map_err(|e| AppError::BadRequest(e.to_string()))?;
    crate::cli::out(
        json,
        &serde_json::to_value(&outcome).unwrap_or_default(),
        || outcome.to_text(),
    );
    Ok(outcome.verdict.exit_code())
}
