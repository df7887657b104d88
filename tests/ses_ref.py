"""An independent GB/T 38540 / GM/T 0031-2014 encoder and decoder for the tests: asn1crypto for the
structures, the openssl command line for SM2 signatures. It shares no code with sealpki.

  ses_ref.py make-v4|make-v1 MAKER_KEY MAKER_CERT_DER HOLDER_CERT_DER PICTURE OUT
  ses_ref.py sign-v4|sign-v1 SEAL HOLDER_KEY HOLDER_CERT_DER DATA OUT
  ses_ref.py decode FILE OUTDIR   (prints JSON; writes sealinfo.der and maker.sig for openssl dgst)
"""
import datetime
import json
import os
import subprocess
import sys
import tempfile

from asn1crypto import core

DISTID = "1234567812345678"
SM2_SM3 = "1.2.156.10197.1.501"


class Header(core.Sequence):
    _fields = [("id", core.IA5String), ("version", core.Integer), ("vid", core.IA5String)]


class Picture(core.Sequence):
    _fields = [("type", core.IA5String), ("data", core.OctetString),
               ("width", core.Integer), ("height", core.Integer)]


class Certs(core.SequenceOf):
    _child_spec = core.OctetString


class PropertyV4(core.Sequence):
    _fields = [("type", core.Integer), ("name", core.UTF8String), ("cert_list_type", core.Integer),
               ("cert_list", Certs), ("create", core.GeneralizedTime),
               ("start", core.GeneralizedTime), ("end", core.GeneralizedTime)]


class PropertyV1(core.Sequence):
    _fields = [("type", core.Integer), ("name", core.UTF8String), ("cert_list", Certs),
               ("create", core.UTCTime), ("start", core.UTCTime), ("end", core.UTCTime)]


def seal_info_class(prop):
    class SealInfo(core.Sequence):
        _fields = [("header", Header), ("es_id", core.IA5String), ("property", prop),
                   ("picture", Picture)]
    return SealInfo


SealInfoV4 = seal_info_class(PropertyV4)
SealInfoV1 = seal_info_class(PropertyV1)


class SealV4(core.Sequence):
    _fields = [("info", SealInfoV4), ("cert", core.OctetString),
               ("alg", core.ObjectIdentifier), ("sig", core.OctetBitString)]


class SignInfoV1(core.Sequence):
    _fields = [("cert", core.OctetString), ("alg", core.ObjectIdentifier), ("sig", core.OctetBitString)]


class SealV1(core.Sequence):
    _fields = [("info", SealInfoV1), ("sign_info", SignInfoV1)]


class TbsV4(core.Sequence):
    _fields = [("version", core.Integer), ("seal", core.Any), ("time", core.GeneralizedTime),
               ("hash", core.OctetBitString), ("property", core.IA5String)]


class SignatureV4(core.Sequence):
    _fields = [("tbs", TbsV4), ("cert", core.OctetString), ("alg", core.ObjectIdentifier),
               ("sig", core.OctetBitString)]


class TbsV1(core.Sequence):
    _fields = [("version", core.Integer), ("seal", core.Any), ("time", core.OctetBitString),
               ("hash", core.OctetBitString), ("property", core.IA5String),
               ("cert", core.OctetString), ("alg", core.ObjectIdentifier)]


class SignatureV1(core.Sequence):
    _fields = [("tbs", TbsV1), ("sig", core.OctetBitString)]


def sm2_sign(key, data):
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "in")
        with open(p, "wb") as f:
            f.write(data)
        return subprocess.run(["openssl", "dgst", "-sm3", "-sign", key, "-sigopt", "distid:" + DISTID, p],
                              check=True, capture_output=True).stdout


def sm3(data):
    out = subprocess.run(["openssl", "dgst", "-sm3", "-binary"], input=data, check=True,
                         capture_output=True).stdout
    return out


def read(p):
    with open(p, "rb") as f:
        return f.read()


def make(version, maker_key, maker_cert, holder_cert, picture, out):
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    start, end = now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=30)
    pic = Picture({"type": "PNG", "data": read(picture), "width": 40, "height": 40})
    if version == "v4":
        prop = PropertyV4({"type": 1, "name": "独立编码测试章", "cert_list_type": 1,
                           "cert_list": [read(holder_cert)], "create": now, "start": start, "end": end})
        info = SealInfoV4({"header": {"id": "ES", "version": 4, "vid": "asn1crypto"},
                           "es_id": "3301060000099", "property": prop, "picture": pic})
        sig = sm2_sign(maker_key, info.dump())
        seal = SealV4({"info": info, "cert": read(maker_cert), "alg": SM2_SM3, "sig": sig})
    else:
        prop = PropertyV1({"type": 1, "name": "独立编码测试章", "cert_list": [read(holder_cert)],
                           "create": now, "start": start, "end": end})
        info = SealInfoV1({"header": {"id": "ES", "version": 2, "vid": "asn1crypto"},
                           "es_id": "3301060000098", "property": prop, "picture": pic})
        sig = sm2_sign(maker_key, info.dump())
        seal = SealV1({"info": info, "sign_info": {"cert": read(maker_cert), "alg": SM2_SM3, "sig": sig}})
    with open(out, "wb") as f:
        f.write(seal.dump())


def sign(version, seal_file, key, cert, data_file, out):
    seal = core.Any.load(read(seal_file))
    digest = sm3(read(data_file))
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    if version == "v4":
        tbs = TbsV4({"version": 4, "seal": seal, "time": now, "hash": digest, "property": "data.bin"})
        sig = SignatureV4({"tbs": tbs, "cert": read(cert), "alg": SM2_SM3, "sig": sm2_sign(key, tbs.dump())})
    else:
        tbs = TbsV1({"version": 1, "seal": seal, "time": now.strftime("%y%m%d%H%M%SZ").encode(),
                     "hash": digest, "property": "data.bin", "cert": read(cert), "alg": SM2_SM3})
        sig = SignatureV1({"tbs": tbs, "sig": sm2_sign(key, tbs.dump())})
    with open(out, "wb") as f:
        f.write(sig.dump())


def decode(path, outdir):
    seal = SealV4.load(read(path))
    info = seal["info"]
    prop = info["property"]
    with open(os.path.join(outdir, "sealinfo.der"), "wb") as f:
        f.write(info.dump())
    with open(os.path.join(outdir, "maker.sig"), "wb") as f:
        f.write(seal["sig"].native)
    with open(os.path.join(outdir, "maker.der"), "wb") as f:
        f.write(seal["cert"].native)
    print(json.dumps({
        "header": [info["header"]["id"].native, info["header"]["version"].native, info["header"]["vid"].native],
        "es_id": info["es_id"].native,
        "name": prop["name"].native,
        "type": prop["type"].native,
        "certs": len(prop["cert_list"]),
        "cert_list_type": prop["cert_list_type"].native,
        "picture": [info["picture"]["type"].native, len(info["picture"]["data"].native)],
        "alg": seal["alg"].dotted,
    }, ensure_ascii=False))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd in ("make-v4", "make-v1"):
        make(cmd[5:], *sys.argv[2:7])
    elif cmd in ("sign-v4", "sign-v1"):
        sign(cmd[5:], *sys.argv[2:7])
    elif cmd == "decode":
        decode(sys.argv[2], sys.argv[3])
    else:
        sys.exit("unknown command " + cmd)
