//! RFC 5280 §6 certification path validation — the one validator every verifier here uses (PDF
//! signatures and document timestamps, GB/T 38540 seals, timestamp tokens, OCSP responders, CRL
//! issuers, audit checkpoints, `cert verify`).
//!
//! Paths are built from the leaf over trust anchors and untrusted certificates (several candidates
//! per issuer, AKI/SKI used to skip wrong ones, cycles cut, a depth limit and a work budget); each
//! complete path is then processed as §6.1 says: the signature of every link over the bytes as
//! received, validity at the evaluation time, basicConstraints (cA, critical) and pathLenConstraint,
//! keyUsage keyCertSign on CAs, name constraints, unknown critical extensions, and the leaf's key
//! usage and extended key usage for the purpose asked. The first path that passes is the answer;
//! otherwise the report keeps every finding of the best failing path. No I/O: revocation data is
//! handed in ([`revocation`]).

mod cert;
pub mod names;
pub mod revocation;
pub mod sig;

use std::time::SystemTime;

use const_oid::db::rfc5280 as ids;
use const_oid::ObjectIdentifier as Oid;
use x509_cert::ext::pkix::KeyUsages;
use x509_cert::Certificate;

use crate::report::{rfc3339, Checks};
pub use crate::report::{Check, CheckState, Verdict};
pub use cert::Cert;

/// id-kp-documentSigning (RFC 9336).
pub const ID_KP_DOCUMENT_SIGNING: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.3.36");
/// Adobe Authentic Documents Trust, and Microsoft's document signing: seen on PDF signers.
const ADOBE_AUTHENTIC_DOCUMENTS: Oid = Oid::new_unwrap("1.2.840.113583.1.1.5");
const MS_DOCUMENT_SIGNING: Oid = Oid::new_unwrap("1.3.6.1.4.1.311.10.3.12");

/// What the leaf's key is being relied on for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Purpose {
    /// No usage requirement on the leaf beyond what the caller adds.
    Any,
    /// Signing documents and seals (PAdES, CMS, GB/T 38540 signers and seal makers): keyUsage
    /// digitalSignature or nonRepudiation; an extendedKeyUsage, when present, must allow it.
    DocumentSigning,
    /// RFC 3161 §2.3: extendedKeyUsage critical and timeStamping only.
    TimeStamping,
    /// A delegated OCSP responder (RFC 6960 §4.2.2.2): OCSPSigning.
    OcspSigning,
    /// The issuer of a CRL: keyUsage cRLSign.
    CrlSigning,
    ServerAuth,
    ClientAuth,
}

impl Purpose {
    pub fn name(self) -> &'static str {
        match self {
            Purpose::Any => "any",
            Purpose::DocumentSigning => "document signing",
            Purpose::TimeStamping => "time stamping",
            Purpose::OcspSigning => "OCSP signing",
            Purpose::CrlSigning => "CRL signing",
            Purpose::ServerAuth => "TLS server",
            Purpose::ClientAuth => "TLS client",
        }
    }

    pub const ALL: [Purpose; 7] = [
        Purpose::Any,
        Purpose::DocumentSigning,
        Purpose::TimeStamping,
        Purpose::OcspSigning,
        Purpose::CrlSigning,
        Purpose::ServerAuth,
        Purpose::ClientAuth,
    ];

    /// The name on the command line and in JSON.
    pub fn id(self) -> &'static str {
        match self {
            Purpose::Any => "any",
            Purpose::DocumentSigning => "document-signing",
            Purpose::TimeStamping => "time-stamping",
            Purpose::OcspSigning => "ocsp-signing",
            Purpose::CrlSigning => "crl-signing",
            Purpose::ServerAuth => "server-auth",
            Purpose::ClientAuth => "client-auth",
        }
    }

    pub fn from_id(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.id() == s)
    }

    /// The extended key usages that grant this purpose (empty: none needed).
    fn ekus(self) -> &'static [Oid] {
        match self {
            Purpose::DocumentSigning => &[
                ID_KP_DOCUMENT_SIGNING,
                ids::ID_KP_EMAIL_PROTECTION,
                ADOBE_AUTHENTIC_DOCUMENTS,
                MS_DOCUMENT_SIGNING,
            ],
            Purpose::TimeStamping => &[ids::ID_KP_TIME_STAMPING],
            Purpose::OcspSigning => &[ids::ID_KP_OCSP_SIGNING],
            Purpose::ServerAuth => &[ids::ID_KP_SERVER_AUTH],
            Purpose::ClientAuth => &[ids::ID_KP_CLIENT_AUTH],
            Purpose::Any | Purpose::CrlSigning => &[],
        }
    }
}

