//! Revocation of the certificates on a validated path, from data handed in (a PDF's DSS, `--crl`
//! files, answers a caller fetched): OCSP responses signed by the issuer or by a responder it
//! delegated to (validated for OCSPSigning), CRLs signed by the issuer with cRLSign and in scope,
//! each counted only when it speaks for the evaluation time, and carrying our nonce where we sent one.

use std::time::{Duration, SystemTime};

use const_oid::db::rfc5280 as ids;
use der::Decode;
use x509_cert::crl::CertificateList;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::KeyUsages;
use x509_cert::Certificate;
use x509_ocsp::{BasicOcspResponse, CertStatus, OcspResponse, OcspResponseStatus};

use super::{Cert, Options, Purpose};
use crate::report::{rfc3339, CheckState};
use crate::revocation::IssuerHashes;

/// Clock skew tolerated between the responder or CRL issuer and the evaluation time.
const SKEW: Duration = Duration::from_secs(300);

/// What one OCSP response or CRL says about one certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    Good,
    Revoked { at: SystemTime, reason: String },
    Unknown,
}

/// A checked OCSP answer for one certificate.
#[derive(Clone, Debug)]
pub struct OcspAnswer {
    pub status: Status,
    pub this_update: SystemTime,
    pub next_update: Option<SystemTime>,
    pub produced_at: SystemTime,
    /// Who signed it: the issuer or a delegated responder.
    pub signer: String,
}

/// Check an OCSP response about `cert` (issued by `issuer`): structure, the answer for this
/// certificate, the signature (issuer, or a delegated responder the issuer certified for
/// OCSPSigning, valid when the response was produced), and the nonce when `nonce` is given (the
/// request's nonce extension value). Freshness is the caller's: see [`speaks_for`].
pub fn check_ocsp(
    der_bytes: &[u8],
    cert: &Certificate,
    issuer: &Cert,
    nonce: Option<&[u8]>,
) -> Result<OcspAnswer, String> {
    let resp =
        OcspResponse::from_der(der_bytes).map_err(|e| format!("not an OCSP response: {e}"))?;
    if resp.response_status != OcspResponseStatus::Successful {
        return Err(format!(
            "the OCSP responder answered {:?}",
            resp.response_status
        ));
    }
    let bytes = resp
        .response_bytes
        .ok_or("a successful OCSP response without a body")?;
    let raw = bytes.response.as_bytes();
    let basic =
        BasicOcspResponse::from_der(raw).map_err(|e| format!("not a basic OCSP response: {e}"))?;
    let tbs = super::sig::first_element(raw).ok_or("the OCSP response data cannot be found")?;
    let sig = basic
        .signature
        .as_bytes()
        .ok_or("the OCSP signature is not whole octets")?;
    let data = &basic.tbs_response_data;
    let produced_at = data.produced_at.0.to_system_time();
    let issuer_key = &issuer.cert.tbs_certificate.subject_public_key_info;
    let signer = if super::sig::verify(issuer_key, &basic.signature_algorithm, tbs, sig).is_ok() {
        issuer.subject.clone()
    } else {
        // A delegated responder: issued directly by the issuer, OCSPSigning, valid at producedAt.
        let mut why = Vec::new();
        let mut found = None;
        for r in basic.certs.iter().flatten() {
            let Ok(rc) = Cert::from_cert(r) else { continue };
            if super::sig::verify(
                &rc.cert.tbs_certificate.subject_public_key_info,
                &basic.signature_algorithm,
                tbs,
                sig,
            )
            .is_err()
            {
                continue;
            }
            let mut o = Options::new(Purpose::OcspSigning, produced_at);
            o.max_depth = 0;
            let p = super::validate(&rc, &[], std::slice::from_ref(issuer), &o);
            if p.is_valid() {
                found = Some(rc.subject.clone());
                break;
            }
            why.push(format!("responder {}: {}", rc.subject, p.summary()));
        }
        match found {
            Some(s) => s,
            None if why.is_empty() => return Err(
                "the OCSP response is signed neither by the issuer nor by a responder it certified"
                    .into(),
            ),
            None => return Err(why.join("; ")),
        }
    };
    if let Some(want) = nonce {
        let got = data
            .response_extensions
            .iter()
            .flatten()
            .find(|e| e.extn_id == const_oid::db::rfc6960::ID_PKIX_OCSP_NONCE);
        match got {
            Some(e) if e.extn_value.as_bytes() == want => {}
            Some(_) => return Err("the OCSP response carries another nonce than ours".into()),
            None => return Err("the OCSP response carries no nonce (we sent one)".into()),
        }
    }
    let hashes = IssuerHashes::of(&issuer.cert).map_err(|e| e.to_string())?;
    let single = data
        .responses
        .iter()
        .find(|r| {
            r.cert_id.serial_number == cert.tbs_certificate.serial_number
                && hashes.matches(&r.cert_id)
        })
        .ok_or("the OCSP response does not answer for this certificate")?;
    let status = match &single.cert_status {
        CertStatus::Good(_) => Status::Good,
        CertStatus::Revoked(r) => Status::Revoked {
            at: r.revocation_time.0.to_system_time(),
            reason: r
                .revocation_reason
                .map(|c| format!("{c:?}"))
                .unwrap_or_else(|| "unspecified".into()),
        },
        CertStatus::Unknown(_) => Status::Unknown,
    };
    Ok(OcspAnswer {
        status,
        this_update: single.this_update.0.to_system_time(),
        next_update: single.next_update.map(|t| t.0.to_system_time()),
        produced_at,
        signer,
    })
}

