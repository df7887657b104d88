//! The online seal status check (国办发〔2025〕33号: a verifier asks the issuing platform about the
//! seal at signing time): the seal certificate's platform — the origin of its OCSP URL — is asked
//! `GET /api/v1/seal-status?serial=…`, and only its signed answer counts: a seal-status credential
//! whose signer chains to the verifier's anchors with the seal-status EKU, naming the seal's code.
//! The JSON around it is not trusted.

use base64::Engine;
use sealpki_pki::credential::{self, Kind, VerifyOptions};
use sealpki_pki::der::Decode;
use sealpki_pki::report::{Check, CheckState};
use sealpki_pki::x509_cert::Certificate;

/// The origin (`scheme://host[:port]`) of a URL.
fn origin(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))?;
    let host_end = rest.find('/').unwrap_or(rest.len());
    Some(&url[..url.len() - rest.len() + host_end])
}

/// Ask the platform about the seal whose certificate is `cert_der` and whose code is `code`.
pub fn check(cert_der: &[u8], code: &str, anchors: &[Certificate]) -> Check {
    let unknown = |d: String| Check {
        name: "seal-status",
        state: CheckState::Unknown,
        detail: d,
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
        return Check {
            name: "seal-status",
            state: CheckState::Fail,
            detail: format!(
                "the platform's answer is about seal {}, not {code}",
                st.seal_code
            ),
        };
    }
    let state = st.state.name();
    if state == "active" {
        Check {
            name: "seal-status",
            state: CheckState::Pass,
            detail: format!("the issuing platform ({base}) says seal {code} is active"),
        }
    } else {
        Check {
            name: "seal-status",
            state: CheckState::Fail,
            detail: format!("the issuing platform ({base}) says seal {code} is {state}"),
        }
    }
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
