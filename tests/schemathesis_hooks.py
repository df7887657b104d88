# Raw request bodies for the binary media types of our API (schemathesis cannot derive them from a
# JSON schema): a PDF header and random bytes, OCSP and RFC 3161 requests and CSRs as random bytes,
# COSE credentials as a COSE_Sign1 head and random bytes.
import schemathesis
from hypothesis import strategies as st
schemathesis.openapi.media_type("application/pdf", st.binary(max_size=4096).map(lambda b: b"%PDF-1.7\n" + b))
schemathesis.openapi.media_type("application/ocsp-request", st.binary(max_size=512))
schemathesis.openapi.media_type("application/timestamp-query", st.binary(max_size=512))
schemathesis.openapi.media_type("application/pkcs10", st.binary(max_size=1024))
# A signed credential: a tagged COSE_Sign1 (CBOR tag 18 = 0xd2) head and random bytes.
schemathesis.openapi.media_type("application/cose", st.binary(max_size=2048).map(lambda b: b"\xd2\x84" + b))

# Routes apps call (/api/v1/app/…) are signed as the docs' script signs them, over the request as
# it is finally sent (a requests auth sees the prepared body and URL), with the app key the test
# made: SEALPKI_SCHEMA_APP, SEALPKI_SCHEMA_KEY, SEALPKI_SCHEMA_SECRET (base64url). Unset: unsigned.
import base64
import os
import sys

import requests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
import app_request  # noqa: E402


class AppSignature(requests.auth.AuthBase):
    def __init__(self, app_id, key_id, secret):
        self.app_id, self.key_id, self.secret = app_id, key_id, secret

    def __call__(self, r):
        body = r.body or b""
        if isinstance(body, str):
            body = body.encode()
        r.headers.update(app_request.signed_headers(
            "hmac-sha256", self.app_id, self.key_id, self.secret, r.method, r.url, body))
        return r


_APP = os.environ.get("SEALPKI_SCHEMA_APP")


@schemathesis.hook
def before_call(context, case, kwargs):
    if _APP and case.operation.path.startswith("/api/v1/app/"):
        text = os.environ["SEALPKI_SCHEMA_SECRET"]
        secret = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        kwargs["auth"] = AppSignature(_APP, os.environ["SEALPKI_SCHEMA_KEY"], secret)