/// How to validate.
#[derive(Clone, Debug)]
pub struct Options {
    /// The evaluation time: every certificate must be valid then.
    pub at: SystemTime,
    pub purpose: Purpose,
    /// Further extended key usages the leaf must allow (when it has the extension).
    pub ekus: Vec<Oid>,
    /// Key usage bits the leaf must have (when it has the extension).
    pub key_usage: Vec<KeyUsages>,
    /// At most this many certificates between the leaf and the trust anchor.
    pub max_depth: usize,
    /// A host name or IP address the leaf's subjectAltName must name.
    pub hostname: Option<String>,
    /// Mailboxes the leaf's subjectAltName must all name (rfc822Name).
    pub email: Vec<String>,
}

impl Options {
    pub fn new(purpose: Purpose, at: SystemTime) -> Self {
        Options {
            at,
            purpose,
            ekus: Vec::new(),
            key_usage: Vec::new(),
            max_depth: 8,
            hostname: None,
            email: Vec::new(),
        }
    }
}

/// Options as text (the command line, an HTTP request), before they are checked.
#[derive(Clone, Debug, Default)]
pub struct OptionsText {
    pub at: Option<String>,
    pub purpose: Option<String>,
    pub ekus: Vec<String>,
    pub key_usage: Vec<String>,
    pub max_depth: Option<usize>,
    pub hostname: Option<String>,
    pub email: Vec<String>,
}

impl Options {
    /// Options from text, each bad value named.
    pub fn parse(t: OptionsText) -> Result<Options, String> {
        let OptionsText {
            at,
            purpose,
            ekus,
            key_usage,
            max_depth,
            hostname,
            email,
        } = t;
        let purpose = purpose.as_deref().unwrap_or("any");
        let max_depth = max_depth.unwrap_or(8);
        let at = match at.as_deref() {
            None => SystemTime::now(),
            Some(s) => parse_rfc3339(s).ok_or_else(|| {
                format!("at: {s:?} is not an RFC 3339 time (like 2026-12-01T10:00:00Z)")
            })?,
        };
        let purpose = Purpose::from_id(purpose).ok_or_else(|| {
            format!(
                "purpose: {purpose:?} is not one of {}",
                Purpose::ALL.map(Purpose::id).join(", ")
            )
        })?;
        let mut o = Options::new(purpose, at);
        for e in ekus {
            o.ekus.push(
                e.parse()
                    .map_err(|_| format!("eku: {e:?} is not a dotted OID"))?,
            );
        }
        for k in &key_usage {
            o.key_usage.push(
                key_usage_bit(k)
                    .ok_or_else(|| format!("key usage: {k:?} is not an RFC 5280 keyUsage name"))?,
            );
        }
        if max_depth > 255 {
            return Err("max depth: at most 255".into());
        }
        o.max_depth = max_depth;
        if let Some(h) = &hostname {
            if h.is_empty() || h.len() > 253 {
                return Err("hostname: empty or longer than 253 characters".into());
            }
        }
        o.hostname = hostname;
        for m in &email {
            if !m.contains('@') || m.len() > 254 {
                return Err(format!("email: {m:?} is not a mailbox"));
            }
        }
        o.email = email;
        Ok(o)
    }
}

