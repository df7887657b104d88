"""An app-authorization credential checked by tools we did not write: pycose decodes the tagged
COSE_Sign1 and verifies its ES256 signature with the public key of the platform's grant-signer
certificate (PEM, fetched from our certificate API), cryptography reads that certificate, and
cbor2 reads the CWT claims. Run by tests/app_grants.rs.

Usage: grant_cose.py CREDENTIAL.cose SIGNER.pem APP_ID SEAL_CODE
Prints the claims as JSON; exits non-zero, naming the failure, when anything does not hold.
"""

import json
import sys

import cbor2
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from pycose.keys import CoseKey
from pycose.messages import CoseMessage, Sign1Message

EKU_GRANT = "1.3.6.1.4.1.61000.3.2"
APP_AUTHORIZATION = -71002


def fail(what):
    print(f"FAILED: {what}", file=sys.stderr)
    sys.exit(1)


def main():
    cose_path, pem_path, app_id, seal_code = sys.argv[1:5]
    data = open(cose_path, "rb").read()
    pem = open(pem_path, "rb").read()
    cert = x509.load_pem_x509_certificate(pem)
    ekus = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    if EKU_GRANT not in [e.dotted_string for e in ekus]:
        fail(f"the signer certificate lacks EKU {EKU_GRANT}")

    msg = CoseMessage.decode(data)
    if not isinstance(msg, Sign1Message):
        fail(f"not a COSE_Sign1: {type(msg).__name__}")
    # The certificate travels in x5chain (label 33), leaf first.
    x5 = msg.phdr.get(33) or next((v for k, v in msg.phdr.items() if getattr(k, "identifier", None) == 33), None)
    leaf = x5[0] if isinstance(x5, list) else x5
    if leaf != cert.public_bytes(Encoding.DER):
        fail("x5chain's first certificate is not the platform's grant signer")
    spki = cert.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    msg.key = CoseKey.from_pem_public_key(spki.decode())
    if not msg.verify_signature():
        fail("the ES256 signature does not verify with the grant signer's public key")
    # A flipped payload byte must not verify.
    tampered = CoseMessage.decode(data)
    tampered.payload = tampered.payload[:-1] + bytes([tampered.payload[-1] ^ 1])
    tampered.key = msg.key
    if tampered.verify_signature():
        fail("a tampered payload verified")

    claims = cbor2.loads(msg.payload)
    body = claims.get(APP_AUTHORIZATION)
    if body is None:
        fail(f"no app-authorization claim map in {sorted(claims)}")
    if body.get(1) != app_id or body.get(3) != seal_code or body.get(4) != "seal-user":
        fail(f"claims name app {body.get(1)!r}, seal {body.get(3)!r}, role {body.get(4)!r}")
    if not (claims[5] < claims[4] and claims[6] < claims[4]):
        fail(f"times: iat {claims[6]}, nbf {claims[5]}, exp {claims[4]}")
    if claims[4] - claims[5] > 1096 * 86400:
        fail("valid for more than three years")
    print(json.dumps({"iss": claims[1], "sub": claims[2], "exp": claims[4], "nbf": claims[5],
                      "iat": claims[6], "cti": claims[7].hex(),
                      "claims": {str(k): v for k, v in body.items()}}))


if __name__ == "__main__":
    main()
