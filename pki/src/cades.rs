//! CMS SignedData for documents (CAdES baseline as PAdES wants it): detached content, signed attributes
//! content-type, message-digest and signing-certificate-v2, no signing-time; the signature timestamp as
//! an unsigned attribute. Also reading and checking such a structure.

use cms::cert::IssuerAndSerialNumber;
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use const_oid::ObjectIdentifier as Oid;
use der::asn1::{Any, OctetString, SetOfVec};
use der::{Decode, Encode, Sequence};
use sha2::Digest;
use x509_cert::attr::Attribute;
use x509_cert::Certificate;

use crate::alg::{oid, KeyAlgorithm, SignatureScheme};
use crate::issue::IssueError;
use crate::keys::Signer;

pub const ID_DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.1");
pub const ID_SIGNED_DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.2");
pub const ID_CONTENT_TYPE: Oid = Oid::new_unwrap("1.2.840.113549.1.9.3");
pub const ID_MESSAGE_DIGEST: Oid = Oid::new_unwrap("1.2.840.113549.1.9.4");
pub const ID_SIGNING_TIME: Oid = Oid::new_unwrap("1.2.840.113549.1.9.5");
pub const ID_SIGNING_CERT: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.2.12");
pub const ID_SIGNING_CERT_V2: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.2.47");
pub const ID_SIGNATURE_TIME_STAMP: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.2.14");
/// GB/T 35275 (SM2 cryptographic message syntax): signedData and data.
pub const GM_SIGNED_DATA: Oid = Oid::new_unwrap("1.2.156.10197.6.1.4.2.2");
pub const GM_DATA: Oid = Oid::new_unwrap("1.2.156.10197.6.1.4.2.1");
/// SM2-1 signature (GB/T 35275's signatureAlgorithm in SignerInfo).
pub const GM_SM2_SIGN: Oid = Oid::new_unwrap("1.2.156.10197.1.301.1");
pub const SHA1: Oid = Oid::new_unwrap("1.3.14.3.2.26");
pub const SHA256: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.1");
pub const SHA384: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.2");
pub const SHA512: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.3");

#[derive(Sequence)]
pub(crate) struct EssCertIdV2 {
    // hashAlgorithm DEFAULT sha256 is omitted.
    pub cert_hash: OctetString,
}

#[derive(Sequence)]
pub(crate) struct SigningCertificateV2 {
    pub certs: Vec<EssCertIdV2>,
}

/// ESSCertIDv2 ::= SEQUENCE { hashAlgorithm DEFAULT sha256, certHash OCTET STRING,
/// issuerSerial IssuerSerial OPTIONAL }: the hash algorithm and the hash.
pub(crate) fn ess_cert_id_v2(id: &Any) -> Result<(Oid, Vec<u8>), der::Error> {
    let parts: Vec<Any> = id
        .decode_as::<der::asn1::SequenceOf<Any, 3>>()?
        .iter()
        .cloned()
        .collect();
    let mut it = parts.iter().peekable();
    let alg = match it.peek() {
        Some(a) if der::Tagged::tag(*a) == der::Tag::Sequence => {
            let a: spki::AlgorithmIdentifierOwned =
                it.next()
                    .map(|a| a.decode_as())
                    .transpose()?
                    .ok_or_else(|| der::Tag::Sequence.value_error())?;
            a.oid
        }
        _ => SHA256,
    };
    let hash: OctetString = it
        .next()
        .ok_or_else(|| der::Tag::OctetString.value_error())?
        .decode_as()?;
    Ok((alg, hash.into_bytes()))
}

pub(crate) fn enc(e: der::Error) -> IssueError {
    IssueError::Encoding(e.to_string())
}

pub(crate) fn attr(oid: Oid, value: Any) -> Result<Attribute, IssueError> {
    Ok(Attribute {
        oid,
        values: SetOfVec::try_from(vec![value]).map_err(enc)?,
    })
}

pub(crate) fn alg_id(oid: Oid) -> spki::AlgorithmIdentifierOwned {
    spki::AlgorithmIdentifierOwned {
        oid,
        parameters: None,
    }
}

/// Digest `data` with the algorithm named by `alg`, if it is one we know.
pub fn digest(alg: &Oid, data: &[u8]) -> Option<Vec<u8>> {
    Some(match *alg {
        a if a == SHA256 => sha2::Sha256::digest(data).to_vec(),
        a if a == SHA384 => sha2::Sha384::digest(data).to_vec(),
        a if a == SHA512 => sha2::Sha512::digest(data).to_vec(),
        a if a == oid::SM3 => sm3::Sm3::digest(data).to_vec(),
        a if a == SHA1 => sha1::Sha1::digest(data).to_vec(),
        _ => return None,
    })
}

