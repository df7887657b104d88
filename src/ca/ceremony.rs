//! The key ceremony: from a TOML file, make the root and the issuing CAs (root, seal, maker, device,
//! service), the TSA, one OCSP responder per issuing CA and the audit key; store and audit it all in
//! one transaction. Also the first administrator account.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::SystemTime;

use argon2::password_hash::{PasswordHasher, SaltString};
use sealpki_pki::name::parse_dn;
use sealpki_pki::{CertRequest, Issuer, KeyAlgorithm, Profiles, SignatureScheme, Signer};
use serde::Deserialize;
use serde_json::json;

use crate::app::{unix, App, CA_NAMES};
use crate::error::AppError;
use crate::store::{AccountRow, CaRow, KeyPurpose, KeyRow, PendingCert, Role, Store};

/// The development ceremony used by `sealpki serve` without a config (also `fixtures/ceremony-dev.toml`).
pub const DEV_CEREMONY: &str = include_str!("../../fixtures/ceremony-dev.toml");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ceremony {
    /// A development hierarchy (`fixtures/ceremony-dev.toml`): recorded, so that `sealpki bench`,
    /// which signs with the CA keys, runs on development data only.
    #[serde(default)]
    pub development: bool,
    #[serde(default)]
    pub defaults: Defaults,
    pub ca: BTreeMap<String, KeySpec>,
    pub tsa: KeySpec,
    #[serde(default)]
    pub ocsp: KeySpec,
    #[serde(default)]
    pub audit: KeySpec,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    #[serde(default = "default_alg")]
    pub algorithm: String,
    #[serde(default = "default_backend")]
    pub backend: String,
    pub organization: Option<String>,
    pub country: Option<String>,
}

impl Default for Defaults {
    fn default() -> Self {
        Defaults {
            algorithm: default_alg(),
            backend: default_backend(),
            organization: None,
            country: None,
        }
    }
}

