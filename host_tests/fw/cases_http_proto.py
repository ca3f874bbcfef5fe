# HTTP client cases: answers that break the protocol (ProtocolError each).
# Runs on CPython and on the unix micropython against host_tests/support/scripted.py.
from http_util import _get, _err


def _violations(paths):
    return [[p, _err(_get, p)] for p in paths]


# Two halves: each case starts on a freshly collected 32 KiB heap.
def case_protocol_violations():
    return _violations(("/longline", "/manyheaders", "/bignum", "/dupcl", "/badstatus", "/te-gzip"))


def case_protocol_violations_2():
    return _violations(("/range-bad1", "/range-bad2", "/range-bad3", "/range-bad4", "/folded", "/bigbody"))
