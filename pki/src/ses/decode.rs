//! Reading seals and seal signatures of every version. The layout is fixed, so the reader walks it
//! directly (no recursion driven by the input); each tolerated deviation becomes a warning.

use const_oid::ObjectIdentifier as Oid;

use super::der::{self, Tlv};
use super::{CertList, Picture, Seal, SealInfo, SesError, SesSignature, Version};

/// A decoded file and what was non-standard about it.
#[derive(Clone, Debug)]
pub enum Decoded {
    Seal(Box<Seal>, Vec<String>),
    Signature(Box<SesSignature>, Vec<String>),
}

/// Inputs larger than this are refused before parsing (a seal picture is at most a few MB).
pub const MAX_SES: usize = 32 * 1024 * 1024;

struct Ctx {
    version: Version,
    warnings: Vec<String>,
}

fn bad(what: &str, t: &Tlv<'_>) -> SesError {
    SesError::Malformed(format!("{what}: found {}", der::tag_name(t.tag)))
}

fn expect<'a>(t: &Tlv<'a>, tag: u8, what: &str) -> Result<&'a [u8], SesError> {
    if t.tag == tag {
        Ok(t.content)
    } else {
        Err(SesError::Malformed(format!(
            "{what}: expected {}, found {}",
            der::tag_name(tag),
            der::tag_name(t.tag)
        )))
    }
}

fn items<'a>(
    t: &Tlv<'a>,
    what: &str,
    range: std::ops::RangeInclusive<usize>,
) -> Result<Vec<Tlv<'a>>, SesError> {
    let kids = der::children(expect(t, der::SEQUENCE, what)?)?;
    if !range.contains(&kids.len()) {
        return Err(SesError::Malformed(format!(
            "{what}: {} elements, expected {} to {}",
            kids.len(),
            range.start(),
            range.end()
        )));
    }
    Ok(kids)
}

impl Ctx {
    fn warn(&mut self, w: String) {
        if !self.warnings.contains(&w) {
            self.warnings.push(w);
        }
    }

    /// A BIT STRING (an OCTET STRING is accepted with a warning).
    fn bits(&mut self, t: &Tlv<'_>, what: &str) -> Result<Vec<u8>, SesError> {
        match t.tag {
            der::BIT_STRING => match t.content.split_first() {
                Some((0, rest)) => Ok(rest.to_vec()),
                Some((n, _)) => Err(SesError::Malformed(format!(
                    "{what}: BIT STRING with {n} unused bits"
                ))),
                None => Err(SesError::Malformed(format!("{what}: empty BIT STRING"))),
            },
            der::OCTET_STRING => {
                self.warn(format!(
                    "{what} is an OCTET STRING where the standard has a BIT STRING"
                ));
                Ok(t.content.to_vec())
            }
            _ => Err(bad(what, t)),
        }
    }

    fn octets(&mut self, t: &Tlv<'_>, what: &str) -> Result<Vec<u8>, SesError> {
        match t.tag {
            der::OCTET_STRING => Ok(t.content.to_vec()),
            // A certificate written bare instead of wrapped in an OCTET STRING.
            der::SEQUENCE => {
                self.warn(format!(
                    "{what} is a bare SEQUENCE where the standard has an OCTET STRING"
                ));
                Ok(t.raw.to_vec())
            }
            der::BIT_STRING => {
                self.warn(format!(
                    "{what} is a BIT STRING where the standard has an OCTET STRING"
                ));
                self.bits(t, what)
            }
            _ => Err(bad(what, t)),
        }
    }

    fn time(&mut self, t: &Tlv<'_>, what: &str) -> Result<std::time::SystemTime, SesError> {
        let wanted = if self.version == Version::V1 {
            der::UTC_TIME
        } else {
            der::GENERALIZED_TIME
        };
        if t.tag != der::UTC_TIME && t.tag != der::GENERALIZED_TIME {
            return Err(bad(what, t));
        }
        if t.tag != wanted {
            self.warn(format!(
                "{what} is a {} where {} has a {}",
                der::tag_name(t.tag),
                self.version.name(),
                der::tag_name(wanted)
            ));
        }
        der::parse_time(t)
    }

    fn text(&mut self, t: &Tlv<'_>, tag: u8, what: &str) -> Result<String, SesError> {
        let ok = [der::IA5_STRING, der::UTF8_STRING, der::PRINTABLE_STRING];
        if !ok.contains(&t.tag) {
            return Err(bad(what, t));
        }
        if t.tag != tag {
            self.warn(format!(
                "{what} is a {} where the standard has a {}",
                der::tag_name(t.tag),
                der::tag_name(tag)
            ));
        }
        der::parse_text(t)
    }

    fn oid(&mut self, t: &Tlv<'_>, what: &str) -> Result<Oid, SesError> {
        let bytes = expect(t, der::OID, what)?;
        Oid::from_bytes(bytes).map_err(|e| SesError::Malformed(format!("{what}: {e}")))
    }

