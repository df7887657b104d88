//! Certificate issuance in two phases. `Issuer::prepare` checks a request against its profile, builds
//! and lints the to-be-signed certificate and returns an `IssuanceToken`; `Issuer::issue` consumes the
//! token and signs. The token has private fields and no `Clone`, so nothing unlinted is ever signed and
//! nothing is signed twice. Between the two calls the caller records the intent (serial, TBS, audit).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use der::asn1::{BitString, GeneralizedTime, Ia5String, OctetString, UtcTime};
use der::{Decode, Encode};
use rand_core::{OsRng, RngCore};
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::ext::pkix::certpolicy::PolicyInformation;
use x509_cert::ext::pkix::crl::dp::DistributionPoint;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{
    AccessDescription, AuthorityInfoAccessSyntax, AuthorityKeyIdentifier, BasicConstraints,
    CertificatePolicies, CrlDistributionPoints, ExtendedKeyUsage, KeyUsage, KeyUsages,
    SubjectAltName, SubjectKeyIdentifier,
};
use x509_cert::ext::{AsExtension, Extension};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};
use x509_cert::{Certificate, TbsCertificate};

use crate::alg::{verify, KeyAlgorithm, SignatureScheme};
use crate::csr::VerifiedCsr;
use crate::keys::{KeyError, Signer};
use crate::lint::{lint, Finding, IssuerFacts, Severity};
use crate::profile::{eku_oid, Profile, KEY_USAGES};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IssueError {
    #[error("profile {profile} is issued by the {expected} CA, not {actual}")]
    WrongIssuer {
        profile: String,
        expected: String,
        actual: String,
    },
    #[error("{alg} keys are not allowed by profile {profile}")]
    KeyNotAllowed { alg: KeyAlgorithm, profile: String },
    #[error("subject attribute {attr} is not allowed by profile {profile}")]
    SubjectForbidden { attr: String, profile: String },
    #[error("subject attribute {attr} is required by profile {profile}")]
    SubjectMissing { attr: String, profile: String },
    #[error("validity of {requested} days exceeds the profile's {max} days")]
    ValidityTooLong { requested: u32, max: u32 },
    #[error("the issuing CA {0} has expired or would expire before the certificate")]
    IssuerExpiring(String),
    #[error("the issuing CA {0} is not yet valid")]
    IssuerNotYetValid(String),
    #[error("lint refused the certificate: {}", .0.iter().map(|f| f.to_string()).collect::<Vec<_>>().join("; "))]
    Lint(Vec<Finding>),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("the key produced a signature that does not verify")]
    SignatureCheck,
    #[error("encoding: {0}")]
    Encoding(String),
}

fn enc(e: der::Error) -> IssueError {
    IssueError::Encoding(e.to_string())
}

/// A subject and key to certify. Only made from a verified CSR or from a key we hold, so proof of
/// possession is a property of the type.
#[derive(Clone, Debug)]
pub struct CertRequest {
    subject: Name,
    public_key: SubjectPublicKeyInfoOwned,
    san: Option<SubjectAltName>,
    validity_days: Option<u32>,
}

impl CertRequest {
    pub fn from_csr(csr: VerifiedCsr) -> Self {
        CertRequest {
            subject: csr.subject().clone(),
            public_key: csr.public_key().clone(),
            san: csr.san().cloned(),
            validity_days: None,
        }
    }

    /// Certify the key of a verified request under a subject the CA's registration side chooses
    /// (the request's own subject and names are ignored: a seal holder proves possession only).
    pub fn for_verified_key(csr: &VerifiedCsr, subject: Name) -> Self {
        CertRequest {
            subject,
            public_key: csr.public_key().clone(),
            san: None,
            validity_days: None,
        }
    }

    /// Certify a key held in one of our key stores (generated there: possession is ours).
    pub fn for_own_key(signer: &dyn Signer, subject: Name) -> Self {
        CertRequest {
            subject,
            public_key: signer.public_key().clone(),
            san: None,
            validity_days: None,
        }
    }