/// Whether status information made at `this_update`, valid until `next_update`, speaks for `at`:
/// it is current then (thisUpdate ≤ at ≤ nextUpdate) or made after it (a later answer covers an
/// earlier time: revocations carry their own time). Without nextUpdate only a later answer counts.
pub fn speaks_for(
    this_update: SystemTime,
    next_update: Option<SystemTime>,
    at: SystemTime,
) -> bool {
    if this_update + SKEW >= at {
        return true;
    }
    next_update.is_some_and(|n| n + SKEW >= at)
}

/// A CRL as received.
pub struct Crl {
    pub list: CertificateList,
    tbs: Vec<u8>,
}

impl Crl {
    pub fn from_der(der_bytes: &[u8]) -> Result<Self, String> {
        let list = CertificateList::from_der(der_bytes).map_err(|e| format!("not a CRL: {e}"))?;
        let tbs = super::sig::first_element(der_bytes)
            .ok_or("the CRL's signed part cannot be found")?
            .to_vec();
        Ok(Crl { list, tbs })
    }

    fn this_update(&self) -> SystemTime {
        self.list.tbs_cert_list.this_update.to_system_time()
    }

    fn next_update(&self) -> Option<SystemTime> {
        self.list
            .tbs_cert_list
            .next_update
            .map(|t| t.to_system_time())
    }

    /// Why this CRL cannot speak for `cert` issued by `issuer` (None: it can).
    fn unusable_for(&self, cert: &Cert, issuer: &Cert) -> Option<String> {
        let t = &self.list.tbs_cert_list;
        if !super::names::names_match(&t.issuer, &cert.cert.tbs_certificate.issuer) {
            return Some("another issuer".into());
        }
        if issuer.ku.is_some() && !issuer.has_ku(KeyUsages::CRLSign) {
            return Some(format!("{} may not sign CRLs (no cRLSign)", issuer.subject));
        }
        let sig = self.list.signature.as_bytes()?;
        if let Err(e) = super::sig::verify(
            &issuer.cert.tbs_certificate.subject_public_key_info,
            &self.list.signature_algorithm,
            &self.tbs,
            sig,
        ) {
            return Some(format!("signature by {}: {e}", issuer.subject));
        }
        let exts = t.crl_extensions.as_deref().unwrap_or_default();
        // RFC 5280 §5.2.3: every CRL carries a non-critical cRLNumber.
        match exts.iter().find(|e| e.extn_id == ids::ID_CE_CRL_NUMBER) {
            None => return Some("no cRLNumber".into()),
            Some(e) if e.critical => return Some("cRLNumber is critical".into()),
            _ => {}
        }
        for e in exts {
            match e.extn_id {
                ids::ID_CE_DELTA_CRL_INDICATOR => return Some("a delta CRL".into()),
                ids::ID_CE_ISSUING_DISTRIBUTION_POINT => {
                    if let Some(why) = idp_out_of_scope(e.extn_value.as_bytes(), cert) {
                        return Some(why);
                    }
                }
                ids::ID_CE_CRL_NUMBER | ids::ID_CE_AUTHORITY_KEY_IDENTIFIER => {}
                other if e.critical => {
                    return Some(format!("unknown critical CRL extension {other}"))
                }
                _ => {}
            }
        }
        None
    }
}

