//! The PDF tokenizer and object parser, over a byte slice. Running out of bytes is reported apart from
//! bad syntax so the file reader can fetch a larger window and try again.

use super::object::{Dict, ObjRef, Object};

/// Nesting beyond this is refused: malformed input must not exhaust the stack.
const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("unexpected end of data")]
    Eof,
    #[error("{0} at byte {1}")]
    Syntax(&'static str, usize),
}

pub fn is_white(b: u8) -> bool {
    matches!(b, b'\0' | b'\t' | b'\n' | b'\x0c' | b'\r' | b' ')
}

pub fn is_delim(b: u8) -> bool {
    matches!(
        b,
        b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%'
    )
}

pub struct Parser<'a> {
    pub buf: &'a [u8],
    pub pos: usize,
    /// The buffer holds all there is (an object stream, a content stream, the file's last window):
    /// reaching its end while looking ahead for `N G R` means "not a reference", not "read more".
    pub complete: bool,
}

/// What follows `N G obj`: the object and, for a stream, where its data starts (relative to the slice).
pub struct Indirect {
    pub id: ObjRef,
    pub object: Object,
    pub stream_start: Option<usize>,
}

impl<'a> Parser<'a> {
    /// A parser over a window of a larger source.
    pub fn new(buf: &'a [u8]) -> Self {
        Self {
            buf,
            pos: 0,
            complete: false,
        }
    }

    pub fn at(buf: &'a [u8], pos: usize) -> Self {
        Self {
            buf,
            pos,
            complete: false,
        }
    }

    /// A parser over data that is all there is.
    pub fn complete(buf: &'a [u8], pos: usize) -> Self {
        Self {
            buf,
            pos,
            complete: true,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    pub fn skip_ws(&mut self) {
        while let Some(b) = self.peek() {
            if is_white(b) {
                self.pos += 1;
            } else if b == b'%' {
                while let Some(c) = self.peek() {
                    if c == b'\r' || c == b'\n' {
                        break;
                    }
                    self.pos += 1;
                }
            } else {
                break;
            }
        }
    }

    /// A regular-character run (keyword or number) at the current position.
    pub fn word(&mut self) -> Result<&'a [u8], ParseError> {
        self.skip_ws();
        let start = self.pos;
        while let Some(b) = self.peek() {
            if is_white(b) || is_delim(b) {
                break;
            }
            self.pos += 1;
        }
        if self.pos == start {
            return if self.pos >= self.buf.len() {
                Err(ParseError::Eof)
            } else {
                Err(ParseError::Syntax("expected a keyword or number", start))
            };
        }
        // A word that runs into the end of the window may continue beyond it.
        if self.pos >= self.buf.len() && !self.complete {
            return Err(ParseError::Eof);
        }
        Ok(&self.buf[start..self.pos])
    }

    pub fn expect_word(&mut self, w: &[u8]) -> Result<(), ParseError> {
        let at = self.pos;
        let got = self.word()?;
        if got == w {
            Ok(())
        } else {
            Err(ParseError::Syntax("unexpected keyword", at))
        }
    }

    pub fn uint(&mut self) -> Result<u64, ParseError> {
        let at = self.pos;
        let w = self.word()?;
        parse_uint(w).ok_or(ParseError::Syntax("expected a non-negative integer", at))
    }

    /// `N G obj <object>`, and for a stream the position of its first data byte.
    pub fn indirect(&mut self) -> Result<Indirect, ParseError> {
        let at = self.pos;
        let num = self.uint()?;
        let gen = self.uint()?;
        self.expect_word(b"obj")?;
        let (num, gen) = match (u32::try_from(num), u16::try_from(gen)) {
            (Ok(n), Ok(g)) => (n, g),
            _ => return Err(ParseError::Syntax("object number out of range", at)),
        };
        let object = self.object(0)?;
        self.skip_ws();
        let mut stream_start = None;
        if matches!(object, Object::Dict(_)) && self.buf[self.pos..].starts_with(b"stream") {
            let mut p = self.pos + 6;
            match (self.buf.get(p), self.buf.get(p + 1)) {
                (Some(b'\r'), Some(b'\n')) => p += 2,
                (None, _) | (Some(b'\r'), None) => return Err(ParseError::Eof),
                (Some(b'\n'), _) | (Some(b'\r'), _) => p += 1,
                _ => return Err(ParseError::Syntax("no end of line after 'stream'", p)),
            }
            stream_start = Some(p);
        } else if self.pos + 6 >= self.buf.len() {
            // Could be the start of "stream" cut by the window.
            if b"stream".starts_with(&self.buf[self.pos..]) {
                return Err(ParseError::Eof);
            }
        }
        Ok(Indirect {
            id: ObjRef::new(num, gen),
            object,
            stream_start,
        })
    }

    pub fn object(&mut self, depth: usize) -> Result<Object, ParseError> {
        if depth > MAX_DEPTH {
            return Err(ParseError::Syntax("objects nested too deeply", self.pos));
        }
        self.skip_ws();
        let start = self.pos;
        let b = self.peek().ok_or(ParseError::Eof)?;
        match b {
            b'/' => {
                self.pos += 1;
                Ok(Object::Name(self.name_body()?))
            }
            b'(' => self.literal_string(),
            b'<' => {
                if self.buf.get(self.pos + 1) == Some(&b'<') {
                    self.pos += 2;
                    Ok(Object::Dict(self.dict_body(depth)?))
                } else if self.buf.get(self.pos + 1).is_none() {
                    Err(ParseError::Eof)
                } else {
                    self.hex_string()
                }
            }
            b'[' => {
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_ws();
                    match self.peek() {
                        None => return Err(ParseError::Eof),
                        Some(b']') => {
                            self.pos += 1;
                            return Ok(Object::Array(items));
                        }
                        _ => items.push(self.object(depth + 1)?),
                    }
                }
            }
            _ => {
                let w = self.word()?;
                match w {
                    b"true" => Ok(Object::Bool(true)),
                    b"false" => Ok(Object::Bool(false)),
                    b"null" => Ok(Object::Null),
                    _ => {
                        if let Some(n) = parse_uint(w) {
                            // `N G R` is a reference; look ahead without consuming on failure.
                            let save = self.pos;
                            if let Some(r) = self.try_ref(n)? {
                                return Ok(Object::Ref(r));
                            }
                            self.pos = save;
                            return Ok(Object::Int(n as i64));
                        }
                        parse_number(w).ok_or(ParseError::Syntax("unknown token", start))
                    }
                }
            }
        }
    }

