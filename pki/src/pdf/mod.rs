//! PDF signing and validation (PAdES, ETSI EN 319 142) on incremental updates.
//!
//! - [`reader`]: lazy, random-access reading — cross-reference tables and streams, hybrid files,
//!   object streams, encrypted documents ([`crypt`]), the page tree.
//! - [`update`]: an incremental update appended to the original bytes, never rewriting them, in the
//!   cross-reference form of the original.
//! - [`sign`]: signature fields, placeholders, the streaming hash, CMS ([`crate::cades`]), levels.
//! - [`image`]: seal pictures (PNG with alpha as `/SMask`, JPEG as is) and appearances.
//! - [`verify`]: integrity, coverage, revision analysis, CMS, chain, timestamp.
//! - [`compose`]: new documents for printed forms (CJK font subsets, QR codes); [`form`]: the
//!   e-seal application form laid out with it.

pub mod compose;
pub mod crypt;
pub mod filter;
pub mod form;
pub mod image;
pub mod ltv;
pub mod object;
pub mod parse;
pub mod reader;
pub mod sign;
pub mod text;
pub mod update;
pub mod verify;

pub use object::{Dict, ObjRef, Object};
pub use reader::{Document, Source};

/// Why a PDF could not be read or signed. Each names what was wrong; none leaves an output behind.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PdfError {
    #[error("not a PDF: {0}")]
    NotPdf(String),
    #[error("malformed PDF: {0}")]
    Malformed(String),
    #[error("unsupported PDF feature: {0}")]
    Unsupported(String),
    #[error("{0}")]
    Password(String),
    #[error("cannot sign: {0}")]
    Refused(String),
    #[error("bad seal image: {0}")]
    Image(String),
    #[error("signing failed: {0}")]
    Signing(String),
    #[error("timestamp: {0}")]
    Timestamp(String),
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::reader::Document;
    use super::sign::{self, SignOptions};
    use super::verify::{self, VerifyOptions};
    use crate::cades::CmsSigner;

    use crate::keys::Signer;

    /// A small PDF with a classic xref table, written by hand with correct offsets.
    fn tiny_pdf() -> Vec<u8> {
        let objs = [
            "<< /Type /Catalog /Pages 2 0 R >>",
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
            "<< /Length 44 >>\nstream\nBT /F1 12 Tf 20 100 Td (Seal here) Tj ET\n\nendstream",
            "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        ];
        let mut out = b"%PDF-1.4\n".to_vec();
        let mut offs = Vec::new();
        for (i, o) in objs.iter().enumerate() {
            offs.push(out.len());
            out.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
        }
        let x = out.len();
        out.extend_from_slice(b"xref\n0 6\n0000000000 65535 f \n");
        for o in offs {
            out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
        }
        out.extend_from_slice(
            format!("trailer\n<< /Size 6 /Root 1 0 R >>\nstartxref\n{x}\n%%EOF\n").as_bytes(),
        );
        out
    }

    /// A hybrid-reference file (ISO 32000 7.5.8.4): a classic table for the uncompressed objects and,
    /// through `/XRefStm`, an xref stream for an object kept in an object stream (the font).
    fn hybrid_pdf() -> Vec<u8> {
        let mut out = b"%PDF-1.5\n".to_vec();
        let mut off = std::collections::BTreeMap::new();
        fn put(
            out: &mut Vec<u8>,
            off: &mut std::collections::BTreeMap<u32, usize>,
            n: u32,
            body: &[u8],
        ) {
            off.insert(n, out.len());
            out.extend_from_slice(format!("{n} 0 obj\n").as_bytes());
            out.extend_from_slice(body);
            out.extend_from_slice(b"\nendobj\n");
        }
        put(&mut out, &mut off, 1, b"<< /Type /Catalog /Pages 2 0 R >>");
        put(
            &mut out,
            &mut off,
            2,
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        );
        put(&mut out, &mut off, 3, b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R /Resources << /Font << /F1 6 0 R >> >> >>");
        let content = b"BT /F1 12 Tf 20 100 Td (Hybrid) Tj ET";
        put(
            &mut out,
            &mut off,
            4,
            &[
                format!("<< /Length {} >>\nstream\n", content.len()).as_bytes(),
                content,
                b"\nendstream",
            ]
            .concat(),
        );
        let inner = b"6 0 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>";
        put(
            &mut out,
            &mut off,
            5,
            &[
                format!(
                    "<< /Type /ObjStm /N 1 /First 4 /Length {} >>\nstream\n",
                    inner.len()
                )
                .as_bytes(),
                &inner[..],
                b"\nendstream",
            ]
            .concat(),
        );
        // The xref stream: 5 (in the file), 6 (object 0 of stream 5), 7 (itself).
        let at7 = out.len();
        let mut rows = Vec::new();
        for (t, f2, f3) in [(1u8, off[&5] as u32, 0u16), (2, 5, 0), (1, at7 as u32, 0)] {
            rows.push(t);
            rows.extend_from_slice(&f2.to_be_bytes());
            rows.extend_from_slice(&f3.to_be_bytes());
        }
        put(
            &mut out,
            &mut off,
            7,
            &[
                format!(
                    "<< /Type /XRef /Size 8 /W [1 4 2] /Index [5 3] /Length {} >>\nstream\n",
                    rows.len()
                )
                .as_bytes(),
                &rows[..],
                b"\nendstream",
            ]
            .concat(),
        );
        let x = out.len();
        out.extend_from_slice(b"xref\n0 5\n0000000000 65535 f \n");
        for n in 1..=4 {
            out.extend_from_slice(format!("{:010} 00000 n \n", off[&n]).as_bytes());
        }
        out.extend_from_slice(
            format!("trailer\n<< /Size 8 /Root 1 0 R /XRefStm {at7} >>\nstartxref\n{x}\n%%EOF\n")
                .as_bytes(),
        );
        out
    }

    #[test]
    fn hybrid_files_are_read_and_signed_with_a_table() {
        let doc = Document::open(Box::new(hybrid_pdf()), None).unwrap();
        assert_eq!(doc.sections[0].form, super::reader::XrefForm::Hybrid);
        let font = doc.get(super::ObjRef::new(6, 0)).unwrap();
        assert_eq!(
            font.as_dict().and_then(|d| d.name(b"BaseFont")),
            Some(&b"Helvetica"[..])
        );
        let page = doc.pages().unwrap()[0].clone();
        assert_eq!(super::text::find(&doc, &page, "Hybrid").unwrap().len(), 1);
        let (signer, cert, root) = key_and_cert();
        let cms = CmsSigner {
            signer: signer.as_ref(),
            scheme: crate::SignatureScheme::EcdsaSha256,
            cert: &cert,
            chain: &[],
            reserve: None,
        };
        let mut out = Vec::new();
        let written = sign::sign(&doc, &mut out, &cms, &SignOptions::default(), None).unwrap();
        // The digest carried over the hole is the output's own.
        assert_eq!(
            written.sha256.map(hex::encode),
            Some(crate::alg::sha256_hex(&out))
        );
        // A reserve the caller kept gives the same room.
        let kept = CmsSigner {
            reserve: Some(cms.max_len().unwrap()),
            ..cms
        };
        let mut again = Vec::new();
        let second = sign::sign(&doc, &mut again, &kept, &SignOptions::default(), None).unwrap();
        assert_eq!(second.reserved, written.reserved);
        let signed = Document::open(Box::new(out), None).unwrap();
        // The update is a table (readers that know only tables still find the new objects); the
        // compressed font is still found through the older section's /XRefStm.
        assert_eq!(signed.sections[0].form, super::reader::XrefForm::Table);
        assert!(signed
            .get(super::ObjRef::new(6, 0))
            .unwrap()
            .as_dict()
            .is_some());
        let r = verify::verify(&signed, &trusting(root)).unwrap();
        assert_eq!(r.verdict, crate::ses::Verdict::Valid, "{r:?}");
    }

    fn trusting(cert: x509_cert::Certificate) -> VerifyOptions {
        VerifyOptions {
            trust: vec![cert],
            now: None,
        }
    }

    /// A document-signing key and certificate, and the root to trust.
    fn key_and_cert() -> (
        Arc<dyn Signer>,
        x509_cert::Certificate,
        x509_cert::Certificate,
    ) {
        let (signer, _, cert, root) =
            crate::testpki::signer(crate::KeyAlgorithm::P256, "Seal test");
        (signer, cert, root)
    }

    fn signed_tiny() -> (Vec<u8>, x509_cert::Certificate) {
        let (signer, cert, root) = key_and_cert();
        let doc = Document::open(Box::new(tiny_pdf()), None).unwrap();
        let cms = CmsSigner {
            signer: signer.as_ref(),
            scheme: crate::SignatureScheme::EcdsaSha256,
            cert: &cert,
            chain: &[],
            reserve: None,
        };
        let mut out = Vec::new();
        sign::sign(&doc, &mut out, &cms, &SignOptions::default(), None).unwrap();
        (out, root)
    }

    #[test]
    fn signs_and_verifies_in_memory_and_finds_text() {
        let (signed, cert) = signed_tiny();
        let doc = Document::open(Box::new(signed), None).unwrap();
        let r = verify::verify(&doc, &trusting(cert)).unwrap();
        assert_eq!(r.verdict, crate::ses::Verdict::Valid, "{r:?}");
        let page = &doc.pages().unwrap()[0];
        let hits = super::text::find(&doc, page, "Seal here").unwrap();
        assert_eq!(hits.len(), 1);
        assert!((hits[0][0] - 20.0).abs() < 0.01 && hits[0][2] > 60.0);
    }

    /// Every truncation and thousands of byte mutations of a signed PDF: reading, page listing, text
    /// search and verification return a result or an error — never a panic, never a hang.
    #[test]
    fn mutated_and_truncated_pdfs_never_panic() {
        let (signed, cert) = signed_tiny();
        let trust = trusting(cert);
        let exercise = |bytes: Vec<u8>| {
            if let Ok(doc) = Document::open(Box::new(bytes), None) {
                if let Ok(pages) = doc.pages() {
                    for p in pages.iter().take(3) {
                        let _ = super::text::find(&doc, p, "Seal");
                    }
                }
                // Any verdict or error will do; what is tested is that there is one.
                let _ = verify::verify(&doc, &trust);
            }
        };
        for cut in (0..signed.len()).step_by(7) {
            exercise(signed[..cut].to_vec());
        }
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let specials = [
            b'0', b'9', b' ', b'<', b'>', b'[', b']', b'/', b'(', b')', 0xFF, b'R', b'\n',
        ];
        for _ in 0..3000 {
            let mut m = signed.clone();
            for _ in 0..(1 + next() % 3) {
                let i = (next() as usize) % m.len();
                m[i] = if next() % 2 == 0 {
                    specials[(next() as usize) % specials.len()]
                } else {
                    next() as u8
                };
            }
            exercise(m);
        }
    }

    /// A file of `objs` (number, body) with one cross-reference stream, uncompressed (/W [1 4 2]):
    /// `compressed` are (number, object stream, index) entries; `prev_self` points /Prev at the
    /// xref stream itself.
    fn xref_stream_pdf(
        objs: &[(u32, Vec<u8>)],
        compressed: &[(u32, u32, u16)],
        prev_self: bool,
    ) -> Vec<u8> {
        let mut out = b"%PDF-1.5\n".to_vec();
        let mut rows: Vec<(u32, u8, u32, u16)> = Vec::new();
        for (n, body) in objs {
            rows.push((*n, 1, out.len() as u32, 0));
            out.extend_from_slice(format!("{n} 0 obj\n").as_bytes());
            out.extend_from_slice(body);
            out.extend_from_slice(b"\nendobj\n");
        }
        for (n, stm, i) in compressed {
            rows.push((*n, 2, *stm, *i));
        }
        let size = rows.iter().map(|r| r.0).max().unwrap_or(0) + 2;
        let at = out.len() as u32;
        rows.push((size - 1, 1, at, 0));
        rows.sort();
        let mut data = Vec::new();
        let mut index = String::new();
        for (n, t, f2, f3) in &rows {
            index.push_str(&format!("{n} 1 "));
            data.push(*t);
            data.extend_from_slice(&f2.to_be_bytes());
            data.extend_from_slice(&f3.to_be_bytes());
        }
        let prev = if prev_self {
            format!(" /Prev {at}")
        } else {
            String::new()
        };
        out.extend_from_slice(
            format!(
                "{} 0 obj\n<< /Type /XRef /Size {size} /Root 1 0 R /W [1 4 2] /Index [{index}] /Length {}{prev} >>\nstream\n",
                size - 1,
                data.len()
            )
            .as_bytes(),
        );
        out.extend_from_slice(&data);
        out.extend_from_slice(format!("\nendstream\nendobj\nstartxref\n{at}\n%%EOF\n").as_bytes());
        out
    }

    fn page_objects() -> Vec<(u32, Vec<u8>)> {
        vec![
            (2, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec()),
            (
                3,
                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>".to_vec(),
            ),
        ]
    }

    /// The memory bombs of the trust issue: a DSS naming one compressed bomb ten thousand times, an
    /// object stream claiming a million objects, an xref stream whose /Prev is itself; and a
    /// /ByteRange whose numbers overflow. Each gets an error or a verdict, within the budgets.
    #[test]
    fn memory_bombs_and_overflowing_numbers_get_errors_or_verdicts() {
        // 1. One 64 MB bomb named 10,000 times by the DSS: what a DSS may hold (128 MB) is reached
        // after two; the document budget (1 GiB) would stop it after sixteen.
        let bomb = miniz_oxide::deflate::compress_to_vec_zlib(&vec![0u8; 64 << 20], 6);
        let refs = "7 0 R ".repeat(10_000);
        let mut objs = vec![(1, b"<< /Type /Catalog /Pages 2 0 R /DSS 6 0 R >>".to_vec())];
        objs.extend(page_objects());
        objs.push((6, format!("<< /CRLs [{refs}] >>").into_bytes()));
        objs.push((
            7,
            [
                format!(
                    "<< /Length {} /Filter /FlateDecode >>\nstream\n",
                    bomb.len()
                )
                .as_bytes(),
                &bomb[..],
                b"\nendstream",
            ]
            .concat(),
        ));
        let doc = Document::open(Box::new(xref_stream_pdf(&objs, &[], false)), None).unwrap();
        let e = super::ltv::read_dss(&doc).unwrap_err().to_string();
        assert!(e.contains("MB of validation data"), "{e}");
        let r = verify::verify(&doc, &VerifyOptions::default()).unwrap();
        assert!(r.signatures.is_empty());

        // 2. An object stream claiming a million objects in a few bytes: read, not allocated.
        let inner = b"10 0 (x)";
        let mut objs = vec![(1, b"<< /Type /Catalog /Pages 2 0 R >>".to_vec())];
        objs.extend(page_objects());
        objs.push((
            9,
            [
                format!(
                    "<< /Type /ObjStm /N 1000000 /First 5 /Length {} >>\nstream\n",
                    inner.len()
                )
                .as_bytes(),
                &inner[..],
                b"\nendstream",
            ]
            .concat(),
        ));
        let doc =
            Document::open(Box::new(xref_stream_pdf(&objs, &[(10, 9, 0)], false)), None).unwrap();
        let o = doc.get(super::ObjRef::new(10, 0)).unwrap();
        assert_eq!(o.as_str_bytes(), Some(&b"x"[..]));

        // 3. An xref stream whose /Prev is itself: read once.
        let mut objs = vec![(1, b"<< /Type /Catalog /Pages 2 0 R >>".to_vec())];
        objs.extend(page_objects());
        match Document::open(Box::new(xref_stream_pdf(&objs, &[], true)), None) {
            Ok(doc) => assert_eq!(doc.pages().unwrap().len(), 1),
            Err(e) => assert!(
                e.to_string().contains("loop") || e.to_string().contains("twice"),
                "{e}"
            ),
        }

        // 4. A signature whose /ByteRange numbers overflow 64-bit arithmetic: invalid, no panic.
        let (signed, root) = signed_tiny();
        let doc = Document::open(Box::new(signed.clone()), None).unwrap();
        let sig = doc
            .xref
            .keys()
            .copied()
            .map(|n| super::ObjRef::new(n, 0))
            .find(|r| {
                doc.get(*r)
                    .ok()
                    .and_then(|o| o.as_dict().map(|d| d.is_type(b"Sig")))
                    == Some(true)
            })
            .unwrap();
        let mut d = doc.get(sig).unwrap().as_dict().unwrap().clone();
        d.set(
            b"ByteRange",
            super::object::Object::Array(vec![
                super::object::Object::Int(0),
                super::object::Object::Int(1),
                super::object::Object::Int(i64::MAX),
                super::object::Object::Int(i64::MAX),
            ]),
        );
        let mut up = super::update::Update::new(&doc).unwrap();
        up.put(&doc, sig, super::object::Object::Dict(d));
        let mut all = signed;
        all.extend(up.finish().bytes);
        let doc = Document::open(Box::new(all), None).unwrap();
        let r = verify::verify(&doc, &trusting(root)).unwrap();
        assert_eq!(r.verdict, crate::ses::Verdict::Invalid, "{r:?}");
        assert!(format!("{r:?}").contains("beyond the file"), "{r:?}");
    }
}
