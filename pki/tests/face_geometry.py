#!/usr/bin/env python3
"""Independent check of a round seal picture (PNG) drawn by sealpki's `face` module.

Reads only the pixels (Pillow), knowing nothing of how they were drawn, and checks:
the outer ring's diameter is the seal's diameter in mm at the dpi (within 1 %), the ring is about
1.2 mm wide, the star's centroid is at the image centre (within 0.5 mm) and it reaches ~7 mm from it,
all other ink (the text) lies inside the ring, and the background is transparent.

usage: face_geometry.py PNG DIAMETER_MM DPI      exit 0: all good, 1: a check failed, 2: usage/Pillow
"""
import math
import sys
from collections import deque

try:
    from PIL import Image
except ImportError:
    print("face_geometry.py: Pillow is not installed", file=sys.stderr)
    sys.exit(2)


def components(mask, w, h):
    """8-connected components of a boolean mask (row-major list), largest first, as index lists."""
    seen = bytearray(len(mask))
    out = []
    for start, on in enumerate(mask):
        if not on or seen[start]:
            continue
        seen[start] = 1
        q = deque([start])
        comp = []
        while q:
            i = q.popleft()
            comp.append(i)
            x, y = i % w, i // w
            for dy in (-1, 0, 1):
                ny = y + dy
                if ny < 0 or ny >= h:
                    continue
                for dx in (-1, 0, 1):
                    nx = x + dx
                    if nx < 0 or nx >= w:
                        continue
                    j = ny * w + nx
                    if mask[j] and not seen[j]:
                        seen[j] = 1
                        q.append(j)
        out.append(comp)
    out.sort(key=len, reverse=True)
    return out


def main():
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    path, diameter_mm, dpi = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
    img = Image.open(path)
    if img.mode != "RGBA":
        print(f"FAIL: mode {img.mode}, want RGBA")
        return 1
    w, h = img.size
    px_per_mm = dpi / 25.4
    alpha = list(img.getchannel("A").getdata())
    rgb = list(img.convert("RGB").getdata())
    failures = []

    def check(ok, msg):
        print(("ok   " if ok else "FAIL ") + msg)
        if not ok:
            failures.append(msg)

    file_dpi = img.info.get("dpi")
    check(file_dpi is not None and abs(file_dpi[0] - dpi) < 1, f"PNG records {file_dpi} dpi, want {dpi}")

    ink = [a >= 128 for a in alpha]
    xs = [i % w for i, on in enumerate(ink) if on]
    ys = [i // w for i, on in enumerate(ink) if on]
    if not xs:
        print("FAIL: no ink")
        return 1
    want = diameter_mm * px_per_mm
    dw, dh = max(xs) - min(xs) + 1, max(ys) - min(ys) + 1
    check(abs(dw - want) <= 0.01 * want, f"ring width {dw} px, want {want:.1f} px ±1 %")
    check(abs(dh - want) <= 0.01 * want, f"ring height {dh} px, want {want:.1f} px ±1 %")
    cx, cy = (max(xs) + min(xs) + 1) / 2, (max(ys) + min(ys) + 1) / 2
    check(abs(cx - w / 2) <= 1.5 and abs(cy - h / 2) <= 1.5, f"ring centre ({cx:.1f}, {cy:.1f}) at the image centre")

    # Transparent outside the ring; the ink itself is seal red.
    r_out = want / 2
    outside_ink = 0
    for i, a in enumerate(alpha):
        x, y = i % w + 0.5, i // w + 0.5
        if math.hypot(x - w / 2, y - h / 2) > r_out + 1.5 and a != 0:
            outside_ink += 1
    check(outside_ink == 0, f"{outside_ink} non-transparent pixels outside the ring (background transparent)")
    not_red = sum(1 for i, on in enumerate(ink) if on and not (rgb[i][0] > 180 and rgb[i][1] < 60 and rgb[i][2] < 80))
    check(not_red == 0, f"{not_red} ink pixels that are not seal red")

    comps = components(ink, w, h)
    ring = comps[0]
    ring_set = set(ring)
    # The ring's inner edge: along 72 rays, walk in from outside until the ring ends.
    widths = []
    inner = []
    for k in range(72):
        t = 2 * math.pi * k / 72
        r = r_out + 2
        entered = None
        while r > 0:
            x, y = int(w / 2 + r * math.cos(t)), int(h / 2 + r * math.sin(t))
            on = 0 <= x < w and 0 <= y < h and (y * w + x) in ring_set
            if on and entered is None:
                entered = r
            if entered is not None and not on:
                widths.append(entered - r)
                inner.append(r)
                break
            r -= 0.25
    ring_mm = sorted(widths)[len(widths) // 2] / px_per_mm
    check(1.0 <= ring_mm <= 1.45, f"ring {ring_mm:.2f} mm wide (want ~1.2)")
    r_in = min(inner)

    star = comps[1]
    sx = sum(i % w + 0.5 for i in star) / len(star)
    sy = sum(i // w + 0.5 for i in star) / len(star)
    off_mm = math.hypot(sx - w / 2, sy - h / 2) / px_per_mm
    check(off_mm <= 0.5, f"star centroid {off_mm:.3f} mm from the centre (≤ 0.5)")
    reach = max(math.hypot(i % w + 0.5 - sx, i // w + 0.5 - sy) for i in star) / px_per_mm
    want_reach = 7.0 * diameter_mm / 42
    check(abs(reach - want_reach) <= 0.5, f"star reaches {reach:.2f} mm from its centre (want ~{want_reach:.1f})")

    text = [i for c in comps[2:] for i in c]
    check(len(comps) > 10 and len(text) > 0.002 * w * h, f"{len(comps) - 2} text pieces, {len(text)} px")
    worst = max(math.hypot(i % w + 0.5 - w / 2, i // w + 0.5 - h / 2) for i in text)
    check(worst < r_in, f"text reaches {worst / px_per_mm:.2f} mm from the centre, ring starts at {r_in / px_per_mm:.2f} mm")

    if failures:
        print(f"{len(failures)} check(s) failed for {path}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