    fn try_ref(&mut self, num: u64) -> Result<Option<ObjRef>, ParseError> {
        self.skip_ws();
        match self.peek() {
            Some(c) if c.is_ascii_digit() => {}
            None if !self.complete => return Err(ParseError::Eof),
            _ => return Ok(None),
        }
        let gen = match self.word() {
            Ok(w) => match parse_uint(w) {
                Some(g) => g,
                None => return Ok(None),
            },
            Err(ParseError::Eof) if !self.complete => return Err(ParseError::Eof),
            Err(_) => return Ok(None),
        };
        self.skip_ws();
        if self.peek().is_none() {
            return if self.complete {
                Ok(None)
            } else {
                Err(ParseError::Eof)
            };
        }
        if self.peek() == Some(b'R')
            && self
                .buf
                .get(self.pos + 1)
                .is_none_or(|&c| is_white(c) || is_delim(c))
        {
            self.pos += 1;
            if let (Ok(n), Ok(g)) = (u32::try_from(num), u16::try_from(gen)) {
                return Ok(Some(ObjRef::new(n, g)));
            }
        }
        Ok(None)
    }

    fn name_body(&mut self) -> Result<Vec<u8>, ParseError> {
        let mut out = Vec::new();
        while let Some(b) = self.peek() {
            if is_white(b) || is_delim(b) {
                return Ok(out);
            }
            if b == b'#' {
                let h = self
                    .buf
                    .get(self.pos + 1..self.pos + 3)
                    .ok_or(ParseError::Eof)?;
                match std::str::from_utf8(h)
                    .ok()
                    .and_then(|s| u8::from_str_radix(s, 16).ok())
                {
                    Some(v) => {
                        out.push(v);
                        self.pos += 3;
                    }
                    None => {
                        out.push(b'#');
                        self.pos += 1;
                    }
                }
            } else {
                out.push(b);
                self.pos += 1;
            }
        }
        if self.complete {
            Ok(out)
        } else {
            Err(ParseError::Eof)
        }
    }

    fn dict_body(&mut self, depth: usize) -> Result<Dict, ParseError> {
        let mut d = Dict::new();
        loop {
            self.skip_ws();
            match self.peek() {
                None => return Err(ParseError::Eof),
                Some(b'>') => {
                    if self.buf.get(self.pos + 1) == Some(&b'>') {
                        self.pos += 2;
                        return Ok(d);
                    }
                    if self.buf.get(self.pos + 1).is_none() {
                        return Err(ParseError::Eof);
                    }
                    return Err(ParseError::Syntax("'>' inside a dictionary", self.pos));
                }
                Some(b'/') => {
                    self.pos += 1;
                    let k = self.name_body()?;
                    let v = self.object(depth + 1)?;
                    // A null value means the key is absent (ISO 32000 7.3.7).
                    if v != Object::Null {
                        d.0.push((k, v));
                    }
                }
                Some(_) => {
                    return Err(ParseError::Syntax("dictionary key is not a name", self.pos))
                }
            }
        }
    }

