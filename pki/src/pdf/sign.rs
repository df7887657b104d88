//! Signing a PDF: a signature field (visible or not) and its signature dictionary are appended in an
//! incremental update; the document is hashed while it is copied to the output, so it is never held
//! in memory; `/Contents` is reserved from known lengths and filled after signing.

use std::io::Write;
use std::time::SystemTime;

use const_oid::ObjectIdentifier as Oid;

use super::image::SealImage;
use super::object::{write_dict, Dict, ObjRef, Object};
use super::reader::{Document, Page, Source};
use super::update::Update;
use super::PdfError;
use crate::cades::{self, CmsSigner, Hasher};

/// A source of RFC 3161 timestamp tokens (our TSA in-process, or a TSA over HTTP).
pub trait Timestamper {
    /// The largest token expected, so `/Contents` can be sized before the token exists.
    fn size_hint(&self) -> usize;
    /// A TimeStampToken (ContentInfo DER) over `digest`, made with the algorithm `alg`.
    fn timestamp(&self, alg: &Oid, digest: &[u8]) -> Result<Vec<u8>, String>;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubFilter {
    /// `ETSI.CAdES.detached` (PAdES).
    CadesDetached,
    /// `adbe.pkcs7.detached` (on request, for old validators).
    Pkcs7Detached,
}

impl SubFilter {
    fn name(self) -> &'static str {
        match self {
            SubFilter::CadesDetached => "ETSI.CAdES.detached",
            SubFilter::Pkcs7Detached => "adbe.pkcs7.detached",
        }
    }
}

/// One visible piece of a seal on a page, in the page's displayed orientation.
#[derive(Clone, Debug)]
pub struct Widget {
    pub page: usize,
    /// Centre in default user space (unrotated page coordinates).
    pub center: (f64, f64),
    /// Width and height as seen on screen, in points.
    pub width: f64,
    pub height: f64,
    /// The page's /Rotate: the appearance is turned so the seal looks upright.
    pub rotate: i64,
    /// For a cross-page seal: how far into the picture this slice starts, and the picture's width.
    pub slice: Option<(f64, f64)>,
}

impl Widget {
    /// A seal of `width`×`height` points centred at (`dx`, `dy`) points from the top-left corner of
    /// the page as displayed (crop box, after /Rotate).
    pub fn centered(page: &Page, index: usize, dx: f64, dy: f64, width: f64, height: f64) -> Self {
        Widget {
            page: index,
            center: to_user(page, dx, dy),
            width,
            height,
            rotate: page.rotate,
            slice: None,
        }
    }

    /// A seal centred on a point of default user space (the middle of a keyword found on the page).
    pub fn at_user(page: &Page, index: usize, center: (f64, f64), width: f64, height: f64) -> Self {
        Widget {
            page: index,
            center,
            width,
            height,
            rotate: page.rotate,
            slice: None,
        }
    }

    /// 骑缝章: slice `i` of `n` of a `width`×`height` seal at the right edge of the displayed page,
    /// its centre `dy` points from the top.
    pub fn cross_page(
        page: &Page,
        index: usize,
        i: usize,
        n: usize,
        dy: f64,
        width: f64,
        height: f64,
    ) -> Self {
        let sw = width / n as f64;
        let (dw, _) = displayed_size(page);
        Widget {
            page: index,
            center: to_user(page, dw - sw / 2.0, dy),
            width: sw,
            height,
            rotate: page.rotate,
            slice: Some((sw * i as f64, width)),
        }
    }

    fn rect(&self) -> [f64; 4] {
        let (uw, uh) = if self.rotate % 180 == 90 {
            (self.height, self.width)
        } else {
            (self.width, self.height)
        };
        [
            self.center.0 - uw / 2.0,
            self.center.1 - uh / 2.0,
            self.center.0 + uw / 2.0,
            self.center.1 + uh / 2.0,
        ]
    }
}

