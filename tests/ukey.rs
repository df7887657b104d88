//! UKey seals end to end, on both databases: a SoftHSM token stands in for the holder's UKey (its
//! PIN chosen by the holder) → apply for a UKey seal → approve (pending-production, nothing made)
//! → `sealpki ukey enrol` with a wrong PIN (a clear error, nothing changed) → enrol: key made on
//! the token, certificate and seal written there (pkcs11-tool lists them), OCSP says on hold → a
//! second enrolment is a 409 → `sealpki ukey confirm`: the application complete, the seal active,
//! OCSP good → `sealpki ukey sign` seals a PDF with the token key that pyHanko accepts.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::*;
use serde_json::{json, Value};

const HOLDER_PIN: &str = "271828";

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A fresh token initialised by its holder with their own PIN; its label. Two softhsm2-util
/// runs at once (the tests on both databases run in parallel) can race for the same free slot,
/// so a failed initialisation is tried again.
fn holder_token() -> String {
    let label = format!("ukey-{}-{}", std::process::id(), rand_suffix());
    let init = || {
        run(Command::new("softhsm2-util").args([
            "--init-token",
            "--free",
            "--label",
            &label,
            "--so-pin",
            "31415926",
            "--pin",
            HOLDER_PIN,
        ]))
    };
    let mut out = init();
    for _ in 0..4 {
        if out.status.success() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(300));
        out = init();
    }
    ok(&out, "softhsm2-util --init-token");
    label
}

fn ocsp(srv: &Server, cert: &Path, issuer: &Path, chain: &Path) -> String {
    text(&run(Command::new("openssl")
        .args(["ocsp", "-issuer"])
        .arg(issuer)
        .arg("-cert")
        .arg(cert)
        .args(["-url", &format!("{}/ocsp/seal", srv.url), "-CAfile"])
        .arg(chain)
        .arg("-resp_text")))
}