    pub fn with_validity_days(mut self, days: u32) -> Self {
        self.validity_days = Some(days);
        self
    }

    pub fn with_dns_names(mut self, names: &[&str]) -> Result<Self, IssueError> {
        let names = names
            .iter()
            .map(|n| Ia5String::new(n).map(GeneralName::DnsName))
            .collect::<Result<Vec<_>, _>>()
            .map_err(enc)?;
        self.san = Some(SubjectAltName(names));
        Ok(self)
    }

    pub fn subject(&self) -> &Name {
        &self.subject
    }
}

/// URLs written into certificates an issuer signs.
#[derive(Clone, Debug, Default)]
pub struct IssuerUrls {
    pub crl: Option<String>,
    /// Delta CRL, written as freshestCRL.
    pub delta_crl: Option<String>,
    pub ocsp: Option<String>,
    pub ca_issuers: Option<String>,
}

/// A CA: its certificate and the key that signs for it.
#[derive(Clone)]
pub struct Issuer {
    name: String,
    certificate: Certificate,
    der: Vec<u8>,
    signer: Arc<dyn Signer>,
    scheme: SignatureScheme,
    key_id: Vec<u8>,
    urls: IssuerUrls,
}

/// A linted to-be-signed certificate, ready for exactly one signature.
pub struct IssuanceToken {
    tbs: TbsCertificate,
    tbs_der: Vec<u8>,
    serial_hex: String,
    profile: String,
    issuer: String,
    warnings: Vec<Finding>,
}

impl IssuanceToken {
    pub fn serial_hex(&self) -> &str {
        &self.serial_hex
    }
    pub fn tbs_der(&self) -> &[u8] {
        &self.tbs_der
    }
    pub fn profile(&self) -> &str {
        &self.profile
    }
    pub fn issuer(&self) -> &str {
        &self.issuer
    }
    pub fn subject(&self) -> String {
        self.tbs.subject.to_string()
    }
    pub fn not_before(&self) -> SystemTime {
        self.tbs.validity.not_before.to_system_time()
    }
    pub fn not_after(&self) -> SystemTime {
        self.tbs.validity.not_after.to_system_time()
    }
    pub fn warnings(&self) -> &[Finding] {
        &self.warnings
    }
}

/// A signed certificate.
#[derive(Clone, Debug)]
pub struct Issued {
    pub der: Vec<u8>,
    pub serial_hex: String,
    pub fingerprint: String,
}

/// RFC 5280 key identifier, method 1: SHA-1 of the subjectPublicKey bits.
pub fn key_identifier(spki: &SubjectPublicKeyInfoOwned) -> Vec<u8> {
    use sha1::Digest;
    sha1::Sha1::digest(spki.subject_public_key.raw_bytes()).to_vec()
}

/// 128 bits from the OS CSPRNG, as a positive DER INTEGER magnitude and its upper-case hex.
pub fn random_serial() -> (SerialNumber, String) {
    loop {
        let mut b = [0u8; 16];
        OsRng.fill_bytes(&mut b);
        // At least 9 significant octets keeps 64+ bits of entropy visible to linters.
        if b[0] == 0 {
            continue;
        }
        let hex = hex::encode_upper(b);
        return (SerialNumber::new(&b).expect("16 bytes fit"), hex);
    }
}

/// Serial number hex as `openssl x509 -serial` prints it (upper case, no sign octet).
pub fn serial_hex(serial: &SerialNumber) -> String {
    let b = serial.as_bytes();
    let start = b
        .iter()
        .position(|x| *x != 0)
        .unwrap_or(b.len().saturating_sub(1));
    hex::encode_upper(&b[start..])
}

/// RFC 5280: UTCTime through 2049, GeneralizedTime after.
pub fn x509_time(t: SystemTime) -> Result<Time, IssueError> {
    let t = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| SystemTime::UNIX_EPOCH + Duration::from_secs(d.as_secs()))
        .map_err(|_| IssueError::Encoding("time before 1970".into()))?;
    let g = GeneralizedTime::from_system_time(t).map_err(enc)?;
    if g.to_date_time().year() < 2050 {
        Ok(Time::UtcTime(UtcTime::from_system_time(t).map_err(enc)?))
    } else {
        Ok(Time::GeneralTime(g))
    }
}

