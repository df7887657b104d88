//! Issuance for every profile and key algorithm under P-256, SM2 and RSA(-PSS) hierarchies, checked by
//! tools we did not write: `openssl verify` for the chain and pkilint for every certificate.

mod common;
use common::*;

/// (profile, openssl subject, DNS names, leaf algorithms allowed by the profile)
const CASES: &[(&str, &str, &[&str], &[&str])] = &[
    ("seal-signing", "/C=CN/O=杭州示例科技有限公司/CN=杭州示例科技有限公司合同专用章/organizationIdentifier=NTRCN-91330106MA2H2XXX1Q", &[], &["p256", "rsa3072", "sm2"]),
    ("maker-production", "/C=CN/O=Example Seal Maker/CN=Example Seal Maker Production Key", &[], &["p256", "rsa3072", "sm2"]),
    ("seal-status-signer", "/C=CN/O=sealpki/CN=sealpki seal status", &[], &["p256", "sm2"]),
    ("credential-signer", "/C=CN/O=sealpki/CN=sealpki grants", &[], &["p256", "sm2"]),
    ("platform-document-signer", "/C=CN/O=sealpki/CN=sealpki evidence reports", &[], &["p256", "sm2"]),
    ("chip-seal", "/C=CN/O=Example Co/CN=Example Co Chip Seal 3301060000001", &[], &["p256", "sm2"]),
    ("physical-electronic-seal", "/C=CN/O=Example Co/CN=Example Co Seal 3301060000002", &[], &["p256", "sm2"]),
    ("controller-device", "/C=CN/O=Example Co/CN=Seal controller 7/serialNumber=SC-0007", &[], &["p256", "sm2"]),
    ("tls-server", "/C=CN/O=Example Co/CN=sign.example.com", &["sign.example.com", "api.example.com"], &["p256", "rsa3072"]),
    ("app-client", "/C=CN/O=Example Co/CN=contract-app", &[], &["p256", "rsa3072", "sm2"]),
];

/// Profiles only the ceremony and rollover issue: refused on request, checked as the ceremony made them.
const CEREMONY_ONLY: &[(&str, &str)] = &[
    ("tsa", "/C=CN/O=Example Co/CN=Example TSA 2"),
    ("ocsp-responder", "/C=CN/O=Example Co/CN=Example OCSP 2"),
    ("sub-ca", "/C=CN/O=Example Co/CN=Example Sub CA"),
    ("audit-signer", "/C=CN/O=Example Co/CN=Example Audit"),
];

fn hierarchy(env: &Env, sm2: bool) {
    let (_, root) = env.chain("seal");
    // The CA certificates themselves.
    for ca in ["root", "seal", "maker", "device", "service"] {
        let first = first_cert(&env.chain(ca).0);
        ok(
            &pkilint("lint_pkix_cert", &[], &first),
            &format!("pkilint CA {ca}"),
        );
    }
    for (profile, subj, dns, algs) in CASES {
        for alg in *algs {
            let csr = openssl_csr(env.dir.path(), alg, subj, dns);
            let leaf = env.path(&format!("{profile}-{alg}.pem"));
            env.issue_to(profile, &csr, &leaf, &[]);
            let ca = match *profile {
                "seal-signing" => "seal",
                "maker-production" | "chip-seal" | "physical-electronic-seal" => "maker",
                "controller-device" => "device",
                _ => "service",
            };
            let (chain, _) = env.chain(ca);
            ok(
                &openssl_verify(&root, &chain, &leaf, sm2),
                &format!("openssl verify {profile} {alg}"),
            );
            ok(
                &pkilint("lint_pkix_cert", &[], &leaf),
                &format!("pkilint {profile} {alg}"),
            );
            if *profile == "seal-signing" {
                ok(
                    &pkilint(
                        "lint_etsi_cert",
                        &["-t", "NCP-LEGAL-PERSON-CERTIFICATE"],
                        &leaf,
                    ),
                    &format!("pkilint ETSI {alg}"),
                );
            }
        }
    }
    for (profile, subj) in CEREMONY_ONLY {
        let csr = openssl_csr(env.dir.path(), "p256", subj, &[]);
        let out = env.sealpki(&[
            "cert",
            "issue",
            "--profile",
            profile,
            "--ca",
            "maker",
            "--csr",
            csr.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(1), "{profile} on request");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("issued only by the key ceremony"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // The ceremony's own certificates of the profile pass pkilint and chain to the root.
        let list: serde_json::Value = serde_json::from_str(&ok(
            &env.sealpki(&["--json", "cert", "list", "--profile", profile]),
            "cert list",
        ))
        .unwrap();
        let rows = list.as_array().unwrap();
        assert!(!rows.is_empty(), "the ceremony made {profile} certificates");
        for row in rows {
            let serial = row["serial"].as_str().unwrap();
            let pem = ok(
                &env.sealpki(&["cert", "show", serial, "--pem"]),
                "cert show",
            );
            let leaf = env.path(&format!("{profile}-{serial}.pem"));
            std::fs::write(&leaf, pem).unwrap();
            let (chain, _) = env.chain(row["ca"].as_str().unwrap());
            ok(
                &openssl_verify(&root, &chain, &leaf, sm2),
                &format!("openssl verify ceremony {profile}"),
            );
            ok(
                &pkilint("lint_pkix_cert", &[], &leaf),
                &format!("pkilint ceremony {profile}"),
            );
        }
    }
    ok(&env.sealpki(&["audit", "verify"]), "audit verify");
}

#[test]
fn p256_hierarchy_every_profile_and_algorithm() {
    let env = Env::new(EnvOptions::default());
    env.init_dev();
    hierarchy(&env, false);
}

#[test]
fn sm2_hierarchy_every_profile_and_algorithm() {
    let env = Env::new(EnvOptions::default());
    env.init(
        &include_str!("../fixtures/ceremony-dev.toml")
            .replace("algorithm = \"p256\"", "algorithm = \"sm2\""),
    );
    hierarchy(&env, true);
}

#[test]
fn rsa_pss_hierarchy_every_profile_and_algorithm() {
    // RSA-3072 root and seal CA (the seal CA signing with PSS); the rest P-256, keeping key generation short.
    let env = Env::new(EnvOptions::default());
    let ceremony = include_str!("../fixtures/ceremony-dev.toml")
        .replace("[ca.root]\n", "[ca.root]\nalgorithm = \"rsa3072\"\n")
        .replace(
            "[ca.seal]\n",
            "[ca.seal]\nalgorithm = \"rsa3072\"\nscheme = \"rsa-pss-sha256\"\n",
        );
    env.init(&ceremony);
    hierarchy(&env, false);
    let leaf = env.path("seal-signing-p256.pem");
    let text = ok(
        &run(std::process::Command::new("openssl")
            .args(["x509", "-noout", "-text", "-in"])
            .arg(&leaf)),
        "openssl x509",
    );
    assert!(
        text.contains("rsassaPss"),
        "the seal CA signs with RSASSA-PSS:\n{text}"
    );
}
