"""pyHanko in-process loops for scripts/bench-pdf.sh: PAdES B-B signatures per second (invisible and
with a seal picture as the field's background) and validations per second.
Usage: bench_pdf_pyhanko.py sign|validate PDF KEY CERT ROOT SEAL N"""
import io, sys, time
from pyhanko.sign import signers, fields, validation
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.images import PdfImage
from pyhanko import stamp
from pyhanko_certvalidator import ValidationContext
from pyhanko.keys import load_cert_from_pemder

mode, pdf, key, cert, root, seal, n = sys.argv[1:8]
n = int(n)
data = open(pdf, "rb").read()
signer = signers.SimpleSigner.load(key, cert)

def sign_once(visible):
    w = IncrementalPdfFileWriter(io.BytesIO(data))
    meta = signers.PdfSignatureMetadata(field_name="Seal", subfilter=fields.SigSeedSubFilter.PADES)
    if visible:
        fields.append_signature_field(w, fields.SigFieldSpec("Seal", on_page=0, box=(340, 122, 459, 241)))
        style = stamp.TextStampStyle(stamp_text="", background=PdfImage(seal), border_width=0)
        pdf_signer = signers.PdfSigner(meta, signer, stamp_style=style)
    else:
        pdf_signer = signers.PdfSigner(meta, signer)
    out = io.BytesIO()
    pdf_signer.sign_pdf(w, output=out)
    return out.getvalue()

if mode == "sign":
    for visible in (False, True):
        sign_once(visible)
        t = time.perf_counter()
        for _ in range(n):
            sign_once(visible)
        dt = time.perf_counter() - t
        print("pyhanko %s: %.1f signatures/s" % ("visible" if visible else "invisible", n / dt))
else:
    vc = ValidationContext(trust_roots=[load_cert_from_pemder(root)])
    signed = sign_once(True)
    def validate():
        r = PdfFileReader(io.BytesIO(signed))
        st = validation.validate_pdf_signature(r.embedded_signatures[0], vc)
        assert st.bottom_line, st
    validate()
    t = time.perf_counter()
    for _ in range(n):
        validate()
    dt = time.perf_counter() - t
    print("pyhanko validate: %.1f validations/s (%.1f ms each)" % (n / dt, 1000 * dt / n))