/// Width and height of the crop box as displayed.
pub fn displayed_size(page: &Page) -> (f64, f64) {
    let [x0, y0, x1, y1] = page.crop_box;
    if page.rotate % 180 == 90 {
        (y1 - y0, x1 - x0)
    } else {
        (x1 - x0, y1 - y0)
    }
}

/// Displayed coordinates (from the top-left, y down) to default user space.
pub fn to_user(page: &Page, dx: f64, dy: f64) -> (f64, f64) {
    let [x0, y0, x1, y1] = page.crop_box;
    match page.rotate {
        90 => (x0 + dy, y0 + dx),
        180 => (x1 - dx, y0 + dy),
        270 => (x1 - dy, y1 - dx),
        _ => (x0 + dx, y1 - dy),
    }
}

/// A visible seal: one picture, shown by one or more widgets.
#[derive(Clone, Debug)]
pub struct Appearance {
    pub image: SealImage,
    pub widgets: Vec<Widget>,
}

#[derive(Clone, Debug)]
pub struct SignOptions {
    /// The field name; a fresh `SignatureN` when absent.
    pub field_name: Option<String>,
    pub appearance: Option<Appearance>,
    pub sub_filter: SubFilter,
    /// DocMDP permission for a certification signature: 1 no changes, 2 form filling and signing,
    /// 3 also annotations.
    pub certify: Option<u8>,
    pub reason: Option<String>,
    pub location: Option<String>,
    pub contact_info: Option<String>,
    pub signing_time: SystemTime,
}

impl Default for SignOptions {
    fn default() -> Self {
        SignOptions {
            field_name: None,
            appearance: None,
            sub_filter: SubFilter::CadesDetached,
            certify: None,
            reason: None,
            location: None,
            contact_info: None,
            signing_time: SystemTime::now(),
        }
    }
}

/// What was written.
#[derive(Clone, Debug)]
pub struct Signed {
    pub field_name: String,
    pub byte_range: [u64; 4],
    pub total_len: u64,
    /// Bytes of `/Contents` used by the CMS, out of the reserved size.
    pub cms_len: usize,
    pub reserved: usize,
    /// SHA-256 of all that was written (the source and its update), when the signature's own
    /// digest is SHA-256: its state before the hole carries on over the hole, so the output
    /// need not be hashed again. None otherwise (SM3).
    pub sha256: Option<[u8; 32]>,
}

/// PDF date string `D:YYYYMMDDHHmmSS+00'00'`.
pub fn pdf_date(t: SystemTime) -> String {
    match der::DateTime::from_system_time(t) {
        Ok(d) => format!(
            "D:{:04}{:02}{:02}{:02}{:02}{:02}+00'00'",
            d.year(),
            d.month(),
            d.day(),
            d.hour(),
            d.minutes(),
            d.seconds()
        ),
        Err(_) => "D:19700101000000+00'00'".into(),
    }
}

/// The DocMDP permission of a certified document, if it is certified.
pub fn docmdp_permission<S: Source + ?Sized>(doc: &Document<S>) -> Result<Option<i64>, PdfError> {
    let cat = doc.catalog()?;
    let Some(perms) = doc.resolve_dict(cat.get(b"Perms"))? else {
        return Ok(None);
    };
    let Some(sig) = doc.resolve_dict(perms.get(b"DocMDP"))? else {
        return Ok(None);
    };
    let refs = doc.resolve(sig.get(b"Reference").unwrap_or(&Object::Null))?;
    for r in refs.as_array().unwrap_or_default() {
        let r = doc.resolve(r)?;
        let Some(r) = r.as_dict() else { continue };
        if r.name(b"TransformMethod") == Some(b"DocMDP") {
            let p = doc
                .resolve_dict(r.get(b"TransformParams"))?
                .and_then(|tp| tp.int(b"P"))
                .unwrap_or(2);
            return Ok(Some(p));
        }
    }
    Ok(Some(2))
}

