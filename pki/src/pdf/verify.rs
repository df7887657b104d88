//! Checking every signature of a PDF as strictly as the best validators: coverage of the byte range,
//! the digest, the CMS signature, the chain to the given trust anchors, the timestamp, and what every
//! later revision changed (allowed: signatures, DSS, document timestamps, form filling DocMDP allows;
//! not allowed: page content, annotations that change what is seen, shadow changes of `/Rect`/`/AP`).

use std::collections::{HashMap, HashSet};
use std::time::SystemTime;

use x509_cert::Certificate;

use super::object::{Dict, ObjRef, Object};
use super::reader::{Document, Source, XrefEntry};
use super::PdfError;
use crate::cades::{self, Hasher};
use crate::report::{rfc3339, Check, CheckState, Checks, Verdict};

/// The largest /Contents gap accepted (a hex signature with chain, timestamp and revocation data
/// is well under this).
const MAX_SIGNATURE_GAP: usize = 16 * 1024 * 1024;

#[derive(Clone, Debug, Default)]
pub struct VerifyOptions {
    /// Trust anchors; without any, chains are indeterminate.
    pub trust: Vec<Certificate>,
    /// Evaluation time when a signature has no timestamp (default: now).
    pub now: Option<SystemTime>,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct SealImage {
    pub page: usize,
    pub rect: [f64; 4],
    pub width_px: i64,
    pub height_px: i64,
    /// The image XObject, for [`image_file`].
    #[serde(skip)]
    pub object: Option<ObjRef>,
}

/// A seal picture as a file: JPEG data as stored, or a PNG made from the decoded pixels and the
/// `/SMask` alpha. Returns the extension and the bytes.
pub fn image_file<S: Source + ?Sized>(
    doc: &Document<S>,
    r: ObjRef,
) -> Result<(&'static str, Vec<u8>), PdfError> {
    let Object::Stream(s) = doc.get(r)? else {
        return Err(PdfError::Malformed("seal image is not a stream".into()));
    };
    if s.dict.name(b"Filter") == Some(b"DCTDecode") {
        return Ok(("jpg", doc.stream_raw(r, &s)?));
    }
    let (w, h) = (
        s.dict.int(b"Width").unwrap_or(0).clamp(0, 20_000) as u32,
        s.dict.int(b"Height").unwrap_or(0).clamp(0, 20_000) as u32,
    );
    if s.dict.int(b"BitsPerComponent") != Some(8) {
        return Err(PdfError::Unsupported(
            "seal images other than 8 bits per component".into(),
        ));
    }
    let channels = match s.dict.name(b"ColorSpace") {
        Some(b"DeviceRGB") => 3usize,
        Some(b"DeviceGray") => 1,
        _ => return Err(PdfError::Unsupported("seal image colour space".into())),
    };
    let px = doc.stream_data(r, &s)?;
    let n = (w as usize) * (h as usize);
    if px.len() < n * channels {
        return Err(PdfError::Malformed("seal image data is short".into()));
    }
    let alpha = match s.dict.get(b"SMask").and_then(Object::as_ref) {
        Some(m) => match doc.get(m)? {
            Object::Stream(ms) => Some(doc.stream_data(m, &ms)?).filter(|a| a.len() >= n),
            _ => None,
        },
        None => None,
    };
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_depth(png::BitDepth::Eight);
        let data: Vec<u8> = match (&alpha, channels) {
            (Some(a), 3) => (0..n)
                .flat_map(|i| [px[3 * i], px[3 * i + 1], px[3 * i + 2], a[i]])
                .collect(),
            (Some(a), _) => (0..n).flat_map(|i| [px[i], a[i]]).collect(),
            (None, _) => px[..n * channels].to_vec(),
        };
        enc.set_color(match (alpha.is_some(), channels) {
            (true, 3) => png::ColorType::Rgba,
            (true, _) => png::ColorType::GrayscaleAlpha,
            (false, 3) => png::ColorType::Rgb,
            (false, _) => png::ColorType::Grayscale,
        });
        let mut wr = enc
            .write_header()
            .map_err(|e| PdfError::Image(e.to_string()))?;
        wr.write_image_data(&data)
            .map_err(|e| PdfError::Image(e.to_string()))?;
    }
    Ok(("png", out))
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct SigReport {
    pub field: String,
    /// "signature" or "document-timestamp".
    pub kind: &'static str,
    pub sub_filter: String,
    pub signer: Option<String>,
    /// The signer's certificate once the CMS signature checked out, for checks the caller adds
    /// (the online seal status); not part of the serialized report.
    #[serde(skip)]
    pub signer_cert: Option<Certificate>,
    /// The claimed signing time (`/M`), not proof of anything.
    pub claimed_time: Option<String>,
    pub timestamp: Option<String>,
    pub byte_range: Vec<i64>,
    /// Which revision the signature covers (1 = the first).
    pub revision: usize,
    pub covers_whole_file: bool,
    pub docmdp: Option<i64>,
    pub checks: Vec<Check>,
    pub modifications: Vec<String>,
    pub seal_images: Vec<SealImage>,
    pub verdict: Verdict,
    pub reasons: Vec<String>,
    pub warnings: Vec<String>,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct Report {
    pub bytes: u64,
    pub revisions: usize,
    pub signatures: Vec<SigReport>,
    pub verdict: Verdict,
    pub reasons: Vec<String>,
}

/// Positions just past each `%%EOF` marker (and its end of line): where revisions end.
fn revision_ends<S: Source + ?Sized>(doc: &Document<S>) -> Result<Vec<u64>, PdfError> {
    let mut ends = Vec::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut off = 0u64;
    let len = doc.len();
    while off < len {
        let n = ((len - off) as usize).min(buf.len());
        doc.read_exact_at(off, &mut buf[..n])?;
        let mut i = 0;
        while let Some(p) = buf[i..n].windows(5).position(|w| w == b"%%EOF") {
            let mut e = off + (i + p + 5) as u64;
            // Take the end of line that follows.
            let mut tail = [0u8; 2];
            let k = doc.source().read_at(e, &mut tail).unwrap_or(0);
            if k >= 1 && tail[0] == b'\r' {
                e += 1;
                if k == 2 && tail[1] == b'\n' {
                    e += 1;
                }
            } else if k >= 1 && tail[0] == b'\n' {
                e += 1;
            }
            ends.push(e);
            i += p + 5;
        }
        if off + n as u64 >= len {
            break;
        }
        // Overlap by four bytes so a marker across the chunk boundary is seen.
        off += n as u64 - 4;
    }
    ends.dedup();
    Ok(ends)
}

/// A signature field and its value dictionary.
struct Field {
    name: String,
    widget: Dict,
    sig_ref: Option<ObjRef>,
    sig: Dict,
}

fn field_name(prefix: &str, d: &Dict) -> String {
    let t = d
        .get(b"T")
        .and_then(Object::as_str_bytes)
        .map(decode_text)
        .unwrap_or_default();
    match (prefix.is_empty(), t.is_empty()) {
        (true, _) => t,
        (false, true) => prefix.to_string(),
        (false, false) => format!("{prefix}.{t}"),
    }
}

/// Decode a PDF text string (UTF-16BE with BOM, UTF-8 with BOM, or PDFDocEncoding ≈ Latin-1).
pub fn decode_text(b: &[u8]) -> String {
    if b.starts_with(&[0xFE, 0xFF]) {
        let u: Vec<u16> = b[2..]
            .chunks(2)
            .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))
            .collect();
        String::from_utf16_lossy(&u)
    } else if let Some(rest) = b.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        String::from_utf8_lossy(rest).into_owned()
    } else {
        b.iter().map(|c| char::from(*c)).collect()
    }
}

