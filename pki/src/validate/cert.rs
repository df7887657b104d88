//! A certificate as the path validator sees it: the DER as received, its signed part, and every
//! extension decoded once — with what is wrong with the certificate on its own (malformed or
//! duplicate extensions, unknown critical ones, RFC 5280 §4 musts) kept as findings.

use const_oid::db::rfc5280 as ids;
use const_oid::ObjectIdentifier as Oid;
use der::{Decode, Encode};
use x509_cert::ext::pkix::constraints::name::GeneralSubtree;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages,
    NameConstraints, SubjectAltName, SubjectKeyIdentifier,
};
use x509_cert::Certificate;

/// Extensions this validator understands (others, when critical, make the certificate unusable).
const KNOWN: &[Oid] = &[
    ids::ID_CE_BASIC_CONSTRAINTS,
    ids::ID_CE_KEY_USAGE,
    ids::ID_CE_EXT_KEY_USAGE,
    ids::ID_CE_SUBJECT_KEY_IDENTIFIER,
    ids::ID_CE_AUTHORITY_KEY_IDENTIFIER,
    ids::ID_CE_SUBJECT_ALT_NAME,
    ids::ID_CE_NAME_CONSTRAINTS,
    ids::ID_CE_CERTIFICATE_POLICIES,
    ids::ID_CE_CRL_DISTRIBUTION_POINTS,
    ids::ID_PE_AUTHORITY_INFO_ACCESS,
];

/// Extensions whose criticality RFC 5280 fixes: AKI, SKI, AIA and CDP-style data are never critical.
const NEVER_CRITICAL: &[(Oid, &str)] = &[
    (
        ids::ID_CE_AUTHORITY_KEY_IDENTIFIER,
        "authorityKeyIdentifier",
    ),
    (ids::ID_CE_SUBJECT_KEY_IDENTIFIER, "subjectKeyIdentifier"),
    (ids::ID_PE_AUTHORITY_INFO_ACCESS, "authorityInfoAccess"),
];

/// The OCSP no-check extension (RFC 6960 §4.2.2.2.1): known, carries no constraint.
pub const OCSP_NOCHECK: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.48.1.5");
/// QC statements (ETSI EN 319 412-5), carried by our seal certificates; informational here.
const QC_STATEMENTS: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.1.3");
const FRESHEST_CRL: Oid = Oid::new_unwrap("2.5.29.46");

/// One side of a nameConstraints extension.
pub type Subtrees = Option<Vec<GeneralSubtree>>;

pub struct Cert {
    pub cert: Certificate,
    pub der: Vec<u8>,
    /// The signed part as received.
    pub tbs: Vec<u8>,
    pub subject: String,
    pub bc: Option<BasicConstraints>,
    pub bc_critical: bool,
    pub ku: Option<KeyUsage>,
    pub eku: Option<Vec<Oid>>,
    pub eku_critical: bool,
    pub ski: Option<Vec<u8>>,
    pub aki: Option<Vec<u8>>,
    pub has_aki: bool,
    pub san: Vec<GeneralName>,
    pub has_san: bool,
    /// nameConstraints: (permitted, excluded) subtrees.
    pub nc: Option<(Subtrees, Subtrees)>,
    pub nc_critical: bool,
    /// What is wrong with this certificate whatever its place in a path.
    pub problems: Vec<String>,
    /// What is wrong with it when it acts as a CA (issues another certificate of the path).
    pub ca_problems: Vec<String>,
    /// What is wrong with it unless it is the trust anchor (what its issuer should have done).
    pub issued_problems: Vec<String>,
}

impl Cert {
    /// From DER as received (the signature is then checked over exactly these bytes).
    pub fn from_der(der_bytes: &[u8]) -> Result<Self, String> {
        let cert =
            Certificate::from_der(der_bytes).map_err(|e| format!("not a certificate: {e}"))?;
        let tbs = super::sig::first_element(der_bytes)
            .ok_or("the certificate's signed part cannot be found")?
            .to_vec();
        Ok(Self::build(cert, der_bytes.to_vec(), tbs))
    }

    /// From a decoded certificate (re-encoded: x509-cert decodes strict DER, so this is its DER).
    pub fn from_cert(cert: &Certificate) -> Result<Self, String> {
        let der = cert.to_der().map_err(|e| e.to_string())?;
        let tbs = super::sig::first_element(&der)
            .ok_or("the certificate's signed part cannot be found")?
            .to_vec();
        Ok(Self::build(cert.clone(), der, tbs))
    }

