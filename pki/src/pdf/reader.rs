//! Reading a PDF lazily: the cross-reference sections (tables, streams, hybrid files, chains of
//! updates), objects fetched by number on demand, object streams, and the page tree. Nothing but the
//! objects asked for is read, so a 1 GB document costs a few small reads.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use super::crypt::Crypt;
use super::filter;
use super::object::{Dict, ObjRef, Object, Stream, StreamData};
use super::parse::{parse_uint, ParseError, Parser};
use super::PdfError;

/// Random-access bytes: a file or an upload held in memory.
pub trait Source: Send + Sync {
    fn len(&self) -> u64;
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize>;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Source for std::fs::File {
    fn len(&self) -> u64 {
        self.metadata().map(|m| m.len()).unwrap_or(0)
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        std::os::unix::fs::FileExt::read_at(self, buf, offset)
    }
}

impl Source for [u8] {
    fn len(&self) -> u64 {
        <[u8]>::len(self) as u64
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        let start = (offset as usize).min(<[u8]>::len(self));
        let n = buf.len().min(<[u8]>::len(self) - start);
        buf[..n].copy_from_slice(&self[start..start + n]);
        Ok(n)
    }
}

impl Source for Vec<u8> {
    fn len(&self) -> u64 {
        self.as_slice().len() as u64
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        self.as_slice().read_at(offset, buf)
    }
}

/// Where an object lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XrefEntry {
    Free,
    Offset { offset: u64, gen: u16 },
    InStream { stream: u32, index: u32 },
}

/// The kind of the newest cross-reference section: an update must use the same.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XrefForm {
    Table,
    Stream,
    /// A table whose trailer points at an xref stream (`/XRefStm`).
    Hybrid,
}

/// One cross-reference section, newest first in [`Document::sections`].
#[derive(Clone, Debug)]
pub struct Section {
    pub offset: u64,
    pub form: XrefForm,
    /// Objects this section defines (its own entries, not inherited ones).
    pub objects: Vec<(u32, XrefEntry)>,
    pub trailer: Dict,
}

pub struct Document<S: Source + ?Sized> {
    src: Box<S>,
    len: u64,
    /// The merged view: the newest definition of each object.
    pub xref: HashMap<u32, XrefEntry>,
    pub sections: Vec<Section>,
    /// The newest trailer (for an xref stream: its dictionary).
    pub trailer: Dict,
    pub startxref: u64,
    crypt: Option<Crypt>,
    /// Decoded object streams by file offset (a number can be reused by a later revision).
    objstm_cache: Mutex<HashMap<u64, ObjStm>>,
    /// Bytes this document may still decode, over all its streams: a file that names one
    /// compressed bomb many times runs out instead of decoding it again and again.
    budget: std::sync::atomic::AtomicUsize,
}

/// What all of one document's streams may decode to, together.
pub const DOCUMENT_DECODE_BUDGET: usize = 1024 * 1024 * 1024;

/// The objects of one object stream, in order.
type ObjStm = std::sync::Arc<Vec<(u32, Object)>>;

/// The largest window read to parse one object's dictionary (not its stream data).
const MAX_OBJECT_WINDOW: usize = 64 * 1024 * 1024;
const MAX_SECTIONS: usize = 10_000;

impl<S: Source + ?Sized> Document<S> {
    /// Open a document; `password` is tried for encrypted files (empty user password first).
    pub fn open(src: Box<S>, password: Option<&[u8]>) -> Result<Self, PdfError> {
        let len = src.len();
        if len < 16 {
            return Err(PdfError::NotPdf("file is too short".into()));
        }
        let mut head = [0u8; 1024];
        let n = src.read_at(0, &mut head)?;
        if !head[..n].windows(5).any(|w| w == b"%PDF-") {
            return Err(PdfError::NotPdf("no %PDF- header".into()));
        }
        let mut doc = Document {
            src,
            len,
            xref: HashMap::new(),
            sections: Vec::new(),
            trailer: Dict::new(),
            startxref: 0,
            crypt: None,
            objstm_cache: Mutex::new(HashMap::new()),
            budget: std::sync::atomic::AtomicUsize::new(DOCUMENT_DECODE_BUDGET),
        };
        doc.startxref = doc.find_startxref()?;
        doc.read_sections()?;
        if let Some(enc) = doc.trailer.get(b"Encrypt").cloned() {
            let enc = match enc {
                Object::Ref(r) => doc.get_raw(r)?,
                o => o,
            };
            let enc = enc
                .as_dict()
                .ok_or_else(|| PdfError::Malformed("/Encrypt is not a dictionary".into()))?
                .clone();
            let id0 = doc
                .trailer
                .get(b"ID")
                .and_then(Object::as_array)
                .and_then(|a| a.first())
                .and_then(Object::as_str_bytes)
                .unwrap_or_default()
                .to_vec();
            doc.crypt = Some(Crypt::open(&enc, &id0, password)?);
        }
        if doc.trailer.get(b"Root").and_then(Object::as_ref).is_none() {
            return Err(PdfError::Malformed("trailer has no /Root".into()));
        }
        Ok(doc)
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn source(&self) -> &S {
        &self.src
    }

    pub fn crypt(&self) -> Option<&Crypt> {
        self.crypt.as_ref()
    }

    pub fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), PdfError> {
        let mut done = 0;
        while done < buf.len() {
            let n = self.src.read_at(offset + done as u64, &mut buf[done..])?;
            if n == 0 {
                return Err(PdfError::Malformed("unexpected end of file".into()));
            }
            done += n;
        }
        Ok(())
    }

