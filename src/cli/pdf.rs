//! `sealpki pdf sign|verify`: PAdES signatures on files or whole folders.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use clap::{Args, Subcommand};
use sealpki_pki::der::Decode;
use sealpki_pki::pdf::image::SealImage;
use sealpki_pki::pdf::reader::Document;
use sealpki_pki::pdf::sign::{self, SignOptions, SubFilter, Timestamper};
use sealpki_pki::pdf::verify::{self, Report, VerifyOptions};
use sealpki_pki::pdf::PdfError;
use sealpki_pki::report::Verdict;
use sealpki_pki::x509_cert::Certificate;
use sealpki_pki::SignatureScheme;

use crate::access::Actor;
use crate::app::App;
use crate::cli::progress::Progress;
use crate::config::Config;
use crate::error::AppError;
use crate::signing::pades::FileOutput;
use crate::signing::placement::{appearance, Placement};
use crate::signing::{self, CertChoice, Level, Origin, SigningKey, Use};

#[derive(Subcommand, Debug)]
pub enum PdfCmd {
    /// Seal a PDF (or every PDF in a folder) with a PAdES signature, visible or not.
    Sign(Box<SignArgs>),
    /// Check every signature of a PDF (or of every PDF in a folder). Exit 0 when all are valid and
    /// nothing disallowed follows them, 1 when any is invalid, 2 when the best answer is
    /// indeterminate (untrusted chain, no signatures), 3 for usage errors or unreadable input.
    Verify(VerifyArgs),
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// A PDF, or a folder of PDFs.
    file: PathBuf,
    /// Trusted root certificates (PEM; repeat or put several in one file).
    #[arg(long)]
    trust: Vec<PathBuf>,
    /// Password of an encrypted PDF (or SEALPKI_PDF_PASSWORD).
    #[arg(long, env = "SEALPKI_PDF_PASSWORD", hide_env_values = true)]
    password: Option<String>,
    /// Write each signature's seal picture here (FIELD-N.png or .jpg).
    #[arg(long)]
    extract_images: Option<PathBuf>,
    /// Ask the issuing platform of each seal certificate for the seal's signed status (国办发
    /// 〔2025〕33号): a lost, revoked or expired seal makes its signature invalid; a platform
    /// without seal status is a warning.
    #[arg(long)]
    online: bool,
}

