//! Long-term validation data (PAdES B-LT): a Document Security Store with the certificates, CRLs and
//! OCSP responses a verifier needs later, appended in its own incremental update.

use std::io::Write;

use super::object::{Dict, Object};
use super::reader::{Document, Source};
use super::update::Update;
use super::PdfError;

/// DER blobs for the DSS.
#[derive(Clone, Debug, Default)]
pub struct Validation {
    pub certs: Vec<Vec<u8>>,
    pub crls: Vec<Vec<u8>>,
    pub ocsps: Vec<Vec<u8>>,
}

/// Append a DSS to `doc` (kept entries of an existing DSS, new ones added), writing the original
/// bytes and the update to `out`. Returns the number of new entries.
pub fn add_dss<S: Source + ?Sized>(
    doc: &Document<S>,
    out: &mut dyn Write,
    data: &Validation,
) -> Result<usize, PdfError> {
    let catalog = doc.catalog()?;
    let mut up = Update::new(doc)?;
    let mut dss = doc.resolve_dict(catalog.get(b"DSS"))?.unwrap_or_default();
    let mut added = 0;
    for (key, items) in [
        (&b"Certs"[..], &data.certs),
        (b"CRLs", &data.crls),
        (b"OCSPs", &data.ocsps),
    ] {
        let mut arr = doc
            .resolve(dss.get(key).unwrap_or(&Object::Null))?
            .as_array()
            .unwrap_or_default()
            .to_vec();
        // Skip what the store already holds (same bytes).
        let mut known = Vec::new();
        for o in &arr {
            if let (Some(r), Object::Stream(s)) = (o.as_ref(), doc.resolve(o)?) {
                known.push(doc.stream_data(r, &s)?);
            }
        }
        let mut seen: Vec<&Vec<u8>> = Vec::new();
        for item in items {
            if known.contains(item) || seen.contains(&item) {
                continue;
            }
            seen.push(item);
            let r = up.reserve();
            up.put_stream(
                doc,
                r,
                Dict::new().with(b"Filter", Object::name("FlateDecode")),
                &super::filter::deflate(item),
            );
            arr.push(Object::Ref(r));
            added += 1;
        }
        if !arr.is_empty() {
            dss.set(key, Object::Array(arr));
        }
    }
    let dss_ref = up.reserve();
    up.put(doc, dss_ref, Object::Dict(dss));
    let mut cat = catalog.clone();
    cat.set(b"DSS", Object::Ref(dss_ref));
    // ISO 32000 extension marker for PAdES (ETSI.ESIC level 5).
    let mut ext = doc
        .resolve_dict(catalog.get(b"Extensions"))?
        .unwrap_or_default();
    if ext.get(b"ESIC").is_none() {
        ext.set(
            b"ESIC",
            Object::Dict(
                Dict::new()
                    .with(b"BaseVersion", Object::name("1.7"))
                    .with(b"ExtensionLevel", Object::Int(5)),
            ),
        );
        cat.set(b"Extensions", Object::Dict(ext));
    }
    up.put(doc, doc.root_ref(), Object::Dict(cat));
    let written = up.finish();
    let mut buf = vec![0u8; 1 << 20];
    let mut off = 0u64;
    while off < doc.len() {
        let n = ((doc.len() - off) as usize).min(buf.len());
        doc.read_exact_at(off, &mut buf[..n])?;
        out.write_all(&buf[..n])?;
        off += n as u64;
    }
    out.write_all(&written.bytes)?;
    out.flush()?;
    Ok(added)
}

/// Validation data a DSS may hold, decoded, in all.
pub const MAX_DSS_BYTES: usize = 128 << 20;

/// The DSS contents of a document (decoded), for verification.
pub fn read_dss<S: Source + ?Sized>(doc: &Document<S>) -> Result<Validation, PdfError> {
    let catalog = doc.catalog()?;
    let Some(dss) = doc.resolve_dict(catalog.get(b"DSS"))? else {
        return Ok(Validation::default());
    };
    let mut v = Validation::default();
    let mut held = 0usize;
    for (key, dst) in [
        (&b"Certs"[..], &mut v.certs),
        (b"CRLs", &mut v.crls),
        (b"OCSPs", &mut v.ocsps),
    ] {
        let arr = doc.resolve(dss.get(key).unwrap_or(&Object::Null))?;
        for o in arr.as_array().unwrap_or_default().iter().take(10_000) {
            if let (Some(r), Object::Stream(s)) = (o.as_ref(), doc.resolve(o)?) {
                let data = doc.stream_data(r, &s)?;
                // What a verifier keeps of a DSS is bounded, whatever the streams decode to.
                held = held.saturating_add(data.len());
                if held > MAX_DSS_BYTES {
                    return Err(PdfError::Unsupported(format!(
                        "the DSS holds more than {} MB of validation data",
                        MAX_DSS_BYTES >> 20
                    )));
                }
                dst.push(data);
            }
        }
    }
    Ok(v)
}
