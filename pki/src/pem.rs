//! PEM helpers for certificates and chains.

use der::pem::LineEnding;

pub fn cert_pem(der: &[u8]) -> String {
    der::pem::encode_string("CERTIFICATE", LineEnding::LF, der)
        .expect("PEM encoding of bytes cannot fail")
}

/// Concatenate certificates as PEM, in the order given.
pub fn chain_pem<'a>(ders: impl IntoIterator<Item = &'a [u8]>) -> String {
    ders.into_iter().map(cert_pem).collect()
}

/// Read every `CERTIFICATE` block from PEM text (or a single DER certificate).
pub fn parse_certs(input: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let text = match std::str::from_utf8(input) {
        Ok(t) if t.contains("-----BEGIN") => t,
        _ => return Ok(vec![input.to_vec()]),
    };
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN CERTIFICATE-----") {
        let end_marker = "-----END CERTIFICATE-----";
        let end = rest[start..]
            .find(end_marker)
            .ok_or("unterminated PEM block")?
            + start
            + end_marker.len();
        let (_, der) =
            der::pem::decode_vec(&rest.as_bytes()[start..end]).map_err(|e| e.to_string())?;
        out.push(der);
        rest = &rest[end..];
    }
    if out.is_empty() {
        return Err("no CERTIFICATE block".into());
    }
    Ok(out)
}

/// A degenerate PKCS#7 SignedData holding only certificates (`.p7c`): the DER form of a chain.
pub fn pkcs7_certs_only(ders: &[Vec<u8>]) -> Result<Vec<u8>, der::Error> {
    use cms::cert::CertificateChoices;
    use cms::content_info::{CmsVersion, ContentInfo};
    use cms::signed_data::{CertificateSet, EncapsulatedContentInfo, SignedData, SignerInfos};
    use der::{Decode, Encode};
    let mut set = der::asn1::SetOfVec::new();
    for d in ders {
        set.insert(CertificateChoices::Certificate(
            x509_cert::Certificate::from_der(d)?,
        ))?;
    }
    let sd = SignedData {
        version: CmsVersion::V1,
        digest_algorithms: der::asn1::SetOfVec::new(),
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: const_oid::db::rfc5911::ID_DATA,
            econtent: None,
        },
        certificates: Some(CertificateSet(set)),
        crls: None,
        signer_infos: SignerInfos(der::asn1::SetOfVec::new()),
    };
    ContentInfo {
        content_type: const_oid::db::rfc5911::ID_SIGNED_DATA,
        content: der::asn1::Any::encode_from(&sd)?,
    }
    .to_der()
}