    /// A signature value: DER SEQUENCE{r, s}; raw r‖s and a stray leading zero octet are tolerated.
    fn signature(&mut self, bytes: Vec<u8>, what: &str) -> Result<Vec<u8>, SesError> {
        let mut b = bytes.as_slice();
        if b.len() > 2 && b[0] == 0 && b[1] == der::SEQUENCE {
            self.warn(format!(
                "{what} has a leading 00 octet before the signature"
            ));
            b = &b[1..];
        }
        if b.first() == Some(&der::SEQUENCE) {
            return Ok(b.to_vec());
        }
        let raw = match b.len() {
            64 => b,
            65 if b[0] == 0 => {
                self.warn(format!(
                    "{what} has a leading 00 octet before the signature"
                ));
                &b[1..]
            }
            n => {
                return Err(SesError::Malformed(format!(
                    "{what}: {n} octets, neither DER nor raw r||s"
                )))
            }
        };
        self.warn(format!(
            "{what} is raw r||s where the standard has DER SEQUENCE {{r, s}}"
        ));
        crate::alg::raw_rs_to_der(raw).map_err(|e| SesError::Malformed(format!("{what}: {e}")))
    }

    fn seal_info(&mut self, t: &Tlv<'_>) -> Result<SealInfo, SesError> {
        let k = items(t, "SES_SealInfo", 4..=5)?;
        let h = items(&k[0], "SES_Header", 3..=3)?;
        let id = self.text(&h[0], der::IA5_STRING, "header ID")?;
        if id != "ES" {
            return Err(SesError::Malformed(format!(
                "header ID {id:?}, expected \"ES\""
            )));
        }
        let header_version = der::parse_int(&h[1])?;
        let vendor_id = self.text(&h[2], der::IA5_STRING, "header Vid")?;
        let es_id = self.text(&k[1], der::IA5_STRING, "esID")?;
        let p = items(&k[2], "SES_ESPropertyInfo", 6..=7)?;
        let seal_type = der::parse_int(&p[0])?;
        let name = self.text(&p[1], der::UTF8_STRING, "seal name")?;
        // v1 has no certListType: a SEQUENCE of certificates follows the name.
        let (certs, dates) = if p.len() == 7 && p[2].tag == der::INTEGER {
            let list_type = der::parse_int(&p[2])?;
            let entries = der::children(expect(&p[3], der::SEQUENCE, "certList")?)?;
            let certs = match list_type {
                1 => CertList::Certs(
                    entries
                        .iter()
                        .map(|e| self.octets(e, "certList entry"))
                        .collect::<Result<_, _>>()?,
                ),
                2 => CertList::Digests(
                    entries
                        .iter()
                        .map(|e| {
                            let d = items(e, "certDigestList entry", 2..=2)?;
                            Ok((
                                self.text(&d[0], der::PRINTABLE_STRING, "digest type")?,
                                self.octets(&d[1], "digest value")?,
                            ))
                        })
                        .collect::<Result<_, SesError>>()?,
                ),
                n => return Err(SesError::Malformed(format!("certListType {n} (1 or 2)"))),
            };
            (certs, &p[4..7])
        } else if p.len() == 6 {
            let entries = der::children(expect(&p[2], der::SEQUENCE, "certList")?)?;
            let certs = entries
                .iter()
                .map(|e| self.octets(e, "certList entry"))
                .collect::<Result<_, _>>()?;
            (CertList::Certs(certs), &p[3..6])
        } else {
            return Err(SesError::Malformed("SES_ESPropertyInfo layout".into()));
        };
        let create_date = self.time(&dates[0], "createDate")?;
        let valid_start = self.time(&dates[1], "validStart")?;
        let valid_end = self.time(&dates[2], "validEnd")?;
        let pic = items(&k[3], "SES_ESPictrueInfo", 4..=4)?;
        let picture = Picture {
            kind: self.text(&pic[0], der::IA5_STRING, "picture type")?,
            data: self.octets(&pic[1], "picture data")?,
            width_mm: der::parse_int(&pic[2])?,
            height_mm: der::parse_int(&pic[3])?,
        };
        let ext_datas = k.get(4).map(|e| e.raw.to_vec());
        Ok(SealInfo {
            header_version,
            vendor_id,
            es_id,
            seal_type,
            name,
            certs,
            create_date,
            valid_start,
            valid_end,
            picture,
            ext_datas,
        })
    }

