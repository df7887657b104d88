//! Electronic seals of GM/T 0031-2014 ("v1"), GB/T 38540-2020 ("v4") and GM/T 0031-2025 ("v5"):
//! the seal (SESeal: seal information signed by the maker) and the signature made with it
//! (SES_Signature: TBS_Sign over the SM3 hash of data, signed by the seal holder). v4 and v5 are
//! written exactly; all three are read, tolerating the known sloppy encodings with a warning each.

mod decode;
pub mod der;
mod describe;
pub mod verify;

pub use describe::describe;

use std::sync::Arc;
use std::time::SystemTime;

use const_oid::ObjectIdentifier as Oid;

use crate::alg::{oid, SignatureScheme};
use crate::keys::{KeyError, Signer};

pub use decode::{decode, Decoded};
pub use verify::{verify, Check, CheckState, Report, Verdict, VerifyInput};

#[derive(Debug, thiserror::Error)]
pub enum SesError {
    #[error("malformed seal structure: {0}")]
    Malformed(String),
    #[error("cannot encode: {0}")]
    Encode(String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// Which standard a structure follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Version {
    /// GM/T 0031-2014.
    V1,
    /// GB/T 38540-2020.
    V4,
    /// GM/T 0031-2025.
    V5,
}

impl Version {
    pub fn name(self) -> &'static str {
        match self {
            Version::V1 => "GM/T 0031-2014 (v1)",
            Version::V4 => "GB/T 38540-2020 (v4)",
            Version::V5 => "GM/T 0031-2025 (v5)",
        }
    }
}

/// SES_CertList: the holders' signing certificates, or their digests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CertList {
    Certs(Vec<Vec<u8>>),
    /// (digest algorithm name as written, e.g. "sm3" or "sha256"; digest).
    Digests(Vec<(String, Vec<u8>)>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Picture {
    /// GIF, BMP, JPG, PNG or SVG.
    pub kind: String,
    pub data: Vec<u8>,
    pub width_mm: i64,
    pub height_mm: i64,
}

/// SES_SealInfo (with SES_Header and SES_ESPropertyInfo flattened).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealInfo {
    pub header_version: i64,
    pub vendor_id: String,
    pub es_id: String,
    pub seal_type: i64,
    pub name: String,
    pub certs: CertList,
    pub create_date: SystemTime,
    pub valid_start: SystemTime,
    pub valid_end: SystemTime,
    pub picture: Picture,
    /// ExtensionDatas, kept as encoded.
    pub ext_datas: Option<Vec<u8>>,
}

/// A seal: its information and the maker's signature over DER(SES_SealInfo).
#[derive(Clone, Debug)]
pub struct Seal {
    pub version: Version,
    pub info: SealInfo,
    /// The bytes the maker signed, as they appear in the seal.
    pub info_der: Vec<u8>,
    pub maker_cert: Vec<u8>,
    pub sig_alg: Oid,
    pub signature: Vec<u8>,
    /// RFC 3161 token over the signature value (v5).
    pub timestamp: Option<Vec<u8>>,
    /// The whole seal as encoded.
    pub der: Vec<u8>,
}

/// TBS_Sign and the holder's signature over it.
#[derive(Clone, Debug)]
pub struct SesSignature {
    pub version: Version,
    pub tbs_version: i64,
    pub seal: Seal,
    pub time: SystemTime,
    /// SM3 hash of the signed data.
    pub data_hash: Vec<u8>,
    pub property_info: String,
    /// The bytes the holder signed.
    pub tbs_der: Vec<u8>,
    pub signer_cert: Vec<u8>,
    pub sig_alg: Oid,
    pub signature: Vec<u8>,
    /// RFC 3161 token over the signature value.
    pub timestamp: Option<Vec<u8>>,
    pub der: Vec<u8>,
}

pub const VENDOR_ID: &str = "sealpki";

fn whole_seconds(t: SystemTime) -> SystemTime {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs)
}

fn scheme_oid(scheme: SignatureScheme) -> Oid {
    scheme.algorithm_identifier().oid
}

/// SM3 of data: what TBS_Sign.dataHash holds.
pub fn sm3(data: &[u8]) -> Vec<u8> {
    use sm3::Digest;
    sm3::Sm3::digest(data).to_vec()
}