fn collect_fields<S: Source + ?Sized>(
    doc: &Document<S>,
    o: &Object,
    prefix: &str,
    inherited_ft: Option<Vec<u8>>,
    out: &mut Vec<Field>,
    seen: &mut HashSet<ObjRef>,
    depth: usize,
) -> Result<(), PdfError> {
    if depth > 32 {
        return Ok(());
    }
    if let Some(r) = o.as_ref() {
        if !seen.insert(r) {
            return Ok(());
        }
    }
    let Some(d) = doc.resolve(o)?.as_dict().cloned() else {
        return Ok(());
    };
    let name = field_name(prefix, &d);
    let ft = d.name(b"FT").map(<[u8]>::to_vec).or(inherited_ft);
    if let Some(kids) = d.get(b"Kids") {
        let kids = doc.resolve(kids)?;
        let fields: Vec<&Object> = kids.as_array().unwrap_or_default().iter().collect();
        let mut any_field = false;
        for k in &fields {
            let kd = doc.resolve(k)?;
            if kd.as_dict().is_some_and(|kd| kd.get(b"T").is_some()) {
                any_field = true;
                collect_fields(doc, k, &name, ft.clone(), out, seen, depth + 1)?;
            }
        }
        if any_field {
            return Ok(());
        }
    }
    if ft.as_deref() == Some(b"Sig") {
        if let Some(v) = d.get(b"V") {
            let sig_ref = v.as_ref();
            if let Some(sig) = doc.resolve(v)?.as_dict().cloned() {
                out.push(Field {
                    name,
                    widget: d,
                    sig_ref,
                    sig,
                });
            }
        }
    }
    Ok(())
}

/// Verify every signature and document timestamp in `doc`.
pub fn verify<S: Source + ?Sized>(
    doc: &Document<S>,
    opts: &VerifyOptions,
) -> Result<Report, PdfError> {
    let ends = revision_ends(doc)?;
    let catalog = doc.catalog()?;
    let mut fields = Vec::new();
    if let Some(acro) = doc.resolve_dict(catalog.get(b"AcroForm"))? {
        let list = doc.resolve(acro.get(b"Fields").unwrap_or(&Object::Null))?;
        let mut seen = HashSet::new();
        for f in list.as_array().unwrap_or_default() {
            collect_fields(doc, f, "", None, &mut fields, &mut seen, 0)?;
        }
    }
    // Several fields can show one signature (a cross-page seal): report it once, images from all.
    let mut by_sig: Vec<(Field, Vec<Dict>)> = Vec::new();
    for f in fields {
        if let Some(pos) = by_sig
            .iter()
            .position(|(g, _)| g.sig_ref.is_some() && g.sig_ref == f.sig_ref)
        {
            by_sig[pos].1.push(f.widget);
        } else {
            let w = f.widget.clone();
            by_sig.push((f, vec![w]));
        }
    }
    let pages = doc.pages()?;
    let page_index: HashMap<ObjRef, usize> =
        pages.iter().enumerate().map(|(i, p)| (p.id, i)).collect();
    let docmdp = super::sign::docmdp_permission(doc)?;
    // The DSS is read and parsed once for all signatures.
    let dss = DssData::of(doc);
    // Trust anchors are decoded once per document, not per signature.
    let anchors = crate::validate::prepare(&opts.trust);
    let mut reports = Vec::new();
    for (f, widgets) in &by_sig {
        let mut r = verify_one(doc, opts, &anchors, f, &ends, docmdp, &dss)?;
        for w in widgets {
            if let Some(img) = seal_image(doc, w, &page_index) {
                r.seal_images.push(img);
            }
        }
        reports.push(r);
    }
    // Earliest first: the order in which they were made.
    reports.sort_by_key(|r| {
        r.byte_range.get(2).copied().unwrap_or(0) + r.byte_range.get(3).copied().unwrap_or(0)
    });
    let mut reasons = Vec::new();
    let verdict = if reports.is_empty() {
        reasons.push("the document has no signatures".into());
        Verdict::Indeterminate
    } else if reports.iter().any(|r| r.verdict == Verdict::Invalid) {
        Verdict::Invalid
    } else if reports.iter().any(|r| r.verdict == Verdict::Indeterminate) {
        Verdict::Indeterminate
    } else {
        Verdict::Valid
    };
    for r in &reports {
        for why in &r.reasons {
            reasons.push(format!("{}: {why}", r.field));
        }
    }
    Ok(Report {
        bytes: doc.len(),
        revisions: ends.len().max(1),
        signatures: reports,
        verdict,
        reasons,
    })
}

