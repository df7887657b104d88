//! Fuzz target: CMS SignedData (a PDF signature's /Contents) parsed and checked.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = sealpki_pki::cades::verify_detached(data, &|_| Some(vec![0u8; 32]));
});