impl SealInfo {
    /// DER of SES_SealInfo as v4 (`header_version` 4) or v5 writes it.
    pub fn to_der(&self) -> Result<Vec<u8>, SesError> {
        use self::der::*;
        let header = seq(&[
            &tlv(IA5_STRING, b"ES"),
            &int(self.header_version),
            &tlv(IA5_STRING, ascii(&self.vendor_id, "Vid")?.as_bytes()),
        ]);
        let (list_type, list) = match &self.certs {
            CertList::Certs(certs) => {
                let items: Vec<Vec<u8>> = certs.iter().map(|c| tlv(OCTET_STRING, c)).collect();
                (1, tlv(SEQUENCE, &items.concat()))
            }
            CertList::Digests(ds) => {
                let items: Vec<Vec<u8>> = ds
                    .iter()
                    .map(|(t, v)| {
                        seq(&[&tlv(PRINTABLE_STRING, t.as_bytes()), &tlv(OCTET_STRING, v)])
                    })
                    .collect();
                (2, tlv(SEQUENCE, &items.concat()))
            }
        };
        let property = seq(&[
            &int(self.seal_type),
            &tlv(UTF8_STRING, self.name.as_bytes()),
            &int(list_type),
            &list,
            &generalized_time(self.create_date)?,
            &generalized_time(self.valid_start)?,
            &generalized_time(self.valid_end)?,
        ]);
        let picture = seq(&[
            &tlv(
                IA5_STRING,
                ascii(&self.picture.kind, "picture type")?.as_bytes(),
            ),
            &tlv(OCTET_STRING, &self.picture.data),
            &int(self.picture.width_mm),
            &int(self.picture.height_mm),
        ]);
        let mut parts: Vec<&[u8]> = Vec::new();
        let es_id = tlv(IA5_STRING, ascii(&self.es_id, "esID")?.as_bytes());
        parts.extend([header.as_slice(), &es_id, &property, &picture]);
        if let Some(e) = &self.ext_datas {
            parts.push(e);
        }
        Ok(seq(&parts))
    }
}

fn ascii<'a>(s: &'a str, field: &str) -> Result<&'a str, SesError> {
    if s.is_ascii() {
        Ok(s)
    } else {
        Err(SesError::Encode(format!(
            "{field} must be ASCII (IA5String)"
        )))
    }
}

/// SESeal and SES_Signature share a shape: `SEQUENCE { signed, cert OCTET STRING, alg OID,
/// signature BIT STRING, timeStamp [0] EXPLICIT BIT STRING OPTIONAL }`.
fn signed_structure(
    signed: &[u8],
    cert: &[u8],
    alg: &Oid,
    signature: &[u8],
    timestamp: Option<&[u8]>,
) -> Vec<u8> {
    use self::der::*;
    let cert = tlv(OCTET_STRING, cert);
    let alg = oid(alg);
    let sig = bit_string(signature);
    let ts = timestamp.map(|t| tlv(CONTEXT_0, &bit_string(t)));
    let mut parts: Vec<&[u8]> = vec![signed, &cert, &alg, &sig];
    if let Some(t) = &ts {
        parts.push(t);
    }
    seq(&parts)
}

/// Sign with `signer` under its default scheme (SM2-with-SM3 for SM2 keys).
fn sign(signer: &Arc<dyn Signer>, msg: &[u8]) -> Result<(SignatureScheme, Vec<u8>), SesError> {
    let scheme = signer.algorithm().default_scheme();
    Ok((scheme, signer.sign(scheme, msg)?))
}

impl Seal {
    /// Make a v4 or v5 seal: the maker signs DER(SES_SealInfo). A v5 timestamp is added afterwards
    /// with [`Seal::with_timestamp`] (it covers the signature, which it follows).
    pub fn make(
        version: Version,
        mut info: SealInfo,
        maker_cert: &[u8],
        maker: &Arc<dyn Signer>,
    ) -> Result<Seal, SesError> {
        info.header_version = match version {
            Version::V4 => 4,
            Version::V5 => 5,
            Version::V1 => {
                return Err(SesError::Encode(
                    "v1 (GM/T 0031-2014) seals are read, not made".into(),
                ))
            }
        };
        // DER times have whole seconds: keep the struct equal to what is encoded.
        for t in [
            &mut info.create_date,
            &mut info.valid_start,
            &mut info.valid_end,
        ] {
            *t = whole_seconds(*t);
        }
        let info_der = info.to_der()?;
        let (scheme, signature) = sign(maker, &info_der)?;
        let mut seal = Seal {
            version,
            info,
            info_der,
            maker_cert: maker_cert.to_vec(),
            sig_alg: scheme_oid(scheme),
            signature,
            timestamp: None,
            der: Vec::new(),
        };
        seal.der = seal.encode();
        Ok(seal)
    }

    /// Attach an RFC 3161 token over the signature value (v5 only).
    pub fn with_timestamp(mut self, token: Vec<u8>) -> Result<Seal, SesError> {
        if self.version != Version::V5 {
            return Err(SesError::Encode("only v5 seals carry a timestamp".into()));
        }
        self.timestamp = Some(token);
        self.der = self.encode();
        Ok(self)
    }