fn default_alg() -> String {
    "p256".into()
}
fn default_backend() -> String {
    "software".into()
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeySpec {
    pub subject: Option<String>,
    pub algorithm: Option<String>,
    /// `rsa-pss-sha256` to sign with PSS; otherwise the key's default scheme.
    pub scheme: Option<String>,
    /// `software` or `pkcs11:TOKEN_LABEL`.
    pub backend: Option<String>,
    pub validity_days: Option<u32>,
}

/// What the ceremony made, for the operator's record.
#[derive(Debug, serde::Serialize)]
pub struct CeremonyReport {
    pub generation: i64,
    pub cas: Vec<(String, String, String)>,
    pub certificates: Vec<(String, String, String)>,
}

/// A service certificate made in the ceremony (TSA, OCSP responder, audit signer).
struct Leaf {
    profile: String,
    ca: String,
    signer: Arc<dyn Signer>,
    issued: sealpki_pki::Issued,
    purpose: KeyPurpose,
}

struct Made {
    signer: Arc<dyn Signer>,
    backend: String,
    purpose: KeyPurpose,
}

impl Ceremony {
    pub fn parse(text: &str) -> Result<Self, AppError> {
        let c: Ceremony = toml::from_str(text)
            .map_err(|e| AppError::BadRequest(format!("ceremony file: {e}")))?;
        for name in c.ca.keys() {
            if !CA_NAMES.contains(&name.as_str()) {
                return Err(AppError::BadRequest(format!(
                    "ceremony file: unknown CA {name:?} (expected {})",
                    CA_NAMES.join(", ")
                )));
            }
        }
        for name in CA_NAMES {
            if !c.ca.contains_key(name) {
                return Err(AppError::BadRequest(format!(
                    "ceremony file: [ca.{name}] is missing"
                )));
            }
        }
        Ok(c)
    }

    fn subject(
        &self,
        spec: &KeySpec,
        fallback_cn: &str,
    ) -> Result<sealpki_pki::x509_cert::name::Name, AppError> {
        let text = match &spec.subject {
            Some(s) => s.clone(),
            None => format!(
                "CN={fallback_cn},O={},C={}",
                self.defaults.organization.as_deref().unwrap_or("sealpki"),
                self.defaults.country.as_deref().unwrap_or("CN")
            ),
        };
        parse_dn(&text).map_err(|e| AppError::BadRequest(format!("ceremony subject {text:?}: {e}")))
    }

    fn alg(&self, spec: &KeySpec) -> Result<KeyAlgorithm, AppError> {
        spec.algorithm
            .as_deref()
            .unwrap_or(&self.defaults.algorithm)
            .parse()
            .map_err(|e| AppError::BadRequest(format!("ceremony: {e}")))
    }

    fn scheme(&self, spec: &KeySpec, alg: KeyAlgorithm) -> Result<SignatureScheme, AppError> {
        let s = match &spec.scheme {
            Some(s) => s
                .parse()
                .map_err(|e| AppError::BadRequest(format!("ceremony: {e}")))?,
            None => alg.default_scheme(),
        };
        if !s.fits(alg) {
            return Err(AppError::BadRequest(format!(
                "ceremony: scheme {s} does not fit {alg} keys"
            )));
        }
        Ok(s)
    }
}

fn make_key(
    app: &App,
    c: &Ceremony,
    spec: &KeySpec,
    name: &str,
    purpose: KeyPurpose,
) -> Result<Made, AppError> {
    let alg = c.alg(spec)?;
    let backend = spec
        .backend
        .clone()
        .unwrap_or_else(|| c.defaults.backend.clone());
    let signer = app.keyring.store(&backend)?.generate(name, alg)?;
    Ok(Made {
        signer,
        backend,
        purpose,
    })
}

/// Run the ceremony. Refuses when a hierarchy exists unless `force`; then a new generation replaces it.
pub async fn run(
    app: &Arc<App>,
    text: &str,
    force: bool,
    actor: &str,
) -> Result<CeremonyReport, AppError> {
    let c = Ceremony::parse(text)?;
    if app.is_initialised() && !force {
        return Err(AppError::Conflict(
            "a CA hierarchy already exists; re-run with --force to create a new generation".into(),
        ));
    }
    let generation = app.store.ca_next_generation().await?;
    let profiles = match app.profiles() {
        Ok(p) => p,
        Err(_) => Profiles::builtin(),
    };
    let now = SystemTime::now();
    let mut keys = Vec::new();

    // Root, then the issuing CAs under it. Key generation may be slow (RSA, tokens): run it off the
    // async executor.
    let app2 = app.clone();
    let c = Arc::new(c);
    let c2 = c.clone();
    let (made, final_cas) = tokio::task::spawn_blocking(move || -> Result<_, AppError> {
        let mut made = Vec::new();
        let root_spec = &c2.ca["root"];
        let root_key = make_key(
            &app2,
            &c2,
            root_spec,
            &format!("root-ca-g{generation}"),
            KeyPurpose::Ca("root".into()),
        )?;
        let root = Issuer::create_root(
            "root",
            root_key.signer.clone(),
            c2.scheme(root_spec, root_key.signer.algorithm())?,
            c2.subject(root_spec, "sealpki Root CA")?,
            root_spec.validity_days.unwrap_or(7305),
            profiles.get("root-ca")?,
            now,
        )?;
        made.push(root_key);
        let root_u = app2.with_urls(&root, "root")?;
        let mut cas = vec![(root, None::<String>)];
        for name in ["seal", "maker", "device", "service"] {
            let spec = &c2.ca[name];
            let key = make_key(
                &app2,
                &c2,
                spec,
                &format!("{name}-ca-g{generation}"),
                KeyPurpose::Ca(name.into()),
            )?;
            let mut req = CertRequest::for_own_key(
                key.signer.as_ref(),
                c2.subject(spec, &format!("sealpki {name} CA"))?,
            );
            if let Some(d) = spec.validity_days {
                req = req.with_validity_days(d);
            }
            let issued = root_u.issue(root_u.prepare(profiles.get("sub-ca")?, &req, now)?)?;
            let scheme = c2.scheme(spec, key.signer.algorithm())?;
            cas.push((
                Issuer::new(
                    name,
                    issued.der,
                    key.signer.clone(),
                    scheme,
                    Default::default(),
                )?,
                Some("root".into()),
            ));
            made.push(key);
        }
        Ok((made, (cas, profiles)))
    })
    .await
    .map_err(|e| AppError::Internal(format!("ceremony task: {e}")))??;
    let (final_cas, profiles) = final_cas;
    keys.extend(made);

    // Service certificates: TSA and audit from the service CA, an OCSP responder per issuing CA.
    let mut leaves: Vec<Leaf> = Vec::new();
    let find = |n: &str| {
        final_cas
            .iter()
            .find(|(i, _)| i.name() == n)
            .map(|(i, _)| i.clone())
            .expect("made above")
    };
    let mut plan: Vec<(&KeySpec, String, String, String, String)> = vec![
        (
            &c.tsa,
            "tsa".into(),
            "service".into(),
            format!("tsa-g{generation}"),
            "sealpki Time-Stamping Authority".into(),
        ),
        (
            &c.audit,
            "audit-signer".into(),
            "service".into(),
            format!("audit-g{generation}"),
            "sealpki Audit Signer".into(),
        ),
    ];
    for ca in ["root", "seal", "maker", "device", "service"] {
        plan.push((
            &c.ocsp,
            "ocsp-responder".into(),
            ca.into(),
            format!("ocsp-{ca}-g{generation}"),
            format!("sealpki {ca} CA OCSP Responder"),
        ));
    }
    for (spec, profile, ca, keyname, cn) in plan {
        let purpose = match profile.as_str() {
            "tsa" => KeyPurpose::Tsa,
            "audit-signer" => KeyPurpose::Audit,
            _ => KeyPurpose::Ocsp(ca.clone()),
        };
        let key = make_key(app, &c, spec, &keyname, purpose.clone())?;
        let issuer = app.with_urls(&find(&ca), &ca)?;
        let mut req = CertRequest::for_own_key(key.signer.as_ref(), c.subject(spec, &cn)?);
        if let Some(d) = spec.validity_days {
            req = req.with_validity_days(d);
        }
        let token = issuer.prepare(profiles.get(&profile)?, &req, now)?;
        let issued = issuer.issue(token)?;
        leaves.push(Leaf {
            profile,
            ca,
            signer: key.signer.clone(),
            issued,
            purpose,
        });
        keys.push(key);
    }

    // Everything lands in one transaction: a crash leaves either the old hierarchy or the new one.
    let mut tx = app.store.begin().await?;
    let ts = crate::store::now();
    Store::ca_retire_all(&mut tx).await?;
    if app.profiles().is_err() {
        for p in profiles.iter() {
            Store::profile_upsert(&mut tx, &p.name, &Profiles::to_toml(p), ts).await?;
        }
        app.audit
            .append(
                &mut tx,
                actor,
                "profiles.store",
                json!({"profiles": profiles.iter().map(|p| &p.name).collect::<Vec<_>>()}),
            )
            .await?;
    }
    Store::ceremony_insert(&mut tx, generation, c.development, actor, ts).await?;
    app.audit
        .append(
            &mut tx,
            actor,
            "ceremony.start",
            json!({"generation": generation, "force": force, "development": c.development}),
        )
        .await?;
    let mut report = CeremonyReport {
        generation,
        cas: vec![],
        certificates: vec![],
    };
    for k in &keys {
        let spki = sealpki_pki::der::Encode::to_der(k.signer.public_key())
            .map_err(|e| AppError::Internal(e.to_string()))?;
        app.audit
            .append(&mut tx, actor, "key.generate", json!({"key": k.signer.key_ref().to_string(), "algorithm": k.signer.algorithm().name(),
                "backend": k.backend, "purpose": k.purpose.to_string(), "spki_sha256": sealpki_pki::alg::sha256_hex(spki.as_slice())}))
            .await?;
    }
    for (issuer, parent) in &final_cas {
        let serial =
            sealpki_pki::issue::serial_hex(&issuer.certificate().tbs_certificate.serial_number);
        let fp = sealpki_pki::alg::sha256_hex(issuer.der());
        Store::ca_insert(
            &mut tx,
            &CaRow {
                name: issuer.name().into(),
                label: issuer.name().into(),
                generation,
                parent: parent.clone(),
                key_ref: issuer.signer().key_ref().to_string(),
                scheme: issuer.scheme().name().into(),
                cert_der: issuer.der().to_vec(),
                serial: serial.clone(),
                active: true,
                serving: true,
                created_at: ts,
            },
        )
        .await?;
        record_cert(
            &mut tx,
            &issuer.certificate().tbs_certificate,
            issuer.der(),
            &serial,
            &fp,
            parent.as_deref().unwrap_or("root"),
            parent.as_deref().unwrap_or("root"),
            if parent.is_some() {
                "sub-ca"
            } else {
                "root-ca"
            },
            actor,
        )
        .await?;
        app.audit
            .append(
                &mut tx,
                actor,
                "ca.create",
                json!({"ca": issuer.name(), "generation": generation, "serial": serial,
                "sha256": fp, "subject": issuer.certificate().tbs_certificate.subject.to_string()}),
            )
            .await?;
        report.cas.push((issuer.name().into(), serial, fp));
    }
    let mut leaf_serial = BTreeMap::new();
    for Leaf {
        profile,
        ca,
        signer,
        issued,
        purpose,
    } in &leaves
    {
        let cert = <sealpki_pki::x509_cert::Certificate as sealpki_pki::der::Decode>::from_der(
            &issued.der,
        )
        .map_err(|e| AppError::Internal(e.to_string()))?;
        record_cert(
            &mut tx,
            &cert.tbs_certificate,
            &issued.der,
            &issued.serial_hex,
            &issued.fingerprint,
            ca,
            ca,
            profile,
            actor,
        )
        .await?;
        app.audit
            .append(&mut tx, actor, "certificate.issue", json!({"serial": issued.serial_hex, "ca": ca, "profile": profile, "sha256": issued.fingerprint}))
            .await?;
        leaf_serial.insert(signer.key_ref().to_string(), issued.serial_hex.clone());
        report.certificates.push((
            purpose.to_string(),
            issued.serial_hex.clone(),
            issued.fingerprint.clone(),
        ));
    }
    for k in &keys {
        let spki = sealpki_pki::der::Encode::to_der(k.signer.public_key())
            .map_err(|e| AppError::Internal(e.to_string()))?;
        let kr = k.signer.key_ref().to_string();
        let cert_serial = leaf_serial.get(&kr).cloned().or_else(|| {
            final_cas
                .iter()
                .find(|(i, _)| i.signer().key_ref().to_string() == kr)
                .map(|(i, _)| {
                    sealpki_pki::issue::serial_hex(&i.certificate().tbs_certificate.serial_number)
                })
        });
        Store::key_insert(
            &mut tx,
            &KeyRow {
                key_ref: kr,
                algorithm: k.signer.algorithm().name().into(),
                backend: k.backend.clone(),
                purpose: k.purpose.clone(),
                public_key: spki.as_slice().to_vec(),
                cert_serial,
                created_at: ts,
            },
        )
        .await?;
    }
    // The new audit key signs the head as the ceremony's last act.
    if let Some(Leaf { signer, issued, .. }) =
        leaves.iter().find(|l| l.purpose == KeyPurpose::Audit)
    {
        app.audit
            .set_checkpoint_key(Some(crate::audit::CheckpointKey {
                scheme: signer.algorithm().default_scheme(),
                signer: signer.clone(),
                cert_der: issued.der.clone(),
            }));
    }
    let (seq, head) = app
        .audit
        .append(
            &mut tx,
            actor,
            "ceremony.complete",
            json!({"generation": generation, "cas": report.cas}),
        )
        .await?;
    app.audit.checkpoint(&mut tx, seq, &head).await?;
    tx.commit().await.map_err(crate::store::StoreError::from)?;
    app.reload().await?;
    Ok(report)
}

/// Record a certificate the ceremony (or a rollover) made as issued by CA key `ca_key` of CA `ca`.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn record_cert(
    tx: &mut crate::store::Tx<'_>,
    tbs: &sealpki_pki::x509_cert::TbsCertificate,
    der: &[u8],
    serial: &str,
    fingerprint: &str,
    ca: &str,
    ca_key: &str,
    profile: &str,
    actor: &str,
) -> Result<(), AppError> {
    use sealpki_pki::der::Encode;
    let tbs_der = tbs
        .to_der()
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let pending = PendingCert {
        serial: serial.into(),
        ca: ca.into(),
        ca_key: ca_key.into(),
        crl_part: 0,
        profile: profile.into(),
        subject: tbs.subject.to_string(),
        not_before: unix(tbs.validity.not_before.to_system_time()),
        not_after: unix(tbs.validity.not_after.to_system_time()),
        tbs: tbs_der,
        requested_by: actor.into(),
    };
    let ts = crate::store::now();
    Store::cert_insert_pending(tx, &pending, ts).await?;
    Store::cert_mark_issued(tx, serial, der, fingerprint, ts).await?;
    Ok(())
}