#[derive(Args, Debug)]
pub struct SignArgs {
    /// The PDF to sign, or a folder: then every *.pdf in it is signed into --out (a folder).
    #[arg(long = "in")]
    input: PathBuf,
    /// Where the signed PDF goes (written beside and renamed: a failure leaves no file).
    #[arg(long)]
    out: PathBuf,
    /// A key in the configured key stores (soft:NAME or pkcs11:token=LABEL;object=NAME).
    #[arg(long, conflicts_with = "key_file")]
    key: Option<String>,
    /// An unencrypted PKCS#8 PEM private key file.
    #[arg(long)]
    key_file: Option<PathBuf>,
    /// The signer's certificate (PEM).
    #[arg(long)]
    cert: PathBuf,
    /// Intermediate certificates to embed (PEM, any number in one file).
    #[arg(long)]
    chain: Option<PathBuf>,
    /// Signature scheme (default: the key's; rsa-pss-sha256 for RSA-PSS).
    #[arg(long)]
    scheme: Option<String>,
    /// Seal picture (PNG with transparency, or JPEG). Without it the signature is invisible.
    #[arg(long)]
    image: Option<PathBuf>,
    /// Page for the seal, from 1 (default 1; with --keyword, the page to search, default all).
    #[arg(long)]
    page: Option<usize>,
    /// Centre of the seal from the top-left corner of the page as displayed: X,Y in mm, or with a
    /// unit: 120mm,40mm or 340pt,113pt. Default: 35 mm from the right edge, 45 mm from the bottom.
    #[arg(long)]
    at: Option<String>,
    /// Seal width in mm (the height follows the picture); default 42 mm (a round company seal), or
    /// the width a --seal records.
    #[arg(long)]
    size_mm: Option<f64>,
    /// A GB/T 38540 seal (SESeal DER from `ses make`): its picture is shown, its validity window and
    /// its list of holders must admit the signer's certificate; with an SM2 key the signature is
    /// GB/T 35275 SM2 CMS.
    #[arg(long, conflicts_with = "image")]
    seal: Option<PathBuf>,
    /// Centre the seal on the first place this text appears on the page(s), e.g. 盖章处.
    #[arg(long, conflicts_with_all = ["at", "cross_page"])]
    keyword: Option<String>,
    /// 骑缝章: cut the seal into one vertical slice per page along the right edge of every page
    /// (its centre at --at's Y, or half-way down).
    #[arg(long, conflicts_with_all = ["page"])]
    cross_page: bool,
    /// PAdES level. b-lt and b-lta fetch an OCSP answer (else the CRL) for every certificate below
    /// the root of the signer's and the TSA's chains from the http:// URLs the certificates carry.
    #[arg(long, value_enum, default_value = "b-b")]
    level: Level,
    /// Time-stamping authority URL (http://…) for b-t; default: this deployment's own TSA.
    #[arg(long)]
    tsa: Option<String>,
    /// Certify the document (DocMDP): 1 no changes, 2 form filling and signing, 3 also annotations.
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=3))]
    certify: Option<u8>,
    /// Write adbe.pkcs7.detached instead of ETSI.CAdES.detached.
    #[arg(long)]
    pkcs7: bool,
    /// Field name (default: the first free SignatureN).
    #[arg(long)]
    field: Option<String>,
    #[arg(long)]
    reason: Option<String>,
    #[arg(long)]
    location: Option<String>,
    /// Password of an encrypted PDF (user or owner). Prefer --password-file or SEALPKI_PDF_PASSWORD:
    /// a command-line argument is visible to other users of the machine.
    #[arg(long, env = "SEALPKI_PDF_PASSWORD", hide_env_values = true)]
    password: Option<String>,
    /// File holding the password of an encrypted PDF (first line).
    #[arg(long, conflicts_with = "password")]
    password_file: Option<PathBuf>,
    /// With a folder: how many files are signed at once (default: one per CPU core).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=256))]
    jobs: Option<u16>,
    /// A seal holder's token key with its certificate, chain and seal (`ukey sign`), in place of
    /// --key / --key-file, --cert, --chain and --seal.
    #[arg(skip)]
    holder: Option<HolderKey>,
}

/// A key on the holder's own token, outside our custody: like a key file, only the match of key
/// and certificate is checked, and nothing is audited here.
pub(crate) struct HolderKey {
    pub signer: Arc<dyn sealpki_pki::Signer>,
    pub cert: Certificate,
    pub chain: Vec<Certificate>,
    /// The GB/T 38540 structure (DER) whose picture is shown.
    pub seal: Vec<u8>,
}

impl std::fmt::Debug for HolderKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HolderKey({})", self.signer.key_ref())
    }
}

impl SignArgs {
    /// Arguments for sealing `input` into `out` with a holder's token key at a placement.
    pub(crate) fn for_holder(
        input: PathBuf,
        out: PathBuf,
        placement: (Option<usize>, Option<String>, Option<String>),
        level: Level,
        tsa: Option<String>,
        holder: HolderKey,
    ) -> SignArgs {
        let (page, at, keyword) = placement;
        SignArgs {
            input,
            out,
            key: None,
            key_file: None,
            cert: PathBuf::new(),
            chain: None,
            scheme: None,
            image: None,
            page,
            at,
            size_mm: None,
            seal: None,
            keyword,
            cross_page: false,
            level,
            tsa,
            certify: None,
            pkcs7: false,
            field: None,
            reason: None,
            location: None,
            password: None,
            password_file: None,
            // A holder's token signs one document at a time.
            jobs: Some(1),
            holder: Some(holder),
        }
    }
}

impl From<PdfError> for AppError {
    fn from(e: PdfError) -> Self {
        match e {
            PdfError::Refused(_) => AppError::Policy(e.to_string()),
            PdfError::Timestamp(_) => AppError::Unavailable(e.to_string()),
            PdfError::Signing(_) => AppError::Internal(e.to_string()),
            _ => AppError::BadRequest(e.to_string()),
        }
    }
}

