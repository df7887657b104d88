//! Accounts over HTTP against the real server, on SQLite and PostgreSQL: registration with an SMS
//! code (read from the development provider's file, as the console's banner does), bad fields
//! refused by name with nothing stored, login by mobile number, sessions listed and ended, password
//! reset, the staff second factor (enrolment, required code, wrong and replayed codes),
//! organisations (credit codes, regions, the tree, look-up) with the membership policy, and the
//! cross-site check on cookie sessions.

mod common;

use common::*;
use serde_json::{json, Value};

/// A valid unified social credit code starting with `prefix` (11 characters: registration authority,
/// organisation type, region, the first three of the organisation code): the organisation-code
/// check and the final check character found by trying each.
fn credit_code(prefix: &str) -> String {
    const ALPHABET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
    for a in "0123456789".chars() {
        for b in "0123456789".chars() {
            for c9 in "0123456789X".chars() {
                for last in ALPHABET.chars() {
                    let code = format!("{prefix}{a}{b}123{c9}{last}");
                    if code.len() == 18 && sealpki::accounts::CreditCode::parse(&code).is_ok() {
                        return code;
                    }
                }
            }
        }
    }
    panic!("no credit code with prefix {prefix}");
}

fn delete(url: &str, token: &str) -> u16 {
    match ureq::delete(url)
        .set("Authorization", &format!("Bearer {token}"))
        .call()
    {
        Ok(r) => r.status(),
        Err(ureq::Error::Status(s, _)) => s,
        Err(e) => panic!("DELETE {url}: {e}"),
    }
}

