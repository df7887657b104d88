#!/usr/bin/env python3
"""Independent check of sealpki credentials (pki/tests/credential.rs): pycose for COSE_Sign1, cbor2
for the CWT claims, cryptography for the X.509 certificates. Nothing here shares code with sealpki.

  verify CRED ROOT   verify a credential sealpki wrote: the signature with the key of the x5chain
                     leaf, the leaf's signature by ROOT (DER), and print the claims as JSON
  make DIR           write DIR/cred.cbor (an ES256 seal status credential signed by a key of our own,
                     its certificate in x5chain), DIR/root.der (its root), DIR/other-root.der and
                     DIR/expect.json (what the claims say)
"""
import datetime
import json
import os
import sys

import cbor2
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pycose.algorithms import Es256
from pycose.headers import Algorithm, X5chain
from pycose.keys import CoseKey
from pycose.messages import Sign1Message

# The registry's numbers (pki/src/credential/kind.rs), restated here from the documentation.
SEAL_STATUS = -71001
EKU_SEAL_STATUS = x509.ObjectIdentifier("1.3.6.1.4.1.61000.3.1")


def fail(msg):
    print(msg, file=sys.stderr)
    sys.exit(1)


def verify(cred_path, root_path):
    from importlib.metadata import version
    if int(version("cbor2").split(".")[0]) >= 6:
        # cbor2 6 decodes arrays inside tags as tuples, which pycose 1.1's decode() refuses.
        fail(f"pycose {version('pycose')} needs cbor2 < 6, found {version('cbor2')}")
    data = open(cred_path, "rb").read()
    if data[0] != 0xD2:
        fail("not tagged 18 (COSE_Sign1)")
    msg = Sign1Message.decode(data)
    if msg.phdr.get(Algorithm) is not Es256 and msg.phdr.get(Algorithm) != Es256:
        fail(f"alg is {msg.phdr.get(Algorithm)!r}, not ES256")
    chain = msg.phdr.get(X5chain)
    if chain is None:
        fail("no x5chain in the protected header")
    if isinstance(chain, bytes):
        chain = [chain]
    leaf = x509.load_der_x509_certificate(chain[0])
    root = x509.load_der_x509_certificate(open(root_path, "rb").read())
    # The leaf's certificate is signed by the root (one link: our test chains are that short).
    root.public_key().verify(
        leaf.signature, leaf.tbs_certificate_bytes, ec.ECDSA(leaf.signature_hash_algorithm)
    )
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    if EKU_SEAL_STATUS not in eku:
        fail("the leaf lacks the seal status extended key usage")
    pem = leaf.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    msg.key = CoseKey.from_pem_public_key(pem.decode())
    if not msg.verify_signature():
        fail("signature does not verify")
    claims = cbor2.loads(msg.payload)
    for k in (1, 2, 4, 5, 6, 7, SEAL_STATUS):
        if k not in claims:
            fail(f"claim {k} missing")
    st = claims[SEAL_STATUS]
    out = {
        "iss": claims[1],
        "sub": claims[2],
        "exp": claims[4],
        "nbf": claims[5],
        "iat": claims[6],
        "cti": claims[7].hex(),
        "seal_code": st[1],
        "seal_name": st[2],
        "state": st[3],
        "cert_serial": st[4].hex(),
        "cert_sha256": st[5].hex(),
        "issued_at": st[6],
        "changed_at": st[7],
        "valid_until": st[8],
        "checked_at": st[9],
    }
    print(json.dumps(out, ensure_ascii=False))


def name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn),
                      x509.NameAttribute(NameOID.COUNTRY_NAME, "CN")])


def make_root(cn, now):
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name(cn)).issuer_name(name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                     key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, key_cert_sign=True, crl_sign=True,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def make(out):
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    root_key, root = make_root("pycose root", now)
    _, other = make_root("pycose root", now)  # same name, other key
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(name("pycose status signer")).issuer_name(root.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=10))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                     key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, key_cert_sign=False, crl_sign=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([EKU_SEAL_STATUS]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()),
                       critical=False)
        .sign(root_key, hashes.SHA256())
    )
    t = int(now.timestamp())
    status = {1: "3101150099999", 2: "测试单位公章", 3: "lost", 4: bytes.fromhex("0a0b0c"),
              5: bytes(range(32)), 6: t - 86400, 7: t - 60, 8: t + 86400 * 365, 9: t}
    claims = {1: "pycose-issuer", 2: "seal:3101150099999", 4: t + 3600, 5: t, 6: t,
              7: os.urandom(16), SEAL_STATUS: status}
    leaf_der = leaf.public_bytes(serialization.Encoding.DER)
    msg = Sign1Message(phdr={Algorithm: Es256, X5chain: leaf_der}, payload=cbor2.dumps(claims))
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    msg.key = CoseKey.from_pem_private_key(pem.decode())
    open(os.path.join(out, "cred.cbor"), "wb").write(msg.encode(tag=True))
    open(os.path.join(out, "root.der"), "wb").write(root.public_bytes(serialization.Encoding.DER))
    open(os.path.join(out, "other-root.der"), "wb").write(
        other.public_bytes(serialization.Encoding.DER))
    json.dump({"iat": t, "state": "lost", "seal_code": "3101150099999",
               "seal_name": "测试单位公章"}, open(os.path.join(out, "expect.json"), "w"),
              ensure_ascii=False)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "verify":
        verify(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 3 and sys.argv[1] == "make":
        make(sys.argv[2])
    else:
        fail(__doc__)
