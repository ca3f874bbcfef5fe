# Hash objects by name: the port's hashlib where it has the algorithm, else the pure
# Python fallbacks (nRF52832 builds have no hashlib; the WebAssembly port lacks md5).
# Objects have update() and digest() only, like MicroPython's.
from .errors import ConfigError


def new(name):
    try:
        import hashlib

        return getattr(hashlib, name)()
    except (ImportError, AttributeError):
        pass
    if name == "md5":
        from .md5 import MD5

        return MD5()
    if name == "sha1":
        from .sha1 import SHA1

        return SHA1()
    raise ConfigError("hash %s not available" % name)


_HEX = b"0123456789abcdef"


# Lower-case hex of a digest, without binascii.hexlify (absent on nRF52).
def hexstr(d):
    out = bytearray(2 * len(d))
    for i in range(len(d)):
        b = d[i]
        out[2 * i] = _HEX[b >> 4]
        out[2 * i + 1] = _HEX[b & 15]
    return out.decode()