/// The outcome: the path chosen (the valid one, or the failing one that got furthest) and every
/// finding on it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct PathReport {
    pub verdict: Verdict,
    /// Subjects from the leaf to the trust anchor.
    pub path: Vec<String>,
    pub checks: Vec<Check>,
    /// The checks that failed or stayed unknown, in words.
    pub reasons: Vec<String>,
    /// Complete paths to an anchor that were evaluated.
    pub paths_tried: usize,
    #[serde(skip)]
    pub certs: Vec<Certificate>,
}

impl PathReport {
    pub fn is_valid(&self) -> bool {
        self.verdict == Verdict::Valid
    }

    /// The path as one line, leaf first.
    pub fn path_text(&self) -> String {
        self.path.join(" ← ")
    }

    /// "valid: path" or the first reason.
    pub fn summary(&self) -> String {
        match self.verdict {
            Verdict::Valid => self.path_text(),
            _ => self.reasons.join("; "),
        }
    }

    /// No path: indeterminate, for the reason given.
    pub fn unknown(detail: String) -> Self {
        PathReport {
            verdict: Verdict::Indeterminate,
            path: Vec::new(),
            checks: vec![Check {
                name: "path",
                state: CheckState::Unknown,
                detail: detail.clone(),
            }],
            reasons: vec![detail],
            paths_tried: 0,
            certs: Vec::new(),
        }
    }
}

/// Certificates decoded for validation; those that do not decode are dropped (an untrusted pool may
/// hold anything).
pub fn prepare(certs: &[Certificate]) -> Vec<Cert> {
    certs
        .iter()
        .filter_map(|c| Cert::from_cert(c).ok())
        .collect()
}

/// [`validate`] for decoded certificates (the form CMS and the DSS give them in).
pub fn validate_certs(
    leaf: &Certificate,
    pool: &[Certificate],
    anchors: &[Certificate],
    opts: &Options,
) -> PathReport {
    match Cert::from_cert(leaf) {
        Ok(l) => validate(&l, &prepare(pool), &prepare(anchors), opts),
        Err(e) => PathReport::unknown(format!("the certificate cannot be read: {e}")),
    }
}

/// Validate `leaf` to one of `anchors`, with `pool` as untrusted helpers.
pub fn validate(leaf: &Cert, pool: &[Cert], anchors: &[Cert], opts: &Options) -> PathReport {
    if anchors.is_empty() {
        return PathReport::unknown(format!("no trust anchors given for {}", leaf.subject));
    }
    let mut b = Builder {
        leaf,
        all: anchors.iter().chain(pool.iter()).collect(),
        anchors: anchors.len(),
        opts,
        budget: 2_000,
        sig_cache: Vec::new(),
        best: None,
        tried: 0,
        misses: Vec::new(),
    };
    // A leaf that is itself a trust anchor is a path of one.
    if anchors.iter().any(|a| a.der == leaf.der) {
        let r = b.evaluate(&[]);
        return r;
    }
    let mut stack = Vec::new();
    if let Some(r) = b.search(None, &mut stack) {
        return r;
    }
    if let Some(mut r) = b.best.take() {
        r.paths_tried = b.tried;
        return r;
    }
    let mut detail = format!("no chain from {} to a trust anchor", leaf.subject);
    if !b.misses.is_empty() {
        b.misses.dedup();
        detail.push_str(&format!(" ({})", b.misses.join("; ")));
    }
    if b.budget == 0 {
        detail.push_str(" (path building gave up: too many candidates)");
    }
    PathReport::unknown(detail)
}

struct Builder<'a> {
    leaf: &'a Cert,
    /// Anchors first, then the pool.
    all: Vec<&'a Cert>,
    anchors: usize,
    opts: &'a Options,
    budget: usize,
    /// (child index or None for the leaf, parent index) → signature verified.
    sig_cache: Vec<((Option<usize>, usize), bool)>,
    best: Option<PathReport>,
    tried: usize,
    misses: Vec<String>,
}