fn suite(env: &Env) {
    env.init_dev();
    let srv = env.serve();
    let api = format!("{}/api/v1", srv.url);
    let mobile = "13812345678";
    let rid = resident_id("11010519491231002");

    // ---- SMS codes: a bad number is named; a second code within a minute is refused.
    let (s, v, _) = post(
        &format!("{api}/register/code"),
        None,
        &json!({"mobile": "1234", "purpose": "register"}).to_string(),
    );
    assert_eq!((s, v["field"].as_str()), (422, Some("mobile")), "{v}");
    let (s, v, _) = post(
        &format!("{api}/register/code"),
        None,
        &json!({"mobile": mobile, "purpose": "register"}).to_string(),
    );
    assert_eq!(s, 202, "{v}");
    let sms = newest_sms(env, mobile);
    assert!(sms.contains("注册验证码"), "{sms}");
    let code = sms_code(&sms);
    let (s, v, _) = post(
        &format!("{api}/register/code"),
        None,
        &json!({"mobile": mobile, "purpose": "register"}).to_string(),
    );
    assert_eq!(s, 429, "{v}");

    // ---- Registration: every bad field named, nothing stored; then the real one.
    let person = |rid: &str, password: &str, code: &str| {
        json!({"real_name": "张三", "resident_id": rid, "mobile": mobile, "code": code,
               "password": password})
        .to_string()
    };
    let mut bad_rid = rid.clone();
    bad_rid.replace_range(17.., if rid.ends_with('0') { "1" } else { "0" });
    for (body, field) in [
        (
            person(&bad_rid, "a good long passphrase", &code),
            "resident_id",
        ),
        (person(&rid, "password", &code), "password"),
        (person(&rid, mobile, &code), "password"),
    ] {
        let (s, v, _) = post(&format!("{api}/register"), None, &body);
        assert_eq!((s, v["field"].as_str()), (422, Some(field)), "{v}");
    }
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let (s, v, _) = post(
        &format!("{api}/register"),
        None,
        &person(&rid, "a good long passphrase", wrong),
    );
    assert_eq!(s, 422, "{v}");
    assert!(v["type"].as_str().unwrap().ends_with("bad-code"), "{v}");
    let (s, _, _) = post(
        &format!("{api}/login"),
        None,
        &json!({"username": mobile, "password": "a good long passphrase"}).to_string(),
    );
    assert_eq!(s, 401, "nothing was stored");
    let (s, v, _) = post(
        &format!("{api}/register"),
        None,
        &person(&rid, "a good long passphrase", &code),
    );
    assert_eq!(s, 201, "{v}");
    let username = v["username"].as_str().unwrap().to_string();
    assert!(
        !username.contains(mobile),
        "usernames never carry the number"
    );
    // The code is spent.
    let (s, _, _) = post(
        &format!("{api}/register"),
        None,
        &person(&rid, "a good long passphrase", &code),
    );
    assert!(s == 409 || s == 422, "{s}");

    // ---- Login by mobile number; the account shows numbers masked; sessions listed and ended.
    let login = |password: &str| {
        post(
            &format!("{api}/login"),
            None,
            &json!({"username": mobile, "password": password}).to_string(),
        )
    };
    let (s, v, _) = login("a good long passphrase");
    assert_eq!((s, v["stage"].as_str()), (200, Some("full")), "{v}");
    let first = v["token"].as_str().unwrap().to_string();
    let (_, v, _) = login("a good long passphrase");
    let second = v["token"].as_str().unwrap().to_string();
    let (s, body) = get(&format!("{api}/account"), Some(&second));
    assert_eq!(s, 200);
    let me: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(me["role"], "person");
    assert_eq!(me["mobile"], "138****5678");
    let shown = me["resident_id"].as_str().unwrap();
    assert!(shown.contains('*') && !shown.contains("19491231"), "{me}");
    let (_, body) = get(&format!("{api}/account/sessions"), Some(&second));
    let list: Value = serde_json::from_slice(&body).unwrap();
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{list}");
    let other = items.iter().find(|i| i["current"] == false).unwrap();
    let id = other["id"].as_str().unwrap();
    assert_eq!(
        delete(&format!("{api}/account/sessions/{id}"), &second),
        204
    );
    assert_eq!(get(&format!("{api}/account"), Some(&first)).0, 401);
    assert_eq!(
        delete(&format!("{api}/account/sessions/{id}"), &second),
        404
    );
    // The audit names the account, never the person's numbers.
    let log = audit_log(env);
    let all = format!("{log:?}");
    assert!(!all.contains(mobile) && !all.contains(&rid), "{all}");

    // ---- Password reset by SMS code: every session ends.
    std::thread::sleep(std::time::Duration::from_millis(10));
    let (s, v, _) = post(
        &format!("{api}/register/code"),
        None,
        &json!({"mobile": mobile, "purpose": "reset", "lang": "en"}).to_string(),
    );
    assert_eq!(s, 202, "{v}");
    let sms = newest_sms(env, mobile);
    assert!(sms.contains("reset code"), "{sms}");
    let (s, v, _) = post(
        &format!("{api}/password-reset"),
        None,
        &json!({"mobile": mobile, "code": sms_code(&sms), "password": "another good passphrase"})
            .to_string(),
    );
    assert_eq!(s, 204, "{v}");
    assert_eq!(get(&format!("{api}/account"), Some(&second)).0, 401);
    assert_eq!(login("a good long passphrase").0, 401);
    let (s, v, _) = login("another good passphrase");
    assert_eq!(s, 200, "{v}");
    let person_token = v["token"].as_str().unwrap().to_string();

    // ---- Staff: the second factor is set up at the first login and needed afterwards.
    let admin = srv.login();
    let (s, v, _) = post(
        &format!("{api}/operators"),
        Some(&admin),
        &json!({"username": "olga", "password": "operator-password-1", "role": "operator"})
            .to_string(),
    );
    assert_eq!(s, 201, "{v}");
    let (s, v, _) = post(
        &format!("{api}/login"),
        None,
        &json!({"username": "olga", "password": "operator-password-1"}).to_string(),
    );
    assert_eq!(
        (s, v["stage"].as_str()),
        (200, Some("totp-enrolment")),
        "{v}"
    );
    let enrolling = v["token"].as_str().unwrap().to_string();
    let (s, body) = get(&format!("{api}/certificates"), Some(&enrolling));
    assert_eq!(s, 403, "{}", String::from_utf8_lossy(&body));
    assert!(String::from_utf8_lossy(&body).contains("totp-enrolment-required"));
    let olga = srv.staff_login("olga", "operator-password-1");
    assert_eq!(get(&format!("{api}/certificates"), Some(&olga)).0, 200);
    let (s, v, _) = post(
        &format!("{api}/login"),
        None,
        &json!({"username": "olga", "password": "operator-password-1"}).to_string(),
    );
    assert!(
        s == 401 && v["type"].as_str().unwrap().ends_with("totp-required"),
        "{v}"
    );
    let (s, v, _) = post(
        &format!("{api}/login"),
        None,
        &json!({"username": "olga", "password": "operator-password-1", "totp": "000000"})
            .to_string(),
    );
    assert!(
        s == 401 && v["type"].as_str().unwrap().ends_with("bad-totp"),
        "{v}"
    );

    // ---- Organisations: codes and regions checked; the tree; look-up; memberships by policy.
    let org = |token: &str, body: Value| {
        post(
            &format!("{api}/organisations"),
            Some(token),
            &body.to_string(),
        )
    };
    let (s, v, _) = org(
        &admin,
        json!({"credit_code": "91110108551385082X", "name": "小米科技有限责任公司", "kind": "enterprise", "region": "110108"}),
    );
    assert_eq!((s, v["field"].as_str()), (422, Some("credit_code")), "{v}");
    let (s, v, _) = org(
        &admin,
        json!({"credit_code": "91110108551385082Q", "name": "小米科技有限责任公司", "kind": "enterprise", "region": "110199"}),
    );
    assert_eq!((s, v["field"].as_str()), (422, Some("region")), "{v}");
    let (s, v, _) = org(
        &person_token,
        json!({"credit_code": "91110108551385082Q", "name": "小米科技有限责任公司", "kind": "enterprise", "region": "110108"}),
    );
    assert_eq!(s, 403, "people do not register organisations: {v}");
    assert!(
        v["detail"]
            .as_str()
            .unwrap()
            .contains("organisations.create"),
        "{v}"
    );
    let (s, parent, _) = org(
        &admin,
        json!({"credit_code": "91110000802100433B", "name": "北京百度网讯科技有限公司", "kind": "enterprise", "region": "110000"}),
    );
    assert_eq!(s, 201, "{parent}");
    let parent_id = parent["id"].as_str().unwrap().to_string();
    assert_eq!(
        parent["region_name"].as_str().map(|n| n.contains("北京")),
        Some(true),
        "{parent}"
    );
    let (s, child, _) = org(
        &admin,
        json!({"credit_code": "91110108551385082Q", "name": "小米科技有限责任公司", "kind": "enterprise", "region": "110108", "parent_id": parent_id}),
    );
    assert_eq!(s, 201, "{child}");
    let child_id = child["id"].as_str().unwrap().to_string();
    let (s, v, _) = org(
        &admin,
        json!({"credit_code": "914403001922038216", "name": "小米科技　有限责任公司", "kind": "enterprise", "region": "440300"}),
    );
    assert_eq!(s, 409, "names compare without full-width spaces: {v}");
    let (s, other, _) = org(
        &admin,
        json!({"credit_code": "914403001922038216", "name": "华为技术有限公司", "kind": "enterprise", "region": "440300"}),
    );
    assert_eq!(s, 201, "{other}");
    let other_id = other["id"].as_str().unwrap().to_string();
    let (_, body) = get(
        &format!("{api}/organisations?q=91110108551385082Q"),
        Some(&olga),
    );
    let found: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(found["items"][0]["id"], child_id.as_str(), "{found}");
    let (_, body) = get(
        &format!("{api}/organisations?q={}", "%E5%B0%8F%E7%B1%B3"),
        Some(&person_token),
    );
    let found: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(found["items"].as_array().unwrap().len(), 1, "{found}");
    let (_, body) = get(
        &format!("{api}/organisations?parent={parent_id}"),
        Some(&olga),
    );
    let kids: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(kids["items"][0]["id"], child_id.as_str(), "{kids}");

    let member = |token: &str, org: &str, user: &str, role: &str| {
        post(
            &format!("{api}/organisations/{org}/members"),
            Some(token),
            &json!({"username": user, "role": role}).to_string(),
        )
    };
    let (s, v, _) = member(&person_token, &child_id, &username, "seal-admin");
    assert_eq!(s, 403, "{v}");
    assert!(
        v["detail"]
            .as_str()
            .unwrap()
            .contains("organisations.members.manage"),
        "{v}"
    );
    let (s, v, _) = member(&admin, &parent_id, &username, "seal-admin");
    assert_eq!(s, 201, "{v}");
    let (s, v, _) = member(&admin, &parent_id, &username, "police-approver");
    assert_eq!((s, v["field"].as_str()), (422, Some("role")), "{v}");
    // A seal administrator of the parent manages the child, not another organisation.
    let (s, v, _) = member(&person_token, &child_id, "olga", "reviewer");
    assert_eq!(s, 201, "{v}");
    let (s, v, _) = member(&person_token, &other_id, "olga", "reviewer");
    assert_eq!(s, 403, "{v}");
    let (s, body) = get(
        &format!("{api}/organisations/{child_id}/members"),
        Some(&person_token),
    );
    assert_eq!(s, 200);
    assert!(String::from_utf8_lossy(&body).contains("\"reviewer\""));
    assert_eq!(
        delete(
            &format!("{api}/organisations/{child_id}/members/olga/reviewer"),
            &person_token
        ),
        204
    );

    // A seal administrator of a government body manages the organisations of its region, in its
    // tree or not; not those of another region.
    let (s, gov, _) = org(
        &admin,
        json!({"credit_code": credit_code("11110000MB0"), "name": "北京市某管理局", "kind": "government", "region": "110000"}),
    );
    assert_eq!(s, 201, "{gov}");
    let gov_id = gov["id"].as_str().unwrap();
    let (s, local, _) = org(
        &admin,
        json!({"credit_code": credit_code("91110105MA0"), "name": "朝阳某公司", "kind": "enterprise", "region": "110105"}),
    );
    assert_eq!(s, 201, "{local}");
    let local_id = local["id"].as_str().unwrap();
    let (s, v, _) = member(&admin, gov_id, &username, "seal-admin");
    assert_eq!(s, 201, "{v}");
    let (s, v, _) = member(&person_token, local_id, "olga", "applicant");
    assert_eq!(
        s, 201,
        "110105 lies within 110000, outside the person's tree: {v}"
    );
    let (s, v, _) = member(&person_token, &other_id, "olga", "applicant");
    assert_eq!(s, 403, "440300 is not within 110000: {v}");

    // ---- Cross-site: a cookie session's POST from another origin is refused (curl, as an attacker's
    // page would send it: the victim's cookie, another site's Origin / Sec-Fetch-Site).
    let cookie = format!("sealpki_session={person_token}");
    for header in ["Origin: https://evil.example", "Sec-Fetch-Site: cross-site"] {
        let out = run(std::process::Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST"])
            .args(["-b", &cookie, "-H", header])
            .arg(format!("{}/logout", srv.url)));
        assert_eq!(String::from_utf8_lossy(&out.stdout), "403", "{header}");
    }
    assert_eq!(get(&format!("{api}/account"), Some(&person_token)).0, 200);
    let same = ureq::post(&format!("{}/logout", srv.url))
        .set("Cookie", &cookie)
        .set("Sec-Fetch-Site", "same-origin")
        .call();
    assert!(same.is_ok(), "{same:?}");
    assert_eq!(get(&format!("{api}/account"), Some(&person_token)).0, 401);
}

#[test]
fn accounts_on_sqlite() {
    suite(&Env::new(EnvOptions::default()));
}

#[test]
fn accounts_on_postgres() {
    let Some(url) = pg_database("accounts") else {
        return;
    };
    suite(&Env::new(EnvOptions {
        db: Db::Postgres(url),
        ..Default::default()
    }));
}
