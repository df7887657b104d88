//! The PDF standard security handler (ISO 32000-2 §7.6.4): revisions 2–6, RC4, AES-128 and AES-256.
//! Used to read encrypted documents and to encrypt the objects an update adds to them.

#[allow(deprecated)] // aes 0.8 speaks generic-array 0.14, deprecated upstream in favour of 1.x
use aes::cipher::{generic_array::GenericArray, BlockDecrypt, BlockEncrypt, KeyInit};
use md5::{Digest, Md5};
use sha2::{Sha256, Sha384, Sha512};

use super::object::{Dict, ObjRef, Object};
use super::PdfError;

const PAD: [u8; 32] = [
    0x28, 0xBF, 0x4E, 0x5E, 0x4E, 0x75, 0x8A, 0x41, 0x64, 0x00, 0x4E, 0x56, 0xFF, 0xFA, 0x01, 0x08,
    0x2E, 0x2E, 0x00, 0xB6, 0xD0, 0x68, 0x3E, 0x80, 0x2F, 0x0C, 0xA9, 0xFE, 0x64, 0x53, 0x69, 0x7A,
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Method {
    Identity,
    Rc4,
    Aes128,
    Aes256,
}

/// An opened security handler: the file key and the methods for strings and streams.
pub struct Crypt {
    key: Vec<u8>,
    strings: Method,
    streams: Method,
    encrypt_metadata: bool,
}

impl std::fmt::Debug for Crypt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The file key is a secret.
        f.debug_struct("Crypt")
            .field("strings", &self.strings)
            .field("streams", &self.streams)
            .finish_non_exhaustive()
    }
}

fn bytes(d: &Dict, k: &[u8]) -> Vec<u8> {
    d.get(k)
        .and_then(Object::as_str_bytes)
        .unwrap_or_default()
        .to_vec()
}

fn method_of(enc: &Dict, filter_name: &[u8], v: i64) -> Result<Method, PdfError> {
    if v < 4 {
        return Ok(Method::Rc4);
    }
    if filter_name == b"Identity" {
        return Ok(Method::Identity);
    }
    let cfm = enc
        .get(b"CF")
        .and_then(Object::as_dict)
        .and_then(|cf| cf.get(filter_name))
        .and_then(Object::as_dict)
        .and_then(|f| f.name(b"CFM"))
        .unwrap_or(b"None");
    match cfm {
        b"V2" => Ok(Method::Rc4),
        b"AESV2" => Ok(Method::Aes128),
        b"AESV3" => Ok(Method::Aes256),
        b"None" => Ok(Method::Identity),
        other => Err(PdfError::Unsupported(format!(
            "crypt filter method /{}",
            String::from_utf8_lossy(other)
        ))),
    }
}

impl Crypt {
    /// Open the handler with `password` (tried as user, then as owner password); without one, the
    /// empty user password is tried.
    pub fn open(enc: &Dict, id0: &[u8], password: Option<&[u8]>) -> Result<Self, PdfError> {
        if enc.name(b"Filter") != Some(b"Standard") {
            return Err(PdfError::Unsupported(
                "encryption other than the standard security handler (certificates, DRM plug-ins)"
                    .into(),
            ));
        }
        let v = enc.int(b"V").unwrap_or(0);
        let r = enc.int(b"R").unwrap_or(0);
        if !(2..=6).contains(&r) || !(1..=5).contains(&v) || v == 3 {
            return Err(PdfError::Unsupported(format!(
                "security handler V {v} R {r}"
            )));
        }
        let strings = method_of(enc, enc.name(b"StrF").unwrap_or(b"Identity"), v)?;
        let streams = method_of(enc, enc.name(b"StmF").unwrap_or(b"Identity"), v)?;
        let encrypt_metadata = !matches!(enc.get(b"EncryptMetadata"), Some(Object::Bool(false)));
        let pw = password.unwrap_or_default();
        let key = if r >= 5 {
            key_r6(enc, r, pw)
        } else {
            key_r4(enc, r, id0, pw, encrypt_metadata)
        };
        let key = key.ok_or(if password.is_some() {
            PdfError::Password("the password is wrong for this document".into())
        } else {
            PdfError::Password("the document is encrypted and needs a password".into())
        })?;
        Ok(Crypt {
            key,
            strings,
            streams,
            encrypt_metadata,
        })
    }