    fn window(&self, offset: u64, size: usize) -> Result<Vec<u8>, PdfError> {
        let avail = self.len.saturating_sub(offset) as usize;
        let mut buf = vec![0u8; size.min(avail)];
        self.read_exact_at(offset, &mut buf)?;
        Ok(buf)
    }

    /// Run `f` on a window at `offset`, growing the window while the parser runs out of bytes.
    fn parse_at<T>(
        &self,
        offset: u64,
        what: &str,
        mut f: impl FnMut(&mut Parser) -> Result<T, ParseError>,
    ) -> Result<T, PdfError> {
        if offset >= self.len {
            return Err(PdfError::Malformed(format!(
                "{what} at offset {offset} lies beyond the end of the file"
            )));
        }
        let mut size = 4096usize;
        loop {
            let buf = self.window(offset, size)?;
            let at_end = offset + buf.len() as u64 >= self.len;
            let mut padded;
            let slice: &[u8] = if at_end {
                // A final space lets the last token end cleanly.
                padded = buf;
                padded.push(b' ');
                &padded
            } else {
                &buf
            };
            let mut parser = Parser::new(slice);
            parser.complete = at_end;
            match f(&mut parser) {
                Ok(v) => return Ok(v),
                Err(ParseError::Eof) if !at_end && size < MAX_OBJECT_WINDOW => size *= 4,
                Err(ParseError::Eof) => {
                    return Err(PdfError::Malformed(format!(
                        "{what} at offset {offset} is cut short"
                    )))
                }
                Err(ParseError::Syntax(m, p)) => {
                    return Err(PdfError::Malformed(format!(
                        "{what} at offset {offset}: {m} (byte {})",
                        offset + p as u64
                    )))
                }
            }
        }
    }

    fn find_startxref(&self) -> Result<u64, PdfError> {
        let tail_len = self.len.min(4096);
        let tail = self.window(self.len - tail_len, tail_len as usize)?;
        let pos = tail
            .windows(9)
            .rposition(|w| w == b"startxref")
            .ok_or_else(|| PdfError::Malformed("no startxref near the end of the file".into()))?;
        let mut p = Parser::at(&tail, pos + 9);
        p.skip_ws();
        let start = p.pos;
        while p.pos < tail.len() && tail[p.pos].is_ascii_digit() {
            p.pos += 1;
        }
        parse_uint(&tail[start..p.pos])
            .ok_or_else(|| PdfError::Malformed("startxref is not followed by an offset".into()))
    }

    fn read_sections(&mut self) -> Result<(), PdfError> {
        let mut next = Some(self.startxref);
        let mut seen = HashSet::new();
        while let Some(off) = next.take() {
            if !seen.insert(off) || seen.len() > MAX_SECTIONS {
                return Err(PdfError::Malformed(
                    "cross-reference /Prev chain loops".into(),
                ));
            }
            let mut sec = self.read_section(off)?;
            if let Some(stm) = sec.trailer.int(b"XRefStm") {
                let hidden = self.read_section(stm as u64)?;
                sec.form = XrefForm::Hybrid;
                // Table entries win over the hidden stream's for the same object.
                for (n, e) in hidden.objects {
                    if !sec.objects.iter().any(|(m, _)| *m == n) {
                        sec.objects.push((n, e));
                    }
                }
            }
            for (n, e) in &sec.objects {
                self.xref.entry(*n).or_insert(*e);
            }
            if self.sections.is_empty() {
                self.trailer = sec.trailer.clone();
            }
            next = sec.trailer.int(b"Prev").and_then(|p| u64::try_from(p).ok());
            self.sections.push(sec);
        }
        Ok(())
    }