/// A running digest over streamed bytes, for the algorithms documents are signed with.
#[derive(Clone)]
pub enum Hasher {
    Sha256(sha2::Sha256),
    Sm3(sm3::Sm3),
}

impl Hasher {
    pub fn for_scheme(scheme: SignatureScheme) -> Self {
        if scheme == SignatureScheme::Sm2Sm3 {
            Hasher::Sm3(sm3::Sm3::new())
        } else {
            Hasher::Sha256(sha2::Sha256::new())
        }
    }

    pub fn sha256() -> Self {
        Hasher::Sha256(sha2::Sha256::new())
    }

    pub fn for_oid(alg: &Oid) -> Option<Self> {
        match *alg {
            a if a == SHA256 => Some(Hasher::Sha256(sha2::Sha256::new())),
            a if a == oid::SM3 => Some(Hasher::Sm3(sm3::Sm3::new())),
            _ => None,
        }
    }

    pub fn oid(&self) -> Oid {
        match self {
            Hasher::Sha256(_) => SHA256,
            Hasher::Sm3(_) => oid::SM3,
        }
    }

    pub fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(data),
            Hasher::Sm3(h) => h.update(data),
        }
    }

    pub fn finish(self) -> Vec<u8> {
        match self {
            Hasher::Sha256(h) => h.finalize().to_vec(),
            Hasher::Sm3(h) => h.finalize().to_vec(),
        }
    }
}

/// The digest algorithm a scheme signs with.
pub fn digest_oid(scheme: SignatureScheme) -> Oid {
    if scheme == SignatureScheme::Sm2Sm3 {
        oid::SM3
    } else {
        SHA256
    }
}

/// Who signs: a key, its certificate and the chain to send along.
pub struct CmsSigner<'a> {
    pub signer: &'a dyn Signer,
    pub scheme: SignatureScheme,
    pub cert: &'a Certificate,
    pub chain: &'a [Certificate],
    /// What [`CmsSigner::max_len`] answered before for this key, certificate, chain and scheme,
    /// when the caller kept it (it encodes a whole SignedData); None computes it.
    pub reserve: Option<usize>,
}

/// The longest signature value a key makes (DER ECDSA/SM2 at most 72 bytes; RSA its modulus).
fn max_signature_len(alg: KeyAlgorithm) -> usize {
    match alg {
        KeyAlgorithm::P256 | KeyAlgorithm::Sm2 => 72,
        KeyAlgorithm::Rsa3072 => 384,
        KeyAlgorithm::Rsa4096 => 512,
    }
}

