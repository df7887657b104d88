//! What the public front ends (the HTTP API and the web console) share, defined once: the trust
//! anchors of the verifiers — PDF signatures are checked against our root, GB/T 38540 seals and
//! signatures against every certificate of our CA chains — and the reading of certificate serials.

use sealpki_pki::der::Decode;
use sealpki_pki::x509_cert::Certificate;

use crate::app::{App, CA_NAMES};
use crate::error::AppError;

/// The root's chain, for `pdf::verify`.
pub fn pdf(app: &App) -> Result<Vec<Certificate>, AppError> {
    app.chain("root")?
        .iter()
        .map(|d| Certificate::from_der(d).map_err(|e| AppError::Internal(e.to_string())))
        .collect()
}

/// Every CA certificate of every CA name, without repeats, for `ses::verify`.
pub fn ses(app: &App) -> Result<Vec<Certificate>, AppError> {
    let mut trust = Vec::new();
    for ca in CA_NAMES {
        for d in app.chain(ca).unwrap_or_default() {
            let c = Certificate::from_der(&d).map_err(|e| AppError::Internal(e.to_string()))?;
            if !trust.contains(&c) {
                trust.push(c);
            }
        }
    }
    Ok(trust)
}

/// Serials as `openssl x509 -serial` prints them; colons and case are forgiven.
pub fn normalise_serial(s: &str) -> Result<String, AppError> {
    let hex: String = s
        .chars()
        .filter(|c| *c != ':')
        .collect::<String>()
        .to_ascii_uppercase();
    let trimmed = hex.trim_start_matches('0');
    if trimmed.is_empty() || trimmed.len() > 42 || !trimmed.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AppError::BadRequest(format!(
            "{s:?} is not a hexadecimal certificate serial"
        )));
    }
    Ok(if trimmed.len() % 2 == 1 {
        format!("0{trimmed}")
    } else {
        trimmed.to_string()
    })
}