    fn read_section(&self, off: u64) -> Result<Section, PdfError> {
        let head = self.window(off, 16)?;
        let skip = head
            .iter()
            .take_while(|b| super::parse::is_white(**b))
            .count();
        if head[skip..].starts_with(b"xref") {
            self.read_table(off)
        } else {
            self.read_xref_stream(off)
        }
    }

    fn read_table(&self, off: u64) -> Result<Section, PdfError> {
        self.parse_at(off, "cross-reference table", |p| {
            p.expect_word(b"xref")?;
            let mut objects = Vec::new();
            loop {
                let at = p.pos;
                let w = p.word()?;
                if w == b"trailer" {
                    break;
                }
                let start = parse_uint(w).ok_or(ParseError::Syntax("bad xref subsection", at))?;
                let count = p.uint()?;
                if count > 10_000_000 || start + count > u64::from(u32::MAX) {
                    return Err(ParseError::Syntax("xref subsection too large", at));
                }
                for i in 0..count {
                    let offset = p.uint()?;
                    let gen = p.uint()?;
                    let at = p.pos;
                    let kind = p.word()?;
                    let e = match kind {
                        b"n" => XrefEntry::Offset {
                            offset,
                            gen: gen.min(u64::from(u16::MAX)) as u16,
                        },
                        b"f" => XrefEntry::Free,
                        _ => return Err(ParseError::Syntax("xref entry is neither n nor f", at)),
                    };
                    // Some writers put "0 0 n" for unused entries: treat as free.
                    let e = if matches!(e, XrefEntry::Offset { offset: 0, .. }) {
                        XrefEntry::Free
                    } else {
                        e
                    };
                    objects.push(((start + i) as u32, e));
                }
            }
            let trailer = match p.object(0)? {
                Object::Dict(d) => d,
                _ => return Err(ParseError::Syntax("trailer is not a dictionary", p.pos)),
            };
            Ok(Section {
                offset: off,
                form: XrefForm::Table,
                objects,
                trailer,
            })
        })
    }

    fn read_xref_stream(&self, off: u64) -> Result<Section, PdfError> {
        let (obj, start) = self.parse_at(off, "cross-reference stream", |p| {
            let ind = p.indirect()?;
            Ok((ind.object, ind.stream_start))
        })?;
        let Object::Dict(dict) = obj else {
            return Err(PdfError::Malformed(format!(
                "startxref {off} points at neither an xref table nor an xref stream"
            )));
        };
        let start = start.ok_or_else(|| PdfError::Malformed("xref stream has no data".into()))?;
        if !dict.is_type(b"XRef") {
            return Err(PdfError::Malformed(format!(
                "object at {off} is not a cross-reference stream"
            )));
        }
        let len = dict.int(b"Length").filter(|l| *l >= 0).ok_or_else(|| {
            PdfError::Malformed("xref stream /Length must be a direct number".into())
        })?;
        let raw = self.window(off + start as u64, len as usize)?;
        let data = self.decode(&dict, &raw)?;
        let w: Vec<usize> = dict
            .get(b"W")
            .and_then(Object::as_array)
            .map(|a| {
                a.iter()
                    .map(|o| o.as_int().unwrap_or(-1))
                    .collect::<Vec<_>>()
            })
            .filter(|v| v.len() == 3 && v.iter().all(|x| (0..=8).contains(x)))
            .ok_or_else(|| {
                PdfError::Malformed("xref stream /W is not three small integers".into())
            })?
            .into_iter()
            .map(|x| x as usize)
            .collect();
        let size = dict.int(b"Size").unwrap_or(0).max(0) as u64;
        let index: Vec<u64> = match dict.get(b"Index").and_then(Object::as_array) {
            Some(a) => a
                .iter()
                .map(|o| o.as_int().unwrap_or(0).max(0) as u64)
                .collect(),
            None => vec![0, size],
        };
        let entry_len = w[0] + w[1] + w[2];
        if entry_len == 0 {
            return Err(PdfError::Malformed("xref stream /W is all zero".into()));
        }
        let field = |b: &[u8]| b.iter().fold(0u64, |acc, x| (acc << 8) | u64::from(*x));
        let mut objects = Vec::new();
        let mut rows = data.chunks_exact(entry_len);
        for pair in index.chunks(2) {
            let [first, count] = pair else { break };
            for i in 0..*count {
                let Some(row) = rows.next() else { break };
                let t = if w[0] == 0 { 1 } else { field(&row[..w[0]]) };
                let f2 = field(&row[w[0]..w[0] + w[1]]);
                let f3 = field(&row[w[0] + w[1]..]);
                let e = match t {
                    0 => XrefEntry::Free,
                    1 => XrefEntry::Offset {
                        offset: f2,
                        gen: f3.min(u64::from(u16::MAX)) as u16,
                    },
                    2 => XrefEntry::InStream {
                        stream: f2 as u32,
                        index: f3 as u32,
                    },
                    _ => continue,
                };
                let num = first + i;
                if num <= u64::from(u32::MAX) {
                    objects.push((num as u32, e));
                }
            }
        }
        Ok(Section {
            offset: off,
            form: XrefForm::Stream,
            objects,
            trailer: dict,
        })
    }