fn ext<T: AsExtension>(value: &T, subject: &Name, critical: bool) -> Result<Extension, IssueError> {
    let mut e = value.to_extension(subject, &[]).map_err(enc)?;
    e.critical = critical;
    Ok(e)
}

fn raw_ext(
    oid: const_oid::ObjectIdentifier,
    critical: bool,
    der: Vec<u8>,
) -> Result<Extension, IssueError> {
    Ok(Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(der).map_err(enc)?,
    })
}

fn uri(s: &str) -> Result<GeneralName, IssueError> {
    Ok(GeneralName::UniformResourceIdentifier(
        Ia5String::new(s).map_err(enc)?,
    ))
}

/// ETSI EN 319 412-5 QcStatements carrying only a QcType (no QcCompliance: these are not qualified).
fn qc_type_statement(kind: &str) -> Result<Vec<u8>, IssueError> {
    let arc = match kind {
        "esign" => "0.4.0.1862.1.6.1",
        "eseal" => "0.4.0.1862.1.6.2",
        _ => "0.4.0.1862.1.6.3",
    };
    let qct: const_oid::ObjectIdentifier = arc.parse().expect("static OID");
    let qc_type: const_oid::ObjectIdentifier = "0.4.0.1862.1.6".parse().expect("static OID");
    let types = vec![qct].to_der().map_err(enc)?;
    let statement_info = der::asn1::Any::from_der(&types).map_err(enc)?;
    #[derive(der::Sequence)]
    struct QcStatement {
        id: const_oid::ObjectIdentifier,
        info: Option<der::asn1::Any>,
    }
    vec![QcStatement {
        id: qc_type,
        info: Some(statement_info),
    }]
    .to_der()
    .map_err(enc)
}

/// Everything in the extension list that depends on the profile, the subject key and the issuer.
fn build_extensions(
    profile: &Profile,
    subject: &Name,
    spki: &SubjectPublicKeyInfoOwned,
    issuer_key_id: Option<&[u8]>,
    urls: &IssuerUrls,
    san: Option<&SubjectAltName>,
) -> Result<Vec<Extension>, IssueError> {
    let mut exts = Vec::new();
    if profile.ca {
        let bc = BasicConstraints {
            ca: true,
            path_len_constraint: profile.path_len,
        };
        exts.push(ext(&bc, subject, true)?);
    }
    let mut ku = flagset::FlagSet::<KeyUsages>::default();
    for (i, name) in KEY_USAGES.iter().enumerate() {
        if profile.key_usage.iter().any(|k| k == name) {
            ku |= flagset::FlagSet::<KeyUsages>::new_truncated(1 << i);
        }
    }
    exts.push(ext(&KeyUsage(ku), subject, true)?);
    if !profile.extended_key_usage.is_empty() {
        let ekus: Vec<_> = profile
            .extended_key_usage
            .iter()
            .filter_map(|n| eku_oid(n))
            .collect();
        exts.push(ext(
            &ExtendedKeyUsage(ekus),
            subject,
            profile.extended_key_usage_critical,
        )?);
    }
    let ski = SubjectKeyIdentifier(OctetString::new(key_identifier(spki)).map_err(enc)?);
    exts.push(ext(&ski, subject, false)?);
    if let Some(kid) = issuer_key_id {
        let aki = AuthorityKeyIdentifier {
            key_identifier: Some(OctetString::new(kid).map_err(enc)?),
            authority_cert_issuer: None,
            authority_cert_serial_number: None,
        };
        exts.push(ext(&aki, subject, false)?);
    }
    if let Some(san) = san {
        exts.push(ext(san, subject, false)?);
    }
    if !profile.policies.is_empty() {
        let pols = profile
            .policies
            .iter()
            .map(|p| {
                Ok(PolicyInformation {
                    policy_identifier: p
                        .parse()
                        .map_err(|_| IssueError::Encoding(format!("policy {p}")))?,
                    policy_qualifiers: None,
                })
            })
            .collect::<Result<Vec<_>, IssueError>>()?;
        exts.push(ext(&CertificatePolicies(pols), subject, false)?);
    }
    if profile.crl_distribution {
        if let Some(crl) = &urls.crl {
            let dp = DistributionPoint {
                distribution_point: Some(DistributionPointName::FullName(vec![uri(crl)?])),
                reasons: None,
                crl_issuer: None,
            };
            exts.push(ext(&CrlDistributionPoints(vec![dp]), subject, false)?);
        }
        if let Some(delta) = &urls.delta_crl {
            exts.push(ext(
                &crate::revocation::freshest_crl(delta)?,
                subject,
                false,
            )?);
        }
    }
    let mut aia = Vec::new();
    if profile.ocsp {
        if let Some(ocsp) = &urls.ocsp {
            aia.push(AccessDescription {
                access_method: const_oid::db::rfc5280::ID_AD_OCSP,
                access_location: uri(ocsp)?,
            });
        }
    }
    if issuer_key_id.is_some() {
        if let Some(ca) = &urls.ca_issuers {
            aia.push(AccessDescription {
                access_method: const_oid::db::rfc5280::ID_AD_CA_ISSUERS,
                access_location: uri(ca)?,
            });
        }
    }
    if !aia.is_empty() {
        exts.push(ext(&AuthorityInfoAccessSyntax(aia), subject, false)?);
    }
    if profile.ocsp_nocheck {
        exts.push(raw_ext(
            const_oid::db::rfc6960::ID_PKIX_OCSP_NOCHECK,
            false,
            der::asn1::Null.to_der().map_err(enc)?,
        )?);
    }
    if let Some(q) = &profile.qc_type {
        exts.push(raw_ext(
            "1.3.6.1.5.5.7.1.3".parse().expect("static OID"),
            false,
            qc_type_statement(q)?,
        )?);
    }
    Ok(exts)
}

