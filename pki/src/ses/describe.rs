//! What a seal or seal signature holds, as JSON for `ses inspect` and `POST /api/v1/ses/inspect`
//! (no checks: those are `verify`'s).

use std::time::SystemTime;

use der::Decode;
use x509_cert::Certificate;

use super::{CertList, Decoded, Seal};

fn subject(der: &[u8]) -> String {
    Certificate::from_der(der)
        .map(|c| crate::name::display(&c.tbs_certificate.subject))
        .unwrap_or_else(|e| format!("(unreadable certificate: {e})"))
}

fn secs(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn seal_json(s: &Seal) -> serde_json::Value {
    let i = &s.info;
    serde_json::json!({
        "version": s.version.name(),
        "header": {"id": "ES", "version": i.header_version, "vid": i.vendor_id},
        "esID": i.es_id,
        "type": i.seal_type,
        "name": i.name,
        "certificates": match &i.certs {
            CertList::Certs(c) => c.iter().map(|d| serde_json::json!({"subject": subject(d), "sha256": crate::alg::sha256_hex(d)})).collect::<Vec<_>>(),
            CertList::Digests(d) => d.iter().map(|(t, v)| serde_json::json!({"digest": t, "value": hex::encode(v)})).collect(),
        },
        "create_date": secs(i.create_date),
        "valid_start": secs(i.valid_start),
        "valid_end": secs(i.valid_end),
        "picture": {"type": i.picture.kind, "bytes": i.picture.data.len(), "width_mm": i.picture.width_mm, "height_mm": i.picture.height_mm},
        "extensions": i.ext_datas.is_some(),
        "maker": subject(&s.maker_cert),
        "signature_algorithm": s.sig_alg.to_string(),
        "signature": hex::encode(&s.signature),
        "timestamp_bytes": s.timestamp.as_ref().map(Vec::len),
    })
}

/// The structure described, with the decoder's warnings.
pub fn describe(d: &Decoded, warnings: &[String]) -> serde_json::Value {
    match d {
        Decoded::Seal(s, _) => {
            serde_json::json!({"kind": "seal", "seal": seal_json(s), "warnings": warnings})
        }
        Decoded::Signature(s, _) => serde_json::json!({
            "kind": "signature",
            "version": s.version.name(),
            "tbs_version": s.tbs_version,
            "time": secs(s.time),
            "data_hash_sm3": hex::encode(&s.data_hash),
            "property_info": s.property_info,
            "signer": subject(&s.signer_cert),
            "signature_algorithm": s.sig_alg.to_string(),
            "signature": hex::encode(&s.signature),
            "timestamp_bytes": s.timestamp.as_ref().map(Vec::len),
            "seal": seal_json(&s.seal),
            "warnings": warnings,
        }),
    }
}
