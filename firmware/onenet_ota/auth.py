# The OneNET Authorization value (contract section 1):
#   version=2018-10-31&res=products%2F{pid}&et={et}&method={m}&sign={sign}
#   sign = base64(HMAC_m(base64decode(access_key), "et\nmethod\nres\nversion"))
# Core MicroPython has no hmac module, so HMAC is written here over digest.new().
from binascii import a2b_base64, b2a_base64

from .digest import new
from .errors import ConfigError

VERSION = "2018-10-31"
METHODS = ("md5", "sha1", "sha256")
_B64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_SAFE = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~"


# HMAC (RFC 2104) with a 64-byte block, which md5, sha1 and sha256 share.
def hmac(method, key, msg):
    if len(key) > 64:
        h = new(method)
        h.update(key)
        key = h.digest()
    pad = bytearray(64)
    pad[: len(key)] = key
    for i in range(64):
        pad[i] ^= 0x36
    h = new(method)
    h.update(pad)
    h.update(msg)
    inner = h.digest()
    for i in range(64):
        pad[i] ^= 0x36 ^ 0x5C
    h = new(method)
    h.update(pad)
    h.update(inner)
    return h.digest()


# Percent-encode everything outside RFC 3986's unreserved set: covers the documented
# + space / ? % # & = and guarantees no CR/LF can reach a header.
def quote(s):
    if isinstance(s, str):
        s = s.encode()
    out = []
    for b in s:
        if b in _SAFE:
            out.append(chr(b))
        else:
            out.append("%%%02X" % b)
    return "".join(out)


# Decode a base64 access key strictly (CPython's decoder silently skips bad
# characters; a typo must not turn into a wrong but "valid" key).
def decode_key(access_key):
    k = access_key.encode() if isinstance(access_key, str) else bytes(access_key)
    n = len(k)
    pad = n - len(k.rstrip(b"="))
    if n == 0 or n % 4 or pad > 2:
        raise ConfigError("access_key: not base64")
    for i in range(n - pad):
        if k[i] not in _B64:
            raise ConfigError("access_key: not base64")
    return a2b_base64(k)


# The Authorization header value. et is unix seconds (int); res defaults to the
# product-level resource. Raises ConfigError for a bad key, method or et.
def token(product_id, access_key, et, method="sha1", res=None):
    if method not in METHODS:
        raise ConfigError("method: one of md5, sha1, sha256")
    if not isinstance(et, int) or et < 0:
        raise ConfigError("et: a non-negative integer")
    if res is None:
        res = "products/" + str(product_id)
    msg = "%d\n%s\n%s\n%s" % (et, method, res, VERSION)
    sign = b2a_base64(hmac(method, decode_key(access_key), msg.encode())).strip()
    return "version=%s&res=%s&et=%d&method=%s&sign=%s" % (
        VERSION,
        quote(res),
        et,
        method,
        quote(sign),
    )
