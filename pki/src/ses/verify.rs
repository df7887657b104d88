//! Verifying seals and seal signatures: each check is pass, fail or unknown, and the verdict follows —
//! invalid if any check fails, indeterminate if any is unknown (no trusted chain, no data given),
//! valid otherwise.

use std::time::SystemTime;

use der::Decode;
use x509_cert::Certificate;

use super::{CertList, Decoded, Seal, SesSignature};
use crate::alg::{verify as verify_sig, SignatureScheme};
use crate::report::{rfc3339, unix, Checks};
pub use crate::report::{Check, CheckState, Verdict};

#[derive(Clone, Debug, serde::Serialize)]
pub struct Report {
    pub kind: &'static str,
    pub version: &'static str,
    pub verdict: Verdict,
    /// The checks that failed or stayed unknown, in words.
    pub reasons: Vec<String>,
    pub warnings: Vec<String>,
    pub checks: Vec<Check>,
    pub seal: serde_json::Value,
    pub signer: Option<String>,
    pub signed_at: Option<u64>,
}

/// What to verify against.
pub struct VerifyInput<'a> {
    /// The signed data (for a signature); without it the data check stays unknown.
    pub data: Option<&'a [u8]>,
    /// Trust anchors and helping intermediates; chains must end at a self-signed one of these.
    pub trust: &'a [Certificate],
    /// The time a bare seal's validity window is checked at.
    pub now: SystemTime,
    /// Revocation data for the maker's and signer's paths (OCSP answers, CRLs); None: not checked.
    pub revocation: Option<crate::validate::revocation::Data<'a>>,
}

fn fail(d: impl Into<String>) -> (CheckState, String) {
    (CheckState::Fail, d.into())
}

fn scheme_of(oid: &const_oid::ObjectIdentifier) -> Result<SignatureScheme, String> {
    SignatureScheme::from_algorithm_identifier(&spki::AlgorithmIdentifierOwned {
        oid: *oid,
        parameters: None,
    })
    .map_err(|e| format!("signature algorithm {oid}: {e}"))
}

fn signature_check(
    cert: &Certificate,
    alg: &const_oid::ObjectIdentifier,
    msg: &[u8],
    sig: &[u8],
    who: &str,
) -> Result<String, (CheckState, String)> {
    let scheme = scheme_of(alg).map_err(fail)?;
    verify_sig(
        &cert.tbs_certificate.subject_public_key_info,
        scheme,
        msg,
        sig,
    )
    .map(|_| format!("{who} signature ({scheme}) verifies"))
    .map_err(|e| fail(format!("{who} signature does not verify: {e}")))
}

/// The path from `cert` to a self-signed certificate of `trust` (the others help as intermediates),
/// validated for document signing at `at`; the path's certificates when it validates.
pub fn chain_check(
    cert: &Certificate,
    trust: &[Certificate],
    at: SystemTime,
) -> Result<String, (CheckState, String)> {
    path_check(cert, trust, at).0
}

fn path_check(
    cert: &Certificate,
    trust: &[Certificate],
    at: SystemTime,
) -> (Result<String, (CheckState, String)>, Vec<Certificate>) {
    let (anchors, pool): (Vec<Certificate>, Vec<Certificate>) = trust
        .iter()
        .cloned()
        .partition(|c| c.tbs_certificate.issuer == c.tbs_certificate.subject);
    let opts = crate::validate::Options::new(crate::validate::Purpose::DocumentSigning, at);
    let p = crate::validate::validate_certs(cert, &pool, &anchors, &opts);
    match p.verdict {
        Verdict::Valid => (Ok(p.path_text()), p.certs),
        Verdict::Invalid => (Err(fail(p.summary())), Vec::new()),
        Verdict::Indeterminate => (Err((CheckState::Unknown, p.summary())), Vec::new()),
    }
}

/// The chain check, then — when revocation data was given — the path's revocation.
fn chain_and_status(
    checks: &mut Checks,
    names: (&'static str, &'static str),
    cert: &Certificate,
    input: &VerifyInput<'_>,
    at: SystemTime,
) {
    let (r, path) = path_check(cert, input.trust, at);
    let ok = r.is_ok();
    checks.result(names.0, r);
    if let (true, Some(data)) = (ok, &input.revocation) {
        let rep = crate::validate::revocation::check_path(&path, data, at);
        checks.add(names.1, rep.state, rep.detail);
    }
}

