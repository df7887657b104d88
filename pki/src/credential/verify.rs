//! Verifying a credential: strict decoding, algorithm, signature, claims, the signer's path through
//! the one path validator at `iat`, the issuer rule of the kind, and the validity window.

use std::time::{Duration, SystemTime};

use ciborium::Value;
use coset::{AsCborValue, CoseSign1, Label};
use x509_cert::ext::pkix::KeyUsages;
use x509_cert::Certificate;

use super::{
    Algorithm, Claims, CredentialError, Kind, MAX_CHAIN, MAX_CREDENTIAL, MAX_DEPTH, X5CHAIN,
};
use crate::alg::{raw_rs_to_der, KeyAlgorithm};
use crate::report::{unix, Checks};
pub use crate::report::{Check, CheckState, Verdict};
use crate::validate::{self, Cert, Purpose};

/// What a verifier accepts beyond the trust anchors.
#[derive(Clone, Debug)]
pub struct VerifyOptions {
    /// The kind the caller is about to rely on; another kind is refused.
    pub expect: Option<Kind>,
    /// Algorithms accepted (both by default).
    pub algorithms: Vec<Algorithm>,
    /// Clock difference tolerated on nbf, exp and iat, in seconds (none by default).
    pub leeway_secs: u64,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            expect: None,
            algorithms: Algorithm::ALL.to_vec(),
            leeway_secs: 0,
        }
    }
}

impl VerifyOptions {
    pub fn expect(kind: Kind) -> Self {
        VerifyOptions {
            expect: Some(kind),
            ..Default::default()
        }
    }
}

/// The outcome: every check, the verdict, the first failure as a typed error, and the claims — only
/// when the verdict is valid, so unverified claims cannot be relied on by mistake.
#[derive(Debug, serde::Serialize)]
pub struct Report {
    pub verdict: Verdict,
    /// The checks that failed, in words.
    pub reasons: Vec<String>,
    pub checks: Vec<Check>,
    pub algorithm: Option<Algorithm>,
    pub kind: Option<Kind>,
    /// The leaf's subject and the path to the anchor.
    pub signer: Option<String>,
    pub claims: Option<Claims>,
    #[serde(skip)]
    pub error: Option<CredentialError>,
}

impl Report {
    pub fn is_valid(&self) -> bool {
        self.verdict == Verdict::Valid
    }

    /// The verified claims, or the first reason they were refused.
    pub fn into_claims(self) -> Result<Claims, CredentialError> {
        match (self.claims, self.error) {
            (Some(c), None) => Ok(c),
            (_, Some(e)) => Err(e),
            (None, None) => Err(CredentialError::Malformed("nothing verified".into())),
        }
    }
}

struct State {
    checks: Checks,
    error: Option<CredentialError>,
}

impl State {
    fn pass(&mut self, name: &'static str, detail: impl Into<String>) {
        self.checks.add(name, CheckState::Pass, detail);
    }

    fn fail(&mut self, name: &'static str, e: CredentialError) {
        self.checks.add(name, CheckState::Fail, e.to_string());
        self.error.get_or_insert(e);
    }
}

/// Verify `bytes` (a tagged COSE_Sign1) against `anchors` at time `at`.
pub fn verify(
    bytes: &[u8],
    anchors: &[Certificate],
    at: SystemTime,
    opts: &VerifyOptions,
) -> Report {
    let mut st = State {
        checks: Checks(Vec::new()),
        error: None,
    };
    let mut report = Report {
        verdict: Verdict::Invalid,
        reasons: Vec::new(),
        checks: Vec::new(),
        algorithm: None,
        kind: None,
        signer: None,
        claims: None,
        error: None,
    };
    let claims = run(bytes, anchors, at, opts, &mut st, &mut report);
    let failed = st.checks.0.iter().any(|c| c.state != CheckState::Pass);
    report.verdict = if failed || st.error.is_some() {
        Verdict::Invalid
    } else {
        Verdict::Valid
    };
    report.reasons = st
        .checks
        .0
        .iter()
        .filter(|c| c.state != CheckState::Pass)
        .map(|c| format!("{}: {}", c.name, c.detail))
        .collect();
    report.checks = st.checks.0;
    if report.verdict == Verdict::Valid {
        report.claims = claims;
    }
    report.error = st.error;
    report
}

