# onenet-ota token: the Authorization value, computed by the firmware's own auth code.
import time

from onenet_ota import auth
from onenet_ota.errors import ConfigError

from ..cli import CommandError


def add_arguments(p):
    p.add_argument("--product-id", required=True, help="product id (res=products/ID)")
    p.add_argument("--access-key", required=True, help="the product's access key (base64)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--et", type=int, help="expiry, unix seconds (default: now + --ttl)")
    g.add_argument("--ttl", type=int, default=365 * 86400, help="seconds from now (default: one year)")
    p.add_argument("--method", choices=auth.METHODS, default="sha1", help="HMAC hash (default sha1)")
    p.add_argument("--res", help="resource, default products/PRODUCT_ID")


def run(args):
    et = args.et if args.et is not None else int(time.time()) + args.ttl
    try:
        value = auth.token(args.product_id, args.access_key, et, args.method, args.res)
    except ConfigError as e:
        raise CommandError(str(e), 2)
    print("res=%s et=%d method=%s" % (args.res or "products/" + args.product_id, et, args.method))
    print(value)
    return 0