    /// The object `r`, with stream data left in the file; strings decrypted for encrypted documents.
    pub fn get(&self, r: ObjRef) -> Result<Object, PdfError> {
        let mut o = self.get_raw(r)?;
        if let Some(c) = &self.crypt {
            if !matches!(self.xref.get(&r.num), Some(XrefEntry::InStream { .. })) {
                c.decrypt_strings(r, &mut o);
            }
        }
        Ok(o)
    }

    fn get_raw(&self, r: ObjRef) -> Result<Object, PdfError> {
        self.get_raw_in(&self.xref, r)
    }

    /// The object `r` as a given cross-reference state saw it (an earlier revision, for the
    /// verifier's comparison of revisions).
    pub fn get_in(&self, xref: &HashMap<u32, XrefEntry>, r: ObjRef) -> Result<Object, PdfError> {
        let mut o = self.get_raw_in(xref, r)?;
        if let Some(c) = &self.crypt {
            if !matches!(xref.get(&r.num), Some(XrefEntry::InStream { .. })) {
                c.decrypt_strings(r, &mut o);
            }
        }
        Ok(o)
    }

    /// The merged cross-reference of the sections that start before `end` (the state of the
    /// document as it was when its bytes ended at `end`).
    pub fn xref_before(&self, end: u64) -> HashMap<u32, XrefEntry> {
        let mut m = HashMap::new();
        for sec in self.sections.iter().filter(|s| s.offset < end) {
            for (n, e) in &sec.objects {
                m.entry(*n).or_insert(*e);
            }
        }
        m
    }

    fn get_raw_in(&self, xref: &HashMap<u32, XrefEntry>, r: ObjRef) -> Result<Object, PdfError> {
        match xref.get(&r.num) {
            None | Some(XrefEntry::Free) => Ok(Object::Null),
            Some(XrefEntry::Offset { offset, gen }) => {
                if *gen != r.gen {
                    return Ok(Object::Null);
                }
                self.object_at(*offset, Some(r))
            }
            Some(XrefEntry::InStream { stream, index }) => {
                let at = match xref.get(stream) {
                    Some(XrefEntry::Offset { offset, .. }) => *offset,
                    _ => return Ok(Object::Null),
                };
                let objs = self.object_stream(*stream, at)?;
                Ok(objs
                    .get(*index as usize)
                    .filter(|(n, _)| *n == r.num)
                    .or_else(|| objs.iter().find(|(n, _)| *n == r.num))
                    .map(|(_, o)| o.clone())
                    .unwrap_or(Object::Null))
            }
        }
    }

    /// Parse `N G obj …` at `offset`; `expect` guards against an xref entry pointing at the wrong object.
    pub fn object_at(&self, offset: u64, expect: Option<ObjRef>) -> Result<Object, PdfError> {
        let ind = self.parse_at(offset, "object", |p| p.indirect())?;
        if let Some(e) = expect {
            if ind.id != e {
                return Err(PdfError::Malformed(format!(
                    "xref entry for object {} points at object {}",
                    e.num, ind.id.num
                )));
            }
        }
        match (ind.object, ind.stream_start) {
            (Object::Dict(dict), Some(start)) => {
                let len = match dict.get(b"Length") {
                    Some(Object::Int(l)) if *l >= 0 => *l as u64,
                    Some(Object::Ref(lr)) if Some(*lr) != expect => match self.get_raw(*lr)? {
                        Object::Int(l) if l >= 0 => l as u64,
                        _ => {
                            return Err(PdfError::Malformed(
                                "stream /Length is not a number".into(),
                            ))
                        }
                    },
                    _ => return Err(PdfError::Malformed("stream has no usable /Length".into())),
                };
                let data_off = offset + start as u64;
                if data_off + len > self.len {
                    return Err(PdfError::Malformed(format!(
                        "stream of object at {offset} runs past the end of the file"
                    )));
                }
                Ok(Object::Stream(Stream {
                    dict,
                    data: StreamData::File {
                        offset: data_off,
                        len,
                    },
                }))
            }
            (o, _) => Ok(o),
        }
    }

