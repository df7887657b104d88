//! Fuzz target: PKCS#10 parsing and proof-of-possession check.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = sealpki_pki::VerifiedCsr::parse(data);
});
