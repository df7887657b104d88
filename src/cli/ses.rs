//! `sealpki ses make | sign | verify | inspect`: GB/T 38540 seals from the command line. Keys come
//! from a PEM PKCS#8 file or one of our key stores; timestamps from this deployment's TSA.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use clap::Subcommand;
use sealpki_pki::der::Decode;
use sealpki_pki::keys::software::{SoftKey, SoftSigner};
use sealpki_pki::ses::{self, CertList, Decoded, Picture, Seal, SealInfo, SesSignature, Version};
use sealpki_pki::x509_cert::Certificate;
use sealpki_pki::Signer;

use crate::access::Actor;
use crate::app::App;
use crate::config::Config;
use crate::error::AppError;
use crate::signing::{CertChoice, SigningKey, Use};

#[derive(Subcommand, Debug)]
pub enum SesCmd {
    /// Make a seal (制章): seal information with the picture and the holders' certificates, signed
    /// by the maker.
    Make {
        /// Maker's private key, PEM PKCS#8 (unencrypted).
        #[arg(long, conflicts_with = "maker_key")]
        maker_key_file: Option<PathBuf>,
        /// Maker's key in one of our key stores (soft:NAME or pkcs11:…).
        #[arg(long)]
        maker_key: Option<String>,
        /// Maker's certificate (PEM; from the maker CA).
        #[arg(long)]
        maker_cert: PathBuf,
        /// Seal name, e.g. 示例有限公司合同专用章.
        #[arg(long)]
        name: String,
        /// Seal identifier (esID, ASCII), e.g. the 13-digit seal code.
        #[arg(long)]
        es_id: String,
        /// Seal type (1 official seal, 2 special-purpose, 3 finance, 4 personal name seal, …).
        #[arg(long, default_value_t = 1)]
        seal_type: i64,
        /// Seal picture: PNG, JPG, GIF, BMP or SVG.
        #[arg(long)]
        image: PathBuf,
        /// Picture width and height in mm (a round company seal is 42 mm).
        #[arg(long, default_value_t = 42)]
        width_mm: i64,
        #[arg(long, default_value_t = 42)]
        height_mm: i64,
        /// A holder's signing certificate (PEM); repeat for several.
        #[arg(long = "signer-cert", required = true)]
        signer_certs: Vec<PathBuf>,
        /// List SM3 digests of the certificates instead of the certificates.
        #[arg(long)]
        digests: bool,
        /// Days the seal is valid from now.
        #[arg(long, default_value_t = 365)]
        valid_days: u64,
        /// Days from now until the seal's validity starts (0: now). The validity runs for
        /// --valid-days from that start.
        #[arg(long, default_value_t = 0)]
        start_days: u64,
        /// 4 (GB/T 38540-2020) or 5 (GM/T 0031-2025, with a timestamp from our TSA).
        #[arg(long, default_value_t = 4)]
        seal_version: u8,
        #[arg(long)]
        out: PathBuf,
    },
    /// Sign data with a seal (a detached SES_Signature over the SM3 hash of the data).
    Sign {
        #[arg(long)]
        seal: PathBuf,
        /// Holder's private key, PEM PKCS#8 (unencrypted).
        #[arg(long, conflicts_with = "key")]
        key_file: Option<PathBuf>,
        /// Holder's key in one of our key stores.
        #[arg(long)]
        key: Option<String>,
        /// Holder's certificate (PEM); must be in the seal's list.
        #[arg(long)]
        cert: PathBuf,
        #[arg(long)]
        data: PathBuf,
        /// propertyInfo (ASCII); defaults to the data file's name.
        #[arg(long)]
        property: Option<String>,
        /// Add a timestamp over the signature from this deployment's TSA.
        #[arg(long)]
        timestamp: bool,
        #[arg(long)]
        out: PathBuf,
    },
    /// Verify a seal or a seal signature. Exit 0 valid, 1 invalid, 2 indeterminate (e.g. no trusted
    /// chain, or no --data for a signature), 3 or more unreadable input or usage.
    Verify {
        /// Seal (SESeal) or signature (SES_Signature), DER; any version.
        file: PathBuf,
        /// The signed data.
        #[arg(long)]
        data: Option<PathBuf>,
        /// Trust anchors and intermediates (PEM); chains must end at a self-signed one of these.
        #[arg(long)]
        trust: Vec<PathBuf>,
        /// Check the maker's and signer's certificates for revocation online (OCSP from their
        /// AIA, else CRLs from their distribution points); not established means indeterminate.
        #[arg(long)]
        online: bool,
    },
    /// Print what a seal or seal signature holds (any version, v1/v4/v5).
    Inspect {
        file: PathBuf,
        /// Write the seal picture to this file.
        #[arg(long)]
        picture: Option<PathBuf>,
    },
}