/// The checks in order; structural failures end the run, later ones are all reported.
fn run(
    bytes: &[u8],
    anchors: &[Certificate],
    at: SystemTime,
    opts: &VerifyOptions,
    st: &mut State,
    report: &mut Report,
) -> Option<Claims> {
    if bytes.len() > MAX_CREDENTIAL {
        st.fail(
            "size",
            CredentialError::TooLarge {
                len: bytes.len(),
                max: MAX_CREDENTIAL,
            },
        );
        return None;
    }
    let sign1 = match decode(bytes) {
        Ok(s) => s,
        Err(e @ CredentialError::UnknownAlgorithm(_)) => {
            st.pass("structure", "tagged COSE_Sign1");
            st.fail("headers", e);
            return None;
        }
        Err(e) => {
            st.fail("structure", e);
            return None;
        }
    };
    st.pass("structure", "tagged COSE_Sign1");
    let (alg, leaf, pool) = match headers(&sign1) {
        Ok(h) => h,
        Err(e) => {
            st.fail("headers", e);
            return None;
        }
    };
    st.pass(
        "headers",
        format!("alg {alg}, x5chain of {} certificate(s)", pool.len() + 1),
    );
    report.algorithm = Some(alg);
    let leaf = &leaf;
    report.signer = Some(leaf.subject.clone());

    let spki = &leaf.cert.tbs_certificate.subject_public_key_info;
    let key_fits = matches!(
        (alg, KeyAlgorithm::of_spki(spki)),
        (Algorithm::Es256, Ok(KeyAlgorithm::P256)) | (Algorithm::Sm2Sm3, Ok(KeyAlgorithm::Sm2))
    );
    if !opts.algorithms.contains(&alg) {
        st.fail("algorithm", CredentialError::AlgorithmNotAllowed(alg));
    } else if !key_fits {
        st.fail(
            "algorithm",
            CredentialError::UnknownAlgorithm(format!(
                "{alg} does not fit the key of {}",
                leaf.subject
            )),
        );
    } else {
        st.pass("algorithm", alg.name());
    }

    // Over the protected header as received (coset keeps its original bytes), no external AAD.
    let tbs = sign1.tbs_data(&[]);
    let sig = if sign1.signature.len() != 64 {
        Err(CredentialError::BadSignature(format!(
            "{} bytes, not the 64 of r || s",
            sign1.signature.len()
        )))
    } else {
        raw_rs_to_der(&sign1.signature)
            .and_then(|der| crate::alg::verify(spki, alg.scheme(), &tbs, &der))
            .map_err(|e| CredentialError::BadSignature(e.to_string()))
    };
    match sig {
        Ok(()) => st.pass("signature", format!("{alg} by {}", leaf.subject)),
        Err(e) => st.fail("signature", e),
    }

    let claims = match sign1.payload.as_deref().map(decode_claims) {
        Some(Ok(c)) => c,
        Some(Err(e)) => {
            st.fail("claims", e);
            return None;
        }
        None => {
            st.fail(
                "claims",
                CredentialError::Malformed("detached payload: credentials carry theirs".into()),
            );
            return None;
        }
    };
    let kind = claims.kind();
    report.kind = Some(kind);
    st.pass(
        "claims",
        format!("{kind} from {} about {}", claims.iss, claims.sub),
    );
    if let Some(expected) = opts.expect {
        if expected != kind {
            st.fail(
                "kind",
                CredentialError::WrongKind {
                    expected,
                    found: kind,
                },
            );
        }
    }

    chain_checks(leaf, &pool, anchors, &claims, st, report);
    window(&claims, unix(at), opts.leeway_secs, st);
    Some(claims)
}