/// Check the request's subject and key against the profile, with errors that name the problem.
fn check_request(profile: &Profile, req: &CertRequest) -> Result<u32, IssueError> {
    let alg = KeyAlgorithm::of_spki(&req.public_key).map_err(KeyError::from)?;
    if !profile.allows_key(alg) {
        return Err(IssueError::KeyNotAllowed {
            alg,
            profile: profile.name.clone(),
        });
    }
    let attrs = crate::name::attributes(&req.subject);
    for a in &attrs {
        let short = a
            .short
            .map(str::to_string)
            .unwrap_or_else(|| a.oid.to_string());
        if !profile.subject_allowed.contains(&short) {
            return Err(IssueError::SubjectForbidden {
                attr: short,
                profile: profile.name.clone(),
            });
        }
    }
    for r in &profile.subject_required {
        if !attrs.iter().any(|a| a.short == Some(r.as_str())) {
            return Err(IssueError::SubjectMissing {
                attr: r.clone(),
                profile: profile.name.clone(),
            });
        }
    }
    let days = req.validity_days.unwrap_or(profile.max_validity_days);
    if days > profile.max_validity_days || days == 0 {
        return Err(IssueError::ValidityTooLong {
            requested: days,
            max: profile.max_validity_days,
        });
    }
    Ok(days)
}

fn finish_token(
    tbs: TbsCertificate,
    serial_hex: String,
    profile: &Profile,
    issuer: &str,
    facts: &IssuerFacts<'_>,
) -> Result<IssuanceToken, IssueError> {
    let findings = lint(&tbs, profile, facts);
    let (errors, warnings): (Vec<_>, Vec<_>) = findings
        .into_iter()
        .partition(|f| f.severity == Severity::Error);
    if !errors.is_empty() {
        return Err(IssueError::Lint(errors));
    }
    let tbs_der = tbs.to_der().map_err(enc)?;
    Ok(IssuanceToken {
        tbs,
        tbs_der,
        serial_hex,
        profile: profile.name.clone(),
        issuer: issuer.to_string(),
        warnings,
    })
}

