# jsonlite cases; run on CPython and on the unix micropython (see conftest.run_cases).
# The host compares the corpus results with CPython's json and checks that every bad
# input raised ProtocolError. On micropython the firmware modules are imported
# precompiled from OTA_MPY_DIR when set (as on a board; the 32k heap next to the shim is
# too fragmented to compile much source).
import os
import sys

if sys.implementation.name == "micropython" and os.getenv("OTA_MPY_DIR"):
    sys.path.insert(0, os.getenv("OTA_MPY_DIR"))

from onenet_ota import jsonlite  # noqa: E402
from onenet_ota.errors import ProtocolError  # noqa: E402

CORPUS = (
    '{"errno":0,"error":"succ","data":{"target":"V1.4","token":"ota_5hc95SFeo5xJEnaNrste",'
    '"size":1048576,"md5":"0123456789abcdef0123456789abcdef","signal":10,"power":20,'
    '"retry":3,"interval":60,"ipPort":"1.2.3.4:80","type":1}}',
    '{"errno":11,"error":"not exist","data":null}',
    ' \t\r\n[ 1 , -2 , 0 , -0 , 123456789012 , true , false , null ] \n',
    '"esc \\" \\\\ \\/ \\b \\f \\n \\r \\t end"',
    '"\\u0041\\u00e9\\u4e2d\\ud83d\\ude00\\u0000"',
    '"raw \u00e9\u4e2d\U0001f600"',
    "[[[[[[[[1]]]]]]]]",
    '{"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":1}}}}}}}}',
    '{"dup":1,"dup":2}',
    "[]",
    "{}",
    '""',
    "[3.5, -0.25e2, 1E3, 2e-2, 0.5]",
    '{"k":[{"x":[]},{},[{}]]}',
)

BAD = (
    "",
    " ",
    "{",
    "[",
    '{"a"',
    '{"a":',
    '{"a":1',
    "[1,",
    "[1,]",
    '{"a":1,}',
    '{,"a":1}',
    "[,1]",
    '{"a" 1}',
    '{a:1}',
    "[1 2]",
    '"abc',
    '"\\',
    '"\\x"',
    '"\\u12"',
    '"\\u12g4"',
    '"\\ud800"',
    '"\\ud800\\u0041"',
    '"\\udc00"',
    '"a\nb"',
    '"tab\tin"',
    "01",
    "1.",
    ".5",
    "-",
    "--1",
    "+1",
    "1e",
    "1e+",
    "0x10",
    "tru",
    "True",
    "nul",
    "NaN",
    "Infinity",
    "[1]x",
    "1 2",
    "\x00",
    "[[[[[[[[[1]]]]]]]]]",
    '{"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":{"i":1}}}}}}}}}',
    "[" * 100,
    "{" * 100,
    '{"a":' * 50,
    "[" * 9 + "]" * 9,
)

# (UTF-8-encoded surrogates, b"\xed\xa0\x80", pass on micropython: its str() check is lenient.)
BAD_BYTES = (b'"\xff"', b'"\xc3"', b"\xef\xbb\xbf{}", b'{"a":"\xc3("}')


def case_corpus():
    out = []
    for s in CORPUS:
        out.append(jsonlite.loads(s))
    return out


def case_input_types():
    s = CORPUS[0]
    b = s.encode()
    a = jsonlite.loads(b)
    # one answer printed, not three (the output line is one string on a 32k heap)
    return [a, jsonlite.loads(bytearray(b)) == a, jsonlite.loads(memoryview(b"xx" + b)[2:]) == a]


def _err(s, **kw):
    try:
        jsonlite.loads(s, **kw)
        return "accepted"
    except ProtocolError as e:
        return str(e)
    except Exception as e:  # must never happen
        return "LEAKED " + type(e).__name__ + ":" + str(e)


# Messages for the bad inputs, in two halves (small answers for a small heap).
def case_bad_1():
    return [_err(s) for s in BAD[:24]]


def case_bad_2():
    return [_err(s) for s in BAD[24:]] + [_err(b) for b in BAD_BYTES]


def case_maxlen():
    s = '{"a":"' + "x" * 100 + '"}'
    # the default bound, 4096 bytes, is checked before the input is read or copied
    return [_err(s, maxlen=50), jsonlite.loads(s, maxlen=200)["a"] == "x" * 100, _err(_Huge())]


class _Huge:
    def __len__(self):
        return 4097

    def __getitem__(self, i):
        raise AssertionError("read")


def case_dumps():
    d = {"errno": 0, "a\"b": "q\"uo\\te/\n\t\x01\u00e9\u4e2d", "neg": -12, "t": True, "f": False, "n": None}
    s = jsonlite.dumps(d)
    return [s, jsonlite.loads(s) == d, jsonlite.dumps({})]
