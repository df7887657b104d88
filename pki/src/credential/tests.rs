//! Unit tests of credentials: round trips with ES256 and SM2, and each way a credential is refused.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use ciborium::Value;
use coset::{iana, CborSerializable, CoseSign1, Label, TaggedCborSerializable};

use super::*;
use crate::report::CheckState;
use crate::testpki::TestRoot;
use crate::{KeyAlgorithm, Profiles};

const PROFILE: &str = r#"
[seal-status-signer]
description = "test: signs seal status assertions"
max_validity_days = 30
key_algorithms = ["p256", "sm2"]
key_usage = ["digitalSignature"]
extended_key_usage = ["sealpkiSealStatus"]
subject_required = ["CN"]
subject_allowed = ["CN", "O", "C"]
"#;

struct Fixture {
    root: TestRoot,
    key: Arc<dyn Signer>,
    leaf: Vec<u8>,
}

fn fixture(alg: KeyAlgorithm) -> Fixture {
    let root = TestRoot::new(alg, "service");
    let profiles = Profiles::parse(PROFILE).unwrap();
    let (key, leaf, _) = root.issue_with(profiles.get("seal-status-signer").unwrap(), "status");
    Fixture { root, key, leaf }
}

fn now() -> u64 {
    crate::report::unix(SystemTime::now())
}

fn at(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
}

fn status_claims(nbf: u64) -> Claims {
    let s = SealStatus {
        seal_code: "3101150012345".into(),
        seal_name: "上海某某有限公司合同专用章".into(),
        state: SealState::Active,
        cert_serial: vec![0x01, 0x23, 0x45],
        cert_sha256: [7; 32],
        issued_at: nbf - 86_400,
        changed_at: nbf - 86_400,
        valid_until: nbf + 365 * 86_400,
        checked_at: nbf,
    };
    Claims::new(
        "https://sealpki.example/status",
        "seal:3101150012345",
        nbf,
        600,
        Body::SealStatus(s),
    )
    .unwrap()
}

impl Fixture {
    fn issue(&self, c: &Claims) -> Vec<u8> {
        issue(c, self.key.as_ref(), std::slice::from_ref(&self.leaf)).unwrap()
    }

    fn verify(&self, bytes: &[u8], t: u64) -> Report {
        verify(
            bytes,
            &[self.root.cert().clone()],
            at(t),
            &VerifyOptions::default(),
        )
    }
}

fn assert_refused(r: &Report, check: &str, want: impl Fn(&CredentialError) -> bool) {
    assert!(!r.is_valid(), "{:?}", r.checks);
    assert!(r.claims.is_none());
    assert!(
        r.checks
            .iter()
            .any(|c| c.name == check && c.state == CheckState::Fail),
        "no failed {check} check in {:?}",
        r.checks
    );
    let e = r.error.as_ref().expect("an error");
    assert!(want(e), "unexpected error {e:?}");
}

#[test]
fn round_trip_es256_and_sm2() {
    for alg in [KeyAlgorithm::P256, KeyAlgorithm::Sm2] {
        let f = fixture(alg);
        let t = now();
        let c = status_claims(t);
        let bytes = f.issue(&c);
        assert_eq!(bytes[0], 0xd2, "tag 18 first");
        let r = f.verify(&bytes, t + 1);
        assert!(r.is_valid(), "{alg}: {:?}", r.reasons);
        assert_eq!(r.algorithm, Some(Algorithm::for_key(alg).unwrap()), "{alg}");
        let names: Vec<_> = r.checks.iter().map(|c| c.name).collect();
        assert_eq!(
            names,
            [
                "structure",
                "headers",
                "algorithm",
                "signature",
                "claims",
                "chain",
                "issuer",
                "validity"
            ]
        );
        let back = r.into_claims().unwrap();
        assert_eq!(back, c);
        assert_eq!(back.cti.len(), CTI_LEN);
        assert_eq!(back.seal_status().unwrap().state, SealState::Active);

        // The whole chain (an array in x5chain) verifies the same way.
        let chain = [f.leaf.clone(), der::Encode::to_der(f.root.cert()).unwrap()];
        let bytes = issue(&c, f.key.as_ref(), &chain).unwrap();
        assert!(f.verify(&bytes, t + 1).is_valid());
    }
}