fn seal_image<S: Source + ?Sized>(
    doc: &Document<S>,
    w: &Dict,
    page_index: &HashMap<ObjRef, usize>,
) -> Option<SealImage> {
    let rect: Vec<f64> = w
        .get(b"Rect")?
        .as_array()?
        .iter()
        .filter_map(Object::as_f64)
        .collect();
    if rect.len() != 4 || (rect[2] - rect[0]).abs() < 0.01 {
        return None;
    }
    let page = w
        .get(b"P")
        .and_then(Object::as_ref)
        .and_then(|p| page_index.get(&p).copied())?;
    let ap = doc.resolve_dict(w.get(b"AP")).ok()??;
    let n = doc.resolve(ap.get(b"N")?).ok()?;
    let res = doc.resolve_dict(n.as_dict()?.get(b"Resources")).ok()??;
    let xo = doc.resolve_dict(res.get(b"XObject")).ok()??;
    for (_, v) in &xo.0 {
        let o = doc.resolve(v).ok()?;
        let d = o.as_dict()?;
        if d.name(b"Subtype") == Some(b"Image") {
            return Some(SealImage {
                page: page + 1,
                rect: [rect[0], rect[1], rect[2], rect[3]],
                width_px: d.int(b"Width").unwrap_or(0),
                height_px: d.int(b"Height").unwrap_or(0),
                object: v.as_ref(),
            });
        }
    }
    None
}

fn hash_ranges<S: Source + ?Sized>(
    doc: &Document<S>,
    ranges: &[(u64, u64)],
    mut hasher: Hasher,
) -> Result<Vec<u8>, PdfError> {
    let mut buf = vec![0u8; 1 << 20];
    for (start, len) in ranges {
        let mut off = *start;
        let end = start + len;
        while off < end {
            let n = ((end - off) as usize).min(buf.len());
            doc.read_exact_at(off, &mut buf[..n])?;
            hasher.update(&buf[..n]);
            off += n as u64;
        }
    }
    Ok(hasher.finish())
}

