//! Timestamp sources for PDF signatures: this deployment's TSA in-process, or a TSA over HTTP
//! (RFC 3161 §3.4: POST application/timestamp-query); and `fetch`, the outbound HTTP client they,
//! OCSP and the CRL download for B-LT use. Plain http:// only — TSA replies and CRLs are signed data, served
//! over http by public TSAs and CAs.

use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use sealpki_pki::der::oid::ObjectIdentifier as Oid;
use sealpki_pki::pdf::sign::Timestamper;
use sealpki_pki::tsa::Tsa;

use crate::error::AppError;

/// Our own TSA, without the network.
pub struct LocalTsa(pub Arc<Tsa>);

impl Timestamper for LocalTsa {
    fn size_hint(&self) -> usize {
        self.0.size_hint()
    }
    fn timestamp(&self, alg: &Oid, digest: &[u8]) -> Result<Vec<u8>, String> {
        self.0.timestamp(alg, digest)
    }
}

pub struct HttpTsa {
    url: String,
}

/// Tokens from an unknown TSA are sized generously: a token with a two-certificate chain is ~5 KB.
const FOREIGN_TOKEN_BUDGET: usize = 12 * 1024;
const MAX_RESPONSE: usize = 16 << 20;

/// The one outbound HTTP client (ureq): 10 s to connect, 30 s per read or write, up to 5
/// redirects (to http:// only), IPv6 literals and ports as URLs write them, chunked replies.
fn agent() -> &'static ureq::Agent {
    static AGENT: std::sync::OnceLock<ureq::Agent> = std::sync::OnceLock::new();
    AGENT.get_or_init(|| {
        ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_secs(10))
            .timeout_read(Duration::from_secs(30))
            .timeout_write(Duration::from_secs(30))
            .redirects(5)
            .user_agent(concat!("sealpki/", env!("CARGO_PKG_VERSION")))
            .build()
    })
}

fn check_url(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("{url}: only http:// URLs are supported"))?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err(format!("{url}: no host"));
    }
    Ok(())
}

/// GET `url`, or POST `post` (content type, body) to it; the body of a 200 answer, at most 16 MB.
pub fn fetch(url: &str, post: Option<(&str, &[u8])>) -> Result<Vec<u8>, String> {
    check_url(url)?;
    let resp = match post {
        Some((ctype, body)) => agent()
            .post(url)
            .set("Content-Type", ctype)
            .send_bytes(body),
        None => agent().get(url).call(),
    };
    let resp = match resp {
        Ok(r) if r.status() == 200 => r,
        Ok(r) => return Err(format!("{url} answered HTTP {}", r.status())),
        Err(ureq::Error::Status(code, _)) => return Err(format!("{url} answered HTTP {code}")),
        Err(ureq::Error::Transport(t)) => return Err(format!("{url}: {t}")),
    };
    let mut body = Vec::new();
    resp.into_reader()
        .take(MAX_RESPONSE as u64 + 1)
        .read_to_end(&mut body)
        .map_err(|e| format!("{url}: {e}"))?;
    if body.len() > MAX_RESPONSE {
        return Err(format!("{url}: answer larger than 16 MB"));
    }
    Ok(body)
}

impl HttpTsa {
    pub fn new(url: &str) -> Result<Self, AppError> {
        check_url(url).map_err(|e| AppError::BadRequest(format!("--tsa: {e}")))?;
        Ok(HttpTsa {
            url: url.to_string(),
        })
    }
}

impl Timestamper for HttpTsa {
    fn size_hint(&self) -> usize {
        FOREIGN_TOKEN_BUDGET
    }

    fn timestamp(&self, alg: &Oid, digest: &[u8]) -> Result<Vec<u8>, String> {
        let (req, nonce) = sealpki_pki::tsa::request_der(alg, digest).map_err(|e| e.to_string())?;
        let resp = fetch(&self.url, Some(("application/timestamp-query", &req)))?;
        sealpki_pki::tsa::token_from_response(&resp, alg, digest, &nonce)
            .map_err(|e| format!("{}: {e}", self.url))
    }
}
