"""Input documents for tests/pdf.rs, made by real producers: ReportLab writes the PDFs (CJK text in
the STSong-Light CID font, one page turned with /Rotate 90), Pillow writes the seal pictures.
Usage: python3 pdf_fixtures.py OUT_DIR"""
import sys, os, math
from reportlab.pdfgen import canvas
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from PIL import Image, ImageDraw

out = sys.argv[1]
pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))

# A three-page contract; the signing place 盖章处 only on page 2, at x=300pt, y=200pt (from the bottom).
c = canvas.Canvas(os.path.join(out, "contract.pdf"), pagesize=A4)
for i in range(3):
    c.setFont("STSong-Light", 14)
    c.drawString(72, 760, "买卖合同 第%d页 Contract page %d" % (i + 1, i + 1))
    c.setFont("Helvetica", 10)
    for k in range(20):
        c.drawString(72, 700 - k * 14, "Clause %d.%d: the parties agree to the terms written here." % (i + 1, k + 1))
    if i == 1:
        c.setFont("STSong-Light", 14)
        c.drawString(300, 200, "甲方（盖章处）")
    c.showPage()
c.save()

# One landscape-displayed page: portrait MediaBox turned 90° clockwise.
c = canvas.Canvas(os.path.join(out, "rotated.pdf"), pagesize=A4)
c.setPageRotation(90)
c.setFont("Helvetica", 12)
c.drawString(72, 720, "Rotated page")
c.showPage()
c.save()

# A round red seal with a transparent background, and the same as JPEG (no transparency).
n = 400
img = Image.new("RGBA", (n, n), (0, 0, 0, 0))
d = ImageDraw.Draw(img)
d.ellipse((10, 10, n - 10, n - 10), fill=(220, 30, 30, 255))
d.ellipse((40, 40, n - 40, n - 40), fill=(0, 0, 0, 0))
# A solid star-like centre so the middle of the seal is red.
d.ellipse((n // 2 - 60, n // 2 - 60, n // 2 + 60, n // 2 + 60), fill=(220, 30, 30, 255))
img.save(os.path.join(out, "seal.png"))
img.convert("RGB").save(os.path.join(out, "seal.jpg"), quality=90)