    fn build(cert: Certificate, der: Vec<u8>, tbs: Vec<u8>) -> Self {
        let t = &cert.tbs_certificate;
        let mut c = Cert {
            subject: crate::name::display(&t.subject),
            cert: cert.clone(),
            der,
            tbs,
            bc: None,
            bc_critical: false,
            ku: None,
            eku: None,
            eku_critical: false,
            ski: None,
            aki: None,
            has_aki: false,
            san: Vec::new(),
            has_san: false,
            nc: None,
            nc_critical: false,
            problems: Vec::new(),
            ca_problems: Vec::new(),
            issued_problems: Vec::new(),
        };
        let exts = t.extensions.as_deref().unwrap_or_default();
        if t.version != x509_cert::certificate::Version::V3 && !exts.is_empty() {
            c.problems
                .push("extensions in a certificate that is not version 3".into());
        }
        if cert.signature_algorithm != t.signature {
            c.problems.push(
                "the signature algorithm inside the certificate differs from the outer one".into(),
            );
        }
        let serial = t.serial_number.as_bytes();
        // Serial rules bind issuers; a trust anchor is taken as configured (old roots have serial 0).
        if serial.first().is_some_and(|b| b & 0x80 != 0) {
            c.issued_problems
                .push("the serial number is negative".into());
        } else if serial.iter().all(|b| *b == 0) {
            c.issued_problems
                .push("the serial number is zero (RFC 5280: a positive integer)".into());
        }
        if serial.len() > 21 || (serial.len() == 21 && serial[0] != 0) {
            c.issued_problems
                .push("the serial number is longer than 20 octets".into());
        }
        let mut seen: Vec<Oid> = Vec::new();
        for e in exts {
            if seen.contains(&e.extn_id) {
                c.problems
                    .push(format!("extension {} appears twice", e.extn_id));
                continue;
            }
            seen.push(e.extn_id);
            let v = e.extn_value.as_bytes();
            let bad = |what: &str, err: der::Error| format!("malformed {what} extension: {err}");
            match e.extn_id {
                ids::ID_CE_BASIC_CONSTRAINTS => match BasicConstraints::from_der(v) {
                    Ok(b) => {
                        c.bc = Some(b);
                        c.bc_critical = e.critical;
                    }
                    Err(err) => c.problems.push(bad("basicConstraints", err)),
                },
                ids::ID_CE_KEY_USAGE => match KeyUsage::from_der(v) {
                    Ok(k) if k.0.bits() == 0 => c.problems.push("keyUsage with no bit set".into()),
                    Ok(k) => c.ku = Some(k),
                    Err(err) => c.problems.push(bad("keyUsage", err)),
                },
                ids::ID_CE_EXT_KEY_USAGE => match ExtendedKeyUsage::from_der(v) {
                    Ok(k) if k.0.is_empty() => {
                        c.problems.push("extendedKeyUsage with no purpose".into())
                    }
                    Ok(k) => {
                        c.eku = Some(k.0);
                        c.eku_critical = e.critical;
                    }
                    Err(err) => c.problems.push(bad("extendedKeyUsage", err)),
                },
                ids::ID_CE_SUBJECT_KEY_IDENTIFIER => match SubjectKeyIdentifier::from_der(v) {
                    Ok(k) => c.ski = Some(k.0.as_bytes().to_vec()),
                    Err(err) => c.problems.push(bad("subjectKeyIdentifier", err)),
                },
                ids::ID_CE_AUTHORITY_KEY_IDENTIFIER => {
                    c.has_aki = true;
                    match AuthorityKeyIdentifier::from_der(v) {
                        Ok(k) => {
                            if k.authority_cert_issuer.is_some()
                                != k.authority_cert_serial_number.is_some()
                            {
                                c.problems.push(
                                    "authorityKeyIdentifier has an issuer without a serial number, or the reverse".into(),
                                );
                            }
                            c.aki = k.key_identifier.map(|k| k.as_bytes().to_vec());
                        }
                        Err(err) => c.problems.push(bad("authorityKeyIdentifier", err)),
                    }
                }
                ids::ID_CE_SUBJECT_ALT_NAME => {
                    c.has_san = true;
                    match SubjectAltName::from_der(v) {
                        Ok(s) if s.0.is_empty() => {
                            c.problems.push("subjectAltName with no name".into())
                        }
                        Ok(s) => {
                            for g in &s.0 {
                                if let Some(why) = super::names::malformed(g) {
                                    c.problems.push(format!("subjectAltName: {why}"));
                                }
                            }
                            c.san = s.0
                        }
                        Err(err) => c.problems.push(bad("subjectAltName", err)),
                    }
                }
                ids::ID_CE_NAME_CONSTRAINTS => match NameConstraints::from_der(v) {
                    Ok(n) => {
                        if n.permitted_subtrees.is_none() && n.excluded_subtrees.is_none() {
                            c.ca_problems.push(
                                "nameConstraints with neither permitted nor excluded subtrees"
                                    .into(),
                            );
                        }
                        for s in n
                            .permitted_subtrees
                            .iter()
                            .chain(n.excluded_subtrees.iter())
                            .flatten()
                        {
                            if s.minimum != 0 || s.maximum.is_some() {
                                c.ca_problems.push(
                                    "nameConstraints with a minimum or maximum (RFC 5280: must be 0 and absent)".into(),
                                );
                            }
                            if let Some(why) = super::names::malformed_constraint(&s.base) {
                                c.ca_problems.push(format!("nameConstraints: {why}"));
                            }
                            if let GeneralName::IpAddress(o) = &s.base {
                                if !matches!(o.as_bytes().len(), 8 | 32) {
                                    c.ca_problems.push(
                                        "nameConstraints IP range is not address and mask".into(),
                                    );
                                }
                            }
                        }
                        c.nc_critical = e.critical;
                        c.nc = Some((n.permitted_subtrees, n.excluded_subtrees));
                    }
                    Err(err) => c.problems.push(bad("nameConstraints", err)),
                },
                ids::ID_CE_POLICY_CONSTRAINTS if !e.critical => c
                    .problems
                    .push("policyConstraints is not critical (RFC 5280 §4.2.1.11)".into()),
                other => {
                    if e.critical
                        && !KNOWN.contains(&other)
                        && other != OCSP_NOCHECK
                        && other != QC_STATEMENTS
                        && other != FRESHEST_CRL
                    {
                        c.problems
                            .push(format!("unknown critical extension {other}"));
                    }
                }
            }
            if e.critical {
                if let Some((_, name)) = NEVER_CRITICAL.iter().find(|(o, _)| *o == e.extn_id) {
                    c.problems.push(format!("{name} is marked critical"));
                }
            }
        }
        if t.subject.0.is_empty()
            && c.has_san
            && !exts
                .iter()
                .any(|e| e.extn_id == ids::ID_CE_SUBJECT_ALT_NAME && e.critical)
        {
            c.problems
                .push("empty subject with a non-critical subjectAltName".into());
        }
        if t.subject.0.is_empty() && !c.has_san {
            c.problems
                .push("empty subject and no subjectAltName".into());
        }
        // As a CA (RFC 5280 §4.2.1.9, §4.2.1.3, §4.2.1.2).
        match &c.bc {
            None => c.ca_problems.push("no basicConstraints: not a CA".into()),
            Some(b) if !b.ca => c
                .ca_problems
                .push("basicConstraints cA is false: not a CA".into()),
            Some(_) if !c.bc_critical => c
                .ca_problems
                .push("basicConstraints is not critical on a CA certificate".into()),
            _ => {}
        }
        if c.bc
            .as_ref()
            .is_some_and(|b| !b.ca && b.path_len_constraint.is_some())
        {
            c.problems.push("pathLenConstraint without cA".into());
        }
        match &c.ku {
            // RFC 5280 §6.1.4 (n): checked when present; its absence leaves the key unrestricted.
            Some(k) if !k.0.contains(KeyUsages::KeyCertSign) => c
                .ca_problems
                .push("keyUsage lacks keyCertSign: may not sign certificates".into()),
            _ => {}
        }
        if c.ku.is_some_and(|k| k.0.contains(KeyUsages::KeyCertSign))
            && !c.bc.as_ref().is_some_and(|b| b.ca)
        {
            c.problems
                .push("keyUsage keyCertSign without basicConstraints cA".into());
        }
        if c.ski.is_none() {
            c.ca_problems
                .push("no subjectKeyIdentifier on a CA certificate".into());
        }
        if t.subject.0.is_empty() {
            c.ca_problems
                .push("a CA certificate with an empty subject".into());
        }
        if c.nc.is_some() && !c.is_ca() {
            c.problems
                .push("nameConstraints in a certificate that is not a CA".into());
        }
        if c.nc.is_some() && !c.nc_critical {
            c.ca_problems.push("nameConstraints is not critical".into());
        }
        c
    }

    pub fn self_issued(&self) -> bool {
        super::names::names_match(
            &self.cert.tbs_certificate.subject,
            &self.cert.tbs_certificate.issuer,
        )
    }

    pub fn is_ca(&self) -> bool {
        self.bc.as_ref().is_some_and(|b| b.ca)
    }

    pub fn has_ku(&self, bit: KeyUsages) -> bool {
        self.ku.is_some_and(|k| k.0.contains(bit))
    }

    pub fn validity(&self) -> (std::time::SystemTime, std::time::SystemTime) {
        let v = &self.cert.tbs_certificate.validity;
        (v.not_before.to_system_time(), v.not_after.to_system_time())
    }
}