    fn object_key(&self, id: ObjRef, m: Method) -> Vec<u8> {
        if m == Method::Aes256 {
            return self.key.clone();
        }
        let mut h = Md5::new();
        h.update(&self.key);
        h.update(&id.num.to_le_bytes()[..3]);
        h.update(id.gen.to_le_bytes());
        if m == Method::Aes128 {
            h.update(b"sAlT");
        }
        let d = h.finalize();
        d[..(self.key.len() + 5).min(16)].to_vec()
    }

    fn decrypt(&self, id: ObjRef, m: Method, data: &[u8]) -> Vec<u8> {
        match m {
            Method::Identity => data.to_vec(),
            Method::Rc4 => rc4(&self.object_key(id, m), data),
            Method::Aes128 | Method::Aes256 => {
                if data.len() < 32 || !data.len().is_multiple_of(16) {
                    // Not a whole AES message: leave as is (tolerated, like other readers).
                    return data.to_vec();
                }
                let key = self.object_key(id, m);
                cbc_decrypt(&key, &data[..16], &data[16..], true).unwrap_or_else(|| data.to_vec())
            }
        }
    }

    fn encrypt(&self, id: ObjRef, m: Method, data: &[u8]) -> Vec<u8> {
        match m {
            Method::Identity => data.to_vec(),
            Method::Rc4 => rc4(&self.object_key(id, m), data),
            Method::Aes128 | Method::Aes256 => {
                let mut iv = [0u8; 16];
                rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut iv);
                let mut out = iv.to_vec();
                out.extend(cbc_encrypt(&self.object_key(id, m), &iv, data));
                out
            }
        }
    }

    /// Decrypt every string inside `o` (stream data is decrypted separately).
    pub fn decrypt_strings(&self, id: ObjRef, o: &mut Object) {
        self.map_strings(o, &|b| self.decrypt(id, self.strings, b), 0);
    }

    /// Encrypt every string inside `o`, except a signature's /Contents (which stays in clear, §7.6.2).
    pub fn encrypt_strings(&self, id: ObjRef, o: &mut Object) {
        self.map_strings(o, &|b| self.encrypt(id, self.strings, b), 0);
    }

    fn map_strings(&self, o: &mut Object, f: &dyn Fn(&[u8]) -> Vec<u8>, depth: usize) {
        if depth > 64 {
            return;
        }
        match o {
            Object::Str { bytes, .. } => *bytes = f(bytes),
            Object::Array(a) => a.iter_mut().for_each(|x| self.map_strings(x, f, depth + 1)),
            Object::Dict(d) => self.map_dict(d, f, depth),
            Object::Stream(s) => self.map_dict(&mut s.dict, f, depth),
            _ => {}
        }
    }

    fn map_dict(&self, d: &mut Dict, f: &dyn Fn(&[u8]) -> Vec<u8>, depth: usize) {
        let is_sig = d.is_type(b"Sig") || d.is_type(b"DocTimeStamp");
        for (k, v) in d.0.iter_mut() {
            if is_sig && k == b"Contents" {
                continue;
            }
            self.map_strings(v, f, depth + 1);
        }
    }

    fn stream_method(&self, dict: &Dict) -> Method {
        if dict.is_type(b"XRef") || (dict.is_type(b"Metadata") && !self.encrypt_metadata) {
            Method::Identity
        } else {
            self.streams
        }
    }

    pub fn decrypt_stream(&self, id: ObjRef, dict: &Dict, data: Vec<u8>) -> Vec<u8> {
        match self.stream_method(dict) {
            Method::Identity => data,
            m => self.decrypt(id, m, &data),
        }
    }

    pub fn encrypt_stream(&self, id: ObjRef, dict: &Dict, data: &[u8]) -> Vec<u8> {
        self.encrypt(id, self.stream_method(dict), data)
    }
}

fn padded(pw: &[u8]) -> [u8; 32] {
    let mut out = PAD;
    let n = pw.len().min(32);
    out[..n].copy_from_slice(&pw[..n]);
    out[n..].copy_from_slice(&PAD[..32 - n]);
    out
}

