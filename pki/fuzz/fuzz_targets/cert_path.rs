//! Fuzz target: certificates, CRLs and OCSP responses through the path validator. The input is split
//! at the first 0xFF 0x00 pair: the leaf before it, a trust anchor after it.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sealpki_pki::validate::{self, Options, Purpose, Request};

fuzz_target!(|data: &[u8]| {
    let (leaf, anchor) = match data.windows(2).position(|w| w == [0xFF, 0x00]) {
        Some(i) => (&data[..i], &data[i + 2..]),
        None => (data, data),
    };
    let trust = vec![anchor.to_vec()];
    let crls = vec![anchor.to_vec()];
    let ocsp = vec![leaf.to_vec()];
    let _ = validate::check(&Request {
        leaf,
        trust: &trust,
        untrusted: &trust,
        crls: &crls,
        ocsp: &ocsp,
        options: Options::new(Purpose::DocumentSigning, std::time::SystemTime::now()),
    });
    let _ = validate::revocation::Crl::from_der(data);
});
