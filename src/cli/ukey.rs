//! `sealpki ukey enrol | show | sign`: the seal holder's client for a UKey. It runs on the holder's
//! machine with their token: the key is made there, the request and the receipt signature go to
//! the server over its HTTP API (the bearer token of the holder's session), and the certificate,
//! chain and seal structure are written back onto the token. `sign` seals PDFs locally with the
//! token key; the server neither holds nor audits that key.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use sealpki_pki::keys::holder::{self, HolderToken};
use sealpki_pki::keys::pkcs11::ObjectKind;
use sealpki_pki::{KeyError, Secret};
use serde_json::{json, Value};

use crate::error::AppError;
use crate::signing::Level;

#[derive(Subcommand, Debug)]
pub enum UkeyCmd {
    /// Make the seal's key on the token, have the server certify it, write the certificate and
    /// seal onto the token and confirm receipt with the token's signature.
    Enrol(EnrolArgs),
    /// Confirm receipt of an enrolled UKey (after `enrol --no-confirm`): the token signs the
    /// server's challenge, kept on the token since enrolment.
    Confirm(ServerArgs),
    /// What the token holds: keys, certificates, data objects and the seals they make up.
    Show(TokenArgs),
    /// Seal a PDF with the token's key and its seal (picture and certificate from the token).
    Sign(SignArgs),
}

#[derive(Args, Debug)]
pub struct TokenArgs {
    /// The token's PKCS#11 module (e.g. /usr/lib/softhsm/libsofthsm2.so).
    #[arg(long, env = "SEALPKI_UKEY_MODULE")]
    module: PathBuf,
    /// The token's label.
    #[arg(long)]
    token: String,
    /// File holding the token's user PIN (first line); else SEALPKI_UKEY_PIN.
    #[arg(long)]
    pin_file: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct EnrolArgs {
    #[command(flatten)]
    server: ServerArgs,
    /// Stop after writing the seal onto the token; confirm receipt later with `ukey confirm`.
    #[arg(long)]
    no_confirm: bool,
}

#[derive(Args, Debug)]
pub struct ServerArgs {
    #[command(flatten)]
    token: TokenArgs,
    /// The sealpki server, e.g. http://127.0.0.1:8080.
    #[arg(long)]
    server: String,
    /// The approved UKey seal application (its id).
    #[arg(long)]
    application: String,
    /// File holding the bearer token of your session (first line); else SEALPKI_TOKEN.
    #[arg(long)]
    token_file: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct SignArgs {
    #[command(flatten)]
    token: TokenArgs,
    /// The PDF to seal.
    #[arg(long = "in")]
    input: PathBuf,
    /// Where the sealed PDF goes (no file unless signing succeeded).
    #[arg(long)]
    out: PathBuf,
    /// Which seal on the token (its 13-digit code); needed only when it holds several.
    #[arg(long)]
    code: Option<String>,
    /// Page for the seal, from 1.
    #[arg(long)]
    page: Option<usize>,
    /// Centre of the seal from the top-left corner of the page: X,Y in mm (or with mm/pt).
    #[arg(long)]
    at: Option<String>,
    /// Centre the seal on the first place this text appears, e.g. 盖章处.
    #[arg(long, conflicts_with = "at")]
    keyword: Option<String>,
    /// PAdES level (b-t and above need --tsa).
    #[arg(long, value_enum, default_value = "b-b")]
    level: Level,
    /// Time-stamping authority URL (http://…).
    #[arg(long)]
    tsa: Option<String>,
}

fn first_line(path: &std::path::Path, what: &str) -> Result<String, AppError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| AppError::BadRequest(format!("{what} {}: {e}", path.display())))?;
    Ok(text.lines().next().unwrap_or_default().trim().to_string())
}

fn pin(t: &TokenArgs) -> Result<Secret, AppError> {
    match &t.pin_file {
        Some(f) => Ok(Secret::new(first_line(f, "--pin-file")?)),
        None => Secret::from_env("SEALPKI_UKEY_PIN").ok_or_else(|| {
            AppError::BadRequest("give the token's PIN: --pin-file FILE or SEALPKI_UKEY_PIN".into())
        }),
    }
}

