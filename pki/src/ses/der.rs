//! The small DER writer and the tolerant TLV reader the seal structures need. Real seals break DER in
//! known ways (an OCTET STRING where a BIT STRING belongs, the other time type), so the reader works on
//! tags and lengths and leaves the judging to the decoder, which records what was non-standard.

use std::time::{Duration, SystemTime};

use super::SesError;

pub const BOOLEAN: u8 = 0x01;
pub const INTEGER: u8 = 0x02;
pub const BIT_STRING: u8 = 0x03;
pub const OCTET_STRING: u8 = 0x04;
pub const OID: u8 = 0x06;
pub const UTF8_STRING: u8 = 0x0c;
pub const PRINTABLE_STRING: u8 = 0x13;
pub const IA5_STRING: u8 = 0x16;
pub const UTC_TIME: u8 = 0x17;
pub const GENERALIZED_TIME: u8 = 0x18;
pub const SEQUENCE: u8 = 0x30;
/// `[0]` constructed (EXPLICIT).
pub const CONTEXT_0: u8 = 0xa0;

// ---- writing -------------------------------------------------------------------------------------

pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    out.push(tag);
    let n = content.len();
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let bytes = n.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

pub fn seq(parts: &[&[u8]]) -> Vec<u8> {
    tlv(SEQUENCE, &parts.concat())
}

pub fn int(v: i64) -> Vec<u8> {
    let bytes = v.to_be_bytes();
    let mut start = 0;
    // Minimal two's complement: drop leading bytes that only repeat the sign.
    while start < 7
        && ((bytes[start] == 0 && bytes[start + 1] & 0x80 == 0)
            || (bytes[start] == 0xff && bytes[start + 1] & 0x80 != 0))
    {
        start += 1;
    }
    tlv(INTEGER, &bytes[start..])
}

pub fn bit_string(bytes: &[u8]) -> Vec<u8> {
    let mut c = Vec::with_capacity(bytes.len() + 1);
    c.push(0);
    c.extend_from_slice(bytes);
    tlv(BIT_STRING, &c)
}

pub fn oid(o: &const_oid::ObjectIdentifier) -> Vec<u8> {
    tlv(OID, o.as_bytes())
}

pub fn generalized_time(t: SystemTime) -> Result<Vec<u8>, SesError> {
    let dt =
        der::DateTime::from_system_time(t).map_err(|e| SesError::Encode(format!("time: {e}")))?;
    let s = format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}Z",
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minutes(),
        dt.seconds()
    );
    Ok(tlv(GENERALIZED_TIME, s.as_bytes()))
}

// ---- reading -------------------------------------------------------------------------------------

/// One tag-length-value: `raw` is the whole encoding (what a signature covers).
#[derive(Clone, Copy, Debug)]
pub struct Tlv<'a> {
    pub tag: u8,
    pub content: &'a [u8],
    pub raw: &'a [u8],
}

/// Read one TLV from the front of `input`. Definite lengths only; high tag numbers refused.
pub fn read<'a>(input: &mut &'a [u8]) -> Result<Tlv<'a>, SesError> {
    let all = *input;
    let trunc = || SesError::Malformed("truncated DER".into());
    let (&tag, rest) = all.split_first().ok_or_else(trunc)?;
    if tag & 0x1f == 0x1f {
        return Err(SesError::Malformed(format!(
            "tag {tag:#04x} with a high tag number"
        )));
    }
    let (&first, mut rest) = rest.split_first().ok_or_else(trunc)?;
    let len = if first < 0x80 {
        usize::from(first)
    } else if first == 0x80 {
        return Err(SesError::Malformed(
            "indefinite length (BER, not DER)".into(),
        ));
    } else {
        let n = usize::from(first & 0x7f);
        if n > 4 || rest.len() < n {
            return Err(SesError::Malformed(format!("length of {n} octets")));
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        rest = &rest[n..];
        len
    };
    if rest.len() < len {
        return Err(trunc());
    }
    let header = all.len() - rest.len();
    let t = Tlv {
        tag,
        content: &rest[..len],
        raw: &all[..header + len],
    };
    *input = &rest[len..];
    Ok(t)
}

/// Every TLV inside a constructed value.
pub fn children<'a>(content: &'a [u8]) -> Result<Vec<Tlv<'a>>, SesError> {
    let mut rest = content;
    let mut out = Vec::new();
    while !rest.is_empty() {
        out.push(read(&mut rest)?);
    }
    Ok(out)
}

/// Read a whole input as exactly one TLV (no trailing bytes).
pub fn whole(input: &[u8]) -> Result<Tlv<'_>, SesError> {
    let mut rest = input;
    let t = read(&mut rest)?;
    if !rest.is_empty() {
        return Err(SesError::Malformed(format!(
            "{} bytes after the structure",
            rest.len()
        )));
    }
    Ok(t)
}