#[allow(clippy::too_many_arguments)]
fn verify_one<S: Source + ?Sized>(
    doc: &Document<S>,
    opts: &VerifyOptions,
    anchors: &[crate::validate::Cert],
    f: &Field,
    ends: &[u64],
    docmdp: Option<i64>,
    dss: &DssData,
) -> Result<SigReport, PdfError> {
    let mut checks = Checks(Vec::new());
    let mut reasons: Vec<String> = Vec::new();
    let mut warnings: Vec<String> = Vec::new();
    let mut invalid = false;
    let mut indeterminate = false;
    let sig = &f.sig;
    let is_doc_ts = sig.is_type(b"DocTimeStamp") || sig.name(b"SubFilter") == Some(b"ETSI.RFC3161");
    let sub_filter = sig
        .name(b"SubFilter")
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .unwrap_or_default();
    let br: Vec<i64> = sig
        .get(b"ByteRange")
        .and_then(Object::as_array)
        .map(|a| a.iter().map(|o| o.as_int().unwrap_or(-1)).collect())
        .unwrap_or_default();
    let contents = sig
        .get(b"Contents")
        .and_then(Object::as_str_bytes)
        .unwrap_or_default()
        .to_vec();
    let len = doc.len() as i64;
    let mut report = SigReport {
        field: f.name.clone(),
        kind: if is_doc_ts {
            "document-timestamp"
        } else {
            "signature"
        },
        sub_filter: sub_filter.clone(),
        signer: None,
        signer_cert: None,
        claimed_time: sig
            .get(b"M")
            .and_then(Object::as_str_bytes)
            .map(decode_text),
        timestamp: None,
        byte_range: br.clone(),
        revision: 0,
        covers_whole_file: false,
        docmdp: None,
        checks: Vec::new(),
        modifications: Vec::new(),
        seal_images: Vec::new(),
        verdict: Verdict::Invalid,
        reasons: Vec::new(),
        warnings: Vec::new(),
    };

    // Coverage: [0, b) and [c, c+d): one gap, exactly the /Contents hex string, ending a revision.
    let coverage = (|| -> Result<(u64, u64, u64, u64), String> {
        let [a, b, c, d] = br.as_slice() else {
            return Err(format!("/ByteRange has {} numbers, not 4", br.len()));
        };
        let (a, b, c, d) = (*a, *b, *c, *d);
        if a != 0 {
            return Err(format!(
                "/ByteRange starts at {a}, not 0: the file head is not covered"
            ));
        }
        if b <= 0 || c <= b || d < 0 || c.checked_add(d).is_none_or(|end| end > len) {
            return Err(format!(
                "/ByteRange [{a} {b} {c} {d}] is out of order or beyond the file ({len} bytes)"
            ));
        }
        // The gap holds only the signature's hex string: never read (or allocate) more than that.
        let gap = usize::try_from(c - b).unwrap_or(usize::MAX);
        if gap > MAX_SIGNATURE_GAP {
            return Err(format!(
                "/ByteRange leaves {gap} bytes unsigned: more than any signature ({} MB at most)",
                MAX_SIGNATURE_GAP / (1024 * 1024)
            ));
        }
        let mut hole = vec![0u8; gap];
        doc.read_exact_at(b as u64, &mut hole)
            .map_err(|e| e.to_string())?;
        if hole.first() != Some(&b'<') || hole.last() != Some(&b'>') {
            return Err("the uncovered gap is not exactly a hex string".into());
        }
        let hexpart: Vec<u8> = hole[1..gap - 1]
            .iter()
            .copied()
            .filter(|b| !b.is_ascii_whitespace())
            .collect();
        if !hexpart.iter().all(u8::is_ascii_hexdigit) {
            return Err("the uncovered gap holds more than the signature's hex string".into());
        }
        let mut decoded = hex::decode(if hexpart.len() % 2 == 1 {
            [&hexpart[..], b"0"].concat()
        } else {
            hexpart
        })
        .map_err(|e| e.to_string())?;
        let mut want = contents.clone();
        while decoded.last() == Some(&0) && decoded.len() > want.len() {
            decoded.pop();
        }
        while want.last() == Some(&0) && want.len() > decoded.len() {
            want.pop();
        }
        if decoded != want {
            return Err("the signature in the gap is not the /Contents of the signature dictionary (signature wrapping)".into());
        }
        Ok((b as u64, c as u64, d as u64, (c + d) as u64))
    })();
    let (b, c, d, end) = match coverage {
        Ok(v) => {
            checks.add(
                "coverage",
                CheckState::Pass,
                format!(
                    "bytes 0–{} and {}–{} covered; only /Contents left out",
                    v.0, v.1, v.3
                ),
            );
            v
        }
        Err(e) => {
            checks.add("coverage", CheckState::Fail, e.clone());
            reasons.push(e);
            report.checks = checks.0;
            report.reasons = reasons;
            return Ok(report);
        }
    };
    report.covers_whole_file = end == doc.len();
    match ends.iter().position(|e| *e == end) {
        Some(i) => report.revision = i + 1,
        None => {
            // The signed part does not end where a revision ends: bytes of the signed revision are
            // outside the signature.
            let e = format!("the signed range ends at byte {end}, not at the end of a revision");
            checks.add("revision", CheckState::Fail, e.clone());
            reasons.push(e);
            invalid = true;
        }
    }
    // Signature wrapping: the signature dictionary must be an object of the signed revision that
    // contains the gap.
    if let Some(sr) = f.sig_ref {
        let at_signing = doc.xref_before(end);
        match at_signing.get(&sr.num) {
            Some(XrefEntry::Offset { offset, .. }) if *offset < b => {}
            _ => {
                let e = "the signature dictionary is not an object of the signed revision (signature wrapping)".to_string();
                checks.add("wrapping", CheckState::Fail, e.clone());
                reasons.push(e);
                invalid = true;
            }
        }
    }

    let ranges = [(0u64, b), (c, d)];
    if is_doc_ts {
        let imprint = |alg: &const_oid::ObjectIdentifier| {
            Hasher::for_oid(alg).and_then(|h| hash_ranges(doc, &ranges, h).ok())
        };
        let token = trim_der(&contents);
        match crate::tsa::verify_token_with(token, Some(&imprint), &dss.certs, &opts.trust) {
            Ok(t) => {
                checks.add(
                    "timestamp",
                    CheckState::Pass,
                    format!(
                        "document timestamp at {} by {}",
                        rfc3339(t.gen_time),
                        t.tsa_subject
                    ),
                );
                report.timestamp = Some(rfc3339(t.gen_time));
                report.signer = Some(t.tsa_subject.clone());
                if t.trusted {
                    let r = tsa_revocation(&t, dss);
                    if r.state == CheckState::Fail {
                        reasons.push(format!(
                            "the document timestamp's TSA is revoked: {}",
                            r.detail
                        ));
                        invalid = true;
                    } else if r.state == CheckState::Unknown {
                        warnings.push(format!(
                            "the TSA's revocation is not established: {}",
                            r.detail
                        ));
                    }
                    checks.add("revocation", r.state, r.detail);
                }
                if !t.trusted {
                    checks.add(
                        "chain",
                        CheckState::Unknown,
                        "no trust anchors given for the TSA",
                    );
                    reasons.push("the TSA's chain was not checked: no trust anchors".into());
                    indeterminate = true;
                }
            }
            Err(crate::tsa::TspVerifyError::Untrusted(why)) => {
                checks.add("chain", CheckState::Unknown, why.clone());
                reasons.push(format!(
                    "the document timestamp's TSA is not trusted: {why}"
                ));
                indeterminate = true;
            }
            Err(e) => {
                checks.add("timestamp", CheckState::Fail, e.to_string());
                reasons.push(format!("document timestamp: {e}"));
                invalid = true;
            }
        }
    } else {
        let digest_of = |alg: &const_oid::ObjectIdentifier| {
            Hasher::for_oid(alg).and_then(|h| hash_ranges(doc, &ranges, h).ok())
        };
        match cades::verify_detached(trim_der(&contents), &digest_of) {
            Err(e) => {
                let name = match e {
                    cades::CmsError::DigestMismatch => "integrity",
                    _ => "signature",
                };
                checks.add(name, CheckState::Fail, e.to_string());
                reasons.push(e.to_string());
                invalid = true;
            }
            Ok(v) => {
                checks.add(
                    "integrity",
                    CheckState::Pass,
                    "the signed bytes hash to the signed message-digest",
                );
                checks.add(
                    "signature",
                    CheckState::Pass,
                    format!(
                        "{} signature by {}",
                        v.scheme,
                        crate::name::display(&v.signer.tbs_certificate.subject)
                    ),
                );
                report.signer = Some(crate::name::display(&v.signer.tbs_certificate.subject));
                report.signer_cert = Some(v.signer.clone());
                if sub_filter == "ETSI.CAdES.detached" {
                    if v.ess != Some("signing-certificate-v2")
                        && v.ess != Some("signing-certificate")
                    {
                        reasons.push("PAdES requires a signing-certificate(-v2) attribute".into());
                        checks.add("attributes", CheckState::Fail, "no signing-certificate-v2");
                        invalid = true;
                    }
                    if v.has_signing_time {
                        warnings.push(
                            "PAdES signatures should not carry a signing-time attribute".into(),
                        );
                    }
                }
                let mut at = opts.now.unwrap_or_else(SystemTime::now);
                if let Some(tok) = &v.timestamp {
                    let sig_value = v.signature.clone();
                    let imprint =
                        move |alg: &const_oid::ObjectIdentifier| cades::digest(alg, &sig_value);
                    match crate::tsa::verify_token_with(tok, Some(&imprint), &v.certs, &opts.trust)
                    {
                        Ok(t) => {
                            checks.add(
                                "timestamp",
                                CheckState::Pass,
                                format!(
                                    "signature timestamp at {} by {}",
                                    rfc3339(t.gen_time),
                                    t.tsa_subject
                                ),
                            );
                            report.timestamp = Some(rfc3339(t.gen_time));
                            if t.trusted {
                                // The TSA's own status at its time, from the DSS: a revoked TSA
                                // cannot vouch for a time; unknown status is said, not hidden.
                                let r = tsa_revocation(&t, dss);
                                match r.state {
                                    CheckState::Fail => {
                                        checks.add(
                                            "timestamp-revocation",
                                            CheckState::Fail,
                                            r.detail.clone(),
                                        );
                                        warnings.push(format!("the signature timestamp's TSA is revoked, so its time is not used: {}", r.detail));
                                    }
                                    state => {
                                        checks.add("timestamp-revocation", state, r.detail.clone());
                                        if state == CheckState::Unknown {
                                            warnings.push(format!(
                                                "the TSA's revocation is not established: {}",
                                                r.detail
                                            ));
                                        }
                                        at = t.gen_time;
                                    }
                                }
                            } else {
                                warnings.push("the signature timestamp's TSA was not checked against trust anchors".into());
                            }
                        }
                        Err(crate::tsa::TspVerifyError::Untrusted(why)) => {
                            warnings.push(format!("the signature timestamp's TSA is not trusted, so its time is not used: {why}"));
                            checks.add(
                                "timestamp",
                                CheckState::Unknown,
                                format!("TSA not trusted: {why}"),
                            );
                        }
                        Err(e) => {
                            checks.add("timestamp", CheckState::Fail, e.to_string());
                            reasons.push(format!("signature timestamp: {e}"));
                            invalid = true;
                        }
                    }
                }
                let mut pool = v.certs.clone();
                pool.extend(dss.certs.iter().cloned());
                let options =
                    crate::validate::Options::new(crate::validate::Purpose::DocumentSigning, at);
                let path = match crate::validate::Cert::from_cert(&v.signer) {
                    Ok(leaf) => crate::validate::validate(
                        &leaf,
                        &crate::validate::prepare(&pool),
                        anchors,
                        &options,
                    ),
                    Err(e) => crate::validate::PathReport::unknown(format!(
                        "the signer's certificate cannot be read: {e}"
                    )),
                };
                match path.verdict {
                    Verdict::Valid => {
                        checks.add("chain", CheckState::Pass, path.path_text());
                        let data = crate::validate::revocation::Data {
                            crls: &dss.crls,
                            ocsp: &dss.ocsps,
                        };
                        let r = crate::validate::revocation::check_path(&path.certs, &data, at);
                        match r.state {
                            CheckState::Pass => {
                                checks.add("revocation", CheckState::Pass, r.detail)
                            }
                            CheckState::Fail => {
                                checks.add("revocation", CheckState::Fail, r.detail.clone());
                                reasons.push(r.detail);
                                invalid = true;
                            }
                            CheckState::Unknown => {
                                checks.add("revocation", CheckState::Unknown, r.detail.clone());
                                warnings.push(format!("revocation not established: {}", r.detail));
                            }
                        }
                    }
                    Verdict::Invalid => {
                        for c in path.checks.iter().filter(|c| c.state == CheckState::Fail) {
                            checks.add("chain", CheckState::Fail, c.detail.clone());
                        }
                        reasons.push(format!("certificate path: {}", path.summary()));
                        invalid = true;
                    }
                    Verdict::Indeterminate => {
                        checks.add("chain", CheckState::Unknown, path.summary());
                        reasons.push(path.summary());
                        indeterminate = true;
                    }
                }
            }
        }
    }

    // What later revisions changed.
    if !report.covers_whole_file {
        let own_docmdp =
            if f.sig_ref.is_some() && sig.get(b"Reference").is_some() && docmdp.is_some() {
                docmdp
            } else {
                None
            };
        report.docmdp = own_docmdp;
        let (allowed, disallowed) =
            analyse_changes(doc, end, own_docmdp.or(docmdp), own_docmdp.is_some())?;
        report.modifications = allowed
            .iter()
            .map(|s| format!("allowed: {s}"))
            .chain(disallowed.iter().map(|s| format!("not allowed: {s}")))
            .collect();
        if disallowed.is_empty() {
            checks.add(
                "modifications",
                CheckState::Pass,
                format!("{} later change(s), all allowed", allowed.len()),
            );
        } else {
            checks.add("modifications", CheckState::Fail, disallowed.join("; "));
            for d in disallowed {
                reasons.push(format!("modified after signing: {d}"));
            }
            invalid = true;
        }
    } else {
        checks.add(
            "modifications",
            CheckState::Pass,
            "the signature covers the whole file",
        );
        if f.sig_ref.is_some() && sig.get(b"Reference").is_some() {
            report.docmdp = docmdp;
        }
    }
    report.verdict = if invalid {
        Verdict::Invalid
    } else if indeterminate {
        Verdict::Indeterminate
    } else {
        Verdict::Valid
    };
    report.checks = checks.0;
    report.reasons = reasons;
    report.warnings = warnings;
    Ok(report)
}

