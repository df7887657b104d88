//! `sealpki cert verify` (RFC 5280 path validation) on certificates made by `openssl`, case by case
//! beside `openssl verify -x509_strict` on the same files: both must reach the expected answer, so
//! every case is checked by a validator we did not write.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{bin, run};

/// A scratch directory of openssl-made keys and certificates.
struct Pki {
    dir: tempfile::TempDir,
}

/// One certificate to make: its name, issuer (None: self-signed), validity and extensions.
struct Spec<'a> {
    name: &'a str,
    subject: &'a str,
    issuer: Option<&'a str>,
    days: u32,
    ext: &'a str,
}

impl Pki {
    fn new() -> Self {
        Pki {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn p(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn key(&self, name: &str) -> PathBuf {
        let k = self.p(&format!("{name}.key"));
        if !k.exists() {
            common::openssl_p256_key(&k);
        }
        k
    }

    /// Make a certificate with exactly the extensions given (an openssl extension section body).
    fn make(&self, s: &Spec<'_>) -> PathBuf {
        let key = self.key(s.name);
        let cfg = self.p(&format!("{}.cnf", s.name));
        std::fs::write(
            &cfg,
            format!(
                "[req]\ndistinguished_name=dn\nprompt=no\n[dn]\n[ext]\n{}\n",
                s.ext
            ),
        )
        .unwrap();
        let csr = self.p(&format!("{}.csr", s.name));
        let o = run(Command::new("openssl")
            .args(["req", "-new", "-key"])
            .arg(&key)
            .args(["-subj", s.subject, "-config"])
            .arg(&cfg)
            .arg("-out")
            .arg(&csr));
        assert!(o.status.success(), "req {}: {o:?}", s.name);
        let out = self.p(&format!("{}.pem", s.name));
        let mut c = Command::new("openssl");
        c.args(["x509", "-req", "-sha256", "-in"]).arg(&csr);
        match s.issuer {
            None => c.arg("-signkey").arg(&key),
            Some(i) => c
                .arg("-CA")
                .arg(self.p(&format!("{i}.pem")))
                .arg("-CAkey")
                .arg(self.key(i))
                .arg("-CAcreateserial"),
        };
        c.args(["-days", &s.days.to_string(), "-extfile"])
            .arg(&cfg)
            .args(["-extensions", "ext", "-out"])
            .arg(&out);
        let o = run(&mut c);
        assert!(o.status.success(), "x509 {}: {o:?}", s.name);
        out
    }

    fn cat(&self, name: &str, parts: &[&str]) -> PathBuf {
        let out = self.p(name);
        let text: String = parts
            .iter()
            .map(|p| std::fs::read_to_string(self.p(&format!("{p}.pem"))).unwrap())
            .collect();
        std::fs::write(&out, text).unwrap();
        out
    }
}

const CA: &str = "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid";
const ROOT: &str = "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash";
const LEAF: &str = "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid";

/// A validation case: the leaf, its trust anchors and intermediates, extra flags for each tool, and
/// the answer both must give.
struct Case<'a> {
    name: &'a str,
    leaf: &'a str,
    trust: &'a [&'a str],
    untrusted: &'a [&'a str],
    ours: &'a [&'a str],
    openssl: &'a [&'a str],
    /// Our exit code: 0 valid, 1 invalid, 2 indeterminate.
    exit: i32,
    /// The detail our report must name when not valid.
    says: &'a str,
}

