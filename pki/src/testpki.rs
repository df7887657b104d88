//! Test certificates: a root and certificates under it (unit tests only).

use std::sync::Arc;
use std::time::SystemTime;

use der::Decode;

use crate::keys::software::{SoftKey, SoftSigner};
use crate::{CertRequest, Issuer, KeyAlgorithm, Profiles, SignatureScheme, Signer};

/// A root (named "maker", so maker profiles are issued by it) that issues test certificates.
pub struct TestRoot {
    pub issuer: Issuer,
    alg: KeyAlgorithm,
}

fn key(alg: KeyAlgorithm, n: &str) -> Arc<dyn Signer> {
    Arc::new(SoftSigner::from_key(n, SoftKey::generate(alg).unwrap()).unwrap())
}

impl TestRoot {
    pub fn new(alg: KeyAlgorithm, cn: &str) -> Self {
        let scheme: SignatureScheme = alg.default_scheme();
        let issuer = Issuer::create_root(
            "maker",
            key(alg, "root"),
            scheme,
            crate::name::parse_dn(&format!("CN={cn} root,O=t,C=CN")).unwrap(),
            30,
            Profiles::builtin().get("root-ca").unwrap(),
            SystemTime::now(),
        )
        .unwrap();
        TestRoot { issuer, alg }
    }

    /// A new key and its certificate under this root for `profile`.
    pub fn issue(
        &self,
        profile: &str,
        cn: &str,
    ) -> (Arc<dyn Signer>, Vec<u8>, x509_cert::Certificate) {
        self.issue_with(Profiles::builtin().get(profile).unwrap(), cn)
    }

    /// A new key and its certificate under this root for a profile not among the built-in ones.
    pub fn issue_with(
        &self,
        profile: &crate::Profile,
        cn: &str,
    ) -> (Arc<dyn Signer>, Vec<u8>, x509_cert::Certificate) {
        let k = key(self.alg, cn);
        let req = CertRequest::for_own_key(
            k.as_ref(),
            crate::name::parse_dn(&format!("CN={cn},O=t,C=CN")).unwrap(),
        );
        let token = self
            .issuer
            .prepare(profile, &req, SystemTime::now())
            .unwrap();
        let issued = self.issuer.issue(token).unwrap();
        let cert = x509_cert::Certificate::from_der(&issued.der).unwrap();
        (k, issued.der, cert)
    }

    pub fn cert(&self) -> &x509_cert::Certificate {
        self.issuer.certificate()
    }
}

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
    let root = TestRoot::new(alg, cn);
    let (k, der, cert) = root.issue("maker-production", cn);
    (k, der, cert, root.cert().clone())
}