fn key_r4(enc: &Dict, r: i64, id0: &[u8], pw: &[u8], encrypt_metadata: bool) -> Option<Vec<u8>> {
    let o = bytes(enc, b"O");
    let u = bytes(enc, b"U");
    if o.len() < 32 || u.len() < 32 {
        return None;
    }
    let n = if r == 2 {
        5
    } else {
        (enc.int(b"Length").unwrap_or(40).clamp(40, 128) / 8) as usize
    };
    let p = enc.int(b"P").unwrap_or(0) as i32;
    let user_key = |upw: &[u8]| -> Option<Vec<u8>> {
        let mut h = Md5::new();
        h.update(padded(upw));
        h.update(&o[..32]);
        h.update(p.to_le_bytes());
        h.update(id0);
        if r >= 4 && !encrypt_metadata {
            h.update([0xff; 4]);
        }
        let mut d = h.finalize().to_vec();
        if r >= 3 {
            for _ in 0..50 {
                d = Md5::digest(&d[..n]).to_vec();
            }
        }
        let key = d[..n].to_vec();
        let ok = if r == 2 {
            rc4(&key, &PAD) == u[..32]
        } else {
            let mut h = Md5::new();
            h.update(PAD);
            h.update(id0);
            let mut x = rc4(&key, &h.finalize());
            for i in 1..=19u8 {
                let k: Vec<u8> = key.iter().map(|b| b ^ i).collect();
                x = rc4(&k, &x);
            }
            x[..16] == u[..16]
        };
        ok.then_some(key)
    };
    if let Some(k) = user_key(pw) {
        return Some(k);
    }
    // As the owner password: recover the user password from /O.
    let mut d = Md5::digest(padded(pw)).to_vec();
    if r >= 3 {
        for _ in 0..50 {
            d = Md5::digest(&d).to_vec();
        }
    }
    let okey = &d[..n];
    let user_pw = if r == 2 {
        rc4(okey, &o[..32])
    } else {
        let mut x = o[..32].to_vec();
        for i in (0..=19u8).rev() {
            let k: Vec<u8> = okey.iter().map(|b| b ^ i).collect();
            x = rc4(&k, &x);
        }
        x
    };
    user_key(&user_pw)
}

/// Algorithm 2.B (R6) or plain SHA-256 (R5).
fn hash_r6(r: i64, pw: &[u8], salt: &[u8], udata: &[u8]) -> Vec<u8> {
    let mut k = Sha256::new()
        .chain_update(pw)
        .chain_update(salt)
        .chain_update(udata)
        .finalize()
        .to_vec();
    if r == 5 {
        return k;
    }
    let mut i = 0u32;
    loop {
        let mut k1 = Vec::with_capacity(64 * (pw.len() + k.len() + udata.len()));
        for _ in 0..64 {
            k1.extend_from_slice(pw);
            k1.extend_from_slice(&k);
            k1.extend_from_slice(udata);
        }
        let e = cbc_encrypt_nopad(&k[..16], &k[16..32], &k1);
        let m = e[..16].iter().map(|b| u32::from(*b)).sum::<u32>() % 3;
        k = match m {
            0 => Sha256::digest(&e).to_vec(),
            1 => Sha384::digest(&e).to_vec(),
            _ => Sha512::digest(&e).to_vec(),
        };
        i += 1;
        if i >= 64 && u32::from(*e.last().unwrap_or(&0)) <= i - 32 {
            break;
        }
    }
    k.truncate(32);
    k
}

fn key_r6(enc: &Dict, r: i64, pw: &[u8]) -> Option<Vec<u8>> {
    let o = bytes(enc, b"O");
    let u = bytes(enc, b"U");
    let oe = bytes(enc, b"OE");
    let ue = bytes(enc, b"UE");
    if o.len() < 48 || u.len() < 48 || oe.len() != 32 || ue.len() != 32 {
        return None;
    }
    let pw = &pw[..pw.len().min(127)];
    if hash_r6(r, pw, &u[32..40], &[]) == u[..32] {
        let k = hash_r6(r, pw, &u[40..48], &[]);
        return cbc_decrypt(&k, &[0u8; 16], &ue, false);
    }
    if hash_r6(r, pw, &o[32..40], &u[..48]) == o[..32] {
        let k = hash_r6(r, pw, &o[40..48], &u[..48]);
        return cbc_decrypt(&k, &[0u8; 16], &oe, false);
    }
    None
}

