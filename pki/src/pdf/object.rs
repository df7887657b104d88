//! PDF objects as read from a file and as written into an incremental update.

use std::fmt::Write as _;

/// A PDF object. Streams read from a file keep where their data lies rather than the data itself, so a
/// large image is never loaded just because its dictionary was looked at.
#[derive(Clone, Debug, PartialEq)]
pub enum Object {
    Null,
    Bool(bool),
    Int(i64),
    Real(f64),
    Name(Vec<u8>),
    /// A string's bytes (after escapes are resolved). `hex` says how it was (or will be) written.
    Str {
        bytes: Vec<u8>,
        hex: bool,
    },
    Array(Vec<Object>),
    Dict(Dict),
    Ref(ObjRef),
    Stream(Stream),
}

/// An indirect reference: object number and generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjRef {
    pub num: u32,
    pub gen: u16,
}

impl ObjRef {
    pub const fn new(num: u32, gen: u16) -> Self {
        Self { num, gen }
    }
}

/// A dictionary keeping its keys in file order (so a rewritten page looks like its original).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Dict(pub Vec<(Vec<u8>, Object)>);

/// Where a stream's (still encoded) data is: in the file, or in memory for objects we write or
/// objects taken from an object stream.
#[derive(Clone, Debug, PartialEq)]
pub enum StreamData {
    File { offset: u64, len: u64 },
    Memory(Vec<u8>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Stream {
    pub dict: Dict,
    pub data: StreamData,
}

impl Dict {
    pub fn new() -> Self {
        Self(Vec::new())
    }

    pub fn get(&self, key: &[u8]) -> Option<&Object> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut Object> {
        self.0.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Set `key`, replacing an existing value in place (keeping its position).
    pub fn set(&mut self, key: &[u8], value: Object) {
        match self.get_mut(key) {
            Some(v) => *v = value,
            None => self.0.push((key.to_vec(), value)),
        }
    }

    pub fn with(mut self, key: &[u8], value: Object) -> Self {
        self.set(key, value);
        self
    }

    pub fn remove(&mut self, key: &[u8]) -> Option<Object> {
        let i = self.0.iter().position(|(k, _)| k == key)?;
        Some(self.0.remove(i).1)
    }

    pub fn name(&self, key: &[u8]) -> Option<&[u8]> {
        match self.get(key) {
            Some(Object::Name(n)) => Some(n),
            _ => None,
        }
    }

    pub fn int(&self, key: &[u8]) -> Option<i64> {
        self.get(key).and_then(Object::as_int)
    }

    pub fn is_type(&self, t: &[u8]) -> bool {
        self.name(b"Type") == Some(t)
    }
}

impl Object {
    pub fn name(n: &str) -> Self {
        Object::Name(n.as_bytes().to_vec())
    }

    pub fn string(s: impl Into<Vec<u8>>) -> Self {
        Object::Str {
            bytes: s.into(),
            hex: false,
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Object::Int(i) => Some(*i),
            Object::Real(r) if r.fract() == 0.0 => Some(*r as i64),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Object::Int(i) => Some(*i as f64),
            Object::Real(r) => Some(*r),
            _ => None,
        }
    }

    pub fn as_dict(&self) -> Option<&Dict> {
        match self {
            Object::Dict(d) => Some(d),
            Object::Stream(s) => Some(&s.dict),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Object]> {
        match self {
            Object::Array(a) => Some(a),
            _ => None,
        }
    }

    pub fn as_ref(&self) -> Option<ObjRef> {
        match self {
            Object::Ref(r) => Some(*r),
            _ => None,
        }
    }

    pub fn as_name(&self) -> Option<&[u8]> {
        match self {
            Object::Name(n) => Some(n),
            _ => None,
        }
    }

    pub fn as_str_bytes(&self) -> Option<&[u8]> {
        match self {
            Object::Str { bytes, .. } => Some(bytes),
            _ => None,
        }
    }
}

/// A PDF number written without exponent and without needless digits.
pub fn fmt_real(out: &mut Vec<u8>, r: f64) {
    if r.fract() == 0.0 && r.abs() < 1e15 {
        let _ = write!(Buf(out), "{}", r as i64);
        return;
    }
    let mut s = format!("{r:.4}");
    while s.ends_with('0') {
        s.pop();
    }
    if s.ends_with('.') {
        s.pop();
    }
    out.extend_from_slice(s.as_bytes());
}

struct Buf<'a>(&'a mut Vec<u8>);
impl std::fmt::Write for Buf<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

fn is_regular(b: u8) -> bool {
    !matches!(
        b,
        b'\0'
            | b'\t'
            | b'\n'
            | b'\x0c'
            | b'\r'
            | b' '
            | b'('
            | b')'
            | b'<'
            | b'>'
            | b'['
            | b']'
            | b'{'
            | b'}'
            | b'/'
            | b'%'
    )
}

/// Serialize `obj` (not a stream: streams are written by [`write_stream`]).
pub fn write_object(out: &mut Vec<u8>, obj: &Object) {
    match obj {
        Object::Null => out.extend_from_slice(b"null"),
        Object::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Object::Int(i) => {
            let _ = write!(Buf(out), "{i}");
        }
        Object::Real(r) => fmt_real(out, *r),
        Object::Name(n) => {
            out.push(b'/');
            for &b in n {
                if is_regular(b) && (b'!'..=b'~').contains(&b) && b != b'#' {
                    out.push(b);
                } else {
                    let _ = write!(Buf(out), "#{b:02X}");
                }
            }
        }
        Object::Str { bytes, hex: true } => {
            out.push(b'<');
            push_hex_upper(out, bytes);
            out.push(b'>');
        }
        Object::Str { bytes, hex: false } => {
            out.push(b'(');
            for &b in bytes {
                match b {
                    b'(' | b')' | b'\\' => out.extend_from_slice(&[b'\\', b]),
                    b'\r' => out.extend_from_slice(b"\\r"),
                    b'\n' => out.extend_from_slice(b"\\n"),
                    _ => out.push(b),
                }
            }
            out.push(b')');
        }
        Object::Array(a) => {
            out.push(b'[');
            for (i, o) in a.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                write_object(out, o);
            }
            out.push(b']');
        }
        Object::Dict(d) => write_dict(out, d),
        Object::Ref(r) => {
            let _ = write!(Buf(out), "{} {} R", r.num, r.gen);
        }
        Object::Stream(s) => {
            // Only in-memory streams can be written; callers write file-backed ones by reference.
            if let StreamData::Memory(data) = &s.data {
                write_stream(out, &s.dict, data);
            } else {
                out.extend_from_slice(b"null");
            }
        }
    }
}

pub fn write_dict(out: &mut Vec<u8>, d: &Dict) {
    out.extend_from_slice(b"<<");
    for (k, v) in &d.0 {
        write_object(out, &Object::Name(k.clone()));
        if !matches!(
            v,
            Object::Name(_) | Object::Array(_) | Object::Dict(_) | Object::Str { .. }
        ) {
            out.push(b' ');
        }
        write_object(out, v);
    }
    out.extend_from_slice(b">>");
}

/// A stream with `/Length` set from `data`.
pub fn write_stream(out: &mut Vec<u8>, dict: &Dict, data: &[u8]) {
    let mut d = dict.clone();
    d.set(b"Length", Object::Int(data.len() as i64));
    write_dict(out, &d);
    out.extend_from_slice(b"\nstream\n");
    out.extend_from_slice(data);
    out.extend_from_slice(b"\nendstream");
}

/// Append `bytes` as upper-case hex digits (the hex crate's encoder goes a char at a time
/// through a `String`).
pub(crate) fn push_hex_upper(out: &mut Vec<u8>, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    out.reserve(bytes.len() * 2);
    for &b in bytes {
        out.push(DIGITS[usize::from(b >> 4)]);
        out.push(DIGITS[usize::from(b & 0x0f)]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_digits_are_upper_case_pairs() {
        let mut v = b"<".to_vec();
        push_hex_upper(&mut v, &[0x00, 0x0f, 0xa5, 0xff]);
        assert_eq!(v, b"<000FA5FF");
    }

    fn w(o: &Object) -> String {
        let mut v = Vec::new();
        write_object(&mut v, o);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn writes_names_strings_and_numbers() {
        assert_eq!(w(&Object::name("A B#")), "/A#20B#23");
        assert_eq!(w(&Object::string("a(b)\\")), "(a\\(b\\)\\\\)");
        assert_eq!(w(&Object::Real(1.5)), "1.5");
        assert_eq!(w(&Object::Real(2.0)), "2");
        assert_eq!(w(&Object::Real(0.123456)), "0.1235");
        let d = Dict::new()
            .with(b"Type", Object::name("Sig"))
            .with(b"N", Object::Int(3))
            .with(b"R", Object::Ref(ObjRef::new(4, 0)));
        assert_eq!(w(&Object::Dict(d)), "<</Type/Sig/N 3/R 4 0 R>>");
    }
}