/// The DSS parsed once per document: certificates that decode, CRLs and OCSP responses as stored.
struct DssData {
    certs: Vec<Certificate>,
    crls: Vec<Vec<u8>>,
    ocsps: Vec<Vec<u8>>,
}

impl DssData {
    fn of<S: Source + ?Sized>(doc: &Document<S>) -> Self {
        use der::Decode;
        let v = super::ltv::read_dss(doc).unwrap_or_default();
        DssData {
            certs: v
                .certs
                .iter()
                .filter_map(|d| Certificate::from_der(d).ok())
                .collect(),
            crls: v.crls,
            ocsps: v.ocsps,
        }
    }
}

/// The revocation state of a trusted TSA's path at the token's time, from the DSS.
fn tsa_revocation(
    t: &crate::tsa::VerifiedToken,
    dss: &DssData,
) -> crate::validate::revocation::Report {
    let data = crate::validate::revocation::Data {
        crls: &dss.crls,
        ocsp: &dss.ocsps,
    };
    crate::validate::revocation::check_path(&t.path, &data, t.gen_time)
}

/// The DER object at the start of a zero-padded /Contents.
pub fn trim_der(b: &[u8]) -> &[u8] {
    if b.len() < 2 || b[0] != 0x30 {
        return b;
    }
    let (len, hdr) = match b[1] {
        l if l < 0x80 => (l as usize, 2),
        0x81 if b.len() > 2 => (b[2] as usize, 3),
        0x82 if b.len() > 3 => ((b[2] as usize) << 8 | b[3] as usize, 4),
        0x83 if b.len() > 4 => (
            (b[2] as usize) << 16 | (b[3] as usize) << 8 | b[4] as usize,
            5,
        ),
        _ => return b,
    };
    &b[..(hdr + len).min(b.len())]
}