pub(crate) fn read(p: &Path) -> Result<Vec<u8>, AppError> {
    std::fs::read(p).map_err(|e| AppError::BadRequest(format!("cannot read {}: {e}", p.display())))
}

pub(crate) fn certs_pem(p: &Path) -> Result<Vec<Vec<u8>>, AppError> {
    let ders = sealpki_pki::pem::parse_certs(&read(p)?)
        .map_err(|e| AppError::BadRequest(format!("{}: {e}", p.display())))?;
    if ders.is_empty() {
        return Err(AppError::BadRequest(format!(
            "{}: no certificate",
            p.display()
        )));
    }
    for d in &ders {
        Certificate::from_der(d)
            .map_err(|e| AppError::BadRequest(format!("{}: {e}", p.display())))?;
    }
    Ok(ders)
}

pub(crate) fn key_file(p: &Path) -> Result<Arc<dyn Signer>, AppError> {
    let key = SoftKey::from_pem(&read(p)?)
        .map_err(|e| AppError::BadRequest(format!("{}: {e}", p.display())))?;
    Ok(Arc::new(SoftSigner::from_key("key-file", key)?))
}

/// The signing key for `ses make` / `ses sign`: a PEM key file (only matched against the
/// certificate), or a stored key opened by the signing service for `use_` (purpose, certificate
/// status; audited by the caller through `App::record_signature`).
async fn signing_key(
    config: &Config,
    file: Option<&PathBuf>,
    key: Option<&String>,
    cert: &Path,
    use_: Use,
) -> Result<(SigningKey, Option<Arc<App>>), AppError> {
    let der = certs_pem(cert)?.remove(0);
    let c = Certificate::from_der(&der).map_err(|e| AppError::BadRequest(e.to_string()))?;
    match (file, key) {
        (Some(f), _) => Ok((
            SigningKey::from_file(key_file(f)?, c, Vec::new()).map_err(|_| {
                AppError::BadRequest("the key does not match the certificate".into())
            })?,
            None,
        )),
        (None, Some(k)) => {
            let app = App::open(config.clone()).await?;
            let key = app
                .signing_key(&Actor::cli(), k, CertChoice::Given(Box::new(c)), use_)
                .await?;
            Ok((key, Some(app)))
        }
        (None, None) => Err(AppError::BadRequest(
            "give a key: --key-file KEY.pem or --key KEYREF".into(),
        )),
    }
}

/// A token from this deployment's TSA over `data`.
async fn timestamp(config: &Config, data: &[u8]) -> Result<Vec<u8>, AppError> {
    let app = App::open(config.clone()).await?;
    let tsa = app.tsa().ok_or_else(|| {
        AppError::Unavailable("no time-stamping key: run the key ceremony".into())
    })?;
    let (_, serial_hex) = sealpki_pki::issue::random_serial();
    let serial = hex::decode(serial_hex).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(tsa.token_over(data, &serial, SystemTime::now())?)
}

