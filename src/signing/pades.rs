//! A PAdES signature at any level, the same steps for files (CLI) and memory (HTTP): the signature
//! (with its timestamp from B-T on), then for B-LT a DSS in an update of its own, then for B-LTA a
//! document timestamp. Each stage is a whole document written through an [`Output`].

use std::io::Write;
use std::path::{Path, PathBuf};

use sealpki_pki::cades::CmsSigner;
use sealpki_pki::pdf::reader::{Document, Source};
use sealpki_pki::pdf::sign::{self, SignOptions, Signed, Timestamper};
use sealpki_pki::pdf::verify;
use sealpki_pki::SignatureScheme;

use super::{Level, SigningKey};
use crate::error::AppError;

/// Where the stages of a signature go.
pub trait Output {
    /// Write the next stage (the whole document); it becomes the current one.
    fn write_stage<T>(
        &mut self,
        write: impl FnOnce(&mut dyn Write) -> Result<T, AppError>,
    ) -> Result<T, AppError>;
    /// The current stage, opened as a document for the next one.
    fn current(&mut self) -> Result<Document<dyn Source>, AppError>;
}

/// Stages in memory (HTTP): `bytes` is the signed document at the end.
pub struct MemoryOutput {
    pub bytes: Vec<u8>,
    pub password: Option<Vec<u8>>,
}

impl Output for MemoryOutput {
    fn write_stage<T>(
        &mut self,
        write: impl FnOnce(&mut dyn Write) -> Result<T, AppError>,
    ) -> Result<T, AppError> {
        let mut buf = Vec::new();
        let v = write(&mut buf)?;
        self.bytes = buf;
        Ok(v)
    }

    fn current(&mut self) -> Result<Document<dyn Source>, AppError> {
        let bytes: Box<dyn Source> = Box::new(std::mem::take(&mut self.bytes));
        Ok(Document::open(bytes, self.password.as_deref())?)
    }
}

/// Stages in files beside the target (CLI): the first goes to `NAME.partial`, each later one to
/// `NAME.stage` and then replaces `NAME.partial`. Every file is synced; the caller renames
/// `NAME.partial` into place, or calls [`FileOutput::discard`] on failure.
pub struct FileOutput {
    pub output: PathBuf,
    pub password: Option<Vec<u8>>,
    written: bool,
}

impl FileOutput {
    pub fn new(output: &Path, password: Option<Vec<u8>>) -> Self {
        FileOutput {
            output: output.to_path_buf(),
            password,
            written: false,
        }
    }

    pub fn partial(&self) -> PathBuf {
        with_suffix(&self.output, ".partial")
    }

    fn stage(&self) -> PathBuf {
        with_suffix(&self.output, ".stage")
    }

    /// Move the finished document into place.
    pub fn commit(&self) -> Result<(), AppError> {
        std::fs::rename(self.partial(), &self.output).map_err(|e| {
            AppError::BadRequest(format!("cannot write {}: {e}", self.output.display()))
        })
    }

    /// Remove whatever a failed signature left.
    pub fn discard(&self) {
        let _ = std::fs::remove_file(self.partial());
        let _ = std::fs::remove_file(self.stage());
    }
}

fn with_suffix(p: &Path, suffix: &str) -> PathBuf {
    let mut name = p.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    p.with_file_name(name)
}

impl Output for FileOutput {
    fn write_stage<T>(
        &mut self,
        write: impl FnOnce(&mut dyn Write) -> Result<T, AppError>,
    ) -> Result<T, AppError> {
        let target = if self.written {
            self.stage()
        } else {
            self.partial()
        };
        let file = std::fs::File::create(&target).map_err(|e| {
            AppError::BadRequest(format!("cannot write {}: {e}", self.output.display()))
        })?;
        let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
        let v = write(&mut w)?;
        let file = w
            .into_inner()
            .map_err(|e| AppError::Internal(e.to_string()))?;
        file.sync_all()
            .map_err(|e| AppError::Internal(e.to_string()))?;
        if self.written {
            std::fs::rename(&target, self.partial())
                .map_err(|e| AppError::Internal(e.to_string()))?;
        }
        self.written = true;
        Ok(v)
    }

    fn current(&mut self) -> Result<Document<dyn Source>, AppError> {
        let p = self.partial();
        let f = std::fs::File::open(&p)
            .map_err(|e| AppError::Internal(format!("{}: {e}", p.display())))?;
        let src: Box<dyn Source> = Box::new(f);
        Ok(Document::open(src, self.password.as_deref())?)
    }
}

/// Sign `doc` at `level` into `out`. `tsa` is needed from B-T on.
pub fn sign_pdf<S: Source + ?Sized, O: Output>(
    doc: &Document<S>,
    out: &mut O,
    key: &SigningKey,
    scheme: SignatureScheme,
    opts: &SignOptions,
    level: Level,
    tsa: Option<&dyn Timestamper>,
) -> Result<Signed, AppError> {
    let tsa = match (level.needs_tsa(), tsa) {
        (false, _) => None,
        (true, Some(t)) => Some(t),
        (true, None) => {
            return Err(AppError::Unavailable(format!(
                "{} needs a time-stamping authority",
                level.name()
            )))
        }
    };
    let mut cms = CmsSigner {
        signer: key.signer.as_ref(),
        scheme,
        cert: &key.cert,
        chain: &key.chain,
        reserve: None,
    };
    cms.reserve = Some(key.cms_reserve(&cms)?);
    let mut signed = out.write_stage(|w| Ok(sign::sign(doc, w, &cms, opts, tsa)?))?;
    if level.has_dss() || level == Level::BLta {
        // Later stages follow: the first stage's digest is not the output's.
        signed.sha256 = None;
    }
    if level.has_dss() {
        // B-LT: what a verifier needs later, for the signer's chain and the TSA's (whose
        // certificates the timestamp token carries), in an update of its own.
        let signed_doc = out.current()?;
        let contents = read_contents(&signed_doc, &signed.byte_range)?;
        let mut certs = vec![key.cert.clone()];
        certs.extend(key.chain.iter().cloned());
        for c in sealpki_pki::cades::certificates_in(&contents) {
            if !certs.contains(&c) {
                certs.push(c);
            }
        }
        let data = super::ltv::validation_data(&certs)?;
        out.write_stage(|w| Ok(sealpki_pki::pdf::ltv::add_dss(&signed_doc, w, &data)?))?;
    }
    if level == Level::BLta {
        let t = tsa.ok_or_else(|| AppError::Internal("b-lta without a TSA".into()))?;
        let with_dss = out.current()?;
        out.write_stage(|w| Ok(sign::timestamp_document(&with_dss, w, t)?))?;
    }
    Ok(signed)
}

/// The DER in the `/Contents` hole a signature's byte range leaves.
pub fn read_contents<S: Source + ?Sized>(
    doc: &Document<S>,
    br: &[u64; 4],
) -> Result<Vec<u8>, AppError> {
    let len = br[2]
        .checked_sub(br[1])
        .filter(|l| *l >= 2)
        .ok_or_else(|| AppError::Internal("signature byte range has no hole".into()))?;
    let mut hole = vec![0u8; len as usize];
    doc.read_exact_at(br[1], &mut hole)?;
    let hexpart = &hole[1..hole.len() - 1];
    let der = hex::decode(hexpart).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(verify::trim_der(&der).to_vec())
}