/// Names of the top-level form fields, and whether any is a filled signature field.
fn existing_fields<S: Source + ?Sized>(
    doc: &Document<S>,
    acro: &Option<Dict>,
) -> Result<(Vec<Vec<u8>>, bool), PdfError> {
    let mut names = Vec::new();
    let mut signed = false;
    let Some(acro) = acro else {
        return Ok((names, signed));
    };
    let fields = doc.resolve(acro.get(b"Fields").unwrap_or(&Object::Null))?;
    for f in fields.as_array().unwrap_or_default().iter().take(100_000) {
        let Some(d) = doc.resolve(f)?.as_dict().cloned() else {
            continue;
        };
        if let Some(t) = d.get(b"T").and_then(Object::as_str_bytes) {
            names.push(t.to_vec());
        }
        if d.name(b"FT") == Some(b"Sig") && d.get(b"V").is_some() {
            signed = true;
        }
    }
    Ok((names, signed))
}

fn num_array(v: &[f64]) -> Object {
    Object::Array(v.iter().map(|x| Object::Real(*x)).collect())
}

/// What fills `/Contents`.
enum Fill<'a> {
    /// A CAdES signature, with a signature timestamp when a TSA is given.
    Cms(&'a CmsSigner<'a>, Option<&'a dyn Timestamper>),
    /// A document timestamp (PAdES B-LTA): the token itself, over the byte ranges.
    DocTimestamp(&'a dyn Timestamper),
}

/// Sign `doc`, writing the original bytes and the update to `out`.
pub fn sign<S: Source + ?Sized>(
    doc: &Document<S>,
    out: &mut dyn Write,
    cms_signer: &CmsSigner,
    opts: &SignOptions,
    tsa: Option<&dyn Timestamper>,
) -> Result<Signed, PdfError> {
    sign_with(doc, out, &Fill::Cms(cms_signer, tsa), opts)
}

/// Add a document timestamp (`/Type /DocTimeStamp`, `ETSI.RFC3161`) covering everything before it,
/// the DSS included: PAdES B-LTA.
pub fn timestamp_document<S: Source + ?Sized>(
    doc: &Document<S>,
    out: &mut dyn Write,
    tsa: &dyn Timestamper,
) -> Result<Signed, PdfError> {
    let opts = SignOptions::default();
    sign_with(doc, out, &Fill::DocTimestamp(tsa), &opts)
}

fn sign_with<S: Source + ?Sized>(
    doc: &Document<S>,
    out: &mut dyn Write,
    fill: &Fill,
    opts: &SignOptions,
) -> Result<Signed, PdfError> {
    let is_doc_ts = matches!(fill, Fill::DocTimestamp(_));
    let catalog = doc.catalog()?;
    let pages = doc.pages()?;
    if pages.is_empty() {
        return Err(PdfError::Refused("the document has no pages".into()));
    }
    match docmdp_permission(doc)? {
        // PAdES: DSS and document timestamps may follow even a P=1 certification.
        Some(1) if is_doc_ts => {}
        Some(1) => {
            return Err(PdfError::Refused(
                "the document is certified with no changes allowed (DocMDP P=1)".into(),
            ))
        }
        Some(_) if opts.certify.is_some() => {
            return Err(PdfError::Refused(
                "the document is already certified".into(),
            ))
        }
        Some(_) if opts.appearance.is_some() => {
            return Err(PdfError::Refused(
                "the document is certified (DocMDP): a new signature after certification must be invisible"
                    .into(),
            ))
        }
        _ => {}
    }
    let acro_obj = catalog.get(b"AcroForm").cloned();
    let acro = doc.resolve_dict(acro_obj.as_ref())?;
    let (names, already_signed) = existing_fields(doc, &acro)?;
    if opts.certify.is_some() && already_signed {
        return Err(PdfError::Refused(
            "a certification signature must be the first signature".into(),
        ));
    }
    if already_signed
        && opts
            .appearance
            .as_ref()
            .is_some_and(|a| a.widgets.len() > 1)
    {
        // Its extra signature fields would read as changes to the earlier signatures (pyHanko).
        return Err(PdfError::Refused(
            "a cross-page seal must be the first signature on a document".into(),
        ));
    }
    if let Some(p) = opts.certify {
        if !(1..=3).contains(&p) {
            return Err(PdfError::Refused(
                "DocMDP permission must be 1, 2 or 3".into(),
            ));
        }
    }
    let field_name = match &opts.field_name {
        Some(n) if names.iter().any(|x| x == n.as_bytes()) => {
            return Err(PdfError::Refused(format!(
                "a field named {n:?} already exists"
            )))
        }
        Some(n) => n.clone(),
        None => (1..)
            .map(|i| {
                if is_doc_ts {
                    format!("DocTimeStamp{i}")
                } else {
                    format!("Signature{i}")
                }
            })
            .find(|n| !names.iter().any(|x| x == n.as_bytes()))
            .unwrap_or_else(|| "Signature".into()),
    };
    if let Some(a) = &opts.appearance {
        if let Some(w) = a.widgets.iter().find(|w| w.page >= pages.len()) {
            return Err(PdfError::Refused(format!(
                "page {} does not exist (the document has {})",
                w.page + 1,
                pages.len()
            )));
        }
    }

    let mut up = Update::new(doc)?;
    let sig_ref = up.reserve();
    let field_ref = up.reserve();

    // Widgets (annotations) per page.
    let mut widget_refs: Vec<(usize, ObjRef)> = Vec::new();
    let mut extra_fields: Vec<ObjRef> = Vec::new();
    match &opts.appearance {
        None => {
            let w = Dict::new()
                .with(b"Type", Object::name("Annot"))
                .with(b"Subtype", Object::name("Widget"))
                .with(b"FT", Object::name("Sig"))
                .with(b"T", Object::string(field_name.as_bytes()))
                .with(b"V", Object::Ref(sig_ref))
                .with(b"F", Object::Int(132))
                .with(b"P", Object::Ref(pages[0].id))
                .with(b"Rect", num_array(&[0.0, 0.0, 0.0, 0.0]));
            up.put(doc, field_ref, Object::Dict(w));
            widget_refs.push((0, field_ref));
        }
        Some(app) => {
            let img_ref = up.reserve();
            let mut img_dict = app.image.dict();
            if let Some(alpha) = &app.image.alpha {
                let smask_ref = up.reserve();
                up.put_stream(doc, smask_ref, app.image.smask_dict(), alpha);
                img_dict.set(b"SMask", Object::Ref(smask_ref));
            }
            up.put_stream(doc, img_ref, img_dict, &app.image.data);
            // Every piece (the slices of a cross-page seal) is a signature field of its own whose
            // value is the one signature: validators list each piece as that signature. A field with
            // several widgets is read by poppler as several unsigned fields, and plain annotations
            // added beside a signature count as disallowed changes for earlier signatures.
            for (i, w) in app.widgets.iter().enumerate() {
                let ap_ref = up.reserve();
                let (iw, xoff) = w
                    .slice
                    .map(|(off, full)| (full, off))
                    .unwrap_or((w.width, 0.0));
                let content = format!(
                    "q {} 0 0 {} {} 0 cm /Im0 Do Q",
                    fmt(iw),
                    fmt(w.height),
                    fmt(-xoff)
                );
                let matrix: [f64; 6] = match w.rotate {
                    90 => [0.0, 1.0, -1.0, 0.0, 0.0, 0.0],
                    180 => [-1.0, 0.0, 0.0, -1.0, 0.0, 0.0],
                    270 => [0.0, -1.0, 1.0, 0.0, 0.0, 0.0],
                    _ => [1.0, 0.0, 0.0, 1.0, 0.0, 0.0],
                };
                let ap = Dict::new()
                    .with(b"Type", Object::name("XObject"))
                    .with(b"Subtype", Object::name("Form"))
                    .with(b"BBox", num_array(&[0.0, 0.0, w.width, w.height]))
                    .with(b"Matrix", num_array(&matrix))
                    .with(
                        b"Resources",
                        Object::Dict(Dict::new().with(
                            b"XObject",
                            Object::Dict(Dict::new().with(b"Im0", Object::Ref(img_ref))),
                        )),
                    );
                up.put_stream(doc, ap_ref, ap, content.as_bytes());
                let (wref, name) = if i == 0 {
                    (field_ref, field_name.clone())
                } else {
                    let r = up.reserve();
                    extra_fields.push(r);
                    (r, format!("{field_name}-part{}", i + 1))
                };
                let mut wd = Dict::new()
                    .with(b"Type", Object::name("Annot"))
                    .with(b"Subtype", Object::name("Widget"))
                    .with(b"FT", Object::name("Sig"))
                    .with(b"T", Object::string(name.as_bytes()))
                    .with(b"V", Object::Ref(sig_ref));
                // Print + Locked: shown and printed, not movable.
                wd.set(b"F", Object::Int(132));
                wd.set(b"P", Object::Ref(pages[w.page].id));
                wd.set(b"Rect", num_array(&w.rect()));
                wd.set(
                    b"AP",
                    Object::Dict(Dict::new().with(b"N", Object::Ref(ap_ref))),
                );
                up.put(doc, wref, Object::Dict(wd));
                widget_refs.push((w.page, wref));
            }
        }
    }

    // Each touched page gains its annotations.
    let mut touched: Vec<usize> = widget_refs.iter().map(|(p, _)| *p).collect();
    touched.sort_unstable();
    touched.dedup();
    for p in touched {
        let page = &pages[p];
        let new: Vec<Object> = widget_refs
            .iter()
            .filter(|(q, _)| *q == p)
            .map(|(_, r)| Object::Ref(*r))
            .collect();
        match page.dict.get(b"Annots") {
            Some(Object::Ref(ar)) => {
                let mut arr = doc.get(*ar)?.as_array().unwrap_or_default().to_vec();
                arr.extend(new);
                up.put(doc, *ar, Object::Array(arr));
            }
            other => {
                let mut arr = other
                    .and_then(Object::as_array)
                    .unwrap_or_default()
                    .to_vec();
                arr.extend(new);
                let mut pd = page.dict.clone();
                pd.set(b"Annots", Object::Array(arr));
                up.put(doc, page.id, Object::Dict(pd));
            }
        }
    }

    // The form: the new field listed, SigFlags 3 (signatures exist, append only).
    let mut new_catalog = catalog.clone();
    let mut catalog_changed = false;
    let mut acro_dict = acro.clone().unwrap_or_default();
    let new_fields = std::iter::once(field_ref)
        .chain(extra_fields)
        .map(Object::Ref);
    match acro_dict.get(b"Fields").cloned() {
        Some(Object::Ref(fr)) => {
            let mut arr = doc.get(fr)?.as_array().unwrap_or_default().to_vec();
            arr.extend(new_fields);
            up.put(doc, fr, Object::Array(arr));
        }
        other => {
            let mut arr = other
                .as_ref()
                .and_then(Object::as_array)
                .unwrap_or_default()
                .to_vec();
            arr.extend(new_fields);
            acro_dict.set(b"Fields", Object::Array(arr));
        }
    }
    acro_dict.set(b"SigFlags", Object::Int(3));
    match acro_obj {
        Some(Object::Ref(ar)) => up.put(doc, ar, Object::Dict(acro_dict)),
        _ => {
            new_catalog.set(b"AcroForm", Object::Dict(acro_dict));
            catalog_changed = true;
        }
    }
    if opts.certify.is_some() {
        let mut perms = doc.resolve_dict(catalog.get(b"Perms"))?.unwrap_or_default();
        perms.set(b"DocMDP", Object::Ref(sig_ref));
        new_catalog.set(b"Perms", Object::Dict(perms));
        catalog_changed = true;
    }
    if catalog_changed {
        up.put(doc, doc.root_ref(), Object::Dict(new_catalog));
    }

    // The signature dictionary, /ByteRange and /Contents placeholders last.
    let reserved = match fill {
        Fill::Cms(cms_signer, tsa) => {
            let cms_len = match cms_signer.reserve {
                Some(n) => n,
                None => cms_signer
                    .max_len()
                    .map_err(|e| PdfError::Signing(e.to_string()))?,
            };
            cms_len + tsa.map(|t| t.size_hint() + 64).unwrap_or(0)
        }
        Fill::DocTimestamp(t) => t.size_hint() + 64,
    };
    let mut sd = if is_doc_ts {
        Dict::new()
            .with(b"Type", Object::name("DocTimeStamp"))
            .with(b"Filter", Object::name("Adobe.PPKLite"))
            .with(b"SubFilter", Object::name("ETSI.RFC3161"))
    } else {
        Dict::new()
            .with(b"Type", Object::name("Sig"))
            .with(b"Filter", Object::name("Adobe.PPKLite"))
            .with(b"SubFilter", Object::name(opts.sub_filter.name()))
            .with(b"M", Object::string(pdf_date(opts.signing_time)))
    };
    for (k, v) in [
        (&b"Reason"[..], &opts.reason),
        (b"Location", &opts.location),
        (b"ContactInfo", &opts.contact_info),
    ] {
        if let Some(v) = v {
            sd.set(k, Object::string(text_string(v)));
        }
    }
    if let Some(p) = opts.certify {
        let tp = Dict::new()
            .with(b"Type", Object::name("TransformParams"))
            .with(b"P", Object::Int(p.into()))
            .with(b"V", Object::name("1.2"));
        let r = Dict::new()
            .with(b"Type", Object::name("SigRef"))
            .with(b"TransformMethod", Object::name("DocMDP"))
            .with(b"TransformParams", Object::Dict(tp));
        sd.set(b"Reference", Object::Array(vec![Object::Dict(r)]));
    }
    let mut o = Object::Dict(sd);
    if let Some(c) = doc.crypt() {
        c.encrypt_strings(sig_ref, &mut o);
    }
    let mut body = Vec::new();
    if let Object::Dict(d) = &o {
        write_dict(&mut body, d);
    }
    body.truncate(body.len() - 2);
    body.extend_from_slice(BR_PLACEHOLDER);
    body.extend_from_slice(b"/Contents <");
    body.extend(std::iter::repeat_n(b'0', reserved * 2));
    body.extend_from_slice(b">>>");
    up.put_raw(sig_ref, body);

    let written = up.finish();
    let mut bytes = written.bytes;
    let sig_off = written
        .offsets
        .iter()
        .find(|(r, _)| *r == sig_ref)
        .map(|(_, o)| (o - doc.len()) as usize)
        .ok_or_else(|| PdfError::Signing("signature object missing from the update".into()))?;
    let br_at = sig_off + find(&bytes[sig_off..], BR_PLACEHOLDER)?;
    let lt = sig_off + find(&bytes[sig_off..], b"/Contents <")? + b"/Contents ".len();
    let gt = lt + 1 + reserved * 2;
    let base = doc.len();
    let total = base + bytes.len() as u64;
    let byte_range = [
        0,
        base + lt as u64,
        base + gt as u64 + 1,
        total - (base + gt as u64 + 1),
    ];
    let br_text = format!(
        "/ByteRange [{} {} {} {}]",
        byte_range[0], byte_range[1], byte_range[2], byte_range[3]
    );
    if br_text.len() > BR_PLACEHOLDER.len() {
        return Err(PdfError::Refused(
            "document too large for the /ByteRange field".into(),
        ));
    }
    let mut patch = br_text.into_bytes();
    // Pad inside the brackets so the dictionary stays well-formed.
    let close = patch.pop();
    patch.resize(BR_PLACEHOLDER.len() - 1, b' ');
    patch.extend(close);
    bytes[br_at..br_at + patch.len()].copy_from_slice(&patch);

    // Stream the original to the output while hashing, then the update around the hole.
    let mut hasher = match fill {
        Fill::Cms(c, _) => Hasher::for_scheme(c.scheme),
        Fill::DocTimestamp(_) => Hasher::sha256(),
    };
    copy_hashing(doc, out, &mut hasher)?;
    hasher.update(&bytes[..lt]);
    let whole = match &hasher {
        Hasher::Sha256(h) => Some(h.clone()),
        Hasher::Sm3(_) => None,
    };
    hasher.update(&bytes[gt + 1..]);
    let digest_alg = hasher.oid();
    let digest = hasher.finish();
    let cms = match fill {
        Fill::Cms(cms_signer, tsa) => {
            let mut sd = cms_signer
                .sign(&digest)
                .map_err(|e| PdfError::Signing(e.to_string()))?;
            if let Some(t) = tsa {
                let sv = cades::signature_value(&sd).unwrap_or_default();
                let alg = cades::digest_oid(cms_signer.scheme);
                let d = cades::digest(&alg, sv).unwrap_or_default();
                let token = t.timestamp(&alg, &d).map_err(PdfError::Timestamp)?;
                cades::add_timestamp(&mut sd, &token)
                    .map_err(|e| PdfError::Timestamp(e.to_string()))?;
            }
            cms_signer
                .encode(&sd)
                .map_err(|e| PdfError::Signing(e.to_string()))?
        }
        Fill::DocTimestamp(t) => t
            .timestamp(&digest_alg, &digest)
            .map_err(PdfError::Timestamp)?,
    };
    if cms.len() > reserved {
        return Err(PdfError::Signing(format!(
            "signature of {} bytes exceeds the {} reserved",
            cms.len(),
            reserved
        )));
    }
    let mut hexed = Vec::with_capacity(cms.len() * 2);
    super::object::push_hex_upper(&mut hexed, &cms);
    bytes[lt + 1..lt + 1 + hexed.len()].copy_from_slice(&hexed);
    out.write_all(&bytes)?;
    out.flush()?;
    let sha256 = whole.map(|mut h| {
        use sha2::Digest;
        h.update(&bytes[lt..]);
        <[u8; 32]>::from(h.finalize())
    });
    Ok(Signed {
        field_name,
        byte_range,
        total_len: total,
        cms_len: cms.len(),
        reserved,
        sha256,
    })
}

const BR_PLACEHOLDER: &[u8] = b"/ByteRange [0 0000000000 0000000000 0000000000]";

fn find(hay: &[u8], needle: &[u8]) -> Result<usize, PdfError> {
    hay.windows(needle.len())
        .position(|w| w == needle)
        .ok_or_else(|| PdfError::Signing("placeholder not found".into()))
}

fn fmt(v: f64) -> String {
    let mut b = Vec::new();
    super::object::fmt_real(&mut b, v);
    String::from_utf8(b).unwrap_or_default()
}

/// A text string: PDFDocEncoding-compatible ASCII as is, anything else UTF-16BE with a BOM.
pub fn text_string(s: &str) -> Vec<u8> {
    if s.is_ascii() {
        s.as_bytes().to_vec()
    } else {
        let mut v = vec![0xFE, 0xFF];
        for u in s.encode_utf16() {
            v.extend_from_slice(&u.to_be_bytes());
        }
        v
    }
}

/// Copy the whole source to `out`, feeding every byte to `hasher`.
pub fn copy_hashing<S: Source + ?Sized>(
    doc: &Document<S>,
    out: &mut dyn Write,
    hasher: &mut Hasher,
) -> Result<(), PdfError> {
    // No bigger than the document: zeroing a mebibyte for a page of a few kilobytes was a
    // twentieth of a sealing's time.
    let mut buf = vec![
        0u8;
        usize::try_from(doc.len())
            .unwrap_or(usize::MAX)
            .min(1 << 20)
    ];
    let mut off = 0u64;
    while off < doc.len() {
        let n = ((doc.len() - off) as usize).min(buf.len());
        doc.read_exact_at(off, &mut buf[..n])?;
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n])?;
        off += n as u64;
    }
    Ok(())
}