fn rc4(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut s: [u8; 256] = std::array::from_fn(|i| i as u8);
    let mut j = 0u8;
    for i in 0..256 {
        j = j.wrapping_add(s[i]).wrapping_add(key[i % key.len().max(1)]);
        s.swap(i, j as usize);
    }
    let (mut i, mut j) = (0u8, 0u8);
    data.iter()
        .map(|b| {
            i = i.wrapping_add(1);
            j = j.wrapping_add(s[i as usize]);
            s.swap(i as usize, j as usize);
            b ^ s[(s[i as usize].wrapping_add(s[j as usize])) as usize]
        })
        .collect()
}

enum Aes {
    A128(Box<aes::Aes128>),
    A256(Box<aes::Aes256>),
}

#[allow(deprecated)] // see the import above
impl Aes {
    fn new(key: &[u8]) -> Option<Self> {
        match key.len() {
            16 => aes::Aes128::new_from_slice(key)
                .ok()
                .map(|c| Aes::A128(Box::new(c))),
            32 => aes::Aes256::new_from_slice(key)
                .ok()
                .map(|c| Aes::A256(Box::new(c))),
            _ => None,
        }
    }
    fn enc(&self, b: &mut [u8]) {
        let b = GenericArray::from_mut_slice(b);
        match self {
            Aes::A128(c) => c.encrypt_block(b),
            Aes::A256(c) => c.encrypt_block(b),
        }
    }
    fn dec(&self, b: &mut [u8]) {
        let b = GenericArray::from_mut_slice(b);
        match self {
            Aes::A128(c) => c.decrypt_block(b),
            Aes::A256(c) => c.decrypt_block(b),
        }
    }
}

fn cbc_encrypt_nopad(key: &[u8], iv: &[u8], data: &[u8]) -> Vec<u8> {
    let Some(c) = Aes::new(key) else {
        return Vec::new();
    };
    let mut prev = iv.to_vec();
    let mut out = Vec::with_capacity(data.len());
    for block in data.chunks(16) {
        let mut b: Vec<u8> = block.iter().zip(&prev).map(|(x, y)| x ^ y).collect();
        b.resize(16, 0);
        c.enc(&mut b);
        out.extend_from_slice(&b);
        prev = b;
    }
    out
}

fn cbc_encrypt(key: &[u8], iv: &[u8], data: &[u8]) -> Vec<u8> {
    let pad = 16 - data.len() % 16;
    let mut d = data.to_vec();
    d.extend(std::iter::repeat_n(pad as u8, pad));
    cbc_encrypt_nopad(key, iv, &d)
}

fn cbc_decrypt(key: &[u8], iv: &[u8], data: &[u8], unpad: bool) -> Option<Vec<u8>> {
    let c = Aes::new(key)?;
    if !data.len().is_multiple_of(16) {
        return None;
    }
    let mut prev = iv.to_vec();
    let mut out = Vec::with_capacity(data.len());
    for block in data.chunks(16) {
        let mut b = block.to_vec();
        c.dec(&mut b);
        out.extend(b.iter().zip(&prev).map(|(x, y)| x ^ y));
        prev = block.to_vec();
    }
    if unpad {
        let p = *out.last()? as usize;
        if p == 0 || p > 16 || p > out.len() {
            return None;
        }
        out.truncate(out.len() - p);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rc4_known_answer() {
        // RFC 6229-style check: "Key" / "Plaintext" from the classic test vector.
        assert_eq!(hex::encode(rc4(b"Key", b"Plaintext")), "bbf316e8d940af0ad3");
    }

    #[test]
    fn aes_cbc_round_trip() {
        let key = [7u8; 32];
        let iv = [9u8; 16];
        let ct = cbc_encrypt(&key, &iv, b"seal me");
        assert_eq!(cbc_decrypt(&key, &iv, &ct, true).unwrap(), b"seal me");
    }
}
