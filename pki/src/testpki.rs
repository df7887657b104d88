//! Test certificates: a root and a document-signing certificate under it (unit tests only).

use std::sync::Arc;
use std::time::SystemTime;

use der::Decode;

use crate::keys::software::{SoftKey, SoftSigner};
use crate::{CertRequest, Issuer, KeyAlgorithm, Profiles, SignatureScheme, Signer};

/// A signing key, its maker-production certificate (DER and decoded) and the root that issued it.
pub fn signer(
    alg: KeyAlgorithm,
    cn: &str,
) -> (
    Arc<dyn Signer>,
    Vec<u8>,
    x509_cert::Certificate,
    x509_cert::Certificate,
) {
    let scheme: SignatureScheme = alg.default_scheme();
    let key = |n: &str| -> Arc<dyn Signer> {
        Arc::new(SoftSigner::from_key(n, SoftKey::generate(alg).unwrap()).unwrap())
    };
    let profiles = Profiles::builtin();
    let root = Issuer::create_root(
        "maker",
        key("root"),
        scheme,
        crate::name::parse_dn(&format!("CN={cn} root,O=t,C=CN")).unwrap(),
        30,
        profiles.get("root-ca").unwrap(),
        SystemTime::now(),
    )
    .unwrap();
    let leaf_key = key(cn);
    let req = CertRequest::for_own_key(
        leaf_key.as_ref(),
        crate::name::parse_dn(&format!("CN={cn},O=t,C=CN")).unwrap(),
    );
    let token = root
        .prepare(
            profiles.get("maker-production").unwrap(),
            &req,
            SystemTime::now(),
        )
        .unwrap();
    let issued = root.issue(token).unwrap();
    let cert = x509_cert::Certificate::from_der(&issued.der).unwrap();
    (leaf_key, issued.der, cert, root.certificate().clone())
}