fn sign_token(
    signer: &dyn Signer,
    scheme: SignatureScheme,
    token: IssuanceToken,
) -> Result<Issued, IssueError> {
    let sig = signer.sign(scheme, &token.tbs_der)?;
    // A faulty token or HSM must not hand out a certificate that does not verify.
    verify(signer.public_key(), scheme, &token.tbs_der, &sig)
        .map_err(|_| IssueError::SignatureCheck)?;
    let cert = Certificate {
        tbs_certificate: token.tbs,
        signature_algorithm: scheme.algorithm_identifier(),
        signature: BitString::from_bytes(&sig).map_err(enc)?,
    };
    let der = cert.to_der().map_err(enc)?;
    Ok(Issued {
        fingerprint: crate::alg::sha256_hex(&der),
        der,
        serial_hex: token.serial_hex,
    })
}

impl Issuer {
    /// Rebuild an issuer from its stored certificate and its key.
    pub fn new(
        name: &str,
        der: Vec<u8>,
        signer: Arc<dyn Signer>,
        scheme: SignatureScheme,
        urls: IssuerUrls,
    ) -> Result<Self, IssueError> {
        let certificate = Certificate::from_der(&der).map_err(enc)?;
        if certificate.tbs_certificate.subject_public_key_info != *signer.public_key() {
            return Err(IssueError::Key(KeyError::Crypto(format!(
                "key {} does not match the certificate of CA {name}",
                signer.key_ref()
            ))));
        }
        if !scheme.fits(signer.algorithm()) {
            return Err(IssueError::Key(
                crate::alg::AlgError::Mismatch {
                    scheme,
                    key: signer.algorithm(),
                }
                .into(),
            ));
        }
        let key_id = key_identifier(signer.public_key());
        Ok(Issuer {
            name: name.to_string(),
            certificate,
            der,
            signer,
            scheme,
            key_id,
            urls,
        })
    }