    fn seal(&mut self, t: &Tlv<'_>) -> Result<Seal, SesError> {
        let k = items(t, "SESeal", 2..=5)?;
        let info_t = k[0];
        let (maker_cert, sig_alg, sig, timestamp) = match k.len() {
            2 => {
                self.version = Version::V1;
                let si = items(&k[1], "SES_SignInfo", 3..=3)?;
                (
                    self.octets(&si[0], "maker certificate")?,
                    self.oid(&si[1], "signatureAlgorithm")?,
                    self.bits(&si[2], "maker signature")?,
                    None,
                )
            }
            4 | 5 => {
                let ts = match k.get(4) {
                    Some(t) => {
                        let inner = der::whole(expect(t, der::CONTEXT_0, "seal timeStamp")?)?;
                        Some(self.bits(&inner, "seal timeStamp")?)
                    }
                    None => None,
                };
                (
                    self.octets(&k[1], "maker certificate")?,
                    self.oid(&k[2], "signAlgID")?,
                    self.bits(&k[3], "maker signature")?,
                    ts,
                )
            }
            n => return Err(SesError::Malformed(format!("SESeal with {n} elements"))),
        };
        let info = self.seal_info(&info_t)?;
        if self.version != Version::V1 {
            self.version = match info.header_version {
                5 => Version::V5,
                4 => Version::V4,
                v => {
                    self.warn(format!("header version {v}; read as GB/T 38540 (v4)"));
                    Version::V4
                }
            };
            if timestamp.is_some() && self.version == Version::V4 {
                self.warn("a v4 seal carries a v5 timestamp".into());
            }
        }
        let signature = self.signature(sig, "maker signature")?;
        Ok(Seal {
            version: self.version,
            info,
            info_der: info_t.raw.to_vec(),
            maker_cert,
            sig_alg,
            signature,
            timestamp,
            der: t.raw.to_vec(),
        })
    }

    fn signature_struct(&mut self, t: &Tlv<'_>) -> Result<SesSignature, SesError> {
        let k = items(t, "SES_Signature", 2..=5)?;
        let tbs_t = k[0];
        let tbs = items(&tbs_t, "TBS_Sign", 5..=7)?;
        let tbs_version = der::parse_int(&tbs[0])?;
        let seal = self.seal(&tbs[1])?;
        self.version = seal.version;
        let v1 = k.len() == 2;
        if v1 != (seal.version == Version::V1) {
            self.warn("the signature layout and the seal's version differ".into());
        }
        let time = if v1 {
            // v1: timeInfo is a BIT STRING holding the time as text.
            let bits = self.bits(&tbs[2], "timeInfo")?;
            let text = String::from_utf8(bits)
                .map_err(|_| SesError::Malformed("timeInfo is not text".into()))?;
            let tag = if text.len() == 13 {
                der::UTC_TIME
            } else {
                der::GENERALIZED_TIME
            };
            let enc = der::tlv(tag, text.as_bytes());
            der::parse_time(&der::whole(&enc)?)?
        } else {
            self.time(&tbs[2], "timeInfo")?
        };
        let data_hash = self.bits(&tbs[3], "dataHash")?;
        let property_info = self.text(&tbs[4], der::IA5_STRING, "propertyInfo")?;
        let (signer_cert, sig_alg, sig, timestamp) = if v1 {
            if tbs.len() != 7 {
                return Err(SesError::Malformed(
                    "v1 TBS_Sign needs cert and signatureAlgorithm".into(),
                ));
            }
            (
                self.octets(&tbs[5], "signer certificate")?,
                self.oid(&tbs[6], "signatureAlgorithm")?,
                self.bits(&k[1], "signature")?,
                None,
            )
        } else {
            if k.len() < 4 {
                return Err(SesError::Malformed(format!(
                    "SES_Signature with {} elements",
                    k.len()
                )));
            }
            let ts = match k.get(4) {
                Some(t) => {
                    let inner = der::whole(expect(t, der::CONTEXT_0, "timeStamp")?)?;
                    Some(self.bits(&inner, "timeStamp")?)
                }
                None => None,
            };
            (
                self.octets(&k[1], "signer certificate")?,
                self.oid(&k[2], "signatureAlgID")?,
                self.bits(&k[3], "signature")?,
                ts,
            )
        };
        let signature = self.signature(sig, "signature")?;
        Ok(SesSignature {
            version: self.version,
            tbs_version,
            seal,
            time,
            data_hash,
            property_info,
            tbs_der: tbs_t.raw.to_vec(),
            signer_cert,
            sig_alg,
            signature,
            timestamp,
            der: t.raw.to_vec(),
        })
    }
}

/// Decode a seal (SESeal) or a seal signature (SES_Signature) of any version, DER or PEM-less base64.
pub fn decode(input: &[u8]) -> Result<Decoded, SesError> {
    if input.len() > MAX_SES {
        return Err(SesError::Malformed(format!(
            "{} bytes; the limit is {MAX_SES}",
            input.len()
        )));
    }
    let top = der::whole(input)?;
    let k = items(&top, "seal or signature", 2..=5)?;
    let first = der::children(expect(&k[0], der::SEQUENCE, "first element")?)?;
    let mut cx = Ctx {
        version: Version::V4,
        warnings: Vec::new(),
    };
    // A signature starts with TBS_Sign { version INTEGER, … }; a seal with SES_SealInfo { header, … }.
    match first.first().map(|t| t.tag) {
        Some(der::INTEGER) => {
            let s = cx.signature_struct(&top)?;
            Ok(Decoded::Signature(Box::new(s), cx.warnings))
        }
        Some(der::SEQUENCE) => {
            let s = cx.seal(&top)?;
            Ok(Decoded::Seal(Box::new(s), cx.warnings))
        }
        _ => Err(SesError::Malformed(
            "neither a seal (SESeal) nor a seal signature (SES_Signature)".into(),
        )),
    }
}