fn journey(env: &Env) {
    let Some(module) = softhsm_module() else {
        return;
    };
    env.init_dev();
    let srv = env.serve();
    let w = seal_world(env, &srv, "1390000010");
    let j = |path: &str, tok: &str, body: Value| {
        let (s, v, _) = post(&format!("{}{path}", w.api), Some(tok), &body.to_string());
        (s, v)
    };
    let form = json!({"org_id": w.unit, "seal_name": "杭州示例科技有限公司合同专用章",
                      "seal_type": "contract", "mode": "ukey", "years": 1,
                      "authority_id": w.bureau});
    let (s, a) = j("/seal-applications", &w.applicant_tok, form);
    assert_eq!(s, 201, "{a}");
    let id = a["id"].as_str().unwrap().to_string();
    // Paid by the bureau (unified payment); a UKey is shipped, so the order names an address.
    w.unified_payment();
    let (s, addr) = j(
        "/addresses",
        &w.applicant_tok,
        json!({"recipient": "张三", "mobile": "13900000109", "region": "330106",
               "detail": "文三路 1 号"}),
    );
    assert_eq!(s, 201, "{addr}");
    let (s, o) = j(
        &format!("/seal-applications/{id}/order"),
        &w.applicant_tok,
        json!({"address_id": addr["id"]}),
    );
    assert_eq!(s, 201, "{o}");
    assert_eq!(o["state"], "paid", "{o}");
    let scan = upload_scan(&w.api, &w.applicant_tok);
    let ev = |tok: &str, event: &str, version: i64, extra: Value| {
        let mut body = json!({"event": event, "version": version});
        if let Some(m) = extra.as_object() {
            for (k, v) in m {
                body[k] = v.clone();
            }
        }
        j(&format!("/seal-applications/{id}/events"), tok, body)
    };
    let (s, v) = ev(
        &w.applicant_tok,
        "attach-scan",
        2,
        json!({"attachments": [scan]}),
    );
    assert_eq!(s, 200, "{v}");
    let (s, v) = ev(&w.applicant_tok, "submit", 3, json!({}));
    assert_eq!(s, 200, "{v}");
    let (s, v) = ev(&w.reviewer_tok, "approve", 4, json!({}));
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["state"], "pending-production",
        "a UKey seal waits for the token: {v}"
    );
    // Receipt is the token's to confirm, not an event anyone may send.
    let (s, v) = ev(&w.applicant_tok, "confirm-receipt", 5, json!({}));
    assert!(s == 409 || s == 422, "{s} {v}");

    let label = holder_token();
    let pin = env.path("holder-pin");
    std::fs::write(&pin, format!("{HOLDER_PIN}\n")).unwrap();
    let bad_pin = env.path("bad-pin");
    std::fs::write(&bad_pin, "000000\n").unwrap();
    let bearer = env.path("bearer");
    std::fs::write(&bearer, &w.applicant_tok).unwrap();
    let module_s = module.to_str().unwrap().to_string();
    let ukey = |cmd: &str, pin: &Path, extra: &[&str]| {
        let mut c = env.cmd();
        c.args([
            "ukey",
            cmd,
            "--module",
            &module_s,
            "--token",
            &label,
            "--pin-file",
        ])
        .arg(pin)
        .args(extra);
        run(&mut c)
    };
    let server = [
        "--server",
        &srv.url,
        "--application",
        &id,
        "--token-file",
        bearer.to_str().unwrap(),
    ];
    let state = || {
        let (_, b) = get(
            &format!("{}/seal-applications/{id}", w.api),
            Some(&w.applicant_tok),
        );
        serde_json::from_slice::<Value>(&b).unwrap()["state"].clone()
    };

    // A cloud application has no token to enrol.
    let cloud = json!({"org_id": w.unit, "seal_name": "杭州示例科技有限公司业务专用章",
                       "seal_type": "business", "mode": "cloud", "years": 1,
                       "authority_id": w.bureau});
    let (s, c) = j("/seal-applications", &w.applicant_tok, cloud);
    assert_eq!(s, 201, "{c}");
    let cloud_id = c["id"].as_str().unwrap().to_string();
    let out = ukey(
        "enrol",
        &pin,
        &[
            "--server",
            &srv.url,
            "--application",
            &cloud_id,
            "--token-file",
            bearer.to_str().unwrap(),
        ],
    );
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("not a UKey application"),
        "{}",
        text(&out)
    );

    // A wrong PIN: a clear error, a failure exit, and nothing changed on either side.
    let out = ukey("enrol", &bad_pin, &server);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("wrong PIN"), "{}", text(&out));
    assert_eq!(state(), "pending-production");
    // A token that is not there.
    let mut c = env.cmd();
    let out = run(c
        .args([
            "ukey",
            "show",
            "--module",
            &module_s,
            "--token",
            "no-such-ukey",
            "--pin-file",
        ])
        .arg(&pin));
    assert!(
        !out.status.success() && text(&out).contains("no token"),
        "{}",
        text(&out)
    );

    // Enrol without confirming: shipped, the seal pending receipt, its certificate on hold.
    let mut args = server.to_vec();
    args.push("--no-confirm");
    let out = ukey("enrol", &pin, &args);
    let t = ok(&out, "ukey enrol");
    assert!(t.contains("shipped"), "{t}");
    assert_eq!(state(), "shipped");
    let listed = ok(
        &run(Command::new("pkcs11-tool")
            .args([
                "--module",
                &module_s,
                "--token-label",
                &label,
                "--login",
                "--pin",
            ])
            .arg(HOLDER_PIN)
            .arg("--list-objects")),
        "pkcs11-tool --list-objects",
    );
    assert!(listed.contains("Private Key Object"), "{listed}");
    assert!(listed.contains("Certificate Object"), "{listed}");
    assert!(listed.contains("Data object"), "{listed}");
    assert!(listed.contains("sealpki"), "{listed}");
    let (s, seals) = {
        let (s, b) = get(
            &format!("{}/seals?scope=applied", w.api),
            Some(&w.applicant_tok),
        );
        (s, serde_json::from_slice::<Value>(&b).unwrap())
    };
    assert_eq!(s, 200, "{seals}");
    let seal = seals["items"][0].clone();
    assert_eq!(seal["state"], "pending-receipt", "{seal}");
    assert_eq!(seal["mode"], "ukey");
    let code = seal["code"].as_str().unwrap().to_string();
    assert!(listed.contains(&format!("seal:{code}")), "{listed}");
    let serial = seal["cert_serial"].as_str().unwrap().to_string();
    let (s, pem) = get(
        &format!("{}/certificates/{serial}/pem", w.api),
        Some(&w.admin),
    );
    assert_eq!(s, 200);
    let cert = env.path("ukey-cert.pem");
    std::fs::write(&cert, pem).unwrap();
    let (chain, root) = env.chain("seal");
    let issuer = first_cert(&chain);
    let o = ocsp(&srv, &cert, &issuer, &chain);
    assert!(o.contains("certificateHold"), "on hold before receipt: {o}");

    // A second enrolment after shipping: 409 from the server, and the CLI refuses.
    let csr = openssl_csr(env.dir.path(), "p256", "/CN=second", &[]);
    let r = ureq::post(&format!("{}/seal-applications/{id}/ukey/csr", w.api))
        .set("Authorization", &format!("Bearer {}", w.applicant_tok))
        .set("Content-Type", "application/pkcs10")
        .send_bytes(&std::fs::read(&csr).unwrap());
    match r {
        Err(ureq::Error::Status(409, _)) => {}
        Err(ureq::Error::Status(s, r)) => panic!("{s} {}", r.into_string().unwrap_or_default()),
        other => panic!("second enrolment: {:?}", other.map(|r| r.status())),
    }
    let out = ukey("enrol", &pin, &server);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("not pending-production"),
        "{}",
        text(&out)
    );

    // A receipt without the token: the wrong challenge, or a signature the seal key did not make.
    let (s, v) = j(
        &format!("/seal-applications/{id}/ukey/receipt"),
        &w.applicant_tok,
        json!({"challenge": "00", "signature": "MAYCAQECAQE="}),
    );
    assert_eq!(s, 422, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("challenge"), "{v}");
    let kept = run(Command::new("pkcs11-tool")
        .args([
            "--module",
            &module_s,
            "--token-label",
            &label,
            "--login",
            "--pin",
        ])
        .arg(HOLDER_PIN)
        .args([
            "--read-object",
            "--type",
            "data",
            "--label",
            &format!("receipt:{id}"),
        ]));
    let kept = String::from_utf8_lossy(&kept.stdout).to_string();
    let challenge = kept
        .split_once('\n')
        .map(|(_, c)| c.trim())
        .unwrap_or_default();
    assert_eq!(
        challenge.len(),
        64,
        "the challenge kept on the token: {kept:?}"
    );
    // A valid DER ECDSA value, but not the token key's over the receipt message.
    let forged = "MEQCIFPhC4xuA4a0Ll7y0Z0v0fnvR4nJwH3vGd0s1bYQmY3CAiBv0qB7m8S5kM3Hq0G9o8z0iHc0b8f3Xr5w6m3c3l0b8Q==";
    let (s, v) = j(
        &format!("/seal-applications/{id}/ukey/receipt"),
        &w.applicant_tok,
        json!({"challenge": challenge, "signature": forged}),
    );
    assert_eq!(s, 422, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("signature"), "{v}");
    assert_eq!(state(), "shipped");

    // Confirm receipt with the token: complete, active, OCSP good.
    let t = ok(&ukey("confirm", &pin, &server), "ukey confirm");
    assert!(t.contains("complete"), "{t}");
    assert_eq!(state(), "complete");
    let (_, b) = get(
        &format!("{}/seals/{}", w.api, seal["id"].as_str().unwrap()),
        Some(&w.applicant_tok),
    );
    let now: Value = serde_json::from_slice(&b).unwrap();
    assert_eq!(now["state"], "active", "{now}");
    let o = ocsp(&srv, &cert, &issuer, &chain);
    assert!(o.contains(": good"), "good after receipt: {o}");
    let (_, h) = get(
        &format!("{}/seal-applications/{id}/history", w.api),
        Some(&w.applicant_tok),
    );
    let h: Value = serde_json::from_slice(&h).unwrap();
    let events: Vec<&str> = h["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        [
            "create",
            "record-payment",
            "attach-scan",
            "submit",
            "approve",
            "ship",
            "confirm-receipt"
        ]
    );

    // What the token holds, and a PDF sealed with it that pyHanko accepts against our root.
    let t = ok(&ukey("show", &pin, &[]), "ukey show");
    assert!(t.contains(&format!("seal        {code}")), "{t}");
    let input = env.path("contract.pdf");
    std::fs::write(&input, minimal_pdf()).unwrap();
    let signed = env.path("contract-sealed.pdf");
    ok(
        &ukey(
            "sign",
            &pin,
            &[
                "--in",
                input.to_str().unwrap(),
                "--out",
                signed.to_str().unwrap(),
                "--at",
                "100,120",
            ],
        ),
        "ukey sign",
    );
    let out = run(Command::new(tool("pyhanko"))
        .args(["sign", "validate", "--trust"])
        .arg(&root)
        .arg("--trust-replace")
        .arg(&signed));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("INTACT:TRUSTED"),
        "pyhanko: {}",
        text(&out)
    );
    // The signature is the token key's: no server-side record of it (the key is the holder's).
    assert!(!audit_log(env).iter().any(|(_, a, _)| a == "pdf.sign"));
}

#[test]
fn ukey_journey_on_sqlite() {
    journey(&Env::new(EnvOptions {
        self_urls: true,
        ..Default::default()
    }));
}

#[test]
fn ukey_journey_on_postgres() {
    let Some(url) = pg_database("ukey") else {
        return;
    };
    journey(&Env::new(EnvOptions {
        db: Db::Postgres(url),
        self_urls: true,
        ..Default::default()
    }));
}