fn refs_in(o: Option<&Object>) -> Vec<ObjRef> {
    o.and_then(Object::as_array)
        .map(|a| a.iter().filter_map(Object::as_ref).collect())
        .unwrap_or_default()
}

/// An annotation with a non-empty rectangle.
fn visible(d: &Dict) -> bool {
    let r: Vec<f64> = d
        .get(b"Rect")
        .and_then(Object::as_array)
        .map(|a| a.iter().filter_map(Object::as_f64).collect())
        .unwrap_or_default();
    r.len() == 4 && (r[2] - r[0]).abs() > 0.01 && (r[3] - r[1]).abs() > 0.01
}

fn is_sig_widget(d: &Dict) -> bool {
    d.name(b"FT") == Some(b"Sig")
        || d.get(b"Parent").is_some() && d.name(b"Subtype") == Some(b"Widget")
}

/// Classify every object the revisions after `end` define: allowed or not, with a reason each.
fn analyse_changes<S: Source + ?Sized>(
    doc: &Document<S>,
    end: u64,
    docmdp: Option<i64>,
    certifying: bool,
) -> Result<(Vec<String>, Vec<String>), PdfError> {
    let before = doc.xref_before(end);
    let now = &doc.xref;
    let mut allowed = Vec::new();
    let mut bad = Vec::new();
    let root = doc.root_ref();
    let info = doc.trailer.get(b"Info").and_then(Object::as_ref);
    let old_pages = {
        // Pages as they were: the page tree nodes of the signed revision.
        let mut v = HashSet::new();
        for p in doc.pages()? {
            v.insert(p.id);
        }
        v
    };
    let old_catalog = doc.get_in(&before, root)?;
    let old_acro_ref = old_catalog
        .as_dict()
        .and_then(|c| c.get(b"AcroForm"))
        .and_then(Object::as_ref);
    let old_fields_ref = old_acro_ref
        .and_then(|r| doc.get_in(&before, r).ok())
        .and_then(|a| {
            a.as_dict()
                .and_then(|a| a.get(b"Fields"))
                .and_then(Object::as_ref)
        });
    let mut changed: Vec<u32> = doc
        .sections
        .iter()
        .filter(|s| s.offset >= end)
        .flat_map(|s| s.objects.iter().map(|(n, _)| *n))
        .collect();
    changed.sort_unstable();
    changed.dedup();
    if docmdp == Some(1) && !changed.is_empty() {
        // P=1 still allows DSS and document timestamps (PAdES); checked per object below.
    }
    for num in changed {
        let gen = match now.get(&num) {
            Some(XrefEntry::Offset { gen, .. }) => *gen,
            _ => 0,
        };
        let id = ObjRef::new(num, gen);
        let new = doc.get(id)?;
        let old = doc.get_in(&before, id)?;
        let existed = old != Object::Null;
        let what = |s: &str| format!("object {num} ({s})");
        let nd = new.as_dict();
        if nd.is_some_and(|d| d.is_type(b"XRef") || d.is_type(b"ObjStm")) {
            continue;
        }
        if !existed {
            // New objects are harmless unless something visible refers to them; references are
            // judged where they are made (pages, annotations, catalog).
            let kind = match nd {
                Some(d) if d.is_type(b"Sig") => "signature dictionary",
                Some(d) if d.is_type(b"DocTimeStamp") => "document timestamp",
                Some(d) if d.name(b"Subtype") == Some(b"Widget") => {
                    if is_sig_widget(d) {
                        "signature field"
                    } else if docmdp.unwrap_or(2) >= 2 && d.get(b"FT").is_some() {
                        "form field"
                    } else {
                        bad.push(what("new widget that is not a signature field"));
                        continue;
                    }
                }
                Some(d) if d.is_type(b"Annot") => {
                    if docmdp.unwrap_or(0) >= 3 {
                        "annotation (DocMDP P=3)"
                    } else {
                        bad.push(what(&format!(
                            "new /{} annotation changes what is seen",
                            String::from_utf8_lossy(d.name(b"Subtype").unwrap_or(b"?"))
                        )));
                        continue;
                    }
                }
                Some(d) if d.name(b"FT") == Some(b"Sig") => "signature field",
                Some(d)
                    if d.name(b"Subtype") == Some(b"Form")
                        || d.name(b"Subtype") == Some(b"Image") =>
                {
                    "appearance"
                }
                _ => "data",
            };
            allowed.push(what(&format!("new {kind}")));
            continue;
        }
        let od = old.as_dict();
        if id == root {
            let (Some(o), Some(n)) = (od, nd) else {
                bad.push(what("catalog replaced"));
                continue;
            };
            let diff = changed_keys(o, n);
            let ok: &[&[u8]] = &[b"AcroForm", b"DSS", b"Extensions", b"Version"];
            let wrong: Vec<String> = diff
                .iter()
                .filter(|k| !ok.contains(&k.as_slice()))
                .map(|k| format!("/{}", String::from_utf8_lossy(k)))
                .collect();
            if wrong.is_empty() {
                allowed.push(what("catalog: form, DSS or extensions"));
            } else {
                bad.push(what(&format!(
                    "catalog entries {} changed",
                    wrong.join(" ")
                )));
            }
            if diff.iter().any(|k| k == b"AcroForm") {
                if let (Some(oa), Some(na)) = (
                    o.get(b"AcroForm").and_then(Object::as_dict),
                    n.get(b"AcroForm").and_then(Object::as_dict),
                ) {
                    check_acroform(doc, oa, na, &mut allowed, &mut bad, &what);
                }
            }
            continue;
        }
        if Some(id) == info {
            allowed.push(what("document information"));
            continue;
        }
        if Some(id) == old_acro_ref {
            if let (Some(oa), Some(na)) = (od, nd) {
                check_acroform(doc, oa, na, &mut allowed, &mut bad, &what);
            }
            continue;
        }
        if Some(id) == old_fields_ref {
            let o = refs_in(Some(&old));
            let n = refs_in(Some(&new));
            if o.iter().all(|r| n.contains(r)) {
                allowed.push(what("form fields added"));
            } else {
                bad.push(what("form fields removed"));
            }
            continue;
        }
        if old_pages.contains(&id) {
            let (Some(o), Some(n)) = (od, nd) else {
                bad.push(what("page replaced"));
                continue;
            };
            let diff = changed_keys(o, n);
            let wrong: Vec<String> = diff
                .iter()
                .filter(|k| k.as_slice() != b"Annots")
                .map(|k| format!("/{}", String::from_utf8_lossy(k)))
                .collect();
            if !wrong.is_empty() {
                bad.push(what(&format!(
                    "page content or resources changed ({})",
                    wrong.join(" ")
                )));
                continue;
            }
            let oa = annots(doc, &before, o)?;
            let na = annots(doc, now, n)?;
            judge_annots(
                doc,
                &oa,
                &na,
                (docmdp, certifying),
                &mut allowed,
                &mut bad,
                &what,
            )?;
            continue;
        }
        // An existing annotation or field changed.
        if let (Some(o), Some(n)) = (od, nd) {
            if o.is_type(b"Annot")
                || o.get(b"Subtype").is_some() && o.get(b"Rect").is_some()
                || o.get(b"FT").is_some()
            {
                let diff = changed_keys(o, n);
                let sig_field = o.name(b"FT") == Some(b"Sig");
                let empty_sig_now_signed = sig_field && o.get(b"V").is_none();
                let visual: Vec<String> = diff
                    .iter()
                    .filter(|k| matches!(k.as_slice(), b"Rect" | b"AP" | b"F" | b"MK" | b"AS"))
                    .map(|k| format!("/{}", String::from_utf8_lossy(k)))
                    .collect();
                if empty_sig_now_signed {
                    allowed.push(what("empty signature field signed"));
                } else if !visual.is_empty() {
                    bad.push(what(&format!(
                        "annotation appearance or position changed ({}) — shadow attack",
                        visual.join(" ")
                    )));
                } else if diff.iter().all(|k| k.as_slice() == b"V")
                    && docmdp.unwrap_or(2) >= 2
                    && !sig_field
                {
                    allowed.push(what("form field filled"));
                } else {
                    bad.push(what(&format!(
                        "annotation or field changed ({})",
                        diff.iter()
                            .map(|k| format!("/{}", String::from_utf8_lossy(k)))
                            .collect::<Vec<_>>()
                            .join(" ")
                    )));
                }
                continue;
            }
            if let Some(Object::Array(oa)) = Some(&old) {
                // An indirect /Annots array of a page.
                let n = refs_in(Some(&new));
                let o: Vec<ObjRef> = oa.iter().filter_map(Object::as_ref).collect();
                if old_pages.iter().any(|p| {
                    doc.get_in(&before, *p).ok().and_then(|pd| {
                        pd.as_dict()
                            .and_then(|d| d.get(b"Annots"))
                            .and_then(Object::as_ref)
                    }) == Some(id)
                }) {
                    judge_annots(
                        doc,
                        &o,
                        &n,
                        (docmdp, certifying),
                        &mut allowed,
                        &mut bad,
                        &what,
                    )?;
                    continue;
                }
            }
        }
        if matches!((&old, &new), (Object::Array(_), Object::Array(_))) {
            let o = refs_in(Some(&old));
            let n = refs_in(Some(&new));
            if o.iter().all(|r| n.contains(r)) && o.len() < n.len() {
                allowed.push(what("list extended"));
                continue;
            }
        }
        bad.push(what(&describe(&old)));
    }
    if docmdp == Some(1) {
        // Only DSS and document timestamps may follow a P=1 certification.
        let extra: Vec<String> = allowed
            .iter()
            .filter(|s| {
                !(s.contains("data")
                    || s.contains("document timestamp")
                    || s.contains("DSS")
                    || s.contains("catalog"))
            })
            .cloned()
            .collect();
        for e in extra {
            bad.push(format!(
                "{e} (the document is certified with no changes allowed)"
            ));
        }
    }
    Ok((allowed, bad))
}

