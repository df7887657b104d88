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
