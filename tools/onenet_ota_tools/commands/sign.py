# onenet-ota sign: append the authenticity trailer the agent checks before it commits a
# package when its config has an image_key (format: firmware/onenet_ota/imgauth.py,
# docs/security.md). The MAC is computed with CPython's hmac, independently of the
# firmware's own code, so each checks the other.
import base64
import hashlib
import hmac
import os
import struct

from onenet_ota.imgauth import ALGS, MAGIC

from ..cli import CommandError


def add_arguments(p):
    p.add_argument("image", nargs="?", help="the package to sign (an app image, a bundle)")
    p.add_argument("-o", "--out", help="where the signed package goes (default IMAGE.signed)")
    p.add_argument("--key", help="the image key, base64, as in the device's image_key "
                   "(default: env ONENET_IMAGE_KEY); never printed")
    p.add_argument("--alg", choices=sorted(ALGS), default="hmac-sha256",
                   help="the device's image_auth (default hmac-sha256; hmac-sha1 for nRF52832)")
    p.add_argument("--new-key", action="store_true", help="print a new random key (32 bytes, base64) and exit")


def sign(data, key, alg="hmac-sha256"):
    """data + trailer: [mac][MAGIC][u32 LE len(data)][u8 alg][u8 len(mac)][2 x 0]."""
    num, name, n = ALGS[alg]
    mac = hmac.new(key, data, getattr(hashlib, name)).digest()
    assert len(mac) == n
    return data + mac + MAGIC + struct.pack("<IBBH", len(data), num, n, 0)


def run(args):
    if args.new_key:
        print(base64.b64encode(os.urandom(32)).decode())
        return 0
    if not args.image:
        raise CommandError("the package to sign is required (or --new-key)", 2)
    k = args.key or os.environ.get("ONENET_IMAGE_KEY")
    if not k:
        raise CommandError("--key (or ONENET_IMAGE_KEY): the device's image_key, base64", 2)
    try:
        key = base64.b64decode(k, validate=True)
    except ValueError:
        raise CommandError("--key: not base64", 2)
    if len(key) < 16:
        raise CommandError("--key: at least 16 bytes", 2)
    try:
        with open(args.image, "rb") as f:
            data = f.read()
    except OSError as e:
        raise CommandError("cannot read %s: %s" % (args.image, e.strerror), 2)
    if not data:
        raise CommandError("%s is empty" % args.image, 2)
    out = args.out or args.image + ".signed"
    signed = sign(data, key, args.alg)
    tmp = out + ".tmp"
    try:
        with open(tmp, "wb") as f:
            f.write(signed)
        os.replace(tmp, out)
    except OSError as e:
        raise CommandError("cannot write %s: %s" % (out, e.strerror), 1)
    md5 = hashlib.md5(signed).hexdigest()
    print("%s: %d bytes (%d + a %d-byte %s trailer), md5 %s" % (out, len(signed), len(data),
                                                               len(signed) - len(data), args.alg, md5))
    return 0