impl<'a> Builder<'a> {
    fn cert(&self, i: Option<usize>) -> &'a Cert {
        match i {
            None => self.leaf,
            Some(i) => self.all[i],
        }
    }

    fn signed(&mut self, child: Option<usize>, parent: usize) -> bool {
        if let Some((_, ok)) = self.sig_cache.iter().find(|(k, _)| *k == (child, parent)) {
            return *ok;
        }
        let c = self.cert(child);
        let p = self.all[parent];
        let ok = match c.cert.signature.as_bytes() {
            Some(s) => sig::verify(
                &p.cert.tbs_certificate.subject_public_key_info,
                &c.cert.signature_algorithm,
                &c.tbs,
                s,
            )
            .map_err(|e| {
                self.misses
                    .push(format!("{} as issuer of {}: {e}", p.subject, c.subject))
            })
            .is_ok(),
            None => false,
        };
        self.sig_cache.push(((child, parent), ok));
        ok
    }

    /// Depth-first over issuer candidates; `stack` holds the indexes above the leaf so far.
    fn search(&mut self, current: Option<usize>, stack: &mut Vec<usize>) -> Option<PathReport> {
        let cur = self.cert(current);
        let mut candidates = Vec::new();
        for i in 0..self.all.len() {
            let p = self.all[i];
            if !names::names_match(
                &p.cert.tbs_certificate.subject,
                &cur.cert.tbs_certificate.issuer,
            ) || p.der == cur.der
                || p.der == self.leaf.der
                || stack.iter().any(|&s| self.all[s].der == p.der)
            {
                continue;
            }
            // AKI/SKI: when both are there, they must agree.
            if let (Some(a), Some(k)) = (&cur.aki, &p.ski) {
                if a != k {
                    self.misses.push(format!(
                        "{} is not the issuer of {}: its subjectKeyIdentifier differs from the authorityKeyIdentifier",
                        p.subject, cur.subject
                    ));
                    continue;
                }
            }
            candidates.push(i);
        }
        // Anchors first, and an anchor ends the path; the same certificate may be in both lists.
        for i in candidates {
            if self.budget == 0 {
                return None;
            }
            self.budget -= 1;
            let is_anchor = i < self.anchors
                || self.all[..self.anchors]
                    .iter()
                    .any(|a| a.der == self.all[i].der);
            // Self-issued certificates (key rollover links) do not count towards the depth.
            let depth = stack
                .iter()
                .filter(|&&s| !self.all[s].self_issued())
                .count();
            if !is_anchor && !self.all[i].self_issued() && depth >= self.opts.max_depth {
                self.misses.push(format!(
                    "more than {} intermediate certificates needed",
                    self.opts.max_depth
                ));
                continue;
            }
            if !self.signed(current, i) {
                continue;
            }
            stack.push(i);
            if is_anchor {
                let r = self.evaluate(stack);
                self.tried += 1;
                if r.is_valid() {
                    let mut r = r;
                    r.paths_tried = self.tried;
                    return Some(r);
                }
                let better = self
                    .best
                    .as_ref()
                    .is_none_or(|b| r.path.len() > b.path.len());
                if better {
                    self.best = Some(r);
                }
            } else if let Some(r) = self.search(Some(i), stack) {
                return Some(r);
            }
            stack.pop();
        }
        None
    }

    /// RFC 5280 §6.1 over leaf + `stack` (the last is the anchor; empty: the leaf is the anchor).
    fn evaluate(&self, stack: &[usize]) -> PathReport {
        let opts = self.opts;
        let mut path: Vec<&Cert> = vec![self.leaf];
        path.extend(stack.iter().map(|&i| self.all[i]));
        let n = path.len();
        let mut checks = Checks(Vec::new());
        let mut reasons = Vec::new();
        let mut fail = |checks: &mut Checks, name: &'static str, d: String| {
            checks.add(name, CheckState::Fail, d.clone());
            reasons.push(d);
        };
        let at = opts.at;

        // Every certificate on its own.
        for (i, c) in path.iter().enumerate() {
            let (nb, na) = c.validity();
            if at < nb || at > na {
                fail(
                    &mut checks,
                    "validity",
                    format!(
                        "{} is not valid at {} (valid {} to {})",
                        c.subject,
                        rfc3339(at),
                        rfc3339(nb),
                        rfc3339(na)
                    ),
                );
            }
            for p in &c.problems {
                fail(&mut checks, "certificate", format!("{}: {p}", c.subject));
            }
            if i == 0 || i + 1 < n {
                for p in &c.issued_problems {
                    fail(&mut checks, "certificate", format!("{}: {p}", c.subject));
                }
            }
            // RFC 5280 §4.2.1.1: every certificate but a self-signed anchor names its issuer's key.
            if !c.has_aki && !c.self_issued() {
                fail(
                    &mut checks,
                    "certificate",
                    format!("{}: no authorityKeyIdentifier", c.subject),
                );
            }
            if i > 0 {
                for p in &c.ca_problems {
                    fail(&mut checks, "ca", format!("{} as a CA: {p}", c.subject));
                }
            }
        }
        if n > 1 {
            checks.add(
                "signatures",
                CheckState::Pass,
                format!("{} link signature(s) verify", n - 1),
            );
        }

        // From the anchor down: path length and name constraints.
        let mut max_len: Option<u8> = None;
        let mut nc = names::Constraints::default();
        for i in (0..n).rev() {
            let c = path[i];
            let is_anchor = i == n - 1;
            if i > 0 && !is_anchor && !c.self_issued() {
                // An intermediate: one more CA below the bound set so far.
                match max_len {
                    Some(0) => fail(
                        &mut checks,
                        "path-length",
                        format!(
                            "{} is one CA too many for the pathLenConstraint above it",
                            c.subject
                        ),
                    ),
                    Some(m) => max_len = Some(m - 1),
                    None => {}
                }
            }
            if i < n - 1 && (i == 0 || !c.self_issued()) && !nc.is_empty() {
                let s = names::Subject::of(&c.cert.tbs_certificate.subject, &c.san);
                if let Err(e) = nc.check(&s) {
                    fail(
                        &mut checks,
                        "name-constraints",
                        format!("{}: {e}", c.subject),
                    );
                }
            }
            if i > 0 {
                if let Some(p) = c.bc.as_ref().and_then(|b| b.path_len_constraint) {
                    max_len = Some(max_len.map_or(p, |m| m.min(p)));
                }
                if let Some((p, e)) = &c.nc {
                    nc.add(p.as_deref(), e.as_deref());
                }
            }
            // A CA restricted to some extended key usages passes on only those.
            if i > 0 && !opts.purpose.ekus().is_empty() && opts.purpose != Purpose::DocumentSigning
            {
                if let Some(e) = &c.eku {
                    if !e.contains(&ids::ANY_EXTENDED_KEY_USAGE)
                        && !opts.purpose.ekus().iter().any(|p| e.contains(p))
                    {
                        fail(
                            &mut checks,
                            "extended-key-usage",
                            format!(
                                "{} restricts its subordinates to other extended key usages than {}",
                                c.subject,
                                opts.purpose.name()
                            ),
                        );
                    }
                }
            }
        }

        // The leaf, for the purpose asked.
        let leaf = self.leaf;
        for (name, d) in purpose_findings(leaf, opts) {
            fail(&mut checks, name, d);
        }
        for m in &opts.email {
            if !names::mailbox_matches(&leaf.san, m) {
                fail(
                    &mut checks,
                    "email",
                    format!("{} does not name {m} in its subjectAltName", leaf.subject),
                );
            }
        }
        if let Some(h) = &opts.hostname {
            if !names::host_matches(&leaf.san, h) {
                fail(
                    &mut checks,
                    "host-name",
                    format!("{} does not name {h} in its subjectAltName", leaf.subject),
                );
            }
        }

        let failed = checks.0.iter().any(|c| c.state == CheckState::Fail);
        if !failed {
            checks.add(
                "path",
                CheckState::Pass,
                format!(
                    "{} chains to trust anchor {} ({} at {})",
                    leaf.subject,
                    path[n - 1].subject,
                    opts.purpose.name(),
                    rfc3339(at)
                ),
            );
        }
        PathReport {
            verdict: if failed {
                Verdict::Invalid
            } else {
                Verdict::Valid
            },
            path: path.iter().map(|c| c.subject.clone()).collect(),
            checks: checks.0,
            reasons,
            paths_tried: 1,
            certs: path.iter().map(|c| c.cert.clone()).collect(),
        }
    }
}

