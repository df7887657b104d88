//! Stream filters needed to read a document's structure: FlateDecode with PNG or TIFF predictors.

use super::object::{Dict, Object};
use super::PdfError;

/// Decoded streams larger than this are refused (a compression bomb must not exhaust memory).
pub const MAX_DECODED: usize = 256 * 1024 * 1024;

/// Decode `data` through the stream's /Filter chain. Only filters that carry structure or text are
/// supported; image filters are never decoded here.
pub fn decode(dict: &Dict, data: &[u8]) -> Result<Vec<u8>, PdfError> {
    decode_within(dict, data, MAX_DECODED)
}

/// [`decode`], refusing output beyond `limit` bytes (a document's remaining decode budget).
pub fn decode_within(dict: &Dict, data: &[u8], limit: usize) -> Result<Vec<u8>, PdfError> {
    let limit = limit.min(MAX_DECODED);
    let filters: Vec<Vec<u8>> = match dict.get(b"Filter") {
        None => return Ok(data.to_vec()),
        Some(Object::Name(n)) => vec![n.clone()],
        Some(Object::Array(a)) => a
            .iter()
            .filter_map(|o| o.as_name().map(<[u8]>::to_vec))
            .collect(),
        Some(_) => {
            return Err(PdfError::Malformed(
                "stream /Filter is not a name or array".into(),
            ))
        }
    };
    let parms: Vec<Option<&Dict>> = match dict.get(b"DecodeParms") {
        Some(Object::Dict(d)) => vec![Some(d)],
        Some(Object::Array(a)) => a.iter().map(Object::as_dict).collect(),
        _ => vec![],
    };
    let mut cur = data.to_vec();
    for (i, f) in filters.iter().enumerate() {
        let parm = parms.get(i).copied().flatten();
        cur = match f.as_slice() {
            b"FlateDecode" | b"Fl" => predict(parm, inflate(&cur, limit)?)?,
            b"ASCII85Decode" | b"A85" => ascii85(&cur)?,
            b"ASCIIHexDecode" | b"AHx" => ascii_hex(&cur),
            other => {
                return Err(PdfError::Unsupported(format!(
                    "stream filter /{}",
                    String::from_utf8_lossy(other)
                )))
            }
        };
    }
    if cur.len() > limit {
        return Err(PdfError::Malformed(format!(
            "a stream decodes to more than {} MB",
            limit / (1024 * 1024)
        )));
    }
    Ok(cur)
}

fn ascii85(data: &[u8]) -> Result<Vec<u8>, PdfError> {
    let mut out = Vec::with_capacity(data.len() * 4 / 5);
    let mut group = [0u32; 5];
    let mut n = 0;
    let mut iter = data.iter().copied();
    if data.starts_with(b"<~") {
        iter.next();
        iter.next();
    }
    for c in iter {
        match c {
            b'~' => break,
            b'z' if n == 0 => out.extend_from_slice(&[0, 0, 0, 0]),
            b'!'..=b'u' => {
                group[n] = u32::from(c - b'!');
                n += 1;
                if n == 5 {
                    let v = group.iter().fold(0u64, |a, d| a * 85 + u64::from(*d));
                    if v > u64::from(u32::MAX) {
                        return Err(PdfError::Malformed("bad ASCII85 group".into()));
                    }
                    out.extend_from_slice(&(v as u32).to_be_bytes());
                    n = 0;
                }
            }
            c if super::parse::is_white(c) => {}
            _ => return Err(PdfError::Malformed("bad ASCII85 character".into())),
        }
    }
    if n > 1 {
        for d in group.iter_mut().skip(n) {
            *d = 84;
        }
        let v = group.iter().fold(0u64, |a, d| a * 85 + u64::from(*d));
        out.extend_from_slice(&(v as u32).to_be_bytes()[..n - 1]);
    }
    Ok(out)
}

fn ascii_hex(data: &[u8]) -> Vec<u8> {
    let digits: Vec<u8> = data
        .iter()
        .copied()
        .take_while(|c| *c != b'>')
        .filter(u8::is_ascii_hexdigit)
        .collect();
    digits
        .chunks(2)
        .map(|c| {
            let hi = (c[0] as char).to_digit(16).unwrap_or(0) as u8;
            let lo = c
                .get(1)
                .and_then(|d| (*d as char).to_digit(16))
                .unwrap_or(0) as u8;
            hi << 4 | lo
        })
        .collect()
}

