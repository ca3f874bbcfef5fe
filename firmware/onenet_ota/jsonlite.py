# A small, bounded JSON reader for the platform's answers on ports without `json`
# (nRF52832 builds), and `dumps` for flat dicts. loads() takes str, bytes, bytearray or
# memoryview; nesting depth <= 8, input length <= maxlen; any bad input raises
# ProtocolError. Numbers: ints, and floats (JSON grammar, checked strictly) as float.
# Strings: all JSON escapes; \uXXXX surrogate pairs give the character, a lone surrogate
# is an error.
from .errors import ProtocolError, const

_DEPTH = const(8)
# The one-letter escapes: after a backslash, _ESC_IN[k] stands for _ESC_OUT[k] (bytes
# literals: frozen, they stay in flash; a dict would be built in RAM at import).
_ESC_IN = b'"\\/bfnrt'
_ESC_OUT = b'"\\/\x08\x0c\n\r\t'


def _bad(i):
    return ProtocolError("bad json at %d" % i)


# Index of the first non-whitespace byte at or after i.
def _ws(s, i, n):
    while i < n:
        c = s[i]
        if c != 32 and c != 10 and c != 13 and c != 9:
            break
        i += 1
    return i


def _hex4(s, i):
    v = 0
    for k in range(i, i + 4):
        c = s[k]
        if 48 <= c <= 57:
            v = (v << 4) | (c - 48)
        elif 97 <= c | 32 <= 102:  # a-f A-F
            v = (v << 4) | ((c | 32) - 87)
        else:
            raise _bad(k)
    return v


# s[i] follows the opening quote -> (str, index after the closing quote).
def _str(s, i, n):
    out = None
    a = i
    while True:
        if i >= n:
            raise _bad(i)
        c = s[i]
        if c == 34:
            break
        if c < 32:
            raise _bad(i)
        if c != 92:
            i += 1
            continue
        if out is None:
            out = bytearray()
        out += s[a:i]
        c = s[i + 1]
        e = 0
        while e < 8 and _ESC_IN[e] != c:
            e += 1
        if e < 8:
            out.append(_ESC_OUT[e])
            i += 2
        elif c == 117:  # \uXXXX
            u = _hex4(s, i + 2)
            i += 6
            if 0xD800 <= u < 0xDC00:  # high surrogate: a low one must follow
                if s[i] != 92 or s[i + 1] != 117:
                    raise _bad(i)
                w = _hex4(s, i + 2)
                if not 0xDC00 <= w < 0xE000:
                    raise _bad(i)
                u = 0x10000 + ((u - 0xD800) << 10) + (w - 0xDC00)
                i += 6
            elif 0xDC00 <= u < 0xE000:
                raise _bad(i)
            out += chr(u).encode()
        else:
            raise _bad(i)
        a = i
    if out is None:
        return str(s[a:i], "utf-8"), i + 1
    out += s[a:i]
    return str(out, "utf-8"), i + 1


def _digits(s, i, n):
    a = i
    while i < n and 48 <= s[i] <= 57:
        i += 1
    if i == a:
        raise _bad(i)
    return i


def _num(s, i, n):
    a = i
    if s[i] == 45:  # -
        i += 1
    if i < n and s[i] == 48:  # a leading 0 stands alone
        i += 1
    else:
        i = _digits(s, i, n)
    f = False
    if i < n and s[i] == 46:  # .
        i = _digits(s, i + 1, n)
        f = True
    if i < n and s[i] | 32 == 101:  # e E
        i += 1
        if i < n and (s[i] == 43 or s[i] == 45):
            i += 1
        i = _digits(s, i, n)
        f = True
    t = str(s[a:i], "utf-8")
    return (float(t) if f else int(t)), i


# The value starting at s[i] -> (value, index after it).
def _val(s, i, n, depth):
    c = s[i]
    if c == 34:
        return _str(s, i + 1, n)
    if c == 123 or c == 91:  # { [
        if depth >= _DEPTH:
            raise ProtocolError("json too deep")
        obj = c == 123
        r = {} if obj else []
        end = 125 if obj else 93
        i = _ws(s, i + 1, n)
        if s[i] == end:
            return r, i + 1
        while True:
            if obj:
                if s[i] != 34:
                    raise _bad(i)
                k, i = _str(s, i + 1, n)
                i = _ws(s, i, n)
                if s[i] != 58:  # :
                    raise _bad(i)
                v, i = _val(s, _ws(s, i + 1, n), n, depth + 1)
                r[k] = v
            else:
                v, i = _val(s, i, n, depth + 1)
                r.append(v)
            i = _ws(s, i, n)
            c = s[i]
            if c == end:
                return r, i + 1
            if c != 44:  # ,
                raise _bad(i)
            i = _ws(s, i + 1, n)
    if c == 45 or 48 <= c <= 57:
        return _num(s, i, n)
    for w, v in ((b"true", True), (b"false", False), (b"null", None)):
        if c == w[0]:
            if s[i : i + len(w)] != w:
                raise _bad(i)
            return v, i + len(w)
    raise _bad(i)


# Parses one JSON document (surrounding whitespace allowed); ProtocolError if bad.
def loads(s, maxlen=4096):
    n = len(s)
    if n <= maxlen:
        if isinstance(s, str):
            s = s.encode()
        elif not isinstance(s, (bytes, bytearray, memoryview)):
            s = bytes(s)
        n = len(s)
    if n > maxlen:
        raise ProtocolError("json too long")
    try:
        v, i = _val(s, _ws(s, 0, n), n, 0)
    except IndexError:  # ran off the end
        raise ProtocolError("json truncated")
    except (ValueError, TypeError, RuntimeError):  # bad UTF-8, number, recursion
        raise ProtocolError("bad json")
    if _ws(s, i, n) != n:
        raise _bad(i)
    return v


def _q(s):
    o = ['"']
    for c in s:
        if c == '"' or c == "\\":
            o.append("\\" + c)
        elif c < " ":
            o.append("\\u%04x" % ord(c))
        else:
            o.append(c)
    o.append('"')
    return "".join(o)


# A flat dict of str keys and str/int/bool/None values -> JSON text.
def dumps(d):
    o = []
    for k, v in d.items():
        if v is None:
            v = "null"
        elif v is True or v is False:
            v = "true" if v else "false"
        elif isinstance(v, int):
            v = str(v)
        elif isinstance(v, str):
            v = _q(v)
        else:
            raise TypeError("json value")
        if not isinstance(k, str):
            raise TypeError("json key")
        o.append(_q(k) + ":" + v)
    return "{" + ",".join(o) + "}"