/// What the leaf lacks for the purpose and the usages asked.
fn purpose_findings(leaf: &Cert, opts: &Options) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let s = &leaf.subject;
    let p = opts.purpose;
    let signing = matches!(
        p,
        Purpose::DocumentSigning | Purpose::TimeStamping | Purpose::OcspSigning
    );
    if signing
        && leaf.ku.is_some()
        && !leaf.has_ku(KeyUsages::DigitalSignature)
        && !leaf.has_ku(KeyUsages::NonRepudiation)
    {
        out.push((
            "key-usage",
            format!(
                "{s}: keyUsage allows neither digitalSignature nor nonRepudiation ({} needs one)",
                p.name()
            ),
        ));
    }
    if p == Purpose::CrlSigning && !leaf.has_ku(KeyUsages::CRLSign) && leaf.ku.is_some() {
        out.push(("key-usage", format!("{s}: keyUsage lacks cRLSign")));
    }
    for bit in &opts.key_usage {
        if leaf.ku.is_some() && !leaf.has_ku(*bit) {
            out.push(("key-usage", format!("{s}: keyUsage lacks {bit:?}")));
        }
    }
    let any = leaf
        .eku
        .as_ref()
        .is_some_and(|e| e.contains(&ids::ANY_EXTENDED_KEY_USAGE));
    match p {
        Purpose::TimeStamping => match &leaf.eku {
            Some(e) if e == &[ids::ID_KP_TIME_STAMPING] && leaf.eku_critical => {}
            Some(e) if e.contains(&ids::ID_KP_TIME_STAMPING) => out.push((
                "extended-key-usage",
                format!("{s}: a TSA's extendedKeyUsage must be critical and timeStamping only (RFC 3161)"),
            )),
            _ => out.push((
                "extended-key-usage",
                format!("{s}: no timeStamping extended key usage: not a TSA"),
            )),
        },
        Purpose::OcspSigning => {
            if !leaf
                .eku
                .as_ref()
                .is_some_and(|e| e.contains(&ids::ID_KP_OCSP_SIGNING))
            {
                out.push((
                    "extended-key-usage",
                    format!("{s}: no OCSPSigning extended key usage: not an OCSP responder"),
                ));
            }
        }
        _ => {
            if let Some(e) = &leaf.eku {
                let wanted = p.ekus();
                if !wanted.is_empty() && !any && !wanted.iter().any(|w| e.contains(w)) {
                    out.push((
                        "extended-key-usage",
                        format!(
                            "{s}: extendedKeyUsage {} does not allow {}",
                            e.iter().map(eku_name).collect::<Vec<_>>().join(", "),
                            p.name()
                        ),
                    ));
                }
            }
        }
    }
    for want in &opts.ekus {
        if let Some(e) = &leaf.eku {
            if !any && !e.contains(want) {
                out.push((
                    "extended-key-usage",
                    format!("{s}: extendedKeyUsage lacks {}", eku_name(want)),
                ));
            }
        }
    }
    out
}