fn timestamp_check(
    token: &[u8],
    over: &[u8],
    trust: &[Certificate],
) -> Result<String, (CheckState, String)> {
    match crate::tsa::verify_token(token, Some(over), &[], trust) {
        Ok(v) if v.trusted || trust.is_empty() => Ok(format!(
            "timestamp {} by {} over the signature value{}",
            rfc3339(v.gen_time),
            v.tsa_subject,
            if v.trusted {
                ""
            } else {
                " (TSA chain not checked)"
            }
        )),
        Ok(v) => Err((
            CheckState::Unknown,
            format!(
                "timestamp by {} does not chain to a trust anchor",
                v.tsa_subject
            ),
        )),
        Err(e @ crate::tsa::TspVerifyError::Untrusted(_)) => {
            Err((CheckState::Unknown, format!("timestamp: {e}")))
        }
        Err(e) => Err(fail(format!("timestamp: {e}"))),
    }
}

fn seal_summary(seal: &Seal) -> serde_json::Value {
    let i = &seal.info;
    serde_json::json!({
        "esID": i.es_id,
        "name": i.name,
        "type": i.seal_type,
        "vendor": i.vendor_id,
        "header_version": i.header_version,
        "created": unix(i.create_date),
        "valid_start": unix(i.valid_start),
        "valid_end": unix(i.valid_end),
        "picture": {"type": i.picture.kind, "bytes": i.picture.data.len(), "width_mm": i.picture.width_mm, "height_mm": i.picture.height_mm},
        "cert_list": match &i.certs {
            CertList::Certs(c) => serde_json::json!({"certificates": c.len()}),
            CertList::Digests(d) => serde_json::json!({"digests": d.iter().map(|(t, v)| format!("{t}:{}", hex::encode(v))).collect::<Vec<_>>()}),
        },
        "maker": Certificate::from_der(&seal.maker_cert).map(|c| crate::name::display(&c.tbs_certificate.subject)).ok(),
        "timestamp": seal.timestamp.is_some(),
    })
}

/// The seal's own checks: maker signature and chain at createDate, timestamp, validity at `at`.
fn check_seal(seal: &Seal, input: &VerifyInput<'_>, at: SystemTime, checks: &mut Checks) {
    let trust = input.trust;
    match Certificate::from_der(&seal.maker_cert) {
        Err(e) => checks.add(
            "maker-certificate",
            CheckState::Fail,
            format!("maker certificate unreadable: {e}"),
        ),
        Ok(maker) => {
            checks.result(
                "maker-signature",
                signature_check(
                    &maker,
                    &seal.sig_alg,
                    &seal.info_der,
                    &seal.signature,
                    "maker",
                ),
            );
            chain_and_status(
                checks,
                ("maker-chain", "maker-revocation"),
                &maker,
                input,
                seal.info.create_date,
            );
        }
    }
    if let Some(ts) = &seal.timestamp {
        checks.result(
            "seal-timestamp",
            timestamp_check(ts, &seal.signature, trust),
        );
    }
    let i = &seal.info;
    let window = if at < i.valid_start {
        Err(fail(format!(
            "the seal is not yet valid at {} (valid from {})",
            rfc3339(at),
            rfc3339(i.valid_start)
        )))
    } else if at > i.valid_end {
        Err(fail(format!(
            "the seal expired at {} (checked at {})",
            rfc3339(i.valid_end),
            rfc3339(at)
        )))
    } else {
        Ok(format!(
            "valid {} to {}",
            rfc3339(i.valid_start),
            rfc3339(i.valid_end)
        ))
    };
    checks.result("seal-validity", window);
}