#[test]
fn path_validation_agrees_with_openssl_x509_strict() {
    let pki = Pki::new();
    let specs = [
        Spec { name: "root", subject: "/CN=Test Root/O=t/C=CN", issuer: None, days: 30, ext: ROOT },
        Spec { name: "other-root", subject: "/CN=Other Root/O=t/C=CN", issuer: None, days: 30, ext: ROOT },
        Spec { name: "int", subject: "/CN=Issuing CA/O=t/C=CN", issuer: Some("root"), days: 30, ext: CA },
        Spec { name: "leaf", subject: "/CN=Seal/O=Acme/C=CN", issuer: Some("int"), days: 20, ext: LEAF },
        // CA defects.
        Spec { name: "int-nobc", subject: "/CN=No BC CA/O=t/C=CN", issuer: Some("root"), days: 30, ext: "keyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid" },
        Spec { name: "leaf-nobc", subject: "/CN=Under No BC/O=t/C=CN", issuer: Some("int-nobc"), days: 20, ext: LEAF },
        Spec { name: "int-notca", subject: "/CN=Not CA/O=t/C=CN", issuer: Some("root"), days: 30, ext: "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid" },
        Spec { name: "leaf-notca", subject: "/CN=财务专用章/O=Someone Else Co/C=CN", issuer: Some("int-notca"), days: 20, ext: LEAF },
        Spec { name: "int-noks", subject: "/CN=No keyCertSign CA/O=t/C=CN", issuer: Some("root"), days: 30, ext: "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,digitalSignature,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid" },
        Spec { name: "leaf-noks", subject: "/CN=Under No KS/O=t/C=CN", issuer: Some("int-noks"), days: 20, ext: LEAF },
        // pathLenConstraint 0 with another CA below it.
        Spec { name: "int-pl0", subject: "/CN=PL0 CA/O=t/C=CN", issuer: Some("root"), days: 30, ext: "basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid" },
        Spec { name: "int-under-pl0", subject: "/CN=Below PL0/O=t/C=CN", issuer: Some("int-pl0"), days: 30, ext: CA },
        Spec { name: "leaf-pl0", subject: "/CN=Too Deep/O=t/C=CN", issuer: Some("int-under-pl0"), days: 20, ext: LEAF },
        // A short-lived intermediate (expired at the evaluation time +3 days).
        Spec { name: "int-short", subject: "/CN=Short CA/O=t/C=CN", issuer: Some("root"), days: 1, ext: CA },
        Spec { name: "leaf-short", subject: "/CN=Under Short/O=t/C=CN", issuer: Some("int-short"), days: 20, ext: LEAF },
        // Unknown critical extension on the leaf.
        Spec { name: "leaf-crit", subject: "/CN=Critical/O=t/C=CN", issuer: Some("int"), days: 20, ext: "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n1.3.6.1.4.1.61000.99=critical,ASN1:NULL" },
        // Name constraints.
        Spec { name: "int-nc", subject: "/CN=Constrained CA/O=t/C=CN", issuer: Some("root"), days: 30, ext: "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\nnameConstraints=critical,permitted;DNS:example.com" },
        Spec { name: "leaf-nc-ok", subject: "/CN=In/O=t/C=CN", issuer: Some("int-nc"), days: 20, ext: "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\nsubjectAltName=DNS:seal.example.com\nextendedKeyUsage=serverAuth" },
        Spec { name: "leaf-nc-bad", subject: "/CN=Out/O=t/C=CN", issuer: Some("int-nc"), days: 20, ext: "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\nsubjectAltName=DNS:seal.evil.test\nextendedKeyUsage=serverAuth" },
        // Purposes.
        Spec { name: "leaf-client", subject: "/CN=App/O=t/C=CN", issuer: Some("int"), days: 20, ext: "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\nextendedKeyUsage=clientAuth" },
        Spec { name: "leaf-tsa", subject: "/CN=TSA/O=t/C=CN", issuer: Some("int"), days: 20, ext: "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\nextendedKeyUsage=critical,timeStamping" },
        // The forged seal: an end-entity key (clientAuth) certifying a "seal" for another company.
        Spec { name: "forged", subject: "/CN=财务专用章/O=Victim Co/C=CN", issuer: Some("leaf-client"), days: 10, ext: LEAF },
        // Same issuer name as the real issuing CA, another key: no path.
        Spec { name: "int-impostor", subject: "/CN=Issuing CA/O=t/C=CN", issuer: None, days: 30, ext: ROOT },
        Spec { name: "leaf-impostor", subject: "/CN=Impostor/O=t/C=CN", issuer: Some("int-impostor"), days: 20, ext: LEAF },
        // A leaf without AKI (RFC 5280 §4.2.1.1: MUST for all but self-signed).
        Spec { name: "leaf-noaki", subject: "/CN=No AKI/O=t/C=CN", issuer: Some("int"), days: 20, ext: "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=none" },
    ];
    for s in &specs {
        pki.make(s);
    }
    // A cycle: A certifies B, B certifies A again (same name and key); neither leads to an anchor.
    pki.make(&Spec {
        name: "cyc-a",
        subject: "/CN=Cycle A/O=t/C=CN",
        issuer: None,
        days: 30,
        ext: ROOT,
    });
    pki.make(&Spec {
        name: "cyc-b",
        subject: "/CN=Cycle B/O=t/C=CN",
        issuer: Some("cyc-a"),
        days: 30,
        ext: CA,
    });
    std::fs::copy(pki.key("cyc-a"), pki.p("cyc-a2.key")).unwrap();
    pki.make(&Spec {
        name: "cyc-a2",
        subject: "/CN=Cycle A/O=t/C=CN",
        issuer: Some("cyc-b"),
        days: 30,
        ext: CA,
    });
    pki.make(&Spec {
        name: "leaf-cyc",
        subject: "/CN=In a cycle/O=t/C=CN",
        issuer: Some("cyc-a2"),
        days: 20,
        ext: LEAF,
    });
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(3 * 86_400);
    let later_unix = later
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string();
    let later_rfc = common::rfc3339(later);
    let cases = [
        Case {
            name: "good chain",
            leaf: "leaf",
            trust: &["root"],
            untrusted: &["int"],
            ours: &[],
            openssl: &[],
            exit: 0,
            says: "",
        },
        Case {
            name: "good chain, document signing",
            leaf: "leaf",
            trust: &["root"],
            untrusted: &["int"],
            ours: &["--purpose", "document-signing"],
            openssl: &[],
            exit: 0,
            says: "",
        },
        Case {
            name: "untrusted root",
            leaf: "leaf",
            trust: &["other-root"],
            untrusted: &["int"],
            ours: &[],
            openssl: &[],
            exit: 2,
            says: "no chain",
        },
        Case {
            name: "intermediate missing",
            leaf: "leaf",
            trust: &["root"],
            untrusted: &[],
            ours: &[],
            openssl: &[],
            exit: 2,
            says: "no chain",
        },
        Case {
            name: "CA without basicConstraints",
            leaf: "leaf-nobc",
            trust: &["root"],
            untrusted: &["int-nobc"],
            ours: &[],
            openssl: &[],
            exit: 1,
            says: "no basicConstraints",
        },
        Case {
            name: "end entity acting as CA",
            leaf: "leaf-notca",
            trust: &["root"],
            untrusted: &["int-notca"],
            ours: &[],
            openssl: &[],
            exit: 1,
            says: "cA is false",
        },
        Case {
            name: "CA without keyCertSign",
            leaf: "leaf-noks",
            trust: &["root"],
            untrusted: &["int-noks"],
            ours: &[],
            openssl: &[],
            exit: 1,
            says: "keyCertSign",
        },
        Case {
            name: "pathLenConstraint exceeded",
            leaf: "leaf-pl0",
            trust: &["root"],
            untrusted: &["int-pl0", "int-under-pl0"],
            ours: &[],
            openssl: &[],
            exit: 1,
            says: "pathLenConstraint",
        },
        Case {
            name: "expired intermediate",
            leaf: "leaf-short",
            trust: &["root"],
            untrusted: &["int-short"],
            ours: &["--at", &later_rfc],
            openssl: &["-attime", &later_unix],
            exit: 1,
            says: "is not valid at",
        },
        Case {
            name: "same chain before it expires",
            leaf: "leaf-short",
            trust: &["root"],
            untrusted: &["int-short"],
            ours: &[],
            openssl: &[],
            exit: 0,
            says: "",
        },
        Case {
            name: "unknown critical extension",
            leaf: "leaf-crit",
            trust: &["root"],
            untrusted: &["int"],
            ours: &[],
            openssl: &[],
            exit: 1,
            says: "unknown critical extension",
        },
        Case {
            name: "name constraints satisfied",
            leaf: "leaf-nc-ok",
            trust: &["root"],
            untrusted: &["int-nc"],
            ours: &["--purpose", "server-auth", "--hostname", "seal.example.com"],
            openssl: &[
                "-purpose",
                "sslserver",
                "-verify_hostname",
                "seal.example.com",
            ],
            exit: 0,
            says: "",
        },
        Case {
            name: "name constraints violated",
            leaf: "leaf-nc-bad",
            trust: &["root"],
            untrusted: &["int-nc"],
            ours: &[],
            openssl: &[],
            exit: 1,
            says: "outside the permitted",
        },
        Case {
            name: "wrong host name",
            leaf: "leaf-nc-ok",
            trust: &["root"],
            untrusted: &["int-nc"],
            ours: &["--hostname", "other.example.com"],
            openssl: &["-verify_hostname", "other.example.com"],
            exit: 1,
            says: "does not name",
        },
        Case {
            name: "client certificate used as server",
            leaf: "leaf-client",
            trust: &["root"],
            untrusted: &["int"],
            ours: &["--purpose", "server-auth"],
            openssl: &["-purpose", "sslserver"],
            exit: 1,
            says: "does not allow TLS server",
        },
        Case {
            name: "client certificate used as TSA",
            leaf: "leaf-client",
            trust: &["root"],
            untrusted: &["int"],
            ours: &["--purpose", "time-stamping"],
            openssl: &["-purpose", "timestampsign"],
            exit: 1,
            says: "not a TSA",
        },
        Case {
            name: "TSA certificate as TSA",
            leaf: "leaf-tsa",
            trust: &["root"],
            untrusted: &["int"],
            ours: &["--purpose", "time-stamping"],
            openssl: &["-purpose", "timestampsign"],
            exit: 0,
            says: "",
        },
        Case {
            name: "forged seal under an end-entity key",
            leaf: "forged",
            trust: &["root"],
            untrusted: &["int", "leaf-client"],
            ours: &["--purpose", "document-signing"],
            openssl: &[],
            exit: 1,
            says: "not a CA",
        },
        Case {
            name: "issuer name without its key",
            leaf: "leaf-impostor",
            trust: &["root"],
            untrusted: &["int"],
            ours: &[],
            openssl: &[],
            exit: 2,
            says: "no chain",
        },
        Case {
            name: "impostor beside the real CA: the right one is chosen",
            leaf: "leaf",
            trust: &["root"],
            untrusted: &["int-impostor", "int"],
            ours: &[],
            openssl: &[],
            exit: 0,
            says: "",
        },
        Case {
            name: "before the leaf is valid",
            leaf: "leaf",
            trust: &["root"],
            untrusted: &["int"],
            ours: &["--at", "2020-01-01T00:00:00Z"],
            openssl: &["-attime", "1577836800"],
            exit: 1,
            says: "is not valid at",
        },
        Case {
            name: "a cycle of cross-certificates",
            leaf: "leaf-cyc",
            trust: &["root"],
            untrusted: &["cyc-a2", "cyc-b"],
            ours: &[],
            openssl: &[],
            exit: 2,
            says: "no chain",
        },
        Case {
            name: "depth limit",
            leaf: "leaf",
            trust: &["root"],
            untrusted: &["int"],
            ours: &["--max-depth", "0"],
            openssl: &["-verify_depth", "0"],
            exit: 2,
            says: "more than 0 intermediate",
        },
        Case {
            name: "two intermediates within the depth limit",
            leaf: "leaf-short",
            trust: &["root"],
            untrusted: &["int-short"],
            ours: &["--max-depth", "1"],
            openssl: &["-verify_depth", "1"],
            exit: 0,
            says: "",
        },
        Case {
            name: "end entity without authorityKeyIdentifier",
            leaf: "leaf-noaki",
            trust: &["root"],
            untrusted: &["int"],
            ours: &[],
            openssl: &[],
            exit: 1,
            says: "authorityKeyIdentifier",
        },
    ];
    let mut failures = Vec::new();
    for c in &cases {
        let trust = pki.cat(&format!("{}-trust.pem", c.name.replace(' ', "_")), c.trust);
        let untrusted = pki.cat(
            &format!("{}-untrusted.pem", c.name.replace(' ', "_")),
            c.untrusted,
        );
        let leaf = pki.p(&format!("{}.pem", c.leaf));
        let mut ours = Command::new(bin());
        ours.args(["--json", "cert", "verify"])
            .arg(&leaf)
            .arg("--trust")
            .arg(&trust);
        if !c.untrusted.is_empty() {
            ours.arg("--untrusted").arg(&untrusted);
        }
        let o = run(ours.args(c.ours));
        let code = o.status.code().unwrap_or(-1);
        let report = String::from_utf8_lossy(&o.stdout).to_string();
        if code != c.exit {
            failures.push(format!(
                "{}: sealpki exit {code}, expected {}\n{report}{}",
                c.name,
                c.exit,
                String::from_utf8_lossy(&o.stderr)
            ));
        } else if c.exit != 0 && !report.contains(c.says) {
            failures.push(format!(
                "{}: the report does not say {:?}\n{report}",
                c.name, c.says
            ));
        }
        if code == 0 {
            let v: serde_json::Value = serde_json::from_str(&report).unwrap();
            assert_eq!(v["verdict"], "valid");
            assert!(
                v["path"].as_array().is_some_and(|p| p.len() >= 2),
                "{report}"
            );
        }
        let mut os = Command::new("openssl");
        os.args(["verify", "-x509_strict", "-CAfile"]).arg(&trust);
        if !c.untrusted.is_empty() {
            os.arg("-untrusted").arg(&untrusted);
        }
        let o = run(os.args(c.openssl).arg(&leaf));
        if o.status.success() != (c.exit == 0) {
            failures.push(format!(
                "{}: openssl verify -x509_strict says {}, expected {}\n{}",
                c.name,
                if o.status.success() { "OK" } else { "not OK" },
                if c.exit == 0 { "OK" } else { "not OK" },
                String::from_utf8_lossy(&o.stdout) + String::from_utf8_lossy(&o.stderr)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Rules where `openssl verify -x509_strict` is laxer than RFC 5280 (x509-limbo's rfc5280 cases
/// agree with us): ours must refuse, whatever openssl says.
#[test]
fn stricter_than_openssl_where_rfc_5280_says_so() {
    let pki = Pki::new();
    pki.make(&Spec {
        name: "root",
        subject: "/CN=Root/O=t/C=CN",
        issuer: None,
        days: 30,
        ext: ROOT,
    });
    pki.make(&Spec { name: "int-ex", subject: "/CN=Excluding CA/O=t/C=CN", issuer: Some("root"), days: 30, ext: "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\nnameConstraints=critical,excluded;DNS:bar.example.com" });
    let leaf_ext = |extra: &str| {
        format!("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n{extra}")
    };
    let wildcard = leaf_ext("subjectAltName=DNS:*.example.com");
    let underscore = leaf_ext("subjectAltName=DNS:foo_bar.example.com");
    let nc_in_leaf = leaf_ext("nameConstraints=critical,permitted;DNS:example.com");
    pki.make(&Spec {
        name: "wild",
        subject: "/CN=Wild/O=t/C=CN",
        issuer: Some("int-ex"),
        days: 20,
        ext: &wildcard,
    });
    pki.make(&Spec {
        name: "under",
        subject: "/CN=Under/O=t/C=CN",
        issuer: Some("int-ex"),
        days: 20,
        ext: &underscore,
    });
    pki.make(&Spec {
        name: "ncleaf",
        subject: "/CN=NC leaf/O=t/C=CN",
        issuer: Some("int-ex"),
        days: 20,
        ext: &nc_in_leaf,
    });
    for (leaf, says) in [
        ("wild", "excluded by DNS:bar.example.com"),
        ("under", "is not a DNS name"),
        (
            "ncleaf",
            "nameConstraints in a certificate that is not a CA",
        ),
    ] {
        let o = run(Command::new(bin())
            .args(["cert", "verify"])
            .arg(pki.p(&format!("{leaf}.pem")))
            .arg("--trust")
            .arg(pki.p("root.pem"))
            .arg("--untrusted")
            .arg(pki.p("int-ex.pem")));
        let out = String::from_utf8_lossy(&o.stdout);
        assert_eq!(o.status.code(), Some(1), "{leaf}: {out}");
        assert!(out.contains(says), "{leaf}: {out}");
    }
}

/// CRLs: a revoked leaf is invalid (exit 1) with `openssl verify -crl_check_all` agreeing; without a
/// CRL for every certificate of the path the answer is indeterminate (exit 2); a CRL signed by a key
/// without cRLSign does not count.
#[test]
fn crls_decide_revocation_with_openssl_agreeing() {
    let pki = Pki::new();
    for s in [
        Spec {
            name: "root",
            subject: "/CN=CRL Root/O=t/C=CN",
            issuer: None,
            days: 30,
            ext: ROOT,
        },
        Spec {
            name: "int",
            subject: "/CN=CRL CA/O=t/C=CN",
            issuer: Some("root"),
            days: 30,
            ext: CA,
        },
        Spec {
            name: "leaf",
            subject: "/CN=Revoked Seal/O=t/C=CN",
            issuer: Some("int"),
            days: 20,
            ext: LEAF,
        },
        Spec {
            name: "leaf2",
            subject: "/CN=Good Seal/O=t/C=CN",
            issuer: Some("int"),
            days: 20,
            ext: LEAF,
        },
    ] {
        pki.make(&s);
    }
    // CRLs by `openssl ca -gencrl`: the root's (empty) and the issuing CA's (the leaf revoked).
    let crl = |ca: &str, revoke: Option<&str>| -> PathBuf {
        let d = pki.p(&format!("ca-{ca}"));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("index.txt"), "").unwrap();
        std::fs::write(d.join("crlnumber"), "01\n").unwrap();
        let cnf = d.join("ca.cnf");
        std::fs::write(
            &cnf,
            format!(
                "[ca]\ndefault_ca=c\n[c]\ndatabase={db}\ncrlnumber={num}\ndefault_md=sha256\ndefault_crl_days=7\ncertificate={cert}\nprivate_key={key}\n",
                db = d.join("index.txt").display(),
                num = d.join("crlnumber").display(),
                cert = pki.p(&format!("{ca}.pem")).display(),
                key = pki.key(ca).display(),
            ),
        )
        .unwrap();
        if let Some(r) = revoke {
            let o = run(Command::new("openssl")
                .args(["ca", "-config"])
                .arg(&cnf)
                .arg("-revoke")
                .arg(pki.p(&format!("{r}.pem")))
                .args(["-crl_reason", "keyCompromise"]));
            assert!(o.status.success(), "revoke: {o:?}");
        }
        let out = pki.p(&format!("{ca}.crl"));
        let o = run(Command::new("openssl")
            .args(["ca", "-config"])
            .arg(&cnf)
            .args(["-gencrl", "-out"])
            .arg(&out));
        assert!(o.status.success(), "gencrl: {o:?}");
        out
    };
    let root_crl = crl("root", None);
    let int_crl = crl("int", Some("leaf"));
    // The same CA name and key, certified without cRLSign: its CRL verifies but may not count.
    std::fs::copy(pki.key("int"), pki.p("int-nocrlsign.key")).unwrap();
    pki.make(&Spec { name: "int-nocrlsign", subject: "/CN=CRL CA/O=t/C=CN", issuer: Some("root"), days: 30, ext: "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid" });
    let ours = |leaf: &str, int: &str, crls: &[&Path]| {
        let mut c = Command::new(bin());
        c.args(["--json", "cert", "verify"])
            .arg(pki.p(&format!("{leaf}.pem")))
            .arg("--trust")
            .arg(pki.p("root.pem"))
            .arg("--untrusted")
            .arg(pki.p(&format!("{int}.pem")));
        for crl in crls {
            c.arg("--crl").arg(crl);
        }
        let o = run(&mut c);
        (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stdout).to_string(),
        )
    };
    let openssl = |leaf: &str, crls: &[&Path]| {
        let all = pki.p("crls.pem");
        let text: String = crls
            .iter()
            .map(|c| std::fs::read_to_string(c).unwrap())
            .collect();
        std::fs::write(&all, text).unwrap();
        run(Command::new("openssl")
            .args(["verify", "-x509_strict", "-crl_check_all", "-CAfile"])
            .arg(pki.p("root.pem"))
            .arg("-untrusted")
            .arg(pki.p("int.pem"))
            .arg("-CRLfile")
            .arg(&all)
            .arg(pki.p(&format!("{leaf}.pem"))))
        .status
        .success()
    };
    let (code, r) = ours("leaf", "int", &[&root_crl, &int_crl]);
    assert_eq!(code, 1, "{r}");
    assert!(r.contains("was revoked"), "{r}");
    assert!(!openssl("leaf", &[&root_crl, &int_crl]));
    let (code, r) = ours("leaf2", "int", &[&root_crl, &int_crl]);
    assert_eq!(code, 0, "{r}");
    assert!(openssl("leaf2", &[&root_crl, &int_crl]));
    // The issuing CA's own status unknown (no root CRL): indeterminate; openssl fails too.
    let (code, r) = ours("leaf2", "int", &[&int_crl]);
    assert_eq!(code, 2, "{r}");
    assert!(r.contains("no OCSP answer or CRL"), "{r}");
    assert!(!openssl("leaf2", &[&int_crl]));
    // The CRL is signed by the right key, but the CA certificate on the path lacks cRLSign.
    let nocrl = pki.make(&Spec {
        name: "leaf3",
        subject: "/CN=Under No CRLSign/O=t/C=CN",
        issuer: Some("int-nocrlsign"),
        days: 20,
        ext: LEAF,
    });
    assert!(nocrl.exists());
    let (code, r) = ours("leaf3", "int-nocrlsign", &[&root_crl, &int_crl]);
    assert_eq!(code, 2, "{r}");
    assert!(r.contains("cRLSign"), "{r}");
}

/// Unreadable input and bad options: exit 3 with a message naming what is wrong.
#[test]
fn unreadable_input_and_bad_options_exit_3() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, b"not a certificate").unwrap();
    let o = run(Command::new(bin()).args(["cert", "verify"]).arg(&junk));
    assert_eq!(o.status.code(), Some(3), "{o:?}");
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("the certificate"),
        "{o:?}"
    );
    let o = run(Command::new(bin()).args(["cert", "verify", "/nonexistent.pem"]));
    assert_eq!(o.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot read"));
    let pki = Pki::new();
    let root = pki.make(&Spec {
        name: "root",
        subject: "/CN=R/O=t/C=CN",
        issuer: None,
        days: 3,
        ext: ROOT,
    });
    for (args, says) in [
        (&["--at", "yesterday"][..], "RFC 3339"),
        (&["--purpose", "everything"][..], "purpose"),
        (&["--eku", "serverAuth"][..], "dotted OID"),
        (&["--key-usage", "sign"][..], "keyUsage name"),
        (&["--trust"][..], "a value is required"),
    ] {
        let o = run(Command::new(bin())
            .args(["cert", "verify"])
            .arg(&root)
            .args(args));
        assert_eq!(o.status.code(), Some(3), "{args:?}: {o:?}");
        assert!(
            String::from_utf8_lossy(&o.stderr).contains(says),
            "{args:?}: {o:?}"
        );
    }
    // A self-signed root trusted as itself is a path of one.
    let o = run(Command::new(bin())
        .args(["cert", "verify"])
        .arg(&root)
        .arg("--trust")
        .arg(&root));
    assert_eq!(o.status.code(), Some(0), "{o:?}");
}

/// The public endpoint: our root and CAs by default, a purpose, the anchors given, bad input a 400.
#[test]
fn http_certificate_verify_is_public_and_names_failed_checks() {
    let env = common::Env::new(common::EnvOptions::default());
    env.init_dev();
    let server = env.serve();
    let tok = server.login();
    let (_, leaf) = server.issue_app_client(&env, &tok, "verify-app");
    let pem = std::fs::read_to_string(&leaf).unwrap();
    let url = format!("{}/api/v1/certificates/verify", server.url);
    let ask = |body: serde_json::Value| common::post(&url, None, &body.to_string());
    let (s, v, _) = ask(serde_json::json!({"certificate": pem, "purpose": "client-auth"}));
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["verdict"], "valid", "{v}");
    assert_eq!(v["path"].as_array().map(Vec::len), Some(3), "{v}");
    // An app's TLS client certificate is no TSA and no document signer.
    for purpose in ["time-stamping", "document-signing"] {
        let (s, v, _) = ask(serde_json::json!({"certificate": pem, "purpose": purpose}));
        assert_eq!(s, 200);
        assert_eq!(v["verdict"], "invalid", "{purpose}: {v}");
        assert!(
            v["reasons"].to_string().contains("clientAuth")
                || v["reasons"].to_string().contains("not a TSA"),
            "{v}"
        );
    }
    // Another trust anchor: no path.
    let pki = Pki::new();
    let other = pki.make(&Spec {
        name: "other",
        subject: "/CN=Other/O=t/C=CN",
        issuer: None,
        days: 3,
        ext: ROOT,
    });
    let (s, v, _) = ask(
        serde_json::json!({"certificate": pem, "trust": [std::fs::read_to_string(other).unwrap()]}),
    );
    assert_eq!(s, 200);
    assert_eq!(v["verdict"], "indeterminate", "{v}");
    // In the past, before the certificate existed.
    let (_, v, _) = ask(serde_json::json!({"certificate": pem, "at": "2020-01-01T00:00:00Z"}));
    assert_eq!(v["verdict"], "invalid", "{v}");
    // Bad input: precise problems.
    for (body, says) in [
        (serde_json::json!({"certificate": "AAAA"}), "certificate"),
        (
            serde_json::json!({"certificate": pem, "purpose": "all"}),
            "purpose",
        ),
        (
            serde_json::json!({"certificate": pem, "at": "now"}),
            "RFC 3339",
        ),
        (
            serde_json::json!({"certificate": pem, "color": "red"}),
            "unknown field",
        ),
    ] {
        let (s, v, ctype) = ask(body);
        assert_eq!(s, 400, "{v}");
        assert!(
            ctype.contains("problem+json") && v.to_string().contains(says),
            "{says}: {v}"
        );
    }
}

/// `--email` may be given several times: the certificate must name every mailbox.
#[test]
fn every_mailbox_asked_for_must_be_named() {
    let pki = Pki::new();
    pki.make(&Spec {
        name: "root",
        subject: "/CN=Mail Root/O=t/C=CN",
        issuer: None,
        days: 3,
        ext: ROOT,
    });
    let ext = "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\nsubjectAltName=email:a@example.com,email:b@example.com";
    let leaf = pki.make(&Spec {
        name: "mail",
        subject: "/CN=Mail/O=t/C=CN",
        issuer: Some("root"),
        days: 2,
        ext,
    });
    let verify = |emails: &[&str]| {
        let mut c = Command::new(bin());
        c.args(["cert", "verify"])
            .arg(&leaf)
            .arg("--trust")
            .arg(pki.p("root.pem"));
        for e in emails {
            c.args(["--email", e]);
        }
        let o = run(&mut c);
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).to_string(),
        )
    };
    assert_eq!(
        verify(&["a@example.com", "B@EXAMPLE.com"]).0,
        Some(1),
        "local parts are exact, so B@ is not b@"
    );
    assert_eq!(verify(&["a@example.com", "b@EXAMPLE.COM"]).0, Some(0));
    let (code, out) = verify(&["a@example.com", "c@example.com"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("does not name c@example.com"), "{out}");
}