/// The signer's path at `iat` for the kind's purpose, then the kind's extended key usage.
fn chain_checks(
    leaf: &Cert,
    pool: &[Cert],
    anchors: &[Certificate],
    claims: &Claims,
    st: &mut State,
    report: &mut Report,
) {
    let rule = claims.kind().spec().issuer;
    let Some(iat) = SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(claims.iat)) else {
        st.fail(
            "chain",
            CredentialError::Claims("iat is not a representable time".into()),
        );
        return;
    };
    let mut o = validate::Options::new(rule.purpose, iat);
    if rule.purpose == Purpose::Any {
        o.key_usage.push(KeyUsages::DigitalSignature);
    }
    o.ekus.extend(rule.eku);
    let path = validate::validate(leaf, pool, &validate::prepare(anchors), &o);
    if path.is_valid() {
        report.signer = Some(path.path_text());
        st.pass("chain", format!("{} at iat", path.path_text()));
    } else {
        // Indeterminate too: a chain that does not reach a given anchor is not to be relied on.
        st.fail("chain", CredentialError::Untrusted(path.summary()));
    }
    // A credential never outlives its signer's certificate: once that expires, a key that leaked
    // can mint nothing that counts, however it backdates iat.
    let not_after = unix(leaf.validity().1);
    if claims.exp > not_after {
        st.fail(
            "lifetime",
            CredentialError::Claims(format!(
                "exp {} is after the signer's certificate expires ({not_after})",
                claims.exp
            )),
        );
    }
    // `validate` lets a leaf without extendedKeyUsage through; here the usage must be there, or any
    // key the same CA certified (a TLS server, say) could speak with the platform's authority.
    if let Some(want) = rule.eku {
        match &leaf.eku {
            Some(e) if e.contains(&want) => st.pass(
                "issuer",
                format!("{} carries the {} usage", leaf.subject, claims.kind()),
            ),
            _ => st.fail(
                "issuer",
                CredentialError::NotAuthorized(format!(
                    "{} lacks extendedKeyUsage {want} ({} profile of the {} CA)",
                    leaf.subject, rule.profile, rule.ca
                )),
            ),
        }
    }
}

fn window(c: &Claims, at: u64, leeway: u64, st: &mut State) {
    let late = at.saturating_add(leeway);
    let early = at.saturating_sub(leeway);
    if c.iat > late {
        st.fail(
            "validity",
            CredentialError::IssuedInFuture { iat: c.iat, at },
        );
    } else if c.nbf > late {
        st.fail("validity", CredentialError::NotYetValid { nbf: c.nbf, at });
    } else if early >= c.exp {
        st.fail("validity", CredentialError::Expired { exp: c.exp, at });
    } else {
        st.pass("validity", format!("from {} until {}", c.nbf, c.exp));
    }
}

/// One CBOR item with bounded nesting and nothing after it.
fn read_value(bytes: &[u8], what: &str) -> Result<Value, CredentialError> {
    let mut rest = bytes;
    let v: Value = ciborium::de::from_reader_with_recursion_limit(&mut rest, MAX_DEPTH)
        .map_err(|e| CredentialError::Malformed(format!("{what}: {e}")))?;
    if !rest.is_empty() {
        return Err(CredentialError::Malformed(format!(
            "{what}: {} bytes after the CBOR item",
            rest.len()
        )));
    }
    Ok(v)
}

fn decode(bytes: &[u8]) -> Result<CoseSign1, CredentialError> {
    let v = match read_value(bytes, "COSE_Sign1")? {
        // RFC 8392 §6: a CWT may carry its tag 61 around the COSE tag.
        Value::Tag(61, inner) => *inner,
        v => v,
    };
    let Value::Tag(18, inner) = v else {
        return Err(CredentialError::Malformed(
            "not a tagged COSE_Sign1 (CBOR tag 18)".into(),
        ));
    };
    if let Value::Array(parts) = inner.as_ref() {
        if let Some(Value::Bytes(p)) = parts.first() {
            precheck_protected(p)?;
        }
    }
    CoseSign1::from_cbor_value(*inner)
        .map_err(|e| CredentialError::Malformed(format!("COSE_Sign1: {e}")))
}