impl CmsSigner<'_> {
    /// SM2 signatures are written as GB/T 35275 SM2 CMS (its OIDs for signedData and data).
    fn gm(&self) -> bool {
        self.scheme == SignatureScheme::Sm2Sm3
    }

    fn data_type(&self) -> Oid {
        if self.gm() {
            GM_DATA
        } else {
            ID_DATA
        }
    }

    fn signed_attrs(&self, message_digest: &[u8]) -> Result<SetOfVec<Attribute>, IssueError> {
        let cert_hash = sha2::Sha256::digest(self.cert.to_der().map_err(enc)?);
        let scv2 = SigningCertificateV2 {
            certs: vec![EssCertIdV2 {
                cert_hash: OctetString::new(cert_hash.to_vec()).map_err(enc)?,
            }],
        };
        let mut attrs = SetOfVec::new();
        attrs
            .insert(attr(
                ID_CONTENT_TYPE,
                Any::encode_from(&self.data_type()).map_err(enc)?,
            )?)
            .map_err(enc)?;
        attrs
            .insert(attr(
                ID_MESSAGE_DIGEST,
                Any::encode_from(&OctetString::new(message_digest.to_vec()).map_err(enc)?)
                    .map_err(enc)?,
            )?)
            .map_err(enc)?;
        attrs
            .insert(attr(
                ID_SIGNING_CERT_V2,
                Any::encode_from(&scv2).map_err(enc)?,
            )?)
            .map_err(enc)?;
        Ok(attrs)
    }

    fn assemble(
        &self,
        attrs: SetOfVec<Attribute>,
        signature: Vec<u8>,
    ) -> Result<SignedData, IssueError> {
        let dalg = digest_oid(self.scheme);
        let signature_algorithm = match self.scheme {
            // rsaEncryption is what most PDF signers write and every validator reads.
            SignatureScheme::RsaPkcs1Sha256 => spki::AlgorithmIdentifierOwned {
                oid: oid::RSA_ENCRYPTION,
                parameters: Some(der::asn1::Null.into()),
            },
            SignatureScheme::Sm2Sm3 => alg_id(GM_SM2_SIGN),
            s => s.algorithm_identifier(),
        };
        let si = SignerInfo {
            version: CmsVersion::V1,
            sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
                issuer: self.cert.tbs_certificate.issuer.clone(),
                serial_number: self.cert.tbs_certificate.serial_number.clone(),
            }),
            digest_alg: alg_id(dalg),
            signed_attrs: Some(attrs),
            signature_algorithm,
            signature: OctetString::new(signature).map_err(enc)?,
            unsigned_attrs: None,
        };
        let mut digests = SetOfVec::new();
        digests.insert(alg_id(dalg)).map_err(enc)?;
        let mut certs = SetOfVec::new();
        for c in std::iter::once(self.cert).chain(self.chain.iter()) {
            // A SET OF refuses duplicates; a chain file that repeats the leaf is not an error.
            let _ = certs.insert(cms::cert::CertificateChoices::Certificate(c.clone()));
        }
        Ok(SignedData {
            version: CmsVersion::V1,
            digest_algorithms: digests,
            encap_content_info: EncapsulatedContentInfo {
                econtent_type: self.data_type(),
                econtent: None,
            },
            certificates: Some(CertificateSet(certs)),
            crls: None,
            signer_infos: SignerInfos(SetOfVec::try_from(vec![si]).map_err(enc)?),
        })
    }

    /// An upper bound on the encoded size, from known lengths (no signature is made).
    pub fn max_len(&self) -> Result<usize, IssueError> {
        let attrs = self.signed_attrs(&[0u8; 32])?;
        let sig = vec![0xFFu8; max_signature_len(self.signer.algorithm())];
        Ok(self.encode(&self.assemble(attrs, sig)?)?.len() + 16)
    }

    /// ContentInfo DER of a SignedData this signer made (GB/T 35275's type for SM2).
    pub fn encode(&self, sd: &SignedData) -> Result<Vec<u8>, IssueError> {
        ContentInfo {
            content_type: if self.gm() {
                GM_SIGNED_DATA
            } else {
                ID_SIGNED_DATA
            },
            content: Any::encode_from(sd).map_err(enc)?,
        }
        .to_der()
        .map_err(enc)
    }

    /// Sign a document whose digest (with [`digest_oid`]) is `message_digest`.
    pub fn sign(&self, message_digest: &[u8]) -> Result<SignedData, IssueError> {
        let attrs = self.signed_attrs(message_digest)?;
        let to_sign = attrs.to_der().map_err(enc)?;
        let sig = self.signer.sign(self.scheme, &to_sign)?;
        crate::alg::verify(self.signer.public_key(), self.scheme, &to_sign, &sig)
            .map_err(|_| IssueError::SignatureCheck)?;
        self.assemble(attrs, sig)
    }
}

/// The signature value of the (single) signer, which a signature timestamp covers.
pub fn signature_value(sd: &SignedData) -> Option<&[u8]> {
    sd.signer_infos
        .0
        .iter()
        .next()
        .map(|si| si.signature.as_bytes())
}

/// Add a signature timestamp (a TimeStampToken, DER) as an unsigned attribute of the signer.
pub fn add_timestamp(sd: &mut SignedData, token_der: &[u8]) -> Result<(), IssueError> {
    let token = Any::from_der(token_der).map_err(enc)?;
    let mut infos: Vec<SignerInfo> = sd.signer_infos.0.iter().cloned().collect();
    let si = infos
        .first_mut()
        .ok_or_else(|| IssueError::Encoding("no signer".into()))?;
    let mut ua = si.unsigned_attrs.take().unwrap_or_default();
    ua.insert(attr(ID_SIGNATURE_TIME_STAMP, token)?)
        .map_err(enc)?;
    si.unsigned_attrs = Some(ua);
    sd.signer_infos = SignerInfos(SetOfVec::try_from(infos).map_err(enc)?);
    Ok(())
}

/// ContentInfo DER of a SignedData.
pub fn encode(sd: &SignedData) -> Result<Vec<u8>, IssueError> {
    ContentInfo {
        content_type: ID_SIGNED_DATA,
        content: Any::encode_from(sd).map_err(enc)?,
    }
    .to_der()
    .map_err(enc)
}