fn picture_kind(path: &Path, data: &[u8]) -> Result<&'static str, AppError> {
    let kind = if data.starts_with(b"\x89PNG\r\n\x1a\n") {
        "PNG"
    } else if data.starts_with(&[0xff, 0xd8, 0xff]) {
        "JPG"
    } else if data.starts_with(b"GIF8") {
        "GIF"
    } else if data.starts_with(b"BM") {
        "BMP"
    } else if std::str::from_utf8(&data[..data.len().min(1024)]).is_ok_and(|s| s.contains("<svg")) {
        "SVG"
    } else {
        return Err(AppError::BadRequest(format!(
            "{}: not a PNG, JPG, GIF, BMP or SVG picture",
            path.display()
        )));
    };
    Ok(kind)
}

fn write(p: &Path, data: &[u8]) -> Result<(), AppError> {
    // Write beside and rename: a failure leaves no partial output file.
    let tmp = p.with_extension("partial");
    std::fs::write(&tmp, data)
        .and_then(|_| std::fs::rename(&tmp, p))
        .map_err(|e| AppError::BadRequest(format!("cannot write {}: {e}", p.display())))
}

fn decode(file: &Path) -> Result<Decoded, AppError> {
    ses::decode(&read(file)?).map_err(|e| AppError::BadRequest(format!("{}: {e}", file.display())))
}