/// Open the holder's token; a wrong PIN or a missing token is said plainly.
fn open(t: &TokenArgs) -> Result<HolderToken, AppError> {
    let pin = pin(t)?;
    HolderToken::open(&t.module, &t.token, pin).map_err(|e| match e {
        KeyError::WrongPin(l) => AppError::Denied(format!(
            "wrong PIN for token {l:?}: nothing was changed (the token locks after too many \
             wrong PINs)"
        )),
        KeyError::TokenNotFound(l, m) => AppError::NotFound(format!(
            "no token labelled {l:?} in {m}: is the UKey plugged in?"
        )),
        other => AppError::from(other),
    })
}

fn bearer(a: &ServerArgs) -> Result<String, AppError> {
    match &a.token_file {
        Some(f) => first_line(f, "--token-file"),
        None => std::env::var("SEALPKI_TOKEN")
            .ok()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                AppError::BadRequest(
                    "give your session's bearer token: --token-file FILE or SEALPKI_TOKEN".into(),
                )
            }),
    }
}

/// One call to the server; problem+json answers become errors carrying their detail. POSTs carry
/// an Idempotency-Key and are sent again (up to three times) when the connection fails, so an
/// answer lost on the way back is replayed by the server instead of being refused as a repeat.
fn call(
    method: &str,
    url: &str,
    bearer: &str,
    body: Option<(&str, &[u8])>,
) -> Result<Value, AppError> {
    let mut k = [0u8; 16];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut k);
    let key = hex::encode(k);
    let mut attempt = 0;
    let r = loop {
        attempt += 1;
        let req = ureq::request(method, url)
            .set("Authorization", &format!("Bearer {bearer}"))
            .timeout(std::time::Duration::from_secs(60));
        let r = match body {
            Some((ct, b)) => req
                .set("Content-Type", ct)
                .set("Idempotency-Key", &key)
                .send_bytes(b),
            None => req.call(),
        };
        match r {
            Err(ureq::Error::Transport(_)) if attempt < 3 => {
                std::thread::sleep(std::time::Duration::from_secs(2));
            }
            // The first request still running on the server (409 + Retry-After): wait for it.
            Err(ureq::Error::Status(409, ref resp))
                if attempt < 3 && resp.header("Retry-After").is_some() =>
            {
                std::thread::sleep(std::time::Duration::from_secs(1));
            }
            other => break other,
        }
    };
    match r {
        Ok(r) => r
            .into_json()
            .map_err(|e| AppError::Unavailable(format!("{url}: unreadable answer: {e}"))),
        Err(ureq::Error::Status(status, r)) => {
            let v: Value = r.into_json().unwrap_or(Value::Null);
            let detail = v["detail"]
                .as_str()
                .or(v["title"].as_str())
                .unwrap_or("no detail")
                .to_string();
            let msg = format!("server answered {status}: {detail}");
            Err(match status {
                400 => AppError::BadRequest(msg),
                401 | 403 => AppError::Denied(msg),
                404 => AppError::NotFound(msg),
                409 => AppError::Conflict(msg),
                422 => AppError::Policy(msg),
                _ => AppError::Unavailable(msg),
            })
        }
        Err(e) => Err(AppError::Unavailable(format!("{url}: {e}"))),
    }
}

fn b64(v: &[u8]) -> String {
    base64::Engine::encode(&base64::engine::general_purpose::STANDARD, v)
}

fn api(a: &ServerArgs) -> String {
    format!(
        "{}/api/v1/seal-applications/{}",
        a.server.trim_end_matches('/'),
        a.application
    )
}