#[test]
fn sm2_signature_uses_the_gmt_0009_id() {
    let f = fixture(KeyAlgorithm::Sm2);
    let bytes = f.issue(&status_claims(now()));
    let s = CoseSign1::from_tagged_slice(&bytes).unwrap();
    assert_eq!(
        s.protected.header.alg,
        Some(coset::Algorithm::PrivateUse(ALG_SM2_SM3))
    );
    let tbs = s.tbs_data(&[]);
    let spki = f.key.public_key();
    let raw = spki.subject_public_key.as_bytes().unwrap();
    let vk = sm2::dsa::VerifyingKey::from_sec1_bytes(crate::alg::SM2_DISTID, raw).unwrap();
    let sig = sm2::dsa::Signature::try_from(s.signature.as_slice()).unwrap();
    signature::Verifier::verify(&vk, &tbs, &sig).unwrap();
}

#[test]
fn tampered_payload_is_refused() {
    let f = fixture(KeyAlgorithm::P256);
    let t = now();
    let bytes = f.issue(&status_claims(t));
    let mut s = CoseSign1::from_tagged_slice(&bytes).unwrap();
    let mut other = status_claims(t);
    if let Body::SealStatus(st) = &mut other.body {
        st.state = SealState::Revoked;
    }
    s.payload = Some(other.to_claims_set().unwrap().to_vec().unwrap());
    let forged = s.to_tagged_vec().unwrap();
    assert_refused(&f.verify(&forged, t), "signature", |e| {
        matches!(e, CredentialError::BadSignature(_))
    });

    // A flipped signature byte, too.
    let mut s = CoseSign1::from_tagged_slice(&bytes).unwrap();
    s.signature[10] ^= 1;
    assert_refused(
        &f.verify(&s.to_tagged_vec().unwrap(), t),
        "signature",
        |e| matches!(e, CredentialError::BadSignature(_)),
    );
}

#[test]
fn wrong_anchor_is_refused() {
    let f = fixture(KeyAlgorithm::P256);
    let t = now();
    let bytes = f.issue(&status_claims(t));
    let other = TestRoot::new(KeyAlgorithm::P256, "other");
    let r = verify(
        &bytes,
        &[other.cert().clone()],
        at(t),
        &VerifyOptions::default(),
    );
    assert_refused(&r, "chain", |e| matches!(e, CredentialError::Untrusted(_)));
    let r = verify(&bytes, &[], at(t), &VerifyOptions::default());
    assert_refused(&r, "chain", |e| matches!(e, CredentialError::Untrusted(_)));
}

#[test]
fn validity_window() {
    let f = fixture(KeyAlgorithm::P256);
    let t = now();
    let bytes = f.issue(&status_claims(t));
    // exp is the first second it no longer counts.
    assert!(f.verify(&bytes, t + 599).is_valid());
    assert_refused(
        &f.verify(&bytes, t + 600),
        "validity",
        |e| matches!(e, CredentialError::Expired { exp, .. } if *exp == t + 600),
    );
    let opts = VerifyOptions {
        leeway_secs: 60,
        ..Default::default()
    };
    let r = verify(&bytes, &[f.root.cert().clone()], at(t + 630), &opts);
    assert!(r.is_valid(), "{:?}", r.reasons);

    let mut c = status_claims(t);
    c.nbf = t + 3600;
    c.exp = t + 7200;
    let bytes = f.issue(&c);
    assert_refused(&f.verify(&bytes, t + 10), "validity", |e| {
        matches!(e, CredentialError::NotYetValid { .. })
    });
    assert!(f.verify(&bytes, t + 3600).is_valid());

    // Issued after the verification time.
    let bytes = f.issue(&status_claims(t));
    assert_refused(&f.verify(&bytes, t - 5), "validity", |e| {
        matches!(e, CredentialError::IssuedInFuture { .. })
    });
}

#[test]
fn chain_is_evaluated_at_iat() {
    let f = fixture(KeyAlgorithm::P256);
    let t = now();
    // Before the signer's certificate existed: the path fails, whatever the verification time.
    let c = status_claims(t - 10 * 86_400);
    let bytes = f.issue(&c);
    let r = f.verify(&bytes, t - 10 * 86_400 + 1);
    assert_refused(&r, "chain", |e| matches!(e, CredentialError::Untrusted(_)));
}