/// Everything needed to sign, loaded once for a folder.
struct Kit {
    /// Width in mm a --seal records for its picture.
    seal_width: Option<f64>,
    key: SigningKey,
    scheme: SignatureScheme,
    image: Option<SealImage>,
    tsa: Option<Box<dyn Timestamper + Send + Sync>>,
    password: Option<Vec<u8>>,
    /// The store, when the key is one of ours (its signatures are audited).
    app: Option<Arc<App>>,
    actor: Actor,
}

fn certs(p: &Path) -> Result<Vec<Certificate>, AppError> {
    crate::cli::ses::certs_pem(p)?
        .iter()
        .map(|d| {
            Certificate::from_der(d)
                .map_err(|e| AppError::BadRequest(format!("{}: {e}", p.display())))
        })
        .collect()
}

/// `120,40` (mm), `120mm,40mm`, `340pt,113pt` → points.
fn parse_at(s: &str) -> Result<(f64, f64), AppError> {
    let one = |v: &str| -> Option<f64> {
        let v = v.trim();
        let (num, scale) = if let Some(n) = v.strip_suffix("mm") {
            (n, MM)
        } else if let Some(n) = v.strip_suffix("pt") {
            (n, 1.0)
        } else {
            (v, MM)
        };
        num.trim()
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite() && *x >= 0.0)
            .map(|x| x * scale)
    };
    match s.split_once(',') {
        Some((x, y)) => match (one(x), one(y)) {
            (Some(x), Some(y)) => Ok((x, y)),
            _ => Err(AppError::BadRequest(format!(
                "--at {s:?}: expected X,Y in mm (e.g. 120,40 or 120mm,40mm or 340pt,113pt)"
            ))),
        },
        None => Err(AppError::BadRequest(format!("--at {s:?}: expected X,Y"))),
    }
}

const MM: f64 = 72.0 / 25.4;

/// The placement the command line asks for.
fn placement_of(args: &SignArgs) -> Result<Placement, AppError> {
    Ok(Placement {
        page: args.page,
        at: args.at.as_deref().map(parse_at).transpose()?,
        size_mm: args.size_mm.unwrap_or(42.0),
        keyword: args.keyword.clone(),
        cross_page: args.cross_page,
    })
}

/// The picture of a GB/T 38540 seal (and its width in mm), after checking that the seal is in its
/// validity window and lists `cert` (by certificate or digest).
fn seal_picture(p: &Path, cert: &Certificate) -> Result<(SealImage, f64), AppError> {
    seal_picture_of(&p.display(), &crate::cli::ses::read(p)?, cert)
}

/// The same for a seal's DER named `p` in messages.
fn seal_picture_of(
    p: &dyn std::fmt::Display,
    der_in: &[u8],
    cert: &Certificate,
) -> Result<(SealImage, f64), AppError> {
    use sealpki_pki::der::Encode;
    use sealpki_pki::ses::{self, CertList, Decoded};
    let bad = |m: String| AppError::BadRequest(format!("{p}: {m}"));
    let Decoded::Seal(seal, _) = ses::decode(der_in).map_err(|e| bad(e.to_string()))? else {
        return Err(bad("a seal signature, not a seal".into()));
    };
    let now = SystemTime::now();
    if now < seal.info.valid_start || now > seal.info.valid_end {
        return Err(AppError::Policy(format!(
            "{p}: the seal is outside its validity window"
        )));
    }
    let der = cert
        .to_der()
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let listed = match &seal.info.certs {
        CertList::Certs(list) => list.contains(&der),
        CertList::Digests(list) => list
            .iter()
            .any(|(alg, d)| ses::digest_by_name(alg, &der).as_deref() == Some(d.as_slice())),
    };
    if !listed {
        return Err(AppError::Policy(format!(
            "{p}: the seal does not list the signer's certificate"
        )));
    }
    let img = SealImage::from_bytes(&seal.info.picture.data).map_err(|_| {
        bad(format!(
            "the seal picture ({}) cannot be shown in a PDF: PNG or JPEG only",
            seal.info.picture.kind
        ))
    })?;
    Ok((img, seal.info.picture.width_mm.max(1) as f64))
}

