//! Keys on a real PKCS#11 token (SoftHSM2, created by the harness): the CA hierarchy on the token,
//! non-extractable keys as `pkcs11-tool` sees them, wrong PIN and missing token, and recovery of the
//! session pool after the token drops every session.

mod common;
use common::*;
use std::process::Command;

use sealpki_pki::keys::pkcs11::{TokenConfig, TokenStore};
use sealpki_pki::{KeyAlgorithm, KeyStore, Secret};

/// The tokens every test here uses, made together before any test loads the module in this
/// process: SoftHSM reads its token directory at C_Initialize, so a token created after another
/// test initialised the library is invisible to this process's in-process checks.
fn token(hint: &str) -> String {
    static TOKENS: std::sync::OnceLock<Vec<(&'static str, String)>> = std::sync::OnceLock::new();
    let all = TOKENS.get_or_init(|| {
        ["ca", "pin", "loss"]
            .into_iter()
            .map(|h| (h, softhsm_token(h)))
            .collect()
    });
    all.iter()
        .find(|(h, _)| *h == hint)
        .map(|(_, l)| l.clone())
        .expect("a token hint listed in token()")
}

#[test]
fn hierarchy_on_softhsm_with_non_extractable_keys() {
    let Some(module) = softhsm_module() else {
        return;
    };
    let label = token("ca");
    let env = Env::new(EnvOptions {
        tokens: &[&label],
        ..Default::default()
    });
    // Everything on the token; an RSA-3072 root; the seal CA signing with RSA-PSS.
    let ceremony = include_str!("../fixtures/ceremony-dev.toml")
        .replace(
            "backend = \"software\"",
            &format!("backend = \"pkcs11:{label}\""),
        )
        .replace("[ca.root]\n", "[ca.root]\nalgorithm = \"rsa3072\"\n")
        .replace(
            "[ca.seal]\n",
            "[ca.seal]\nalgorithm = \"rsa3072\"\nscheme = \"rsa-pss-sha256\"\n",
        );
    env.init(&ceremony);
    let keys = ok(&env.sealpki(&["keys", "list"]), "keys list");
    assert_eq!(
        keys.matches("pkcs11:token=").count(),
        12,
        "5 CAs, TSA, audit, 5 OCSP responders:\n{keys}"
    );

    for (profile, subj, dns, ca) in [
        (
            "seal-signing",
            "/C=CN/O=Example Co/CN=Example Co Seal/organizationIdentifier=NTRCN-91330106MA2H2XXX1Q",
            &[][..],
            "seal",
        ),
        (
            "tls-server",
            "/CN=sign.example.com",
            &["sign.example.com"][..],
            "service",
        ),
        (
            "chip-seal",
            "/C=CN/O=Example Co/CN=Chip seal 1",
            &[][..],
            "maker",
        ),
    ] {
        let csr = openssl_csr(env.dir.path(), "p256", subj, dns);
        let leaf = env.path(&format!("{profile}.pem"));
        env.issue_to(profile, &csr, &leaf, &[]);
        let (chain, root) = env.chain(ca);
        ok(
            &openssl_verify(&root, &chain, &leaf, false),
            &format!("openssl verify {profile}"),
        );
        ok(
            &pkilint("lint_pkix_cert", &[], &leaf),
            &format!("pkilint {profile}"),
        );
    }

    // Certify a key generated on the token (no CSR); CA keys are never re-certified.
    let gen = ok(
        &env.sealpki(&[
            "keys",
            "generate",
            "--name",
            "app-key",
            "--backend",
            &format!("pkcs11:{label}"),
        ]),
        "keys generate",
    );
    let key_ref = gen.lines().next().unwrap().to_string();
    let leaf = env.path("stored-key.pem");
    ok(
        &env.sealpki(&[
            "cert",
            "issue",
            "--profile",
            "app-client",
            "--key",
            &key_ref,
            "--subject",
            "CN=token app,O=Example Co",
            "--out",
            leaf.to_str().unwrap(),
        ]),
        "issue for a stored key",
    );
    let (chain, root) = env.chain("service");
    ok(
        &openssl_verify(&root, &chain, &leaf, false),
        "openssl verify stored-key certificate",
    );
    let ca_key = format!("pkcs11:token={label};object=root-ca-g1");
    let out = env.sealpki(&[
        "cert",
        "issue",
        "--profile",
        "app-client",
        "--key",
        &ca_key,
        "--subject",
        "CN=evil,O=Example Co",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("reserved for ca:root"));

    // What the token itself says about the private keys.
    let listing = ok(
        &run(Command::new("pkcs11-tool")
            .arg("--module")
            .arg(&module)
            .args([
                "--token-label",
                &label,
                "--login",
                "--pin",
                PIN,
                "--list-objects",
                "--type",
                "privkey",
            ])),
        "pkcs11-tool --list-objects",
    );
    let blocks: Vec<&str> = listing.split("Private Key Object").skip(1).collect();
    assert_eq!(blocks.len(), 13, "{listing}");
    for b in &blocks {
        assert!(
            b.contains("sensitive") && b.contains("never extractable"),
            "key not protected:\n{b}"
        );
    }
    // Asking the token for the private exponent itself must be refused (CKR_ATTRIBUTE_SENSITIVE).
    let ctx = cryptoki::context::Pkcs11::new(&module).unwrap();
    let _ = ctx.initialize(cryptoki::context::CInitializeArgs::OsThreads);
    let slot = slot_of(&ctx, &label);
    let session = ctx.open_ro_session(slot).unwrap();
    session
        .login(
            cryptoki::session::UserType::User,
            Some(&cryptoki::types::AuthPin::new(PIN.into())),
        )
        .unwrap();
    use cryptoki::object::{Attribute, AttributeType, ObjectClass};
    let root_key = session
        .find_objects(&[
            Attribute::Class(ObjectClass::PRIVATE_KEY),
            Attribute::Label(b"root-ca-g1".to_vec()),
        ])
        .unwrap()[0];
    let got = session.get_attributes(
        root_key,
        &[AttributeType::PrivateExponent, AttributeType::Extractable],
    );
    match got {
        Err(e) => assert!(e.to_string().contains("ensitive"), "{e}"),
        Ok(attrs) => {
            assert!(
                !attrs
                    .iter()
                    .any(|a| matches!(a, Attribute::PrivateExponent(_))),
                "private exponent readable"
            );
            assert!(attrs
                .iter()
                .any(|a| matches!(a, Attribute::Extractable(false))));
        }
    }
    drop(session);
    std::mem::forget(ctx);

    // The benchmark command runs on this data (figures come from a release build; see docs).
    let bench = ok(
        &env.sealpki(&[
            "--json",
            "bench",
            "issue",
            "--count",
            "40",
            "--concurrency",
            "4",
        ]),
        "bench issue",
    );
    let v: serde_json::Value = serde_json::from_str(&bench).unwrap();
    assert_eq!(v["count"], 40);
    assert!(
        v["issued_per_second"].as_f64().unwrap() > 0.0
            && v["raw_signatures_per_second_1_thread"].as_f64().unwrap() > 0.0
    );

    // The server reports the token as ready.
    let srv = env.serve();
    let tok = srv.login();
    let (s, body) = get(&format!("{}/readyz", srv.url), Some(&tok));
    assert_eq!(s, 200, "{}", String::from_utf8_lossy(&body));
    assert!(String::from_utf8_lossy(&body).contains("keys:pkcs11"));
    drop(srv);
    ok(&env.sealpki(&["audit", "verify"]), "audit verify");
}

#[test]
fn wrong_pin_and_missing_token_are_named() {
    if softhsm_module().is_none() {
        return;
    }
    let label = token("pin");
    let env = Env::new(EnvOptions {
        tokens: &[&label],
        pin: "9999",
        ..Default::default()
    });
    let f = env.path("c.toml");
    std::fs::write(
        &f,
        include_str!("../fixtures/ceremony-dev.toml").replace(
            "backend = \"software\"",
            &format!("backend = \"pkcs11:{label}\""),
        ),
    )
    .unwrap();
    let out = env.sealpki(&["init", "--ceremony", f.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("wrong PIN for token \"{label}\"")),
        "{err}"
    );
    assert!(!err.contains("9999"), "the PIN never appears in messages");

    let env = Env::new(EnvOptions {
        tokens: &["no-such-token"],
        ..Default::default()
    });
    let out = env.sealpki(&["keys", "list"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no token labelled \"no-such-token\""), "{err}");
}

#[test]
fn session_pool_recovers_when_the_token_drops_every_session() {
    let Some(module) = softhsm_module() else {
        return;
    };
    let label = token("loss");
    let store = TokenStore::open(TokenConfig {
        module: module.clone(),
        label: label.clone(),
        pin: Some(Secret::new(PIN)),
        sessions: 2,
    })
    .expect("open token");
    let key = store.generate("k1", KeyAlgorithm::P256).unwrap();
    let scheme = KeyAlgorithm::P256.default_scheme();
    let sig = key.sign(scheme, b"before").unwrap();
    sealpki_pki::alg::verify(key.public_key(), scheme, b"before", &sig).unwrap();
    // Close every session of the slot behind the pool's back (as a token reset would).
    close_all_sessions(&module, &label);
    for i in 0..4 {
        let msg = format!("after {i}");
        let sig = key
            .sign(scheme, msg.as_bytes())
            .expect("signing recovers after session loss");
        sealpki_pki::alg::verify(key.public_key(), scheme, msg.as_bytes(), &sig).unwrap();
    }
    assert!(
        store.sessions_reopened() >= 1,
        "the pool noticed and reopened"
    );
    assert_eq!(store.list().unwrap().len(), 1);
    assert!(matches!(
        store.generate("k1", KeyAlgorithm::P256),
        Err(sealpki_pki::KeyError::Exists(_))
    ));
    assert!(matches!(
        store.generate("s", KeyAlgorithm::Sm2),
        Err(sealpki_pki::KeyError::Unsupported(..))
    ));
}

/// C_CloseAllSessions on the token's slot through a second handle on the same module (dlopen gives
/// the same library instance, so this reaches the sessions the pool holds).
fn close_all_sessions(module: &std::path::Path, label: &str) {
    let ctx = cryptoki::context::Pkcs11::new(module).unwrap();
    let _ = ctx.initialize(cryptoki::context::CInitializeArgs::OsThreads); // already initialised: fine
    let slot = slot_of(&ctx, label);
    // SAFETY: a plain PKCS#11 call on a slot ID the library just gave us.
    let rv = unsafe {
        let lib = cryptoki_sys::Pkcs11::new(module).unwrap();
        lib.C_CloseAllSessions(slot.id() as cryptoki_sys::CK_SLOT_ID)
    };
    assert_eq!(rv, cryptoki_sys::CKR_OK);
    std::mem::forget(ctx); // dropping would C_Finalize the shared library under the pool
}

fn slot_of(ctx: &cryptoki::context::Pkcs11, label: &str) -> cryptoki::slot::Slot {
    ctx.get_slots_with_token()
        .unwrap()
        .into_iter()
        .find(|s| {
            ctx.get_token_info(*s)
                .map(|i| i.label().trim_end() == label)
                .unwrap_or(false)
        })
        .expect("slot of the token")
}
