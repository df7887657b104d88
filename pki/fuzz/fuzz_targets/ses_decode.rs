//! Fuzz target: decode any bytes as a GB/T 38540 seal or seal signature and verify what decodes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sealpki_pki::ses;

fuzz_target!(|data: &[u8]| {
    if let Ok(d) = ses::decode(data) {
        let _ = ses::verify::verify(
            &d,
            &ses::verify::VerifyInput {
                data: Some(b"data"),
                trust: &[],
                now: std::time::SystemTime::now(),
                revocation: None,
            },
        );
    }
});