    fn object_stream(&self, num: u32, at: u64) -> Result<ObjStm, PdfError> {
        if let Some(v) = self
            .objstm_cache
            .lock()
            .ok()
            .and_then(|c| c.get(&at).cloned())
        {
            return Ok(v);
        }
        let mut stm = self.object_at(at, Some(ObjRef::new(num, 0)))?;
        if let (Some(c), Object::Stream(_)) = (&self.crypt, &stm) {
            c.decrypt_strings(ObjRef::new(num, 0), &mut stm);
        }
        let Object::Stream(s) = stm else {
            return Err(PdfError::Malformed(format!(
                "object stream {num} is not a stream"
            )));
        };
        let data = self.stream_data(ObjRef::new(num, 0), &s)?;
        let n = s.dict.int(b"N").unwrap_or(0).clamp(0, 1_000_000) as usize;
        let first = s.dict.int(b"First").unwrap_or(0).max(0) as usize;
        if first > data.len() {
            return Err(PdfError::Malformed(format!(
                "object stream {num}: /First beyond its data"
            )));
        }
        let mut p = Parser::complete(&data[..first], 0);
        // Each header is at least "0 0 " (four bytes): /N cannot ask for more than /First allows.
        let mut heads = Vec::with_capacity(n.min(first / 4 + 1));
        for _ in 0..n {
            let (Ok(obj), Ok(off)) = (p.uint(), p.uint()) else {
                break;
            };
            heads.push((obj as u32, off as usize));
        }
        let mut padded = data;
        padded.push(b' ');
        let mut out = Vec::with_capacity(heads.len());
        for (obj, off) in heads {
            let mut p = Parser::complete(&padded, first.saturating_add(off).min(padded.len()));
            let o = p.object(0).map_err(|e| {
                PdfError::Malformed(format!("object {obj} in object stream {num}: {e}"))
            })?;
            out.push((obj, o));
        }
        let out = std::sync::Arc::new(out);
        if let Ok(mut c) = self.objstm_cache.lock() {
            c.insert(at, out.clone());
        }
        Ok(out)
    }

    /// The raw (still encoded, but decrypted) bytes of a stream.
    pub fn stream_raw(&self, id: ObjRef, s: &Stream) -> Result<Vec<u8>, PdfError> {
        let raw = match &s.data {
            StreamData::Memory(v) => v.clone(),
            StreamData::File { offset, len } => {
                if *len as usize > filter::MAX_DECODED {
                    return Err(PdfError::Unsupported("stream larger than 256 MB".into()));
                }
                self.window(*offset, *len as usize)?
            }
        };
        Ok(match &self.crypt {
            Some(c) if !s.dict.is_type(b"XRef") => c.decrypt_stream(id, &s.dict, raw),
            _ => raw,
        })
    }

    /// A stream's decoded bytes.
    pub fn stream_data(&self, id: ObjRef, s: &Stream) -> Result<Vec<u8>, PdfError> {
        let raw = self.stream_raw(id, s)?;
        self.decode(&s.dict, &raw)
    }