/// An issuingDistributionPoint that does not cover `cert` (partitioned CRLs, CA-only or user-only).
fn idp_out_of_scope(v: &[u8], cert: &Cert) -> Option<String> {
    let idp = match x509_cert::ext::pkix::crl::IssuingDistributionPoint::from_der(v) {
        Ok(i) => i,
        Err(e) => return Some(format!("malformed issuingDistributionPoint: {e}")),
    };
    if idp.only_contains_ca_certs && !cert.is_ca() {
        return Some("covers CA certificates only".into());
    }
    if idp.only_contains_user_certs && cert.is_ca() {
        return Some("covers end-entity certificates only".into());
    }
    if idp.only_some_reasons.is_some() || idp.indirect_crl || idp.only_contains_attribute_certs {
        return Some("a partial, indirect or attribute CRL".into());
    }
    if let Some(DistributionPointName::FullName(names)) = &idp.distribution_point {
        let cdps = cdp_uris(&cert.cert);
        let covered = names.iter().any(|n| match n {
            GeneralName::UniformResourceIdentifier(u) => cdps.iter().any(|c| c == u.as_str()),
            _ => false,
        });
        if !covered {
            return Some("another partition (its issuingDistributionPoint is not in the certificate's CRL distribution points)".into());
        }
    }
    None
}

fn cdp_uris(c: &Certificate) -> Vec<String> {
    let Some(e) = c
        .tbs_certificate
        .extensions
        .iter()
        .flatten()
        .find(|e| e.extn_id == ids::ID_CE_CRL_DISTRIBUTION_POINTS)
    else {
        return Vec::new();
    };
    let Ok(points) = x509_cert::ext::pkix::CrlDistributionPoints::from_der(e.extn_value.as_bytes())
    else {
        return Vec::new();
    };
    points
        .0
        .iter()
        .filter_map(|p| match &p.distribution_point {
            Some(DistributionPointName::FullName(n)) => Some(n),
            _ => None,
        })
        .flatten()
        .filter_map(|g| match g {
            GeneralName::UniformResourceIdentifier(u) => Some(u.to_string()),
            _ => None,
        })
        .collect()
}

/// Revocation data for a path.
#[derive(Default)]
pub struct Data<'a> {
    pub crls: &'a [Vec<u8>],
    pub ocsp: &'a [Vec<u8>],
}

/// The revocation state of every certificate below the anchor.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Report {
    /// Pass: none revoked and every one established; Fail: one revoked at the time; Unknown: some
    /// not established.
    pub state: CheckState,
    pub detail: String,
    pub certificates: Vec<CertReport>,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct CertReport {
    pub subject: String,
    pub state: CheckState,
    pub detail: String,
}

/// Check every certificate of `path` (leaf first, the anchor last and not checked) at `at`.
pub fn check_path(path: &[Certificate], data: &Data<'_>, at: SystemTime) -> Report {
    if data.crls.is_empty() && data.ocsp.is_empty() {
        // Nothing to look at: every certificate below the anchor stays not established.
        let certificates: Vec<CertReport> = path
            .iter()
            .take(path.len().saturating_sub(1))
            .map(|c| {
                let subject = crate::name::display(&c.tbs_certificate.subject);
                CertReport {
                    detail: format!("no OCSP answer or CRL for {subject}"),
                    subject,
                    state: CheckState::Unknown,
                }
            })
            .collect();
        let (state, detail) = if certificates.is_empty() {
            (
                CheckState::Pass,
                "no certificate below the trust anchor".to_string(),
            )
        } else {
            let d: Vec<_> = certificates.iter().map(|c| c.detail.clone()).collect();
            (CheckState::Unknown, d.join("; "))
        };
        return Report {
            state,
            detail,
            certificates,
        };
    }
    let certs: Vec<Cert> = path
        .iter()
        .filter_map(|c| Cert::from_cert(c).ok())
        .collect();
    let crls: Vec<Crl> = data
        .crls
        .iter()
        .filter_map(|d| Crl::from_der(d).ok())
        .collect();
    let mut out = Vec::new();
    for pair in certs.windows(2) {
        let (cert, issuer) = (&pair[0], &pair[1]);
        out.push(cert_status(cert, issuer, &crls, data.ocsp, at));
    }
    let revoked: Vec<_> = out.iter().filter(|c| c.state == CheckState::Fail).collect();
    let unknown: Vec<_> = out
        .iter()
        .filter(|c| c.state == CheckState::Unknown)
        .collect();
    let (state, detail) = if !revoked.is_empty() {
        (
            CheckState::Fail,
            revoked
                .iter()
                .map(|c| c.detail.clone())
                .collect::<Vec<_>>()
                .join("; "),
        )
    } else if !unknown.is_empty() {
        (
            CheckState::Unknown,
            unknown
                .iter()
                .map(|c| c.detail.clone())
                .collect::<Vec<_>>()
                .join("; "),
        )
    } else {
        (
            CheckState::Pass,
            format!(
                "{} certificate(s) not revoked at {}",
                out.len(),
                rfc3339(at)
            ),
        )
    };
    Report {
        state,
        detail,
        certificates: out,
    }
}

