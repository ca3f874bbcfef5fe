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


# A module this boot has done with (the token's SHA-1 and auth: signed once per boot):
# out of sys.modules and the package, so that its functions and class leave the heap
# (~0.5 KB on a Cortex-M). Imported again, from flash, if ever needed.
def forget(name):
    import sys

    m = sys.modules.pop("onenet_ota." + name, None)
    if m is not None:
        try:
            delattr(sys.modules["onenet_ota"], name)
        except (KeyError, AttributeError):
            pass


_HEX = b"0123456789abcdef"


# Lower-case hex of a digest, without binascii.hexlify (absent on nRF52).
def hexstr(d):
    out = bytearray(2 * len(d))
    for i in range(len(d)):
        b = d[i]
        out[2 * i] = _HEX[b >> 4]
        out[2 * i + 1] = _HEX[b & 15]
    return out.decode()