    /// Decode within what is left of the document's budget, and charge what was decoded.
    fn decode(&self, dict: &Dict, raw: &[u8]) -> Result<Vec<u8>, PdfError> {
        use std::sync::atomic::Ordering;
        let left = self.budget.load(Ordering::Relaxed);
        if left == 0 {
            return Err(PdfError::Unsupported(format!(
                "the document's streams decode to more than {} MB in all",
                DOCUMENT_DECODE_BUDGET / (1024 * 1024)
            )));
        }
        let out = filter::decode_within(dict, raw, left)?;
        let _ = self
            .budget
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| {
                Some(b.saturating_sub(out.len().max(1)))
            });
        Ok(out)
    }

    /// Follow a reference (a few levels at most); direct objects come back as they are.
    pub fn resolve(&self, o: &Object) -> Result<Object, PdfError> {
        let mut cur = o.clone();
        for _ in 0..8 {
            match cur {
                Object::Ref(r) => cur = self.get(r)?,
                other => return Ok(other),
            }
        }
        Err(PdfError::Malformed("reference chain too long".into()))
    }

    pub fn resolve_dict(&self, o: Option<&Object>) -> Result<Option<Dict>, PdfError> {
        match o {
            None => Ok(None),
            Some(o) => Ok(self.resolve(o)?.as_dict().cloned()),
        }
    }

    pub fn root_ref(&self) -> ObjRef {
        self.trailer
            .get(b"Root")
            .and_then(Object::as_ref)
            .unwrap_or(ObjRef::new(0, 0))
    }

    pub fn catalog(&self) -> Result<Dict, PdfError> {
        match self.get(self.root_ref())? {
            Object::Dict(d) => Ok(d),
            _ => Err(PdfError::Malformed(
                "document catalog is not a dictionary".into(),
            )),
        }
    }

    /// Every page in order, with inherited attributes resolved.
    pub fn pages(&self) -> Result<Vec<Page>, PdfError> {
        let cat = self.catalog()?;
        let root = cat
            .get(b"Pages")
            .and_then(Object::as_ref)
            .ok_or_else(|| PdfError::Malformed("catalog has no /Pages reference".into()))?;
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        self.walk_pages(root, &Inherited::default(), &mut out, &mut seen, 0)?;
        Ok(out)
    }

    fn walk_pages(
        &self,
        node: ObjRef,
        inh: &Inherited,
        out: &mut Vec<Page>,
        seen: &mut HashSet<ObjRef>,
        depth: usize,
    ) -> Result<(), PdfError> {
        if depth > 64 || !seen.insert(node) {
            return Err(PdfError::Malformed("page tree loops or is too deep".into()));
        }
        let d = match self.get(node)? {
            Object::Dict(d) => d,
            _ => {
                return Err(PdfError::Malformed(format!(
                    "page tree node {} is not a dictionary",
                    node.num
                )))
            }
        };
        let mut here = inh.clone();
        if let Some(b) = d.get(b"MediaBox") {
            here.media_box = Some(self.rect(b)?);
        }
        if let Some(b) = d.get(b"CropBox") {
            here.crop_box = Some(self.rect(b)?);
        }
        if let Some(r) = d.get(b"Rotate") {
            here.rotate = self.resolve(r)?.as_int().unwrap_or(0);
        }
        if let Some(r) = d.get(b"Resources") {
            here.resources = Some(r.clone());
        }
        if d.get(b"Kids").is_some() && !d.is_type(b"Page") {
            let kids = self.resolve(d.get(b"Kids").unwrap_or(&Object::Null))?;
            for k in kids.as_array().unwrap_or_default() {
                if let Some(kr) = k.as_ref() {
                    self.walk_pages(kr, &here, out, seen, depth + 1)?;
                }
            }
            return Ok(());
        }
        let media_box = here.media_box.unwrap_or([0.0, 0.0, 612.0, 792.0]);
        out.push(Page {
            id: node,
            crop_box: here.crop_box.unwrap_or(media_box),
            media_box,
            rotate: here.rotate.rem_euclid(360),
            resources: here.resources,
            dict: d,
        });
        Ok(())
    }

    fn rect(&self, o: &Object) -> Result<[f64; 4], PdfError> {
        let a = self.resolve(o)?;
        let v: Vec<f64> = a
            .as_array()
            .unwrap_or_default()
            .iter()
            .filter_map(|x| self.resolve(x).ok().and_then(|x| x.as_f64()))
            .collect();
        match v.as_slice() {
            [a, b, c, d] => Ok([a.min(*c), b.min(*d), a.max(*c), b.max(*d)]),
            _ => Err(PdfError::Malformed("page box is not four numbers".into())),
        }
    }
}

#[derive(Clone, Default)]
struct Inherited {
    media_box: Option<[f64; 4]>,
    crop_box: Option<[f64; 4]>,
    rotate: i64,
    resources: Option<Object>,
}

/// A page with its inherited attributes.
#[derive(Clone, Debug)]
pub struct Page {
    pub id: ObjRef,
    pub dict: Dict,
    pub media_box: [f64; 4],
    pub crop_box: [f64; 4],
    /// 0, 90, 180 or 270.
    pub rotate: i64,
    pub resources: Option<Object>,
}
