//! Validation data for B-LT: for every certificate below the root of the signer's and the TSA's
//! chains, a fresh OCSP answer from the responder its AIA names (with our nonce), else the CRL from
//! its http:// distribution points. A hole is an error: LTV data with a hole is not LTV.

use sealpki_pki::pdf::ltv;
use sealpki_pki::x509_cert::Certificate;

use crate::error::AppError;

/// Certificates plus the CRL of each non-root certificate, fetched from its http:// distribution
/// points. A certificate whose CRL cannot be had makes B-LT fail: LTV data with a hole is not LTV.
pub fn validation_data(certs: &[Certificate]) -> Result<ltv::Validation, AppError> {
    use sealpki_pki::der::{Decode, Encode};
    let mut data = ltv::Validation::default();
    let mut fetched: Vec<String> = Vec::new();
    for c in certs {
        data.certs
            .push(c.to_der().map_err(|e| AppError::Internal(e.to_string()))?);
        if c.tbs_certificate.subject == c.tbs_certificate.issuer {
            continue;
        }
        // A fresh OCSP answer first (our responders sign one per nonce); a CRL otherwise.
        let issuer = certs.iter().find(|i| {
            i.tbs_certificate.subject == c.tbs_certificate.issuer
                && sealpki_pki::issue::verify_signed_by(c, i).is_ok()
        });
        if let Some(issuer) = issuer {
            if let Some(der) = ocsp_answer(c, issuer)? {
                data.ocsps.push(der);
                continue;
            }
        }
        let urls = crl_urls(c);
        if urls.is_empty() {
            return Err(AppError::BadRequest(format!(
                "b-lt: {} names no http CRL distribution point",
                c.tbs_certificate.subject
            )));
        }
        let mut got = false;
        let mut errors = Vec::new();
        for u in urls {
            if fetched.contains(&u) {
                got = true;
                break;
            }
            match crate::tsaclient::fetch(&u, None) {
                Ok(der) if sealpki_pki::x509_cert::crl::CertificateList::from_der(&der).is_ok() => {
                    data.crls.push(der);
                    fetched.push(u);
                    got = true;
                    break;
                }
                Ok(_) => errors.push(format!("{u}: not a CRL")),
                Err(e) => errors.push(e),
            }
        }
        if !got {
            return Err(AppError::Unavailable(format!(
                "b-lt: no CRL for {}: {}",
                c.tbs_certificate.subject,
                errors.join("; ")
            )));
        }
    }
    Ok(data)
}

/// A good, verified OCSP answer for `c` from the responder its AIA names, if there is one. A verified
/// "revoked" is an error: LTV data for a revoked certificate would only prove the signature void.
fn ocsp_answer(c: &Certificate, issuer: &Certificate) -> Result<Option<Vec<u8>>, AppError> {
    ocsp_lookup(c, issuer).transpose()
}

fn ocsp_lookup(c: &Certificate, issuer: &Certificate) -> Option<Result<Vec<u8>, AppError>> {
    use sealpki_pki::der::Decode;
    use sealpki_pki::x509_cert::ext::pkix::name::GeneralName;
    let aia = c
        .tbs_certificate
        .extensions
        .as_deref()
        .unwrap_or_default()
        .iter()
        .find(|e| e.extn_id.to_string() == "1.3.6.1.5.5.7.1.1")?;
    let aia = sealpki_pki::x509_cert::ext::pkix::AuthorityInfoAccessSyntax::from_der(
        aia.extn_value.as_bytes(),
    )
    .ok()?;
    let req = sealpki_pki::revocation::ocsp_request(c, issuer).ok()?;
    for ad in aia.0 {
        if ad.access_method.to_string() != "1.3.6.1.5.5.7.48.1" {
            continue;
        }
        let GeneralName::UniformResourceIdentifier(u) = ad.access_location else {
            continue;
        };
        let Ok(der) = crate::tsaclient::fetch(u.as_str(), Some(("application/ocsp-request", &req)))
        else {
            continue;
        };
        let nonce = sealpki_pki::validate::revocation::request_nonce(&req);
        match sealpki_pki::revocation::check_ocsp_response(&der, c, issuer, nonce.as_deref()) {
            Ok((sealpki_pki::revocation::Status::Good, _)) => return Some(Ok(der)),
            Ok((sealpki_pki::revocation::Status::Revoked { .. }, _)) => {
                return Some(Err(AppError::Policy(format!(
                    "b-lt: {} is revoked (OCSP {u})",
                    c.tbs_certificate.subject,
                    u = u.as_str()
                ))))
            }
            _ => continue,
        }
    }
    None
}

/// http:// URIs of a certificate's CRL distribution points.
fn crl_urls(c: &Certificate) -> Vec<String> {
    use sealpki_pki::der::Decode;
    use sealpki_pki::x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
    let mut out = Vec::new();
    for e in c.tbs_certificate.extensions.as_deref().unwrap_or_default() {
        if e.extn_id.to_string() != "2.5.29.31" {
            continue;
        }
        let Ok(dps) = sealpki_pki::x509_cert::ext::pkix::CrlDistributionPoints::from_der(
            e.extn_value.as_bytes(),
        ) else {
            continue;
        };
        for dp in dps.0 {
            if let Some(DistributionPointName::FullName(names)) = dp.distribution_point {
                for n in names {
                    if let GeneralName::UniformResourceIdentifier(u) = n {
                        if u.as_str().starts_with("http://") {
                            out.push(u.as_str().to_string());
                        }
                    }
                }
            }
        }
    }
    out
}