/// Why a CMS signature does not hold.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CmsError {
    #[error("not a CMS SignedData: {0}")]
    Malformed(String),
    #[error("the signer's certificate is not in the signature")]
    NoSignerCert,
    #[error("unsupported algorithm: {0}")]
    Algorithm(String),
    #[error("the document digest does not match the signed message-digest")]
    DigestMismatch,
    #[error("signed attributes: {0}")]
    Attributes(String),
    #[error("the signature value does not verify with the signer's key")]
    BadSignature,
}

/// A CMS signature whose value and digest have been checked (not yet its chain).
#[derive(Debug, Clone)]
pub struct CmsVerified {
    pub signer: Certificate,
    /// Every certificate the structure carries (signer included).
    pub certs: Vec<Certificate>,
    pub scheme: SignatureScheme,
    pub digest_alg: Oid,
    pub signature: Vec<u8>,
    /// The signature timestamp token (DER), if any.
    pub timestamp: Option<Vec<u8>>,
    /// Which ESS attribute names the signer: "signing-certificate-v2", "signing-certificate" or none.
    pub ess: Option<&'static str>,
    pub has_signing_time: bool,
}

fn scheme_for(
    sig_alg: &spki::AlgorithmIdentifierOwned,
    digest_alg: &Oid,
) -> Result<SignatureScheme, CmsError> {
    if sig_alg.oid == oid::RSA_ENCRYPTION {
        return if *digest_alg == SHA256 {
            Ok(SignatureScheme::RsaPkcs1Sha256)
        } else {
            Err(CmsError::Algorithm(format!("RSA with digest {digest_alg}")))
        };
    }
    if sig_alg.oid == GM_SM2_SIGN {
        return if *digest_alg == oid::SM3 {
            Ok(SignatureScheme::Sm2Sm3)
        } else {
            Err(CmsError::Algorithm(format!("SM2 with digest {digest_alg}")))
        };
    }
    let s = SignatureScheme::from_algorithm_identifier(sig_alg)
        .map_err(|e| CmsError::Algorithm(e.to_string()))?;
    if digest_oid(s) != *digest_alg {
        return Err(CmsError::Algorithm(format!("{s} with digest {digest_alg}")));
    }
    Ok(s)
}

/// Check a detached CMS signature: `content_digest` gives the digest of the signed content for an
/// algorithm (None when the algorithm is not supported).
pub fn verify_detached(
    der_bytes: &[u8],
    content_digest: &dyn Fn(&Oid) -> Option<Vec<u8>>,
) -> Result<CmsVerified, CmsError> {
    let mal = |e: der::Error| CmsError::Malformed(e.to_string());
    let ci = ContentInfo::from_der(der_bytes).map_err(mal)?;
    if ci.content_type != ID_SIGNED_DATA && ci.content_type != GM_SIGNED_DATA {
        return Err(CmsError::Malformed("content type is not signedData".into()));
    }
    let sd: SignedData = ci.content.decode_as().map_err(mal)?;
    verify_signed_data(&sd, &[], content_digest)
}