#[test]
fn unknown_or_disallowed_algorithm_is_refused() {
    let f = fixture(KeyAlgorithm::P256);
    let t = now();
    let bytes = f.issue(&status_claims(t));
    let mut s = CoseSign1::from_tagged_slice(&bytes).unwrap();
    s.protected.original_data = None;
    s.protected.header.alg = Some(coset::Algorithm::Assigned(iana::Algorithm::ES384));
    assert_refused(
        &f.verify(&s.clone().to_tagged_vec().unwrap(), t),
        "headers",
        |e| matches!(e, CredentialError::UnknownAlgorithm(_)),
    );
    // Our SM2 id over a P-256 key.
    s.protected.header.alg = Some(coset::Algorithm::PrivateUse(ALG_SM2_SM3));
    assert_refused(
        &f.verify(&s.to_tagged_vec().unwrap(), t),
        "algorithm",
        |e| matches!(e, CredentialError::UnknownAlgorithm(_)),
    );

    let g = fixture(KeyAlgorithm::Sm2);
    let bytes = g.issue(&status_claims(t));
    let opts = VerifyOptions {
        algorithms: vec![Algorithm::Es256],
        ..Default::default()
    };
    let r = verify(&bytes, &[g.root.cert().clone()], at(t), &opts);
    assert_refused(&r, "algorithm", |e| {
        matches!(e, CredentialError::AlgorithmNotAllowed(Algorithm::Sm2Sm3))
    });
}

#[test]
fn malformed_input_is_refused() {
    let f = fixture(KeyAlgorithm::P256);
    let t = now();
    let bytes = f.issue(&status_claims(t));
    let structure = |e: &CredentialError| matches!(e, CredentialError::Malformed(_));
    for cut in [1, 10, bytes.len() / 2, bytes.len() - 1] {
        assert_refused(&f.verify(&bytes[..cut], t), "structure", structure);
    }
    assert_refused(&f.verify(&[], t), "structure", structure);
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert_refused(&f.verify(&trailing, t), "structure", structure);
    // Without tag 18.
    assert_refused(&f.verify(&bytes[1..], t), "structure", structure);
    // Deep nesting is cut off, not recursed into.
    let mut deep = vec![0xd2];
    deep.extend(std::iter::repeat_n(0x81, 100_000));
    deep.push(0);
    let r = f.verify(&deep[..MAX_CREDENTIAL], t);
    assert_refused(&r, "structure", structure);
    // And inside the protected header, before coset reads it with its own, looser limit.
    let mut p = vec![0x81; 200];
    p.push(0);
    let msg = Value::Tag(
        18,
        Box::new(Value::Array(vec![
            Value::Bytes(p),
            Value::Map(vec![]),
            Value::Bytes(vec![0xa0]),
            Value::Bytes(vec![0; 64]),
        ])),
    );
    let mut out = Vec::new();
    ciborium::ser::into_writer(&msg, &mut out).unwrap();
    assert_refused(&f.verify(&out, t), "structure", structure);
    let big = vec![0u8; MAX_CREDENTIAL + 1];
    assert_refused(&f.verify(&big, t), "size", |e| {
        matches!(e, CredentialError::TooLarge { .. })
    });
    // CWT tag 61 around the COSE tag is accepted.
    let mut wrapped = vec![0xd8, 0x3d];
    wrapped.extend_from_slice(&bytes);
    assert!(f.verify(&wrapped, t).is_valid());
}

#[test]
fn headers_are_strict() {
    let f = fixture(KeyAlgorithm::P256);
    let t = now();
    let bytes = f.issue(&status_claims(t));
    let header = |e: &CredentialError| matches!(e, CredentialError::Header(_));
    // x5chain repeated in the unprotected header.
    let mut s = CoseSign1::from_tagged_slice(&bytes).unwrap();
    s.unprotected
        .rest
        .push((Label::Int(X5CHAIN), Value::Bytes(f.leaf.clone())));
    assert_refused(&f.verify(&s.to_tagged_vec().unwrap(), t), "headers", header);
    // A critical header we do not know.
    let mut s = CoseSign1::from_tagged_slice(&bytes).unwrap();
    s.protected.original_data = None;
    s.protected
        .header
        .crit
        .push(coset::RegisteredLabelWithPrivate::PrivateUse(-70_000));
    assert_refused(&f.verify(&s.to_tagged_vec().unwrap(), t), "headers", header);
    // No x5chain.
    let mut s = CoseSign1::from_tagged_slice(&bytes).unwrap();
    s.protected.original_data = None;
    s.protected.header.rest.clear();
    assert_refused(&f.verify(&s.to_tagged_vec().unwrap(), t), "headers", header);
    // An x5chain that is not a certificate.
    let mut s = CoseSign1::from_tagged_slice(&bytes).unwrap();
    s.protected.original_data = None;
    s.protected.header.rest = vec![(Label::Int(X5CHAIN), Value::Bytes(vec![0x30, 0]))];
    assert_refused(&f.verify(&s.to_tagged_vec().unwrap(), t), "headers", |e| {
        matches!(e, CredentialError::Certificate(_))
    });
}