fn enrol(e_args: &EnrolArgs) -> Result<Value, AppError> {
    let a = &e_args.server;
    let bearer = bearer(a)?;
    let token = open(&a.token)?;
    let api = api(a);
    // Checked before the token is touched, for a plain answer; the server checks again.
    let app = call("GET", &api, &bearer, None)?;
    if app["data"]["mode"] != "ukey" {
        return Err(AppError::Policy(format!(
            "application {} is not a UKey application (mode {})",
            a.application, app["data"]["mode"]
        )));
    }
    if app["state"] != "pending-production" {
        return Err(AppError::Conflict(format!(
            "application {} is {}, not pending-production: it must be approved and not yet \
             enrolled",
            a.application, app["state"]
        )));
    }
    let mut rnd = [0u8; 4];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut rnd);
    let id: String = a
        .application
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(32)
        .collect();
    let key_name = format!("seal-{id}-{}", hex::encode(rnd));
    let signer = token.generate(&key_name)?;
    let enrolled = (|| {
        let csr = token.csr(signer.as_ref())?;
        let e = call(
            "POST",
            &format!("{api}/ukey/csr"),
            &bearer,
            Some(("application/pkcs10", &csr)),
        )?;
        let text = |k: &str| {
            e[k].as_str()
                .map(str::to_string)
                .ok_or_else(|| AppError::Unavailable(format!("the server's answer lacks {k}")))
        };
        let code = text("code")?;
        let certs = sealpki_pki::pem::parse_certs(text("certificate")?.as_bytes())
            .map_err(|e| AppError::Unavailable(format!("certificate: {e}")))?;
        let cert = certs
            .first()
            .ok_or_else(|| AppError::Unavailable("no certificate in the answer".into()))?;
        let ses = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, text("seal")?)
            .map_err(|e| AppError::Unavailable(format!("seal: {e}")))?;
        token.store_seal(signer.as_ref(), &code, cert, &text("chain")?, &ses)?;
        let challenge = text("challenge")?;
        Ok::<_, AppError>((e, code, challenge))
    })();
    let (e, code, challenge) = match enrolled {
        Ok(x) => x,
        Err(AppError::Unavailable(m)) => {
            // No answer: the server may have certified the key, so it stays on the token.
            return Err(AppError::Unavailable(format!(
                "{m}; key {} stays on token {} (the server may have certified it: ask the \
                 platform before enrolling again)",
                signer.key_ref(),
                token.label()
            )));
        }
        Err(err) => {
            // The server refused (or the token could not keep the seal): remove the unused key.
            if let Err(d) = token.destroy(signer.as_ref()) {
                tracing::warn!(error = %d, "removing the unused token key");
            }
            return Err(err);
        }
    };
    token.put_receipt(&a.application, &code, &challenge)?;
    let mut out = json!({"seal_id": e["seal_id"], "code": code, "key": signer.key_ref().to_string(),
                         "token": token.label(), "application": e["application"]});
    if !e_args.no_confirm {
        out["application"] = confirm_on(&token, a, &bearer)?;
    }
    Ok(out)
}

fn confirm(a: &ServerArgs) -> Result<Value, AppError> {
    let bearer = bearer(a)?;
    let token = open(&a.token)?;
    let v = confirm_on(&token, a, &bearer)?;
    Ok(json!({"token": token.label(), "application": v}))
}

/// Sign the kept challenge with the seal's key and send it; forget it once accepted.
fn confirm_on(token: &HolderToken, a: &ServerArgs, bearer: &str) -> Result<Value, AppError> {
    let (code, challenge) = token.receipt(&a.application)?.ok_or_else(|| {
        AppError::NotFound(format!(
            "token {} holds no receipt challenge for application {}: enrol it first",
            a.token.token, a.application
        ))
    })?;
    let seal = token
        .seals(Some(&code))?
        .into_iter()
        .next()
        .ok_or_else(|| {
            AppError::NotFound(format!("token {} holds no seal {code}", a.token.token))
        })?;
    let msg = holder::receipt_message(&a.application, &challenge);
    let sig = seal
        .signer
        .sign(seal.signer.algorithm().default_scheme(), &msg)?;
    let v = call(
        "POST",
        &format!("{}/ukey/receipt", api(a)),
        bearer,
        Some((
            "application/json",
            json!({"challenge": challenge, "signature": b64(&sig)})
                .to_string()
                .as_bytes(),
        )),
    )?;
    token.drop_receipt(&a.application)?;
    Ok(v)
}