/// Create the first administrator if there is no operator yet. Returns the generated password when
/// none was supplied, so the caller can show it once.
pub async fn ensure_admin(app: &App, password: Option<String>) -> Result<Option<String>, AppError> {
    if app.store.account_count().await? > 0 {
        return Ok(None);
    }
    let (password, generated) = match password {
        Some(p) if p.len() >= 12 => (p, false),
        Some(_) => {
            return Err(AppError::BadRequest(
                "SEALPKI_ADMIN_PASSWORD must have at least 12 characters".into(),
            ))
        }
        None => {
            use rand_core::RngCore;
            let mut b = [0u8; 18];
            rand_core::OsRng.fill_bytes(&mut b);
            (
                base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, b),
                true,
            )
        }
    };
    let hash = hash_password(&password)?;
    let mut tx = app.store.begin().await?;
    Store::account_insert(
        &mut tx,
        &AccountRow::staff("admin", hash, Role::Admin, crate::store::now()),
    )
    .await?;
    app.audit
        .append(
            &mut tx,
            "system",
            "operator.create",
            json!({"username": "admin", "role": "admin"}),
        )
        .await?;
    tx.commit().await.map_err(crate::store::StoreError::from)?;
    Ok(generated.then_some(password))
}

pub fn hash_password(password: &str) -> Result<String, AppError> {
    let salt = SaltString::generate(&mut rand_core::OsRng);
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::Internal(format!("password hashing: {e}")))
}