fn sign_one(
    kit: &Kit,
    args: &SignArgs,
    input: &Path,
    output: &Path,
) -> Result<sign::Signed, AppError> {
    let file = std::fs::File::open(input)
        .map_err(|e| AppError::BadRequest(format!("cannot read {}: {e}", input.display())))?;
    let doc = Document::open(Box::new(file), kit.password.as_deref())?;
    let appearance = match &kit.image {
        Some(img) => {
            let mut placement = placement_of(args)?;
            if let (None, Some(w)) = (args.size_mm, kit.seal_width) {
                placement.size_mm = w;
            }
            Some(appearance(&doc, &placement, img)?)
        }
        None => None,
    };
    let opts = SignOptions {
        field_name: args.field.clone(),
        appearance,
        sub_filter: if args.pkcs7 {
            SubFilter::Pkcs7Detached
        } else {
            SubFilter::CadesDetached
        },
        certify: args.certify,
        reason: args.reason.clone(),
        location: args.location.clone(),
        contact_info: None,
        signing_time: SystemTime::now(),
    };
    let mut out = FileOutput::new(output, kit.password.clone());
    let result = (|| {
        let tsa = kit.tsa.as_deref().map(|t| t as &dyn Timestamper);
        let mut signed =
            signing::pades::sign_pdf(&doc, &mut out, &kit.key, kit.scheme, &opts, args.level, tsa)?;
        // After B-LT/B-LTA stages the file is longer than the signed part.
        signed.total_len = std::fs::metadata(out.partial())
            .map(|m| m.len())
            .unwrap_or(signed.total_len);
        if let (Some(app), Origin::Stored { .. }) = (&kit.app, &kit.key.origin) {
            // Audited before the file is moved into place: no unrecorded output.
            let detail = serde_json::json!({"field": signed.field_name, "level": args.level.name(),
                "input": input, "output": output, "input_sha256": signing::file_sha256(input)?,
                "output_sha256": signing::file_sha256(&out.partial())?, "bytes": signed.total_len});
            tokio::runtime::Handle::current()
                .block_on(app.record_signature(&kit.actor, "pdf.sign", &kit.key, detail))?;
        }
        out.commit()?;
        Ok(signed)
    })();
    if result.is_err() {
        out.discard();
    }
    result
}