/// A known extended key usage by name, else its OID.
pub fn eku_name(o: &Oid) -> String {
    match *o {
        ids::ID_KP_SERVER_AUTH => "serverAuth".into(),
        ids::ID_KP_CLIENT_AUTH => "clientAuth".into(),
        ids::ID_KP_CODE_SIGNING => "codeSigning".into(),
        ids::ID_KP_EMAIL_PROTECTION => "emailProtection".into(),
        ids::ID_KP_TIME_STAMPING => "timeStamping".into(),
        ids::ID_KP_OCSP_SIGNING => "OCSPSigning".into(),
        ids::ANY_EXTENDED_KEY_USAGE => "anyExtendedKeyUsage".into(),
        ID_KP_DOCUMENT_SIGNING => "documentSigning".into(),
        other => other.to_string(),
    }
}

/// A key usage bit from its RFC 5280 name.
pub fn key_usage_bit(name: &str) -> Option<KeyUsages> {
    Some(match name {
        "digitalSignature" => KeyUsages::DigitalSignature,
        "nonRepudiation" | "contentCommitment" => KeyUsages::NonRepudiation,
        "keyEncipherment" => KeyUsages::KeyEncipherment,
        "dataEncipherment" => KeyUsages::DataEncipherment,
        "keyAgreement" => KeyUsages::KeyAgreement,
        "keyCertSign" => KeyUsages::KeyCertSign,
        "cRLSign" => KeyUsages::CRLSign,
        "encipherOnly" => KeyUsages::EncipherOnly,
        "decipherOnly" => KeyUsages::DecipherOnly,
        _ => return None,
    })
}