#[test]
fn signer_needs_the_kind_usage() {
    // A maker-production certificate (no extendedKeyUsage) from the right anchor may not say
    // what state a seal is in.
    let root = TestRoot::new(KeyAlgorithm::P256, "service");
    let (key, leaf, _) = root.issue("maker-production", "maker");
    let t = now();
    let bytes = issue(&status_claims(t), key.as_ref(), &[leaf]).unwrap();
    let r = verify(
        &bytes,
        &[root.cert().clone()],
        at(t),
        &VerifyOptions::default(),
    );
    assert_refused(&r, "issuer", |e| {
        matches!(e, CredentialError::NotAuthorized(_))
    });
    assert!(r
        .checks
        .iter()
        .any(|c| c.name == "chain" && c.state == CheckState::Pass));
}

#[test]
fn expected_kind_and_generic_claims() {
    let root = TestRoot::new(KeyAlgorithm::P256, "maker");
    let (key, leaf, _) = root.issue("maker-production", "maker");
    let t = now();
    let claims = BTreeMap::from([
        (1, Value::Text("3101150012345".into())),
        (2, Value::Text("某某单位".into())),
        (3, Value::Integer(t.into())),
    ]);
    let body = Body::Other {
        kind: Kind::DeliveryRecord,
        claims: claims.clone(),
    };
    let c = Claims::new("maker:310115000001", "seal:3101150012345", t, 3600, body).unwrap();
    let bytes = issue(&c, key.as_ref(), std::slice::from_ref(&leaf)).unwrap();
    let anchors = [root.cert().clone()];
    let r = verify(
        &bytes,
        &anchors,
        at(t),
        &VerifyOptions::expect(Kind::DeliveryRecord),
    );
    assert!(r.is_valid(), "{:?}", r.reasons);
    assert_eq!(r.kind, Some(Kind::DeliveryRecord));
    assert_eq!(r.into_claims().unwrap(), c);

    let r = verify(
        &bytes,
        &anchors,
        at(t),
        &VerifyOptions::expect(Kind::SealStatus),
    );
    assert_refused(&r, "kind", |e| {
        matches!(
            e,
            CredentialError::WrongKind {
                expected: Kind::SealStatus,
                found: Kind::DeliveryRecord
            }
        )
    });

    // The registry is held to on the way out: a missing claim, a wrong type, an unknown key.
    for bad in [
        BTreeMap::from([(1, Value::Text("x".into()))]),
        BTreeMap::from([
            (1, Value::Text("x".into())),
            (2, Value::Integer(5.into())),
            (3, Value::Integer(t.into())),
        ]),
        {
            let mut m = claims.clone();
            m.insert(40, Value::Bool(true));
            m
        },
    ] {
        let c = Claims::new(
            "m",
            "s",
            t,
            60,
            Body::Other {
                kind: Kind::DeliveryRecord,
                claims: bad,
            },
        )
        .unwrap();
        let e = issue(&c, key.as_ref(), std::slice::from_ref(&leaf)).unwrap_err();
        assert!(matches!(e, CredentialError::Claims(_)), "{e}");
    }
}

#[test]
fn issue_checks_its_inputs() {
    let f = fixture(KeyAlgorithm::P256);
    let g = fixture(KeyAlgorithm::P256);
    let c = status_claims(now());
    let e = issue(&c, f.key.as_ref(), &[]).unwrap_err();
    assert!(matches!(e, CredentialError::Certificate(_)), "{e}");
    let e = issue(&c, f.key.as_ref(), std::slice::from_ref(&g.leaf)).unwrap_err();
    assert!(matches!(e, CredentialError::Certificate(_)), "{e}");
    let mut never = c.clone();
    never.exp = never.nbf;
    let e = issue(&never, f.key.as_ref(), std::slice::from_ref(&f.leaf)).unwrap_err();
    assert!(matches!(e, CredentialError::Claims(_)), "{e}");
}