async fn kit(args: &SignArgs, config: &Config) -> Result<Kit, AppError> {
    let actor = Actor::cli();
    let holder = args.holder.as_ref();
    let (cert, extra) = match holder {
        Some(h) => (h.cert.clone(), h.chain.clone()),
        None => {
            let mut cert_list = certs(&args.cert)?;
            if cert_list.is_empty() {
                return Err(AppError::BadRequest(format!(
                    "{}: no certificate",
                    args.cert.display()
                )));
            }
            let cert = cert_list.remove(0);
            let mut extra = cert_list;
            if let Some(c) = &args.chain {
                extra.extend(certs(c)?);
            }
            (cert, extra)
        }
    };
    let local = args.key.is_some() || (args.level.needs_tsa() && args.tsa.is_none());
    let app = if local {
        Some(App::open(config.clone()).await?)
    } else {
        None
    };
    let key = match (&args.key_file, &args.key, &app) {
        _ if holder.is_some() => match holder {
            Some(h) => SigningKey::from_file(h.signer.clone(), cert, extra)
                .map_err(|e| AppError::BadRequest(format!("the token's certificate: {e}")))?,
            None => return Err(AppError::Internal("holder key".into())),
        },
        (Some(f), _, _) => SigningKey::from_file(crate::cli::ses::key_file(f)?, cert, extra)
            .map_err(|e| AppError::BadRequest(format!("{}: {e}", args.cert.display())))?,
        (None, Some(k), Some(app)) => {
            let mut key = app
                .signing_key(&actor, k, CertChoice::Given(Box::new(cert)), Use::Document)
                .await?;
            for c in extra {
                if !key.chain.contains(&c) {
                    key.chain.push(c);
                }
            }
            key
        }
        _ => {
            return Err(AppError::BadRequest(
                "give a key: --key-file KEY.pem or --key KEYREF".into(),
            ))
        }
    };
    let signer = &key.signer;
    let scheme = match &args.scheme {
        Some(s) => s
            .parse::<SignatureScheme>()
            .map_err(|e| AppError::BadRequest(format!("--scheme: {e}")))?,
        None => signer.algorithm().default_scheme(),
    };
    if !scheme.fits(signer.algorithm()) {
        return Err(AppError::BadRequest(format!(
            "scheme {scheme} does not fit a {} key",
            signer.algorithm().name()
        )));
    }
    let mut image = match &args.image {
        Some(p) => Some(
            SealImage::from_bytes(&crate::cli::ses::read(p)?)
                .map_err(|e| AppError::BadRequest(format!("{}: {e}", p.display())))?,
        ),
        None => None,
    };
    let mut seal_width = None;
    if let Some(h) = holder {
        let (img, width_mm) = seal_picture_of(&"the token's seal", &h.seal, &key.cert)?;
        image = Some(img);
        seal_width = Some(width_mm);
    } else if let Some(p) = &args.seal {
        let (img, width_mm) = seal_picture(p, &key.cert)?;
        image = Some(img);
        seal_width = Some(width_mm);
    }
    let tsa: Option<Box<dyn Timestamper + Send + Sync>> = match (args.level, &args.tsa, &app) {
        (Level::BB, _, _) => None,
        (_, Some(url), _) => Some(Box::new(crate::tsaclient::HttpTsa::new(url)?)),
        (_, None, Some(app)) => {
            let tsa = app.tsa().ok_or_else(|| {
                AppError::Unavailable(
                    "no time-stamping key: run the key ceremony or give --tsa URL".into(),
                )
            })?;
            Some(Box::new(crate::tsaclient::LocalTsa(tsa)))
        }
        (_, None, None) => return Err(AppError::Internal("no store for the local TSA".into())),
    };
    let password = match (&args.password, &args.password_file) {
        (Some(p), _) => Some(p.as_bytes().to_vec()),
        (None, Some(f)) => {
            let text = crate::cli::ses::read(f)?;
            let line = text.split(|b| *b == b'\n').next().unwrap_or_default();
            Some(line.strip_suffix(b"\r").unwrap_or(line).to_vec())
        }
        (None, None) => None,
    };
    Ok(Kit {
        seal_width,
        key,
        scheme,
        image,
        tsa,
        password,
        app: app.filter(|_| args.key.is_some()),
        actor,
    })
}

/// Sign every file of a folder into `args.out`, `--jobs` at a time (default one per core): each
/// worker takes the next file until none is left. Outcomes come back in the files' order.
fn sign_many(kit: &Kit, args: &SignArgs, files: &[PathBuf]) -> Vec<Result<sign::Signed, AppError>> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let jobs = args
        .jobs
        .map_or(cores, usize::from)
        .clamp(1, files.len().max(1));
    let next = AtomicUsize::new(0);
    let progress = Mutex::new(Progress::new(files.len() as u64, "signing"));
    let outcomes: Mutex<Vec<Option<Result<sign::Signed, AppError>>>> =
        Mutex::new((0..files.len()).map(|_| None).collect());
    // Workers are plain threads; the audit of a stored key's signature needs the runtime's handle.
    let handle = tokio::runtime::Handle::current();
    tokio::task::block_in_place(|| {
        std::thread::scope(|s| {
            for _ in 0..jobs {
                s.spawn(|| {
                    let _rt = handle.enter();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(f) = files.get(i) else { break };
                        let name = f.file_name().unwrap_or_default();
                        let r = sign_one(kit, args, f, &args.out.join(name));
                        if let Ok(mut p) = progress.lock() {
                            p.step(&name.to_string_lossy());
                        }
                        if let Some(slot) = outcomes.lock().ok().as_mut().and_then(|o| o.get_mut(i))
                        {
                            *slot = Some(r);
                        }
                    }
                });
            }
        })
    });
    if let Ok(mut p) = progress.lock() {
        p.finish();
    }
    outcomes
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .map(|o| o.unwrap_or_else(|| Err(AppError::Internal("a signing worker stopped".into()))))
        .collect()
}

fn pdfs_in(dir: &Path) -> Result<Vec<PathBuf>, AppError> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| AppError::BadRequest(format!("cannot read folder {}: {e}", dir.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e.eq_ignore_ascii_case("pdf")))
        .collect();
    v.sort();
    Ok(v)
}