fn cert_status(
    cert: &Cert,
    issuer: &Cert,
    crls: &[Crl],
    ocsp: &[Vec<u8>],
    at: SystemTime,
) -> CertReport {
    let s = &cert.subject;
    let done = |state, detail: String| CertReport {
        subject: s.clone(),
        state,
        detail,
    };
    let revoked = |when: SystemTime, reason: &str, src: &str| {
        done(
            CheckState::Fail,
            format!("{s} was revoked at {} ({reason}; {src})", rfc3339(when)),
        )
    };
    let mut why = Vec::new();
    let mut good = None;
    for d in ocsp {
        match check_ocsp(d, &cert.cert, issuer, None) {
            Ok(a) if !speaks_for(a.this_update, a.next_update, at) => why.push(format!(
                "a stale OCSP answer (thisUpdate {}, nextUpdate {})",
                rfc3339(a.this_update),
                a.next_update.map(rfc3339).unwrap_or_else(|| "none".into())
            )),
            Ok(a) => match a.status {
                Status::Revoked { at: when, reason } if when <= at + SKEW => {
                    return revoked(when, &reason, "OCSP")
                }
                Status::Revoked { at: when, .. } => {
                    good = Some(format!(
                        "{s}: revoked only later, at {} (OCSP by {})",
                        rfc3339(when),
                        a.signer
                    ))
                }
                Status::Unknown => why.push(format!("OCSP by {} does not know it", a.signer)),
                Status::Good => good = Some(format!("{s}: good per OCSP by {}", a.signer)),
            },
            Err(e) if e == "the OCSP response does not answer for this certificate" => {}
            Err(e) => why.push(format!("an OCSP answer not counted: {e}")),
        }
    }
    for crl in crls {
        if !super::names::names_match(
            &crl.list.tbs_cert_list.issuer,
            &cert.cert.tbs_certificate.issuer,
        ) {
            continue;
        }
        if let Some(w) = crl.unusable_for(cert, issuer) {
            why.push(format!("a CRL not counted: {w}"));
            continue;
        }
        if !speaks_for(crl.this_update(), crl.next_update(), at) {
            why.push(format!(
                "a stale CRL (thisUpdate {}, nextUpdate {})",
                rfc3339(crl.this_update()),
                crl.next_update()
                    .map(rfc3339)
                    .unwrap_or_else(|| "none".into())
            ));
            continue;
        }
        let entry = crl
            .list
            .tbs_cert_list
            .revoked_certificates
            .iter()
            .flatten()
            .find(|r| r.serial_number == cert.cert.tbs_certificate.serial_number);
        match entry {
            Some(r) if r.revocation_date.to_system_time() <= at + SKEW => {
                return revoked(r.revocation_date.to_system_time(), "listed", "CRL")
            }
            Some(r) => {
                good.get_or_insert(format!(
                    "{s}: revoked only later, at {} (CRL)",
                    rfc3339(r.revocation_date.to_system_time())
                ));
            }
            None => {
                good.get_or_insert(format!("{s}: not on the CRL of {}", issuer.subject));
            }
        }
    }
    match good {
        Some(g) => done(CheckState::Pass, g),
        None if why.is_empty() => done(
            CheckState::Unknown,
            format!("no OCSP answer or CRL for {s}"),
        ),
        None => done(CheckState::Unknown, format!("{s}: {}", why.join("; "))),
    }
}

