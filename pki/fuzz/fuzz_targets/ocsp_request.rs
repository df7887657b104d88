//! Fuzz target: OCSP request parsing (what the public responder reads).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = sealpki_pki::revocation::parse_ocsp_request(data);
});
