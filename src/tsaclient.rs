//! Timestamp sources for PDF signatures: this deployment's TSA in-process, or a TSA over HTTP
//! (RFC 3161 §3.4: POST application/timestamp-query); and `fetch`, the small HTTP/1.1 client they and
//! the CRL download for B-LT use. Plain http:// only — TSA replies and CRLs are signed data, served
//! over http by public TSAs and CAs.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
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

/// Where an http:// URL points.
struct Target {
    host: String,
    port: u16,
    path: String,
}

fn target(url: &str) -> Result<Target, String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("{url}: only http:// URLs are supported"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (h, p.parse::<u16>().map_err(|_| format!("{url}: bad port"))?),
        None => (authority, 80),
    };
    if host.is_empty() {
        return Err(format!("{url}: no host"));
    }
    Ok(Target {
        host: host.to_string(),
        port,
        path: path.to_string(),
    })
}

/// One HTTP/1.1 exchange (`Connection: close`); the body of a 200 answer.
pub fn fetch(url: &str, post: Option<(&str, &[u8])>) -> Result<Vec<u8>, String> {
    let t = target(url)?;
    let addr = (t.host.as_str(), t.port)
        .to_socket_addrs()
        .map_err(|e| format!("{url}: {e}"))?
        .next()
        .ok_or_else(|| format!("{url}: no address"))?;
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(10))
        .map_err(|e| format!("{url}: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok();
    s.set_write_timeout(Some(Duration::from_secs(30))).ok();
    let head = match post {
        Some((ctype, body)) => format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            t.path,
            t.host,
            body.len()
        ),
        None => format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            t.path, t.host
        ),
    };
    s.write_all(head.as_bytes())
        .and_then(|_| s.write_all(post.map(|p| p.1).unwrap_or_default()))
        .map_err(|e| format!("{url}: {e}"))?;
    let mut resp = Vec::new();
    s.take(MAX_RESPONSE as u64 + 1)
        .read_to_end(&mut resp)
        .map_err(|e| format!("{url}: {e}"))?;
    if resp.len() > MAX_RESPONSE {
        return Err(format!("{url}: answer larger than 16 MB"));
    }
    let split = resp
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("{url}: not an HTTP response"))?;
    let head = String::from_utf8_lossy(&resp[..split]).to_string();
    let status = head.split_whitespace().nth(1).unwrap_or("");
    if status != "200" {
        return Err(format!("{url} answered HTTP {status}"));
    }
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        return Err(format!("{url}: chunked replies are not supported"));
    }
    Ok(resp[split + 4..].to_vec())
}

impl HttpTsa {
    pub fn new(url: &str) -> Result<Self, AppError> {
        target(url).map_err(|e| AppError::BadRequest(format!("--tsa: {e}")))?;
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
