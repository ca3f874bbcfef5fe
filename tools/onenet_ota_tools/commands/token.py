# onenet-ota token: the Authorization value, computed by the firmware's own auth code.
# --platform picks the dialect's default form (docs/dialects.md): legacy product level
# 2018-10-31; fuse user level 2022-05-01; studio device level 2018-10-31. --level and
# --token-version choose another (new-api §2.1 lists who uses which).
import time

from onenet_ota import api_tid, auth
from onenet_ota.errors import ConfigError

from ..cli import CommandError

DEFAULTS = {"legacy": ("product", "2018-10-31"), "fuse": ("user", "2022-05-01"), "studio": ("device", "2018-10-31")}


def add_arguments(p):
    p.add_argument("--product-id", help="product id (res=products/ID; required but for --level user; env "
                   "ONENET_PRODUCT_ID)")
    p.add_argument("--access-key", help="the key of the token's level (base64): product, device or the "
                   "account's (env ONENET_ACCESS_KEY; never printed)")
    p.add_argument("--config", metavar="FILE", help="JSON config, as the platform calls read it")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--et", type=int, help="expiry, unix seconds (default: now + --ttl)")
    g.add_argument("--ttl", type=int, default=365 * 86400, help="seconds from now (default: one year)")
    p.add_argument("--method", choices=auth.METHODS, default="sha1", help="HMAC hash (default sha1)")
    p.add_argument("--platform", choices=sorted(DEFAULTS), default="legacy",
                   help="the dialect whose default form to sign: legacy products/ID 2018-10-31 (default), "
                   "fuse userid/ID 2022-05-01, studio products/ID/devices/NAME 2018-10-31")
    p.add_argument("--level", choices=("product", "device", "user"), help="res level (default: the platform's)")
    p.add_argument("--token-version", choices=("2018-10-31", "2022-05-01"), help="default: the platform's")
    p.add_argument("--dev-id", help="device name (--level device; env ONENET_DEV_ID)")
    p.add_argument("--user-id", help="the account's id (--level user)")
    p.add_argument("--res", help="resource as is (overrides --level)")


def creds_of(args):
    """Product id, access key and device of `args` (--product-id, --access-key, --dev-id,
    --config) as the platform calls take them: flag > ONENET_* > config file -> Creds;
    a bad config file is a usage error. `publish` uses it too."""
    from .. import creds

    try:
        return creds.resolve({"product_id": args.product_id, "access_key": args.access_key, "dev_id": args.dev_id},
                             config=args.config)
    except creds.CredsError as e:
        raise CommandError(str(e), 2)


def _creds(args):
    c = creds_of(args)
    if not c.has_key:
        raise CommandError("no access key: give --access-key or ONENET_ACCESS_KEY (or access_key in the "
                           "config file)", 2)
    args.product_id, args.access_key, args.dev_id = c.product_id, c._key, c.dev_id


def run(args):
    _creds(args)
    et = args.et if args.et is not None else int(time.time()) + args.ttl
    level, version = DEFAULTS[args.platform]
    level = args.level or level
    version = args.token_version or version
    res = args.res
    if res is None:
        need = {"product": ("--product-id",), "device": ("--product-id", "--dev-id"), "user": ("--user-id",)}[level]
        missing = [n for n in need if not getattr(args, n[2:].replace("-", "_"))]
        if missing:
            raise CommandError("--level %s needs %s" % (level, " and ".join(missing)), 2)
        if level == "user":
            res = "userid/%s" % args.user_id
        else:
            res = "products/" + args.product_id + ("/devices/" + args.dev_id if level == "device" else "")
    if args.method not in auth.METHODS:
        raise CommandError("method: one of md5, sha1, sha256", 2)
    try:
        value = api_tid.token(res, args.access_key, et, args.method, version)
    except ConfigError as e:
        raise CommandError(str(e), 2)
    print("res=%s et=%d method=%s version=%s" % (res, et, args.method, version))
    print(value)
    return 0