    fn encode(&self) -> Vec<u8> {
        signed_structure(
            &self.info_der,
            &self.maker_cert,
            &self.sig_alg,
            &self.signature,
            self.timestamp.as_deref(),
        )
    }
}

impl SesSignature {
    /// Sign `data` with a seal: TBS_Sign (v4 layout; version 4 or 5 after the seal's) over the SM3
    /// hash of the data, signed by the holder's key. A timestamp is added with
    /// [`SesSignature::with_timestamp`].
    pub fn sign(
        seal: &Seal,
        data: &[u8],
        property_info: &str,
        signer_cert: &[u8],
        signer: &Arc<dyn Signer>,
        now: SystemTime,
    ) -> Result<SesSignature, SesError> {
        use self::der::*;
        if seal.version == Version::V1 {
            return Err(SesError::Encode(
                "signing with a v1 (GM/T 0031-2014) seal is not supported; make a v4 seal".into(),
            ));
        }
        let tbs_version = if seal.version == Version::V5 { 5 } else { 4 };
        let now = whole_seconds(now);
        let data_hash = sm3(data);
        let tbs_der = seq(&[
            &int(tbs_version),
            &seal.der,
            &generalized_time(now)?,
            &bit_string(&data_hash),
            &tlv(IA5_STRING, ascii(property_info, "propertyInfo")?.as_bytes()),
        ]);
        let (scheme, signature) = sign(signer, &tbs_der)?;
        let mut s = SesSignature {
            version: seal.version,
            tbs_version,
            seal: seal.clone(),
            time: now,
            data_hash,
            property_info: property_info.into(),
            tbs_der,
            signer_cert: signer_cert.to_vec(),
            sig_alg: scheme_oid(scheme),
            signature,
            timestamp: None,
            der: Vec::new(),
        };
        s.der = s.encode();
        Ok(s)
    }

    pub fn with_timestamp(mut self, token: Vec<u8>) -> SesSignature {
        self.timestamp = Some(token);
        self.der = self.encode();
        self
    }

    fn encode(&self) -> Vec<u8> {
        signed_structure(
            &self.tbs_der,
            &self.signer_cert,
            &self.sig_alg,
            &self.signature,
            self.timestamp.as_deref(),
        )
    }
}

/// The digest list entry for a certificate (GB/T 38540 certDigestList), SM3.
pub fn cert_digest(cert_der: &[u8]) -> (String, Vec<u8>) {
    ("sm3".into(), sm3(cert_der))
}

/// Digest a certificate with the algorithm a digest-list entry names.
pub fn digest_by_name(name: &str, data: &[u8]) -> Option<Vec<u8>> {
    use sha2::Digest;
    match name.to_ascii_lowercase().as_str() {
        "sm3" | "1.2.156.10197.1.401" => Some(sm3(data)),
        "sha256" | "sha-256" | "2.16.840.1.101.3.4.2.1" => {
            Some(sha2::Sha256::digest(data).to_vec())
        }
        "sha1" | "sha-1" | "1.3.14.3.2.26" => {
            use sha1::Digest as _;
            Some(sha1::Sha1::digest(data).to_vec())
        }
        _ => None,
    }
}

/// The SM2-with-SM3 signature algorithm identifier seals use.
pub const SM2_SM3: Oid = oid::SM2_SM3;

#[cfg(test)]
mod tests {
    use super::*;

    use crate::KeyAlgorithm;
    use std::time::Duration;

    /// A signing key, its certificate (DER) and the root to trust for it.
    fn party(cn: &str) -> (Arc<dyn Signer>, Vec<u8>, x509_cert::Certificate) {
        let (signer, der, _, root) = crate::testpki::signer(KeyAlgorithm::Sm2, cn);
        (signer, der, root)
    }

    fn info(certs: CertList) -> SealInfo {
        let now = SystemTime::now();
        SealInfo {
            header_version: 4,
            vendor_id: VENDOR_ID.into(),
            es_id: "330106000001".into(),
            seal_type: 1,
            name: "示例有限公司合同专用章".into(),
            certs,
            create_date: now,
            valid_start: now - Duration::from_secs(60),
            valid_end: now + Duration::from_secs(86_400),
            picture: Picture {
                kind: "PNG".into(),
                data: vec![0x89, b'P', b'N', b'G', 1, 2, 3],
                width_mm: 42,
                height_mm: 42,
            },
            ext_datas: None,
        }
    }

