//! The online seal status check (国办发〔2025〕33号: a verifier asks the issuing platform about the
//! seal at signing time): the seal certificate's platform — the origin of its OCSP URL — is asked
//! `GET /api/v1/seal-status?serial=…`, and only its signed answer counts: a seal-status credential
//! whose signer chains to the verifier's anchors with the seal-status EKU, naming the seal's code.
//! The JSON around it is not trusted.

use base64::Engine;
use sealpki_pki::credential::{self, Kind, VerifyOptions};
use sealpki_pki::der::Decode;
use sealpki_pki::pdf::verify as pdfverify;
use sealpki_pki::report::{Check, CheckState};
use sealpki_pki::ses;
use sealpki_pki::x509_cert::Certificate;

/// The origin (`scheme://host[:port]`) of a URL.
fn origin(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))?;
    let host_end = rest.find('/').unwrap_or(rest.len());
    Some(&url[..url.len() - rest.len() + host_end])
}

/// A platform's answer: the report's check, and the seal's state when a trusted answer gave one
/// (`active`, `lost`, `revoked`, `expired`, `superseded`, `pending-receipt`) — for front ends that
/// show it in the reader's language.
pub struct Answer {
    pub check: Check,
    pub state: Option<String>,
}

/// Ask the platform about the seal whose certificate is `cert_der` and whose code is `code`.
pub fn check(cert_der: &[u8], code: &str, anchors: &[Certificate]) -> Check {
    ask(cert_der, code, anchors).check
}

/// `check`, with the seal's state kept apart.
pub fn ask(cert_der: &[u8], code: &str, anchors: &[Certificate]) -> Answer {
    let unknown = |d: String| Answer {
        check: Check {
            name: "seal-status",
            state: CheckState::Unknown,
            detail: d,
        },
        state: None,
    };
    let Ok(cert) = Certificate::from_der(cert_der) else {
        return unknown("the seal certificate does not parse".into());
    };
    let serial = sealpki_pki::issue::serial_hex(&cert.tbs_certificate.serial_number);
    let Some(base) = super::ltv::ocsp_urls(&cert)
        .iter()
        .find_map(|u| origin(u).map(str::to_string))
    else {
        return unknown("the seal certificate names no platform (no OCSP URL)".into());
    };
    let url = format!("{base}/api/v1/seal-status?serial={serial}");
    let body = match crate::tsaclient::fetch(&url, None) {
        Ok(b) => b,
        Err(e) => return unknown(format!("the seal status could not be fetched: {e}")),
    };
    let cose = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["credential"].as_str().map(str::to_string))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok());
    let Some(cose) = cose else {
        return unknown(format!("{url} gave no signed seal status"));
    };
    let report = credential::verify(
        &cose,
        anchors,
        std::time::SystemTime::now(),
        &VerifyOptions::expect(Kind::SealStatus),
    );
    let claims = match report.into_claims() {
        Ok(c) => c,
        Err(e) => {
            return unknown(format!(
                "the platform's seal status answer is not trusted: {e}"
            ))
        }
    };
    let Some(st) = claims.seal_status() else {
        return unknown("the platform's answer is not a seal status".into());
    };
    if st.seal_code != code {
        return Answer {
            check: Check {
                name: "seal-status",
                state: CheckState::Fail,
                detail: format!(
                    "the platform's answer is about seal {}, not {code}",
                    st.seal_code
                ),
            },
            state: None,
        };
    }
    let state = st.state.name();
    Answer {
        check: Check {
            name: "seal-status",
            state: if state == "active" {
                CheckState::Pass
            } else {
                CheckState::Fail
            },
            detail: format!("the issuing platform ({base}) says seal {code} is {state}"),
        },
        state: Some(state.to_string()),
    }
}

/// The seal code a seal certificate names — its subject serialNumber, 13 digits (how
/// `seals::produce` certifies seals) —, or None for any other certificate.
pub fn seal_code_of(cert: &Certificate) -> Option<String> {
    sealpki_pki::name::first(&cert.tbs_certificate.subject, "serialNumber")
        .filter(|c| c.len() == 13 && c.bytes().all(|b| b.is_ascii_digit()))
}

/// The online seal status of every PDF signature made with a seal certificate: the check added to
/// the signature's report; a trusted answer that the seal is lost, revoked or expired makes the
/// signature (and so the document) invalid, no trusted answer is a warning. Blocking (it fetches).
/// Gives the answers by signature index.
pub fn check_pdf(report: &mut pdfverify::Report, anchors: &[Certificate]) -> Vec<(usize, Answer)> {
    use sealpki_pki::der::Encode;
    use sealpki_pki::report::Verdict;
    let mut answers = Vec::new();
    for (i, sig) in report.signatures.iter_mut().enumerate() {
        let Some(cert) = &sig.signer_cert else {
            continue;
        };
        let Some(code) = seal_code_of(cert) else {
            continue;
        };
        let Ok(der) = cert.to_der() else { continue };
        let a = ask(&der, &code, anchors);
        match a.check.state {
            CheckState::Fail => {
                sig.verdict = Verdict::Invalid;
                sig.reasons.push(a.check.detail.clone());
                report
                    .reasons
                    .push(format!("{}: {}", sig.field, a.check.detail));
            }
            CheckState::Unknown => sig.warnings.push(a.check.detail.clone()),
            CheckState::Pass => {}
        }
        sig.checks.push(a.check.clone());
        answers.push((i, a));
    }
    // The document's verdict as `pdf::verify` derives it from its signatures'.
    if report
        .signatures
        .iter()
        .any(|s| s.verdict == Verdict::Invalid)
    {
        report.verdict = Verdict::Invalid;
    }
    answers
}

/// The same for a GB/T 38540 seal or seal signature: the signer's certificate (else the seal's
/// first listed one) asked about the seal's code.
pub fn check_ses(
    report: &mut ses::verify::Report,
    decoded: &ses::Decoded,
    anchors: &[Certificate],
) -> Option<Answer> {
    use sealpki_pki::report::Verdict;
    let (seal, signer) = match decoded {
        ses::Decoded::Seal(s, _) => (&**s, None),
        ses::Decoded::Signature(s, _) => (&s.seal, Some(&s.signer_cert)),
    };
    let listed = match &seal.info.certs {
        ses::CertList::Certs(c) => c.first(),
        ses::CertList::Digests(_) => None,
    };
    let cert = signer.or(listed)?;
    let a = ask(cert, &seal.info.es_id, anchors);
    match a.check.state {
        CheckState::Fail => {
            report.verdict = Verdict::Invalid;
            report.reasons.push(a.check.detail.clone());
        }
        // A platform that keeps no seal status (another vendor's, or a seal made outside its
        // records) leaves the verdict to the certificates' own revocation: said, not decided.
        CheckState::Unknown => report.warnings.push(a.check.detail.clone()),
        CheckState::Pass => {}
    }
    report.checks.push(a.check.clone());
    Some(a)
}

#[cfg(test)]
mod tests {
    use super::origin;

    #[test]
    fn origins() {
        assert_eq!(
            origin("http://127.0.0.1:8080/ocsp/seal"),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(
            origin("https://pki.example.cn"),
            Some("https://pki.example.cn")
        );
        assert_eq!(origin("ftp://x"), None);
    }
}