    fn hex_string(&mut self) -> Result<Object, ParseError> {
        self.pos += 1;
        let mut digits = Vec::new();
        loop {
            let b = self.peek().ok_or(ParseError::Eof)?;
            self.pos += 1;
            match b {
                b'>' => break,
                b if b.is_ascii_hexdigit() => digits.push(b),
                b if is_white(b) => {}
                _ => return Err(ParseError::Syntax("bad hex string", self.pos - 1)),
            }
        }
        if digits.len() % 2 == 1 {
            digits.push(b'0');
        }
        let bytes = digits
            .chunks(2)
            .map(|c| {
                let s = std::str::from_utf8(c).unwrap_or("00");
                u8::from_str_radix(s, 16).unwrap_or(0)
            })
            .collect();
        Ok(Object::Str { bytes, hex: true })
    }

    fn literal_string(&mut self) -> Result<Object, ParseError> {
        self.pos += 1;
        let mut out = Vec::new();
        let mut nest = 0usize;
        loop {
            let b = self.peek().ok_or(ParseError::Eof)?;
            self.pos += 1;
            match b {
                b'(' => {
                    nest += 1;
                    out.push(b);
                }
                b')' => {
                    if nest == 0 {
                        return Ok(Object::Str {
                            bytes: out,
                            hex: false,
                        });
                    }
                    nest -= 1;
                    out.push(b);
                }
                b'\\' => {
                    let c = self.peek().ok_or(ParseError::Eof)?;
                    self.pos += 1;
                    match c {
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'\r' => {
                            if self.peek() == Some(b'\n') {
                                self.pos += 1;
                            }
                        }
                        b'\n' => {}
                        b'0'..=b'7' => {
                            let mut v = u32::from(c - b'0');
                            for _ in 0..2 {
                                match self.peek() {
                                    Some(d @ b'0'..=b'7') => {
                                        v = v * 8 + u32::from(d - b'0');
                                        self.pos += 1;
                                    }
                                    _ => break,
                                }
                            }
                            out.push(v as u8);
                        }
                        other => out.push(other),
                    }
                }
                b'\r' => {
                    // An unescaped end of line in a string reads as a single LF.
                    if self.peek() == Some(b'\n') {
                        self.pos += 1;
                    }
                    out.push(b'\n');
                }
                _ => out.push(b),
            }
        }
    }
}

pub fn parse_uint(w: &[u8]) -> Option<u64> {
    if w.is_empty() || w.len() > 18 || !w.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(w).ok()?.parse().ok()
}

fn parse_number(w: &[u8]) -> Option<Object> {
    let s = std::str::from_utf8(w).ok()?;
    if let Ok(i) = s.parse::<i64>() {
        return Some(Object::Int(i));
    }
    // PDF reals have no exponent; tolerate a leading '+' and a lone '.'.
    if s.bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+'))
    {
        let t = s.trim_start_matches('+');
        let t = if t.starts_with("--") { &t[1..] } else { t };
        return t
            .parse::<f64>()
            .ok()
            .map(Object::Real)
            .or(Some(Object::Real(0.0)));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Object {
        Parser::complete(format!("{s} ").as_bytes(), 0)
            .object(0)
            .unwrap()
    }

    #[test]
    fn parses_objects() {
        assert_eq!(p("12 0 R"), Object::Ref(ObjRef::new(12, 0)));
        assert_eq!(p("12"), Object::Int(12));
        assert_eq!(p("-3.5"), Object::Real(-3.5));
        assert_eq!(p("/A#20B"), Object::Name(b"A B".to_vec()));
        assert_eq!(
            p("(a\\(b\\)\\101(c))"),
            Object::Str {
                bytes: b"a(b)A(c)".to_vec(),
                hex: false
            }
        );
        assert_eq!(
            p("<41 4>"),
            Object::Str {
                bytes: b"A@".to_vec(),
                hex: true
            }
        );
        let d = p("<</Type/Page/Kids[1 0 R 2 0 R]/N null/X 5>>");
        let d = d.as_dict().unwrap();
        assert!(d.is_type(b"Page"));
        assert_eq!(d.get(b"Kids").unwrap().as_array().unwrap().len(), 2);
        assert!(d.get(b"N").is_none());
        assert_eq!(d.int(b"X"), Some(5));
    }

    #[test]
    fn reports_eof_separately_from_syntax() {
        assert_eq!(Parser::new(b"<</A [1 2").object(0), Err(ParseError::Eof));
        assert!(matches!(
            Parser::new(b"<</A >] >>").object(0),
            Err(ParseError::Syntax(..))
        ));
        let deep = "[".repeat(10_000);
        assert!(matches!(
            Parser::new(deep.as_bytes()).object(0),
            Err(ParseError::Syntax("objects nested too deeply", _))
        ));
    }

    #[test]
    fn finds_stream_start() {
        let src = b"7 0 obj\n<</Length 3>>\nstream\r\nabc\nendstream\nendobj\n";
        let ind = Parser::new(src).indirect().unwrap();
        assert_eq!(ind.id, ObjRef::new(7, 0));
        assert_eq!(&src[ind.stream_start.unwrap()..][..3], b"abc");
    }
}