pub fn tag_name(tag: u8) -> &'static str {
    match tag {
        BOOLEAN => "BOOLEAN",
        INTEGER => "INTEGER",
        BIT_STRING => "BIT STRING",
        OCTET_STRING => "OCTET STRING",
        OID => "OBJECT IDENTIFIER",
        UTF8_STRING => "UTF8String",
        PRINTABLE_STRING => "PrintableString",
        IA5_STRING => "IA5String",
        UTC_TIME => "UTCTime",
        GENERALIZED_TIME => "GeneralizedTime",
        SEQUENCE => "SEQUENCE",
        CONTEXT_0 => "[0]",
        _ => "an unexpected type",
    }
}

pub fn parse_int(t: &Tlv<'_>) -> Result<i64, SesError> {
    if t.content.is_empty() || t.content.len() > 8 {
        return Err(SesError::Malformed(format!(
            "INTEGER of {} octets",
            t.content.len()
        )));
    }
    let neg = t.content[0] & 0x80 != 0;
    let mut v: i64 = if neg { -1 } else { 0 };
    for b in t.content {
        v = (v << 8) | i64::from(*b);
    }
    Ok(v)
}

/// UTCTime `YYMMDDhhmmssZ` or GeneralizedTime `YYYYMMDDhhmmss[.f]Z`.
pub fn parse_time(t: &Tlv<'_>) -> Result<SystemTime, SesError> {
    let s = std::str::from_utf8(t.content)
        .map_err(|_| SesError::Malformed("time is not text".into()))?;
    let bad = || SesError::Malformed(format!("time {s:?}"));
    let body = s.strip_suffix('Z').ok_or_else(bad)?;
    let body = body.split('.').next().unwrap_or(body);
    let digits = |r: std::ops::Range<usize>| -> Result<u32, SesError> {
        body.get(r)
            .filter(|d| d.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|d| d.parse().ok())
            .ok_or_else(bad)
    };
    let (year, rest) = match (t.tag, body.len()) {
        (UTC_TIME, 12) => {
            let yy = digits(0..2)?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, 2)
        }
        (GENERALIZED_TIME, 14) => (digits(0..4)?, 4),
        _ => return Err(bad()),
    };
    let dt = der::DateTime::new(
        year as u16,
        digits(rest..rest + 2)? as u8,
        digits(rest + 2..rest + 4)? as u8,
        digits(rest + 4..rest + 6)? as u8,
        digits(rest + 6..rest + 8)? as u8,
        digits(rest + 8..rest + 10)? as u8,
    )
    .map_err(|_| bad())?;
    Ok(SystemTime::UNIX_EPOCH + Duration::from_secs(dt.unix_duration().as_secs()))
}

/// Text of a string type.
pub fn parse_text(t: &Tlv<'_>) -> Result<String, SesError> {
    String::from_utf8(t.content.to_vec())
        .map_err(|_| SesError::Malformed(format!("{} is not UTF-8", tag_name(t.tag))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_minimal() {
        assert_eq!(int(0), [2, 1, 0]);
        assert_eq!(int(127), [2, 1, 0x7f]);
        assert_eq!(int(128), [2, 2, 0, 0x80]);
        assert_eq!(int(-1), [2, 1, 0xff]);
        assert_eq!(int(-129), [2, 2, 0xff, 0x7f]);
        for v in [0, 1, 4, 255, 256, 65_535, -5, i64::MAX, i64::MIN] {
            let enc = int(v);
            assert_eq!(parse_int(&whole(&enc).unwrap()).unwrap(), v);
        }
    }

    #[test]
    fn lengths_and_truncation() {
        let long = tlv(OCTET_STRING, &[7u8; 300]);
        assert_eq!(&long[..4], &[0x04, 0x82, 0x01, 0x2c]);
        assert_eq!(whole(&long).unwrap().content.len(), 300);
        assert!(whole(&long[..long.len() - 1]).is_err());
        assert!(whole(&[0x30, 0x80, 0, 0]).is_err(), "indefinite length");
        assert!(whole(&[0x1f, 0x81, 0x01, 0x00]).is_err(), "high tag number");
        assert!(whole(&[0x30, 0x85, 1, 1, 1, 1, 1]).is_err());
    }

    #[test]
    fn times_both_ways() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000);
        let g = generalized_time(t).unwrap();
        assert_eq!(parse_time(&whole(&g).unwrap()).unwrap(), t);
        let utc = tlv(UTC_TIME, b"260101120000Z");
        let g2 = tlv(GENERALIZED_TIME, b"20260101120000Z");
        assert_eq!(
            parse_time(&whole(&utc).unwrap()).unwrap(),
            parse_time(&whole(&g2).unwrap()).unwrap()
        );
        assert!(parse_time(&whole(&tlv(UTC_TIME, b"2601011200Z")).unwrap()).is_err());
    }
}