/// Everything `cert verify` and `POST /api/v1/certificates/verify` are given, as DER.
pub struct Request<'a> {
    pub leaf: &'a [u8],
    pub trust: &'a [Vec<u8>],
    pub untrusted: &'a [Vec<u8>],
    pub crls: &'a [Vec<u8>],
    pub ocsp: &'a [Vec<u8>],
    pub options: Options,
}

/// The path and, when revocation data was given, every certificate's status.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Outcome {
    pub verdict: Verdict,
    pub subject: String,
    pub at: String,
    pub purpose: Purpose,
    #[serde(flatten)]
    pub path: PathReport,
    pub revocation: Option<revocation::Report>,
}

impl Outcome {
    /// The readable form: verdict, path, then every check that did not pass.
    pub fn to_text(&self) -> String {
        let word = match self.verdict {
            Verdict::Valid => "VALID",
            Verdict::Invalid => "INVALID",
            Verdict::Indeterminate => "INDETERMINATE",
        };
        let mut s = format!("{word}: {}\n", self.subject);
        if !self.path.path.is_empty() {
            s += &format!("  path: {}\n", self.path.path_text());
        }
        s += &format!("  purpose: {}, at {}\n", self.purpose.name(), self.at);
        let word = |st: CheckState| match st {
            CheckState::Pass => "ok",
            CheckState::Fail => "FAIL",
            CheckState::Unknown => "UNKNOWN",
        };
        for c in &self.path.checks {
            if c.state != CheckState::Pass {
                s += &format!("  {:7} {}: {}\n", word(c.state), c.name, c.detail);
            }
        }
        if let Some(r) = &self.revocation {
            s += &format!("  {:7} revocation: {}\n", word(r.state), r.detail);
            for c in r
                .certificates
                .iter()
                .filter(|c| c.state != CheckState::Pass)
            {
                s += &format!("          {}\n", c.detail);
            }
        }
        s
    }
}

/// Why a request could not be evaluated (unreadable input).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    #[error("the certificate: {0}")]
    Leaf(String),
    #[error("trusted certificate {0}: {1}")]
    Trust(usize, String),
    #[error("untrusted certificate {0}: {1}")]
    Untrusted(usize, String),
    #[error("CRL {0}: {1}")]
    Crl(usize, String),
}

