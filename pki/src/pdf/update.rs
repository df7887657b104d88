//! An incremental update: new and changed objects appended after the original bytes, with a
//! cross-reference section of the same form as the newest one in the file, `/Prev` pointing at it.

use std::fmt::Write as _;

use super::object::{write_dict, write_object, Dict, ObjRef, Object};
use super::reader::{Document, Source, XrefForm};
use super::PdfError;

/// Objects to append, serialized as they are added (encrypted for encrypted documents).
pub struct Update {
    next_num: u32,
    /// Object, its serialized body (between `N G obj` and `endobj`).
    objects: Vec<(ObjRef, Vec<u8>)>,
    form: XrefForm,
    base_len: u64,
    /// The original ends without an end-of-line: start the update with one.
    needs_eol: bool,
    prev: u64,
    trailer: Dict,
}

/// The bytes of an update and where things landed in it.
pub struct Written {
    pub bytes: Vec<u8>,
    /// Offsets in the whole file (original length included) of each object written.
    pub offsets: Vec<(ObjRef, u64)>,
}

impl Update {
    pub fn new<S: Source + ?Sized>(doc: &Document<S>) -> Result<Self, PdfError> {
        let size = doc.trailer.int(b"Size").unwrap_or(0).max(0) as u64;
        let max_used = doc.xref.keys().max().copied().unwrap_or(0) as u64;
        let next = size.max(max_used + 1);
        if next >= 8_388_607 {
            return Err(PdfError::Refused(
                "the document has too many objects to add more".into(),
            ));
        }
        let mut last = [0u8; 1];
        doc.read_exact_at(doc.len() - 1, &mut last)?;
        Ok(Update {
            next_num: next as u32,
            objects: Vec::new(),
            form: doc
                .sections
                .first()
                .map(|s| s.form)
                .unwrap_or(XrefForm::Table),
            base_len: doc.len(),
            needs_eol: !matches!(last[0], b'\n' | b'\r'),
            prev: doc.startxref,
            trailer: doc.trailer.clone(),
        })
    }

    /// Reserve a number for a new object (so objects can refer to each other before being written).
    pub fn reserve(&mut self) -> ObjRef {
        let r = ObjRef::new(self.next_num, 0);
        self.next_num += 1;
        r
    }

    /// Add (or replace) an object with already serialized bytes.
    pub fn put_raw(&mut self, id: ObjRef, body: Vec<u8>) {
        self.objects.retain(|(r, _)| *r != id);
        self.objects.push((id, body));
    }

    /// Add an object (strings encrypted when the document is).
    pub fn put<S: Source + ?Sized>(&mut self, doc: &Document<S>, id: ObjRef, mut obj: Object) {
        if let Some(c) = doc.crypt() {
            c.encrypt_strings(id, &mut obj);
        }
        let mut body = Vec::new();
        write_object(&mut body, &obj);
        self.put_raw(id, body);
    }

    /// Add a stream whose data is given decoded-as-is (already filtered by the caller).
    pub fn put_stream<S: Source + ?Sized>(
        &mut self,
        doc: &Document<S>,
        id: ObjRef,
        dict: Dict,
        data: &[u8],
    ) {
        let mut dict = dict;
        let data = match doc.crypt() {
            Some(c) => {
                let mut o = Object::Dict(dict);
                c.encrypt_strings(id, &mut o);
                dict = match o {
                    Object::Dict(d) => d,
                    _ => Dict::new(),
                };
                c.encrypt_stream(id, &dict, data)
            }
            None => data.to_vec(),
        };
        let mut body = Vec::new();
        super::object::write_stream(&mut body, &dict, &data);
        self.put_raw(id, body);
    }

    pub fn has(&self, id: ObjRef) -> bool {
        self.objects.iter().any(|(r, _)| *r == id)
    }

    /// Lay out the objects and the cross-reference section.
    pub fn finish(mut self) -> Written {
        let mut out = Vec::new();
        if self.needs_eol {
            out.push(b'\n');
        }
        let xref_stream_id = (self.form == XrefForm::Stream).then(|| self.reserve());
        let mut offsets = Vec::new();
        for (id, body) in &self.objects {
            offsets.push((*id, self.base_len + out.len() as u64));
            let _ = writeln!(Str(&mut out), "{} {} obj", id.num, id.gen);
            out.extend_from_slice(body);
            out.extend_from_slice(b"\nendobj\n");
        }
        let mut trailer = Dict::new();
        for k in [&b"Root"[..], b"Info", b"ID", b"Encrypt"] {
            if let Some(v) = self.trailer.get(k) {
                trailer.set(k, v.clone());
            }
        }
        let size = self.next_num as i64;
        trailer.set(b"Size", Object::Int(size));
        trailer.set(b"Prev", Object::Int(self.prev as i64));
        let xref_at = self.base_len + out.len() as u64;
        let mut entries: Vec<(u32, u64, u16)> =
            offsets.iter().map(|(r, o)| (r.num, *o, r.gen)).collect();
        match xref_stream_id {
            None => {
                entries.sort();
                out.extend_from_slice(b"xref\n");
                for group in groups(&entries) {
                    let _ = writeln!(Str(&mut out), "{} {}", group[0].0, group.len());
                    for (_, off, gen) in group {
                        let _ = write!(Str(&mut out), "{off:010} {gen:05} n\r\n");
                    }
                }
                out.extend_from_slice(b"trailer\n");
                write_dict(&mut out, &trailer);
                out.push(b'\n');
            }
            Some(xid) => {
                entries.push((xid.num, xref_at, 0));
                entries.sort();
                let w2 = bytes_for(xref_at).max(1);
                let mut data = Vec::new();
                let mut index = Vec::new();
                for group in groups(&entries) {
                    index.push(Object::Int(group[0].0 as i64));
                    index.push(Object::Int(group.len() as i64));
                    for (_, off, gen) in group {
                        data.push(1u8);
                        data.extend_from_slice(&off.to_be_bytes()[8 - w2..]);
                        data.extend_from_slice(&gen.to_be_bytes());
                    }
                }
                let mut d = Dict::new()
                    .with(b"Type", Object::name("XRef"))
                    .with(
                        b"W",
                        Object::Array(vec![Object::Int(1), Object::Int(w2 as i64), Object::Int(2)]),
                    )
                    .with(b"Index", Object::Array(index));
                for (k, v) in trailer.0 {
                    d.set(&k, v);
                }
                let _ = writeln!(Str(&mut out), "{} 0 obj", xid.num);
                super::object::write_stream(&mut out, &d, &data);
                out.extend_from_slice(b"\nendobj\n");
            }
        }
        let _ = write!(Str(&mut out), "startxref\n{xref_at}\n%%EOF\n");
        Written {
            bytes: out,
            offsets,
        }
    }
}

fn bytes_for(v: u64) -> usize {
    (64 - v.leading_zeros() as usize).div_ceil(8)
}

/// Runs of consecutive object numbers (one xref subsection each).
fn groups(entries: &[(u32, u64, u16)]) -> Vec<&[(u32, u64, u16)]> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..=entries.len() {
        if i == entries.len() || entries[i].0 != entries[i - 1].0 + 1 {
            out.push(&entries[start..i]);
            start = i;
        }
    }
    out
}

struct Str<'a>(&'a mut Vec<u8>);
impl std::fmt::Write for Str<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}