    /// Make a self-signed root.
    pub fn create_root(
        name: &str,
        signer: Arc<dyn Signer>,
        scheme: SignatureScheme,
        subject: Name,
        validity_days: u32,
        profile: &Profile,
        now: SystemTime,
    ) -> Result<Self, IssueError> {
        let req = CertRequest::for_own_key(signer.as_ref(), subject.clone())
            .with_validity_days(validity_days);
        let days = check_request(profile, &req)?;
        let (serial, serial_hex) = random_serial();
        let exts = build_extensions(
            profile,
            &subject,
            signer.public_key(),
            None,
            &IssuerUrls::default(),
            None,
        )?;
        let not_before = now - Duration::from_secs(60);
        let tbs = TbsCertificate {
            version: x509_cert::Version::V3,
            serial_number: serial,
            signature: scheme.algorithm_identifier(),
            issuer: subject.clone(),
            validity: Validity {
                not_before: x509_time(not_before)?,
                not_after: x509_time(not_before + Duration::from_secs(u64::from(days) * 86_400))?,
            },
            subject,
            subject_public_key_info: signer.public_key().clone(),
            issuer_unique_id: None,
            subject_unique_id: None,
            extensions: Some(exts),
        };
        let key_id = key_identifier(signer.public_key());
        let facts = IssuerFacts {
            scheme,
            key_id: &key_id,
            not_after: SystemTime::UNIX_EPOCH,
            self_signed: true,
        };
        let token = finish_token(tbs, serial_hex, profile, name, &facts)?;
        let issued = sign_token(signer.as_ref(), scheme, token)?;
        Issuer::new(name, issued.der, signer, scheme, IssuerUrls::default())
    }

    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }
    pub fn der(&self) -> &[u8] {
        &self.der
    }
    pub fn signer(&self) -> &Arc<dyn Signer> {
        &self.signer
    }
    pub fn scheme(&self) -> SignatureScheme {
        self.scheme
    }
    pub fn key_id(&self) -> &[u8] {
        &self.key_id
    }
    pub fn urls(&self) -> &IssuerUrls {
        &self.urls
    }
    pub fn not_after(&self) -> SystemTime {
        self.certificate
            .tbs_certificate
            .validity
            .not_after
            .to_system_time()
    }

    /// Phase one: check the request against the profile, build the TBS certificate and lint it.
    pub fn prepare(
        &self,
        profile: &Profile,
        req: &CertRequest,
        now: SystemTime,
    ) -> Result<IssuanceToken, IssueError> {
        self.prepare_with_urls(profile, req, now, &self.urls)
    }

    /// [`Issuer::prepare`] writing other status URLs (a CRL partition's) than the issuer's own.
    pub fn prepare_with_urls(
        &self,
        profile: &Profile,
        req: &CertRequest,
        now: SystemTime,
        urls: &IssuerUrls,
    ) -> Result<IssuanceToken, IssueError> {
        if let Some(expected) = &profile.issuer {
            if expected != &self.name {
                return Err(IssueError::WrongIssuer {
                    profile: profile.name.clone(),
                    expected: expected.clone(),
                    actual: self.name.clone(),
                });
            }
        }
        let days = check_request(profile, req)?;
        let validity = &self.certificate.tbs_certificate.validity;
        if now < validity.not_before.to_system_time() {
            return Err(IssueError::IssuerNotYetValid(self.name.clone()));
        }
        // Backdate a minute for clock skew between us and relying parties.
        let not_before = now - Duration::from_secs(60);
        let mut not_after = not_before + Duration::from_secs(u64::from(days) * 86_400);
        if not_after > self.not_after() {
            if req.validity_days.is_some() || now >= self.not_after() {
                return Err(IssueError::IssuerExpiring(self.name.clone()));
            }
            // A default validity is shortened to the CA's; an explicit one is refused above.
            not_after = self.not_after();
        }
        let (serial, serial_hex) = random_serial();
        let exts = build_extensions(
            profile,
            &req.subject,
            &req.public_key,
            Some(&self.key_id),
            urls,
            req.san.as_ref(),
        )?;
        let tbs = TbsCertificate {
            version: x509_cert::Version::V3,
            serial_number: serial,
            signature: self.scheme.algorithm_identifier(),
            issuer: self.certificate.tbs_certificate.subject.clone(),
            validity: Validity {
                not_before: x509_time(not_before)?,
                not_after: x509_time(not_after)?,
            },
            subject: req.subject.clone(),
            subject_public_key_info: req.public_key.clone(),
            issuer_unique_id: None,
            subject_unique_id: None,
            extensions: Some(exts),
        };
        let facts = IssuerFacts {
            scheme: self.scheme,
            key_id: &self.key_id,
            not_after: self.not_after(),
            self_signed: false,
        };
        finish_token(tbs, serial_hex, profile, &self.name, &facts)
    }

    /// Phase two: sign. Consumes the token; the signature is checked before the certificate is returned.
    pub fn issue(&self, token: IssuanceToken) -> Result<Issued, IssueError> {
        if token.issuer != self.name {
            return Err(IssueError::WrongIssuer {
                profile: token.profile.clone(),
                expected: token.issuer.clone(),
                actual: self.name.clone(),
            });
        }
        sign_token(self.signer.as_ref(), self.scheme, token)
    }
}

/// Check that `cert` was signed by `issuer_cert`'s key (one link of a chain).
pub fn verify_signed_by(cert: &Certificate, issuer_cert: &Certificate) -> Result<(), IssueError> {
    let scheme = SignatureScheme::from_algorithm_identifier(&cert.signature_algorithm)
        .map_err(KeyError::from)?;
    let tbs = cert.tbs_certificate.to_der().map_err(enc)?;
    let sig = cert
        .signature
        .as_bytes()
        .ok_or(IssueError::SignatureCheck)?;
    verify(
        &issuer_cert.tbs_certificate.subject_public_key_info,
        scheme,
        &tbs,
        sig,
    )
    .map_err(|_| IssueError::SignatureCheck)
}