/// The checks every CMS signature gets (detached documents, timestamp tokens): one signer, found among
/// the structure's certificates and `extra`; content-type and message-digest attributes against
/// `content_digest`; the ESS attribute naming the signer; the signature over the attributes.
pub fn verify_signed_data(
    sd: &SignedData,
    extra: &[Certificate],
    content_digest: &dyn Fn(&Oid) -> Option<Vec<u8>>,
) -> Result<CmsVerified, CmsError> {
    let mal = |e: der::Error| CmsError::Malformed(e.to_string());
    let si = match sd.signer_infos.0.as_slice() {
        [si] => si,
        [] => return Err(CmsError::Malformed("no signer".into())),
        _ => return Err(CmsError::Malformed("more than one signer".into())),
    };
    let mut certs: Vec<Certificate> = sd
        .certificates
        .as_ref()
        .map(|c| {
            c.0.iter()
                .filter_map(|c| match c {
                    cms::cert::CertificateChoices::Certificate(c) => Some(c.clone()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    certs.extend(extra.iter().cloned());
    let signer = match &si.sid {
        SignerIdentifier::IssuerAndSerialNumber(ias) => certs.iter().find(|c| {
            c.tbs_certificate.issuer == ias.issuer
                && c.tbs_certificate.serial_number == ias.serial_number
        }),
        SignerIdentifier::SubjectKeyIdentifier(ski) => certs.iter().find(|c| {
            crate::issue::key_identifier(&c.tbs_certificate.subject_public_key_info)
                == ski.0.as_bytes()
        }),
    }
    .cloned()
    .ok_or(CmsError::NoSignerCert)?;
    let digest_alg = si.digest_alg.oid;
    let scheme = scheme_for(&si.signature_algorithm, &digest_alg)?;
    let attrs = si
        .signed_attrs
        .as_ref()
        .ok_or_else(|| CmsError::Attributes("no signed attributes".into()))?;
    let find = |o: Oid| {
        attrs
            .iter()
            .find(|a| a.oid == o)
            .and_then(|a| a.values.iter().next().cloned())
    };
    let ct: Oid = find(ID_CONTENT_TYPE)
        .ok_or_else(|| CmsError::Attributes("no content-type".into()))?
        .decode_as()
        .map_err(mal)?;
    if ct != sd.encap_content_info.econtent_type {
        return Err(CmsError::Attributes(
            "content-type differs from the encapsulated content type".into(),
        ));
    }
    let md: OctetString = find(ID_MESSAGE_DIGEST)
        .ok_or_else(|| CmsError::Attributes("no message-digest".into()))?
        .decode_as()
        .map_err(mal)?;
    let want = content_digest(&digest_alg)
        .ok_or_else(|| CmsError::Algorithm(format!("digest {digest_alg}")))?;
    if md.as_bytes() != want.as_slice() {
        return Err(CmsError::DigestMismatch);
    }
    let cert_der = signer.to_der().map_err(mal)?;
    let ess = if let Some(v2) = find(ID_SIGNING_CERT_V2) {
        let scv2: Vec<Any> = v2
            .decode_as::<der::asn1::SequenceOf<Any, 8>>()
            .map_err(mal)?
            .iter()
            .cloned()
            .collect();
        let first = scv2
            .first()
            .ok_or_else(|| CmsError::Attributes("empty signing-certificate-v2".into()))?;
        let ids: Vec<Any> = first
            .decode_as::<der::asn1::SequenceOf<Any, 8>>()
            .map_err(mal)?
            .iter()
            .cloned()
            .collect();
        let id = ids
            .first()
            .ok_or_else(|| CmsError::Attributes("no ESSCertIDv2".into()))?;
        let (alg, hash) = ess_cert_id_v2(id).map_err(mal)?;
        if Some(hash) != digest(&alg, &cert_der) {
            return Err(CmsError::Attributes(
                "signing-certificate-v2 names another certificate".into(),
            ));
        }
        Some("signing-certificate-v2")
    } else if find(ID_SIGNING_CERT).is_some() {
        Some("signing-certificate")
    } else {
        None
    };
    let signed = attrs.to_der().map_err(mal)?;
    crate::alg::verify(
        &signer.tbs_certificate.subject_public_key_info,
        scheme,
        &signed,
        si.signature.as_bytes(),
    )
    .map_err(|_| CmsError::BadSignature)?;
    let timestamp = si
        .unsigned_attrs
        .as_ref()
        .and_then(|ua| ua.iter().find(|a| a.oid == ID_SIGNATURE_TIME_STAMP))
        .and_then(|a| a.values.iter().next())
        .and_then(|v| v.to_der().ok());
    Ok(CmsVerified {
        signer,
        certs,
        scheme,
        digest_alg,
        signature: si.signature.as_bytes().to_vec(),
        timestamp,
        ess,
        has_signing_time: find(ID_SIGNING_TIME).is_some(),
    })
}

/// Every certificate a SignedData carries, with those of a signature timestamp token inside it
/// (what a DSS needs to hold for the signature and its timestamp).
pub fn certificates_in(der_bytes: &[u8]) -> Vec<Certificate> {
    fn walk(der_bytes: &[u8], out: &mut Vec<Certificate>, depth: usize) {
        let Ok(ci) = ContentInfo::from_der(der_bytes) else {
            return;
        };
        let Ok(sd) = ci.content.decode_as::<SignedData>() else {
            return;
        };
        for c in sd.certificates.iter().flat_map(|s| s.0.iter()) {
            if let cms::cert::CertificateChoices::Certificate(c) = c {
                if !out.contains(c) {
                    out.push(c.clone());
                }
            }
        }
        if depth > 0 {
            return;
        }
        for si in sd.signer_infos.0.iter() {
            for a in si.unsigned_attrs.iter().flat_map(|u| u.iter()) {
                if a.oid == ID_SIGNATURE_TIME_STAMP {
                    for v in a.values.iter() {
                        if let Ok(d) = v.to_der() {
                            walk(&d, out, depth + 1);
                        }
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(der_bytes, &mut out, 0);
    out
}