fn verify_file(
    path: &Path,
    opts: &VerifyOptions,
    password: Option<&[u8]>,
    online: bool,
) -> Result<Report, AppError> {
    let file = std::fs::File::open(path)
        .map_err(|e| AppError::BadRequest(format!("cannot read {}: {e}", path.display())))?;
    let doc = Document::open(Box::new(file), password)
        .map_err(|e| AppError::BadRequest(format!("{}: {e}", path.display())))?;
    let mut r = verify::verify(&doc, opts)
        .map_err(|e| AppError::BadRequest(format!("{}: {e}", path.display())))?;
    if online {
        crate::signing::seal_status::check_pdf(&mut r, &opts.trust);
    }
    Ok(r)
}

/// Write the seal pictures of every signature into `dir`.
fn extract_images(
    file: &Path,
    password: Option<&[u8]>,
    r: &Report,
    dir: &Path,
) -> Result<(), AppError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| AppError::BadRequest(format!("cannot create {}: {e}", dir.display())))?;
    let f = std::fs::File::open(file)
        .map_err(|e| AppError::BadRequest(format!("cannot read {}: {e}", file.display())))?;
    let doc = Document::open(Box::new(f), password)?;
    for sig in &r.signatures {
        for (i, img) in sig.seal_images.iter().enumerate() {
            let Some(obj) = img.object else { continue };
            let (ext, bytes) = verify::image_file(&doc, obj)?;
            let name: String = sig
                .field
                .chars()
                .map(|c| {
                    if c.is_alphanumeric() || c == '-' || c == '_' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            let path = dir.join(format!("{name}-{}.{ext}", i + 1));
            std::fs::write(&path, bytes).map_err(|e| {
                AppError::BadRequest(format!("cannot write {}: {e}", path.display()))
            })?;
        }
    }
    Ok(())
}

/// The report as text: one block per signature, checks and reasons.
pub fn report_text(path: &Path, r: &Report) -> String {
    let mut s = format!(
        "{}: {} ({} signature(s), {} revision(s))\n",
        path.display(),
        verdict_word(r.verdict),
        r.signatures.len(),
        r.revisions
    );
    for sig in &r.signatures {
        s.push_str(&format!(
            "  {} [{}] {}: {}\n",
            sig.field,
            sig.kind,
            sig.signer.as_deref().unwrap_or("?"),
            verdict_word(sig.verdict)
        ));
        if let Some(t) = &sig.timestamp {
            s.push_str(&format!("    timestamp: {t}\n"));
        }
        for c in &sig.checks {
            s.push_str(&format!(
                "    {:<13} {:<7} {}\n",
                c.name,
                format!("{:?}", c.state).to_lowercase(),
                c.detail
            ));
        }
        for m in &sig.modifications {
            s.push_str(&format!("    change: {m}\n"));
        }
        for i in &sig.seal_images {
            s.push_str(&format!(
                "    seal image: page {} at [{:.1} {:.1} {:.1} {:.1}], {}x{} px\n",
                i.page, i.rect[0], i.rect[1], i.rect[2], i.rect[3], i.width_px, i.height_px
            ));
        }
        for w in &sig.warnings {
            s.push_str(&format!("    warning: {w}\n"));
        }
    }
    if r.signatures.is_empty() {
        s.push_str("  no signatures\n");
    }
    s
}

fn verdict_word(v: Verdict) -> &'static str {
    match v {
        Verdict::Valid => "VALID",
        Verdict::Invalid => "INVALID",
        Verdict::Indeterminate => "INDETERMINATE",
    }
}

fn trust_certs(paths: &[PathBuf]) -> Result<Vec<Certificate>, AppError> {
    let mut v = Vec::new();
    for p in paths {
        v.extend(certs(p)?);
    }
    Ok(v)
}