    /// Every truncation and thousands of byte mutations of a seal signature, plus the fuzz corpus
    /// (fixtures/fuzz/ses): decoding and verifying return a verdict or an error, never a panic.
    #[test]
    fn mutated_truncated_and_corpus_inputs_never_panic() {
        let (maker, maker_der, maker_cert) = party("maker");
        let (holder, holder_der, _) = party("holder");
        let seal = Seal::make(
            Version::V4,
            info(CertList::Certs(vec![holder_der.clone()])),
            &maker_der,
            &maker,
        )
        .unwrap();
        let sig = SesSignature::sign(&seal, b"data", "d", &holder_der, &holder, SystemTime::now())
            .unwrap();
        let trust = [maker_cert];
        let exercise = |bytes: &[u8]| {
            if let Ok(d) = decode(bytes) {
                let _ = verify(
                    &d,
                    &VerifyInput {
                        data: Some(b"data"),
                        trust: &trust,
                        now: SystemTime::now(),
                        revocation: None,
                    },
                );
            }
        };
        for cut in 0..sig.der.len() {
            exercise(&sig.der[..cut]);
        }
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..3000 {
            let mut m = sig.der.clone();
            for _ in 0..(1 + next() % 3) {
                let i = (next() as usize) % m.len();
                m[i] = next() as u8;
            }
            exercise(&m);
        }
        let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/fuzz/ses");
        let mut n = 0;
        for e in std::fs::read_dir(&corpus).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "der") {
                let bytes = std::fs::read(&p).unwrap();
                exercise(&bytes);
                n += 1;
            }
        }
        assert!(n >= 3, "corpus files in {}", corpus.display());
    }

    #[test]
    fn make_sign_decode_verify() {
        let (maker, maker_der, maker_cert) = party("maker");
        let (holder, holder_der, holder_cert) = party("holder");
        for certs in [
            CertList::Certs(vec![holder_der.clone()]),
            CertList::Digests(vec![cert_digest(&holder_der)]),
        ] {
            let seal = Seal::make(Version::V4, info(certs), &maker_der, &maker).unwrap();
            let Decoded::Seal(back, w) = decode(&seal.der).unwrap() else {
                panic!("not a seal")
            };
            assert!(w.is_empty(), "{w:?}");
            assert_eq!(back.info, seal.info);
            assert_eq!(
                back.info.to_der().unwrap(),
                seal.info_der,
                "re-encodes exactly"
            );
            let sig = SesSignature::sign(
                &seal,
                b"data",
                "doc.txt",
                &holder_der,
                &holder,
                SystemTime::now(),
            )
            .unwrap();
            let decoded = decode(&sig.der).unwrap();
            let trust = [maker_cert.clone(), holder_cert.clone()];
            let input = |data: Option<&'static [u8]>| VerifyInput {
                data,
                trust: &trust,
                now: SystemTime::now(),
                revocation: None,
            };
            let r = verify(&decoded, &input(Some(b"data")));
            assert_eq!(r.verdict, Verdict::Valid, "{}", r.to_text());
            let r = verify(&decoded, &input(Some(b"other")));
            assert_eq!(r.verdict, Verdict::Invalid);
            assert!(r.reasons.iter().any(|x| x.contains("changed data")));
            let r = verify(&decoded, &input(None));
            assert_eq!(r.verdict, Verdict::Indeterminate);
        }
        // A signer the seal does not list.
        let (other, other_der, _) = party("other");
        let seal = Seal::make(
            Version::V4,
            info(CertList::Certs(vec![holder_der])),
            &maker_der,
            &maker,
        )
        .unwrap();
        let sig =
            SesSignature::sign(&seal, b"d", "", &other_der, &other, SystemTime::now()).unwrap();
        let r = verify(
            &decode(&sig.der).unwrap(),
            &VerifyInput {
                data: Some(b"d"),
                trust: &[],
                now: SystemTime::now(),
                revocation: None,
            },
        );
        assert!(r
            .reasons
            .iter()
            .any(|x| x.contains("not in the seal's certificate list")));
        assert_eq!(r.verdict, Verdict::Invalid);
    }

    #[test]
    fn garbage_is_refused() {
        for bad in [
            &b""[..],
            b"\x30",
            b"\x30\x03\x02\x01\x01",
            b"\x30\x80\x00\x00",
            b"hello world",
            &[0x30u8, 0x84, 0xff, 0xff, 0xff, 0xff],
        ] {
            assert!(decode(bad).is_err(), "{bad:?}");
        }
        // Deep nesting is a wrong shape, not a stack overflow.
        let mut deep = vec![0x05, 0x00];
        for _ in 0..10_000 {
            deep = der::tlv(der::SEQUENCE, &deep);
        }
        assert!(decode(&deep).is_err());
    }
}
