//! Fuzz target: RFC 3161 request parsing (what the public TSA reads), and token verification.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = sealpki_pki::tsa::parse_request(data);
    let _ = sealpki_pki::tsa::verify_token(data, Some(b"data"), &[], &[]);
});