/// Validate a request; revocation is required (and its absence indeterminate) when CRLs or OCSP
/// answers are given.
pub fn check(req: &Request<'_>) -> Result<Outcome, RequestError> {
    let leaf = match Cert::from_der(req.leaf) {
        Ok(l) => l,
        // DER that has a certificate's shape but breaks its rules (a 21-octet serial, say) is an
        // invalid certificate, not unreadable input.
        Err(e) if sig::first_element(req.leaf).is_some() && req.leaf.first() == Some(&0x30) => {
            let mut path = PathReport::unknown(String::new());
            path.verdict = Verdict::Invalid;
            path.checks = vec![Check {
                name: "certificate",
                state: CheckState::Fail,
                detail: e.clone(),
            }];
            path.reasons = vec![e];
            return Ok(Outcome {
                verdict: Verdict::Invalid,
                subject: "(malformed certificate)".into(),
                at: rfc3339(req.options.at),
                purpose: req.options.purpose,
                path,
                revocation: None,
            });
        }
        Err(e) => return Err(RequestError::Leaf(e)),
    };
    let load = |list: &[Vec<u8>], e: fn(usize, String) -> RequestError| {
        list.iter()
            .enumerate()
            .map(|(i, d)| Cert::from_der(d).map_err(|m| e(i + 1, m)))
            .collect::<Result<Vec<_>, _>>()
    };
    let anchors = load(req.trust, RequestError::Trust)?;
    let pool = load(req.untrusted, RequestError::Untrusted)?;
    for (i, c) in req.crls.iter().enumerate() {
        revocation::Crl::from_der(c).map_err(|m| RequestError::Crl(i + 1, m))?;
    }
    let opts = &req.options;
    let path = validate(&leaf, &pool, &anchors, opts);
    let mut verdict = path.verdict;
    let revocation =
        (path.is_valid() && (!req.crls.is_empty() || !req.ocsp.is_empty())).then(|| {
            let data = revocation::Data {
                crls: req.crls,
                ocsp: req.ocsp,
            };
            revocation::check_path(&path.certs, &data, opts.at)
        });
    if let Some(r) = &revocation {
        verdict = match r.state {
            CheckState::Pass => Verdict::Valid,
            CheckState::Fail => Verdict::Invalid,
            CheckState::Unknown => Verdict::Indeterminate,
        };
    }
    Ok(Outcome {
        verdict,
        subject: leaf.subject.clone(),
        at: rfc3339(opts.at),
        purpose: opts.purpose,
        path,
        revocation,
    })
}

/// RFC 3339 date-time (`2026-12-01T10:00:00Z`, fractions and ±HH:MM offsets accepted).
pub fn parse_rfc3339(s: &str) -> Option<SystemTime> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let t = s.get(r)?;
        t.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| t.parse().ok())?
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let mut rest = &s[19..];
    if let Some(r) = rest.strip_prefix('.') {
        let digits = r.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = &r[digits..];
    }
    let offset: i64 = match rest {
        "Z" | "z" => 0,
        o if o.len() == 6 && (o.starts_with('+') || o.starts_with('-')) && &o[3..4] == ":" => {
            let oh: i64 = o[1..3].parse().ok()?;
            let om: i64 = o[4..6].parse().ok()?;
            let v = oh * 3600 + om * 60;
            if o.starts_with('+') {
                v
            } else {
                -v
            }
        }
        _ => return None,
    };
    let dt = der::DateTime::new(
        u16::try_from(y).ok()?,
        u8::try_from(mo).ok()?,
        u8::try_from(d).ok()?,
        u8::try_from(h).ok()?,
        u8::try_from(mi).ok()?,
        u8::try_from(se.min(59)).ok()?,
    )
    .ok()?;
    let t = dt.unix_duration().as_secs() as i64 - offset;
    u64::try_from(t)
        .ok()
        .map(|t| SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_times() {
        let t = parse_rfc3339("2026-12-01T10:00:00Z").unwrap();
        assert_eq!(rfc3339(t), "2026-12-01T10:00:00Z");
        assert_eq!(parse_rfc3339("2026-12-01T18:00:00.5+08:00"), Some(t));
        assert_eq!(parse_rfc3339("2026-12-01"), None);
        assert_eq!(parse_rfc3339("2026-13-01T10:00:00Z"), None);
        assert_eq!(parse_rfc3339("2026-12-01T10:00:00"), None);
    }
}