fn listed(seal: &Seal, signer_der: &[u8]) -> Result<String, (CheckState, String)> {
    match &seal.info.certs {
        CertList::Certs(certs) => {
            if certs.iter().any(|c| c == signer_der) {
                Ok("signer certificate is in the seal's certificate list".into())
            } else {
                Err(fail(
                    "signer certificate is not in the seal's certificate list",
                ))
            }
        }
        CertList::Digests(ds) => {
            let hit = ds
                .iter()
                .any(|(alg, v)| super::digest_by_name(alg, signer_der).is_some_and(|d| &d == v));
            if hit {
                Ok("signer certificate matches a digest in the seal's list".into())
            } else {
                Err(fail(
                    "signer certificate matches no digest in the seal's list",
                ))
            }
        }
    }
}

fn check_signature(
    s: &SesSignature,
    input: &VerifyInput<'_>,
    checks: &mut Checks,
) -> Option<String> {
    check_seal(&s.seal, input, s.time, checks);
    checks.result("signer-listed", listed(&s.seal, &s.signer_cert));
    let signer = match Certificate::from_der(&s.signer_cert) {
        Err(e) => {
            checks.add(
                "signer-certificate",
                CheckState::Fail,
                format!("signer certificate unreadable: {e}"),
            );
            None
        }
        Ok(c) => {
            checks.result(
                "signature",
                signature_check(&c, &s.sig_alg, &s.tbs_der, &s.signature, "signer"),
            );
            chain_and_status(
                checks,
                ("signer-chain", "signer-revocation"),
                &c,
                input,
                s.time,
            );
            Some(crate::name::display(&c.tbs_certificate.subject))
        }
    };
    match input.data {
        Some(d) if super::sm3(d) == s.data_hash => checks.add(
            "data-hash",
            CheckState::Pass,
            "SM3 of the data matches dataHash",
        ),
        Some(_) => checks.add(
            "data-hash",
            CheckState::Fail,
            "the data does not match the signed hash (changed data)",
        ),
        None => checks.add(
            "data-hash",
            CheckState::Unknown,
            "no data given to check dataHash against",
        ),
    }
    if let Some(ts) = &s.timestamp {
        checks.result("timestamp", timestamp_check(ts, &s.signature, input.trust));
    }
    signer
}

/// Verify a decoded seal or seal signature.
pub fn verify(decoded: &Decoded, input: &VerifyInput<'_>) -> Report {
    let mut checks = Checks(Vec::new());
    let (kind, version, warnings, seal, signer, signed_at) = match decoded {
        Decoded::Seal(seal, w) => {
            check_seal(seal, input, input.now, &mut checks);
            ("seal", seal.version, w, &**seal, None, None)
        }
        Decoded::Signature(s, w) => {
            let signer = check_signature(s, input, &mut checks);
            (
                "signature",
                s.version,
                w,
                &s.seal,
                signer,
                Some(unix(s.time)),
            )
        }
    };
    let verdict = if checks.0.iter().any(|c| c.state == CheckState::Fail) {
        Verdict::Invalid
    } else if checks.0.iter().any(|c| c.state == CheckState::Unknown) {
        Verdict::Indeterminate
    } else {
        Verdict::Valid
    };
    Report {
        kind,
        version: version.name(),
        verdict,
        reasons: checks
            .0
            .iter()
            .filter(|c| c.state != CheckState::Pass)
            .map(|c| format!("{}: {}", c.name, c.detail))
            .collect(),
        warnings: warnings.clone(),
        checks: checks.0,
        seal: seal_summary(seal),
        signer,
        signed_at,
    }
}

impl Report {
    /// The readable form `ses verify` prints.
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "{} {} — {}\n",
            self.kind,
            self.version,
            match self.verdict {
                Verdict::Valid => "VALID",
                Verdict::Invalid => "INVALID",
                Verdict::Indeterminate => "INDETERMINATE",
            }
        );
        out += &format!(
            "seal        {} ({})\n",
            self.seal["name"].as_str().unwrap_or(""),
            self.seal["esID"].as_str().unwrap_or("")
        );
        if let Some(s) = &self.signer {
            out += &format!("signer      {s}\n");
        }
        for c in &self.checks {
            let mark = match c.state {
                CheckState::Pass => "ok  ",
                CheckState::Fail => "FAIL",
                CheckState::Unknown => "??  ",
            };
            out += &format!("  {mark} {:18} {}\n", c.name, c.detail);
        }
        for w in &self.warnings {
            out += &format!("  warning: {w}\n");
        }
        out
    }
}