/// The protected header read with our nesting cap before coset reads it with its own, and its
/// `alg` looked at first, so an unregistered id is called an unknown algorithm, not bad CBOR.
fn precheck_protected(p: &[u8]) -> Result<(), CredentialError> {
    if p.is_empty() {
        return Ok(());
    }
    let Value::Map(entries) = read_value(p, "protected header")? else {
        return Err(CredentialError::Malformed(
            "protected header is not a map".into(),
        ));
    };
    let alg = entries
        .iter()
        .find(|(k, _)| *k == Value::Integer(1.into()))
        .map(|(_, v)| v);
    if let Some(Value::Integer(i)) = alg {
        let known = i64::try_from(*i).ok().and_then(Algorithm::from_cose_id);
        if known.is_none() {
            return Err(CredentialError::UnknownAlgorithm(format!(
                "{} is not ES256 (-7) or SM2-SM3 ({})",
                i128::from(*i),
                super::ALG_SM2_SM3
            )));
        }
    }
    Ok(())
}

fn decode_claims(payload: &[u8]) -> Result<Claims, CredentialError> {
    let v = read_value(payload, "claims")?;
    let set = coset::cwt::ClaimsSet::from_cbor_value(v)
        .map_err(|e| CredentialError::Claims(format!("not a CWT claims set: {e}")))?;
    Claims::from_claims_set(set)
}

/// `alg` and `x5chain` (leaf, then the rest), both from the protected header only; no critical
/// headers.
fn headers(s: &CoseSign1) -> Result<(Algorithm, Cert, Vec<Cert>), CredentialError> {
    let h = &s.protected.header;
    let bad = |m: &str| CredentialError::Header(m.into());
    if !h.crit.is_empty() {
        return Err(bad("critical header parameters are not understood"));
    }
    if s.unprotected.alg.is_some()
        || s.unprotected
            .rest
            .iter()
            .any(|(l, _)| *l == Label::Int(X5CHAIN))
    {
        return Err(bad("alg and x5chain belong in the protected header only"));
    }
    let alg = match &h.alg {
        None => return Err(bad("no alg")),
        Some(coset::Algorithm::Assigned(a)) => Algorithm::from_cose_id(*a as i64),
        Some(coset::Algorithm::PrivateUse(i)) => Algorithm::from_cose_id(*i),
        Some(coset::Algorithm::Text(_)) => None,
    }
    .ok_or_else(|| {
        CredentialError::UnknownAlgorithm(format!("{:?} is not ES256 or SM2-SM3", h.alg))
    })?;
    let x5 = h
        .rest
        .iter()
        .find(|(l, _)| *l == Label::Int(X5CHAIN))
        .map(|(_, v)| v)
        .ok_or_else(|| bad("no x5chain"))?;
    let ders: Vec<&Vec<u8>> = match x5 {
        Value::Bytes(b) => vec![b],
        Value::Array(a) if !a.is_empty() && a.len() <= MAX_CHAIN => a
            .iter()
            .map(|v| match v {
                Value::Bytes(b) => Ok(b),
                _ => Err(bad("x5chain holds something other than a bstr")),
            })
            .collect::<Result<_, _>>()?,
        Value::Array(_) => {
            return Err(CredentialError::Certificate(format!(
                "x5chain must hold 1 to {MAX_CHAIN} certificates"
            )))
        }
        _ => return Err(bad("x5chain is neither a bstr nor an array")),
    };
    let mut chain = ders
        .iter()
        .enumerate()
        .map(|(i, d)| {
            Cert::from_der(d)
                .map_err(|e| CredentialError::Certificate(format!("certificate {i}: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if chain.is_empty() {
        return Err(bad("x5chain is empty"));
    }
    let leaf = chain.remove(0);
    Ok((alg, leaf, chain))
}