fn describe(o: &Object) -> String {
    match o {
        Object::Stream(s) => match s.dict.name(b"Subtype").or(s.dict.name(b"Type")) {
            Some(t) => format!("/{} stream changed", String::from_utf8_lossy(t)),
            None => "content or data stream changed".into(),
        },
        Object::Dict(d) => match d.name(b"Type") {
            Some(t) => format!("/{} dictionary changed", String::from_utf8_lossy(t)),
            None => "dictionary changed".into(),
        },
        _ => "object changed".into(),
    }
}

fn changed_keys(o: &Dict, n: &Dict) -> Vec<Vec<u8>> {
    let mut keys: Vec<Vec<u8>> = Vec::new();
    for (k, v) in &n.0 {
        if o.get(k) != Some(v) {
            keys.push(k.clone());
        }
    }
    for (k, _) in &o.0 {
        if n.get(k).is_none() {
            keys.push(k.clone());
        }
    }
    keys
}

fn annots<S: Source + ?Sized>(
    doc: &Document<S>,
    xref: &HashMap<u32, XrefEntry>,
    page: &Dict,
) -> Result<Vec<ObjRef>, PdfError> {
    Ok(match page.get(b"Annots") {
        Some(Object::Ref(r)) => refs_in(Some(&doc.get_in(xref, *r)?)),
        other => refs_in(other),
    })
}

