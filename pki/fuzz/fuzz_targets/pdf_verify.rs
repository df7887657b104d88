//! Fuzz target: open any bytes as a PDF, then read its pages, search text and verify every signature.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sealpki_pki::pdf::reader::Document;
use sealpki_pki::pdf::verify::{verify, VerifyOptions};

fuzz_target!(|data: &[u8]| {
    let Ok(doc) = Document::open(Box::new(data.to_vec()), None) else {
        return;
    };
    if let Ok(pages) = doc.pages() {
        for p in pages.iter().take(4) {
            let _ = sealpki_pki::pdf::text::find(&doc, p, "盖章处");
        }
    }
    let _ = verify(&doc, &VerifyOptions::default());
});
