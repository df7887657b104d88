//! Validation data for B-LT: for every certificate below the root of the signer's and the TSA's
//! chains, the CRL from its http:// distribution points and, where its AIA names a responder, a fresh
//! OCSP answer (with our nonce). A hole is an error: LTV data with a hole is not LTV.
//!
//! Both, not OCSP else CRL: pyHanko (pyhanko-certvalidator 0.33, `RevinfoManager::
//! async_retrieve_ocsps`) asks the responder of a certificate with an OCSP AIA first and, when that
//! fetch fails — every server stopped —, never looks at the OCSP answers stored in the DSS, while
//! stored CRLs are tried before any download (`validate_crl::verify_crl`). A DSS holding only the
//! OCSP answer for the signer and the TSA left them without usable revocation data offline.

use sealpki_pki::pdf::ltv;
use sealpki_pki::x509_cert::Certificate;

use crate::error::AppError;

/// Certificates plus, for each non-root certificate, the CRL from its http:// distribution points
/// and an OCSP answer where it names a responder. A certificate whose CRL cannot be had (or, naming
/// no distribution point, whose OCSP answer cannot) makes B-LT fail; so does a revoked one.
pub fn validation_data(certs: &[Certificate]) -> Result<ltv::Validation, AppError> {
    gather(certs, true)
}

/// For a verifier asked to check online: an OCSP answer, else the CRL, for each certificate; what
/// can be had, holes left for the validator to report (as not established), revoked answers kept
/// (it reports them as revoked).
pub fn revocation_data(certs: &[Certificate]) -> ltv::Validation {
    gather(certs, false).unwrap_or_default()
}

/// Revocation data for a GB/T 38540 seal or signature: the maker's and signer's certificates,
/// with `trust` to find their issuers (only certificates whose issuer's signature verifies are
/// looked up, so a structure cannot make us fetch URLs of its choosing).
pub fn ses_revocation_data(
    decoded: &sealpki_pki::ses::Decoded,
    trust: &[Certificate],
) -> ltv::Validation {
    use sealpki_pki::der::Decode;
    use sealpki_pki::ses::Decoded;
    let mut certs = trust.to_vec();
    let (seal, signer) = match decoded {
        Decoded::Seal(s, _) => (&**s, None),
        Decoded::Signature(s, _) => (&s.seal, Some(&s.signer_cert)),
    };
    for der in std::iter::once(&seal.maker_cert).chain(signer) {
        if let Ok(c) = Certificate::from_der(der) {
            certs.push(c);
        }
    }
    revocation_data(&certs)
}

fn gather(certs: &[Certificate], strict: bool) -> Result<ltv::Validation, AppError> {
    use sealpki_pki::der::{Decode, Encode};
    let mut data = ltv::Validation::default();
    let mut fetched: Vec<String> = Vec::new();
    for c in certs {
        data.certs
            .push(c.to_der().map_err(|e| AppError::Internal(e.to_string()))?);
        if c.tbs_certificate.subject == c.tbs_certificate.issuer {
            continue;
        }
        // A fresh OCSP answer (our responders sign one per nonce) and the CRL; online checks stop
        // at the answer.
        let issuer = certs.iter().find(|i| {
            i.tbs_certificate.subject == c.tbs_certificate.issuer
                && sealpki_pki::issue::verify_signed_by(c, i).is_ok()
        });
        // B-LT keeps the answer and goes on to the CRL as well (see the module comment).
        let mut answered = false;
        if let Some(issuer) = issuer {
            match ocsp_lookup(c, issuer) {
                Some((sealpki_pki::revocation::Status::Good, der, _)) if strict => {
                    data.ocsps.push(der);
                    answered = true;
                }
                Some((sealpki_pki::revocation::Status::Good, der, _)) => {
                    data.ocsps.push(der);
                    continue;
                }
                // A verified "revoked": LTV data for it would only prove the signature void.
                Some((sealpki_pki::revocation::Status::Revoked { .. }, _, url)) if strict => {
                    return Err(AppError::Policy(format!(
                        "b-lt: {} is revoked (OCSP {url})",
                        sealpki_pki::name::display(&c.tbs_certificate.subject)
                    )))
                }
                Some((sealpki_pki::revocation::Status::Revoked { .. }, der, _)) => {
                    data.ocsps.push(der);
                    continue;
                }
                _ => {}
            }
        }
        let urls = crl_urls(c);
        if urls.is_empty() {
            if !strict || answered {
                continue;
            }
            return Err(AppError::BadRequest(format!(
                "b-lt: {} names no http CRL distribution point",
                sealpki_pki::name::display(&c.tbs_certificate.subject)
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
        if !got && strict {
            return Err(AppError::Unavailable(format!(
                "b-lt: no CRL for {}: {}",
                sealpki_pki::name::display(&c.tbs_certificate.subject),
                errors.join("; ")
            )));
        }
    }
    Ok(data)
}

/// A verified OCSP answer for `c` (status, DER, responder URL) from the responder its AIA names, if
/// one answers: signed by the issuer or its delegated responder, current, with our nonce.
/// The OCSP URLs a certificate's authorityInfoAccess names.
pub(crate) fn ocsp_urls(c: &Certificate) -> Vec<String> {
    use sealpki_pki::der::Decode;
    use sealpki_pki::x509_cert::ext::pkix::name::GeneralName;
    let Some(aia) = c
        .tbs_certificate
        .extensions
        .as_deref()
        .unwrap_or_default()
        .iter()
        .find(|e| e.extn_id.to_string() == "1.3.6.1.5.5.7.1.1")
    else {
        return Vec::new();
    };
    let Ok(aia) = sealpki_pki::x509_cert::ext::pkix::AuthorityInfoAccessSyntax::from_der(
        aia.extn_value.as_bytes(),
    ) else {
        return Vec::new();
    };
    aia.0
        .into_iter()
        .filter(|ad| ad.access_method.to_string() == "1.3.6.1.5.5.7.48.1")
        .filter_map(|ad| match ad.access_location {
            GeneralName::UniformResourceIdentifier(u) => Some(u.to_string()),
            _ => None,
        })
        .collect()
}

fn ocsp_lookup(
    c: &Certificate,
    issuer: &Certificate,
) -> Option<(sealpki_pki::revocation::Status, Vec<u8>, String)> {
    let req = sealpki_pki::revocation::ocsp_request(c, issuer).ok()?;
    let nonce = sealpki_pki::validate::revocation::request_nonce(&req);
    for u in ocsp_urls(c) {
        let Ok(der) = crate::tsaclient::fetch(&u, Some(("application/ocsp-request", &req))) else {
            continue;
        };
        match sealpki_pki::revocation::check_ocsp_response(&der, c, issuer, nonce.as_deref()) {
            Ok((s @ sealpki_pki::revocation::Status::Good, _))
            | Ok((s @ sealpki_pki::revocation::Status::Revoked { .. }, _)) => {
                return Some((s, der, u))
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