/// Run a `ses` command; returns the exit code.
pub async fn run(cmd: SesCmd, config: &Config, json: bool) -> Result<i32, AppError> {
    match cmd {
        SesCmd::Make {
            maker_key_file,
            maker_key,
            maker_cert,
            name,
            es_id,
            seal_type,
            image,
            width_mm,
            height_mm,
            signer_certs,
            digests,
            valid_days,
            start_days,
            seal_version,
            out,
        } => {
            let version = match seal_version {
                4 => Version::V4,
                5 => Version::V5,
                v => {
                    return Err(AppError::BadRequest(format!(
                        "--seal-version {v}: seals are made as 4 (GB/T 38540-2020) or 5 (GM/T 0031-2025)"
                    )))
                }
            };
            let (maker_key, app) = signing_key(
                config,
                maker_key_file.as_ref(),
                maker_key.as_ref(),
                &maker_cert,
                Use::MakeSeal,
            )
            .await
            .map_err(|e| match e {
                AppError::BadRequest(m) if m.contains("does not match") => AppError::BadRequest(
                    "the maker key does not match the maker certificate".into(),
                ),
                other => other,
            })?;
            let maker = maker_key.signer.clone();
            let maker_der = maker_key.cert_der()?;
            let mut holders = Vec::new();
            for f in &signer_certs {
                holders.extend(certs_pem(f)?);
            }
            let certs = if digests {
                CertList::Digests(holders.iter().map(|c| ses::cert_digest(c)).collect())
            } else {
                CertList::Certs(holders)
            };
            let data = read(&image)?;
            let now = SystemTime::now();
            let info = SealInfo {
                header_version: 4,
                vendor_id: ses::VENDOR_ID.into(),
                es_id,
                seal_type,
                name,
                certs,
                create_date: now,
                valid_start: now + Duration::from_secs(start_days * 86_400),
                valid_end: now + Duration::from_secs((start_days + valid_days) * 86_400),
                picture: Picture {
                    kind: picture_kind(&image, &data)?.into(),
                    data,
                    width_mm,
                    height_mm,
                },
                ext_datas: None,
            };
            let mut seal = Seal::make(version, info, &maker_der, &maker)?;
            if version == Version::V5 {
                let token = timestamp(config, &seal.signature).await?;
                seal = seal.with_timestamp(token)?;
            }
            if let Some(app) = &app {
                app.record_signature(
                    &Actor::cli(),
                    "ses.make",
                    &maker_key,
                    serde_json::json!({"out": out, "version": version.name(),
                        "sha256": sealpki_pki::alg::sha256_hex(&seal.der)}),
                )
                .await?;
            }
            write(&out, &seal.der)?;
            crate::cli::out(
                json,
                &serde_json::json!({"out": out, "version": version.name(), "bytes": seal.der.len()}),
                || {
                    format!(
                        "{} seal written to {} ({} bytes)\n",
                        version.name(),
                        out.display(),
                        seal.der.len()
                    )
                },
            );
            Ok(0)
        }
        SesCmd::Sign {
            seal,
            key_file,
            key,
            cert,
            data,
            property,
            timestamp: want_ts,
            out,
        } => {
            // Who signs is settled before any input is read.
            let (sk, app) = signing_key(
                config,
                key_file.as_ref(),
                key.as_ref(),
                &cert,
                Use::Document,
            )
            .await?;
            let Decoded::Seal(seal_v, _) = decode(&seal)? else {
                return Err(AppError::BadRequest(format!(
                    "{}: a seal signature, not a seal",
                    seal.display()
                )));
            };
            let signer = sk.signer.clone();
            let cert_der = sk.cert_der()?;
            let bytes = read(&data)?;
            let property = property.unwrap_or_else(|| {
                data.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            });
            let property: String = property.chars().filter(char::is_ascii).collect();
            let mut sig = SesSignature::sign(
                &seal_v,
                &bytes,
                &property,
                &cert_der,
                &signer,
                SystemTime::now(),
            )?;
            if want_ts {
                let token = timestamp(config, &sig.signature).await?;
                sig = sig.with_timestamp(token);
            }
            if let Some(app) = &app {
                app.record_signature(
                    &Actor::cli(),
                    "ses.sign",
                    &sk,
                    serde_json::json!({"out": out, "data_sha256": sealpki_pki::alg::sha256_hex(&bytes),
                        "sha256": sealpki_pki::alg::sha256_hex(&sig.der), "timestamp": want_ts}),
                )
                .await?;
            }
            write(&out, &sig.der)?;
            crate::cli::out(
                json,
                &serde_json::json!({"out": out, "bytes": sig.der.len(), "timestamp": want_ts}),
                || {
                    format!(
                        "seal signature written to {} ({} bytes)\n",
                        out.display(),
                        sig.der.len()
                    )
                },
            );
            Ok(0)
        }
        SesCmd::Verify {
            file,
            data,
            trust,
            online,
        } => {
            let decoded = decode(&file)?;
            let data = data.as_deref().map(read).transpose()?;
            let mut anchors = Vec::new();
            for t in &trust {
                for d in certs_pem(t)? {
                    anchors.push(
                        Certificate::from_der(&d)
                            .map_err(|e| AppError::BadRequest(e.to_string()))?,
                    );
                }
            }
            let fetched =
                online.then(|| crate::signing::ltv::ses_revocation_data(&decoded, &anchors));
            let report = ses::verify(
                &decoded,
                &ses::VerifyInput {
                    data: data.as_deref(),
                    trust: &anchors,
                    now: SystemTime::now(),
                    revocation: fetched
                        .as_ref()
                        .map(|v| sealpki_pki::validate::revocation::Data {
                            crls: &v.crls,
                            ocsp: &v.ocsps,
                        }),
                },
            );
            let mut report = report;
            if online {
                // A trusted answer that the seal is lost, revoked or expired makes it invalid;
                // no trusted answer is a warning.
                crate::signing::seal_status::check_ses(&mut report, &decoded, &anchors);
            }
            crate::cli::out(json, &serde_json::json!(report), || report.to_text());
            Ok(report.verdict.exit_code())
        }
        SesCmd::Inspect { file, picture } => {
            let decoded = decode(&file)?;
            let (seal, warnings) = match &decoded {
                Decoded::Seal(s, w) => (&**s, w),
                Decoded::Signature(s, w) => (&s.seal, w),
            };
            if let Some(p) = &picture {
                write(p, &seal.info.picture.data)?;
            }
            let value = sealpki_pki::ses::describe(&decoded, warnings);
            crate::cli::out(json, &value, || {
                serde_json::to_string_pretty(&value).unwrap_or_default() + "\n"
            });
            Ok(0)
        }
    }
}