#[test]
fn qr_form_round_trip() {
    for alg in [KeyAlgorithm::P256, KeyAlgorithm::Sm2] {
        let f = fixture(alg);
        let t = now();
        let bytes = f.issue(&status_claims(t));
        let text = qr::encode(&bytes);
        assert!(text.starts_with("SP1:"));
        // A version-40 QR code at error correction M holds 3,391 alphanumeric characters.
        assert!(text.len() < 3391, "{alg}: {} characters", text.len());
        let back = qr::decode(&text).unwrap();
        assert_eq!(back, bytes);
        assert!(f.verify(&back, t).is_valid());
    }
}

#[test]
fn revocation_handles_follow_the_registry() {
    let t = now();
    assert_eq!(status_claims(t).revocation(), RevocationCheck::None);
    let body = Body::Other {
        kind: Kind::StampingCredential,
        claims: BTreeMap::from([
            (1, Value::Text("APP-1".into())),
            (2, Value::Text("CTL-0001".into())),
            (3, Value::Text("3101150012345".into())),
            (4, Value::Integer(20.into())),
            (kind::STATUS_INDEX_CLAIM, Value::Integer(4711.into())),
        ]),
    };
    let c = Claims::new("platform", "app:APP-1", t, 60, body).unwrap();
    assert_eq!(
        c.revocation(),
        RevocationCheck::StatusList {
            iss: "platform".into(),
            index: 4711
        }
    );
}

#[test]
fn a_credential_does_not_outlive_its_signer() {
    let f = fixture(KeyAlgorithm::P256);
    let t = now();
    let mut c = status_claims(t);
    c.exp = t + 365 * 86_400;
    let e = issue(&c, f.key.as_ref(), std::slice::from_ref(&f.leaf)).unwrap_err();
    assert!(matches!(e, CredentialError::Claims(_)), "{e}");
    // Made by another writer anyway: refused on the way in.
    let bytes = f.issue(&status_claims(t));
    let mut s = CoseSign1::from_tagged_slice(&bytes).unwrap();
    s.payload = Some(c.to_claims_set().unwrap().to_vec().unwrap());
    let s = coset::CoseSign1Builder::new()
        .protected(s.protected.header)
        .payload(s.payload.unwrap())
        .create_signature(&[], |tbs| {
            let der = f
                .key
                .sign(crate::SignatureScheme::EcdsaSha256, tbs)
                .unwrap();
            crate::alg::der_to_raw_rs(&der, 32).unwrap()
        })
        .build();
    let r = f.verify(&s.to_tagged_vec().unwrap(), t);
    assert_refused(&r, "lifetime", |e| matches!(e, CredentialError::Claims(_)));
}

#[test]
fn an_unregistered_algorithm_is_named_as_such() {
    let f = fixture(KeyAlgorithm::P256);
    let t = now();
    let bytes = f.issue(&status_claims(t));
    let s = CoseSign1::from_tagged_slice(&bytes).unwrap();
    // A protected header {1: -300, 33: leaf} written by hand: coset would not write -300.
    let mut p = Vec::new();
    ciborium::ser::into_writer(
        &Value::Map(vec![
            (Value::Integer(1.into()), Value::Integer((-300).into())),
            (Value::Integer(33.into()), Value::Bytes(f.leaf.clone())),
        ]),
        &mut p,
    )
    .unwrap();
    let msg = Value::Tag(
        18,
        Box::new(Value::Array(vec![
            Value::Bytes(p),
            Value::Map(vec![]),
            Value::Bytes(s.payload.unwrap()),
            Value::Bytes(s.signature),
        ])),
    );
    let mut out = Vec::new();
    ciborium::ser::into_writer(&msg, &mut out).unwrap();
    assert_refused(&f.verify(&out, t), "headers", |e| {
        matches!(e, CredentialError::UnknownAlgorithm(_))
    });
}

#[test]
fn no_mutation_verifies_or_panics() {
    let f = fixture(KeyAlgorithm::P256);
    let t = now();
    let bytes = f.issue(&status_claims(t));
    for i in 0..bytes.len() {
        for bit in [0x01, 0x80] {
            let mut m = bytes.clone();
            m[i] ^= bit;
            let r = f.verify(&m, t);
            assert!(!r.is_valid(), "byte {i} ^ {bit:#x} still verifies");
            assert!(r.error.is_some() && r.claims.is_none());
        }
        assert!(!f.verify(&bytes[..i], t).is_valid());
    }
}