fn show(t: &TokenArgs) -> Result<Value, AppError> {
    let token = open(t)?;
    let keys: Vec<Value> = token
        .keys()?
        .iter()
        .map(|k| json!({"key": k.key_ref.to_string(), "algorithm": k.algorithm.name()}))
        .collect();
    let objects: Vec<Value> = token
        .objects()?
        .iter()
        .map(|o| {
            json!({"kind": if o.kind == ObjectKind::Certificate { "certificate" } else { "data" },
                   "label": o.label, "bytes": o.value.len()})
        })
        .collect();
    let seals: Vec<Value> = token
        .seals(None)?
        .iter()
        .map(|s| {
            json!({"code": s.code, "key": s.signer.key_ref().to_string(),
                   "subject": sealpki_pki::name::display(&s.cert.tbs_certificate.subject),
                   "serial": sealpki_pki::issue::serial_hex(&s.cert.tbs_certificate.serial_number)})
        })
        .collect();
    Ok(json!({"token": token.label(), "keys": keys, "objects": objects, "seals": seals}))
}

fn show_text(v: &Value) -> String {
    let mut s = format!("token {}\n", v["token"].as_str().unwrap_or(""));
    let list = |k: &str| v[k].as_array().cloned().unwrap_or_default();
    for k in list("keys") {
        s += &format!(
            "  key         {} ({})\n",
            k["key"].as_str().unwrap_or(""),
            k["algorithm"].as_str().unwrap_or("")
        );
    }
    for o in list("objects") {
        s += &format!(
            "  {:11} {} ({} bytes)\n",
            o["kind"].as_str().unwrap_or(""),
            o["label"].as_str().unwrap_or(""),
            o["bytes"]
        );
    }
    for x in list("seals") {
        s += &format!(
            "  seal        {}  {}  serial {}\n",
            x["code"].as_str().unwrap_or(""),
            x["subject"].as_str().unwrap_or(""),
            x["serial"].as_str().unwrap_or("")
        );
    }
    s
}

fn holder_key(a: &SignArgs) -> Result<crate::cli::pdf::HolderKey, AppError> {
    let token = open(&a.token)?;
    let mut seals = token.seals(a.code.as_deref())?;
    let seal = match (seals.len(), &a.code) {
        (0, Some(c)) => {
            return Err(AppError::NotFound(format!(
                "token {} holds no seal {c}",
                a.token.token
            )))
        }
        (0, None) => {
            return Err(AppError::NotFound(format!(
                "token {} holds no seal: enrol it first (`sealpki ukey enrol`)",
                a.token.token
            )))
        }
        (1, _) => seals.remove(0),
        _ => {
            return Err(AppError::BadRequest(format!(
                "token {} holds several seals: choose one with --code ({})",
                a.token.token,
                seals
                    .iter()
                    .map(|s| s.code.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )))
        }
    };
    Ok(crate::cli::pdf::HolderKey {
        signer: seal.signer,
        cert: seal.cert,
        chain: seal.chain,
        seal: seal.ses,
    })
}

pub async fn run(
    cmd: UkeyCmd,
    config: &crate::config::Config,
    json: bool,
) -> Result<i32, AppError> {
    match cmd {
        UkeyCmd::Enrol(a) => {
            let v = tokio::task::block_in_place(|| enrol(&a))?;
            crate::cli::out(json, &v, || {
                format!(
                    "seal {} enrolled on token {} (key {}); application {}\n",
                    v["code"].as_str().unwrap_or(""),
                    v["token"].as_str().unwrap_or(""),
                    v["key"].as_str().unwrap_or(""),
                    v["application"]["state"].as_str().unwrap_or("")
                )
            });
            Ok(0)
        }
        UkeyCmd::Confirm(a) => {
            let v = tokio::task::block_in_place(|| confirm(&a))?;
            crate::cli::out(json, &v, || {
                format!(
                    "receipt confirmed: application {}\n",
                    v["application"]["state"].as_str().unwrap_or("")
                )
            });
            Ok(0)
        }
        UkeyCmd::Show(t) => {
            let v = tokio::task::block_in_place(|| show(&t))?;
            crate::cli::out(json, &v, || show_text(&v));
            Ok(0)
        }
        UkeyCmd::Sign(a) => {
            let key = tokio::task::block_in_place(|| holder_key(&a))?;
            let args = crate::cli::pdf::SignArgs::for_holder(
                a.input,
                a.out,
                (a.page, a.at, a.keyword),
                a.level,
                a.tsa,
                key,
            );
            crate::cli::pdf::run(crate::cli::pdf::PdfCmd::Sign(Box::new(args)), config, json).await
        }
    }
}