fn inflate(data: &[u8], limit: usize) -> Result<Vec<u8>, PdfError> {
    match miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(data, limit) {
        Ok(v) => Ok(v),
        Err(e) if e.status == miniz_oxide::inflate::TINFLStatus::HasMoreOutput => {
            Err(PdfError::Malformed(format!(
                "a stream decodes to more than {} MB (the limit left for this document)",
                limit / (1024 * 1024)
            )))
        }
        Err(e) => {
            // Some producers write a truncated checksum: keep what inflated before the error.
            if !e.output.is_empty() {
                Ok(e.output)
            } else {
                Err(PdfError::Malformed(
                    "FlateDecode stream does not inflate".into(),
                ))
            }
        }
    }
}

fn predict(parm: Option<&Dict>, data: Vec<u8>) -> Result<Vec<u8>, PdfError> {
    let Some(p) = parm else { return Ok(data) };
    let predictor = p.int(b"Predictor").unwrap_or(1);
    if predictor < 10 {
        if predictor == 2 {
            return Err(PdfError::Unsupported("TIFF predictor".into()));
        }
        return Ok(data);
    }
    let colors = p.int(b"Colors").unwrap_or(1).clamp(1, 32) as usize;
    let bpc = p.int(b"BitsPerComponent").unwrap_or(8).clamp(1, 16) as usize;
    let columns = p.int(b"Columns").unwrap_or(1).clamp(1, 1 << 20) as usize;
    let bpp = (colors * bpc).div_ceil(8).max(1);
    let row = (colors * bpc * columns).div_ceil(8);
    let mut out = Vec::with_capacity(data.len());
    let mut prev = vec![0u8; row];
    for chunk in data.chunks(row + 1) {
        if chunk.len() < row + 1 {
            break;
        }
        let kind = chunk[0];
        let mut cur = chunk[1..].to_vec();
        for i in 0..row {
            let a = if i >= bpp { cur[i - bpp] } else { 0 };
            let b = prev[i];
            let c = if i >= bpp { prev[i - bpp] } else { 0 };
            cur[i] = match kind {
                0 => cur[i],
                1 => cur[i].wrapping_add(a),
                2 => cur[i].wrapping_add(b),
                3 => cur[i].wrapping_add(((u16::from(a) + u16::from(b)) / 2) as u8),
                4 => cur[i].wrapping_add(paeth(a, b, c)),
                _ => return Err(PdfError::Malformed("unknown PNG predictor row type".into())),
            };
        }
        out.extend_from_slice(&cur);
        prev = cur;
    }
    Ok(out)
}

fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let p = i16::from(a) + i16::from(b) - i16::from(c);
    let (pa, pb, pc) = (
        (p - i16::from(a)).abs(),
        (p - i16::from(b)).abs(),
        (p - i16::from(c)).abs(),
    );
    if pa <= pb && pa <= pc {
        a
    } else if pb <= pc {
        b
    } else {
        c
    }
}

/// zlib-compress `data` (streams we write).
pub fn deflate(data: &[u8]) -> Vec<u8> {
    miniz_oxide::deflate::compress_to_vec_zlib(data, 6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii85_and_hex() {
        let d = Dict::new().with(b"Filter", Object::name("ASCII85Decode"));
        assert_eq!(decode(&d, b"87cURD]i,\"Ebo80~>").unwrap(), b"Hello World!");
        let d = Dict::new().with(b"Filter", Object::name("ASCIIHexDecode"));
        assert_eq!(decode(&d, b"48 65 6C6C6F>").unwrap(), b"Hello");
    }

    #[test]
    fn flate_with_png_up_predictor() {
        // Two rows of 3 bytes, the second encoded with the Up predictor.
        let raw = [0u8, 1, 2, 3, 2, 1, 1, 1];
        let enc = deflate(&raw);
        let parms = Dict::new()
            .with(b"Predictor", Object::Int(12))
            .with(b"Columns", Object::Int(3));
        let d = Dict::new()
            .with(b"Filter", Object::name("FlateDecode"))
            .with(b"DecodeParms", Object::Dict(parms));
        assert_eq!(decode(&d, &enc).unwrap(), vec![1, 2, 3, 2, 3, 4]);
    }
}
