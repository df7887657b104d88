//! Timestamp sources for PDF signatures: this deployment's TSA in-process, or a TSA over HTTP
//! (RFC 3161 §3.4: POST application/timestamp-query). Plain http:// only — TSA traffic is signed
//! data, and public TSAs serve it over http.

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
    host: String,
    port: u16,
    path: String,
}

/// Tokens from an unknown TSA are sized generously: a token with a two-certificate chain is ~5 KB.
const FOREIGN_TOKEN_BUDGET: usize = 12 * 1024;
const MAX_RESPONSE: usize = 1 << 20;

impl HttpTsa {
    pub fn new(url: &str) -> Result<Self, AppError> {
        let bad = |why: &str| AppError::BadRequest(format!("--tsa {url:?}: {why}"));
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| bad("only http:// URLs are supported"))?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) => (h, p.parse::<u16>().map_err(|_| bad("bad port"))?),
            None => (authority, 80),
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        Ok(HttpTsa {
            url: url.to_string(),
            host: host.to_string(),
            port,
            path: path.to_string(),
        })
    }

    fn post(&self, body: &[u8]) -> Result<Vec<u8>, String> {
        let addr = (self.host.as_str(), self.port)
            .to_socket_addrs()
            .map_err(|e| format!("{}: {e}", self.url))?
            .next()
            .ok_or_else(|| format!("{}: no address", self.url))?;
        let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(10))
            .map_err(|e| format!("{}: {e}", self.url))?;
        s.set_read_timeout(Some(Duration::from_secs(30))).ok();
        s.set_write_timeout(Some(Duration::from_secs(30))).ok();
        let head = format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/timestamp-query\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            self.path, self.host, body.len()
        );
        s.write_all(head.as_bytes())
            .and_then(|_| s.write_all(body))
            .map_err(|e| format!("{}: {e}", self.url))?;
        let mut resp = Vec::new();
        s.take(MAX_RESPONSE as u64 + 1)
            .read_to_end(&mut resp)
            .map_err(|e| format!("{}: {e}", self.url))?;
        let split = resp
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .ok_or_else(|| format!("{}: not an HTTP response", self.url))?;
        let head = String::from_utf8_lossy(&resp[..split]).to_string();
        let status = head.split_whitespace().nth(1).unwrap_or("");
        if status != "200" {
            return Err(format!("{} answered HTTP {status}", self.url));
        }
        if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            return Err(format!("{}: chunked replies are not supported", self.url));
        }
        Ok(resp[split + 4..].to_vec())
    }
}

impl Timestamper for HttpTsa {
    fn size_hint(&self) -> usize {
        FOREIGN_TOKEN_BUDGET
    }

    fn timestamp(&self, alg: &Oid, digest: &[u8]) -> Result<Vec<u8>, String> {
        let (req, nonce) = sealpki_pki::tsa::request_der(alg, digest).map_err(|e| e.to_string())?;
        let resp = self.post(&req)?;
        sealpki_pki::tsa::token_from_response(&resp, alg, digest, &nonce)
            .map_err(|e| format!("{}: {e}", self.url))
    }
}