pub async fn run(cmd: PdfCmd, config: &Config, json: bool) -> Result<i32, AppError> {
    match cmd {
        PdfCmd::Verify(args) => {
            let opts = VerifyOptions {
                trust: trust_certs(&args.trust)?,
                now: None,
            };
            let pw = args.password.as_ref().map(|p| p.as_bytes().to_vec());
            if args.file.is_dir() {
                let files = pdfs_in(&args.file)?;
                let mut progress = Progress::new(files.len() as u64, "verifying");
                let mut worst = 0;
                let mut rows = Vec::new();
                let mut text = String::new();
                for f in &files {
                    progress.step(&f.file_name().unwrap_or_default().to_string_lossy());
                    match tokio::task::block_in_place(|| {
                        verify_file(f, &opts, pw.as_deref(), args.online)
                    }) {
                        Ok(r) => {
                            worst = worst.max(r.verdict.exit_code());
                            text.push_str(&report_text(f, &r));
                            rows.push(serde_json::json!({"file": f, "report": r}));
                        }
                        Err(e) => {
                            worst = 3;
                            text.push_str(&format!("{}: UNREADABLE: {e}\n", f.display()));
                            rows.push(serde_json::json!({"file": f, "error": e.to_string()}));
                        }
                    }
                }
                progress.finish();
                let counts = |v: &str| rows.iter().filter(|r| r["report"]["verdict"] == v).count();
                let summary = format!(
                    "{} file(s): {} valid, {} invalid, {} indeterminate, {} unreadable\n",
                    rows.len(),
                    counts("valid"),
                    counts("invalid"),
                    counts("indeterminate"),
                    rows.iter().filter(|r| r.get("error").is_some()).count()
                );
                crate::cli::out(json, &serde_json::json!({"files": rows}), || {
                    format!("{text}{summary}")
                });
                return Ok(worst);
            }
            let r = tokio::task::block_in_place(|| {
                verify_file(&args.file, &opts, pw.as_deref(), args.online)
            })?;
            if let Some(dir) = &args.extract_images {
                extract_images(&args.file, pw.as_deref(), &r, dir)?;
            }
            let code = r.verdict.exit_code();
            crate::cli::out(json, &serde_json::to_value(&r).unwrap_or_default(), || {
                report_text(&args.file, &r)
            });
            Ok(code)
        }
        PdfCmd::Sign(args) => {
            let kit = kit(&args, config).await?;
            if args.input.is_dir() {
                std::fs::create_dir_all(&args.out).map_err(|e| {
                    AppError::BadRequest(format!("cannot create {}: {e}", args.out.display()))
                })?;
                let files = pdfs_in(&args.input)?;
                let started = Instant::now();
                let outcomes = sign_many(&kit, &args, &files);
                let mut failed = Vec::new();
                let mut results = Vec::new();
                for (f, outcome) in files.iter().zip(outcomes) {
                    match outcome {
                        Ok(s) => results.push(serde_json::json!({"file": f, "field": s.field_name, "bytes": s.total_len})),
                        Err(e) => failed.push((f.clone(), e.to_string())),
                    }
                }
                let summary = serde_json::json!({
                    "signed": results.len(), "failed": failed.len(),
                    "seconds": started.elapsed().as_secs_f64(),
                    "failures": failed.iter().map(|(f, e)| serde_json::json!({"file": f, "error": e})).collect::<Vec<_>>(),
                });
                crate::cli::out(json, &summary, || {
                    let mut s = format!(
                        "signed {} of {} PDF(s) into {} in {:.1}s\n",
                        results.len(),
                        files.len(),
                        args.out.display(),
                        started.elapsed().as_secs_f64()
                    );
                    for (f, e) in &failed {
                        s.push_str(&format!("failed: {}: {e}\n", f.display()));
                    }
                    s
                });
                return Ok(if failed.is_empty() { 0 } else { 1 });
            }
            let signed =
                tokio::task::block_in_place(|| sign_one(&kit, &args, &args.input, &args.out))?;
            crate::cli::out(
                json,
                &serde_json::json!({
                    "out": args.out, "field": signed.field_name, "byte_range": signed.byte_range,
                    "bytes": signed.total_len, "cms_bytes": signed.cms_len, "reserved": signed.reserved,
                }),
                || {
                    format!(
                        "signed {} as field {} ({} bytes)\n",
                        args.out.display(),
                        signed.field_name,
                        signed.total_len
                    )
                },
            );
            Ok(0)
        }
    }
}
