//! Client-certificate TLS: a rustls client verifier trusting our service and device CAs and checking
//! their CRLs. rustls fixes CRLs when a verifier is built, so `SwappableVerifier` holds the current one
//! and the server replaces it, atomically, whenever a revocation changes a CRL. The verified
//! certificate reaches handlers as `PeerCertificate`.

use std::sync::{Arc, RwLock};

use rustls::client::danger::HandshakeSignatureValid;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::WebPkiClientVerifier;
use rustls::{DigitallySignedStruct, DistinguishedName, RootCertStore, SignatureScheme};

use crate::app::App;
use crate::error::AppError;

/// The end-entity certificate (DER) a TLS client presented and the handshake verified: put in
/// every request's extensions by the TLS accept loop, read by `app_auth::AppRequest`, which
/// makes an app credential's certificate the acting app.
#[derive(Clone, Debug)]
pub struct PeerCertificate(pub Arc<Vec<u8>>);

/// The CAs whose certificates may authenticate clients: applications and seal controllers.
pub const CLIENT_CAS: [&str; 2] = ["service", "device"];

#[derive(Debug)]
pub struct SwappableVerifier {
    current: RwLock<Arc<dyn ClientCertVerifier>>,
    hints: Vec<DistinguishedName>,
    mandatory: bool,
}

impl SwappableVerifier {
    fn inner(&self) -> Arc<dyn ClientCertVerifier> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn swap(&self, next: Arc<dyn ClientCertVerifier>) {
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = next;
    }
}

impl ClientCertVerifier for SwappableVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }
    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &self.hints
    }
    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        self.inner()
            .verify_client_cert(end_entity, intermediates, now)
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner().verify_tls12_signature(message, cert, dss)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner().verify_tls13_signature(message, cert, dss)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner().supported_verify_schemes()
    }
}

/// A verifier over the current full CRLs of the client CAs (publishing fresh ones when a revocation
/// came after the newest).
async fn build(
    app: &App,
    mandatory: bool,
) -> Result<(Arc<dyn ClientCertVerifier>, Vec<DistinguishedName>), AppError> {
    let mut roots = RootCertStore::empty();
    let mut crls = Vec::new();
    // Every key of the client CAs, including keys a rollover kept: their certificates stay valid.
    for key in app.ca_keys() {
        if !CLIENT_CAS.contains(&key.name()) {
            continue;
        }
        let ca = key.label.as_str();
        roots
            .add(CertificateDer::from(key.issuer.der().to_vec()))
            .map_err(|e| AppError::Internal(format!("client CA {ca}: {e}")))?;
        let head = app.store.revocation_log_head(Some(ca)).await?;
        for part in app.crl_parts(ca).await? {
            let full = match app.store.crl_latest(ca, part, "full").await? {
                Some(row) if row.log_seq >= head && row.next_update > crate::store::now() => {
                    row.der
                }
                _ => app.publish_crl(ca, part, true).await?.der,
            };
            crls.push(CertificateRevocationListDer::from(full));
        }
    }
    let roots = Arc::new(roots);
    let hints = roots.subjects();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut builder = WebPkiClientVerifier::builder_with_provider(roots, provider)
        .with_crls(crls)
        .only_check_end_entity_revocation();
    if !mandatory {
        builder = builder.allow_unauthenticated();
    }
    let v = builder
        .build()
        .map_err(|e| AppError::Internal(format!("client verifier: {e}")))?;
    Ok((v, hints))
}

pub async fn verifier(app: &App, mandatory: bool) -> Result<Arc<SwappableVerifier>, AppError> {
    let (v, hints) = build(app, mandatory).await?;
    Ok(Arc::new(SwappableVerifier {
        current: RwLock::new(v),
        hints,
        mandatory,
    }))
}

/// Rebuild and swap the verifier when the revocation log moved; returns the head it reflects.
pub async fn refresh(app: &App, v: &SwappableVerifier, seen: i64) -> Result<i64, AppError> {
    let head = app.store.revocation_log_head(None).await?;
    if head != seen {
        let (next, _) = build(app, v.mandatory).await?;
        v.swap(next);
        tracing::info!(head, "client certificate verifier rebuilt with fresh CRLs");
    }
    Ok(head)
}