fn judge_annots<S: Source + ?Sized>(
    doc: &Document<S>,
    old: &[ObjRef],
    new: &[ObjRef],
    (docmdp, certifying): (Option<i64>, bool),
    allowed: &mut Vec<String>,
    bad: &mut Vec<String>,
    what: &dyn Fn(&str) -> String,
) -> Result<(), PdfError> {
    if !old.iter().all(|r| new.contains(r)) {
        bad.push(what("annotations removed from a page"));
        return Ok(());
    }
    for r in new.iter().filter(|r| !old.contains(r)) {
        let a = doc.get(*r)?;
        let Some(d) = a.as_dict() else { continue };
        if d.name(b"Subtype") == Some(b"Widget") && is_sig_widget(d) {
            if certifying && visible(d) {
                // As pyHanko reads DocMDP: after certification, signatures go into invisible or
                // existing fields; a new visible widget is a change of what is seen.
                bad.push(what(
                    "new visible signature field after the certification signature",
                ));
            } else {
                allowed.push(what("signature widget added to a page"));
            }
        } else if d.name(b"Subtype") == Some(b"Widget")
            && docmdp.unwrap_or(2) >= 2
            && d.get(b"FT").is_some()
        {
            allowed.push(what("form field widget added to a page"));
        } else if docmdp.unwrap_or(0) >= 3 {
            allowed.push(what("annotation added (DocMDP P=3)"));
        } else {
            bad.push(what(&format!(
                "/{} annotation added over the page",
                String::from_utf8_lossy(d.name(b"Subtype").unwrap_or(b"?"))
            )));
        }
    }
    Ok(())
}

fn check_acroform<S: Source + ?Sized>(
    _doc: &Document<S>,
    old: &Dict,
    new: &Dict,
    allowed: &mut Vec<String>,
    bad: &mut Vec<String>,
    what: &dyn Fn(&str) -> String,
) {
    let diff = changed_keys(old, new);
    let ok: &[&[u8]] = &[b"Fields", b"SigFlags", b"DR", b"DA", b"NeedAppearances"];
    let wrong: Vec<String> = diff
        .iter()
        .filter(|k| !ok.contains(&k.as_slice()))
        .map(|k| format!("/{}", String::from_utf8_lossy(k)))
        .collect();
    if !wrong.is_empty() {
        bad.push(what(&format!("form entries {} changed", wrong.join(" "))));
        return;
    }
    let o = refs_in(old.get(b"Fields"));
    let n = refs_in(new.get(b"Fields"));
    if o.iter().all(|r| n.contains(r)) {
        allowed.push(what("form: fields added"));
    } else {
        bad.push(what("form fields removed"));
    }
}
