"""The download Range rules of the contract (section 5), not RFC 7233 where they differ.

`parse(value, length)` returns `(start, end)` (inclusive) for a Range the platform
honours (answered 206), or `None` when there is no Range or it fits none of the modes
(answered 200 with the whole file).

    start-      start >= len -> start = 0
    start-end   end >= len -> end = len-1; then start > end -> start = 0
    -n          the last n bytes; n > len (or n == 0) -> the whole file
    leading zeros are fine (01-02 == 1-2); the `bytes=` prefix is optional
    (`Range: bytes=0-5` in the seed, `Range:50500-50999` in the console example)

Anything else (several ranges, other units, no digits, garbage) -> None.
"""
import re

_RE = re.compile(r"^\s*(?:bytes\s*=\s*)?(\d{0,20})\s*-\s*(\d{0,20})\s*$", re.I)


def parse(value, length):
    if value is None or length <= 0:
        return None
    m = _RE.match(value)
    if not m:
        return None
    a, b = m.group(1), m.group(2)
    if a == "" and b == "":
        return None
    if a == "":
        n = int(b)
        if n == 0 or n > length:
            return (0, length - 1)
        return (length - n, length - 1)
    start = int(a)
    if b == "":
        if start >= length:
            start = 0
        return (start, length - 1)
    end = int(b)
    if end >= length:
        end = length - 1
    if start > end:
        start = 0
    return (start, end)