/// The nonce extension value of an OCSP request we made (to check the answer against).
pub fn request_nonce(req_der: &[u8]) -> Option<Vec<u8>> {
    let r = crate::revocation::parse_ocsp_request(req_der).ok()?;
    r.nonce.map(|e| e.extn_value.as_bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::revocation::{ocsp_request, parse_ocsp_request, Responder, Status as Answer};
    use crate::testpki::TestRoot;
    use crate::KeyAlgorithm;
    use std::time::Duration;

    const DAY: Duration = Duration::from_secs(86_400);

    /// An OCSP answer about `leaf` by `by` (key, certificate), with the times and nonce given.
    fn answer(
        root: &TestRoot,
        leaf: &Certificate,
        by: (std::sync::Arc<dyn crate::Signer>, Certificate),
        status: Answer,
        this_update: SystemTime,
        next_update: SystemTime,
        nonce: Option<x509_cert::ext::Extension>,
    ) -> Vec<u8> {
        let req = parse_ocsp_request(&ocsp_request(leaf, root.cert()).unwrap()).unwrap();
        let der = der::Encode::to_der(&by.1).unwrap();
        let r = Responder {
            cert: by.1,
            cert_der: der,
            scheme: by.0.algorithm().default_scheme(),
            signer: by.0,
        };
        r.respond(
            &[(req.ids[0].clone(), status)],
            nonce,
            this_update,
            next_update,
        )
        .unwrap()
    }

    fn state(path: &[Certificate], ocsp: Vec<u8>, at: SystemTime) -> (CheckState, String) {
        let r = check_path(
            path,
            &Data {
                crls: &[],
                ocsp: &[ocsp],
            },
            at,
        );
        (r.state, r.detail)
    }

    #[test]
    fn ocsp_answers_count_only_when_fresh_signed_by_the_right_key_and_with_our_nonce() {
        let root = TestRoot::new(KeyAlgorithm::P256, "ocsp");
        let (_, _, leaf) = root.issue("maker-production", "leaf");
        let path = [leaf.clone(), root.cert().clone()];
        let now = SystemTime::now();
        let by_root = || (root.issuer.signer().clone(), root.cert().clone());
        // Signed by the issuer, current: good.
        let good = answer(&root, &leaf, by_root(), Answer::Good, now, now + DAY, None);
        assert_eq!(state(&path, good.clone(), now).0, CheckState::Pass);
        // The same answer judged a week later, past its nextUpdate: stale, so not established.
        let (s, d) = state(&path, good, now + 7 * DAY);
        assert_eq!(s, CheckState::Unknown, "{d}");
        assert!(d.contains("stale"), "{d}");
        // Revoked an hour ago: revoked now; an answer made before the revocation time is not.
        let revoked = answer(
            &root,
            &leaf,
            by_root(),
            Answer::Revoked {
                at: now - Duration::from_secs(3600),
                reason: crate::revocation::Reason::KeyCompromise,
            },
            now,
            now + DAY,
            None,
        );
        let (s, d) = state(&path, revoked.clone(), now);
        assert_eq!(s, CheckState::Fail, "{d}");
        assert_eq!(state(&path, revoked, now - 2 * DAY).0, CheckState::Pass);
        // A delegated responder: with OCSPSigning it counts; a signing certificate without it does not.
        let (rk, _, rc) = root.issue("ocsp-responder", "responder");
        let delegated = answer(&root, &leaf, (rk, rc), Answer::Good, now, now + DAY, None);
        assert_eq!(state(&path, delegated, now).0, CheckState::Pass);
        let (ok_, _, oc) = root.issue("maker-production", "not a responder");
        let (s, d) = state(
            &path,
            answer(&root, &leaf, (ok_, oc), Answer::Good, now, now + DAY, None),
            now,
        );
        assert_eq!(s, CheckState::Unknown, "{d}");
        assert!(d.contains("OCSPSigning"), "{d}");
        // Our nonce: the answer must carry it.
        let req = ocsp_request(&leaf, root.cert()).unwrap();
        let ours = request_nonce(&req).unwrap();
        let theirs = parse_ocsp_request(&ocsp_request(&leaf, root.cert()).unwrap())
            .unwrap()
            .nonce;
        let other = answer(
            &root,
            &leaf,
            by_root(),
            Answer::Good,
            now,
            now + DAY,
            theirs,
        );
        let issuer = Cert::from_cert(root.cert()).unwrap();
        let e = check_ocsp(&other, &leaf, &issuer, Some(&ours)).unwrap_err();
        assert!(e.contains("another nonce"), "{e}");
        let none = answer(&root, &leaf, by_root(), Answer::Good, now, now + DAY, None);
        let e = check_ocsp(&none, &leaf, &issuer, Some(&ours)).unwrap_err();
        assert!(e.contains("no nonce"), "{e}");
        let echoed = answer(
            &root,
            &leaf,
            by_root(),
            Answer::Good,
            now,
            now + DAY,
            parse_ocsp_request(&req).unwrap().nonce,
        );
        assert!(check_ocsp(&echoed, &leaf, &issuer, Some(&ours)).is_ok());
    }
}
