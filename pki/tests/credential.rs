//! Credentials checked by an independent COSE implementation (tests/credential_pycose.py: pycose,
//! cbor2, cryptography): pycose verifies an ES256 credential we issue and reads its claims, and we
//! verify one pycose made with its own key and x5chain — accepted under its root, refused under
//! another root of the same name.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use sealpki_pki::credential::{self, Body, Claims, Kind, SealState, SealStatus, VerifyOptions};
use sealpki_pki::der::{Decode, Encode};
use sealpki_pki::keys::software::{SoftKey, SoftSigner};
use sealpki_pki::x509_cert::Certificate;
use sealpki_pki::{CertRequest, Issuer, KeyAlgorithm, Profiles, SignatureScheme, Signer};

const PROFILES: &str = r#"
[root-ca]
description = "test root"
ca = true
max_validity_days = 30
key_algorithms = ["p256"]
key_usage = ["keyCertSign", "cRLSign"]
subject_required = ["CN"]
subject_allowed = ["CN", "O", "C"]
crl_distribution = false
ocsp = false
requestable = "ceremony-only"

[seal-status-signer]
description = "test: signs seal status assertions"
max_validity_days = 30
key_algorithms = ["p256"]
key_usage = ["digitalSignature"]
extended_key_usage = ["sealpkiSealStatus"]
subject_required = ["CN"]
subject_allowed = ["CN", "O", "C"]
"#;

/// The venv the test script makes, else `python3` on PATH (the script puts the venv first).
fn python() -> PathBuf {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python3");
    if venv.exists() {
        venv
    } else {
        PathBuf::from("python3")
    }
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/credential_pycose.py")
}

/// Whether pycose is there; without it the test is skipped unless tools are required.
fn have_pycose() -> bool {
    let ok = Command::new(python())
        .args(["-c", "import pycose, cbor2, cryptography"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("SEALPKI_REQUIRE_TOOLS").as_deref() != Ok("1"),
            "SEALPKI_REQUIRE_TOOLS=1 but {} cannot import pycose, cbor2, cryptography",
            python().display()
        );
        eprintln!("skipped: pycose, cbor2 or cryptography missing (pip install pycose 'cbor2<6')");
    }
    ok
}

fn run(args: &[&std::ffi::OsStr]) -> String {
    let out = Command::new(python())
        .arg(script())
        .args(args)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "credential_pycose.py {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

fn key(name: &str) -> Arc<dyn Signer> {
    Arc::new(SoftSigner::from_key(name, SoftKey::generate(KeyAlgorithm::P256).unwrap()).unwrap())
}

#[test]
fn pycose_verifies_ours() {
    if !have_pycose() {
        return;
    }
    let profiles = Profiles::parse(PROFILES).unwrap();
    let now = SystemTime::now();
    let root = Issuer::create_root(
        "service",
        key("root"),
        SignatureScheme::EcdsaSha256,
        sealpki_pki::name::parse_dn("CN=credential test root,C=CN").unwrap(),
        30,
        profiles.get("root-ca").unwrap(),
        now,
    )
    .unwrap();
    let signer = key("status");
    let req = CertRequest::for_own_key(
        signer.as_ref(),
        sealpki_pki::name::parse_dn("CN=status signer,C=CN").unwrap(),
    );
    let token = root
        .prepare(profiles.get("seal-status-signer").unwrap(), &req, now)
        .unwrap();
    let leaf = root.issue(token).unwrap().der;

    let t = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let status = SealStatus {
        seal_code: "3101150012345".into(),
        seal_name: "上海某某有限公司合同专用章".into(),
        state: SealState::Superseded,
        cert_serial: vec![0x5e, 0xa1],
        cert_sha256: [0xab; 32],
        issued_at: t - 1000,
        changed_at: t - 10,
        valid_until: t + 100_000,
        checked_at: t,
    };
    let claims = Claims::new(
        "sealpki",
        "seal:3101150012345",
        t,
        300,
        Body::SealStatus(status),
    )
    .unwrap();
    let bytes = credential::issue(&claims, signer.as_ref(), std::slice::from_ref(&leaf)).unwrap();
    // Our own verifier agrees before the other one is asked.
    let anchors = [root.certificate().clone()];
    let r = credential::verify(&bytes, &anchors, now, &VerifyOptions::default());
    assert!(r.is_valid(), "{:?}", r.reasons);

    let dir = tempfile::tempdir().unwrap();
    let cred = dir.path().join("cred.cbor");
    let root_der = dir.path().join("root.der");
    std::fs::write(&cred, &bytes).unwrap();
    std::fs::write(&root_der, root.certificate().to_der().unwrap()).unwrap();
    let out = run(&["verify".as_ref(), cred.as_os_str(), root_der.as_os_str()]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["iss"], "sealpki");
    assert_eq!(v["sub"], "seal:3101150012345");
    assert_eq!(v["iat"], t);
    assert_eq!(v["nbf"], t);
    assert_eq!(v["exp"], t + 300);
    assert_eq!(v["cti"], hex(&claims.cti));
    assert_eq!(v["seal_code"], "3101150012345");
    assert_eq!(v["seal_name"], "上海某某有限公司合同专用章");
    assert_eq!(v["state"], "superseded");
    assert_eq!(v["cert_serial"], "5ea1");
    assert_eq!(v["cert_sha256"], hex(&[0xab; 32]));
    assert_eq!(v["issued_at"], t - 1000);
    assert_eq!(v["changed_at"], t - 10);
    assert_eq!(v["valid_until"], t + 100_000);
    assert_eq!(v["checked_at"], t);
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn we_verify_pycose() {
    if !have_pycose() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    run(&["make".as_ref(), dir.path().as_os_str()]);
    let read = |n: &str| std::fs::read(dir.path().join(n)).unwrap();
    let bytes = read("cred.cbor");
    let root = Certificate::from_der(&read("root.der")).unwrap();
    let other = Certificate::from_der(&read("other-root.der")).unwrap();
    let expect: serde_json::Value = serde_json::from_slice(&read("expect.json")).unwrap();
    let iat = expect["iat"].as_u64().unwrap();
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(iat + 10);

    let r = credential::verify(
        &bytes,
        &[root],
        at,
        &VerifyOptions::expect(Kind::SealStatus),
    );
    assert!(r.is_valid(), "{:?}", r.reasons);
    let claims = r.into_claims().unwrap();
    assert_eq!(claims.iss, "pycose-issuer");
    assert_eq!(claims.iat, iat);
    let s = claims.seal_status().unwrap();
    assert_eq!(s.state, SealState::Lost);
    assert_eq!(s.seal_code, expect["seal_code"].as_str().unwrap());
    assert_eq!(s.seal_name, expect["seal_name"].as_str().unwrap());
    assert_eq!(
        s.cert_sha256,
        core::array::from_fn::<u8, 32, _>(|i| i as u8)
    );

    let r = credential::verify(&bytes, &[other], at, &VerifyOptions::default());
    assert!(!r.is_valid());
    assert!(
        r.checks
            .iter()
            .any(|c| c.name == "chain" && c.state == credential::CheckState::Fail),
        "{:?}",
        r.checks
    );
    assert!(r.claims.is_none());
}
